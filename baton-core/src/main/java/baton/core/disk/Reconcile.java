package baton.core.disk;

/**
 * Reconciles the primary's and the shadow's copy of one slot into what a reader believes,
 * as a pure function with named verdicts (TigerBeetle's habit for replicated on-disk state).
 *
 * <p>The rule of the seed: a reader uses the primary; when the primary is corrupt or
 * unreadable it uses the shadow and repairs the primary from it. Baton applies the same rule
 * the other way round (a bad shadow is repaired from a good primary), and when both copies are
 * valid but differ, which happens while the owner is between its two writes, it uses the
 * newer one and repairs nothing: the owner's next write settles it.
 */
public final class Reconcile {
    private Reconcile() {}

    public enum Verdict {
        /** Both copies hold the same slot. */
        AGREE,
        /** Both valid, the primary is newer (the owner has not yet written the shadow). */
        PRIMARY_NEWER,
        /** Both valid, the shadow is newer (the primary's write was lost or is late). */
        SHADOW_NEWER,
        /** The primary is bad or empty, the shadow good: use the shadow, rewrite the primary. */
        REPAIR_PRIMARY,
        /** The shadow is bad or empty, the primary good: use the primary, rewrite the shadow. */
        REPAIR_SHADOW,
        /** One copy good, the other could not be read at all: use the good one, nothing to repair. */
        ONE_COPY_READABLE,
        /** Neither copy was ever written. */
        BOTH_EMPTY,
        /** Neither copy holds a valid slot: the node's disk liveness is unknown. */
        BOTH_BAD
    }

    /** @param slot the slot to believe, or null for BOTH_EMPTY and BOTH_BAD */
    public record Result(Verdict verdict, Slot slot, Copy source) {
        /** The copy that must be rewritten from {@link #source}, or null. */
        public Copy repairTarget() {
            return switch (verdict) {
                case REPAIR_PRIMARY -> Copy.PRIMARY;
                case REPAIR_SHADOW -> Copy.SHADOW;
                case AGREE, PRIMARY_NEWER, SHADOW_NEWER, ONE_COPY_READABLE, BOTH_EMPTY, BOTH_BAD -> null;
            };
        }
    }

    public static Result slot(SlotRead primary, SlotRead shadow) {
        if (primary instanceof SlotRead.Valid p && shadow instanceof SlotRead.Valid s) {
            int c = p.slot().compareProgress(s.slot());
            if (c == 0 && p.slot().equals(s.slot())) {
                return new Result(Verdict.AGREE, p.slot(), Copy.PRIMARY);
            }
            return c >= 0 ? new Result(Verdict.PRIMARY_NEWER, p.slot(), Copy.PRIMARY)
                    : new Result(Verdict.SHADOW_NEWER, s.slot(), Copy.SHADOW);
        }
        if (primary instanceof SlotRead.Valid p) {
            return shadow instanceof SlotRead.Unreadable
                    ? new Result(Verdict.ONE_COPY_READABLE, p.slot(), Copy.PRIMARY)
                    : new Result(Verdict.REPAIR_SHADOW, p.slot(), Copy.PRIMARY);
        }
        if (shadow instanceof SlotRead.Valid s) {
            return primary instanceof SlotRead.Unreadable
                    ? new Result(Verdict.ONE_COPY_READABLE, s.slot(), Copy.SHADOW)
                    : new Result(Verdict.REPAIR_PRIMARY, s.slot(), Copy.SHADOW);
        }
        if (primary instanceof SlotRead.Empty && shadow instanceof SlotRead.Empty) {
            return new Result(Verdict.BOTH_EMPTY, null, null);
        }
        return new Result(Verdict.BOTH_BAD, null, null);
    }
}
