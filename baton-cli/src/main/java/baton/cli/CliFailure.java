package baton.cli;

/** A command failed in a way the operator can act on: the message says what and how, the status is the exit status. */
final class CliFailure extends RuntimeException {
    private final int status;

    CliFailure(int status, String message) {
        super(message);
        this.status = status;
    }

    int status() {
        return status;
    }
}
