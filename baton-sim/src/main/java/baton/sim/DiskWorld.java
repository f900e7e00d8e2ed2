package baton.sim;

import baton.core.disk.ClusterKey;
import baton.core.disk.Copy;
import baton.core.disk.DiskHeader;
import baton.core.disk.DiskLayout;
import baton.core.disk.SlotCodec;
import baton.core.liveness.DiskEffect;
import baton.core.liveness.DiskEvent;
import baton.core.liveness.DiskInput;
import baton.core.liveness.DiskLiveness;
import baton.core.liveness.ExitReason;
import baton.core.liveness.Liveness;
import baton.core.timing.Timeouts;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.UUID;

/**
 * A deterministic world of nodes running the real {@link DiskLiveness} core against a
 * {@link SimDisk}, in one thread, from one seed. Each node ticks every {@code tickNanos};
 * each disk I/O completes after a latency drawn from the seeded random source. A node can be
 * paused (it neither ticks nor completes I/O) and resumed, or crashed.
 *
 * <p>Invariant checked after every step: the counter a reader believes for a node never goes
 * backwards within one incarnation.
 */
public final class DiskWorld {
    public static final long MS = 1_000_000L;

    public final class Node {
        public final int id;
        DiskLiveness core;
        boolean crashed;
        long pausedUntil = -1;
        ExitReason exit;
        String exitDetail;
        final List<DiskEvent> events = new ArrayList<>();
        final long[][] believed = new long[DiskLayout.MAX_NODES + 1][];

        Node(int id) {
            this.id = id;
        }

        public DiskLiveness core() {
            return core;
        }

        public ExitReason exit() {
            return exit;
        }

        public String exitDetail() {
            return exitDetail;
        }

        public List<DiskEvent> events() {
            return events;
        }

        public boolean running() {
            return !crashed && exit == null;
        }

        public Liveness livenessOf(int nodeId) {
            return core.view().get(nodeId - 1).liveness();
        }
    }

    private record Pending(long atNanos, long seq, Node node, DiskInput input) {}

    private final Random random;
    private final Timeouts timeouts;
    private final DiskHeader header;
    private final SlotCodec codec;
    private final SimDisk disk;
    private final List<Node> nodes = new ArrayList<>();
    private final PriorityQueue<Pending> queue = new PriorityQueue<>(
            (a, b) -> a.atNanos != b.atNanos ? Long.compare(a.atNanos, b.atNanos) : Long.compare(a.seq, b.seq));
    private final long tickNanos;
    private long now;
    private long seq;
    private long maxLatencyNanos = 2 * MS;
    private boolean traceInputs;
    private final List<String> transcript = new ArrayList<>();

    public DiskWorld(long seed, int nodeCount, Timeouts timeouts) {
        this.random = new Random(seed);
        this.timeouts = timeouts;
        byte[] key = new byte[ClusterKey.KEY_BYTES];
        random.nextBytes(key);
        this.header = new DiskHeader(DiskLayout.FORMAT_VERSION, Copy.PRIMARY, new UUID(random.nextLong(), random.nextLong()),
                "sim", DiskLayout.BLOCK_SIZE_BYTES, nodeCount, DiskLayout.REGION_BLOCKS, 0, new ClusterKey(key).fingerprint());
        this.codec = new SlotCodec(header.clusterId(), new ClusterKey(key));
        this.disk = new SimDisk(header);
        this.tickNanos = Math.max(MS, timeouts.diskIntervalNanos() / 10);
        for (int id = 1; id <= nodeCount; id++) {
            nodes.add(new Node(id));
        }
    }

    public SimDisk disk() {
        return disk;
    }

    public SlotCodec codec() {
        return codec;
    }

    public DiskHeader header() {
        return header;
    }

    public Node node(int id) {
        return nodes.get(id - 1);
    }

    public long nowNanos() {
        return now;
    }

    public List<String> transcript() {
        return transcript;
    }

    /** Adds every input except ticks to the transcript. */
    public void traceInputs(boolean on) {
        traceInputs = on;
    }

    public void maxLatencyMillis(long ms) {
        maxLatencyNanos = ms * MS;
    }

    /** Starts (or restarts, with a new incarnation) node {@code id}. */
    public void start(int id) {
        Node n = node(id);
        long previous = n.core == null ? 0 : n.core.incarnation();
        n.core = new DiskLiveness(id, header, codec, timeouts,
                DiskLiveness.nextIncarnation(previous, 1_000 + now / MS), header.slotCount());
        java.util.Arrays.fill(n.believed, null); // a restarted reader starts with no beliefs
        n.crashed = false;
        n.exit = null;
        n.pausedUntil = -1;
        schedule(now, n, new DiskInput.Tick(now, now / MS));
    }

    public void startAll() {
        for (Node n : nodes) {
            start(n.id);
        }
    }

    /** kill -9: the node stops at once; its outstanding I/O is lost. */
    public void crash(int id) {
        node(id).crashed = true;
        log("crash node=" + id);
    }

    /** SIGSTOP for {@code millis}: no ticks, and completions wait until it resumes. */
    public void pause(int id, long millis) {
        node(id).pausedUntil = now + millis * MS;
        log("pause node=" + id + " ms=" + millis);
    }

    public void leave(int id) {
        Node n = node(id);
        deliver(n, new DiskInput.LeaveRequested(now, now / MS));
    }

    public void runMillis(long millis) {
        long until = now + millis * MS;
        while (!queue.isEmpty() && queue.peek().atNanos <= until) {
            Pending p = queue.poll();
            now = Math.max(now, p.atNanos);
            Node n = p.node;
            if (!n.running() || n.core == null) {
                continue;
            }
            if (n.pausedUntil > now) {
                schedule(n.pausedUntil, n, retime(p.input, n.pausedUntil));
                continue;
            }
            deliver(n, retime(p.input, now));
            if (p.input instanceof DiskInput.Tick) {
                schedule(now + tickNanos, n, new DiskInput.Tick(now + tickNanos, (now + tickNanos) / MS));
            }
        }
        now = until;
    }

    private static DiskInput retime(DiskInput in, long t) {
        return switch (in) {
            case DiskInput.Tick x -> new DiskInput.Tick(t, t / MS);
            case DiskInput.WriteDone x -> new DiskInput.WriteDone(t, x.copy(), x.cycle(), x.error());
            case DiskInput.ReadDone x -> new DiskInput.ReadDone(t, x.copy(), x.cycle(), x.area(), x.error());
            case DiskInput.RepairDone x -> new DiskInput.RepairDone(t, x.copy(), x.nodeId(), x.error());
            case DiskInput.LeaveRequested x -> new DiskInput.LeaveRequested(t, t / MS);
        };
    }

    private void deliver(Node n, DiskInput in) {
        if (traceInputs && !(in instanceof DiskInput.Tick)) {
            log("node=" + n.id + " input=" + switch (in) {
                case DiskInput.ReadDone r -> "read-done copy=" + r.copy().label() + " cycle=" + r.cycle() + " error=" + r.error();
                case DiskInput.WriteDone r -> "write-done copy=" + r.copy().label() + " cycle=" + r.cycle() + " error=" + r.error();
                default -> in.toString();
            });
        }
        for (DiskEffect e : n.core.step(in)) {
            perform(n, e);
        }
        checkInvariants(n);
    }

    private void perform(Node n, DiskEffect e) {
        long done = now + 1 + (long) (random.nextDouble() * maxLatencyNanos);
        switch (e) {
            case DiskEffect.WriteSlot w -> {
                if (disk.fault(n.id, w.copy()) == SimDisk.Fault.HANG) {
                    return; // never completes
                }
                String err = disk.write(n.id, w.copy(), DiskLayout.slotOffsetBytes(n.id), w.block());
                schedule(done, n, new DiskInput.WriteDone(done, w.copy(), w.cycle(), err));
            }
            case DiskEffect.ReadArea r -> {
                if (disk.fault(n.id, r.copy()) == SimDisk.Fault.HANG) {
                    return;
                }
                byte[] area = disk.read(n.id, r.copy());
                schedule(done, n, new DiskInput.ReadDone(done, r.copy(), r.cycle(), area, area == null ? "EIO (simulated)" : null));
            }
            case DiskEffect.RepairSlot r -> {
                String err = disk.write(n.id, r.copy(), DiskLayout.slotOffsetBytes(r.nodeId()), r.block());
                schedule(done, n, new DiskInput.RepairDone(done, r.copy(), r.nodeId(), err));
            }
            case DiskEffect.Report r -> {
                n.events.add(r.event());
                log("node=" + n.id + " " + r.event().fields());
            }
            case DiskEffect.Exit x -> {
                n.exit = x.reason();
                n.exitDetail = x.detail();
                log("node=" + n.id + " exit=" + x.reason().label() + " detail=\"" + x.detail() + "\"");
            }
        }
    }

    private void schedule(long at, Node n, DiskInput in) {
        queue.add(new Pending(at, seq++, n, in));
    }

    private void log(String line) {
        transcript.add(String.format("%8.3f %s", now / 1e9, line));
    }

    /** Counters a reader believes never go backwards within one incarnation. */
    private void checkInvariants(Node reader) {
        for (DiskLiveness.NodeView v : reader.core.view()) {
            if (v.slot() == null) {
                continue;
            }
            long[] before = reader.believed[v.nodeId()];
            if (before != null && before[0] == v.slot().incarnation() && v.slot().counter() - before[1] < 0) {
                throw new AssertionError("node " + reader.id + " believes node " + v.nodeId() + "'s counter went back from "
                        + before[1] + " to " + v.slot().counter() + " at " + now / MS + " ms");
            }
            reader.believed[v.nodeId()] = new long[] {v.slot().incarnation(), v.slot().counter()};
        }
    }
}
