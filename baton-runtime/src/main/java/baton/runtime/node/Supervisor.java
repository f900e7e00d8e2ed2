package baton.runtime.node;

import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Watches the daemon's own parts (docs/failure-scenarios.md): the event loop (which also drives
 * the disk loop), the slot writes, the heartbeat send thread and the workload monitors. A part
 * that is stuck or dead leaves a node that looks alive on one channel while it no longer acts
 * on the other (e.g. heartbeats from a node whose loop no longer writes its slot: disk-lost, an
 * alarm, never a failover), so the node fences itself: {@code onStuck} stops what it can and
 * ends the process; the others then see it down and fence it by power.
 *
 * <p>The supervisor is its own platform thread at the highest priority. When it was late itself
 * (the whole process was paused: SIGSTOP, a VM freeze), every part looks stale for the same
 * reason; that is the membership core's business (it rejoins), so the supervisor waits until
 * the parts had the time to catch up before it judges again. Its limits are several times the
 * timeouts: a loop slowed by a starved CPU is the membership core's business too (a late node
 * rejoins); the supervisor is for a part that does not come back.
 */
final class Supervisor {
    /** One part: a name and its verdict at a time, empty while it is fine. */
    interface Part {
        String name();

        Optional<String> stuck(long nowNanos);
    }

    static Part part(String name, java.util.function.LongFunction<Optional<String>> check) {
        return new Part() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public Optional<String> stuck(long nowNanos) {
                return check.apply(nowNanos);
            }
        };
    }

    /** A part that must show progress within {@code limitNanos}: stuck when its last progress is older. */
    static Part progress(String name, long limitNanos, java.util.function.LongSupplier lastProgressNanos, String what) {
        return part(name, now -> {
            long quiet = now - lastProgressNanos.getAsLong();
            return quiet > limitNanos ? Optional.of(what + ": no progress for " + quiet / 1_000_000 + " ms (limit "
                    + limitNanos / 1_000_000 + " ms)") : Optional.empty();
        });
    }

    static final long PERIOD_NANOS = 50_000_000L;

    private final List<Part> parts;
    private final long lateNanos;
    private final long graceNanos;
    private final Consumer<String> onStuck;
    private volatile boolean running = true;
    private Thread thread;

    /**
     * @param lateNanos  a wake-up this late means the whole process was paused
     * @param graceNanos after such a pause, how long the parts get to catch up before they are judged
     * @param onStuck    called once, on the supervisor's thread, with "part: why"
     */
    Supervisor(List<Part> parts, long lateNanos, long graceNanos, Consumer<String> onStuck) {
        this.parts = List.copyOf(parts);
        this.lateNanos = lateNanos;
        this.graceNanos = graceNanos;
        this.onStuck = onStuck;
    }

    void start() {
        thread = Thread.ofPlatform().daemon(true).priority(Thread.MAX_PRIORITY).name("baton-supervise").start(this::loop);
    }

    void stop() {
        running = false;
        if (thread != null) {
            thread.interrupt();
        }
    }

    private void loop() {
        long last = System.nanoTime();
        long judgeFrom = last;
        try {
            while (running) {
                Thread.sleep(PERIOD_NANOS / 1_000_000);
                long now = System.nanoTime();
                if (now - last > PERIOD_NANOS + lateNanos) {
                    judgeFrom = now + graceNanos; // the whole process was paused: let the parts catch up
                }
                last = now;
                if (now - judgeFrom < 0 || !running) {
                    continue;
                }
                for (Part p : parts) {
                    Optional<String> why = p.stuck(now);
                    if (why.isPresent() && running) {
                        running = false;
                        onStuck.accept(p.name() + ": " + why.get());
                        return;
                    }
                }
            }
        } catch (InterruptedException e) {
            // stopping
        }
    }
}
