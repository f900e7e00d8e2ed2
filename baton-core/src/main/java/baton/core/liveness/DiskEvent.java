package baton.core.liveness;

import baton.core.disk.Copy;

/** Events of the disk-liveness core. {@link #fields()} is the key=value form used in logs. */
public sealed interface DiskEvent {
    String fields();

    record Joined(long incarnation, String provenCopies) implements DiskEvent {
        public String fields() {
            return "event=joined incarnation=" + incarnation + " proven=" + provenCopies;
        }
    }

    record LivenessChanged(int nodeId, Liveness from, Liveness to, String evidence) implements DiskEvent {
        public String fields() {
            return "event=disk-liveness node=" + nodeId + " from=" + from.label() + " to=" + to.label()
                    + " evidence=\"" + evidence + "\"";
        }
    }

    record SlotRepaired(Copy copy, int nodeId, String reason) implements DiskEvent {
        public String fields() {
            return "event=slot-repaired copy=" + copy.label() + " node=" + nodeId + " reason=\"" + reason + "\"";
        }
    }

    record RepairFailed(Copy copy, int nodeId, String error) implements DiskEvent {
        public String fields() {
            return "event=slot-repair-failed copy=" + copy.label() + " node=" + nodeId + " error=\"" + error + "\"";
        }
    }

    /** A copy stopped or started working for this node; {@code degraded} says whether exactly one works now. */
    record CopyHealth(Copy copy, boolean healthy, String reason, boolean degraded) implements DiskEvent {
        public String fields() {
            return "event=disk-copy copy=" + copy.label() + " healthy=" + healthy + " degraded=" + degraded
                    + " reason=\"" + reason + "\"";
        }
    }

    /** A reader saw a slot older than one it had already seen for the same node (a stale copy or a replay). */
    record CounterRegressed(int nodeId, long incarnation, long counter, long seenCounter) implements DiskEvent {
        public String fields() {
            return "event=counter-regressed node=" + nodeId + " incarnation=" + incarnation
                    + " counter=" + counter + " seen=" + seenCounter;
        }
    }

    record Leaving(ExitReason reason, String detail) implements DiskEvent {
        public String fields() {
            return "event=leaving reason=" + reason.label() + " detail=\"" + detail + "\"";
        }
    }
}
