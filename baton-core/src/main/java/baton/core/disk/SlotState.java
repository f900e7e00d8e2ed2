package baton.core.disk;

/** The node state a node publishes in its slot. The code is the byte stored on disk. */
public enum SlotState {
    /** Started, proving it can write and read back its slot (the join rule). */
    JOINING(1),
    /** A member of the cluster. */
    MEMBER(2),
    /** Leaving cleanly (operator asked, or SIGTERM): stopping its workloads. */
    LEAVING(3),
    /** Left cleanly. A stale slot in this state is not a failure. */
    LEFT(4);

    public final int code;

    SlotState(int code) {
        this.code = code;
    }

    public static SlotState ofCode(int code) {
        for (SlotState s : values()) {
            if (s.code == code) {
                return s;
            }
        }
        return null;
    }

    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
