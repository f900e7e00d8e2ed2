package baton.core.timing;

import java.util.ArrayList;
import java.util.List;

/**
 * Every timeout of Baton, derived from a few base values (sanlock's habit: one place, worked
 * timeline in docs/timeouts.md).
 *
 * <pre>
 *   disk interval  I  (base)         a node writes its slot and reads all slots every I
 *   disk timeout   T = I x missed    a slot whose counter has not advanced for T is stale;
 *                                    a node that could write neither copy for T leaves
 *   I/O timeout    = 2 x I           a disk read or write outstanding longer fails
 *   join timeout   = 4 x T           a starting node that proved neither copy within it refuses to join
 *   heartbeat interval H (base), network timeout = H x missedHeartbeats (membership)
 * </pre>
 *
 * Defaults: I = 200 ms and 4 missed intervals give T = 800 ms, so that a crashed node's slot
 * is judged stale within about one second (issue: detection p50 at most 1 s), while an I/O
 * that stalls for up to 400 ms costs nothing. A slow SAN wants a larger I: every other
 * disk timeout follows.
 */
public record Timeouts(long diskIntervalMillis, int missedDiskIntervals, long heartbeatIntervalMillis, int missedHeartbeats) {
    public static final Timeouts DEFAULTS = new Timeouts(200, 4, 100, 8);

    public long diskTimeoutMillis() {
        return diskIntervalMillis * missedDiskIntervals;
    }

    public long ioTimeoutMillis() {
        return 2 * diskIntervalMillis;
    }

    /**
     * A starting node has this long to prove it can write and read back its slot. Generous
     * (4 disk timeouts): a device that fails says so at once; the timeout only bounds a hang,
     * and a JVM that is still starting on a loaded machine must not be refused for its slowness.
     */
    public long joinTimeoutMillis() {
        return 4 * diskTimeoutMillis();
    }

    public long networkTimeoutMillis() {
        return heartbeatIntervalMillis * missedHeartbeats;
    }

    public long networkTimeoutNanos() {
        return networkTimeoutMillis() * 1_000_000L;
    }

    public long heartbeatIntervalNanos() {
        return heartbeatIntervalMillis * 1_000_000L;
    }

    public long diskIntervalNanos() {
        return diskIntervalMillis * 1_000_000L;
    }

    public long diskTimeoutNanos() {
        return diskTimeoutMillis() * 1_000_000L;
    }

    public long ioTimeoutNanos() {
        return ioTimeoutMillis() * 1_000_000L;
    }

    public long joinTimeoutNanos() {
        return joinTimeoutMillis() * 1_000_000L;
    }

    // The coordinator lease (docs/coordinator-lease.md has the timeline).

    /**
     * The bound on how much faster or slower than real time any node's monotonic clock may
     * run, in parts per million: 1 %. Crystal oscillators drift by tens of ppm and NTP slews by
     * at most 500 ppm; 1 % also covers a VM whose clock is steered hard. The lease's safety
     * margin is derived from it.
     */
    public static long clockRateErrorPpm() {
        return 10_000;
    }

    /** The holder renews its lease every disk interval I. */
    public long leaseRenewMillis() {
        return diskIntervalMillis;
    }

    /**
     * L = 4 x T: how long another node must have seen the holder's block unchanged, on its own
     * clock, before it may take the lease over. Long enough that a holder survives a renewal
     * that fails outright (both I/O timeouts) followed by a slow one; short enough that a dead
     * coordinator is replaced within a few seconds (3.2 s by default).
     */
    public long leaseTimeoutMillis() {
        return 4 * diskTimeoutMillis();
    }

    /**
     * What the drift bound costs: L x 2 x 1 %, rounded up, plus 1 ms for rounding between
     * clocks. A holder's D of its own time lasts at most D / (1 - e) of real time, another
     * node's L at least L / (1 + e); D <= L (1 - e) / (1 + e) makes the first end before the
     * second, and L - L x 2e is below that for every e < 1.
     */
    public long leaseSafetyMarginMillis() {
        long ppm = 2 * clockRateErrorPpm();
        return (leaseTimeoutMillis() * ppm + 999_999) / 1_000_000 + 1;
    }

    /**
     * D = L - margin: how long one successful renewal lets the holder believe it holds the
     * lease, counted on its own clock from the moment it issued the renewal's write.
     */
    public long leaseHoldMillis() {
        return leaseTimeoutMillis() - leaseSafetyMarginMillis();
    }

    public long leaseRenewNanos() {
        return leaseRenewMillis() * 1_000_000L;
    }

    public long leaseTimeoutNanos() {
        return leaseTimeoutMillis() * 1_000_000L;
    }

    public long leaseHoldNanos() {
        return leaseHoldMillis() * 1_000_000L;
    }

    /**
     * The orderings that safety and liveness need, as messages naming what is wrong;
     * empty when all hold. Checked when the configuration is loaded and in a test.
     */
    public List<String> violations() {
        List<String> v = new ArrayList<>();
        if (diskIntervalMillis < 10 || diskIntervalMillis > 60_000) {
            v.add("diskIntervalMillis must be between 10 and 60000, is " + diskIntervalMillis);
        }
        if (missedDiskIntervals < 3 || missedDiskIntervals > 100) {
            v.add("missedDiskIntervals must be between 3 and 100 (a slot must be allowed to miss at least"
                    + " one write after a slow I/O), is " + missedDiskIntervals);
        }
        if (heartbeatIntervalMillis < 10 || heartbeatIntervalMillis > 10_000) {
            v.add("heartbeatIntervalMillis must be between 10 and 10000, is " + heartbeatIntervalMillis);
        }
        if (missedHeartbeats < 3 || missedHeartbeats > 100) {
            v.add("missedHeartbeats must be between 3 and 100, is " + missedHeartbeats);
        }
        if (v.isEmpty() && ioTimeoutMillis() >= diskTimeoutMillis()) {
            v.add("the I/O timeout (2 x diskIntervalMillis) must be shorter than the disk timeout");
        }
        return v;
    }
}
