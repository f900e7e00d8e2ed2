package baton.core.liveness;

/** A node's disk liveness as one reader sees it. */
public enum Liveness {
    /** Not judged yet: seen once, waiting for its counter to advance (or never read). */
    PENDING,
    /** Its counter advanced within the disk timeout. */
    FRESH,
    /** Its counter has not advanced for at least the disk timeout. */
    STALE,
    /** Neither copy of its slot is valid, or this reader cannot read the disk: never "fresh". */
    UNKNOWN,
    /** The slot was never written: the node has never joined. */
    EMPTY,
    /** The node left cleanly; its silence is not a failure. */
    LEFT;

    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
