package baton.core.fence;

/** Events of the fencing core. {@link #fields()} is the key=value form used in logs, CLI and tests. */
public sealed interface FenceEvent {
    String fields();

    /** Level {@code level} (1-based) of round {@code round} started for {@code nodeId}. */
    record Started(int nodeId, long incarnation, int round, int level, String devices, String evidence) implements FenceEvent {
        public String fields() {
            return "event=fence-started node-id=" + nodeId + " incarnation=" + incarnation + " round=" + round
                    + " level=" + level + " devices=" + devices + " evidence=\"" + evidence + "\"";
        }
    }

    record LevelFailed(int nodeId, long incarnation, int round, int level, String device, String reason) implements FenceEvent {
        public String fields() {
            return "event=fence-level-failed node-id=" + nodeId + " incarnation=" + incarnation + " round=" + round
                    + " level=" + level + " device=" + device + " reason=\"" + reason + "\"";
        }
    }

    /** Every level failed (or none is configured): the loud alarm of the seed. */
    record CannotDetermineState(int nodeId, long incarnation, int round, String reason) implements FenceEvent {
        public String fields() {
            return "event=fence-alarm node-id=" + nodeId + " incarnation=" + incarnation + " round=" + round
                    + " reason=\"" + reason + "\" alarm=\"no failover will take place and the cluster cannot determine"
                    + " the node's state; fix fencing or run 'baton fence confirm " + nodeId + "' after checking by hand\"";
        }
    }

    record RetryScheduled(int nodeId, long incarnation, int nextRound, long atNanos, long waitNanos) implements FenceEvent {
        public String fields() {
            return "event=fence-retry-scheduled node-id=" + nodeId + " incarnation=" + incarnation + " next-round="
                    + nextRound + " at-ns=" + atNanos + " wait-ms=" + waitNanos / 1_000_000L;
        }
    }

    record Fenced(int nodeId, long incarnation, String how) implements FenceEvent {
        public String fields() {
            return "event=fenced node-id=" + nodeId + " incarnation=" + incarnation + " how=\"" + how + "\"";
        }
    }

    /** The quorum disk already records this incarnation as dead: nothing to do but believe it. */
    record AlreadyFenced(int nodeId, long incarnation, String how) implements FenceEvent {
        public String fields() {
            return "event=fence-already-recorded node-id=" + nodeId + " incarnation=" + incarnation + " how=\"" + how + "\"";
        }
    }

    /** This node stopped being coordinator while fencing {@code nodeId}; the next coordinator starts over. */
    record Abandoned(int nodeId, long incarnation, String reason) implements FenceEvent {
        public String fields() {
            return "event=fence-abandoned node-id=" + nodeId + " incarnation=" + incarnation + " reason=\"" + reason + "\"";
        }
    }

    /** A newer incarnation of {@code nodeId} joined: fencing the old one is moot. */
    record Cancelled(int nodeId, long incarnation, long newIncarnation) implements FenceEvent {
        public String fields() {
            return "event=fence-cancelled node-id=" + nodeId + " incarnation=" + incarnation + " new-incarnation=" + newIncarnation;
        }
    }

    /** Fencing of {@code nodeId} waits for its configured fence delay. */
    record Delayed(int nodeId, long incarnation, long delayNanos) implements FenceEvent {
        public String fields() {
            return "event=fence-delayed node-id=" + nodeId + " incarnation=" + incarnation + " delay-ms=" + delayNanos / 1_000_000L;
        }
    }

    /** An operator asked for {@code nodeId} to be fenced now. */
    record OperatorRequested(int nodeId, long incarnation, String reason) implements FenceEvent {
        public String fields() {
            return "event=fence-requested node-id=" + nodeId + " incarnation=" + incarnation + " reason=\"" + reason + "\"";
        }
    }

    /** An operator's request to fence was not taken, with why. */
    record RequestRefused(int nodeId, String reason) implements FenceEvent {
        public String fields() {
            return "event=fence-request-refused node-id=" + nodeId + " reason=\"" + reason + "\"";
        }
    }

    /** The poison pill is on both copies; the node counts as fenced once the pill deadline passed. */
    record PillWritten(int nodeId, long incarnation, long waitNanos) implements FenceEvent {
        public String fields() {
            return "event=fence-pill-written node-id=" + nodeId + " incarnation=" + incarnation + " wait-ms=" + waitNanos / 1_000_000L;
        }
    }

    /** An operator's confirmation was not taken, with why. */
    record ConfirmRefused(int nodeId, String reason) implements FenceEvent {
        public String fields() {
            return "event=fence-confirm-refused node-id=" + nodeId + " reason=\"" + reason + "\"";
        }
    }

    /** The operator confirmed by hand: said as a warning, since nothing checked it. */
    record OperatorConfirmed(int nodeId, long incarnation) implements FenceEvent {
        public String fields() {
            return "event=fence-operator-confirmed node-id=" + nodeId + " incarnation=" + incarnation
                    + " warning=\"the node counts as dead on the operator's word; if it still runs, its workloads run twice\"";
        }
    }
}
