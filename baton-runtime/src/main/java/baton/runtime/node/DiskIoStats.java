package baton.runtime.node;

import java.util.Arrays;

/**
 * Counts the node daemon's quorum-disk I/O and the latency of each slot cycle (from issuing
 * the cycle's writes and reads to the last of their completions). Written by the event loop
 * only; read by benchmarks ({@link #snapshot()}) and by status and metrics ({@link #totals()}).
 */
public final class DiskIoStats {
    /** Limit: latency samples kept (a benchmark of 16 minutes at 5 cycles/s); later ones are counted, not kept. */
    static final int MAX_SAMPLES = 1 << 14;
    private static final int IN_FLIGHT = 64;

    private final long[] issued = new long[IN_FLIGHT];
    private final long[] cycleOf = new long[IN_FLIGHT];
    private final int[] pending = new int[IN_FLIGHT];
    /**
     * Limit: the recent cycles whose slowest one {@link #totals()} reports (about 13 s at the
     * default 5 cycles/s): a slow cycle shows for a while after it, long enough for a scrape.
     */
    static final int RECENT_CYCLES = 64;

    private final long[] samples = new long[MAX_SAMPLES];
    private int sampleCount;
    private long reads, writes, bytesRead, bytesWritten, cycles;
    /** Unlike {@code samples}, these keep going for as long as the daemon runs: for metrics and status. */
    private final long[] recent = new long[RECENT_CYCLES];
    private long cycleNanosTotal, lastCycleNanos, maxCycleNanos;

    void issued(long cycle, long nowNanos) {
        int i = (int) (cycle % IN_FLIGHT);
        if (cycleOf[i] != cycle) {
            cycleOf[i] = cycle;
            issued[i] = nowNanos;
            pending[i] = 0;
        }
        pending[i]++;
    }

    void completed(long cycle, long nowNanos) {
        int i = (int) (cycle % IN_FLIGHT);
        if (cycleOf[i] != cycle || pending[i] == 0) {
            return;
        }
        if (--pending[i] == 0) {
            long took = nowNanos - issued[i];
            recent[(int) (cycles % RECENT_CYCLES)] = took;
            cycles++;
            cycleNanosTotal += took;
            lastCycleNanos = took;
            maxCycleNanos = Math.max(maxCycleNanos, took);
            if (sampleCount < MAX_SAMPLES) {
                samples[sampleCount++] = took;
            }
        }
    }

    void read(int bytes) {
        reads++;
        bytesRead += bytes;
    }

    void wrote(int bytes) {
        writes++;
        bytesWritten += bytes;
    }

    public record Snapshot(long reads, long writes, long bytesRead, long bytesWritten, long cycles, long[] cycleNanos) {
        /** The p-th percentile (0..100) of the cycle latency in nanoseconds, nearest rank. */
        public long percentileNanos(double p) {
            if (cycleNanos.length == 0) {
                return 0;
            }
            long[] s = cycleNanos.clone();
            Arrays.sort(s);
            int rank = (int) Math.ceil(p / 100.0 * s.length);
            return s[Math.max(0, Math.min(s.length - 1, rank - 1))];
        }
    }

    /**
     * Counters since start and the cycle latency without the samples, cheap enough to take for
     * every status write.
     *
     * @param cycles cycles whose I/O all completed
     * @param cycleNanosTotal the sum of their latencies
     * @param recentMaxCycleNanos the slowest of the last {@value #RECENT_CYCLES} cycles
     */
    public record Totals(long reads, long writes, long bytesRead, long bytesWritten, long cycles, long cycleNanosTotal,
            long lastCycleNanos, long maxCycleNanos, long recentMaxCycleNanos) {}

    public synchronized Totals totals() {
        long recentMax = 0;
        for (int i = 0; i < Math.min(cycles, RECENT_CYCLES); i++) {
            recentMax = Math.max(recentMax, recent[i]);
        }
        return new Totals(reads, writes, bytesRead, bytesWritten, cycles, cycleNanosTotal, lastCycleNanos, maxCycleNanos,
                recentMax);
    }

    public synchronized Snapshot snapshot() {
        return new Snapshot(reads, writes, bytesRead, bytesWritten, cycles, Arrays.copyOf(samples, sampleCount));
    }

    synchronized void record(Runnable r) {
        r.run();
    }
}
