package baton.core.membership;

import baton.core.liveness.Liveness;

/** Everything that enters the membership core; {@code nowNanos} is the node's monotonic clock. */
public sealed interface MembershipInput {
    long nowNanos();

    record Tick(long nowNanos) implements MembershipInput {}

    /**
     * An authenticated heartbeat from {@code peer} arrived on {@code ring}.
     *
     * @param saysSelfDown the sender has declared this node down (its heartbeat carries the
     *                     set of nodes it holds down)
     */
    record Heard(long nowNanos, int ring, int peer, long incarnation, boolean saysSelfDown) implements MembershipInput {}

    /** This node's own heartbeat ticks came {@code latenessNanos} late: it was paused or starved. */
    record SelfLate(long nowNanos, long latenessNanos) implements MembershipInput {}

    /** The coordinator fenced {@code peer}'s {@code incarnation} (power confirmed off, or an operator confirmed). */
    record Fenced(long nowNanos, int peer, long incarnation, String how) implements MembershipInput {}

    /**
     * What the disk-liveness core concluded about {@code peer} after a read cycle.
     *
     * @param unchangedNanos how long its counter has been seen unchanged
     * @param incarnation    the incarnation in its slot, or 0 when none was read
     */
    record Disk(long nowNanos, int peer, Liveness liveness, long unchangedNanos, long incarnation, String evidence)
            implements MembershipInput {}
}
