package baton.lab;

/** A lab command that exited non-zero or timed out; the message names the command and its stderr. */
public final class CommandFailedException extends RuntimeException {
    private final transient ExecResult result;

    public CommandFailedException(ExecResult result) {
        super(result.describe());
        this.result = result;
    }

    public ExecResult result() {
        return result;
    }
}
