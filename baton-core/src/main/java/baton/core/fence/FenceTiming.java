package baton.core.fence;

import baton.core.timing.Timeouts;

/**
 * The time limits of fencing.
 *
 * @param agentDeadlineNanos   how long one agent call may run; the shell kills it then and reports TIMED_OUT
 * @param retryBaseNanos       the wait after the first round in which every level failed; doubled per round
 * @param retryCapNanos        the longest wait between rounds
 * @param completionGraceNanos how long after a deadline the core still waits for the shell's report before
 *                             it counts the call as timed out itself (a lost completion must not hang fencing)
 * @param pillWaitNanos        how long after its poison pill is on both disk copies a victim counts as fenced
 *                             ({@link #pillWaitNanos(Timeouts, long, long)})
 */
public record FenceTiming(long agentDeadlineNanos, long retryBaseNanos, long retryCapNanos, long completionGraceNanos,
                          long pillWaitNanos) {
    private static final long S = 1_000_000_000L;

    /**
     * Agent deadline 60 s: fence_ipmilan with its default retries needs up to ~40 s against a slow BMC,
     * Pacemaker's default fence timeout is 60 s. Retries start after 5 s and settle at one round per
     * minute: often enough to notice a repaired switch, rarely enough not to hammer a sick BMC.
     * Grace 5 s covers the shell's kill-and-sweep of the agent's session. The pill wait here is the one
     * of the default disk timeouts without a watchdog and a 5 s workload stop budget.
     */
    public static final FenceTiming DEFAULTS = new FenceTiming(60 * S, 5 * S, 60 * S, 5 * S,
            pillWaitNanos(Timeouts.DEFAULTS, 0, 5 * S));

    public FenceTiming {
        if (agentDeadlineNanos <= 0 || retryBaseNanos <= 0 || retryCapNanos < retryBaseNanos || completionGraceNanos < 0
                || pillWaitNanos <= 0) {
            throw new IllegalArgumentException("fence timing " + agentDeadlineNanos + "/" + retryBaseNanos + "/"
                    + retryCapNanos + "/" + completionGraceNanos + "/" + pillWaitNanos
                    + ": need deadline > 0, 0 < base <= cap, grace >= 0, pill wait > 0");
        }
    }

    /** The same limits with another pill wait. */
    public FenceTiming withPillWaitNanos(long pillWait) {
        return new FenceTiming(agentDeadlineNanos, retryBaseNanos, retryCapNanos, completionGraceNanos, pillWait);
    }

    /** The wait after {@code failedRounds} (>= 1) full rounds failed: base * 2^(rounds-1), at most the cap. */
    public long backoffNanos(int failedRounds) {
        long wait = retryBaseNanos;
        for (int i = 1; i < failedRounds && wait < retryCapNanos; i++) {
            wait = wait > retryCapNanos / 2 ? retryCapNanos : wait * 2;
        }
        return Math.min(wait, retryCapNanos);
    }

    /**
     * How long after the coordinator saw its poison pill written to both copies the victim is
     * dead, whatever it was doing (docs/fencing.md has the timeline). With I the disk interval
     * and T the disk timeout, a victim whose daemon runs reads its fence record every I:
     * <ul>
     * <li>its next read is issued within I and completes within the I/O timeout 2I showing the
     *     pill: 3I;</li>
     * <li>or its reads fail: a read issued T or more after its last good read that fails makes
     *     it exit (the read rule, judged at issue time like staleness, so a pause alone does not
     *     trigger it); that read is issued within I of T and fails within 2I: T + 3I;</li>
     * </ul>
     * then it stops its workloads within {@code stopBudgetNanos} and exits. A victim that is hung
     * does none of this: the hardware watchdog, petted only after a good read of its fence record,
     * resets the machine {@code watchdogNanos} after the last pet. That pet may come from a read
     * issued just before the pill landed and completing up to 3I later, so the machine is reset
     * by W + 3I. So the wait is max(T, W) + 3I, stretched by the clock-rate bound for two clocks ((1 + e) / (1 - e)),
     * plus the stop budget. Without a watchdog (W = 0) a hung victim is not covered: the
     * configuration warns, and power fencing should come first.
     */
    public static long pillWaitNanos(Timeouts t, long watchdogNanos, long stopBudgetNanos) {
        if (watchdogNanos < 0 || stopBudgetNanos < 0) {
            throw new IllegalArgumentException("watchdog " + watchdogNanos + " ns, stop budget " + stopBudgetNanos + " ns");
        }
        long i = t.diskIntervalNanos();
        long base = Math.max(t.diskTimeoutNanos(), watchdogNanos) + 3 * i;
        long ppm = Timeouts.clockRateErrorPpm();
        long stretched = Math.ceilDiv(Math.multiplyExact(base, 1_000_000L + ppm), 1_000_000L - ppm);
        return stretched + stopBudgetNanos;
    }
}
