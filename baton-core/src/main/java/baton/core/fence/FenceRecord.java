package baton.core.fence;

/**
 * What the coordinator records on the quorum disk about fencing one incarnation of a node:
 * in the node's fence record block (the latest word) and in the fence history ring.
 *
 * @param victimId          the node fenced
 * @param victimIncarnation its incarnation
 * @param seq               orders records cluster-wide: the history ring's index, one higher per record
 * @param generation        the coordinator lease generation it was written under (the fencing token)
 * @param wallEpochMillis   the writer's wall clock, for humans
 * @param coordinatorId     the node that wrote it
 * @param state             where fencing stands
 * @param pill              a poison pill: the victim's daemon, running as {@code victimIncarnation}, must stop its
 *                          workloads and exit when it reads this
 * @param requesterId       the node an operator request came from that this record answers (0: none)
 * @param requestSeq        that request's sequence number
 * @param text              how or why, for humans (cut to {@link #MAX_TEXT_BYTES} UTF-8 bytes on disk)
 */
public record FenceRecord(int victimId, long victimIncarnation, long seq, long generation, long wallEpochMillis,
                          int coordinatorId, State state, boolean pill, int requesterId, long requestSeq, String text) {
    public static final int MAX_TEXT_BYTES = 160;

    public enum State {
        /** Fencing runs (or waits for its delay or the next round). */
        FENCING(1, "fencing"),
        /** A level's devices confirmed power off (or reboot), or the poison pill's deadline passed. */
        FENCED(2, "fenced"),
        /** An operator confirmed by hand that the node is off. */
        CONFIRMED(3, "confirmed"),
        /** Every level failed: the node's state cannot be determined, nothing it ran is recovered. */
        CANNOT_DETERMINE(4, "cannot-determine"),
        /** A newer incarnation of the node joined: fencing the old one is moot. */
        CANCELLED(5, "cancelled"),
        /** An operator request was refused; the text says why. */
        REFUSED(6, "refused");

        public final int code;
        public final String label;

        State(int code, String label) {
            this.code = code;
            this.label = label;
        }

        public static State ofCode(int code) {
            for (State s : values()) {
                if (s.code == code) {
                    return s;
                }
            }
            return null;
        }

        /** The node counts as dead in this state. */
        public boolean dead() {
            return this == FENCED || this == CONFIRMED;
        }
    }

    public FenceRecord {
        if (victimId < 1 || victimId > baton.core.disk.DiskLayout.MAX_NODES || victimIncarnation < 0 || seq < 1
                || generation < 0 || coordinatorId < 0 || coordinatorId > baton.core.disk.DiskLayout.MAX_NODES
                || requesterId < 0 || requesterId > baton.core.disk.DiskLayout.MAX_NODES || state == null || text == null) {
            throw new IllegalArgumentException("malformed fence record: victim " + victimId + " incarnation " + victimIncarnation
                    + " seq " + seq + " generation " + generation + " coordinator " + coordinatorId + " requester " + requesterId);
        }
    }
}
