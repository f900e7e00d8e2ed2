package baton.runtime.ve;

import java.time.Duration;
import java.util.Objects;

/**
 * How one migration (live, or a checkpoint to a file) runs.
 *
 * @param downtimeLimit QEMU's {@code downtime-limit}: the longest pause QEMU aims at when it
 *     stops the source for the last round (1 ms..{@link #MAX_DOWNTIME_LIMIT}). QEMU keeps
 *     copying dirty memory until what is left fits into this at the measured rate, so a
 *     smaller limit means more rounds; {@code autoConverge} makes a busy guest fit eventually
 * @param maxBandwidthBytesPerSecond QEMU's {@code max-bandwidth} in bytes per second; 0 for
 *     unlimited (QEMU's own default is 128 MiB/s, which is the link speed of nothing)
 * @param autoConverge QEMU's {@code auto-converge}: throttle the guest's vCPUs when it dirties
 *     memory faster than it can be sent, so that a live migration ends instead of running into
 *     its deadline
 * @param deadline how long the whole migration may take, from the call to its result; then it
 *     is cancelled and the source runs on
 */
public record MigrationSettings(Duration downtimeLimit, long maxBandwidthBytesPerSecond, boolean autoConverge, Duration deadline) {
    /** QEMU's upper bound of {@code downtime-limit} (MAX_MIGRATE_DOWNTIME, 2000 s). */
    public static final Duration MAX_DOWNTIME_LIMIT = Duration.ofSeconds(2000);
    /**
     * 30 ms: QEMU plans the last copy's pause for this much; the whole pause, with Baton's
     * go-ahead ({@code pause-before-switchover}), the devices' state and the target's start,
     * then stays under 50 ms, a pause that TCP connections and ARP caches of the guest's peers
     * do not notice. With 50 ms, 2 of 20 moves of a guest rewriting 24 MiB paused it 51–63 ms
     * (docs/benchmarks.md). A guest dirtying memory slower than the link rate reaches it in a
     * few rounds; auto-converge slows one that does not.
     */
    public static final Duration DEFAULT_DOWNTIME_LIMIT = Duration.ofMillis(30);
    /**
     * 120 s: a 4 GiB guest at 1 Gbit/s takes about 35 s of copying plus what it dirties
     * meanwhile; a migration that needs much longer is better cancelled and retried than left
     * holding a switchover.
     */
    public static final Duration DEFAULT_DEADLINE = Duration.ofSeconds(120);
    /**
     * What "unlimited" is to QEMU: the largest {@code max-bandwidth} it takes. Its rate limit
     * divides this by ten per 100 ms, so no product overflows.
     */
    static final long QEMU_UNLIMITED_BANDWIDTH = Long.MAX_VALUE;

    public MigrationSettings {
        Objects.requireNonNull(downtimeLimit, "downtimeLimit");
        Objects.requireNonNull(deadline, "deadline");
        if (downtimeLimit.toMillis() < 1 || downtimeLimit.compareTo(MAX_DOWNTIME_LIMIT) > 0) {
            throw new IllegalArgumentException("downtimeLimit " + downtimeLimit.toMillis() + " ms outside 1.."
                    + MAX_DOWNTIME_LIMIT.toMillis() + " ms");
        }
        if (maxBandwidthBytesPerSecond < 0) {
            throw new IllegalArgumentException("maxBandwidthBytesPerSecond " + maxBandwidthBytesPerSecond + " is negative; 0 means unlimited");
        }
        if (deadline.toMillis() < 1) {
            throw new IllegalArgumentException("deadline " + deadline + " is not positive");
        }
    }

    /** 30 ms downtime, unlimited bandwidth, auto-converge, 120 s deadline. */
    public static MigrationSettings defaults() {
        return new MigrationSettings(DEFAULT_DOWNTIME_LIMIT, 0, true, DEFAULT_DEADLINE);
    }

    public MigrationSettings withDeadline(Duration newDeadline) {
        return new MigrationSettings(downtimeLimit, maxBandwidthBytesPerSecond, autoConverge, newDeadline);
    }

    public MigrationSettings withMaxBandwidth(long bytesPerSecond) {
        return new MigrationSettings(downtimeLimit, bytesPerSecond, autoConverge, deadline);
    }

    /** The value of QEMU's {@code max-bandwidth}: the limit, or {@link #QEMU_UNLIMITED_BANDWIDTH} for none. */
    long qemuMaxBandwidth() {
        return maxBandwidthBytesPerSecond == 0 ? QEMU_UNLIMITED_BANDWIDTH : maxBandwidthBytesPerSecond;
    }
}
