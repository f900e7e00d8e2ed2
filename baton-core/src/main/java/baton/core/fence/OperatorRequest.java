package baton.core.fence;

/**
 * An operator's request, written by {@code baton fence}, {@code baton ve|service ...} or
 * {@code baton node standby|unstandby} on node {@code requesterId} into that node's request
 * block; the coordinator reads the request blocks and answers a fence request in the target's
 * fence record ({@link FenceRecord#requesterId()}, {@link FenceRecord#requestSeq()}) and any
 * other in the requester's answer sector.
 *
 * @param seq               grows with every request from the node (the writer's wall clock in ms, at least one more
 *                          than the previous request's)
 * @param targetId          the node a fence or standby is about, or a workload goes to (0: any node)
 * @param targetIncarnation the incarnation the operator saw; 0 for a confirmation of whatever incarnation is down
 * @param workloadId        the workload a workload request is about, 0 for node requests
 */
public record OperatorRequest(int requesterId, long seq, Kind kind, int targetId, long targetIncarnation, long wallEpochMillis,
                              String reason, int workloadId) {
    public static final int MAX_REASON_BYTES = 128;

    public enum Kind {
        FENCE(1, "fence"), CONFIRM(2, "confirm"),
        START(3, "start"), STOP(4, "stop"), RESTART(5, "restart"), RELOCATE(6, "relocate"), FREEZE(7, "freeze"),
        UNFREEZE(8, "unfreeze"), STANDBY(9, "standby"), UNSTANDBY(10, "unstandby"),
        MIGRATE(11, "migrate"), MIGRATE_CHECKPOINT(12, "migrate --mode checkpoint"),
        SWITCHOVER(13, "switchover"), SWITCHOVER_CHECKPOINT(14, "switchover --mode checkpoint"),
        RESUME(15, "resume"), RESUME_SWITCH_BACK(16, "resume --switch-back");

        public final int code;
        public final String label;

        Kind(int code, String label) {
            this.code = code;
            this.label = label;
        }

        public static Kind ofCode(int code) {
            for (Kind k : values()) {
                if (k.code == code) {
                    return k;
                }
            }
            return null;
        }

        /** About a workload (its id in {@link #workloadId}). */
        public boolean workload() {
            return code >= 3 && code <= 8 || this == MIGRATE || this == MIGRATE_CHECKPOINT;
        }

        /** Answered in the fence record of the target. */
        public boolean fence() {
            return this == FENCE || this == CONFIRM;
        }
    }

    /** A fence or confirm request. */
    public OperatorRequest(int requesterId, long seq, Kind kind, int targetId, long targetIncarnation, long wallEpochMillis,
                           String reason) {
        this(requesterId, seq, kind, targetId, targetIncarnation, wallEpochMillis, reason, 0);
    }

    public OperatorRequest {
        if (requesterId < 1 || requesterId > baton.core.disk.DiskLayout.MAX_NODES || targetId < 0
                || targetId > baton.core.disk.DiskLayout.MAX_NODES || seq < 1 || targetIncarnation < 0 || kind == null
                || reason == null || (targetId == 0 && kind != Kind.RELOCATE && kind != Kind.MIGRATE && kind != Kind.MIGRATE_CHECKPOINT
                        && !kind.workload())
                || (kind.workload() != (workloadId >= 1)) || workloadId < 0 || workloadId > baton.core.disk.DiskLayout.MAX_WORKLOADS) {
            throw new IllegalArgumentException("malformed operator request from " + requesterId + ": " + kind + " about node "
                    + targetId + ", workload " + workloadId + ", seq " + seq);
        }
    }
}
