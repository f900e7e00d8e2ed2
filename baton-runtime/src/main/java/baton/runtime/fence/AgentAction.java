package baton.runtime.fence;

/**
 * What a fence agent is asked to do: the {@code action=} line of its stdin.
 *
 * <p>These are the actions of the ClusterLabs fence agent API (doc/FenceAgentAPI.md in
 * ClusterLabs/fence-agents) that Baton uses. An agent may list more in its metadata
 * ({@code manpage}, {@code diag}, {@code list-status}); Baton never sends those.
 */
public enum AgentAction {
    /** Power on (un-fence). Exit 0 = done. */
    ON("on"),
    /** Power off and verify it is off. Exit 0 = the device confirmed power off. */
    OFF("off"),
    /** Off then on. Exit 0 = the off part succeeded; the on part may not have. */
    REBOOT("reboot"),
    /** Power state of the plug. Exit 0 = on, 2 = off, anything else = unknown. */
    STATUS("status"),
    /** Is the device reachable? Exit 0 = yes, 2 = yes and (single-port devices) off. */
    MONITOR("monitor"),
    /** The plugs of a multi-port device on stdout. Not every agent has it. */
    LIST("list"),
    /** The agent's self-description as XML on stdout. */
    METADATA("metadata"),
    /** Checks the parameters without contacting the device. Exit 0 = acceptable. */
    VALIDATE_ALL("validate-all");

    private final String wireName;

    AgentAction(String wireName) {
        this.wireName = wireName;
    }

    /** The value of the {@code action=} line, as the agents spell it. */
    public String wireName() {
        return wireName;
    }

    @Override
    public String toString() {
        return wireName;
    }
}
