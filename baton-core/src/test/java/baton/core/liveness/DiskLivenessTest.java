package baton.core.liveness;

import static org.assertj.core.api.Assertions.assertThat;

import baton.core.disk.ClusterKey;
import baton.core.disk.Copy;
import baton.core.disk.DiskHeader;
import baton.core.disk.DiskLayout;
import baton.core.disk.HeaderCodec;
import baton.core.disk.Slot;
import baton.core.disk.SlotCodec;
import baton.core.disk.SlotState;
import baton.core.timing.Timeouts;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** Drives one core by hand with crafted disk contents and a fake clock. */
class DiskLivenessTest {
    static final long MS = 1_000_000L;
    static final ClusterKey KEY = new ClusterKey(new byte[32]);
    static final DiskHeader HEADER = new DiskHeader(1, Copy.PRIMARY, new UUID(3, 4), "t", 4096, 4, 256, 0, KEY.fingerprint());
    static final SlotCodec CODEC = new SlotCodec(HEADER.clusterId(), KEY);

    final DiskLiveness core = new DiskLiveness(1, HEADER, CODEC, Timeouts.DEFAULTS, 500, 4);
    final List<DiskEffect> effects = new ArrayList<>();
    long now;

    /** One disk interval: tick, complete the writes, answer the reads with {@code others} plus our own last slot. */
    void cycle(Slot... others) {
        List<DiskEffect> out = core.step(new DiskInput.Tick(now, 0));
        effects.addAll(out);
        byte[] own = null;
        for (DiskEffect e : out) {
            if (e instanceof DiskEffect.WriteSlot w) {
                own = w.block();
            }
        }
        for (DiskEffect e : out) {
            switch (e) {
                case DiskEffect.WriteSlot w -> effects.addAll(core.step(new DiskInput.WriteDone(now + MS, w.copy(), w.cycle(), null)));
                case DiskEffect.ReadArea r -> effects.addAll(core.step(new DiskInput.ReadDone(now + 2 * MS, r.copy(), r.cycle(), area(r.copy(), own, others), null)));
                default -> { }
            }
        }
        now += Timeouts.DEFAULTS.diskIntervalNanos();
    }

    static byte[] area(Copy c, byte[] own, Slot... others) {
        byte[] a = new byte[DiskLayout.LIVENESS_AREA_BYTES];
        System.arraycopy(HeaderCodec.encode(HEADER.forCopy(c)), 0, a, 0, 4096);
        if (own != null) {
            System.arraycopy(own, 0, a, 4096, 4096);
        }
        for (Slot s : others) {
            System.arraycopy(CODEC.encode(s), 0, a, (int) DiskLayout.slotOffsetBytes(s.nodeId()), 4096);
        }
        return a;
    }

    static Slot peer(long incarnation, long counter) {
        return new Slot(2, incarnation, counter, 0, SlotState.MEMBER, 0);
    }

    List<DiskEvent> events() {
        return effects.stream().filter(e -> e instanceof DiskEffect.Report).map(e -> ((DiskEffect.Report) e).event()).toList();
    }

    @Test
    void aCounterThatWrapsAroundIsProgressAndOneThatGoesBackIsReported() {
        cycle(peer(9, -3));
        cycle(peer(9, -2));
        cycle(peer(9, -1));
        cycle(peer(9, 0));
        cycle(peer(9, 1));
        assertThat(core.view().get(1).liveness()).isEqualTo(Liveness.FRESH);
        assertThat(events()).noneMatch(e -> e instanceof DiskEvent.CounterRegressed);
        cycle(peer(9, -1)); // an older value reappears (a stale copy): ignored and reported
        assertThat(core.view().get(1).slot().counter()).isEqualTo(1);
        assertThat(events()).anyMatch(e -> e instanceof DiskEvent.CounterRegressed r && r.nodeId() == 2);
    }

    @Test
    void aSlotIsStaleOnlyAfterTheDiskTimeoutOfUnchangedReads() {
        cycle(peer(9, 1));
        cycle(peer(9, 2));
        assertThat(core.view().get(1).liveness()).isEqualTo(Liveness.FRESH);
        for (int i = 0; i < 4; i++) {
            cycle(peer(9, 2));
        }
        assertThat(core.view().get(1).liveness()).isEqualTo(Liveness.FRESH); // 3 intervals after first sight
        cycle(peer(9, 2));
        assertThat(core.view().get(1).liveness()).isEqualTo(Liveness.STALE);
        cycle(peer(10, 1)); // restarted: new incarnation
        cycle(peer(10, 2));
        assertThat(core.view().get(1).liveness()).isEqualTo(Liveness.FRESH);
    }

    @Test
    void aNewerIncarnationInOurOwnSlotMeansAnotherDaemonHasOurIdentity() {
        cycle();
        cycle();
        assertThat(core.phase()).isEqualTo(DiskLiveness.Phase.MEMBER);
        List<DiskEffect> out = core.step(new DiskInput.Tick(now, 0));
        for (DiskEffect e : out) {
            if (e instanceof DiskEffect.ReadArea r) {
                byte[] a = area(r.copy(), CODEC.encode(new Slot(1, 501, 1, 0, SlotState.JOINING, 0)));
                effects.addAll(core.step(new DiskInput.ReadDone(now + MS, r.copy(), r.cycle(), a, null)));
            }
        }
        assertThat(effects).anyMatch(e -> e instanceof DiskEffect.Exit x && x.reason() == ExitReason.DUPLICATE_NODE);
        assertThat(core.phase()).isEqualTo(DiskLiveness.Phase.STOPPED);
    }

    @Test
    void aHeaderOfAnotherDiskMakesTheCopyUnusable() {
        DiskHeader foreign = new DiskHeader(1, Copy.PRIMARY, new UUID(7, 7), "other", 4096, 4, 256, 0, KEY.fingerprint());
        cycle();
        cycle();
        List<DiskEffect> out = core.step(new DiskInput.Tick(now, 0));
        for (DiskEffect e : out) {
            if (e instanceof DiskEffect.ReadArea r) {
                byte[] a = area(r.copy(), null);
                if (r.copy() == Copy.PRIMARY) {
                    System.arraycopy(HeaderCodec.encode(foreign), 0, a, 0, 4096);
                }
                effects.addAll(core.step(new DiskInput.ReadDone(now + MS, r.copy(), r.cycle(), a, null)));
            }
        }
        assertThat(events()).anyMatch(e -> e instanceof DiskEvent.CopyHealth h && h.copy() == Copy.PRIMARY
                && !h.healthy() && h.reason().contains("another disk"));
    }

    @Test
    void incarnationsOnlyGrow() {
        assertThat(DiskLiveness.nextIncarnation(0, 1_700_000_000_000L)).isEqualTo(1_700_000_000_000L);
        assertThat(DiskLiveness.nextIncarnation(1_700_000_000_005L, 1_700_000_000_000L)).isEqualTo(1_700_000_000_006L);
    }
}
