package baton.runtime.node;

import baton.core.liveness.ExitReason;

/** Process exit statuses of {@code baton} commands; documented in the README. */
public final class ExitStatus {
    private ExitStatus() {}

    public static final int OK = 0;
    /** A command failed (e.g. {@code disk check} found problems, or an unexpected error). */
    public static final int FAILURE = 1;
    /** Wrong command-line usage (picocli's convention). */
    public static final int USAGE = 2;
    /** The configuration or the key file is invalid. */
    public static final int CONFIG = 3;
    /** The quorum disk belongs to another cluster, has an unknown format, or a corrupt header: not used, not written. */
    public static final int DISK_REFUSED = 4;
    public static final int JOIN_REFUSED = ExitReason.JOIN_REFUSED.exitStatus;
    public static final int LOST_DISK = ExitReason.LOST_DISK.exitStatus;
    public static final int DUPLICATE_NODE = ExitReason.DUPLICATE_NODE.exitStatus;
    public static final int POISON_PILL = ExitReason.POISON_PILL.exitStatus;
}
