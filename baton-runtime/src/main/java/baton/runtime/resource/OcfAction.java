package baton.runtime.resource;

import java.util.Locale;

/**
 * What an OCF resource agent is asked to do: its only command-line argument (the OCF resource
 * agent API, ClusterLabs/OCF-spec ra/1.1/resource-agent-api.md). The actions Baton uses;
 * agents may list more ({@code reload}, {@code migrate_to}, {@code promote}), never sent.
 */
public enum OcfAction {
    /** Start; exit 0 = running. Must succeed when it already runs. */
    START,
    /** Stop; exit 0 = stopped. Must succeed when it is already stopped: a failed stop means "maybe running". */
    STOP,
    /** Is it running? 0 = yes, 7 = cleanly stopped, anything else = failed. */
    MONITOR,
    /** The agent's self-description as XML on stdout. */
    META_DATA,
    /** Checks the parameters (and what they name) without touching the resource. */
    VALIDATE_ALL;

    /** The argument, as the agents spell it: the name in lower case, '-' for '_'. */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    @Override
    public String toString() {
        return wireName();
    }
}
