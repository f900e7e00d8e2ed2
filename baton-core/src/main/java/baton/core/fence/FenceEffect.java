package baton.core.fence;

/**
 * What the shell must do. Every effect carries the lease generation under which it was
 * decided: the fencing token, so that a deposed coordinator's stale work can be refused.
 * Effects of one step are to be performed in list order.
 */
public sealed interface FenceEffect {
    long generation();

    /** Run one agent call and report {@link FenceInput.AgentDone} with the same request id by the deadline. */
    record RunAgent(long requestId, int nodeId, String device, FenceAction action, long deadlineNanos, long generation)
            implements FenceEffect {}

    /**
     * Write a poison pill for {@code incarnation} of {@code nodeId} to both copies of the quorum
     * disk; report {@link FenceInput.AgentDone} (action {@link FenceAction#PILL}, device
     * {@link FenceLevel#POISON_PILL}) with SUCCESS only once both copies hold it.
     */
    record WritePill(long requestId, int nodeId, long incarnation, long deadlineNanos, long generation)
            implements FenceEffect {}

    /**
     * {@code nodeId}'s incarnation is now known dead: every device of one level confirmed power off,
     * or an operator confirmed. Record it (quorum disk) before recovering anything it ran.
     */
    record Fenced(int nodeId, long incarnation, long generation, String how) implements FenceEffect {}

    record Report(FenceEvent event, long generation) implements FenceEffect {}
}
