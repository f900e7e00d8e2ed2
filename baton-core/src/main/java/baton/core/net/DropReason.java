package baton.core.net;

import java.util.Locale;

/**
 * Why a received heartbeat was dropped. A dropped packet is counted under its reason and
 * never acted on. The reasons are fine-grained so that an operator can tell a cabling mistake
 * (wrong source, wrong ring) from a second cluster on the same network (foreign cluster, or
 * forged when it has another key) from an attack (forged, replayed); {@link #kind()} groups
 * them as the issue names them.
 */
public enum DropReason {
    /** Not {@value HeartbeatCodec#PACKET_BYTES} bytes long. */
    WRONG_SIZE(Kind.MALFORMED),
    /** Does not start with the heartbeat magic: not a Baton heartbeat at all. */
    BAD_MAGIC(Kind.MALFORMED),
    /** A format version this node does not speak (a rolling upgrade gone wrong). */
    BAD_VERSION(Kind.MALFORMED),
    /** Names a ring this cluster does not have, or arrived on another ring's socket. */
    WRONG_RING(Kind.MALFORMED),
    /** Sender id outside 1..32. */
    BAD_SENDER_ID(Kind.MALFORMED),
    /** Claims to come from this node: a reflection, or another node configured with our id. */
    FROM_SELF(Kind.MALFORMED),
    /** Sender id that is not a node of this cluster's configuration. */
    UNKNOWN_SENDER(Kind.MALFORMED),
    /** Incarnation or sequence number below 1, which no sender uses. */
    BAD_NUMBERS(Kind.MALFORMED),
    /** Did not come from the address and port configured for its sender on this ring. */
    WRONG_SOURCE(Kind.MALFORMED),
    /** Carries another cluster id: another cluster on the same network and port. */
    FOREIGN_CLUSTER(Kind.FOREIGN_CLUSTER),
    /** The MAC does not match: another cluster key, or forged. */
    FORGED(Kind.FORGED),
    /** This sequence number of this incarnation was accepted before (on this ring). */
    REPLAYED(Kind.REPLAYED),
    /** Older than the replay window: cannot be told from a replay, so treated as one. */
    TOO_OLD(Kind.REPLAYED),
    /** From an incarnation older than the newest heard from that sender on any ring. */
    OLD_INCARNATION(Kind.REPLAYED);

    /** The groups the issue names. */
    public enum Kind { MALFORMED, FOREIGN_CLUSTER, FORGED, REPLAYED }

    private final Kind kind;

    DropReason(Kind kind) {
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }

    /** The reason as logs and metrics name it, e.g. {@code old-incarnation}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
