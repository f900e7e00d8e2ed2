package baton.core.lease;

import baton.core.disk.ClusterKey;
import baton.core.disk.Copy;
import baton.core.disk.DiskLayout;
import baton.core.timing.Timeouts;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;

/**
 * The coordinator lease: one node's side of a lease on the quorum disk that at most one node
 * holds at any instant, as a state machine that does no I/O.
 *
 * <h2>Source</h2>
 * Eli Gafni and Leslie Lamport, "Disk Paxos", Distributed Computing 16(1), 2003: consensus
 * among processes that share only disks, each process owning one block per disk. sanlock's
 * paxos_lease runs one Disk Paxos instance per lease version; Baton does the same, and adds
 * time-bounded ownership in the manner of the delta lease (Chockler and Malkhi,
 * "Light-Weight Leases for Storage-Centric Coordination", 2005). The whole argument, with the
 * timeline and the byte layout, is in docs/coordinator-lease.md.
 *
 * <h2>Algorithm</h2>
 * <ul>
 * <li><b>Generations.</b> Generation g (the lease version, the fencing token) is decided by
 *     Disk Paxos instance g; its value is an owner (node id, incarnation). The two copies of
 *     the quorum disk are the disks of the paper, so a majority is both: every ballot writes
 *     its node's block to both copies, waits for both writes, then reads the whole lease area
 *     of both copies, and continues only if both reads succeeded.</li>
 * <li><b>Ballot</b> for g (phase 1 then phase 2): abort when any block is about a later
 *     generation, shows g decided, or holds a higher ballot for g; a block damaged on both
 *     copies aborts too (it could hide anything). Phase 1 takes the value accepted at the
 *     highest ballot, or proposes this node. Success of phase 2 decides g.</li>
 * <li><b>Takeover.</b> A ballot for g needs the owner of g - 1 gone: either it released the
 *     generation, or its block has been unchanged on both copies for the lease timeout L, as
 *     judged by this node's own clock from reads ({@link OwnerWatch}). The check is repeated on
 *     the phase-1 read itself, and the block being written names the owner and the last seq
 *     seen of it ({@code target}, {@code targetSeq}).</li>
 * <li><b>Holding.</b> The decided owner writes its block in state OWNER and reads back the
 *     copies it wrote, every renewal interval I. A confirmation succeeds when the read finds
 *     no live takeover: no block about g + 2 or later, and no block about g + 1 unless it names
 *     this owner with a target seq below the seq of the previous successful confirmation (such
 *     an attempt is doomed: its phase-1 read must see the newer renewal). The owner then holds
 *     g until the write's <em>issue</em> time plus the hold time D = L minus the drift margin.
 *     Two things keep a confirmation from extending a hold past a takeover: a renewal counts
 *     only if it arrives before the current deadline (checked first on every input), and
 *     D &lt; L with the margin, so a renewal that reached the disk after a taker's last look
 *     arrives too late; the first confirmation after a decision has no earlier deadline, and
 *     there the crossing decides (its read-back sees the taker's phase-1 block, or the taker's
 *     phase-1 read sees the confirmation). A renewal needs one copy only: a takeover needs
 *     both, so it always crosses the copy the owner used.</li>
 * <li><b>Giving up.</b> On a live takeover, on expiry, on resignation: the node stops
 *     believing first, then writes its block in state RELEASED so others need not wait.</li>
 * </ul>
 *
 * <h2>Invariants</h2>
 * At most one read and one write of the node's block per copy are outstanding, and one write
 * of the leader record; an I/O outstanding past the I/O timeout counts as failed, and no
 * other I/O of its kind goes to that copy until it completes, so this node's writes reach
 * each copy in the order issued. The Paxos fields of what this node writes never go back
 * (asserted on every write). Generation g has one owner: two different owners learned for
 * one generation is a broken invariant and throws. A holder never learns of a later decided
 * generation while it still holds (that would mean the drift bound was broken): throws.
 * {@link #isCoordinator} is true only between a successful confirmation and its expiry,
 * measured on this node's monotonic clock.
 */
public final class CoordinatorLease {
    public enum Role { STARTING, FOLLOWER, CANDIDATE, COORDINATOR, STOPPED }

    /**
     * The lease as this node sees it, for status displays.
     *
     * @param generation      the latest generation this node knows to be decided (0: none yet)
     * @param holder          its owner
     * @param knownSinceNanos when this node learned it (own monotonic clock)
     * @param holderState     what this node can say about the holder's liveness
     * @param validForNanos   how long this node still holds the lease, 0 when it does not
     */
    public record View(int nodeId, long incarnation, Role role, long generation, Owner holder, long knownSinceNanos,
                       String holderState, long validForNanos, String lastProblem) {}

    /** Counters since start, for metrics and tests. */
    public record Stats(long ballots, long ballotsWon, long ballotsFailed, long renewals, long renewalFailures,
                        long acquisitions, long losses, long readFailures, long writeFailures) {}

    private enum StepKind { ANNOUNCE, PREPARE, ACCEPT, COMMIT, OWN, RELEASE }

    private enum Outcome { PENDING, OK, FAILED }

    /** Why a ballot failed; NOT_STALE waits for the watch, the others back off. */
    private enum FailKind { IO, DAMAGED, AHEAD, DECIDED, OUTBID, NOT_STALE }

    private static final long NO_IO = 0;

    private static final class Io {
        long id = NO_IO;
        long issuedNanos;
        boolean expired;

        boolean outstanding() {
            return id != NO_IO;
        }
    }

    /** One read of the lease area of one or both copies. */
    private static final class Cycle {
        final Step step; // null: a follower's observation
        final boolean[] wanted = new boolean[2];
        final long[] ioIds = {NO_IO, NO_IO};
        final long[] issuedNanos = new long[2];
        final long[] doneNanos = new long[2];
        final byte[][] areas = new byte[2][];
        final String[] errors = new String[2];
        final boolean[] resolved = new boolean[2];

        Cycle(Step step) {
            this.step = step;
        }

        boolean complete() {
            return resolved[0] && resolved[1];
        }
    }

    /** Write this node's block to the copies, then (for some kinds) read the area back. */
    private static final class Step {
        final StepKind kind;
        final LeaseBlock block;
        final long issuedNanos;
        final long[] writeIds = {NO_IO, NO_IO};
        final Outcome[] writes = {Outcome.FAILED, Outcome.FAILED};
        final String[] writeErrors = new String[2];
        Cycle read;

        Step(StepKind kind, LeaseBlock block, long issuedNanos) {
            this.kind = kind;
            this.block = block;
            this.issuedNanos = issuedNanos;
        }

        boolean writesResolved() {
            return writes[0] != Outcome.PENDING && writes[1] != Outcome.PENDING;
        }
    }

    /** The decoded area of both copies; a copy that was not read has null arrays. */
    private record Snapshot(BlockRead[][] blocks, LeaderRead[] leaders, Cycle cycle) {
        boolean ok(Copy c) {
            return blocks[c.ordinal()] != null;
        }

        BlockRead block(Copy c, int nodeId) {
            return blocks[c.ordinal()][nodeId];
        }
    }

    private record BallotCheck(FailKind kind, String reason, Owner best, long bestBallot) {}

    private static final int MAX_REMEMBERED_DECISIONS = 64;
    private static final int NODE_BLOCKS = DiskLayout.MAX_NODES;

    private final int selfId;
    private final Owner self;
    private final LeaseCodec codec;
    private final Timeouts timeouts;

    private boolean started;
    private boolean stopped;
    private boolean restored;
    private long wallMillis;
    private long nextIoId = 1;
    private long rng;

    private final Io[] reads = {new Io(), new Io()};
    private final Io[] blockWrites = {new Io(), new Io()};
    private final Io[] leaderWrites = {new Io(), new Io()};
    private Cycle observation;
    private Step step;
    private long nextObserveNanos;
    private long nextProposeNanos;
    private long nextRenewNanos;
    private long nextRepairNanos;

    /** What this node writes into its block; {@link #seq} counts the writes of this incarnation. */
    private LeaseBlock mine;
    private long seq;
    /** The last block this incarnation wrote (or continued from): Paxos fields never go back from it. */
    private LeaseBlock lastIssued;
    private Snapshot last;

    // What this node knows about decisions.
    private long knownGeneration;
    private Owner knownOwner = Owner.NONE;
    private long knownSinceNanos;
    private final TreeMap<Long, Owner> decisions = new TreeMap<>();
    private final OwnerWatch watch = new OwnerWatch();

    // Ownership of heldGeneration: owning from the decision on, holding once confirmed.
    private boolean owning;
    private boolean holding;
    private long heldGeneration;
    private long baselineSeq;
    private long deadlineNanos;
    private long gaveUpGeneration;
    private boolean releasePending;
    private String acquiredHow = "";
    private Owner previousOwner = Owner.NONE;

    // Decode cache: most blocks do not change between reads, and a MAC costs microseconds.
    private final byte[][][] cachedBytes = new byte[2][NODE_BLOCKS + 1][];
    private final BlockRead[][] cachedBlocks = new BlockRead[2][NODE_BLOCKS + 1];
    private final LeaderRead[] cachedLeader = new LeaderRead[2];

    // Reporting.
    private final String[][] damage = new String[2][NODE_BLOCKS + 1];
    private FailKind lastFailKind;
    private long failRepeats;
    private String lastRenewFailure;
    private long renewRepeats;
    private long reportedTakeoverGeneration;
    private boolean reportedWaiting;
    private String lastProblem;

    private long ballots, ballotsWon, ballotsFailed, renewals, renewalFailures, acquisitions, losses, readFailures,
            writeFailures;

    /**
     * @param watchedNodes  the configured node ids are 1..watchedNodes; checked only: every block of
     *                      the area takes part in ballots whatever the configuration says, since a
     *                      node missing from one node's configuration could still hide a ballot
     * @param incarnation   this daemon's incarnation, as written into its disk slot
     */
    public CoordinatorLease(int selfId, int watchedNodes, UUID clusterId, ClusterKey key, Timeouts timeouts, long incarnation) {
        if (watchedNodes < 1 || watchedNodes > DiskLayout.MAX_NODES) {
            throw new IllegalArgumentException(watchedNodes + " watched nodes");
        }
        if (selfId < 1 || selfId > watchedNodes) {
            throw new IllegalArgumentException("node id " + selfId + " outside 1.." + watchedNodes);
        }
        if (incarnation <= 0) {
            throw new IllegalArgumentException("incarnation " + incarnation);
        }
        this.selfId = selfId;
        this.self = new Owner(selfId, incarnation);
        this.codec = new LeaseCodec(clusterId, key);
        this.timeouts = timeouts;
        this.mine = LeaseBlock.fresh(self);
        this.rng = incarnation * 0x9E3779B97F4A7C15L ^ selfId;
    }

    // ------------------------------------------------------------------ the questions callers ask

    /**
     * True only while this node surely holds the lease at {@code nowNanos} (its own monotonic
     * clock): the only question to ask before acting as coordinator, every time.
     */
    public boolean isCoordinator(long nowNanos) {
        return !stopped && holding && nowNanos - deadlineNanos < 0;
    }

    /** The generation this node holds, or else the latest it knows to be decided (0: none). */
    public long generation() {
        return holding ? heldGeneration : knownGeneration;
    }

    public Owner self() {
        return self;
    }

    public View view(long nowNanos) {
        Role role;
        if (stopped) {
            role = Role.STOPPED;
        } else if (!restored) {
            role = Role.STARTING;
        } else if (isCoordinator(nowNanos)) {
            role = Role.COORDINATOR;
        } else if (owning || (step != null && (step.kind == StepKind.PREPARE || step.kind == StepKind.ACCEPT))) {
            role = Role.CANDIDATE;
        } else {
            role = Role.FOLLOWER;
        }
        String holderState;
        if (knownGeneration == 0) {
            holderState = "no generation decided yet";
        } else if (knownOwner.equals(self)) {
            holderState = isCoordinator(nowNanos) ? "held by this node" : "decided for this node, not held";
        } else {
            holderState = watch.describe();
        }
        long validFor = isCoordinator(nowNanos) ? deadlineNanos - nowNanos : 0;
        return new View(selfId, self.incarnation(), role, knownGeneration, knownOwner, knownSinceNanos, holderState,
                validFor, lastProblem);
    }

    public Stats stats() {
        return new Stats(ballots, ballotsWon, ballotsFailed, renewals, renewalFailures, acquisitions, losses,
                readFailures, writeFailures);
    }

    // ------------------------------------------------------------------ inputs

    public List<LeaseEffect> step(LeaseInput input) {
        List<LeaseEffect> out = new ArrayList<>();
        if (stopped) {
            return out;
        }
        long now = input.nowNanos();
        if (!started) {
            started = true;
            nextObserveNanos = now;
            nextProposeNanos = now;
            nextRepairNanos = now;
        }
        // Expiry first: a confirmation that arrives with this input must not revive a lapsed lease.
        checkExpiry(now, out);
        switch (input) {
            case LeaseInput.Tick t -> {
                wallMillis = t.wallEpochMillis();
                expireIo(now, out);
            }
            case LeaseInput.ReadDone r -> onReadDone(r, now, out);
            case LeaseInput.WriteDone w -> onWriteDone(w, now, out);
            case LeaseInput.Resign r -> onResign(now, out);
        }
        if (!stopped) {
            drive(now, out);
        }
        return out;
    }

    private void checkExpiry(long now, List<LeaseEffect> out) {
        if (owning && now - deadlineNanos >= 0) {
            giveUp(heldGeneration, holding
                    ? "not renewed within the hold time of " + timeouts.leaseHoldMillis() + " ms"
                    : "could not confirm the decided generation within " + timeouts.leaseHoldMillis() + " ms", now, out);
        }
    }

    private void expireIo(long now, List<LeaseEffect> out) {
        long limit = timeouts.ioTimeoutNanos();
        for (Copy c : Copy.values()) {
            int i = c.ordinal();
            Io r = reads[i];
            if (r.outstanding() && !r.expired && now - r.issuedNanos >= limit) {
                r.expired = true;
                readFailures++;
                resolveRead(c, r.id, null, "read outstanding for more than " + timeouts.ioTimeoutMillis() + " ms", now, out);
            }
            Io w = blockWrites[i];
            if (w.outstanding() && !w.expired && now - w.issuedNanos >= limit) {
                w.expired = true;
                writeFailures++;
                resolveWrite(c, w.id, "write outstanding for more than " + timeouts.ioTimeoutMillis() + " ms", now, out);
            }
            Io l = leaderWrites[i];
            if (l.outstanding() && !l.expired && now - l.issuedNanos >= limit) {
                l.expired = true;
            }
        }
    }

    private void onReadDone(LeaseInput.ReadDone r, long now, List<LeaseEffect> out) {
        Io io = reads[r.copy().ordinal()];
        if (io.id != r.ioId()) {
            return; // not an I/O of this core (cannot happen with one read outstanding per copy)
        }
        boolean late = io.expired || now - io.issuedNanos >= timeouts.ioTimeoutNanos();
        boolean alreadyFailed = io.expired;
        io.id = NO_IO;
        io.expired = false;
        if (alreadyFailed) {
            return;
        }
        if (late) {
            readFailures++;
            resolveRead(r.copy(), r.ioId(), null, "read completed after more than " + timeouts.ioTimeoutMillis() + " ms", now, out);
            return;
        }
        if (r.bytes() != null && r.bytes().length < LeaseLayout.AREA_BYTES) {
            throw new IllegalArgumentException("lease area read of " + r.bytes().length + " bytes");
        }
        if (r.bytes() == null) {
            readFailures++;
        }
        resolveRead(r.copy(), r.ioId(), r.bytes(), r.bytes() == null ? (r.error() == null ? "read failed" : r.error()) : null,
                now, out);
    }

    private void onWriteDone(LeaseInput.WriteDone w, long now, List<LeaseEffect> out) {
        int i = w.copy().ordinal();
        if (leaderWrites[i].id == w.ioId()) {
            leaderWrites[i].id = NO_IO;
            leaderWrites[i].expired = false;
            return;
        }
        Io io = blockWrites[i];
        if (io.id != w.ioId()) {
            return;
        }
        boolean alreadyFailed = io.expired;
        boolean late = now - io.issuedNanos >= timeouts.ioTimeoutNanos();
        io.id = NO_IO;
        io.expired = false;
        if (alreadyFailed) {
            return;
        }
        if (late || w.error() != null) {
            writeFailures++;
        }
        resolveWrite(w.copy(), w.ioId(), late ? "write completed after more than " + timeouts.ioTimeoutMillis() + " ms"
                : w.error(), now, out);
    }

    private void onResign(long now, List<LeaseEffect> out) {
        if (owning) {
            giveUp(heldGeneration, "resigned", now, out);
        }
        // Let another node take it; this node competes again only after a lease timeout.
        nextProposeNanos = now + timeouts.leaseTimeoutNanos();
    }

    // ------------------------------------------------------------------ scheduling

    /** Starts the next step or observation when nothing is in flight. */
    private void drive(long now, List<LeaseEffect> out) {
        if (step != null || observation != null) {
            return;
        }
        if (releasePending) {
            releasePending = false;
            startStep(StepKind.RELEASE, now, out);
            return;
        }
        if (owning) {
            if (now - nextRenewNanos >= 0) {
                startStep(StepKind.OWN, now, out);
            }
            return;
        }
        if (now - nextObserveNanos >= 0) {
            nextObserveNanos = now + timeouts.leaseRenewNanos();
            observation = new Cycle(null);
            observation.wanted[0] = true;
            observation.wanted[1] = true;
            issueReads(observation, now, out);
        }
    }

    private void issueReads(Cycle cycle, long now, List<LeaseEffect> out) {
        for (Copy c : Copy.values()) {
            int i = c.ordinal();
            cycle.issuedNanos[i] = now;
            if (!cycle.wanted[i]) {
                cycle.resolved[i] = true;
                cycle.doneNanos[i] = now;
            } else if (reads[i].outstanding()) {
                cycle.resolved[i] = true;
                cycle.doneNanos[i] = now;
                cycle.errors[i] = "an earlier read of this copy is still outstanding";
            } else {
                long id = nextIoId++;
                reads[i].id = id;
                reads[i].issuedNanos = now;
                reads[i].expired = false;
                cycle.ioIds[i] = id;
                out.add(new LeaseEffect.ReadBlocks(c, LeaseLayout.AREA_FIRST_BLOCK, LeaseLayout.AREA_BLOCKS, id));
            }
        }
        if (cycle.complete()) {
            processCycle(cycle, now, out);
        }
    }

    private void resolveRead(Copy c, long id, byte[] area, String error, long now, List<LeaseEffect> out) {
        int i = c.ordinal();
        Cycle cycle = null;
        if (observation != null && observation.ioIds[i] == id && !observation.resolved[i]) {
            cycle = observation;
        } else if (step != null && step.read != null && step.read.ioIds[i] == id && !step.read.resolved[i]) {
            cycle = step.read;
        }
        if (cycle == null) {
            return; // the read of an abandoned step
        }
        cycle.resolved[i] = true;
        cycle.doneNanos[i] = now;
        cycle.areas[i] = area;
        cycle.errors[i] = error;
        if (cycle.complete()) {
            processCycle(cycle, now, out);
        }
    }

    /** Writes {@link #mine} as the next write of this incarnation to every copy that has no write outstanding. */
    private void startStep(StepKind kind, long now, List<LeaseEffect> out) {
        if (step != null) {
            throw new IllegalStateException("step " + kind + " while " + step.kind + " is in flight");
        }
        seq++;
        LeaseBlock b = mine.written(seq, wallMillis);
        if (lastIssued != null && (b.generation() < lastIssued.generation() || (b.generation() == lastIssued.generation()
                && (b.ballot() < lastIssued.ballot() || b.acceptedBallot() < lastIssued.acceptedBallot())))) {
            throw new IllegalStateException("the Paxos fields of this node's block would go back: " + lastIssued.summary()
                    + " -> " + b.summary());
        }
        lastIssued = b;
        mine = b;
        byte[] bytes = codec.encodeBlock(b);
        Step s = new Step(kind, b, now);
        step = s;
        if (kind == StepKind.OWN) {
            nextRenewNanos = now + timeouts.leaseRenewNanos();
        }
        for (Copy c : Copy.values()) {
            int i = c.ordinal();
            if (blockWrites[i].outstanding()) {
                s.writes[i] = Outcome.FAILED;
                s.writeErrors[i] = "an earlier write of this copy is still outstanding";
            } else {
                long id = nextIoId++;
                blockWrites[i].id = id;
                blockWrites[i].issuedNanos = now;
                blockWrites[i].expired = false;
                s.writeIds[i] = id;
                s.writes[i] = Outcome.PENDING;
                out.add(new LeaseEffect.WriteBlock(c, LeaseLayout.blockOfNode(selfId), bytes, id));
            }
        }
        if (s.writesResolved()) {
            writesDone(s, now, out);
        }
    }

    private void resolveWrite(Copy c, long id, String error, long now, List<LeaseEffect> out) {
        int i = c.ordinal();
        Step s = step;
        if (s == null || s.writeIds[i] != id || s.writes[i] != Outcome.PENDING) {
            return;
        }
        s.writes[i] = error == null ? Outcome.OK : Outcome.FAILED;
        s.writeErrors[i] = error;
        if (s.writesResolved()) {
            writesDone(s, now, out);
        }
    }

    private void writesDone(Step s, long now, List<LeaseEffect> out) {
        if (s != step) {
            return;
        }
        boolean both = s.writes[0] == Outcome.OK && s.writes[1] == Outcome.OK;
        switch (s.kind) {
            case ANNOUNCE, COMMIT, RELEASE -> step = null;
            case PREPARE, ACCEPT -> {
                if (!both) {
                    failBallot(FailKind.IO, "could not write both copies: " + writeProblems(s), now, out);
                } else {
                    startRead(s, true, true, now, out);
                }
            }
            case OWN -> {
                if (s.writes[0] != Outcome.OK && s.writes[1] != Outcome.OK) {
                    renewalFailed("wrote neither copy: " + writeProblems(s), now, out);
                } else {
                    startRead(s, s.writes[0] == Outcome.OK, s.writes[1] == Outcome.OK, now, out);
                }
            }
        }
    }

    /** The read that completes a step: issued only now, after the step's writes have completed. */
    private void startRead(Step s, boolean primary, boolean shadow, long now, List<LeaseEffect> out) {
        Cycle cycle = new Cycle(s);
        cycle.wanted[0] = primary;
        cycle.wanted[1] = shadow;
        s.read = cycle;
        issueReads(cycle, now, out);
    }

    // ------------------------------------------------------------------ reading the area

    private void processCycle(Cycle cycle, long now, List<LeaseEffect> out) {
        if (cycle == observation) {
            observation = null;
        }
        Snapshot snap = decode(cycle);
        observe(snap, now, out);
        if (stopped) {
            return;
        }
        if (cycle.step == null) {
            afterObservation(snap, now, out);
        } else if (cycle.step == step) {
            step = null;
            switch (cycle.step.kind) {
                case PREPARE -> afterPrepare(cycle.step, snap, now, out);
                case ACCEPT -> afterAccept(cycle.step, snap, now, out);
                case OWN -> afterOwn(cycle.step, snap, now, out);
                case ANNOUNCE, COMMIT, RELEASE -> throw new IllegalStateException("step " + cycle.step.kind + " reads nothing");
            }
        }
    }

    private Snapshot decode(Cycle cycle) {
        BlockRead[][] blocks = new BlockRead[2][];
        LeaderRead[] leaders = new LeaderRead[2];
        for (Copy c : Copy.values()) {
            int i = c.ordinal();
            byte[] area = cycle.areas[i];
            if (area == null) {
                continue;
            }
            blocks[i] = new BlockRead[NODE_BLOCKS + 1];
            for (int n = 0; n <= NODE_BLOCKS; n++) {
                int offset = n * DiskLayout.BLOCK_SIZE_BYTES;
                int used = n == 0 ? LeaseCodec.LEADER_USED_BYTES : LeaseCodec.BLOCK_USED_BYTES;
                byte[] cached = cachedBytes[i][n];
                if (cached == null || !java.util.Arrays.equals(cached, 0, used, area, offset, offset + used)) {
                    cachedBytes[i][n] = java.util.Arrays.copyOfRange(area, offset, offset + used);
                    if (n == 0) {
                        cachedLeader[i] = codec.decodeLeader(area, offset);
                    } else {
                        cachedBlocks[i][n] = codec.decodeBlock(area, offset, n);
                    }
                }
                if (n == 0) {
                    leaders[i] = cachedLeader[i];
                } else {
                    blocks[i][n] = cachedBlocks[i][n];
                }
            }
        }
        return new Snapshot(blocks, leaders, cycle);
    }

    /** Everything a read teaches, whatever it was issued for: decisions, the owner's liveness, duplicates, damage. */
    private void observe(Snapshot snap, long now, List<LeaseEffect> out) {
        for (Copy c : Copy.values()) {
            if (!snap.ok(c)) {
                continue;
            }
            if (snap.block(c, selfId) instanceof BlockRead.Valid v) {
                LeaseBlock b = v.block();
                if (b.incarnation() > self.incarnation() || (b.incarnation() == self.incarnation() && b.seq() > seq)) {
                    stop("the " + c.label() + " copy of this node's lease block was written by incarnation "
                            + b.incarnation() + " (seq " + b.seq() + "); this daemon is incarnation " + self.incarnation()
                            + " at seq " + seq + ": another daemon runs with node id " + selfId, now, out);
                    return;
                }
            }
        }
        for (Copy c : Copy.values()) {
            if (!snap.ok(c)) {
                continue;
            }
            LeaderRead leader = snap.leaders()[c.ordinal()];
            if (leader instanceof LeaderRead.Valid v) {
                learn(v.record().generation(), v.record().owner(), "leader record", now, out);
            }
            String leaderProblem = leader instanceof LeaderRead.Invalid bad ? bad.problem().name().toLowerCase(
                    java.util.Locale.ROOT) + ": " + bad.detail() : null;
            if (leaderProblem != null && damage[c.ordinal()][0] == null) {
                out.add(new LeaseEffect.Report(new LeaseEvent.BlockDamaged(c, 0, "leader record " + leaderProblem)));
            }
            damage[c.ordinal()][0] = leaderProblem;
            for (int n = 1; n <= NODE_BLOCKS; n++) {
                BlockRead r = snap.block(c, n);
                if (r instanceof BlockRead.Valid v) {
                    LeaseBlock b = v.block();
                    if (!b.previousOwner().isNone()) {
                        learn(b.generation() - 1, b.previousOwner(), "block of node " + n, now, out);
                    }
                    if (!b.decidedOwner().isNone()) {
                        learn(b.generation(), b.decidedOwner(), "block of node " + n, now, out);
                    }
                }
                String problem = r instanceof BlockRead.Invalid bad ? bad.describe() : null;
                if (problem != null && damage[c.ordinal()][n] == null) {
                    out.add(new LeaseEffect.Report(new LeaseEvent.BlockDamaged(c, n, problem)));
                }
                damage[c.ordinal()][n] = problem;
            }
        }
        if (knownGeneration > 0) {
            int owner = knownOwner.nodeId();
            for (Copy c : Copy.values()) {
                int i = c.ordinal();
                if (snap.ok(c)) {
                    watch.observe(c, snap.cycle().areas[i], LeaseLayout.areaOffsetOfNode(owner), snap.block(c, owner),
                            snap.cycle().issuedNanos[i], snap.cycle().doneNanos[i]);
                }
            }
        }
        if (snap.ok(Copy.PRIMARY) && snap.ok(Copy.SHADOW)) {
            last = snap;
        }
    }

    /** Records that {@code gen} was decided for {@code owner}. Knowledge only grows. */
    private void learn(long gen, Owner owner, String source, long now, List<LeaseEffect> out) {
        if (gen <= 0 || owner.isNone()) {
            return;
        }
        Owner before = decisions.get(gen);
        if (before != null && !before.equals(owner)) {
            throw new IllegalStateException("generation " + gen + " decided twice: for " + before + " and, says the "
                    + source + ", for " + owner);
        }
        if (before == null) {
            decisions.put(gen, owner);
            while (decisions.size() > MAX_REMEMBERED_DECISIONS) {
                Map.Entry<Long, Owner> oldest = decisions.firstEntry();
                decisions.remove(oldest.getKey());
            }
        }
        if (gen <= knownGeneration) {
            return;
        }
        knownGeneration = gen;
        knownOwner = owner;
        knownSinceNanos = now;
        watch.reset(owner, gen);
        out.add(new LeaseEffect.Report(new LeaseEvent.OwnerKnown(gen, owner, source)));
        if (owning && gen > heldGeneration) {
            // A later generation can only be decided after a takeover of ours, whose timing
            // guarantees that our hold had expired: believing now means the drift bound broke.
            if (isCoordinator(now)) {
                throw new IllegalStateException("generation " + gen + " was decided for " + owner + " while this node ("
                        + self + ") still holds generation " + heldGeneration + " for "
                        + (deadlineNanos - now) / 1_000_000 + " ms: clock drift beyond the bound the timeouts allow for");
            }
            giveUp(heldGeneration, "generation " + gen + " was decided for " + owner, now, out);
        }
    }

    private void afterObservation(Snapshot snap, long now, List<LeaseEffect> out) {
        boolean both = snap.ok(Copy.PRIMARY) && snap.ok(Copy.SHADOW);
        if (!restored) {
            restore(snap, both, now, out);
            return;
        }
        if (!owning && knownGeneration > gaveUpGeneration && knownOwner.equals(self) && mine.generation() == knownGeneration) {
            // Our value was decided by someone else's ballot: confirm it like a renewal, trusting nothing before.
            owning = true;
            holding = false;
            heldGeneration = knownGeneration;
            baselineSeq = 0;
            deadlineNanos = now + timeouts.leaseHoldNanos();
            acquiredHow = "claimed generation " + knownGeneration + ", decided for this node by another node's ballot";
            previousOwner = decisions.getOrDefault(knownGeneration - 1, Owner.NONE);
            mine = mine.owner();
            nextRenewNanos = now;
            startStep(StepKind.OWN, now, out);
            return;
        }
        if (now - nextRepairNanos >= 0 && ownBlockStale(snap)) {
            // Our block is damaged or older than our last write on some copy: a damaged block
            // blocks every ballot, so rewrite it (with the same Paxos fields).
            nextRepairNanos = now + timeouts.diskTimeoutNanos();
            startStep(StepKind.ANNOUNCE, now, out);
            return;
        }
        if (both && now - nextProposeNanos >= 0) {
            maybePropose(snap, now, out);
        }
    }

    /** At start: continue from this node's own block (a predecessor's accepted value must survive). */
    private void restore(Snapshot snap, boolean both, long now, List<LeaseEffect> out) {
        if (!both) {
            waiting("this node reads only one copy of the lease area; it needs its own block from both to start", out);
            return;
        }
        BlockRead p = snap.block(Copy.PRIMARY, selfId);
        BlockRead s = snap.block(Copy.SHADOW, selfId);
        if (!p.known() && !s.known()) {
            waiting("this node's lease block is damaged on both copies (primary " + p.describe() + "; shadow "
                    + s.describe() + "): it cannot know what it accepted before, so it takes no part", out);
            return;
        }
        LeaseBlock best = null;
        for (BlockRead r : new BlockRead[] {p, s}) {
            if (r instanceof BlockRead.Valid v && (best == null || v.block().incarnation() > best.incarnation()
                    || (v.block().incarnation() == best.incarnation() && v.block().seq() > best.seq()))) {
                best = v.block();
            }
        }
        mine = best == null ? LeaseBlock.fresh(self) : best.restoredBy(self.incarnation());
        lastIssued = mine;
        restored = true;
        startStep(StepKind.ANNOUNCE, now, out);
    }

    private boolean ownBlockStale(Snapshot snap) {
        if (mine.generation() == 0 && seq == 0) {
            return false;
        }
        for (Copy c : Copy.values()) {
            if (!snap.ok(c) || blockWrites[c.ordinal()].outstanding()) {
                continue;
            }
            if (!(snap.block(c, selfId) instanceof BlockRead.Valid v) || v.block().incarnation() != self.incarnation()
                    || v.block().seq() != seq) {
                return true;
            }
        }
        return false;
    }

    // ------------------------------------------------------------------ ballots

    private void maybePropose(Snapshot snap, long now, List<LeaseEffect> out) {
        long gen = knownGeneration + 1;
        Owner target;
        long targetSeq;
        String evidence;
        if (knownGeneration == 0) {
            target = Owner.NONE;
            targetSeq = 0;
            evidence = "no generation decided yet";
        } else if (knownOwner.equals(self) && gaveUpGeneration >= knownGeneration) {
            target = self;
            targetSeq = LeaseBlock.UNKNOWN_SEQ;
            evidence = "this node gave generation " + knownGeneration + " up";
        } else if (watch.released()) {
            target = knownOwner;
            targetSeq = watch.targetSeq();
            evidence = "the owner released it";
        } else if (watch.quietNanos() >= timeouts.leaseTimeoutNanos()) {
            target = knownOwner;
            targetSeq = watch.targetSeq();
            evidence = "the owner's block was " + watch.describe() + " (lease timeout " + timeouts.leaseTimeoutMillis() + " ms)";
        } else {
            return;
        }
        if (mine.generation() > gen) {
            throw new IllegalStateException("this node's block is about generation " + mine.generation()
                    + " but it knows only generation " + knownGeneration + " as decided");
        }
        if (mine.generation() == gen && !mine.target().equals(target)) {
            throw new IllegalStateException("generation " + (gen - 1) + " has two owners: " + mine.target() + " and " + target);
        }
        long highest = mine.generation() == gen ? mine.ballot() : 0;
        for (Copy c : Copy.values()) {
            for (int n = 1; n <= NODE_BLOCKS; n++) {
                if (snap.block(c, n) instanceof BlockRead.Valid v && v.block().generation() == gen) {
                    highest = Math.max(highest, v.block().ballot());
                }
            }
        }
        long ballot = (highest / LeaseBlock.BALLOT_STRIDE + 1) * LeaseBlock.BALLOT_STRIDE + selfId;
        if (!target.isNone() && reportedTakeoverGeneration != gen) {
            reportedTakeoverGeneration = gen;
            out.add(new LeaseEffect.Report(new LeaseEvent.TakeoverStarted(gen, target, evidence)));
        }
        ballots++;
        mine = mine.prepare(gen, ballot, target, target.isNone() ? 0 : targetSeq);
        startStep(StepKind.PREPARE, now, out);
    }

    private void afterPrepare(Step s, Snapshot snap, long now, List<LeaseEffect> out) {
        long gen = s.block.generation();
        BallotCheck check = ballotCheck(s.block, snap);
        if (check.kind() != null) {
            failBallot(check.kind(), check.reason(), now, out);
            return;
        }
        Owner target = s.block.target();
        if (!target.isNone()) {
            boolean selfGaveUp = target.equals(self) && gaveUpGeneration >= gen - 1;
            boolean gone = watch.isFor(target, gen - 1)
                    && (watch.released() || watch.quietNanos() >= timeouts.leaseTimeoutNanos());
            if (!selfGaveUp && !gone) {
                failBallot(FailKind.NOT_STALE, "the owner of generation " + (gen - 1) + ", " + target + ", is not gone: its block was "
                        + watch.describe(), now, out);
                return;
            }
        }
        Owner value = check.best() != null ? check.best() : self;
        mine = mine.accept(value);
        startStep(StepKind.ACCEPT, now, out);
    }

    private void afterAccept(Step s, Snapshot snap, long now, List<LeaseEffect> out) {
        long gen = s.block.generation();
        BallotCheck check = ballotCheck(s.block, snap);
        if (check.kind() != null) {
            failBallot(check.kind(), check.reason(), now, out);
            return;
        }
        ballotsWon++;
        lastFailKind = null;
        Owner value = s.block.value();
        previousOwner = decisions.getOrDefault(gen - 1, s.block.target());
        learn(gen, value, "this node's ballot " + s.block.ballot(), now, out);
        if (value.equals(self) && knownGeneration > gen) {
            // Decided for this node, but a later generation is already known (from the leader
            // record alone): it is not this node's to hold any more.
            gaveUpGeneration = Math.max(gaveUpGeneration, gen);
            mine = mine.committed(value);
            startStep(StepKind.COMMIT, now, out);
        } else if (value.equals(self)) {
            owning = true;
            holding = false;
            heldGeneration = gen;
            // The phase-2 read saw no block about a later generation: the first base for
            // telling live takeovers from doomed ones.
            baselineSeq = s.block.seq();
            deadlineNanos = now + timeouts.leaseHoldNanos();
            acquiredHow = "won ballot " + s.block.ballot();
            mine = mine.owner();
            startStep(StepKind.OWN, now, out);
        } else {
            mine = mine.committed(value);
            startStep(StepKind.COMMIT, now, out);
        }
    }

    /**
     * The Disk Paxos reads of phase 1 and phase 2: both copies read, every other node's block
     * known on at least one copy, nothing about a later generation, no decision and no higher
     * ballot for this one. Returns the value accepted at the highest ballot seen.
     */
    private BallotCheck ballotCheck(LeaseBlock b, Snapshot snap) {
        for (Copy c : Copy.values()) {
            if (!snap.ok(c)) {
                return new BallotCheck(FailKind.IO, "could not read the " + c.label() + " copy: "
                        + snap.cycle().errors[c.ordinal()], null, 0);
            }
        }
        long gen = b.generation();
        Owner best = null;
        long bestBallot = 0;
        if (mine.generation() == gen && mine.acceptedBallot() > 0) {
            best = mine.value();
            bestBallot = mine.acceptedBallot();
        }
        for (int n = 1; n <= NODE_BLOCKS; n++) {
            if (n == selfId) {
                continue;
            }
            BlockRead p = snap.block(Copy.PRIMARY, n);
            BlockRead s = snap.block(Copy.SHADOW, n);
            if (!p.known() && !s.known()) {
                // With two copies both crossings are needed unless one proposer sees the other
                // on some copy; a block damaged on both copies could hide exactly that.
                return new BallotCheck(FailKind.DAMAGED, "the lease block of node " + n + " is damaged on both copies (primary "
                        + p.describe() + "; shadow " + s.describe() + ")", null, 0);
            }
            for (BlockRead r : new BlockRead[] {p, s}) {
                if (!(r instanceof BlockRead.Valid v)) {
                    continue;
                }
                LeaseBlock o = v.block();
                if (o.generation() > gen) {
                    return new BallotCheck(FailKind.AHEAD, "node " + n + " is at generation " + o.generation(), null, 0);
                }
                if (o.generation() < gen) {
                    continue;
                }
                if (o.state().decided()) {
                    return new BallotCheck(FailKind.DECIDED, "generation " + gen + " is already decided for " + o.value(), null, 0);
                }
                if (o.ballot() > b.ballot()) {
                    return new BallotCheck(FailKind.OUTBID, "node " + n + " started ballot " + o.ballot() + " > " + b.ballot(), null, 0);
                }
                if (o.acceptedBallot() > bestBallot) {
                    bestBallot = o.acceptedBallot();
                    best = o.value();
                }
            }
        }
        return new BallotCheck(null, null, best, bestBallot);
    }

    private void failBallot(FailKind kind, String reason, long now, List<LeaseEffect> out) {
        step = null;
        ballotsFailed++;
        lastProblem = reason;
        if (kind != lastFailKind) {
            out.add(new LeaseEffect.Report(new LeaseEvent.BallotFailed(mine.generation(), mine.ballot(),
                    kind.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'), reason, failRepeats)));
            lastFailKind = kind;
            failRepeats = 0;
        } else {
            failRepeats++;
        }
        // NOT_STALE: the watch says when to try again. Otherwise back off for a random time in
        // [I, 3I), so that contending proposers stop colliding (Disk Paxos needs one to run alone).
        nextProposeNanos = kind == FailKind.NOT_STALE ? now : now + backoffNanos();
    }

    // ------------------------------------------------------------------ holding

    private void afterOwn(Step s, Snapshot snap, long now, List<LeaseEffect> out) {
        if (!owning || s.block.generation() != heldGeneration) {
            return;
        }
        long gen = heldGeneration;
        List<Copy> used = new ArrayList<>();
        for (Copy c : Copy.values()) {
            if (snap.ok(c)) {
                used.add(c);
            }
        }
        if (used.isEmpty()) {
            renewalFailed("read back neither copy it wrote: primary " + snap.cycle().errors[0] + "; shadow "
                    + snap.cycle().errors[1], now, out);
            return;
        }
        for (int n = 1; n <= NODE_BLOCKS; n++) {
            if (n == selfId) {
                continue;
            }
            boolean known = false;
            for (Copy c : used) {
                BlockRead r = snap.block(c, n);
                known |= r.known();
                if (!(r instanceof BlockRead.Valid v)) {
                    continue;
                }
                LeaseBlock o = v.block();
                boolean live = o.generation() > gen + 1
                        || (o.generation() == gen + 1 && !(o.target().equals(self)
                            && Long.compareUnsigned(o.targetSeq(), baselineSeq) < 0));
                if (live) {
                    giveUp(gen, "node " + n + " is taking over: its block is about generation " + o.generation()
                            + " (" + o.summary() + ")", now, out);
                    return;
                }
            }
            if (!known) {
                // On the copies this renewal used, nothing can be said about node n: a takeover
                // block there would be invisible. Not a takeover either: try again next interval.
                renewalFailed("the lease block of node " + n + " is damaged on every copy this renewal used", now, out);
                return;
            }
        }
        long until = s.issuedNanos + timeouts.leaseHoldNanos();
        if (now - until >= 0) {
            renewalFailed("confirmed only after the hold time had run out", now, out);
            return;
        }
        baselineSeq = s.block.seq();
        deadlineNanos = until;
        renewals++;
        lastRenewFailure = null;
        if (!holding) {
            holding = true;
            acquisitions++;
            lastProblem = null;
            out.add(new LeaseEffect.Report(new LeaseEvent.Acquired(gen, previousOwner, acquiredHow, timeouts.leaseHoldMillis())));
            out.add(new LeaseEffect.BecameCoordinator(gen, until));
        }
        for (Copy c : used) {
            int i = c.ordinal();
            boolean current = snap.leaders()[i] instanceof LeaderRead.Valid v && v.record().generation() == gen
                    && v.record().owner().equals(self);
            if (!current && !leaderWrites[i].outstanding()) {
                long id = nextIoId++;
                leaderWrites[i].id = id;
                leaderWrites[i].issuedNanos = now;
                leaderWrites[i].expired = false;
                out.add(new LeaseEffect.WriteBlock(c, LeaseLayout.LEADER_BLOCK,
                        codec.encodeLeader(new LeaderRecord(gen, self, wallMillis)), id));
            }
        }
    }

    private void renewalFailed(String reason, long now, List<LeaseEffect> out) {
        step = null;
        renewalFailures++;
        lastProblem = reason;
        String kind = reason.replaceAll("[0-9]+", "#");
        if (!kind.equals(lastRenewFailure)) {
            out.add(new LeaseEffect.Report(new LeaseEvent.RenewalFailed(heldGeneration, reason, renewRepeats)));
            lastRenewFailure = kind;
            renewRepeats = 0;
        } else {
            renewRepeats++;
        }
    }

    /** Stops believing in {@code gen} (first), then publishes the release. Never believes in {@code gen} again. */
    private void giveUp(long gen, String reason, long now, List<LeaseEffect> out) {
        boolean was = holding;
        owning = false;
        holding = false;
        gaveUpGeneration = Math.max(gaveUpGeneration, gen);
        lastProblem = reason;
        if (step != null && step.kind == StepKind.OWN) {
            step = null; // its I/O completes unobserved; no other I/O of its kind goes to that copy meanwhile
        }
        if (was) {
            losses++;
            out.add(new LeaseEffect.Report(new LeaseEvent.Lost(gen, reason)));
            out.add(new LeaseEffect.CeasedCoordinator(gen, reason));
        } else {
            out.add(new LeaseEffect.Report(new LeaseEvent.RenewalFailed(gen, "gave the decided generation up: " + reason, 0)));
        }
        if (mine.generation() == gen && mine.state() == LeaseState.OWNER) {
            mine = mine.released();
            releasePending = true;
        }
        nextProposeNanos = now + backoffNanos();
    }

    private void stop(String detail, long now, List<LeaseEffect> out) {
        boolean was = isCoordinator(now);
        out.add(new LeaseEffect.Report(new LeaseEvent.Duplicate(self.incarnation(), detail)));
        if (was) {
            out.add(new LeaseEffect.CeasedCoordinator(heldGeneration, detail));
        }
        stopped = true;
        owning = false;
        holding = false;
        step = null;
        observation = null;
        lastProblem = detail;
    }

    private void waiting(String reason, List<LeaseEffect> out) {
        lastProblem = reason;
        if (!reportedWaiting) {
            reportedWaiting = true;
            out.add(new LeaseEffect.Report(new LeaseEvent.Waiting(reason)));
        }
    }

    private static String writeProblems(Step s) {
        StringBuilder b = new StringBuilder();
        for (Copy c : Copy.values()) {
            if (s.writes[c.ordinal()] == Outcome.FAILED) {
                b.append(b.isEmpty() ? "" : "; ").append(c.label()).append(": ").append(s.writeErrors[c.ordinal()]);
            }
        }
        return b.toString();
    }

    /** A pseudo-random back-off in [I, 3I), from a generator seeded with the node id and incarnation (splitmix64). */
    private long backoffNanos() {
        rng += 0x9E3779B97F4A7C15L;
        long z = rng;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z = z ^ (z >>> 31);
        long interval = timeouts.leaseRenewNanos();
        return interval + Math.floorMod(z, 2 * interval);
    }
}
