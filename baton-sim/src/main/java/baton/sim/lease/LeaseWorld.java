package baton.sim.lease;

import baton.core.disk.ClusterKey;
import baton.core.disk.Copy;
import baton.core.disk.DiskLayout;
import baton.core.lease.BlockRead;
import baton.core.lease.CoordinatorLease;
import baton.core.lease.LeaseCodec;
import baton.core.lease.LeaseEffect;
import baton.core.lease.LeaseEvent;
import baton.core.lease.LeaseInput;
import baton.core.lease.LeaseLayout;
import baton.core.lease.LeaderRead;
import baton.core.timing.Timeouts;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.function.Predicate;

/**
 * A deterministic world of N nodes (2..32) running the real {@link CoordinatorLease} core
 * against a simulated two-copy lease area, in one thread, from one seed, without real time.
 *
 * <h2>What the world can break</h2>
 * <ul>
 * <li>Disk, per node and per copy: failing writes, failing reads and writes, hangs (the I/O
 *     completes only when the hang ends, and a hung write may still land then), latency
 *     spikes beyond the I/O timeout (completions arrive late, writes land late). A copy can
 *     fail for everyone at once.</li>
 * <li>Writes that report an error may still land, whole or torn (a prefix of the new record
 *     over the old one, which fails the checksum); a crash leaves each write in flight landed,
 *     torn or lost. Blocks can be corrupted at any time. The world never damages both copies of
 *     the same block at once: that is two failures of the quorum disk, outside the fault model
 *     (the core stays safe then, but needs the block's owner to rewrite it).</li>
 * <li>Nodes: crashes (kill -9), restarts with a new incarnation, pauses (SIGSTOP: no ticks,
 *     completions wait, the kernel's I/O goes on), and clock rate drift: each node's monotonic
 *     clock runs at its own rate within 1 % of real time, and the rate can change.</li>
 * </ul>
 *
 * <h2>What the checker demands, after every event, in real (simulated global) time</h2>
 * At most one node has {@code isCoordinator(its own clock now)}. Paused nodes are included: a
 * paused process takes no action, but if it resumed at this instant it would act on that
 * answer. Each coordinator episode (node, incarnation, generation) starts once, and the
 * generations of successive episodes strictly increase. A core that throws (a broken
 * invariant) fails the run too. Failures name the seed and end with the transcript.
 */
public final class LeaseWorld {
    public static final long MS = 1_000_000L;
    private static final long WALL_EPOCH_MILLIS = 1_790_000_000_000L;
    private static final int TRANSCRIPT_LINES = 400;

    /** What happens to one node's I/O on one copy. */
    public enum Fault { NONE, FAIL_WRITES, FAIL_ALL, HANG, SLOW }

    /** One stretch of time during which one node believed it was coordinator. */
    public record Episode(int nodeId, long incarnation, long generation, long startNanos, long endNanos) {
        public boolean open() {
            return endNanos < 0;
        }
    }

    public final class Node {
        public final int id;
        CoordinatorLease core;
        long incarnation;
        int epoch;
        boolean crashed = true;
        long pausedUntil = -1;
        long tickToken;
        long clockBase;
        long realBase;
        long ppm;
        final List<LeaseEvent> events = new ArrayList<>();
        final List<PendingWrite> inFlight = new ArrayList<>();

        Node(int id) {
            this.id = id;
        }

        /** This node's monotonic clock at real time {@code real}: rate 1 + ppm / 10^6, never going back. */
        public long clock(long real) {
            long d = real - realBase;
            return clockBase + d + d * ppm / 1_000_000;
        }

        public CoordinatorLease core() {
            return core;
        }

        public boolean running() {
            return core != null && !crashed;
        }

        public boolean paused() {
            return pausedUntil > now;
        }

        public long incarnation() {
            return incarnation;
        }

        public boolean isCoordinator() {
            return running() && core.isCoordinator(clock(now));
        }

        public List<LeaseEvent> events() {
            return events;
        }
    }

    private sealed interface Ev permits TickEv, DeliverEv, LandEv, SnapEv, ResumeEv {}

    private record TickEv(Node node, int epoch, long token) implements Ev {}

    private record DeliverEv(Node node, int epoch, LeaseInput input) implements Ev {}

    private record LandEv(PendingWrite write) implements Ev {}

    private record SnapEv(PendingRead read) implements Ev {}

    private record ResumeEv(Node node, int epoch) implements Ev {}

    private record Pending(long at, long seq, Ev ev) {}

    private enum Landing { FULL, TORN, NONE }

    private static final class PendingWrite {
        Node node;
        int epoch;
        Copy copy;
        int block;
        byte[] bytes;
        long ioId;
        Landing landing;
        boolean resolved;
    }

    private static final class PendingRead {
        Node node;
        int epoch;
        Copy copy;
        long ioId;
        long completeAt;
    }

    private final long seed;
    private final Random random;
    private final Timeouts timeouts;
    private final UUID clusterId;
    private final ClusterKey key;
    private final LeaseCodec codec;
    private final List<Node> nodes = new ArrayList<>();
    private final PriorityQueue<Pending> queue = new PriorityQueue<>(
            (a, b) -> a.at != b.at ? Long.compare(a.at, b.at) : Long.compare(a.seq, b.seq));
    private final long tickNanos;
    private long now;
    private long seq;

    /** The two copies of the lease area; replaced, never modified, so a read's snapshot is an alias. */
    private final byte[][] area = {new byte[LeaseLayout.AREA_BYTES], new byte[LeaseLayout.AREA_BYTES]};
    private final Fault[][] faults = new Fault[DiskLayout.MAX_NODES + 1][2];
    private final List<PendingWrite> hungWrites = new ArrayList<>();
    private final List<PendingRead> hungReads = new ArrayList<>();
    private long maxLatencyNanos = 2 * MS;
    private long slowMinNanos = -1;
    private long slowMaxNanos = -1;
    private double tornOnFailure;
    private double landOnFailure;

    // The checker.
    private final List<Episode> episodes = new ArrayList<>();
    private final Set<String> closedEpisodes = new HashSet<>();
    private Episode open;
    private long highestGeneration;
    private long lastCoordinatorChangeNanos;

    private final ArrayDeque<String> transcript = new ArrayDeque<>();
    private boolean traceIo;
    private long events;

    public LeaseWorld(long seed, int nodeCount, Timeouts timeouts) {
        if (nodeCount < 1 || nodeCount > DiskLayout.MAX_NODES) {
            throw new IllegalArgumentException(nodeCount + " nodes");
        }
        this.seed = seed;
        this.random = new Random(seed);
        this.timeouts = timeouts;
        byte[] k = new byte[ClusterKey.KEY_BYTES];
        random.nextBytes(k);
        this.key = new ClusterKey(k);
        this.clusterId = new UUID(random.nextLong(), random.nextLong());
        this.codec = new LeaseCodec(clusterId, key);
        this.tickNanos = Math.max(MS, timeouts.diskIntervalNanos() / 10);
        for (Fault[] f : faults) {
            java.util.Arrays.fill(f, Fault.NONE);
        }
        for (int id = 1; id <= nodeCount; id++) {
            Node n = new Node(id);
            // Each clock starts far from the others and runs at its own rate: nothing may compare them.
            n.clockBase = (1 + random.nextInt(1_000_000)) * MS * 1000;
            n.ppm = random.nextInt(2 * (int) Timeouts.clockRateErrorPpm() + 1) - Timeouts.clockRateErrorPpm();
            nodes.add(n);
        }
    }

    // ------------------------------------------------------------------ accessors

    public long seed() {
        return seed;
    }

    public Timeouts timeouts() {
        return timeouts;
    }

    public Node node(int id) {
        return nodes.get(id - 1);
    }

    public List<Node> nodes() {
        return nodes;
    }

    public long nowNanos() {
        return now;
    }

    public LeaseCodec codec() {
        return codec;
    }

    public List<Episode> episodes() {
        List<Episode> all = new ArrayList<>(episodes);
        if (open != null) {
            all.add(open);
        }
        return all;
    }

    /** The node that is coordinator now (by its own clock), or null. */
    public Node coordinator() {
        for (Node n : nodes) {
            if (n.isCoordinator()) {
                return n;
            }
        }
        return null;
    }

    public long lastCoordinatorChangeNanos() {
        return lastCoordinatorChangeNanos;
    }

    public long eventCount() {
        return events;
    }

    public List<String> transcript() {
        return new ArrayList<>(transcript);
    }

    /** Adds every read, write, landing and completion to the transcript (for reproducing a failure). */
    public void traceIo(boolean on) {
        traceIo = on;
    }

    /** The raw bytes of a copy of the lease area (a snapshot; do not modify). */
    public byte[] area(Copy c) {
        return area[c.ordinal()];
    }

    public BlockRead blockOn(Copy c, int nodeId) {
        return codec.decodeBlock(area[c.ordinal()], LeaseLayout.areaOffsetOfNode(nodeId), nodeId);
    }

    public LeaderRead leaderOn(Copy c) {
        return codec.decodeLeader(area[c.ordinal()], LeaseLayout.LEADER_AREA_OFFSET);
    }

    // ------------------------------------------------------------------ what a test or the soak can do

    public void maxLatencyMillis(long ms) {
        maxLatencyNanos = Math.max(1, ms * MS);
    }

    /** The latency range of a {@link Fault#SLOW} path; by default half to twice the I/O timeout. */
    public void slowLatencyMillis(long min, long max) {
        slowMinNanos = min * MS;
        slowMaxNanos = max * MS;
    }

    /** Probabilities that a failing write lands torn, or lands whole, although it reports an error. */
    public void failedWritesLand(double torn, double whole) {
        tornOnFailure = torn;
        landOnFailure = whole;
    }

    /** Sets node {@code id}'s clock rate to 1 + ppm / 10^6 from now on (|ppm| at most the bound). */
    public void drift(int id, long ppm) {
        if (Math.abs(ppm) > Timeouts.clockRateErrorPpm()) {
            throw new IllegalArgumentException("drift " + ppm + " ppm beyond the bound");
        }
        Node n = node(id);
        n.clockBase = n.clock(now);
        n.realBase = now;
        n.ppm = ppm;
    }

    /** Starts (or restarts, with a new incarnation) node {@code id}. */
    public void start(int id) {
        Node n = node(id);
        if (n.running()) {
            return;
        }
        resolveInFlight(n); // the old process is reaped only once its direct I/O is done
        n.incarnation = Math.max(n.incarnation + 1, WALL_EPOCH_MILLIS + now / MS);
        n.core = new CoordinatorLease(id, nodes.size(), clusterId, key, timeouts, n.incarnation);
        n.crashed = false;
        n.epoch++;
        n.pausedUntil = -1;
        n.tickToken++;
        log("start node=" + id + " incarnation=" + n.incarnation + " drift-ppm=" + n.ppm);
        schedule(now, new TickEv(n, n.epoch, n.tickToken));
    }

    public void startAll() {
        for (Node n : nodes) {
            start(n.id);
        }
    }

    /** kill -9: the node stops at once; each write it had in flight lands whole, torn, or not at all. */
    public void crash(int id) {
        Node n = node(id);
        if (!n.running()) {
            return;
        }
        n.crashed = true;
        n.epoch++;
        log("crash node=" + id);
        resolveInFlight(n);
        check();
    }

    /** SIGSTOP for {@code millis}: no ticks, completions wait until it resumes; its I/O goes on. */
    public void pause(int id, long millis) {
        pauseNanos(id, millis * MS);
    }

    /** {@link #pause} with nanosecond precision, to place a resumption at an exact instant. */
    public void pauseNanos(int id, long nanos) {
        Node n = node(id);
        if (!n.running()) {
            return;
        }
        n.pausedUntil = Math.max(n.pausedUntil, now + nanos);
        log("pause node=" + id + " ms=" + String.format("%.3f", nanos / 1e6));
        schedule(n.pausedUntil, new ResumeEv(n, n.epoch));
    }

    public void resign(int id) {
        Node n = node(id);
        if (n.running() && !n.paused()) {
            log("resign node=" + id);
            deliver(n, new LeaseInput.Resign(n.clock(now)));
        }
    }

    public void fault(int id, Copy c, Fault f) {
        Fault before = faults[id][c.ordinal()];
        faults[id][c.ordinal()] = f;
        if (before != f) {
            log("fault node=" + id + " copy=" + c.label() + " " + f);
        }
        if (before == Fault.HANG && f != Fault.HANG) {
            endHang(id, c);
        }
    }

    /** The same fault for every node: a copy failing for everyone. */
    public void copyFault(Copy c, Fault f) {
        for (int id = 1; id <= nodes.size(); id++) {
            fault(id, c, f);
        }
    }

    /**
     * Flips one byte of the used part of block {@code index} of the area (0: leader record,
     * n: node n's block) on copy {@code c}, unless the same block is already damaged on the
     * other copy. Returns whether it did.
     */
    public boolean corrupt(Copy c, int index) {
        if (damaged(c.other(), index)) {
            return false;
        }
        int used = index == 0 ? LeaseCodec.LEADER_USED_BYTES : LeaseCodec.BLOCK_USED_BYTES;
        byte[] a = area[c.ordinal()].clone();
        int at = index * DiskLayout.BLOCK_SIZE_BYTES + random.nextInt(used);
        a[at] ^= (byte) (1 + random.nextInt(255));
        area[c.ordinal()] = a;
        log("corrupt copy=" + c.label() + " block=" + index + " byte=" + (at % DiskLayout.BLOCK_SIZE_BYTES));
        return true;
    }

    /** Ends every fault: I/O works, hangs end (their writes land or not), paused nodes resume. */
    public void healAll() {
        log("heal");
        for (int id = 1; id <= nodes.size(); id++) {
            for (Copy c : Copy.values()) {
                fault(id, c, Fault.NONE);
            }
        }
        for (Node n : nodes) {
            if (n.running() && n.paused()) {
                n.pausedUntil = now;
                schedule(now, new ResumeEv(n, n.epoch));
            }
        }
        maxLatencyNanos = 2 * MS;
    }

    public void runMillis(long millis) {
        runUntil(w -> false, millis);
    }

    /** Runs until {@code done} holds after some event, or {@code millis} have passed; returns whether it held. */
    public boolean runUntil(Predicate<LeaseWorld> done, long millis) {
        long until = now + millis * MS;
        while (!queue.isEmpty() && queue.peek().at <= until) {
            Pending p = queue.poll();
            now = Math.max(now, p.at);
            handle(p.ev);
            events++;
            check();
            if (done.test(this)) {
                return true;
            }
        }
        now = until;
        check();
        return done.test(this);
    }

    // ------------------------------------------------------------------ the event loop

    private void handle(Ev ev) {
        switch (ev) {
            case TickEv t -> {
                Node n = t.node();
                if (t.epoch() != n.epoch || t.token() != n.tickToken || !n.running() || n.paused()) {
                    return; // a paused node's ticks stop; resuming starts a new chain
                }
                deliver(n, new LeaseInput.Tick(n.clock(now), WALL_EPOCH_MILLIS + now / MS));
                schedule(now + tickNanos, new TickEv(n, n.epoch, n.tickToken));
            }
            case DeliverEv d -> {
                Node n = d.node();
                if (d.epoch() != n.epoch || !n.running()) {
                    return;
                }
                if (n.paused()) {
                    schedule(n.pausedUntil, d);
                    return;
                }
                deliver(n, retime(d.input(), n.clock(now)));
            }
            case LandEv l -> land(l.write());
            case SnapEv s -> {
                PendingRead r = s.read();
                byte[] snapshot = area[r.copy.ordinal()];
                if (traceIo) {
                    log("node=" + r.node.id + " read-snapshot copy=" + r.copy.label() + " io=" + r.ioId);
                }
                schedule(r.completeAt, new DeliverEv(r.node, r.epoch,
                        new LeaseInput.ReadDone(0, r.copy, r.ioId, snapshot, null)));
            }
            case ResumeEv r -> {
                Node n = r.node();
                if (r.epoch() != n.epoch || !n.running() || n.pausedUntil < 0 || now < n.pausedUntil) {
                    return;
                }
                n.pausedUntil = -1;
                n.tickToken++;
                log("resume node=" + n.id);
                // The checker runs at this very instant (after this event) with the node's clock:
                // whatever it believed before the pause is judged now, before it can act.
                check();
                deliver(n, new LeaseInput.Tick(n.clock(now), WALL_EPOCH_MILLIS + now / MS));
                schedule(now + tickNanos, new TickEv(n, n.epoch, n.tickToken));
            }
        }
    }

    private static LeaseInput retime(LeaseInput in, long t) {
        return switch (in) {
            case LeaseInput.Tick x -> new LeaseInput.Tick(t, x.wallEpochMillis());
            case LeaseInput.ReadDone x -> new LeaseInput.ReadDone(t, x.copy(), x.ioId(), x.bytes(), x.error());
            case LeaseInput.WriteDone x -> new LeaseInput.WriteDone(t, x.copy(), x.ioId(), x.error());
            case LeaseInput.Resign x -> new LeaseInput.Resign(t);
        };
    }

    private void deliver(Node n, LeaseInput in) {
        if (traceIo && !(in instanceof LeaseInput.Tick)) {
            log("node=" + n.id + " input=" + switch (in) {
                case LeaseInput.ReadDone r -> "read-done copy=" + r.copy().label() + " io=" + r.ioId()
                        + (r.error() == null ? "" : " error=\"" + r.error() + "\"");
                case LeaseInput.WriteDone w -> "write-done copy=" + w.copy().label() + " io=" + w.ioId()
                        + (w.error() == null ? "" : " error=\"" + w.error() + "\"");
                case LeaseInput.Resign r -> "resign";
                case LeaseInput.Tick t -> "tick";
            });
        }
        List<LeaseEffect> effects;
        try {
            effects = n.core.step(in);
        } catch (RuntimeException e) {
            throw failure("node " + n.id + " broke an invariant: " + e, e);
        }
        for (LeaseEffect e : effects) {
            perform(n, e);
        }
    }

    private void perform(Node n, LeaseEffect e) {
        switch (e) {
            case LeaseEffect.ReadBlocks r -> read(n, r);
            case LeaseEffect.WriteBlock w -> write(n, w);
            case LeaseEffect.Report r -> {
                n.events.add(r.event());
                log("node=" + n.id + " " + r.event().fields());
            }
            case LeaseEffect.BecameCoordinator b -> log("node=" + n.id + " became coordinator generation=" + b.generation());
            case LeaseEffect.CeasedCoordinator c -> log("node=" + n.id + " ceased coordinator generation=" + c.generation()
                    + " reason=\"" + c.reason() + "\"");
        }
    }

    private long latency(Node n, Copy c) {
        if (faults[n.id][c.ordinal()] == Fault.SLOW) {
            long io = timeouts.ioTimeoutNanos();
            long min = slowMinNanos >= 0 ? slowMinNanos : io / 2;
            long max = slowMaxNanos >= 0 ? slowMaxNanos : 2 * io;
            return min + (long) (random.nextDouble() * (max - min));
        }
        return 1 + (long) (random.nextDouble() * maxLatencyNanos);
    }

    private void read(Node n, LeaseEffect.ReadBlocks r) {
        if (r.firstBlock() != LeaseLayout.AREA_FIRST_BLOCK || r.blockCount() != LeaseLayout.AREA_BLOCKS) {
            throw failure("node " + n.id + " read blocks " + r.firstBlock() + "+" + r.blockCount() + ", not the lease area", null);
        }
        PendingRead p = new PendingRead();
        p.node = n;
        p.epoch = n.epoch;
        p.copy = r.copy();
        p.ioId = r.ioId();
        if (traceIo) {
            log("node=" + n.id + " read copy=" + r.copy().label() + " io=" + r.ioId());
        }
        Fault f = faults[n.id][r.copy().ordinal()];
        long lat = latency(n, r.copy());
        switch (f) {
            case HANG -> hungReads.add(p);
            case FAIL_ALL -> schedule(now + lat, new DeliverEv(n, n.epoch,
                    new LeaseInput.ReadDone(0, r.copy(), r.ioId(), null, "EIO (simulated)")));
            case NONE, FAIL_WRITES, SLOW -> {
                p.completeAt = now + lat;
                schedule(now + (long) (random.nextDouble() * lat), new SnapEv(p));
            }
        }
    }

    private void write(Node n, LeaseEffect.WriteBlock w) {
        if (w.block() != LeaseLayout.LEADER_BLOCK && w.block() != LeaseLayout.blockOfNode(n.id)) {
            throw failure("node " + n.id + " wrote block " + w.block() + ": only its own block and the leader record are its", null);
        }
        if (w.bytes().length != DiskLayout.BLOCK_SIZE_BYTES) {
            throw failure("node " + n.id + " wrote " + w.bytes().length + " bytes", null);
        }
        PendingWrite p = new PendingWrite();
        p.node = n;
        p.epoch = n.epoch;
        p.copy = w.copy();
        p.block = w.block();
        p.bytes = w.bytes();
        p.ioId = w.ioId();
        if (traceIo) {
            log("node=" + n.id + " write copy=" + w.copy().label() + " block=" + w.block() + " io=" + w.ioId() + " "
                    + describe(w.block(), w.bytes()));
        }
        Fault f = faults[n.id][w.copy().ordinal()];
        if (f == Fault.HANG) {
            p.landing = Landing.NONE;
            hungWrites.add(p);
            n.inFlight.add(p);
            return;
        }
        long lat = latency(n, w.copy());
        String error = null;
        if (f == Fault.FAIL_WRITES || f == Fault.FAIL_ALL) {
            error = "EIO (simulated)";
            double x = random.nextDouble();
            p.landing = x < tornOnFailure ? Landing.TORN : x < tornOnFailure + landOnFailure ? Landing.FULL : Landing.NONE;
        } else {
            p.landing = Landing.FULL;
        }
        n.inFlight.add(p);
        schedule(now + (long) (random.nextDouble() * lat), new LandEv(p));
        schedule(now + lat, new DeliverEv(n, n.epoch, new LeaseInput.WriteDone(0, w.copy(), w.ioId(), error)));
    }

    private void land(PendingWrite p) {
        if (p.resolved) {
            return;
        }
        p.resolved = true;
        p.node.inFlight.remove(p);
        int index = p.block - LeaseLayout.AREA_FIRST_BLOCK;
        int offset = index * DiskLayout.BLOCK_SIZE_BYTES;
        Landing l = p.landing;
        if (l == Landing.TORN && damaged(p.copy.other(), index)) {
            l = Landing.FULL; // never both copies of one block damaged (see the class comment)
        }
        switch (l) {
            case NONE -> { }
            case FULL -> {
                byte[] a = area[p.copy.ordinal()].clone();
                System.arraycopy(p.bytes, 0, a, offset, p.bytes.length);
                area[p.copy.ordinal()] = a;
            }
            case TORN -> {
                byte[] a = area[p.copy.ordinal()].clone();
                int used = index == 0 ? LeaseCodec.LEADER_USED_BYTES : LeaseCodec.BLOCK_USED_BYTES;
                int prefix = 1 + random.nextInt(used - 1);
                System.arraycopy(p.bytes, 0, a, offset, prefix);
                area[p.copy.ordinal()] = a;
            }
        }
        if (traceIo || l == Landing.TORN) {
            log("node=" + p.node.id + " landed copy=" + p.copy.label() + " block=" + p.block + " io=" + p.ioId + " " + l);
        }
    }

    /** Before a crashed node's successor may write: every write in flight lands whole, torn, or not at all. */
    private void resolveInFlight(Node n) {
        for (PendingWrite p : new ArrayList<>(n.inFlight)) {
            double x = random.nextDouble();
            p.landing = x < 0.2 ? Landing.TORN : x < 0.6 ? Landing.FULL : Landing.NONE;
            land(p);
            hungWrites.remove(p);
        }
        hungReads.removeIf(r -> r.node == n);
    }

    private void endHang(int id, Copy c) {
        Node n = node(id);
        for (PendingWrite p : new ArrayList<>(hungWrites)) {
            if (p.node == n && p.copy == c) {
                hungWrites.remove(p);
                boolean lands = random.nextBoolean();
                p.landing = lands ? Landing.FULL : Landing.NONE;
                long lat = latency(n, c);
                schedule(now + (long) (random.nextDouble() * lat), new LandEv(p));
                schedule(now + lat, new DeliverEv(n, p.epoch, new LeaseInput.WriteDone(0, c, p.ioId,
                        lands ? null : "EIO after the path hung")));
            }
        }
        for (PendingRead r : new ArrayList<>(hungReads)) {
            if (r.node == n && r.copy == c) {
                hungReads.remove(r);
                schedule(now + latency(n, c), new DeliverEv(n, r.epoch,
                        new LeaseInput.ReadDone(0, c, r.ioId, null, "EIO after the path hung")));
            }
        }
    }

    private boolean damaged(Copy c, int index) {
        byte[] a = area[c.ordinal()];
        int offset = index * DiskLayout.BLOCK_SIZE_BYTES;
        if (index == 0) {
            return codec.decodeLeader(a, offset) instanceof LeaderRead.Invalid;
        }
        return codec.decodeBlock(a, offset, index) instanceof BlockRead.Invalid;
    }

    private String describe(int block, byte[] bytes) {
        if (block == LeaseLayout.LEADER_BLOCK) {
            return codec.decodeLeader(bytes, 0) instanceof LeaderRead.Valid v ? "leader gen=" + v.record().generation() : "leader ?";
        }
        return codec.decodeBlock(bytes, 0, block - LeaseLayout.LEADER_BLOCK) instanceof BlockRead.Valid v
                ? v.block().summary() : "?";
    }

    private void schedule(long at, Ev ev) {
        queue.add(new Pending(at, seq++, ev));
    }

    // ------------------------------------------------------------------ the checker

    private void check() {
        Node holder = null;
        for (Node n : nodes) {
            if (!n.running()) {
                continue;
            }
            if (n.core.isCoordinator(n.clock(now))) {
                if (holder != null) {
                    throw failure("two coordinators at once: node " + holder.id + " (generation " + holder.core.generation()
                            + (holder.paused() ? ", paused" : "") + ") and node " + n.id + " (generation "
                            + n.core.generation() + (n.paused() ? ", paused" : "") + ")", null);
                }
                holder = n;
            }
        }
        if (holder == null) {
            closeEpisode();
            return;
        }
        long gen = holder.core.generation();
        if (open != null && open.nodeId() == holder.id && open.incarnation() == holder.incarnation && open.generation() == gen) {
            return;
        }
        closeEpisode();
        String key = holder.id + "/" + holder.incarnation + "/" + gen;
        if (closedEpisodes.contains(key)) {
            throw failure("node " + holder.id + " believes again in generation " + gen + " after it had stopped", null);
        }
        if (gen <= highestGeneration) {
            throw failure("node " + holder.id + " is coordinator of generation " + gen + ", not above the highest so far, "
                    + highestGeneration, null);
        }
        highestGeneration = gen;
        open = new Episode(holder.id, holder.incarnation, gen, now, -1);
        lastCoordinatorChangeNanos = now;
    }

    private void closeEpisode() {
        if (open != null) {
            Episode e = new Episode(open.nodeId(), open.incarnation(), open.generation(), open.startNanos(), now);
            episodes.add(e);
            closedEpisodes.add(e.nodeId() + "/" + e.incarnation() + "/" + e.generation());
            open = null;
            lastCoordinatorChangeNanos = now;
        }
    }

    /** An AssertionError that names the seed and ends with the transcript. */
    public AssertionError failure(String message, Throwable cause) {
        StringBuilder b = new StringBuilder("seed " + seed + ", at " + String.format("%.3f", now / 1e9) + " s: " + message
                + "\n--- transcript (last " + transcript.size() + " lines) ---\n");
        for (String line : transcript) {
            b.append(line).append('\n');
        }
        AssertionError e = new AssertionError(b.toString());
        if (cause != null) {
            e.initCause(cause);
        }
        return e;
    }

    void log(String line) {
        if (transcript.size() == TRANSCRIPT_LINES) {
            transcript.removeFirst();
        }
        transcript.addLast(String.format("%9.3f %s", now / 1e9, line));
    }
}
