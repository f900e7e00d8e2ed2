package baton.core.liveness;

import baton.core.disk.Reconcile;
import baton.core.disk.Slot;
import baton.core.disk.SlotState;

/**
 * What one reader knows about one node's slot, and the staleness rule (see
 * {@link DiskLiveness}): a value first seen by a read that completed at {@code seen} has been
 * unchanged for at least {@code issued - seen} when a read issued at {@code issued} still
 * shows it. Shared by the node daemon's core and by one-shot readers such as
 * {@code baton status}.
 */
public final class SlotWatch {
    /** The result of one observation; {@code changed} when the liveness moved. */
    public record Observation(Liveness from, Liveness to, String evidence, boolean regressed, Slot regressedTo) {
        public boolean changed() {
            return from != to;
        }
    }

    private Liveness liveness = Liveness.PENDING;
    private Slot slot;
    private long seenNanos;
    private long unchangedNanos;
    private String evidence = "not read yet";
    private Reconcile.Verdict verdict;
    private String primary = "not read";
    private String shadow = "not read";

    /**
     * @param issuedNanos    when the read that produced {@code r} was issued
     * @param completedNanos when it completed
     */
    public Observation observe(Reconcile.Result r, String primaryVerdict, String shadowVerdict,
                               long issuedNanos, long completedNanos, long diskTimeoutNanos) {
        verdict = r.verdict();
        primary = primaryVerdict;
        shadow = shadowVerdict;
        switch (r.verdict()) {
            case BOTH_BAD -> {
                return set(Liveness.UNKNOWN, "no valid copy: primary " + primary + "; shadow " + shadow, null);
            }
            case BOTH_EMPTY -> {
                return set(Liveness.EMPTY, "slot never written", null);
            }
            case AGREE, PRIMARY_NEWER, SHADOW_NEWER, REPAIR_PRIMARY, REPAIR_SHADOW, ONE_COPY_READABLE -> { }
        }
        Slot s = r.slot();
        if (slot == null || s.compareProgress(slot) > 0) {
            boolean first = slot == null;
            slot = s;
            seenNanos = completedNanos;
            unchangedNanos = 0;
            if (s.state() == SlotState.LEFT) {
                return set(Liveness.LEFT, "left cleanly at counter " + s.counter(), null);
            }
            return first ? set(Liveness.PENDING, "counter " + s.counter() + " seen once, waiting for it to advance", null)
                    : set(Liveness.FRESH, "counter advanced to " + s.counter(), null);
        }
        Slot regressedTo = s.compareProgress(slot) < 0 ? s : null;
        if (slot.state() == SlotState.LEFT) {
            return set(Liveness.LEFT, "left cleanly at counter " + slot.counter(), regressedTo);
        }
        long unchanged = issuedNanos - seenNanos;
        unchangedNanos = Math.max(0, unchanged);
        if (unchanged >= diskTimeoutNanos) {
            return set(Liveness.STALE, "counter " + slot.counter() + " unchanged for " + unchanged / 1_000_000L
                    + " ms (disk timeout " + diskTimeoutNanos / 1_000_000L + " ms)", regressedTo);
        }
        if (liveness == Liveness.UNKNOWN || liveness == Liveness.EMPTY) {
            return set(Liveness.PENDING, "counter " + slot.counter() + " readable again, waiting for it to advance", regressedTo);
        }
        return set(liveness, evidence, regressedTo);
    }

    /** This reader cannot read the disk at all: it knows nothing new about anyone. */
    public Observation blind(String why) {
        return set(Liveness.UNKNOWN, why, null);
    }

    private Observation set(Liveness to, String why, Slot regressedTo) {
        Liveness from = liveness;
        liveness = to;
        evidence = why;
        return new Observation(from, to, why, regressedTo != null, regressedTo);
    }

    public Liveness liveness() {
        return liveness;
    }

    public Slot slot() {
        return slot;
    }

    public long unchangedNanos() {
        return unchangedNanos;
    }

    public String evidence() {
        return evidence;
    }

    public Reconcile.Verdict verdict() {
        return verdict;
    }

    public String primary() {
        return primary;
    }

    public String shadow() {
        return shadow;
    }
}
