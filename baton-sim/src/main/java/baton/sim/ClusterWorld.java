package baton.sim;

import baton.core.disk.ClusterKey;
import baton.core.disk.Copy;
import baton.core.disk.DiskHeader;
import baton.core.disk.DiskLayout;
import baton.core.disk.SlotCodec;
import baton.core.fence.AgentOutcome;
import baton.core.fence.FenceAction;
import baton.core.fence.FenceEffect;
import baton.core.fence.FenceEvent;
import baton.core.fence.FenceInput;
import baton.core.fence.FenceLevel;
import baton.core.fence.FenceTopology;
import baton.core.fence.Fencing;
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
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
 * <p>With {@link #enableFencing} every node also runs the real fencing core, wired as the node
 * daemon wires it; each node has a simulated power switch, optionally a poison-pill level on the
 * simulated disk, and a hardware watchdog; the coordinator's {@code Fenced} stands for recovering
 * the victim's workloads elsewhere ("recovered X@i").
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
        Fencing fencing;
        long lastPetAt;
        /** Why this incarnation stopped without exiting on its own: powered off, poison pill, watchdog. */
        String halted;
        boolean powered = true;
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
            return !crashed && exit == null && halted == null && disk != null;
        }

        /** Why the node was stopped from outside (power switch, poison pill, watchdog), or null. */
        public String halted() {
            return halted;
        }

        /** What its power switch would say. */
        public boolean powered() {
            return powered;
        }

        public boolean isCoordinator() {
            return running() && lease.isCoordinator(local(now));
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

    /** ACTION is the world's own (a switch acting, a watchdog firing), run whatever state the nodes are in. */
    private enum Kind { TICK, BEAT, DELIVER, DISK, RESUME, LEASE, AGENT, ACTION }

    private record Pending(long at, long seq, Kind kind, Node node, int generation, DiskInput disk,
                           int ring, Node from, long fromIncarnation, boolean saysDown, LeaseInput lease,
                           FenceInput fence, Runnable action) {
        Pending(long at, long seq, Kind kind, Node node, int generation, DiskInput disk, int ring, Node from,
                long fromIncarnation, boolean saysDown) {
            this(at, seq, kind, node, generation, disk, ring, from, fromIncarnation, saysDown, null);
        }

        Pending(long at, long seq, Kind kind, Node node, int generation, DiskInput disk, int ring, Node from,
                long fromIncarnation, boolean saysDown, LeaseInput lease) {
            this(at, seq, kind, node, generation, disk, ring, from, fromIncarnation, saysDown, lease, null, null);
        }
    }

    /** The coordinator's {@code Fenced}: the victim's workloads are restarted elsewhere at this instant. */
    public record Recovered(int nodeId, long incarnation, long atMillis, int coordinator, long generation, String how) {}

    /** A fencing event as one node's core reported it. */
    public record FenceReport(long atMillis, int reporter, FenceEvent event) {}

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

    // Fencing (null setup: off).
    private FenceSetup fenceSetup;
    private FenceTopology fenceTopology;
    private final FenceSetup.SwitchFault[] switchFault;
    private final long[] recoveredUpTo;        // [node]: highest incarnation recovered elsewhere
    private final List<Recovered> recovered = new ArrayList<>();
    private final Map<String, String> fencedBy = new HashMap<>();
    private final Map<String, Long> fencedGeneration = new HashMap<>();
    /** See {@link #strictFencedOnce}. */
    private boolean strictFencedOnce;
    private final List<String> refenced = new ArrayList<>();
    private final Set<String> operatorRequests = new HashSet<>();
    private final List<FenceReport> fenceReports = new ArrayList<>();

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
        switchFault = new FenceSetup.SwitchFault[nodeCount + 1];
        Arrays.fill(switchFault, FenceSetup.SwitchFault.NONE);
        recoveredUpTo = new long[nodeCount + 1];
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

    /** Every node runs the fencing core with {@code setup}; call before starting nodes. */
    public ClusterWorld enableFencing(FenceSetup setup) {
        this.fenceSetup = setup;
        this.fenceTopology = setup.topology(nodes.size());
        return this;
    }

    /**
     * With {@code strict}, a second {@code Fenced} for the same incarnation is a violation even from a
     * later coordinator term. Off by default: until the coordinator records a fence on the quorum disk
     * (docs/fencing.md, "not yet"), a new coordinator cannot know that its predecessor fenced a node
     * its own membership still holds down, and fences it again; those are listed in {@link #refenced()}.
     * A second {@code Fenced} within one term is always a violation.
     */
    public ClusterWorld strictFencedOnce(boolean strict) {
        this.strictFencedOnce = strict;
        return this;
    }

    /** Incarnations fenced again by a later coordinator term (see {@link #strictFencedOnce}). */
    public List<String> refenced() {
        return refenced;
    }

    /** Every {@code Fenced} the coordinators emitted, in order. */
    public List<Recovered> recovered() {
        return recovered;
    }

    /** Every fencing event of every node's core, in order. */
    public List<FenceReport> fenceReports() {
        return fenceReports;
    }

    /** The running node that believes it is coordinator, or null. */
    public Node coordinator() {
        for (Node n : nodes) {
            if (n.isCoordinator()) {
                return n;
            }
        }
        return null;
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
        n.halted = null;
        n.powered = true;
        n.pausedUntil = -1;
        newCores(n);
        log("start node=" + id + " incarnation=" + n.incarnation);
        pet(n);
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

    /**
     * The hardware watchdog of {@code n}, petted now: unless petted again, it resets the machine W
     * later. The daemon pets it after each good disk read, so a paused node (or one that lost the
     * disk and has not exited yet) is reset W after its last good read was processed.
     */
    private void pet(Node n) {
        if (fenceSetup == null || fenceSetup.watchdogMillis() <= 0) {
            return;
        }
        long pet = now;
        long inc = n.incarnation;
        n.lastPetAt = pet;
        action(now + fenceSetup.watchdogMillis() * MS, () -> {
            if (n.running() && n.lastPetAt == pet && n.incarnation == inc) {
                halt(n, "watchdog reset the machine: not petted for " + fenceSetup.watchdogMillis() + " ms"
                        + (n.paused() ? " (paused)" : ""));
            }
        });
    }

    /** What node {@code id}'s power switch does from now on. */
    public void switchFault(int id, FenceSetup.SwitchFault f) {
        switchFault[id] = f;
        log("switch-fault device=" + FenceSetup.device(id) + " fault=" + f);
    }

    /** {@code baton fence confirm X} on the coordinator; false when no node is coordinator (or it is paused). */
    public boolean operatorConfirm(int id) {
        Node c = coordinator();
        if (c == null || c.paused()) {
            return false;
        }
        log("operator confirm node=" + id + " on node=" + c.id);
        fencingStep(c, new FenceInput.OperatorConfirm(c.local(now), id));
        check(c);
        return true;
    }

    /** {@code baton fence X}: the operator asks the coordinator to fence the incarnation it sees; false when no coordinator. */
    public boolean operatorFence(int id, String reason) {
        Node c = coordinator();
        if (c == null || c.paused()) {
            return false;
        }
        long inc = c.membership.newestIncarnation(id);
        operatorRequests.add(id + "@" + inc);
        log("operator fence node=" + id + " incarnation=" + inc + " on node=" + c.id);
        fencingStep(c, new FenceInput.OperatorFence(c.local(now), id, inc, reason));
        check(c);
        return true;
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
            switchFault[a.id] = FenceSetup.SwitchFault.NONE;
        }
        log("heal all");
        for (Node n : nodes) {
            if (n.paused()) {
                n.pausedUntil = now; // its RESUME event fires now
                schedule(new Pending(now, seq++, Kind.RESUME, n, 0, null, 0, null, 0, false));
            }
        }
        for (Node n : nodes) {
            if (n.crashed || n.exit != null || n.halted != null) {
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
            if (p.kind == Kind.ACTION) {
                p.action.run();
                check(null);
                continue;
            }
            Node n = p.node;
            if (!n.running()) {
                continue;
            }
            if (p.kind != Kind.RESUME && n.paused()) {
                schedule(new Pending(n.pausedUntil, seq++, p.kind, n, p.generation, p.disk, p.ring, p.from, p.fromIncarnation,
                        p.saysDown, p.lease, p.fence, p.action));
                continue;
            }
            switch (p.kind) {
                case TICK -> {
                    diskStep(n, new DiskInput.Tick(n.local(now), now / MS));
                    membershipStep(n, new MembershipInput.Tick(n.local(now)));
                    if (n.running() && n.disk.phase() == DiskLiveness.Phase.MEMBER) {
                        leaseStep(n, new LeaseInput.Tick(n.local(now), now / MS));
                    }
                    if (n.running() && n.fencing != null) {
                        // As the daemon: the lease decides who may fence; a belief that ran out stops fencing at once.
                        if (n.fencing.isCoordinator() && !n.lease.isCoordinator(n.local(now))) {
                            fencingStep(n, new FenceInput.CoordinatorChanged(n.local(now), false, n.lease.generation()));
                        }
                        fencingStep(n, new FenceInput.Tick(n.local(now)));
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
                            // The daemon reads its fence block with every cycle: a pill for this
                            // incarnation on the copy as it was when read stops it.
                            if (fenceSetup != null && SimDisk.pillIn(rd.area(), n.id) == n.incarnation) {
                                halt(n, "poison pill read on the " + rd.copy().label() + " copy");
                                check(n);
                                continue;
                            }
                            pet(n);
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
                case AGENT -> {
                    if (p.generation == n.generation) {
                        fencingStep(n, retimeFence(p.fence, n.local(now)));
                    }
                }
                case ACTION -> throw new AssertionError("handled above");
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
        n.fencing = fenceSetup == null ? null : new Fencing(fenceTopology, fenceSetup.timing());
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
                    String err = disk.write(n.id, n.incarnation, w.copy(), DiskLayout.slotOffsetBytes(n.id), w.block());
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
                    String err = disk.write(n.id, n.incarnation, r.copy(), DiskLayout.slotOffsetBytes(r.nodeId()), r.block());
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
                    String err = disk.write(n.id, n.incarnation, w.copy(), (long) w.block() * DiskLayout.BLOCK_SIZE_BYTES, w.bytes());
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
                    if (n.fencing != null) {
                        fencingStep(n, new FenceInput.CoordinatorChanged(n.local(now), true, b.generation()));
                    }
                }
                case LeaseEffect.CeasedCoordinator c -> {
                    log("node=" + n.id + " event=ceased-coordinator generation=" + c.generation() + " reason=\"" + c.reason() + "\"");
                    if (n.fencing != null) {
                        fencingStep(n, new FenceInput.CoordinatorChanged(n.local(now), false, c.generation()));
                    }
                }
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

    // ---- fencing --------------------------------------------------------------------------

    /** The daemon's {@code fencingStep}: effects in list order. */
    private void fencingStep(Node n, FenceInput in) {
        Fencing core = n.fencing;
        for (FenceEffect e : core.step(in)) {
            switch (e) {
                case FenceEffect.RunAgent r -> runAgent(n, r);
                case FenceEffect.WritePill w -> writePill(n, w);
                case FenceEffect.Fenced f -> {
                    log("node=" + n.id + " event=fenced peer-id=" + f.nodeId() + " incarnation=" + f.incarnation()
                            + " generation=" + f.generation() + " how=\"" + f.how() + "\"");
                    recover(n, f);
                    membershipStep(n, new MembershipInput.Fenced(n.local(now), f.nodeId(), f.incarnation(), f.how()));
                }
                case FenceEffect.Report r -> {
                    fenceReports.add(new FenceReport(now / MS, n.id, r.event()));
                    log("node=" + n.id + " " + r.event().fields() + " generation=" + r.generation());
                }
            }
        }
    }

    /** A power switch call: the switch acts on the victim and answers the caller after its latency. */
    private void runAgent(Node caller, FenceEffect.RunAgent r) {
        int victimId = FenceSetup.nodeOf(r.device());
        Node victim = node(victimId);
        FenceSetup.SwitchFault fault = switchFault[victimId];
        log("node=" + caller.id + " event=fence-agent device=" + r.device() + " action=" + r.action().label()
                + " peer-id=" + r.nodeId() + " generation=" + r.generation() + " switch=" + fault);
        long answerAt = now + 1 + (long) (random.nextDouble() * fenceSetup.maxSwitchLatencyMillis() * MS);
        switch (fault) {
            case HANG -> answer(caller, r, AgentOutcome.TIMED_OUT, globalTime(caller, r.deadlineNanos()));
            case UNREACHABLE -> answer(caller, r, AgentOutcome.failed("Unable to connect/login to fencing device (simulated)"), answerAt);
            case NONE, STUCK_ON, LIES -> action(answerAt, () -> {
                AgentOutcome outcome = switch (r.action()) {
                    case OFF -> {
                        if (fault == FenceSetup.SwitchFault.NONE) {
                            powerOff(victim, r.device());
                        }
                        yield AgentOutcome.SUCCESS;
                    }
                    case REBOOT -> {
                        if (fault == FenceSetup.SwitchFault.NONE) {
                            powerOff(victim, r.device());
                            start(victimId); // powered on again: a new incarnation boots
                        }
                        yield AgentOutcome.SUCCESS;
                    }
                    case STATUS -> victim.powered && fault != FenceSetup.SwitchFault.LIES ? AgentOutcome.STATUS_ON : AgentOutcome.STATUS_OFF;
                    case PILL -> throw new AssertionError("a poison pill is not an agent call: " + r);
                };
                answer(caller, r, outcome, now);
            });
        }
    }

    private void answer(Node caller, FenceEffect.RunAgent r, AgentOutcome outcome, long at) {
        schedule(new Pending(at, seq++, Kind.AGENT, caller, caller.generation, null, 0, null, 0, false, null,
                new FenceInput.AgentDone(0, r.requestId(), r.nodeId(), r.device(), r.action(), outcome), null));
    }

    private void powerOff(Node victim, String device) {
        victim.powered = false;
        if (victim.running()) {
            halt(victim, "powered off by " + device);
        } else {
            log("power-off node=" + victim.id + " by=" + device + " (was not running)");
        }
    }

    /**
     * A poison pill on both copies, through the writer's own paths: a copy failing for the writer
     * fails the call, a hanging one lands but never answers (the shell reports a timeout at the
     * deadline). It lands at completion, the latest a real write can, and only while the writer still runs.
     */
    private void writePill(Node writer, FenceEffect.WritePill w) {
        long writerIncarnation = writer.incarnation;
        List<Copy> landing = new ArrayList<>();
        String error = null;
        boolean hangs = false;
        for (Copy c : Copy.values()) {
            switch (disk.fault(writer.id, c)) {
                case NONE -> landing.add(c);
                case HANG -> {
                    landing.add(c);
                    hangs = true;
                }
                case FAIL_WRITES, FAIL_ALL -> error = (error == null ? "" : error + "; ") + c.label() + " copy: EIO (simulated)";
            }
        }
        log("node=" + writer.id + " event=pill-write peer-id=" + w.nodeId() + " incarnation=" + w.incarnation()
                + " generation=" + w.generation() + " copies=" + landing);
        long done = now + 1 + (long) (random.nextDouble() * maxDiskLatencyNanos);
        action(done, () -> {
            if (writer.running() && writer.incarnation == writerIncarnation) {
                for (Copy c : landing) {
                    disk.writePill(writer.id, writerIncarnation, c, w.nodeId(), w.incarnation());
                }
                log("pill landed victim=" + w.nodeId() + " incarnation=" + w.incarnation() + " copies=" + landing);
            }
        });
        AgentOutcome outcome = error != null ? AgentOutcome.failed(error) : hangs ? AgentOutcome.TIMED_OUT : AgentOutcome.SUCCESS;
        long at = error == null && hangs ? globalTime(writer, w.deadlineNanos()) : done;
        schedule(new Pending(at, seq++, Kind.AGENT, writer, writer.generation, null, 0, null, 0, false, null,
                new FenceInput.AgentDone(0, w.requestId(), w.nodeId(), FenceLevel.POISON_PILL, FenceAction.PILL, outcome), null));
    }

    /** The node's incarnation stops from outside: no more I/O, heartbeats or decisions. */
    private void halt(Node n, String why) {
        n.halted = why;
        log("halt node=" + n.id + " incarnation=" + n.incarnation + " why=\"" + why + "\"");
        if (supervised) {
            restartAt.add(new long[] {now + 1_000 * MS, n.id}); // after healing, the machine is powered on again
        }
    }

    /**
     * The coordinator's {@code Fenced}: recover the victim's workloads now, after checking that
     * they may be: its membership declared that incarnation down (or an operator asked), no
     * other coordinator fenced it before, and it does not run.
     */
    private void recover(Node coordinator, FenceEffect.Fenced f) {
        String key = f.nodeId() + "@" + f.incarnation();
        boolean declared = coordinator.membership.verdict(f.nodeId()) == Verdict.DOWN
                && coordinator.membership.downIncarnation(f.nodeId()) == f.incarnation();
        if (!declared && !operatorRequests.contains(key)) {
            throw violation("node " + coordinator.id + " fenced node " + key + " which its membership holds "
                    + coordinator.membership.verdict(f.nodeId()).label() + " at incarnation "
                    + coordinator.membership.downIncarnation(f.nodeId()) + ", and no operator asked");
        }
        String by = "node " + coordinator.id + " generation " + f.generation();
        String before = fencedBy.putIfAbsent(key, by);
        if (before != null) {
            if (strictFencedOnce || fencedGeneration.get(key) == f.generation()) {
                throw violation(by + " fenced node " + key + ", already fenced by " + before);
            }
            refenced.add(key + " by " + by + " after " + before);
            log("refenced " + key + " by " + by + ", already fenced by " + before);
        }
        fencedGeneration.putIfAbsent(key, f.generation());
        Node victim = node(f.nodeId());
        if (victim.running() && victim.incarnation <= f.incarnation()) {
            throw violation("node " + key + " recovered while it runs" + (victim.paused() ? " (paused)" : "") + ": " + f.how());
        }
        recovered.add(new Recovered(f.nodeId(), f.incarnation(), now / MS, coordinator.id, f.generation(), f.how()));
        recoveredUpTo[f.nodeId()] = Math.max(recoveredUpTo[f.nodeId()], f.incarnation());
        disk.fenced(f.nodeId(), f.incarnation());
        log("recovered " + key + " by node=" + coordinator.id);
    }

    /** The global instant at which {@code n}'s clock reads {@code localNanos}. */
    private long globalTime(Node n, long localNanos) {
        return Math.max(now + 1, (long) Math.ceil((localNanos - n.offset) / n.rate) + 1);
    }

    private void action(long at, Runnable r) {
        schedule(new Pending(at, seq++, Kind.ACTION, null, 0, null, 0, null, 0, false, null, null, r));
    }

    private static FenceInput retimeFence(FenceInput in, long t) {
        return switch (in) {
            case FenceInput.AgentDone d -> new FenceInput.AgentDone(t, d.requestId(), d.nodeId(), d.device(), d.action(), d.outcome());
            case FenceInput.Tick x -> new FenceInput.Tick(t);
            case FenceInput.VerdictDown v -> new FenceInput.VerdictDown(t, v.nodeId(), v.incarnation(), v.evidence());
            case FenceInput.VerdictBack b -> new FenceInput.VerdictBack(t, b.nodeId(), b.incarnation());
            case FenceInput.CoordinatorChanged c -> new FenceInput.CoordinatorChanged(t, c.isCoordinator(), c.generation());
            case FenceInput.OperatorConfirm c -> new FenceInput.OperatorConfirm(t, c.nodeId());
            case FenceInput.OperatorFence o -> new FenceInput.OperatorFence(t, o.nodeId(), o.incarnation(), o.reason());
            case FenceInput.Recorded r -> new FenceInput.Recorded(t, r.nodeId(), r.incarnation(), r.how());
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
                    if (n.fencing != null) {
                        // Exactly the daemon's feed: a verdict that becomes down, or stops being down or fenced.
                        boolean wasDown = c.from() == Verdict.DOWN || c.from() == Verdict.FENCED;
                        boolean isDown = c.to() == Verdict.DOWN || c.to() == Verdict.FENCED;
                        if (c.to() == Verdict.DOWN && !wasDown) {
                            fencingStep(n, new FenceInput.VerdictDown(in.nowNanos(), c.peer(), n.membership.downIncarnation(c.peer()),
                                    c.evidence()));
                        } else if (wasDown && !isDown) {
                            fencingStep(n, new FenceInput.VerdictBack(in.nowNanos(), c.peer(), n.membership.newestIncarnation(c.peer())));
                        }
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

    /**
     * After every step (of node {@code n}, or of the world when null): at most one coordinator;
     * nothing recovered runs (a recovered incarnation never runs again: a restart is a new one);
     * no fenced incarnation's write landed; counters node {@code n} believes never go backwards
     * within one incarnation.
     */
    private void check(Node n) {
        if (disk.violation() != null) {
            throw violation(disk.violation());
        }
        for (Node x : nodes) {
            if (x.running() && x.incarnation <= recoveredUpTo[x.id]) {
                throw violation("node " + x.id + " runs" + (x.paused() ? " (paused)" : "") + " as incarnation " + x.incarnation
                        + " although incarnation " + recoveredUpTo[x.id] + " was recovered elsewhere");
            }
        }
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
        if (n == null || !n.running()) {
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
