package baton.core.liveness;

/** Why a node daemon stops; each has its own process exit status (see README). */
public enum ExitReason {
    /** Left cleanly on request. */
    LEFT(0),
    /** Join rule: at start it could write and read back its slot on neither copy. */
    JOIN_REFUSED(5),
    /** Leave rule: it could write neither copy for the disk timeout. */
    LOST_DISK(6),
    /** Another daemon with a newer incarnation writes this node's slot. */
    DUPLICATE_NODE(7),
    /** The coordinator wrote a poison pill for this incarnation: it was fenced through the disk. */
    POISON_PILL(8),
    /**
     * A part of this node failed in a way only a power cycle cures: a workload that cannot be
     * stopped, or one of its own loops stuck or dead. It stops what it can and exits, so that
     * its slot and heartbeats stop, the others declare it down, and its power switch fences it.
     */
    SELF_FENCE(9);

    public final int exitStatus;

    ExitReason(int exitStatus) {
        this.exitStatus = exitStatus;
    }

    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
}
