package baton.runtime.resource;

import baton.runtime.proc.LastWords;
import baton.runtime.proc.ProcessCall;
import baton.runtime.proc.ProcessOutput;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/**
 * How one call of a resource's agent or command ended, for every kind of resource (OCF agents
 * and exec commands; an exec status is mapped to these OCF meanings by {@link ExecDriver}).
 * Operating errors are cases, never exceptions: what each means depends on the action (a
 * {@link NotRunning} is the success of a stop-check and the failure of a start), which the
 * caller decides.
 */
public sealed interface ResourceResult {
    /** One line for logs, CLI and tests, e.g. {@code failed (exit 6, NOT_CONFIGURED): IP address (the ip parameter) is mandatory}. */
    String summary();

    /** Exit 0: the action succeeded; for monitor and status, the resource runs. */
    record Ok(ProcessOutput output) implements ResourceResult {
        public Ok {
            Objects.requireNonNull(output, "output");
        }

        @Override
        public String summary() {
            return "ok";
        }
    }

    /** OCF 7 (or an exec status of 3 or 7): the resource is cleanly stopped. */
    record NotRunning(ProcessOutput output) implements ResourceResult {
        public NotRunning {
            Objects.requireNonNull(output, "output");
        }

        @Override
        public String summary() {
            return "not running";
        }
    }

    /** OCF 8: running, in the promoted role. */
    record Promoted(ProcessOutput output) implements ResourceResult {
        public Promoted {
            Objects.requireNonNull(output, "output");
        }

        @Override
        public String summary() {
            return "running promoted";
        }
    }

    /**
     * A failing exit status.
     *
     * @param exitCode the exit status; 128 + N when a signal N killed it
     * @param reason the agent's own reason (its last {@code ocf-exit-reason:} or last meaningful
     *     stderr line), or a description of the exit when it said nothing
     */
    record Failed(OcfError error, int exitCode, String reason, ProcessOutput output) implements ResourceResult {
        public Failed {
            Objects.requireNonNull(error, "error");
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(output, "output");
        }

        @Override
        public String summary() {
            return "failed (exit " + exitCode + ", " + error + "): " + reason;
        }
    }

    /**
     * Baton's deadline passed; the whole process tree was killed. The resource's state is
     * unknown: a start or stop may have half happened.
     *
     * @param lastWords what the agent said last before it was killed, or empty
     * @param survivingPids processes still alive after the kill rounds; empty unless one is stuck in the kernel
     */
    record TimedOut(Duration after, String lastWords, ProcessOutput output, List<Long> survivingPids)
            implements ResourceResult {
        public TimedOut {
            Objects.requireNonNull(after, "after");
            Objects.requireNonNull(lastWords, "lastWords");
            Objects.requireNonNull(output, "output");
            survivingPids = List.copyOf(survivingPids);
        }

        @Override
        public String summary() {
            return ProcessCall.timedOutSummary(after, survivingPids, lastWords);
        }
    }

    /** The agent or command never ran (missing, not executable, the process could not be created). */
    record CouldNotStart(String reason) implements ResourceResult {
        public CouldNotStart {
            Objects.requireNonNull(reason, "reason");
        }

        @Override
        public String summary() {
            return "could not start: " + reason;
        }
    }

    /** The result of an OCF exit code (and of an LSB one for actions other than status, which agree up to 7). */
    static ResourceResult ofOcfExit(int exitCode, String reason, ProcessOutput output) {
        return switch (exitCode) {
            case 0 -> new Ok(output);
            case 7 -> new NotRunning(output);
            case 8 -> new Promoted(output);
            default -> new Failed(OcfError.of(exitCode), exitCode,
                    reason.isEmpty() ? LastWords.silentExit("the program", exitCode) : reason, output);
        };
    }

    /** What an exit status means: {@link #ofOcfExit} for OCF agents, {@link ExecDriver} for exec status. */
    @FunctionalInterface
    interface ExitMeaning {
        ResourceResult of(int exitCode, String reason, ProcessOutput output);
    }

    /**
     * The result of one call.
     *
     * @param reasonOf the agent's own reason in its output (empty when it said nothing)
     */
    static ResourceResult of(ProcessCall.Outcome outcome, Function<ProcessOutput, String> reasonOf, ExitMeaning meaning) {
        return switch (outcome) {
            case ProcessCall.Outcome.Exited e -> meaning.of(e.exitCode(), reasonOf.apply(e.output()), e.output());
            case ProcessCall.Outcome.TimedOut t ->
                    new TimedOut(t.after(), reasonOf.apply(t.output()), t.output(), t.survivingPids());
            case ProcessCall.Outcome.CouldNotStart c -> new CouldNotStart(c.reason());
        };
    }
}
