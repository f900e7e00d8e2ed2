package baton.core.fence;

/** Everything that enters the power-switch watch ({@link FenceWatch}); {@code nowNanos} is the node's monotonic clock. */
public sealed interface FenceWatchInput {
    long nowNanos();

    /** Time passes: starts the first round, issues monitors that are due, times out calls whose report is lost. */
    record Tick(long nowNanos) implements FenceWatchInput {}

    /**
     * The shell finished the monitor call {@code requestId} on {@code device}. For {@code monitor},
     * {@link AgentOutcome.Success} (exit 0) and {@link AgentOutcome.StatusOff} (exit 2, "answered, the single
     * plug is off") mean the device answered; so would {@link AgentOutcome.StatusOn}. {@link AgentOutcome.Failed}
     * and {@link AgentOutcome.TimedOut} mean it did not.
     */
    record MonitorDone(long nowNanos, long requestId, String device, AgentOutcome outcome) implements FenceWatchInput {}
}
