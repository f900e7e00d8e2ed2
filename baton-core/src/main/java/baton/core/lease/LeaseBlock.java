package baton.core.lease;

import baton.core.disk.DiskLayout;

/**
 * One node's Disk Paxos block (Gafni and Lamport's {@code dblock}), extended for a sequence
 * of lease generations and for renewals. Only node {@code nodeId} writes it, to both copies.
 *
 * @param incarnation     the writer's incarnation (a restarted daemon writes a new one)
 * @param seq             counts the writes of this incarnation (1, 2, ...): every write
 *                        changes the block, so "unchanged" proves "not written"
 * @param generation      the lease generation (sanlock's {@code lver}) this block is about:
 *                        the Paxos instance that decides who holds generation {@code generation}
 * @param ballot          the highest ballot this node started for {@code generation} (the
 *                        paper's {@code mbal}); ballots are {@code round * 64 + nodeId}, so
 *                        two nodes never use the same one
 * @param acceptedBallot  the ballot at which {@code value} was accepted (the paper's {@code bal}), 0 if none
 * @param value           the owner accepted at {@code acceptedBallot} (the paper's {@code inp})
 * @param target          the owner of generation {@code generation - 1} that this node takes
 *                        over from (none for generation 1): a block at generation g thereby
 *                        also tells every reader who held g - 1
 * @param targetSeq       the highest {@code seq} of the target's block this node saw
 *                        unchanged before it started; {@link #UNKNOWN_SEQ} when it saw none.
 *                        The owner uses it to tell a live takeover from a doomed one.
 * @param wallEpochMillis the writer's wall clock, for humans only
 */
public record LeaseBlock(int nodeId, long incarnation, long seq, long generation, long ballot, long acceptedBallot,
                         Owner value, LeaseState state, Owner target, long targetSeq, long wallEpochMillis) {
    /** Ballots are {@code round * BALLOT_STRIDE + nodeId}: unique per node. */
    public static final long BALLOT_STRIDE = 64;
    /** "The target's seq is not known": compares (unsigned) above every seq. */
    public static final long UNKNOWN_SEQ = -1L;

    /** What is wrong with this block as a Disk Paxos block, or null when it is well formed. */
    public String problem() {
        if (nodeId < 1 || nodeId > DiskLayout.MAX_NODES) {
            return "node id " + nodeId;
        }
        if (incarnation <= 0) {
            return "incarnation " + incarnation;
        }
        if (generation < 0 || ballot < 0 || acceptedBallot < 0) {
            return "negative generation or ballot";
        }
        if (acceptedBallot > ballot) {
            return "accepted ballot " + acceptedBallot + " above ballot " + ballot;
        }
        if (ballot != 0 && ballot % BALLOT_STRIDE != nodeId) {
            return "ballot " + ballot + " is not one of node " + nodeId;
        }
        if (generation == 0 && (ballot != 0 || !value.isNone() || state != LeaseState.IDLE || !target.isNone())) {
            return "generation 0 with a ballot, value, target or state " + state.label();
        }
        if ((acceptedBallot == 0) != value.isNone() && !state.decided()) {
            return "accepted ballot " + acceptedBallot + " with value " + value;
        }
        if (state.decided() && value.isNone()) {
            return "state " + state.label() + " without a value";
        }
        if ((state == LeaseState.OWNER || state == LeaseState.RELEASED)
                && !value.equals(new Owner(nodeId, incarnation))) {
            return "state " + state.label() + " for another owner " + value;
        }
        if (target.isNone() != (generation <= 1)) {
            return "generation " + generation + " with target " + target;
        }
        if (target.isNone() && targetSeq != 0) {
            return "target seq without a target";
        }
        return null;
    }

    /** The block of a node that never took part: generation 0. */
    public static LeaseBlock fresh(Owner self) {
        return new LeaseBlock(self.nodeId(), self.incarnation(), 0, 0, 0, 0, Owner.NONE, LeaseState.IDLE,
                Owner.NONE, 0, 0);
    }

    public Owner writer() {
        return new Owner(nodeId, incarnation);
    }

    /** The same content as the {@code seq}-th write of this incarnation. */
    public LeaseBlock written(long newSeq, long wallMillis) {
        return new LeaseBlock(nodeId, incarnation, newSeq, generation, ballot, acceptedBallot, value, state, target,
                targetSeq, wallMillis);
    }

    /**
     * What a new incarnation of the same node continues from: every Paxos field of the old
     * block (an accepted value must never be forgotten), a decision stays known (COMMITTED),
     * a ballot in progress is over (IDLE).
     */
    public LeaseBlock restoredBy(long newIncarnation) {
        LeaseState s = state.decided() ? LeaseState.COMMITTED : LeaseState.IDLE;
        return new LeaseBlock(nodeId, newIncarnation, 0, generation, ballot, acceptedBallot, value, s, target, targetSeq,
                wallEpochMillis);
    }

    /** Phase 1 for {@code gen}: fresh Paxos fields when moving to a new generation, kept otherwise. */
    public LeaseBlock prepare(long gen, long newBallot, Owner newTarget, long newTargetSeq) {
        if (gen < generation) {
            throw new IllegalStateException("ballot for generation " + gen + " after generation " + generation);
        }
        boolean same = gen == generation;
        return new LeaseBlock(nodeId, incarnation, seq, gen, newBallot, same ? acceptedBallot : 0,
                same ? value : Owner.NONE, LeaseState.PREPARING, newTarget, newTargetSeq, wallEpochMillis);
    }

    /** Phase 2: accept {@code v} at this block's ballot. */
    public LeaseBlock accept(Owner v) {
        return new LeaseBlock(nodeId, incarnation, seq, generation, ballot, ballot, v, LeaseState.ACCEPTED, target,
                targetSeq, wallEpochMillis);
    }

    /** The generation is decided for another owner. */
    public LeaseBlock committed(Owner v) {
        return new LeaseBlock(nodeId, incarnation, seq, generation, ballot, acceptedBallot, v, LeaseState.COMMITTED,
                target, targetSeq, wallEpochMillis);
    }

    /**
     * This node holds the generation. The value becomes this node even when its last accepted
     * value was another (it learned the decision from another proposer): a block in a decided
     * state makes every ballot reader stop before it looks at the value, and any accepted value
     * at a ballot above the deciding one is the decided value anyway.
     */
    public LeaseBlock owner() {
        return new LeaseBlock(nodeId, incarnation, seq, generation, ballot, acceptedBallot, writer(), LeaseState.OWNER,
                target, targetSeq, wallEpochMillis);
    }

    public LeaseBlock released() {
        return new LeaseBlock(nodeId, incarnation, seq, generation, ballot, acceptedBallot, writer(), LeaseState.RELEASED,
                target, targetSeq, wallEpochMillis);
    }

    /** Owner of generation {@code generation - 1} as this block tells it, or none. */
    public Owner previousOwner() {
        return generation >= 2 ? target : Owner.NONE;
    }

    /** Owner of {@code generation} as this block tells it, or none when it does not say. */
    public Owner decidedOwner() {
        return state.decided() ? value : Owner.NONE;
    }

    public String summary() {
        return "gen=" + generation + " state=" + state.label() + " ballot=" + ballot + " accepted=" + acceptedBallot
                + (value.isNone() ? "" : " value=" + value.nodeId() + "/" + value.incarnation())
                + (target.isNone() ? "" : " target=" + target.nodeId() + "/" + target.incarnation() + "@"
                + Long.toUnsignedString(targetSeq)) + " inc=" + incarnation + " seq=" + seq;
    }
}
