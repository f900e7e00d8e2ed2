package baton.runtime.config;

import baton.core.fence.FenceTiming;
import baton.core.fence.FenceWatch;
import baton.core.timing.Timeouts;

/**
 * The cluster-wide fencing settings (the configuration's {@code fencing:} section).
 *
 * @param reboot                 power devices are asked for {@code reboot} rather than {@code off}
 * @param monitorIntervalMillis  how often every node runs {@code monitor} on each other node's fence devices
 * @param monitorTimeoutMillis   the deadline of one monitor call
 * @param watchdogTimeoutMillis  the hardware watchdog that backs the poison pill on every node (0: none; then a
 *                               hung node is not covered by the poison-pill level, and the daemon warns)
 * @param workloadStopMillis     how long a node may take to stop its workloads when it must exit at once
 */
public record FencingConfig(boolean reboot, long monitorIntervalMillis, long monitorTimeoutMillis, long watchdogTimeoutMillis,
                            long workloadStopMillis) {
    public static final FencingConfig DEFAULTS = new FencingConfig(false, 30_000, 20_000, 0, 5_000);

    /** Limits of the values the loader accepts. */
    public static final long MIN_MONITOR_INTERVAL_MILLIS = 1_000;
    public static final long MAX_MILLIS = 3_600_000;
    public static final long MAX_MONITOR_INTERVAL_MILLIS = FenceWatch.Timing.MAX_INTERVAL_NANOS / 1_000_000L;

    public FencingConfig {
        if (monitorIntervalMillis < MIN_MONITOR_INTERVAL_MILLIS || monitorIntervalMillis > MAX_MONITOR_INTERVAL_MILLIS
                || monitorTimeoutMillis < 1 || monitorTimeoutMillis >= monitorIntervalMillis
                || watchdogTimeoutMillis < 0 || watchdogTimeoutMillis > MAX_MILLIS
                || workloadStopMillis < 0 || workloadStopMillis > MAX_MILLIS) {
            throw new IllegalArgumentException("fencing settings out of range: " + this);
        }
    }

    /** The fencing core's limits: the defaults, with the poison pill's wait derived from the disk timeouts. */
    public FenceTiming timing(Timeouts timeouts) {
        return FenceTiming.DEFAULTS.withPillWaitNanos(FenceTiming.pillWaitNanos(timeouts, watchdogTimeoutMillis * 1_000_000L,
                workloadStopMillis * 1_000_000L));
    }

    public FenceWatch.Timing monitorTiming() {
        return new FenceWatch.Timing(monitorIntervalMillis * 1_000_000L, monitorTimeoutMillis * 1_000_000L,
                Math.min(FenceWatch.Timing.DEFAULTS.completionGraceNanos(), monitorIntervalMillis * 1_000_000L));
    }
}
