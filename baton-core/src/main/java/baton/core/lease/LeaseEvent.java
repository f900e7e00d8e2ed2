package baton.core.lease;

import baton.core.disk.Copy;

/** Events of the coordinator-lease core. {@link #fields()} is the key=value form used in logs. */
public sealed interface LeaseEvent {
    String fields();

    /** This node holds {@code generation} from now on; {@code how} says which ballot or claim got it there. */
    record Acquired(long generation, Owner previous, String how, long holdMillis) implements LeaseEvent {
        public String fields() {
            return "event=lease-acquired generation=" + generation + " previous-owner=" + label(previous)
                    + " how=\"" + how + "\" hold-ms=" + holdMillis;
        }
    }

    /** This node stopped believing it holds {@code generation}. */
    record Lost(long generation, String reason) implements LeaseEvent {
        public String fields() {
            return "event=lease-lost generation=" + generation + " reason=\"" + reason + "\"";
        }
    }

    /** This node learned that {@code generation} was decided for {@code owner}. */
    record OwnerKnown(long generation, Owner owner, String source) implements LeaseEvent {
        public String fields() {
            return "event=lease-owner generation=" + generation + " owner=" + label(owner) + " owner-incarnation="
                    + owner.incarnation() + " source=\"" + source + "\"";
        }
    }

    /** This node starts a ballot for {@code generation}, taking over from {@code from}. */
    record TakeoverStarted(long generation, Owner from, String evidence) implements LeaseEvent {
        public String fields() {
            return "event=lease-takeover generation=" + generation + " from=" + label(from) + " evidence=\"" + evidence + "\"";
        }
    }

    /** A ballot did not win; {@code repeated} earlier failures of the same kind were not reported. */
    record BallotFailed(long generation, long ballot, String kind, String reason, long repeated) implements LeaseEvent {
        public String fields() {
            return "event=lease-ballot-failed generation=" + generation + " ballot=" + ballot + " kind=" + kind
                    + " reason=\"" + reason + "\"" + (repeated > 0 ? " repeated=" + repeated : "");
        }
    }

    /** The holder (or a node claiming a decided generation) could not confirm it this time. */
    record RenewalFailed(long generation, String reason, long repeated) implements LeaseEvent {
        public String fields() {
            return "event=lease-renewal-failed generation=" + generation + " reason=\"" + reason + "\""
                    + (repeated > 0 ? " repeated=" + repeated : "");
        }
    }

    /** A copy of a node's lease block (or of the leader record, node 0) is damaged. */
    record BlockDamaged(Copy copy, int nodeId, String detail) implements LeaseEvent {
        public String fields() {
            return "event=lease-block-damaged copy=" + copy.label() + " node=" + nodeId + " detail=\"" + detail + "\"";
        }
    }

    /** The core waits for something it needs before it can take part. */
    record Waiting(String reason) implements LeaseEvent {
        public String fields() {
            return "event=lease-waiting reason=\"" + reason + "\"";
        }
    }

    /** Another daemon writes this node's lease block: this core stops for good. */
    record Duplicate(long incarnation, String detail) implements LeaseEvent {
        public String fields() {
            return "event=lease-duplicate incarnation=" + incarnation + " detail=\"" + detail + "\"";
        }
    }

    private static String label(Owner o) {
        return o.isNone() ? "none" : Integer.toString(o.nodeId());
    }
}
