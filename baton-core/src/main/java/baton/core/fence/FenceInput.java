package baton.core.fence;

/** Everything that enters the fencing core; {@code nowNanos} is the node's monotonic clock. */
public sealed interface FenceInput {
    long nowNanos();

    record Tick(long nowNanos) implements FenceInput {}

    /** Membership declared {@code nodeId} down in {@code incarnation}; {@code evidence} is its reason. */
    record VerdictDown(long nowNanos, int nodeId, long incarnation, String evidence) implements FenceInput {}

    /** A new incarnation of {@code nodeId} joined: whatever concerned older incarnations is over. */
    record VerdictBack(long nowNanos, int nodeId, long incarnation) implements FenceInput {}

    /** The coordinator lease changed hands: this node holds {@code generation} or does not hold it. */
    record CoordinatorChanged(long nowNanos, boolean isCoordinator, long generation) implements FenceInput {}

    /** The shell finished the agent call {@code requestId}. */
    record AgentDone(long nowNanos, long requestId, int nodeId, String device, FenceAction action, AgentOutcome outcome)
            implements FenceInput {}

    /**
     * {@code baton fence NODE}: an operator asks for {@code incarnation} of {@code nodeId} to be
     * fenced now, whatever membership says of it (no fence delay).
     */
    record OperatorFence(long nowNanos, int nodeId, long incarnation, String reason) implements FenceInput {}

    /**
     * The quorum disk records {@code incarnation} of {@code nodeId} as dead (fenced or confirmed by
     * an earlier coordinator): a new coordinator does not fence it again.
     */
    record Recorded(long nowNanos, int nodeId, long incarnation, String how) implements FenceInput {}

    /** {@code baton fence confirm NODE}: an operator checked by hand that the node is off. */
    record OperatorConfirm(long nowNanos, int nodeId) implements FenceInput {}
}
