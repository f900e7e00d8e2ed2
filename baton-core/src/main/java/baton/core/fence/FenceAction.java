package baton.core.fence;

/** What an agent is asked to do; the agent driver maps these to {@code action=off} and {@code action=status}. */
public enum FenceAction {
    OFF, STATUS;

    String label() {
        return switch (this) {
            case OFF -> "off";
            case STATUS -> "status";
        };
    }
}
