package baton.lab;

/** A lab wait that reached its bound; the message says what was awaited and for how long. */
public final class LabTimeoutException extends RuntimeException {
    public LabTimeoutException(String message) {
        super(message);
    }
}
