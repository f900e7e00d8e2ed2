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
 * @param flags            {@link #RESTART}: stopped by an operator's restart, to run again once its owner stopped it;
 *                         {@link #MIGRATE}: the planned move to {@code nextId} hands the running VE over (live, or
 *                         {@link #CHECKPOINT} through a file) instead of stopping it; {@link #MIGRATION_FAILED}: its
 *                         last migration failed
 * @param attempt          in a migration: which attempt (the table version that began it, low 32 bits), so that both
 *                         nodes' slot declarations name the attempt they are about; 0 otherwise
 * @param homeId           the node a switchover moved it off, so that {@code baton node resume --switch-back} can move it
 *                         back; 0 for none
 */
public record WorkloadRecord(int id, long epoch, long tableVersion, long generation, long wallEpochMillis, int ownerId,
                             long ownerIncarnation, Placement.Desired desired, int nextId, long nextIncarnation, String name,
                             String reason, int flags, int attempt, int homeId) {
    public static final int MAX_NAME_BYTES = 64;
    public static final int MAX_REASON_BYTES = 200;
    /** An operator's restart: the record says stopped until the owner stopped it, then running again. */
    public static final int RESTART = 1;
    /** A migration: the owner keeps running it until it has handed it over to the next node (docs/switchover.md). */
    public static final int MIGRATE = 2;
    /** With {@link #MIGRATE}: through a checkpoint file on shared storage instead of a live transfer. */
    public static final int CHECKPOINT = 4;
    /**
     * The last migration of it failed and was called off: a switchover does not try again by
     * itself (the operator migrates or relocates it); cleared by the next change.
     */
    public static final int MIGRATION_FAILED = 8;
    static final int KNOWN_FLAGS = RESTART | MIGRATE | CHECKPOINT | MIGRATION_FAILED;

    /** A record without a migration. */
    public WorkloadRecord(int id, long epoch, long tableVersion, long generation, long wallEpochMillis, int ownerId,
                          long ownerIncarnation, Placement.Desired desired, int nextId, long nextIncarnation, String name,
                          String reason, int flags) {
        this(id, epoch, tableVersion, generation, wallEpochMillis, ownerId, ownerIncarnation, desired, nextId, nextIncarnation,
                name, reason, flags, 0, 0);
    }

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
                || (nextId != 0 && nextId == ownerId) || (flags & ~KNOWN_FLAGS) != 0 || desired == null || name == null || reason == null
                || homeId < 0 || homeId > DiskLayout.MAX_NODES
                || ((flags & MIGRATE) != 0) != (nextId != 0 && attempt != 0 && desired == Placement.Desired.RUNNING)
                || ((flags & MIGRATE) == 0 && (attempt != 0 || (flags & CHECKPOINT) != 0))) {
            throw new IllegalArgumentException("malformed workload record " + id + ": epoch " + epoch + ", table " + tableVersion
                    + ", owner " + ownerId + ", next " + nextId + ", " + desired);
        }
    }

    public boolean restarting() {
        return (flags & RESTART) != 0;
    }

    /** A migration to {@link #nextId}: the owner runs it until the handover, then the next node does. */
    public boolean migrating() {
        return (flags & MIGRATE) != 0;
    }

    /** Its last migration failed (see {@link #MIGRATION_FAILED}). */
    public boolean migrationFailed() {
        return (flags & MIGRATION_FAILED) != 0;
    }

    /** A migration through a checkpoint file (else live). */
    public boolean checkpoint() {
        return (flags & CHECKPOINT) != 0;
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

    /** Whether {@code nodeId} in {@code incarnation} is the source of this migration: it runs the VE until it has handed it over. */
    public boolean migratesFrom(int nodeId, long incarnation) {
        return migrating() && ownerId == nodeId && ownerIncarnation == incarnation;
    }

    /** Whether {@code nodeId} in {@code incarnation} is the target of this migration: it receives the VE. */
    public boolean migratesTo(int nodeId, long incarnation) {
        return migrating() && nextId == nodeId && nextIncarnation == incarnation;
    }
}
