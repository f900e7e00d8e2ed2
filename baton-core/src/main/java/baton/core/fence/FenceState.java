package baton.core.fence;

/** Where fencing of one node stands, as this node sees it. */
public sealed interface FenceState {
    /** Nothing to do, or the node is down but this node is not the coordinator. */
    record Idle() implements FenceState {}

    /** The node's fence delay runs until {@code untilNanos}. */
    record Delayed(long untilNanos) implements FenceState {}

    /** Level {@code level} (1-based) runs since {@code sinceNanos}. */
    record Fencing(int round, int level, long sinceNanos) implements FenceState {}

    /** Every level failed in {@code round}; the next round starts at {@code untilNanos}. */
    record RetryWait(int round, long untilNanos) implements FenceState {}

    record Fenced(String how) implements FenceState {}

    /** No level is configured: only an operator's confirmation can fence. */
    record Unfenceable(String reason) implements FenceState {}

    /**
     * @param incarnation the incarnation declared down (0: none)
     * @param down        membership holds it down and it is not fenced yet
     */
    record NodeView(int nodeId, long incarnation, boolean down, FenceState state, String lastProblem) {}
}
