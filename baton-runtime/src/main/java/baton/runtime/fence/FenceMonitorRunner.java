package baton.runtime.fence;

import baton.core.fence.AgentOutcome;
import baton.core.fence.FenceWatchEffect;
import baton.core.fence.FenceWatchInput;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * The shell side of the power-switch watch ({@link baton.core.fence.FenceWatch}): performs a
 * {@link FenceWatchEffect.RunMonitor} by running the device's agent with {@code action=monitor}
 * on a virtual thread, and hands the outcome back as a {@link FenceWatchInput.MonitorDone} to be
 * queued for the node's event loop. Every call reports exactly once, whatever happened, unless the
 * JVM dies or the code has a bug; the core gives up on a call by itself at deadline + grace.
 *
 * <p>What {@code monitor} proves: the ClusterLabs agents (fencing.py) log in and read the plug's
 * power state; exit 0 whether it is on or off, exit 1 when the device does not answer or gives no
 * valid state. So an OK says "the switch answers with these credentials", not "off would work": a
 * switch that answers but cannot switch (fence_dummy {@code type=fail}) passes its monitor. Exit 2
 * (the agent API's "answered, the single plug is off"; not produced by fencing.py) is an answer
 * too. {@link AgentResult} already maps a monitor's 0 to Success and 2 to StatusOff; the core counts
 * both as OK.
 *
 * <p>Nothing is logged per call: with 30 devices every 30 s that would be a line a second saying
 * nothing new. The core reports transitions; its view holds the latest reason of every device.
 */
public final class FenceMonitorRunner {
    private final FenceAgent agent;
    private final Map<String, FenceDevice> devices;
    private final Consumer<FenceWatchInput.MonitorDone> done;

    /**
     * @param devices the configured fence devices by name
     * @param done    receives each outcome, on the agent's virtual thread: it must only queue it
     */
    public FenceMonitorRunner(FenceAgent agent, Map<String, FenceDevice> devices, Consumer<FenceWatchInput.MonitorDone> done) {
        this.agent = Objects.requireNonNull(agent, "agent");
        this.devices = Map.copyOf(devices);
        this.done = Objects.requireNonNull(done, "done");
    }

    /**
     * Starts the monitor call and returns its virtual thread at once.
     *
     * @param nowNanosAtIssue the monotonic time ({@link System#nanoTime()}) of the step that issued the effect;
     *                        the agent gets what is left until the effect's deadline
     */
    public Thread run(FenceWatchEffect.RunMonitor effect, long nowNanosAtIssue) {
        long leftNanos = Math.min(effect.deadlineNanos() - nowNanosAtIssue, FenceAgent.MAX_DEADLINE.toNanos());
        FenceDevice device = devices.get(effect.device());
        return Thread.ofVirtual().name("baton-fence-monitor-" + effect.device()).start(() -> {
            AgentOutcome outcome;
            if (device == null) {
                outcome = AgentOutcome.failed("no fence device named '" + effect.device() + "' in the configuration");
            } else if (leftNanos <= 0) {
                // The step that issued it was handled after the deadline: the result would be thrown away.
                outcome = AgentOutcome.failed("the deadline had passed before the monitor could start");
            } else {
                try {
                    outcome = outcome(agent.run(device, AgentAction.MONITOR, Duration.ofNanos(leftNanos)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt(); // the agent's tree is killed by then
                    outcome = AgentOutcome.failed("interrupted");
                }
            }
            done.accept(new FenceWatchInput.MonitorDone(System.nanoTime(), effect.requestId(), effect.device(), outcome));
        });
    }

    /** The core's view of a driver result; the same mapping as the fencing calls of the node daemon. */
    public static AgentOutcome outcome(AgentResult result) {
        return switch (result) {
            case AgentResult.Success s -> AgentOutcome.SUCCESS;
            case AgentResult.StatusOn s -> AgentOutcome.STATUS_ON;
            case AgentResult.StatusOff s -> AgentOutcome.STATUS_OFF;
            case AgentResult.Failed f -> AgentOutcome.failed(f.reason());
            case AgentResult.TimedOut t -> AgentOutcome.TIMED_OUT;
            case AgentResult.CouldNotStart c -> AgentOutcome.failed(c.reason());
        };
    }
}
