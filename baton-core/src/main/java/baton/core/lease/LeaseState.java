package baton.core.lease;

/**
 * The state a node publishes in its Disk Paxos block. The three "decided" states tell every
 * reader that the block's generation was decided, and for whom.
 */
public enum LeaseState {
    /** Not in a ballot; the Paxos fields are kept from earlier ballots (they must never be forgotten). */
    IDLE(1),
    /** Phase 1 of a ballot: the node announced {@code ballot} for the block's generation. */
    PREPARING(2),
    /** Phase 2: the node accepted {@code value} at {@code acceptedBallot}. */
    ACCEPTED(3),
    /** The node saw its ballot succeed for a value that is another owner: the generation is decided. */
    COMMITTED(4),
    /** The node holds the generation and renews it: each write is a renewal. */
    OWNER(5),
    /** The node held the generation and gave it up; it no longer believes it holds it. */
    RELEASED(6);

    public final int code;

    LeaseState(int code) {
        this.code = code;
    }

    public static LeaseState ofCode(int code) {
        for (LeaseState s : values()) {
            if (s.code == code) {
                return s;
            }
        }
        return null;
    }

    /** The block proves that its generation was decided, with {@code value} as the owner. */
    public boolean decided() {
        return switch (this) {
            case COMMITTED, OWNER, RELEASED -> true;
            case IDLE, PREPARING, ACCEPTED -> false;
        };
    }

    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
