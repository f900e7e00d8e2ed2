package baton.core.fence;

import baton.core.fence.FenceWatch.DeviceState;

/**
 * Events of the power-switch watch. {@link #fields()} is the key=value form used in logs, CLI and
 * tests; {@link #warning()} says whether it is logged as a warning (something stopped working) or as
 * info (something started working). Each is reported once per transition, never again while the
 * state holds.
 */
public sealed interface FenceWatchEvent {
    String fields();

    boolean warning();

    /**
     * A watched device changed state: {@code unknown -> ok} after its first answer, {@code -> failed} when a
     * monitor failed, timed out or was never reported, {@code failed -> ok} when it answers again. A new
     * failure reason while it stays failed is not a transition: the view shows it, the log does not repeat.
     */
    record DeviceChanged(String device, DeviceState from, DeviceState to, String reason) implements FenceWatchEvent {
        public String fields() {
            return "event=fence-device-changed device=" + device + " from=" + from.label() + " to=" + to.label()
                    + " reason=" + quote(reason);
        }

        public boolean warning() {
            return to == DeviceState.FAILED;
        }
    }

    /**
     * The alarm: no level of {@code nodeId} has every device answering its monitor (or it has no levels),
     * so fencing it now would fail, and with it any failover of its workloads.
     */
    record NoFencingPath(int nodeId, String reason) implements FenceWatchEvent {
        public String fields() {
            return "event=fence-no-path node-id=" + nodeId + " alarm=" + quote("fencing node " + nodeId + " would fail: " + reason);
        }

        public boolean warning() {
            return true;
        }
    }

    /** A node that had no fencing path has one again; {@code how} names the level that answers. */
    record PathRestored(int nodeId, String how) implements FenceWatchEvent {
        public String fields() {
            return "event=fence-path-restored node-id=" + nodeId + " how=" + quote(how);
        }

        public boolean warning() {
            return false;
        }
    }

    /** A value for a key=value line: quoted, with quotes, backslashes and line breaks of agent output defused. */
    private static String quote(String value) {
        return "\"" + value.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", " ").replace("\r", " ") + "\"";
    }
}
