package baton.runtime.node;

import baton.core.disk.ClusterKey;
import baton.core.disk.Copy;
import baton.core.disk.DiskHeader;
import baton.core.disk.DiskLayout;
import baton.core.disk.SlotCodec;
import baton.core.disk.SlotRead;
import baton.core.liveness.DiskEffect;
import baton.core.liveness.DiskEvent;
import baton.core.liveness.DiskInput;
import baton.core.liveness.DiskLiveness;
import baton.core.liveness.ExitReason;
import baton.core.liveness.Liveness;
import baton.runtime.config.ClusterConfig;
import baton.runtime.config.NodeConfig;
import baton.runtime.disk.DiskCopy;
import baton.runtime.disk.DiskRefusedException;
import baton.runtime.disk.QuorumDisk;
import baton.runtime.log.KvLog;
import java.io.IOException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The node daemon: one event loop that owns the node's cores and their state; blocking I/O on
 * virtual threads that report back as input records; a ticker that feeds the monotonic clock.
 * Nothing but the loop thread touches a core.
 *
 * <p>Shutdown: SIGTERM (or {@link #requestLeave}) asks the disk core to leave cleanly: it
 * writes its slot in state "left" to both copies, then the loop ends. The process's exit
 * status says why it stopped ({@link ExitStatus}).
 */
public final class NodeDaemon {
    /** Limit: inputs waiting for the loop. I/O completions block (never drop) when it is full. */
    static final int INBOX_CAPACITY = 1024;

    private final ClusterConfig config;
    private final NodeConfig node;
    private final KvLog log;
    private final QuorumDisk disk;
    private final DiskLiveness core;
    private final WorkloadStopper workloads;
    private final BlockingQueue<DiskInput> inbox = new ArrayBlockingQueue<>(INBOX_CAPACITY);
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final DiskIoStats stats = new DiskIoStats();
    private volatile boolean running = true;
    private volatile int exitStatus = ExitStatus.FAILURE;

    private NodeDaemon(ClusterConfig config, NodeConfig node, KvLog log, QuorumDisk disk, DiskLiveness core,
                       WorkloadStopper workloads) {
        this.config = config;
        this.node = node;
        this.log = log;
        this.disk = disk;
        this.core = core;
        this.workloads = workloads;
    }

    /**
     * Opens and checks the quorum disk and prepares the cores. Throws {@link StartFailure}
     * carrying the exit status when the node must not start.
     */
    public static NodeDaemon prepare(ClusterConfig config, NodeConfig node, ClusterKey key, KvLog log,
                                     WorkloadStopper workloads) throws StartFailure {
        QuorumDisk disk;
        QuorumDisk.Verified verified;
        try {
            disk = QuorumDisk.open(config.quorumDisk(), true);
            try {
                verified = disk.verify(config.clusterName(), key, true);
            } catch (DiskRefusedException e) {
                disk.close();
                throw e;
            }
        } catch (DiskRefusedException e) {
            int status = e.ioFailure() ? ExitStatus.JOIN_REFUSED : ExitStatus.DISK_REFUSED;
            throw new StartFailure(status, (e.ioFailure() ? "event=join-refused" : "event=disk-refused")
                    + " reason=" + KvLog.q(e.getMessage()));
        }
        for (String note : verified.notes()) {
            log.warn("event=disk-header note=" + KvLog.q(note));
        }
        for (Copy c : Copy.values()) {
            DiskCopy d = disk.copy(c);
            if (d == null) {
                continue;
            }
            if (d.direct()) {
                log.info("event=disk-open copy=" + c.label() + " path=" + KvLog.q(d.path()) + " offset=" + d.regionOffset()
                        + " io=" + d.ioMode());
            } else {
                log.warn("event=disk-open copy=" + c.label() + " path=" + KvLog.q(d.path()) + " offset=" + d.regionOffset()
                        + " io=" + KvLog.q(d.ioMode()) + " note=" + KvLog.q("direct I/O unavailable on this file system;"
                        + " every write is followed by fdatasync"));
            }
        }
        DiskHeader header = verified.header();
        SlotCodec codec = new SlotCodec(header.clusterId(), key);
        long previous = previousIncarnation(disk, codec, node.id());
        long incarnation = DiskLiveness.nextIncarnation(previous, System.currentTimeMillis());
        DiskLiveness core = new DiskLiveness(node.id(), header, codec, config.timeouts(), incarnation,
                config.maxNodeId());
        log.info("event=starting id=" + node.id() + " incarnation=" + incarnation + " cluster=" + config.clusterName()
                + " disk-interval-ms=" + config.timeouts().diskIntervalMillis() + " disk-timeout-ms="
                + config.timeouts().diskTimeoutMillis());
        return new NodeDaemon(config, node, log, disk, core, workloads);
    }

    /** The highest incarnation found in this node's slot on either copy, or 0. */
    private static long previousIncarnation(QuorumDisk disk, SlotCodec codec, int nodeId) {
        long max = 0;
        for (Copy c : Copy.values()) {
            DiskCopy d = disk.copy(c);
            if (d == null) {
                continue;
            }
            try {
                byte[] b = d.read(DiskLayout.slotOffsetBytes(nodeId), DiskLayout.BLOCK_SIZE_BYTES);
                if (codec.decode(b, 0, nodeId) instanceof SlotRead.Valid v) {
                    max = Math.max(max, v.slot().incarnation());
                }
            } catch (IOException e) {
                // The core's first cycle finds and reports the failing copy.
            }
        }
        return max;
    }

    /** Runs the event loop until the node stops; returns the process exit status. */
    public int run() {
        Thread ticker = Thread.ofVirtual().name("baton-ticker").start(this::tick);
        try {
            while (running) {
                DiskInput in = inbox.poll(1, TimeUnit.SECONDS);
                if (in == null) {
                    continue;
                }
                account(in);
                for (DiskEffect e : core.step(in)) {
                    perform(e);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            log.error("event=loop-interrupted");
        } catch (RuntimeException e) {
            // A broken invariant: fail loudly and let the cluster treat this node as failed.
            log.error("event=invariant-broken error=" + KvLog.q(e));
            e.printStackTrace();
            exitStatus = ExitStatus.FAILURE;
        } finally {
            running = false;
            ticker.interrupt();
            disk.close();
            stopped.countDown();
        }
        return exitStatus;
    }

    public DiskIoStats stats() {
        return stats;
    }

    public DiskLiveness.Stats coreStats() {
        return core.stats();
    }

    private void account(DiskInput in) {
        stats.record(() -> {
            switch (in) {
                case DiskInput.WriteDone w -> {
                    stats.completed(w.cycle(), w.nowNanos());
                    if (w.error() == null) {
                        stats.wrote(DiskLayout.BLOCK_SIZE_BYTES);
                    }
                }
                case DiskInput.ReadDone r -> {
                    stats.completed(r.cycle(), r.nowNanos());
                    if (r.area() != null) {
                        stats.read(r.area().length);
                    }
                }
                case DiskInput.Tick t -> { }
                case DiskInput.RepairDone r -> { }
                case DiskInput.LeaveRequested l -> { }
            }
        });
    }

    /** Asks the node to leave cleanly (SIGTERM, {@code baton node leave}); waits at most {@code timeoutMillis}. */
    public boolean requestLeave(long timeoutMillis) {
        if (running) {
            inbox.offer(new DiskInput.LeaveRequested(System.nanoTime(), System.currentTimeMillis()));
        }
        try {
            return stopped.await(timeoutMillis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private void tick() {
        long tickMillis = Math.max(5, config.timeouts().diskIntervalMillis() / 10);
        try {
            while (running) {
                inbox.put(new DiskInput.Tick(System.nanoTime(), System.currentTimeMillis()));
                Thread.sleep(tickMillis);
            }
        } catch (InterruptedException e) {
            // stopping
        }
    }

    private void perform(DiskEffect e) {
        switch (e) {
            case DiskEffect.WriteSlot w -> {
                stats.record(() -> stats.issued(w.cycle(), System.nanoTime()));
                io(w.copy(), "write", d -> d.write(DiskLayout.slotOffsetBytes(node.id()), w.block()),
                        err -> new DiskInput.WriteDone(System.nanoTime(), w.copy(), w.cycle(), err));
            }
            case DiskEffect.ReadArea r -> {
                stats.record(() -> stats.issued(r.cycle(), System.nanoTime()));
                DiskCopy d = disk.copy(r.copy());
                Thread.ofVirtual().name("baton-disk-read").start(() -> {
                    byte[] area = null;
                    String err = null;
                    if (d == null) {
                        err = "copy could not be opened";
                    } else {
                        try {
                            area = d.read(0, DiskLayout.LIVENESS_AREA_BYTES);
                        } catch (IOException | RuntimeException x) {
                            err = String.valueOf(x.getMessage());
                        }
                    }
                    deliver(new DiskInput.ReadDone(System.nanoTime(), r.copy(), r.cycle(), area, err));
                });
            }
            case DiskEffect.RepairSlot r -> {
                log.warn("event=slot-repair copy=" + r.copy().label() + " slot-of=" + r.nodeId() + " reason=" + KvLog.q(r.reason()));
                io(r.copy(), "repair", d -> d.write(DiskLayout.slotOffsetBytes(r.nodeId()), r.block()),
                        err -> new DiskInput.RepairDone(System.nanoTime(), r.copy(), r.nodeId(), err));
            }
            case DiskEffect.Report r -> report(r.event());
            case DiskEffect.Exit x -> {
                if (x.reason() != ExitReason.LEFT) {
                    int n = workloads.stopAll(x.reason().label());
                    log.warn("event=workloads-stopped count=" + n + " reason=" + x.reason().label());
                }
                log.line(x.reason() == ExitReason.LEFT ? KvLog.Level.INFO : KvLog.Level.ERROR,
                        "event=exit reason=" + x.reason().label() + " status=" + x.reason().exitStatus + " detail=" + KvLog.q(x.detail()));
                exitStatus = x.reason().exitStatus;
                running = false;
            }
        }
    }

    private void report(DiskEvent event) {
        boolean bad = switch (event) {
            case DiskEvent.CopyHealth h -> !h.healthy();
            case DiskEvent.RepairFailed f -> true;
            case DiskEvent.CounterRegressed c -> true;
            case DiskEvent.Leaving l -> l.reason() != ExitReason.LEFT;
            case DiskEvent.LivenessChanged c -> c.to() == Liveness.STALE || c.to() == Liveness.UNKNOWN;
            case DiskEvent.Joined j -> false;
            case DiskEvent.SlotRepaired r -> false;
        };
        String fields = event.fields();
        if (event instanceof DiskEvent.LivenessChanged c) {
            String name = config.node(c.nodeId()).map(NodeConfig::name).orElse("?");
            fields = fields.replace("node=" + c.nodeId() + " ", "peer=" + name + " peer-id=" + c.nodeId() + " ");
        }
        if (event instanceof DiskEvent.CopyHealth h && !h.healthy()) {
            fields += h.degraded() ? " alarm=degraded-quorum-disk" : " alarm=quorum-disk-lost";
        }
        log.line(bad ? KvLog.Level.WARN : KvLog.Level.INFO, fields);
    }

    private interface DiskOp {
        void run(DiskCopy d) throws IOException;
    }

    private void io(Copy c, String what, DiskOp op, java.util.function.Function<String, DiskInput> done) {
        DiskCopy d = disk.copy(c);
        Thread.ofVirtual().name("baton-disk-" + what).start(() -> {
            String err = null;
            if (d == null) {
                err = "copy could not be opened";
            } else {
                try {
                    op.run(d);
                } catch (IOException | RuntimeException x) {
                    err = String.valueOf(x.getMessage());
                }
            }
            deliver(done.apply(err));
        });
    }

    private void deliver(DiskInput in) {
        try {
            while (running && !inbox.offer(in, 100, TimeUnit.MILLISECONDS)) {
                // The loop is behind; completions wait rather than vanish.
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A reason not to start, with the exit status and the log line. */
    public static final class StartFailure extends Exception {
        private final int status;

        public StartFailure(int status, String fields) {
            super(fields);
            this.status = status;
        }

        public int status() {
            return status;
        }
    }
}
