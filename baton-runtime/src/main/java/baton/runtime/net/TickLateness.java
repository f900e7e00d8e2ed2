package baton.runtime.net;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * How late the heartbeat send thread woke for its deadlines: a fixed histogram, written by the
 * send thread without allocating, read by anyone.
 *
 * <p>Buckets, in microseconds: 0, 1, 2 and 3 exactly; above that, four buckets per power of
 * two ([4,5), [5,6), [6,7), [7,8), [8,10), [10,12), ...), so a percentile read from a bucket's
 * upper bound is at most 25 % above the truth. Lateness beyond 2^{@value #MAX_OCTAVE} us
 * (about 12 days) lands in the last bucket. The maximum is kept exactly.
 */
final class TickLateness {
    static final int MAX_OCTAVE = 40;
    static final int BUCKETS = 4 + (MAX_OCTAVE - 1) * 4;

    private final AtomicLongArray counts = new AtomicLongArray(BUCKETS);
    private final AtomicLong ticks = new AtomicLong();
    private final AtomicLong lateTicks = new AtomicLong();
    private final AtomicLong skippedTicks = new AtomicLong();
    private final AtomicLong maxNanos = new AtomicLong();

    /** One tick that woke {@code latenessNanos} after its deadline; {@code late}: beyond the threshold. */
    void record(long latenessNanos, boolean late) {
        long nanos = Math.max(0, latenessNanos);
        counts.incrementAndGet(bucket(nanos / 1000));
        ticks.incrementAndGet();
        if (late) {
            lateTicks.incrementAndGet();
        }
        if (nanos > maxNanos.get()) {
            maxNanos.set(nanos); // one writer: no lost update
        }
    }

    /** Deadlines that passed entirely while the thread was late, and were not sent for. */
    void skipped(long deadlines) {
        skippedTicks.addAndGet(deadlines);
    }

    static int bucket(long micros) {
        if (micros < 4) {
            return (int) micros;
        }
        int octave = 63 - Long.numberOfLeadingZeros(micros); // >= 2
        if (octave > MAX_OCTAVE) {
            return BUCKETS - 1;
        }
        int sub = (int) (micros >>> (octave - 2)) & 3;
        return 4 + (octave - 2) * 4 + sub;
    }

    /** The first microsecond value above bucket {@code b}. */
    static long upperBoundMicros(int b) {
        if (b < 4) {
            return b + 1;
        }
        int octave = (b - 4) / 4 + 2;
        int sub = (b - 4) % 4;
        return (long) (5 + sub) << (octave - 2);
    }

    HeartbeatStats.Ticks snapshot(long lateThresholdNanos) {
        long[] c = new long[BUCKETS];
        long total = 0;
        for (int b = 0; b < BUCKETS; b++) {
            c[b] = counts.get(b);
            total += c[b];
        }
        long max = maxNanos.get();
        return new HeartbeatStats.Ticks(ticks.get(), lateTicks.get(), skippedTicks.get(), lateThresholdNanos,
                percentile(c, total, 0.50, max), percentile(c, total, 0.99, max), max);
    }

    /** The upper bound of the bucket holding the p-th value, never above the maximum seen. */
    private static long percentile(long[] counts, long total, double p, long max) {
        if (total == 0) {
            return 0;
        }
        long rank = (long) Math.ceil(p * total);
        long seen = 0;
        for (int b = 0; b < counts.length; b++) {
            seen += counts[b];
            if (seen >= rank) {
                return Math.min(max, upperBoundMicros(b) * 1000);
            }
        }
        return max;
    }
}
