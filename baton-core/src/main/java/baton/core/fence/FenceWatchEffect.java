package baton.core.fence;

/** What the shell must do for the power-switch watch. Effects of one step are to be performed in list order. */
public sealed interface FenceWatchEffect {
    /**
     * Run the agent of {@code device} with {@code action=monitor}, killing it at {@code deadlineNanos}, and
     * report {@link FenceWatchInput.MonitorDone} with the same request id. A report that arrives later than
     * the deadline plus the grace is ignored: the core has counted the call as failed by then.
     */
    record RunMonitor(long requestId, String device, long deadlineNanos) implements FenceWatchEffect {}

    /** Log it ({@link FenceWatchEvent#warning()} says at which level) and keep it for status. */
    record Report(FenceWatchEvent event) implements FenceWatchEffect {}
}
