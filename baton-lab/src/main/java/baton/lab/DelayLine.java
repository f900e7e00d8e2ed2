package baton.lab;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.DelayQueue;
import java.util.concurrent.Delayed;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * netem's delay, jitter and loss in this JVM, for kernels without the netem qdisc: the frames
 * a host sends are diverted, just after they leave its wire, through two TAP interfaces in the
 * switch namespace and a queue that holds each frame for its delay.
 *
 * <pre>
 *   host eth0 ──veth── port ─┐ tc ingress: mirred redirect    (port no longer feeds br0)
 *                            └─> tap dli-PORT ──read──> [drop with P(loss); hold delay ± jitter]
 *                     br0 <── tap dlo-PORT <──write──────┘
 *   br0 ──> port ──veth──> host eth0                          (the way back is untouched)
 * </pre>
 *
 * dlo-PORT is a bridge port that neither learns nor floods, so br0 sends nothing out through
 * it: frames for the host keep going out of its own port (flooded while br0 has not learnt the
 * host's address there, which in a lab of a few hosts costs nothing). Like netem on eth0 this
 * impairs only what the host sends.
 *
 * <p>Limits: at most {@value #LIMIT_FRAMES} frames wait at once (netem's default limit);
 * more are dropped, as netem drops them.
 */
final class DelayLine implements Impairment {
    static final int LIMIT_FRAMES = 1000;
    /** How often the threads look up from a blocking wait to see whether they should stop. */
    private static final int WAKE_MILLIS = 50;

    private final String switchNetns;
    private final String port;
    private final NetemSpec spec;
    private final TapDevice in;
    private final TapDevice out;
    private final DelayQueue<Frame> queue = new DelayQueue<>();
    private final Thread reader;
    private final Thread writer;
    private volatile boolean stopping;
    private volatile RuntimeException failure;
    private boolean removed;

    private record Frame(byte[] bytes, long dueNanos) implements Delayed {
        @Override
        public long getDelay(TimeUnit unit) {
            return unit.convert(dueNanos - System.nanoTime(), TimeUnit.NANOSECONDS);
        }

        @Override
        public int compareTo(Delayed other) {
            return Long.compare(dueNanos, ((Frame) other).dueNanos);
        }
    }

    private DelayLine(String switchNetns, String port, NetemSpec spec, TapDevice in, TapDevice out) {
        this.switchNetns = switchNetns;
        this.port = port;
        this.spec = spec;
        this.in = in;
        this.out = out;
        // Platform threads: each blocks in native poll/read/write, which would pin a virtual thread's carrier anyway.
        this.reader = Thread.ofPlatform().daemon().name("baton-lab-delay-in-" + port).unstarted(this::readLoop);
        this.writer = Thread.ofPlatform().daemon().name("baton-lab-delay-out-" + port).unstarted(this::writeLoop);
    }

    static DelayLine install(String switchNetns, String port, NetemSpec spec) {
        TapDevice in = TapDevice.create(switchNetns, "dli-" + port);
        TapDevice out;
        try {
            out = TapDevice.create(switchNetns, "dlo-" + port);
        } catch (RuntimeException e) {
            in.close();
            throw e;
        }
        DelayLine line = new DelayLine(switchNetns, port, spec, in, out);
        try {
            Netns.ip(switchNetns, "link", "set", in.name(), "up");
            Netns.ip(switchNetns, "link", "set", out.name(), "master", "br0");
            Cmd.check(Netns.COMMAND_TIMEOUT, Netns.exec(switchNetns, List.of("bridge", "link", "set", "dev", out.name(),
                    "learning", "off", "flood", "off", "mcast_flood", "off", "bcast_flood", "off")));
            Netns.ip(switchNetns, "link", "set", out.name(), "up");
            line.reader.start();
            line.writer.start();
            // Divert last, when the line is ready to carry the frames.
            tc(switchNetns, "qdisc", "add", "dev", port, "ingress");
            tc(switchNetns, "filter", "add", "dev", port, "parent", "ffff:", "protocol", "all", "u32", "match", "u32", "0", "0",
                    "action", "mirred", "egress", "redirect", "dev", in.name());
            return line;
        } catch (RuntimeException e) {
            try {
                line.remove();
            } catch (RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    private static void tc(String netns, String... args) {
        List<String> command = new ArrayList<>(List.of("tc"));
        command.addAll(List.of(args));
        Cmd.check(Netns.COMMAND_TIMEOUT, Netns.exec(netns, command));
    }

    private void readLoop() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(TapDevice.MAX_FRAME_BYTES);
            ThreadLocalRandom random = ThreadLocalRandom.current();
            while (!stopping) {
                int n = in.read(buffer, WAKE_MILLIS);
                if (n == 0) {
                    continue;
                }
                if (random.nextDouble() * 100 < spec.lossPercent() || queue.size() >= LIMIT_FRAMES) {
                    continue;
                }
                long jitter = spec.jitter().isZero() ? 0 : random.nextLong(-spec.jitter().toNanos(), spec.jitter().toNanos() + 1);
                queue.add(new Frame(buffer.asSlice(0, n).toArray(JAVA_BYTE),
                        System.nanoTime() + spec.delay().toNanos() + jitter));
            }
        } catch (RuntimeException e) {
            failure = e;
        }
    }

    private void writeLoop() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(TapDevice.MAX_FRAME_BYTES);
            while (!stopping) {
                Frame f = queue.poll(WAKE_MILLIS, TimeUnit.MILLISECONDS);
                if (f != null) {
                    MemorySegment.copy(f.bytes(), 0, buffer, JAVA_BYTE, 0, f.bytes().length);
                    out.write(buffer, f.bytes().length);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            failure = e;
        }
    }

    /**
     * Puts the host's port back on the bridge, stops the threads and closes the TAP devices
     * (which removes them). Frames still waiting are dropped. Throws if a thread had failed,
     * so a broken line does not pass unnoticed.
     */
    @Override
    public synchronized void remove() {
        if (removed) {
            return;
        }
        removed = true;
        RuntimeException error = null;
        if (Netns.exists(switchNetns)) {
            ExecResult r = Cmd.run(Netns.COMMAND_TIMEOUT, Netns.exec(switchNetns, List.of("tc", "qdisc", "del", "dev", port, "ingress")));
            // "Invalid handle"/"Cannot find": install failed before adding it; nothing to undo.
            if (!r.ok() && !r.stderr().contains("Invalid handle") && !r.stderr().contains("Cannot find")) {
                error = new CommandFailedException(r);
            }
        }
        stopping = true;
        join(reader);
        join(writer);
        // Only now: closing a descriptor another thread still polls would let the number be reused under it.
        in.close();
        out.close();
        queue.clear();
        RuntimeException threadFailure = failure;
        if (error == null && threadFailure != null) {
            error = new IllegalStateException("the delay line of " + port + " failed", threadFailure);
        }
        if (error != null) {
            throw error;
        }
    }

    private static void join(Thread t) {
        if (!t.isAlive() && t.getState() == Thread.State.NEW) {
            return;
        }
        try {
            // Each loop wakes every WAKE_MILLIS; a bound well above that catches a thread stuck in the kernel.
            if (!t.join(Duration.ofSeconds(5))) {
                throw new LabTimeoutException(t.getName() + " did not stop within 5 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while stopping " + t.getName(), e);
        }
    }
}
