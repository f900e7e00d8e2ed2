package baton.core.fence;

/**
 * What one fencing call asks for. The agent driver maps {@code OFF}, {@code STATUS} and
 * {@code REBOOT} to the agent's {@code action=off|status|reboot}; {@code PILL} is not an agent
 * call: the shell writes a poison pill for the victim's incarnation to both copies of the
 * quorum disk (docs/fencing.md, "Disk-based fencing").
 */
public enum FenceAction {
    OFF, STATUS, REBOOT, PILL;

    public String label() {
        return switch (this) {
            case OFF -> "off";
            case STATUS -> "status";
            case REBOOT -> "reboot";
            case PILL -> "poison-pill";
        };
    }
}
