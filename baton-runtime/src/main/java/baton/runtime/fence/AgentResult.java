package baton.runtime.fence;

import baton.runtime.proc.LastWords;
import baton.runtime.proc.ProcessCall;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * How one call of a fence agent ended. Operating errors (the agent failed, hung or could not
 * be started) are cases of this type, never exceptions: the fencing core decides what each
 * means (try the next level, raise the alarm, retry with backoff).
 *
 * <p>Exit statuses follow the fence agent API: 0 is success; for {@code status}, 0 is "on"
 * and 2 is "off"; for {@code monitor}, 2 is "reachable, and the single plug is off".
 * Anything else is {@link Failed}, so a device that cannot be asked never reads as "off".
 */
public sealed interface AgentResult {
    /** One line for logs, CLI and tests, e.g. {@code failed (exit 1): ERROR: Failed: Timed out waiting to power OFF}. */
    String summary();

    /** The agent exited 0 (for {@code status}, see {@link StatusOn}). */
    record Success(AgentOutput output) implements AgentResult {
        public Success {
            Objects.requireNonNull(output, "output");
        }

        @Override
        public String summary() {
            return "success";
        }
    }

    /** {@code status} exited 0: the device answered and the plug is on. */
    record StatusOn(AgentOutput output) implements AgentResult {
        public StatusOn {
            Objects.requireNonNull(output, "output");
        }

        @Override
        public String summary() {
            return "power on";
        }
    }

    /** {@code status} or {@code monitor} exited 2: the device answered and the plug is off. */
    record StatusOff(AgentOutput output) implements AgentResult {
        public StatusOff {
            Objects.requireNonNull(output, "output");
        }

        @Override
        public String summary() {
            return "power off";
        }
    }

    /**
     * The agent exited with a status that means failure for its action.
     *
     * @param exitCode the exit status; 128 + N when a signal N killed it
     * @param reason the agent's last words on stderr (see {@link AgentOutput#lastWords()}), or
     *     a description of the exit when it said nothing
     */
    record Failed(int exitCode, String reason, AgentOutput output) implements AgentResult {
        public Failed {
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(output, "output");
        }

        @Override
        public String summary() {
            return "failed (exit " + exitCode + "): " + reason;
        }
    }

    /**
     * Baton's deadline passed before the agent exited, and Baton killed the agent's whole
     * process tree.
     *
     * @param after how long the agent had run when Baton gave up on it (at least the deadline)
     * @param output what it had written by then
     * @param survivingPids processes of the tree still alive after the kill had been repeated for
     *     {@link FenceAgent#KILL_CONFIRM_LIMIT}; empty unless one is stuck in the kernel (state D)
     */
    record TimedOut(Duration after, AgentOutput output, List<Long> survivingPids) implements AgentResult {
        public TimedOut {
            Objects.requireNonNull(after, "after");
            Objects.requireNonNull(output, "output");
            survivingPids = List.copyOf(survivingPids);
        }

        @Override
        public String summary() {
            return ProcessCall.timedOutSummary(after, survivingPids, output.lastWords());
        }
    }

    /**
     * The agent never ran: missing or not executable, a secret file unreadable, the process
     * could not be created. Nothing was sent to the device.
     */
    record CouldNotStart(String reason) implements AgentResult {
        public CouldNotStart {
            Objects.requireNonNull(reason, "reason");
        }

        @Override
        public String summary() {
            return "could not start: " + reason;
        }
    }

    /** The result of an agent that exited by itself, from the exit status and what the action means. */
    static AgentResult ofExit(AgentAction action, int exitCode, AgentOutput output) {
        boolean asksForPower = action == AgentAction.STATUS || action == AgentAction.MONITOR;
        if (exitCode == 0) {
            return action == AgentAction.STATUS ? new StatusOn(output) : new Success(output);
        }
        if (exitCode == 2 && asksForPower) {
            return new StatusOff(output);
        }
        String words = output.lastWords();
        return new Failed(exitCode, words.isEmpty() ? LastWords.silentExit("the agent", exitCode) : words, output);
    }
}
