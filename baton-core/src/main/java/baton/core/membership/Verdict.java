package baton.core.membership;

/**
 * What a node concludes about a peer from all its evidence (the failure rule of the mission).
 * Only {@link #DOWN} may ever lead to fencing and failover.
 */
public enum Verdict {
    /** Its slot advances and it answers heartbeats. */
    UP,
    /** One channel (disk or network) has been silent for a while, but not yet past its timeout. */
    SUSPECT,
    /** Heartbeats gone on every ring for the network timeout, but its slot is fresh: no failover, alarm (possible partition). */
    NETWORK_LOST,
    /** Its slot is stale (or unknown), but heartbeats succeed: no failover, alarm (its disk path failed). */
    DISK_LOST,
    /** Slot stale for the disk timeout AND no heartbeat on any ring for the network timeout, while this node's own ticks were on time. */
    DOWN,
    /** Down, and then fenced: its power switch confirmed it off, or an operator confirmed it dead. Only now may what it ran be recovered. */
    FENCED,
    /** It left cleanly: not a failure. */
    LEFT,
    /** Never seen: its slot was never written and it never sent a heartbeat (not started yet). */
    ABSENT;

    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }

    /** Verdicts an operator must be alarmed about. */
    public boolean alarm() {
        return this == NETWORK_LOST || this == DISK_LOST || this == DOWN;
    }
}
