package baton.core.fence;

/**
 * The time limits of fencing.
 *
 * @param agentDeadlineNanos   how long one agent call may run; the shell kills it then and reports TIMED_OUT
 * @param retryBaseNanos       the wait after the first round in which every level failed; doubled per round
 * @param retryCapNanos        the longest wait between rounds
 * @param completionGraceNanos how long after a deadline the core still waits for the shell's report before
 *                             it counts the call as timed out itself (a lost completion must not hang fencing)
 */
public record FenceTiming(long agentDeadlineNanos, long retryBaseNanos, long retryCapNanos, long completionGraceNanos) {
    private static final long S = 1_000_000_000L;

    /**
     * Agent deadline 60 s: fence_ipmilan with its default retries needs up to ~40 s against a slow BMC,
     * Pacemaker's default fence timeout is 60 s. Retries start after 5 s and settle at one round per
     * minute: often enough to notice a repaired switch, rarely enough not to hammer a sick BMC.
     * Grace 5 s covers the shell's kill-and-sweep of the agent's session.
     */
    public static final FenceTiming DEFAULTS = new FenceTiming(60 * S, 5 * S, 60 * S, 5 * S);

    public FenceTiming {
        if (agentDeadlineNanos <= 0 || retryBaseNanos <= 0 || retryCapNanos < retryBaseNanos || completionGraceNanos < 0) {
            throw new IllegalArgumentException("fence timing " + agentDeadlineNanos + "/" + retryBaseNanos + "/"
                    + retryCapNanos + "/" + completionGraceNanos + ": need deadline > 0, 0 < base <= cap, grace >= 0");
        }
    }

    /** The wait after {@code failedRounds} (>= 1) full rounds failed: base * 2^(rounds-1), at most the cap. */
    public long backoffNanos(int failedRounds) {
        long wait = retryBaseNanos;
        for (int i = 1; i < failedRounds && wait < retryCapNanos; i++) {
            wait = wait > retryCapNanos / 2 ? retryCapNanos : wait * 2;
        }
        return Math.min(wait, retryCapNanos);
    }
}
