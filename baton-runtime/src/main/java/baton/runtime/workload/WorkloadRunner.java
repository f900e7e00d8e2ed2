package baton.runtime.workload;

import baton.runtime.config.WorkloadConfig;
import baton.runtime.log.KvLog;
import baton.runtime.resource.ExecDriver;
import baton.runtime.resource.OcfDriver;
import baton.runtime.ve.Checkpoint;
import baton.runtime.ve.MigrationProgress;
import baton.runtime.ve.MigrationResult;
import baton.runtime.ve.MigrationSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The node's hands for its workloads: one lane (a virtual thread) per configured workload runs
 * its starts and stops one at a time, in order, and between them monitors it while it runs.
 * Results go to the {@link Listener}, tagged with the tag of the operation they answer, so that
 * the daemon can drop answers meant for cores it has replaced.
 *
 * <p>A failure is reported only once the workload is stopped again: a failed start undoes
 * itself, and a monitor failure stops what is left before it is reported. So "failed" means
 * "not running here", which the node may acknowledge to the coordinator. A stop that fails
 * means the workload may still run: the listener hears {@code stopFailed}, and the node must
 * be fenced.
 */
public final class WorkloadRunner {
    /** Answers, on the lanes' threads. */
    public interface Listener {
        void started(long tag, int id);

        /** It failed (to start, or while running) and is stopped. */
        void failed(long tag, int id, String reason);

        void stopped(long tag, int id);

        /** A stop failed: it may still run. */
        void stopFailed(long tag, int id, String reason);

        /** Source: the VE went over; it is paused here for good. */
        void sent(long tag, int id, int attempt, MigrationResult result);

        /** Source: the handover failed; the VE runs here as before (unless its monitor finds otherwise). */
        void sendFailed(long tag, int id, int attempt, String reason);

        /** Target: the VE arrived and runs here. */
        void received(long tag, int id, int attempt, MigrationResult result);

        /** Target: it did not arrive; nothing of it runs here. */
        void receiveFailed(long tag, int id, int attempt, String reason);

        /** Source: the paused VE runs again. */
        void resumed(long tag, int id);
    }

    /** Where a workload stands on this node, as the runner knows it. */
    public enum State {
        STOPPED, STARTING, RUNNING, STOPPING, FAILED,
        /** A target QEMU waits for the VE from another node. */
        RECEIVING,
        /** The VE went to another node; its QEMU is paused here for good until it is stopped (or resumed). */
        HANDED_OVER
    }

    /**
     * One migration order for a lane.
     *
     * @param host     the target's address (source) or the address to listen on (target)
     * @param file     the checkpoint file, for checkpoint mode
     * @param deadline the whole migration's deadline
     */
    public record Move(int attempt, String peer, String host, int port, Optional<Path> file, MigrationSettings settings,
                       Duration deadline) {}

    private enum Kind { START, STOP, SEND, RECEIVE, RESUME, DISCARD }

    private record Op(Kind kind, long tag, String reason, Move move) {
        Op(boolean start, long tag, String reason) {
            this(start ? Kind.START : Kind.STOP, tag, reason, null);
        }
    }

    /** A migration under way on a lane, for the status: the role, the other node, and QEMU's last progress report. */
    public record Progress(String role, String peer, boolean checkpoint, MigrationProgress last, long sinceNanos) {}

    /** How far past its own deadlines a lane may be before the supervisor calls it stuck. */
    static final long STUCK_MARGIN_NANOS = 5_000_000_000L;

    private final Map<Integer, Lane> lanes = new TreeMap<>();
    private volatile boolean closed;
    private final Listener listener;
    private final KvLog log;

    public WorkloadRunner(List<WorkloadConfig> workloads, String nodeName, Path veRunDir, Listener listener, KvLog log) {
        this.listener = listener;
        this.log = log;
        ExecDriver exec = new ExecDriver(nodeName);
        OcfDriver ocf = new OcfDriver();
        for (WorkloadConfig w : workloads) {
            lanes.put(w.id(), new Lane(new WorkloadDriver(w, exec, ocf, veRunDir)));
        }
    }

    public void start(long tag, int id) {
        lane(id).submit(new Op(true, tag, "placed here"));
    }

    public void stop(long tag, int id, String reason) {
        lane(id).submit(new Op(false, tag, reason));
    }

    /** Source: hand the running VE over. */
    public void send(long tag, int id, Move move) {
        lane(id).submit(new Op(Kind.SEND, tag, "migrate to " + move.peer(), move));
    }

    /** Target: receive the VE and run it. */
    public void receive(long tag, int id, Move move) {
        lane(id).submit(new Op(Kind.RECEIVE, tag, "migrate from " + move.peer(), move));
    }

    /** Source: run the paused VE again. */
    public void resume(long tag, int id) {
        lane(id).submit(new Op(Kind.RESUME, tag, "handover called off", null));
    }

    /** Target: end what waits for (or received) the VE, without the power button; a receive under way ends at once. */
    public void discard(long tag, int id, String reason) {
        Lane l = lane(id);
        l.submit(new Op(Kind.DISCARD, tag, reason, null));
        l.driver.abortIncoming();
    }

    /** The migration under way for {@code id} here, if any. */
    public Optional<Progress> progress(int id) {
        return Optional.ofNullable(lane(id).progress);
    }

    /** A frozen workload is not monitored: Baton leaves it as it is. */
    public void frozen(int id, boolean frozen) {
        lane(id).frozen = frozen;
    }

    public State state(int id) {
        return lane(id).state;
    }

    /** The last failure reported for {@code id} here, if any. */
    public Optional<String> lastFailure(int id) {
        return Optional.ofNullable(lane(id).lastFailure);
    }

    /**
     * Before the node takes part: asks every workload whether something of it runs here already
     * (left by a daemon that died) and stops it. Returns the names it stopped; throws when a stop
     * failed, so that the node does not start next to a workload it cannot stop.
     */
    public List<String> cleanUp() throws InterruptedException, java.io.IOException {
        List<String> stopped = new java.util.ArrayList<>();
        for (Lane lane : lanes.values()) {
            WorkloadDriver d = lane.driver;
            if (d.anyRunning()) {
                log.warn("event=workload-leftover workload=" + d.workload().name() + " action=stop");
                try {
                    d.stop();
                } catch (WorkloadDriver.Failure f) {
                    throw new java.io.IOException(d.workload().name() + ": " + f.getMessage(), f);
                }
                stopped.add(d.workload().name());
            }
        }
        return stopped;
    }

    /**
     * Stops everything now, whatever was queued, and waits up to {@code limit}; what has not
     * stopped by then is killed where it can be (a VE's QEMU). For a node that must exit.
     * Returns how many workloads were running or starting. The lanes take work again afterwards.
     */
    public int stopAll(String reason, Duration limit) {
        long deadline = System.nanoTime() + limit.toNanos();
        int count = 0;
        for (Lane lane : lanes.values()) {
            if (lane.state != State.STOPPED && lane.state != State.FAILED) {
                count++;
            }
            lane.queue.clear();
            lane.submit(new Op(false, -1, reason));
        }
        lanes.values().forEach(l -> l.driver.abortIncoming());
        for (Lane lane : lanes.values()) {
            if (!lane.awaitIdleStopped(deadline)) {
                log.error("event=workload-stop-timeout workload=" + lane.driver.workload().name() + " action=kill");
                lane.driver.kill();
            }
        }
        return count;
    }

    /** Ends the lanes (they stop nothing: call {@link #stopAll} first). */
    public void close() {
        closed = true;
        lanes.values().forEach(l -> l.thread.interrupt());
    }

    /**
     * For the daemon's supervisor: a lane whose thread died, that has been busy with one
     * operation far past its deadlines, or that has not monitored its running workload for far
     * longer than its interval and timeout. Such a node can no longer tell what it runs.
     */
    public Optional<String> stuck(long nowNanos) {
        if (closed) {
            return Optional.empty();
        }
        for (Lane l : lanes.values()) {
            if (!l.thread.isAlive()) {
                return Optional.of("the monitor of workload " + l.name() + " is dead (its thread ended)");
            }
            long since = l.busySince;
            if (l.busy && nowNanos - since > l.busyLimitNanos) {
                return Optional.of("the monitor of workload " + l.name() + " is stuck: one operation for "
                        + (nowNanos - since) / 1_000_000 + " ms, its deadlines allow " + l.busyLimitNanos / 1_000_000 + " ms");
            }
            long quiet = nowNanos - l.lastMonitorNanos;
            if (!l.busy && l.state == State.RUNNING && !l.frozen && quiet > l.monitorLimitNanos) {
                return Optional.of("the monitor of workload " + l.name() + " is stuck: no check for " + quiet / 1_000_000
                        + " ms, its interval and timeout allow " + l.monitorLimitNanos / 1_000_000 + " ms");
            }
        }
        return Optional.empty();
    }

    private Lane lane(int id) {
        Lane l = lanes.get(id);
        if (l == null) {
            throw new IllegalArgumentException("no workload with id " + id + " in this node's configuration");
        }
        return l;
    }

    private final class Lane {
        final WorkloadDriver driver;
        final LinkedBlockingQueue<Op> queue = new LinkedBlockingQueue<>();
        final Thread thread;
        volatile State state = State.STOPPED;
        volatile String lastFailure;
        volatile boolean busy;
        volatile boolean frozen;
        volatile long busySince;
        volatile long busyLimitNanos;
        volatile long lastMonitorNanos = System.nanoTime();
        volatile Progress progress;
        final long monitorLimitNanos;
        long runningTag;

        Lane(WorkloadDriver driver) {
            this.driver = driver;
            List<WorkloadConfig.Resource> rs = driver.workload().resources();
            this.monitorLimitNanos = (rs.stream().mapToLong(r -> r.timing().monitorIntervalMillis()).min().orElse(0)
                    + rs.stream().mapToLong(r -> r.timing().monitorTimeoutMillis()).sum()) * 1_000_000L + STUCK_MARGIN_NANOS;
            // A platform thread with a short name: the lab's tests freeze it by its name to show a stuck monitor.
            this.thread = Thread.ofPlatform().daemon(true).name("baton-wl-" + driver.workload().id()).start(this::loop);
        }

        /** The longest one operation may take by its resources' deadlines, plus the margin. */
        long limitOf(Op op) {
            List<WorkloadConfig.Resource> rs = driver.workload().resources();
            long stops = rs.stream().mapToLong(r -> r.timing().stopTimeoutMillis() + 5_000).sum();
            long starts = rs.stream().mapToLong(r -> r.timing().startTimeoutMillis()).sum();
            long monitors = rs.stream().mapToLong(r -> r.timing().monitorTimeoutMillis()).sum();
            long millis = switch (op == null ? null : op.kind()) {
                case null -> monitors + stops;
                case START -> starts + 2 * stops;
                case SEND, RECEIVE -> op.move().deadline().toMillis() + starts + 2 * stops;
                default -> stops;
            };
            return millis * 1_000_000L + STUCK_MARGIN_NANOS;
        }

        void submit(Op op) {
            queue.add(op);
        }

        boolean awaitIdleStopped(long deadlineNanos) {
            while (System.nanoTime() < deadlineNanos) {
                if (queue.isEmpty() && !busy && (state == State.STOPPED || state == State.FAILED)) {
                    return true;
                }
                try {
                    Thread.sleep(10);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
            return false;
        }

        String name() {
            return driver.workload().name();
        }

        private void loop() {
            long interval = driver.workload().resources().stream().mapToLong(r -> r.timing().monitorIntervalMillis()).min().orElse(2000);
            try {
                while (true) {
                    Op op = state == State.RUNNING ? queue.poll(interval, TimeUnit.MILLISECONDS) : queue.take();
                    busySince = System.nanoTime();
                    busyLimitNanos = limitOf(op);
                    busy = true;
                    try {
                        switch (op == null ? null : op.kind()) {
                            case null -> {
                                monitor();
                                lastMonitorNanos = System.nanoTime();
                            }
                            case START -> start(op.tag());
                            case STOP -> stop(op.tag(), op.reason());
                            case SEND -> send(op);
                            case RECEIVE -> receive(op);
                            case RESUME -> resume(op.tag());
                            case DISCARD -> discard(op.tag(), op.reason());
                        }
                    } finally {
                        busy = false;
                    }
                }
            } catch (InterruptedException e) {
                // closing
            }
        }

        private void start(long tag) throws InterruptedException {
            if (state == State.RUNNING) {
                listener.started(tag, driver.workload().id());
                return;
            }
            state = State.STARTING;
            log.info("event=workload-start workload=" + name());
            long t0 = System.nanoTime();
            try {
                driver.start();
                state = State.RUNNING;
                lastMonitorNanos = System.nanoTime();
                runningTag = tag;
                log.info("event=workload-started workload=" + name() + " took-ms=" + (System.nanoTime() - t0) / 1_000_000);
                listener.started(tag, driver.workload().id());
            } catch (WorkloadDriver.Failure f) {
                state = State.FAILED;
                lastFailure = f.getMessage();
                log.warn("event=workload-start-failed workload=" + name() + " reason=" + KvLog.q(f.getMessage()));
                listener.failed(tag, driver.workload().id(), f.getMessage());
            }
        }

        private void send(Op op) throws InterruptedException {
            int id = driver.workload().id();
            Move m = op.move();
            if (state != State.RUNNING) {
                listener.sendFailed(op.tag(), id, m.attempt(), "the VE does not run here (" + state.name().toLowerCase(java.util.Locale.ROOT) + ")");
                return;
            }
            log.info("event=migration-send workload=" + name() + " to=" + m.peer() + " mode=" + (m.file().isPresent() ? "checkpoint" : "live")
                    + " attempt=" + Integer.toUnsignedString(m.attempt()));
            long t0 = System.nanoTime();
            progress = new Progress("sending", m.peer(), m.file().isPresent(), null, t0);
            MigrationResult r;
            try {
                r = driver.send(m.host(), m.port(), m.file(), m.settings(), p -> progress = new Progress("sending", m.peer(),
                        m.file().isPresent(), p, t0));
            } catch (WorkloadDriver.Failure f) {
                r = new MigrationResult(false, Optional.of(f.getMessage()), Duration.ofNanos(System.nanoTime() - t0), -1, 0, true);
            } finally {
                progress = null;
            }
            lastMonitorNanos = System.nanoTime();
            if (r.completed()) {
                state = State.HANDED_OVER;
                log.info("event=migration-sent workload=" + name() + " to=" + m.peer() + " downtime-ms=" + r.downtimeMillis()
                        + " bytes=" + r.transferredBytes() + " took-ms=" + r.took().toMillis());
                listener.sent(op.tag(), id, m.attempt(), r);
            } else {
                log.warn("event=migration-send-failed workload=" + name() + " to=" + m.peer() + " reason=" + KvLog.q(r.failure().orElse("?"))
                        + " source-running=" + r.sourceRunning());
                listener.sendFailed(op.tag(), id, m.attempt(), r.failure().orElse("?"));
            }
        }

        /**
         * Target, when its attempt ended: the checkpoint's files are of no more use, and each is as
         * large as the VE's RAM. Loaded: its state runs here (the partial file was renamed). Not
         * loaded: the source resumes its paused copy, or, still saving, fails on the missing
         * partial file and runs on (this side declares the attempt failed either way); a later
         * attempt writes files of its own.
         */
        private void deleteCheckpoint(Path file) {
            for (Path p : List.of(file, Checkpoint.metaFile(file), Checkpoint.partialFile(file))) {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException x) {
                    log.warn("event=checkpoint-not-deleted workload=" + name() + " file=" + KvLog.q(p.toString()) + " reason="
                            + KvLog.q(String.valueOf(x.getMessage())));
                }
            }
        }

        private void receive(Op op) throws InterruptedException {
            int id = driver.workload().id();
            Move m = op.move();
            state = State.RECEIVING;
            log.info("event=migration-receive workload=" + name() + " from=" + m.peer() + " mode="
                    + (m.file().isPresent() ? "checkpoint" : "live") + " attempt=" + Integer.toUnsignedString(m.attempt()));
            long t0 = System.nanoTime();
            progress = new Progress("receiving", m.peer(), m.file().isPresent(), null, t0);
            MigrationResult r;
            try {
                r = driver.receive(m.host(), m.port(), m.file(), m.deadline(), p -> progress = new Progress("receiving", m.peer(),
                        m.file().isPresent(), p, t0));
            } catch (WorkloadDriver.Failure f) {
                r = new MigrationResult(false, Optional.of(f.getMessage()), Duration.ofNanos(System.nanoTime() - t0), -1, 0, false);
            } finally {
                progress = null;
            }
            if (m.file().isPresent()) {
                deleteCheckpoint(m.file().get());
            }
            if (r.completed()) {
                state = State.RUNNING;
                runningTag = op.tag();
                lastMonitorNanos = System.nanoTime();
                log.info("event=migration-received workload=" + name() + " from=" + m.peer() + " took-ms=" + r.took().toMillis()
                        + " downtime-ms=" + r.downtimeMillis());
                listener.received(op.tag(), id, m.attempt(), r);
            } else {
                state = State.STOPPED;
                lastFailure = "migration from " + m.peer() + ": " + r.failure().orElse("?");
                log.warn("event=migration-receive-failed workload=" + name() + " from=" + m.peer() + " reason="
                        + KvLog.q(r.failure().orElse("?")));
                listener.receiveFailed(op.tag(), id, m.attempt(), r.failure().orElse("?"));
            }
        }

        private void resume(long tag) throws InterruptedException {
            int id = driver.workload().id();
            if (state != State.HANDED_OVER) {
                listener.resumed(tag, id); // nothing paused here: runs already (or is stopped, which the agent learns otherwise)
                return;
            }
            try {
                driver.resumeSource();
                state = State.RUNNING;
                runningTag = tag;
                lastMonitorNanos = System.nanoTime();
                log.warn("event=migration-resumed workload=" + name() + " note=" + KvLog.q("the handover was called off; the VE runs here again"));
                listener.resumed(tag, id);
            } catch (WorkloadDriver.Failure f) {
                lastFailure = f.getMessage();
                log.error("event=migration-resume-failed workload=" + name() + " reason=" + KvLog.q(f.getMessage()));
                stop(-1, "its paused QEMU could not resume");
                state = State.FAILED;
                listener.failed(tag, id, f.getMessage());
            }
        }

        private void discard(long tag, String reason) throws InterruptedException {
            int id = driver.workload().id();
            boolean had = state == State.RECEIVING || state == State.RUNNING;
            state = State.STOPPING;
            try {
                driver.discard();
                state = State.STOPPED;
                if (had) {
                    log.info("event=migration-discarded workload=" + name() + " reason=" + KvLog.q(reason));
                }
                listener.stopped(tag, id);
            } catch (WorkloadDriver.Failure f) {
                state = State.FAILED;
                lastFailure = "discard failed: " + f.getMessage();
                log.error("event=workload-stop-failed workload=" + name() + " reason=" + KvLog.q(f.getMessage()));
                listener.stopFailed(tag, id, f.getMessage());
            }
        }

        private void stop(long tag, String reason) throws InterruptedException {
            boolean wasUp = state == State.RUNNING || state == State.STARTING || state == State.HANDED_OVER;
            state = State.STOPPING;
            if (wasUp) {
                log.info("event=workload-stop workload=" + name() + " reason=" + KvLog.q(reason));
            }
            long t0 = System.nanoTime();
            try {
                driver.stop();
                state = State.STOPPED;
                if (wasUp) {
                    log.info("event=workload-stopped workload=" + name() + " took-ms=" + (System.nanoTime() - t0) / 1_000_000);
                }
                if (tag >= 0) {
                    listener.stopped(tag, driver.workload().id());
                }
            } catch (WorkloadDriver.Failure f) {
                state = State.FAILED;
                lastFailure = "stop failed: " + f.getMessage();
                log.error("event=workload-stop-failed workload=" + name() + " reason=" + KvLog.q(f.getMessage()));
                listener.stopFailed(tag, driver.workload().id(), f.getMessage());
            }
        }

        private void monitor() throws InterruptedException {
            if (frozen) {
                return;
            }
            Optional<String> problem = driver.check();
            if (problem.isEmpty() || !queue.isEmpty()) {
                return; // fine, or an order came in meanwhile: it goes first
            }
            log.warn("event=workload-failed workload=" + name() + " reason=" + KvLog.q(problem.get()) + " action=stop");
            lastFailure = problem.get();
            try {
                driver.stop();
                state = State.FAILED;
                listener.failed(runningTag, driver.workload().id(), problem.get());
            } catch (WorkloadDriver.Failure f) {
                state = State.FAILED;
                lastFailure = problem.get() + "; stop failed: " + f.getMessage();
                log.error("event=workload-stop-failed workload=" + name() + " reason=" + KvLog.q(f.getMessage()));
                listener.stopFailed(runningTag, driver.workload().id(), f.getMessage());
            }
        }
    }
}
