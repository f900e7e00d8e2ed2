package baton.sim;

import baton.core.disk.ClusterKey;
import baton.core.disk.Copy;
import baton.core.disk.DiskHeader;
import baton.core.disk.DiskLayout;
import baton.core.disk.SlotCodec;
import baton.core.lease.CoordinatorLease;
import baton.core.lease.LeaseEffect;
import baton.core.lease.LeaseInput;
import baton.core.liveness.DiskEffect;
import baton.core.liveness.DiskInput;
import baton.core.liveness.DiskLiveness;
import baton.core.liveness.ExitReason;
import baton.core.membership.Membership;
import baton.core.membership.MembershipEvent;
import baton.core.membership.MembershipInput;
import baton.core.membership.Verdict;
import baton.core.timing.Timeouts;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.UUID;

/**
 * A deterministic simulation of a whole cluster: every node runs the real disk-liveness and
 * membership cores, driven the way the node daemon drives them, in one thread from one seed.
 * The world simulates a two-copy quorum disk ({@link SimDisk}: per-node, per-copy failures and
 * hangs, corrupted slots), a network of R rings between every pair of nodes (loss, delay,
 * duplication and therefore reordering, symmetric and asymmetric cuts), process pauses
 * (SIGSTOP), crashes, restarts, and clock rate drift (each node's monotonic clock runs at its
 * own rate).
 *
 * <p>Checkers run after every step (see {@link #check}); a violation throws with the seed and
 * the end of the transcript, which reproduces it.
 */
public final class ClusterWorld {
    public static final long MS = 1_000_000L;

    public final class Node {
        public final int id;
        final double rate;
        final long offset;
        DiskLiveness disk;
        Membership membership;
        CoordinatorLease lease;
        int generation;
        long incarnation;
        boolean crashed;
        long pausedUntil = -1;
        long pausedAt;
        ExitReason exit;
        final long[][] believed = new long[DiskLayout.MAX_NODES + 1][];
        final List<MembershipEvent.VerdictChanged> verdicts = new ArrayList<>();
        int rejoins;

        Node(int id, double rate, long offset) {
            this.id = id;
            this.rate = rate;
            this.offset = offset;
        }

        long local(long global) {
            return offset + (long) (global * rate);
        }

        public boolean running() {
            return !crashed && exit == null && disk != null;
        }

        public boolean paused() {
            return pausedUntil > now;
        }

        public Verdict verdictOf(int peer) {
            return membership.verdict(peer);
        }

        public ExitReason exit() {
            return exit;
        }

        public long incarnation() {
            return incarnation;
        }

        public List<MembershipEvent.VerdictChanged> verdicts() {
            return verdicts;
        }

        public int rejoins() {
            return rejoins;
        }
    }

    private enum Kind { TICK, BEAT, DELIVER, DISK, RESUME, LEASE }

    private record Pending(long at, long seq, Kind kind, Node node, int generation, DiskInput disk,
                           int ring, Node from, long fromIncarnation, boolean saysDown, LeaseInput lease) {
        Pending(long at, long seq, Kind kind, Node node, int generation, DiskInput disk, int ring, Node from,
                long fromIncarnation, boolean saysDown) {
            this(at, seq, kind, node, generation, disk, ring, from, fromIncarnation, saysDown, null);
        }
    }

    private final long seed;
    private final Random random;
    private final Timeouts timeouts;
    private final int rings;
    private final DiskHeader header;
    private final SlotCodec codec;
    private final ClusterKey leaseKey;
    private long highestGeneration;
    private final SimDisk disk;
    private final List<Node> nodes = new ArrayList<>();
    private final PriorityQueue<Pending> queue = new PriorityQueue<>(
            (a, b) -> a.at != b.at ? Long.compare(a.at, b.at) : Long.compare(a.seq, b.seq));
    private long now;
    private long seq;
    private final List<String> transcript = new ArrayList<>();
    /** Disk I/O issued on a hanging path: completes only when the path recovers. */
    private final List<Pending> hung = new ArrayList<>();
    /** After healing, a node that exits is restarted a second later, as systemd's Restart=on-failure would. */
    private boolean supervised;
    private final List<long[]> restartAt = new ArrayList<>();

    // The network.
    private final boolean[][][] cut;
    private final double[][] loss;
    private long maxDelayNanos = 2 * MS;
    private double duplicate;
    private long maxDiskLatencyNanos = 2 * MS;

    // What the checkers know, in global time.
    private final long[][] lastDelivered;      // [from][to]
    private final long[][] lastWriteOk;        // [node][copy]
    private final long[][] lastCorrupted;      // [node][copy]
    private final long[][] readerReadOk;       // [node][copy]: last successful read completion

    public ClusterWorld(long seed, int nodeCount, int rings, Timeouts timeouts, double maxDrift) {
        this.seed = seed;
        this.random = new Random(seed);
        this.timeouts = timeouts;
        this.rings = rings;
        byte[] key = new byte[ClusterKey.KEY_BYTES];
        random.nextBytes(key);
        ClusterKey k = new ClusterKey(key);
        this.header = new DiskHeader(DiskLayout.FORMAT_VERSION, Copy.PRIMARY, new UUID(random.nextLong(), random.nextLong()),
                "sim", DiskLayout.BLOCK_SIZE_BYTES, nodeCount, DiskLayout.REGION_BLOCKS, 0, k.fingerprint());
        this.codec = new SlotCodec(header.clusterId(), k);
        this.leaseKey = k;
        this.disk = new SimDisk(header);
        for (int id = 1; id <= nodeCount; id++) {
            double rate = 1 + (random.nextDouble() * 2 - 1) * maxDrift;
            nodes.add(new Node(id, rate, 1_000_000_000L * id + random.nextInt(1_000_000)));
        }
        cut = new boolean[nodeCount + 1][nodeCount + 1][rings];
        loss = new double[nodeCount + 1][nodeCount + 1];
        lastDelivered = new long[nodeCount + 1][nodeCount + 1];
        lastWriteOk = new long[nodeCount + 1][2];
        lastCorrupted = new long[nodeCount + 1][2];
        readerReadOk = new long[nodeCount + 1][2];
        for (long[] row : lastDelivered) {
            Arrays.fill(row, Long.MIN_VALUE / 2);
        }
        for (long[] row : lastWriteOk) {
            Arrays.fill(row, Long.MIN_VALUE / 2);
        }
        for (long[] row : readerReadOk) {
            Arrays.fill(row, Long.MIN_VALUE / 2);
        }
        for (long[] row : lastCorrupted) {
            Arrays.fill(row, Long.MIN_VALUE / 2);
        }
    }

    public long seed() {
        return seed;
    }

    public int size() {
        return nodes.size();
    }

    public Node node(int id) {
        return nodes.get(id - 1);
    }

    public SimDisk disk() {
        return disk;
    }

    public long nowMillis() {
        return now / MS;
    }

    public List<String> transcript() {
        return transcript;
    }

    public String tail(int lines) {
        return "seed " + seed + ", last " + lines + " events:\n"
                + String.join("\n", transcript.subList(Math.max(0, transcript.size() - lines), transcript.size()));
    }

    // ---- faults -------------------------------------------------------------------------

    public void start(int id) {
        Node n = node(id);
        n.incarnation = DiskLiveness.nextIncarnation(n.incarnation, 1_000 + now / MS);
        n.crashed = false;
        n.exit = null;
        n.pausedUntil = -1;
        newCores(n);
        log("start node=" + id + " incarnation=" + n.incarnation);
        schedule(new Pending(now, seq++, Kind.TICK, n, 0, null, 0, null, 0, false));
        schedule(new Pending(now, seq++, Kind.BEAT, n, 0, null, 0, null, 0, false));
    }

    public void startAll() {
        for (Node n : nodes) {
            start(n.id);
        }
    }

    public void crash(int id) {
        node(id).crashed = true;
        log("crash node=" + id);
    }

    public void pause(int id, long millis) {
        Node n = node(id);
        if (!n.running() || n.paused()) {
            return;
        }
        n.pausedAt = now;
        n.pausedUntil = now + millis * MS;
        log("pause node=" + id + " ms=" + millis);
        schedule(new Pending(n.pausedUntil, seq++, Kind.RESUME, n, 0, null, 0, null, 0, false));
    }

    /** Cuts (or restores) the link from {@code a} to {@code b} on {@code ring} in one direction. */
    public void cutOneWay(int a, int b, int ring, boolean down) {
        cut[a][b][ring] = down;
        log((down ? "cut " : "uncut ") + a + "->" + b + " ring=" + ring);
    }

    /** Cuts every ring between {@code a} and everyone else, both ways. */
    public void isolate(int a, boolean down) {
        for (Node n : nodes) {
            for (int r = 0; r < rings; r++) {
                if (n.id != a) {
                    cut[a][n.id][r] = down;
                    cut[n.id][a][r] = down;
                }
            }
        }
        log((down ? "isolate " : "reconnect ") + a);
    }

    public void loss(int from, int to, double probability) {
        loss[from][to] = probability;
    }

    public void network(long maxDelayMillis, double duplicateProbability) {
        maxDelayNanos = Math.max(1, maxDelayMillis * MS);
        duplicate = duplicateProbability;
    }

    public void diskLatency(long maxMillis) {
        maxDiskLatencyNanos = Math.max(1, maxMillis * MS);
    }

    public void corruptSlot(int slotOf, Copy copy) {
        disk.flipByte(copy, DiskLayout.slotOffsetBytes(slotOf) + 24 + random.nextInt(60));
        lastCorrupted[slotOf][copy.ordinal()] = now;
        log("corrupt slot=" + slotOf + " copy=" + copy.label());
    }

    public void diskFault(int id, Copy copy, SimDisk.Fault f) {
        disk.fault(id, copy, f);
        log("disk-fault node=" + id + " copy=" + copy.label() + " fault=" + f);
        if (f != SimDisk.Fault.HANG) {
            releaseHung(id, copy);
        }
    }

    /** A hung I/O returns, with an error, once its path recovers (as a real device's does when it comes back). */
    private void releaseHung(int id, Copy copy) {
        List<Pending> keep = new ArrayList<>();
        for (Pending p : hung) {
            if (p.lease != null) {
                Copy c = switch (p.lease) {
                    case LeaseInput.ReadDone r -> r.copy();
                    case LeaseInput.WriteDone w -> w.copy();
                    case LeaseInput.Tick t -> null;
                    case LeaseInput.Resign r -> null;
                };
                if (p.node.id != id || c != copy) {
                    keep.add(p);
                    continue;
                }
                LeaseInput failed = switch (p.lease) {
                    case LeaseInput.ReadDone r -> new LeaseInput.ReadDone(0, r.copy(), r.ioId(), null, "EIO after a hang (simulated)");
                    case LeaseInput.WriteDone w -> new LeaseInput.WriteDone(0, w.copy(), w.ioId(), "EIO after a hang (simulated)");
                    default -> p.lease;
                };
                schedule(new Pending(now + 1, seq++, Kind.LEASE, p.node, p.generation, null, 0, null, 0, false, failed));
                continue;
            }
            boolean mine = p.node.id == id && switch (p.disk) {
                case DiskInput.WriteDone w -> w.copy() == copy;
                case DiskInput.ReadDone r -> r.copy() == copy;
                default -> false;
            };
            if (!mine) {
                keep.add(p);
                continue;
            }
            DiskInput failed = switch (p.disk) {
                case DiskInput.WriteDone w -> new DiskInput.WriteDone(0, w.copy(), w.cycle(), "EIO after a hang (simulated)");
                case DiskInput.ReadDone r -> new DiskInput.ReadDone(0, r.copy(), r.cycle(), null, "EIO after a hang (simulated)");
                default -> p.disk;
            };
            schedule(new Pending(now + 1, seq++, Kind.DISK, p.node, p.generation, failed, 0, null, 0, false));
        }
        hung.clear();
        hung.addAll(keep);
    }

    /** Ends every fault: links, loss, disk faults, pauses; restarts crashed and exited nodes. */
    public void healAll() {
        for (Node a : nodes) {
            for (Node b : nodes) {
                Arrays.fill(cut[a.id][b.id], false);
                loss[a.id][b.id] = 0;
            }
            for (Copy c : Copy.values()) {
                disk.fault(a.id, c, SimDisk.Fault.NONE);
                releaseHung(a.id, c);
            }
        }
        log("heal all");
        for (Node n : nodes) {
            if (n.paused()) {
                n.pausedUntil = now; // its RESUME event fires now
                schedule(new Pending(now, seq++, Kind.RESUME, n, 0, null, 0, null, 0, false));
            }
        }
        for (Node n : nodes) {
            if (n.crashed || n.exit != null) {
                start(n.id);
            }
        }
        supervised = true;
    }

    // ---- running ------------------------------------------------------------------------

    public void runMillis(long millis) {
        long until = now + millis * MS;
        while (!queue.isEmpty() && queue.peek().at <= until) {
            Pending p = queue.poll();
            now = Math.max(now, p.at);
            for (var it = restartAt.iterator(); it.hasNext(); ) {
                long[] r = it.next();
                if (r[0] <= now) {
                    it.remove();
                    start((int) r[1]);
                }
            }
            Node n = p.node;
            if (!n.running()) {
                continue;
            }
            if (p.kind != Kind.RESUME && n.paused()) {
                schedule(new Pending(n.pausedUntil, seq++, p.kind, n, p.generation, p.disk, p.ring, p.from, p.fromIncarnation, p.saysDown, p.lease));
                continue;
            }
            switch (p.kind) {
                case TICK -> {
                    diskStep(n, new DiskInput.Tick(n.local(now), now / MS));
                    membershipStep(n, new MembershipInput.Tick(n.local(now)));
                    if (n.running() && n.disk.phase() == DiskLiveness.Phase.MEMBER) {
                        leaseStep(n, new LeaseInput.Tick(n.local(now), now / MS));
                    }
                    schedule(new Pending(now + (long) (tickNanos() / n.rate), seq++, Kind.TICK, n, 0, null, 0, null, 0, false));
                }
                case BEAT -> {
                    beat(n);
                    schedule(new Pending(now + (long) (timeouts.heartbeatIntervalNanos() / n.rate), seq++, Kind.BEAT, n, 0, null, 0, null, 0, false));
                }
                case DELIVER -> {
                    if (p.from.running() && p.from.incarnation == p.fromIncarnation) {
                        lastDelivered[p.from.id][n.id] = now;
                    }
                    membershipStep(n, new MembershipInput.Heard(n.local(now), p.ring, p.from.id, p.fromIncarnation, p.saysDown));
                }
                case DISK -> {
                    if (p.generation == n.generation) {
                        DiskInput in = retime(p.disk, n.local(now));
                        if (in instanceof DiskInput.ReadDone rd && rd.area() != null) {
                            readerReadOk[n.id][rd.copy().ordinal()] = now;
                        }
                        diskStep(n, in);
                        if (in instanceof DiskInput.ReadDone && n.running() && n.disk.phase() == DiskLiveness.Phase.MEMBER) {
                            for (DiskLiveness.NodeView v : n.disk.view()) {
                                if (v.nodeId() != n.id) {
                                    membershipStep(n, new MembershipInput.Disk(n.local(now), v.nodeId(), v.liveness(),
                                            v.unchangedForNanos(), v.slot() == null ? 0 : v.slot().incarnation(), v.evidence()));
                                }
                            }
                        }
                    }
                }
                case LEASE -> {
                    if (p.generation == n.generation) {
                        leaseStep(n, retimeLease(p.lease, n.local(now)));
                    }
                }
                case RESUME -> {
                    if (n.pausedUntil <= now && n.pausedUntil >= 0) {
                        long late = (long) ((now - n.pausedAt) * n.rate);
                        n.pausedUntil = -1;
                        log("resume node=" + n.id);
                        membershipStep(n, new MembershipInput.SelfLate(n.local(now), late));
                    }
                }
            }
            check(n);
        }
        now = until;
    }

    private long tickNanos() {
        return Math.max(MS, Math.min(timeouts.diskIntervalNanos(), timeouts.heartbeatIntervalNanos()) / 5);
    }

    private void beat(Node n) {
        int down = n.membership.downBitmap();
        for (Node p : nodes) {
            if (p == n) {
                continue;
            }
            for (int r = 0; r < rings; r++) {
                if (cut[n.id][p.id][r] || random.nextDouble() < loss[n.id][p.id]) {
                    continue;
                }
                boolean saysDown = (down & (1 << (p.id - 1))) != 0;
                int copies = random.nextDouble() < duplicate ? 2 : 1;
                for (int i = 0; i < copies; i++) {
                    long at = now + 1 + (long) (random.nextDouble() * maxDelayNanos);
                    schedule(new Pending(at, seq++, Kind.DELIVER, p, 0, null, r, n, n.incarnation, saysDown));
                }
            }
        }
    }

    private void newCores(Node n) {
        n.generation++;
        n.disk = new DiskLiveness(n.id, header, codec, timeouts, n.incarnation, nodes.size());
        n.membership = new Membership(n.id, nodes.size(), rings, timeouts);
        n.lease = new CoordinatorLease(n.id, nodes.size(), header.clusterId(), leaseKey, timeouts, n.incarnation);
        Arrays.fill(n.believed, null);
    }

    private void diskStep(Node n, DiskInput in) {
        for (DiskEffect e : n.disk.step(in)) {
            long done = now + 1 + (long) (random.nextDouble() * maxDiskLatencyNanos);
            switch (e) {
                case DiskEffect.WriteSlot w -> {
                    if (disk.fault(n.id, w.copy()) == SimDisk.Fault.HANG) {
                        hung.add(new Pending(0, 0, Kind.DISK, n, n.generation, new DiskInput.WriteDone(0, w.copy(), w.cycle(), null), 0, null, 0, false));
                        break;
                    }
                    String err = disk.write(n.id, w.copy(), DiskLayout.slotOffsetBytes(n.id), w.block());
                    if (err == null) {
                        lastWriteOk[n.id][w.copy().ordinal()] = done; // visible to reads issued after its completion
                    }
                    schedule(new Pending(done, seq++, Kind.DISK, n, n.generation, new DiskInput.WriteDone(0, w.copy(), w.cycle(), err), 0, null, 0, false));
                }
                case DiskEffect.ReadArea r -> {
                    if (disk.fault(n.id, r.copy()) == SimDisk.Fault.HANG) {
                        hung.add(new Pending(0, 0, Kind.DISK, n, n.generation, new DiskInput.ReadDone(0, r.copy(), r.cycle(), null, null), 0, null, 0, false));
                        break;
                    }
                    byte[] area = disk.read(n.id, r.copy());
                    schedule(new Pending(done, seq++, Kind.DISK, n, n.generation,
                            new DiskInput.ReadDone(0, r.copy(), r.cycle(), area, area == null ? "EIO (simulated)" : null), 0, null, 0, false));
                }
                case DiskEffect.RepairSlot r -> {
                    String err = disk.write(n.id, r.copy(), DiskLayout.slotOffsetBytes(r.nodeId()), r.block());
                    schedule(new Pending(done, seq++, Kind.DISK, n, n.generation, new DiskInput.RepairDone(0, r.copy(), r.nodeId(), err), 0, null, 0, false));
                }
                case DiskEffect.Report r -> { }
                case DiskEffect.Exit x -> {
                    n.exit = x.reason();
                    log("exit node=" + n.id + " reason=" + x.reason().label() + " detail=\"" + x.detail() + "\"");
                    if (supervised) {
                        restartAt.add(new long[] {now + 1_000 * MS, n.id});
                    }
                }
            }
            if (!n.running()) {
                return;
            }
        }
    }

    private void leaseStep(Node n, LeaseInput in) {
        for (LeaseEffect e : n.lease.step(in)) {
            long done = now + 1 + (long) (random.nextDouble() * maxDiskLatencyNanos);
            switch (e) {
                case LeaseEffect.ReadBlocks r -> {
                    LeaseInput.ReadDone result;
                    byte[] bytes = disk.readBlocks(n.id, r.copy(), r.firstBlock(), r.blockCount());
                    result = new LeaseInput.ReadDone(0, r.copy(), r.ioId(), bytes, bytes == null ? "EIO (simulated)" : null);
                    Pending p = new Pending(done, seq++, Kind.LEASE, n, n.generation, null, 0, null, 0, false, result);
                    if (disk.fault(n.id, r.copy()) == SimDisk.Fault.HANG) {
                        hung.add(p);
                    } else {
                        schedule(p);
                    }
                }
                case LeaseEffect.WriteBlock w -> {
                    String err = disk.write(n.id, w.copy(), (long) w.block() * DiskLayout.BLOCK_SIZE_BYTES, w.bytes());
                    Pending p = new Pending(done, seq++, Kind.LEASE, n, n.generation, null, 0, null, 0, false,
                            new LeaseInput.WriteDone(0, w.copy(), w.ioId(), err));
                    if (disk.fault(n.id, w.copy()) == SimDisk.Fault.HANG) {
                        hung.add(p);
                    } else {
                        schedule(p);
                    }
                }
                case LeaseEffect.Report r -> { }
                case LeaseEffect.BecameCoordinator b -> {
                    log("node=" + n.id + " event=coordinator generation=" + b.generation());
                    if (b.generation() <= highestGeneration) {
                        throw violation("node " + n.id + " became coordinator of generation " + b.generation()
                                + ", not above " + highestGeneration);
                    }
                    highestGeneration = b.generation();
                }
                case LeaseEffect.CeasedCoordinator c -> log("node=" + n.id + " event=ceased-coordinator generation="
                        + c.generation() + " reason=\"" + c.reason() + "\"");
            }
        }
    }

    private static LeaseInput retimeLease(LeaseInput in, long t) {
        return switch (in) {
            case LeaseInput.Tick x -> new LeaseInput.Tick(t, x.wallEpochMillis());
            case LeaseInput.ReadDone x -> new LeaseInput.ReadDone(t, x.copy(), x.ioId(), x.bytes(), x.error());
            case LeaseInput.WriteDone x -> new LeaseInput.WriteDone(t, x.copy(), x.ioId(), x.error());
            case LeaseInput.Resign x -> new LeaseInput.Resign(t);
        };
    }

    private void membershipStep(Node n, MembershipInput in) {
        for (MembershipEvent e : n.membership.step(in)) {
            switch (e) {
                case MembershipEvent.VerdictChanged c -> {
                    n.verdicts.add(c);
                    log("node=" + n.id + " " + c.fields());
                    if (c.to() == Verdict.DOWN) {
                        checkDown(n, c);
                    }
                }
                case MembershipEvent.SelfPaused s -> rejoin(n, s.fields());
                case MembershipEvent.DeclaredDown d -> rejoin(n, d.fields());
            }
        }
    }

    private void rejoin(Node n, String why) {
        n.rejoins++;
        n.incarnation = DiskLiveness.nextIncarnation(n.incarnation, 1_000 + now / MS);
        log("node=" + n.id + " " + why + " action=rejoin incarnation=" + n.incarnation);
        newCores(n);
    }

    private static DiskInput retime(DiskInput in, long t) {
        return switch (in) {
            case DiskInput.Tick x -> new DiskInput.Tick(t, x.wallEpochMillis());
            case DiskInput.WriteDone x -> new DiskInput.WriteDone(t, x.copy(), x.cycle(), x.error());
            case DiskInput.ReadDone x -> new DiskInput.ReadDone(t, x.copy(), x.cycle(), x.area(), x.error());
            case DiskInput.RepairDone x -> new DiskInput.RepairDone(t, x.copy(), x.nodeId(), x.error());
            case DiskInput.LeaveRequested x -> new DiskInput.LeaveRequested(t, x.wallEpochMillis());
        };
    }

    private void schedule(Pending p) {
        queue.add(p);
    }

    private void log(String line) {
        transcript.add(String.format("%9.3f %s", now / 1e9, line));
    }

    // ---- checkers -------------------------------------------------------------------------

    /** After every step of node {@code n}: counters it believes never go backwards within one incarnation. */
    private void check(Node n) {
        int coordinators = 0;
        StringBuilder who = new StringBuilder();
        for (Node x : nodes) {
            if (x.running() && x.lease.isCoordinator(x.local(now))) {
                coordinators++;
                who.append(" node ").append(x.id).append(x.paused() ? " (paused)" : "");
            }
        }
        if (coordinators > 1) {
            throw violation(coordinators + " nodes believe they are coordinator:" + who);
        }
        if (!n.running()) {
            return;
        }
        for (DiskLiveness.NodeView v : n.disk.view()) {
            if (v.slot() == null) {
                continue;
            }
            long[] before = n.believed[v.nodeId()];
            if (before != null && before[0] == v.slot().incarnation() && v.slot().counter() - before[1] < 0) {
                throw violation("node " + n.id + " believes node " + v.nodeId() + "'s counter went back from " + before[1]
                        + " to " + v.slot().counter());
            }
            n.believed[v.nodeId()] = new long[] {v.slot().incarnation(), v.slot().counter()};
        }
    }

    /**
     * No node is declared down while it is alive and its heartbeats reach the reader or its
     * slot writes land on a copy the reader can read. A pause longer than the timeouts shows
     * up here as no recent delivery and no recent write, so it needs no special case. The
     * windows are 90 % of the timeouts, which covers the clock drift (at most 1 %).
     */
    private void checkDown(Node reader, MembershipEvent.VerdictChanged c) {
        Node p = node(c.peer());
        if (!p.running()) {
            return;
        }
        long netWindow = (long) (timeouts.networkTimeoutNanos() * 0.9);
        long diskWindow = (long) (timeouts.diskTimeoutNanos() * 0.9);
        if (lastDelivered[p.id][reader.id] >= now - netWindow) {
            throw violation("node " + reader.id + " declared node " + p.id + " down although a heartbeat from it arrived "
                    + (now - lastDelivered[p.id][reader.id]) / MS + " ms ago: " + c.evidence());
        }
        for (Copy copy : Copy.values()) {
            SimDisk.Fault readerFault = disk.fault(reader.id, copy);
            boolean readable = (readerFault == SimDisk.Fault.NONE || readerFault == SimDisk.Fault.FAIL_WRITES)
                    && readerReadOk[reader.id][copy.ordinal()] >= now - diskWindow;
            // A write the reader could have seen: completed early enough for a read issued after it
            // (one interval plus the slowest I/O) to have completed by now.
            long visibleBy = now - timeouts.diskIntervalNanos() - 2 * maxDiskLatencyNanos - tickNanos();
            long wrote = lastWriteOk[p.id][copy.ordinal()];
            if (readable && wrote >= now - diskWindow && wrote <= visibleBy
                    && lastCorrupted[p.id][copy.ordinal()] < now - diskWindow - timeouts.diskIntervalNanos()) {
                throw violation("node " + reader.id + " declared node " + p.id + " down although it wrote its slot on the "
                        + copy.label() + " copy " + (now - lastWriteOk[p.id][copy.ordinal()]) / MS + " ms ago: " + c.evidence());
            }
        }
    }

    /**
     * Liveness after healing: every running node sees every running node up (itself
     * included), with the same incarnations. Call after {@link #healAll()} and enough time.
     */
    public void assertConverged() {
        Node coordinator = null;
        for (Node r : nodes) {
            if (r.running() && r.lease.isCoordinator(r.local(now))) {
                coordinator = r;
            }
        }
        if (coordinator == null) {
            throw violation("after healing, no node is coordinator");
        }
        for (Node r : nodes) {
            var holder = r.running() ? r.lease.view(r.local(now)).holder() : null;
            if (holder == null || holder.nodeId() != coordinator.id || holder.incarnation() != coordinator.incarnation) {
                throw violation("after healing, node " + r.id + " takes " + holder + " for the coordinator, not node "
                        + coordinator.id);
            }
        }
        for (Node r : nodes) {
            if (!r.running()) {
                throw violation("node " + r.id + " is not running after healing");
            }
            for (Node p : nodes) {
                if (r.verdictOf(p.id) != Verdict.UP) {
                    throw violation("after healing, node " + r.id + " sees node " + p.id + " as " + r.verdictOf(p.id).label()
                            + ": " + r.membership.evidence(p.id));
                }
            }
        }
    }

    private AssertionError violation(String what) {
        return new AssertionError("invariant violated at " + now / MS + " ms: " + what + "\n" + tail(60));
    }
}
