package baton.core.net;

/**
 * The anti-replay sliding window of IPsec (RFC 4303 section 3.4.3, RFC 6479) and DTLS
 * (RFC 6347 section 4.1.2.6) for one stream of sequence numbers: a number is accepted at most
 * once; numbers up to {@value #SIZE} - 1 below the highest seen may arrive late, in any
 * order; older ones are refused, since whether they were seen is no longer known.
 *
 * <p>State: {@code highest}, the highest number accepted (0: none yet), and a bitmap whose bit
 * i says whether {@code highest - i} was accepted. One {@code long}: {@value #SIZE} beats are
 * 6.4 s at the default interval, far more reordering than a LAN produces, and the window then
 * costs no allocation and no array.
 *
 * <p>The caller must authenticate a number before offering it: the window trusts what it is
 * given, and a forged number far ahead would otherwise shift every genuine beat out of it.
 */
public final class ReplayWindow {
    /** Limit: how far behind the highest number a late beat may be and still be accepted. */
    public static final int SIZE = Long.SIZE;

    public enum Outcome {
        /** Not seen before: accept it (the window now records it). */
        FRESH,
        /** Seen before: a replay or a duplicate. */
        SEEN,
        /** {@value #SIZE} or more below the highest: cannot be told from a replay. */
        TOO_OLD
    }

    private long highest;
    private long seen;

    /** Records {@code seq} (at least 1) if it is fresh, and says which it was. */
    public Outcome offer(long seq) {
        if (seq < 1) {
            throw new IllegalArgumentException("sequence number " + seq + " < 1");
        }
        if (seq > highest) {
            long shift = seq - highest;
            seen = shift >= SIZE ? 1L : (seen << shift) | 1L;
            highest = seq;
            return Outcome.FRESH;
        }
        long behind = highest - seq;
        if (behind >= SIZE) {
            return Outcome.TOO_OLD;
        }
        long bit = 1L << behind;
        if ((seen & bit) != 0) {
            return Outcome.SEEN;
        }
        seen |= bit;
        return Outcome.FRESH;
    }

    /** Forgets everything: the sender started a new incarnation, whose numbers start at 1 again. */
    public void reset() {
        highest = 0;
        seen = 0;
    }

    /** The highest number accepted, 0 when none. */
    public long highest() {
        return highest;
    }
}
