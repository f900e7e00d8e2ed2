package baton.core.disk;

import static baton.core.disk.Reconcile.Verdict.*;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ReconcileTest {
    static final Slot OLD = new Slot(1, 10, 5, 0, SlotState.MEMBER, 0);
    static final Slot NEW = new Slot(1, 10, 6, 0, SlotState.MEMBER, 0);
    static final SlotRead OLD_R = new SlotRead.Valid(OLD);
    static final SlotRead NEW_R = new SlotRead.Valid(NEW);
    static final SlotRead EMPTY = new SlotRead.Empty();
    static final SlotRead BAD = new SlotRead.Invalid(SlotRead.Problem.CHECKSUM, "x");
    static final SlotRead GONE = new SlotRead.Unreadable("EIO");

    @Test
    void verdictTable() {
        check(NEW_R, NEW_R, AGREE, NEW, Copy.PRIMARY, null);
        check(NEW_R, OLD_R, PRIMARY_NEWER, NEW, Copy.PRIMARY, null);
        check(OLD_R, NEW_R, SHADOW_NEWER, NEW, Copy.SHADOW, null);
        check(BAD, OLD_R, REPAIR_PRIMARY, OLD, Copy.SHADOW, Copy.PRIMARY);
        check(EMPTY, OLD_R, REPAIR_PRIMARY, OLD, Copy.SHADOW, Copy.PRIMARY);
        check(OLD_R, BAD, REPAIR_SHADOW, OLD, Copy.PRIMARY, Copy.SHADOW);
        check(GONE, OLD_R, ONE_COPY_READABLE, OLD, Copy.SHADOW, null);
        check(OLD_R, GONE, ONE_COPY_READABLE, OLD, Copy.PRIMARY, null);
        check(EMPTY, EMPTY, BOTH_EMPTY, null, null, null);
        check(BAD, BAD, BOTH_BAD, null, null, null);
        check(EMPTY, BAD, BOTH_BAD, null, null, null);
        check(GONE, GONE, BOTH_BAD, null, null, null);
    }

    @Test
    void aNewerIncarnationWinsOverAHigherCounter() {
        Slot restarted = new Slot(1, 11, 1, 0, SlotState.JOINING, 0);
        check(OLD_R, new SlotRead.Valid(restarted), SHADOW_NEWER, restarted, Copy.SHADOW, null);
    }

    @Test
    void theCounterWrapsBySerialNumberArithmetic() {
        Slot max = new Slot(1, 10, -1, 0, SlotState.MEMBER, 0); // 2^64 - 1
        Slot wrapped = new Slot(1, 10, 0, 0, SlotState.MEMBER, 0);
        assertThat(wrapped.compareProgress(max)).isPositive();
        assertThat(max.compareProgress(wrapped)).isNegative();
    }

    private static void check(SlotRead p, SlotRead s, Reconcile.Verdict v, Slot slot, Copy source, Copy repair) {
        Reconcile.Result r = Reconcile.slot(p, s);
        assertThat(r.verdict()).isEqualTo(v);
        assertThat(r.slot()).isEqualTo(slot);
        assertThat(r.source()).isEqualTo(source);
        assertThat(r.repairTarget()).isEqualTo(repair);
    }
}
