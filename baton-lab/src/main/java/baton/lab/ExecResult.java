package baton.lab;

import java.util.List;

/**
 * How one command ended: its exit status and what it printed.
 *
 * @param exitCode the exit status, 128 + N for a command killed by signal N, or -1 when it timed out
 * @param timedOut true when the command was still running at its timeout and was killed
 */
public record ExecResult(List<String> command, int exitCode, String stdout, String stderr, boolean timedOut) {
    public ExecResult {
        command = List.copyOf(command);
    }

    /** Exited with status 0 before its timeout. */
    public boolean ok() {
        return !timedOut && exitCode == 0;
    }

    /** This result when {@link #ok()}, else a {@link CommandFailedException} that names the command and its stderr. */
    public ExecResult orThrow() {
        if (!ok()) {
            throw new CommandFailedException(this);
        }
        return this;
    }

    /** One line for logs and exception messages. */
    public String describe() {
        String how = timedOut ? "timed out" : "exited " + exitCode;
        String err = stderr.strip();
        return "`" + String.join(" ", command) + "` " + how + (err.isEmpty() ? "" : ": " + err);
    }
}
