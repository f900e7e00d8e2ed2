package baton.core.fence;

/**
 * An operator's request, written by {@code baton fence} on node {@code requesterId} into that
 * node's request block; the coordinator reads the request blocks and answers in the target's
 * fence record ({@link FenceRecord#requesterId()}, {@link FenceRecord#requestSeq()}).
 *
 * @param seq               grows with every request from the node (the writer's wall clock in ms, at least one more
 *                          than the previous request's)
 * @param targetIncarnation the incarnation the operator saw; 0 for a confirmation of whatever incarnation is down
 */
public record FenceRequest(int requesterId, long seq, Kind kind, int targetId, long targetIncarnation, long wallEpochMillis,
                           String reason) {
    public static final int MAX_REASON_BYTES = 128;

    public enum Kind {
        FENCE(1, "fence"), CONFIRM(2, "confirm");

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
    }

    public FenceRequest {
        if (requesterId < 1 || requesterId > baton.core.disk.DiskLayout.MAX_NODES || targetId < 1
                || targetId > baton.core.disk.DiskLayout.MAX_NODES || seq < 1 || targetIncarnation < 0 || kind == null
                || reason == null) {
            throw new IllegalArgumentException("malformed fence request from " + requesterId + " about " + targetId + " seq " + seq);
        }
    }
}
