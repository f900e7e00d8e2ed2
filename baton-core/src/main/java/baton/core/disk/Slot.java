package baton.core.disk;

/**
 * What one node publishes in its slot every disk interval.
 *
 * @param incarnation changes on every start of the node daemon and only grows
 *                    ({@code max(previous + 1, wall-clock millis at start)})
 * @param counter     advances by one every disk interval; compared with serial-number
 *                    arithmetic so that a wrap from 2^64-1 to 0 still counts as progress
 * @param wallEpochMillis the writer's wall clock, for humans only: liveness never compares
 *                    clocks of different machines
 * @param workloads   what the node declares about workloads (docs/workloads.md)
 */
public record Slot(int nodeId, long incarnation, long counter, long wallEpochMillis, SlotState state, int flags,
                   SlotWorkloads workloads) {
    /** The writer cannot write one of the two copies. */
    public static final int FLAG_DEGRADED_DISK = 1;

    /** A slot that declares no workloads. */
    public Slot(int nodeId, long incarnation, long counter, long wallEpochMillis, SlotState state, int flags) {
        this(nodeId, incarnation, counter, wallEpochMillis, state, flags, SlotWorkloads.NONE);
    }

    public Slot {
        java.util.Objects.requireNonNull(workloads, "workloads");
        if (nodeId < 1 || nodeId > DiskLayout.MAX_NODES) {
            throw new IllegalArgumentException("node id " + nodeId);
        }
        if (flags < 0 || flags > 0xff) {
            throw new IllegalArgumentException("flags " + flags);
        }
    }

    public boolean degraded() {
        return (flags & FLAG_DEGRADED_DISK) != 0;
    }

    /**
     * Orders two slots of the same node: positive when {@code this} is newer. A higher
     * incarnation is newer; within one incarnation the counter decides, by serial-number
     * arithmetic (RFC 1982): newer when {@code this.counter - other.counter}, taken as a
     * signed 64-bit number, is positive.
     */
    public int compareProgress(Slot other) {
        if (incarnation != other.incarnation) {
            return Long.compareUnsigned(incarnation, other.incarnation);
        }
        return Long.signum(counter - other.counter);
    }
}
