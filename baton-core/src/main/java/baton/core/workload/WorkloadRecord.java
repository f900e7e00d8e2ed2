package baton.core.workload;

import baton.core.disk.DiskLayout;

/**
 * The owner record of one workload on the quorum disk, written only by the coordinator: who
 * owns it, whether it should run, and a move in progress. A node runs a workload only while the
 * record names it (and its incarnation) as owner and the workload should run.
 *
 * @param id               the workload's id (1..248), its sector on the disk
 * @param epoch            grows with every change of this record
 * @param tableVersion     the coordinator's table version when it wrote this record; grows across all records, so
 *                         that a node can acknowledge in its slot the newest table it has acted on
 * @param generation       the coordinator lease generation it was written under
 * @param ownerId          the owner's node id, 0 for none
 * @param ownerIncarnation the owner's incarnation
 * @param desired          running, stopped, or frozen (Baton leaves it alone)
 * @param nextId           in a planned move: the node that takes it once the owner stopped it; 0 for none
 * @param nextIncarnation  that node's incarnation
 * @param name             the workload's name, for humans and to catch a record left by another configuration
 * @param reason           why it is where it is (the last placement decision), for {@code baton status}
 * @param flags            {@link #RESTART}: stopped by an operator's restart, to run again once its owner stopped it
 */
public record WorkloadRecord(int id, long epoch, long tableVersion, long generation, long wallEpochMillis, int ownerId,
                             long ownerIncarnation, Placement.Desired desired, int nextId, long nextIncarnation, String name,
                             String reason, int flags) {
    public static final int MAX_NAME_BYTES = 64;
    public static final int MAX_REASON_BYTES = 200;
    /** An operator's restart: the record says stopped until the owner stopped it, then running again. */
    public static final int RESTART = 1;
    static final int KNOWN_FLAGS = RESTART;

    /** A record without flags. */
    public WorkloadRecord(int id, long epoch, long tableVersion, long generation, long wallEpochMillis, int ownerId,
                          long ownerIncarnation, Placement.Desired desired, int nextId, long nextIncarnation, String name,
                          String reason) {
        this(id, epoch, tableVersion, generation, wallEpochMillis, ownerId, ownerIncarnation, desired, nextId, nextIncarnation,
                name, reason, 0);
    }

    public WorkloadRecord {
        if (id < 1 || id > DiskLayout.MAX_WORKLOADS || epoch < 1 || tableVersion < 1 || generation < 0
                || ownerId < 0 || ownerId > DiskLayout.MAX_NODES || nextId < 0 || nextId > DiskLayout.MAX_NODES
                || (nextId != 0 && nextId == ownerId) || (flags & ~KNOWN_FLAGS) != 0 || desired == null || name == null || reason == null) {
            throw new IllegalArgumentException("malformed workload record " + id + ": epoch " + epoch + ", table " + tableVersion
                    + ", owner " + ownerId + ", next " + nextId + ", " + desired);
        }
    }

    public boolean restarting() {
        return (flags & RESTART) != 0;
    }

    /**
     * Orders two records of one workload: positive when {@code this} is newer. A record written
     * under a later coordinator lease generation is newer whatever its epoch: a deposed
     * coordinator's late write cannot pass for the current record.
     */
    public int compareNewer(WorkloadRecord other) {
        return generation != other.generation ? Long.compare(generation, other.generation) : Long.compare(epoch, other.epoch);
    }

    /** Whether {@code nodeId} in {@code incarnation} may run it now: it owns it, it should run, and no move takes it away. */
    public boolean runsOn(int nodeId, long incarnation) {
        return desired == Placement.Desired.RUNNING && ownerId == nodeId && ownerIncarnation == incarnation && nextId == 0;
    }
}
