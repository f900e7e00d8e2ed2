package baton.runtime.disk;

/** The quorum disk cannot be used, and must not be written: the message says why and what to do. */
public final class DiskRefusedException extends Exception {
    private final boolean ioFailure;

    public DiskRefusedException(String message, boolean ioFailure) {
        super(message);
        this.ioFailure = ioFailure;
    }

    /** True when the disk could not be read at all (the join rule), false when its content is wrong. */
    public boolean ioFailure() {
        return ioFailure;
    }
}
