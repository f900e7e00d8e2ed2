package baton.core.fence;

import static org.assertj.core.api.Assertions.assertThat;

import baton.core.disk.ClusterKey;
import baton.core.disk.Copy;
import baton.core.fence.PillWatch.Effect;
import baton.core.timing.Timeouts;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The victim's side of the poison pill, driven by hand: I = 200 ms, T = 800 ms, I/O timeout 400 ms. */
class PillWatchTest {
    static final long MS = 1_000_000L;
    static final FenceRecordCodec CODEC = new FenceRecordCodec(new UUID(1, 2), new ClusterKey(new byte[32]));
    final PillWatch w = new PillWatch(3, 500, Timeouts.DEFAULTS, CODEC);
    long now = 10_000 * MS;

    static byte[] record(long incarnation, boolean pill) {
        return CODEC.encode(new FenceRecord(3, incarnation, 1, 4, 0, 1, FenceRecord.State.FENCING, pill, 0, 0, "poison pill"));
    }

    List<Effect.Read> tick(long ms) {
        now += ms * MS;
        return reads(w.tick(now));
    }

    static List<Effect.Read> reads(List<Effect> out) {
        List<Effect.Read> r = new ArrayList<>();
        for (Effect e : out) {
            if (e instanceof Effect.Read read) {
                r.add(read);
            }
        }
        return r;
    }

    /** Ticks to the next cycle and answers both reads with {@code block} (null: an I/O error). */
    List<Effect> cycle(byte[] block) {
        List<Effect> out = new ArrayList<>();
        List<Effect.Read> rs = tick(200);
        assertThat(rs).hasSize(2);
        for (Effect.Read r : rs) {
            out.addAll(w.readDone(now + MS, r.copy(), r.cycle(), block, block == null ? "EIO" : null));
        }
        return out;
    }

    @Test
    void aPillForThisIncarnationMeansExitAtOnce() {
        assertThat(cycle(new byte[4096])).isEmpty();
        assertThat(cycle(record(499, true))).as("a pill for an older incarnation").isEmpty();
        assertThat(cycle(record(500, false))).as("a record without a pill").isEmpty();
        var out = cycle(record(500, true));
        assertThat(out).singleElement().isInstanceOfSatisfying(Effect.Exit.class, e -> {
            assertThat(e.pill()).isTrue();
            assertThat(e.detail()).startsWith("poison pill for incarnation 500 from node 1 (lease generation 4)");
        });
        assertThat(w.tick(now + 1_000 * MS)).isEmpty();
    }

    @Test
    void readsThatFailForTheDiskTimeoutMeanExit() {
        cycle(new byte[4096]);
        assertThat(cycle(null)).isEmpty();
        assertThat(cycle(null)).isEmpty();
        assertThat(cycle(null)).isEmpty();
        assertThat(cycle(null)).isEmpty(); // issued 799 ms after the last good read completed
        var out = cycle(null); // issued 999 ms after it
        assertThat(out).singleElement().isInstanceOfSatisfying(Effect.Exit.class, e -> {
            assertThat(e.pill()).isFalse();
            assertThat(e.detail()).contains("could not read its fence record from either copy").contains("EIO");
        });
    }

    @Test
    void oneReadableCopyIsEnough() {
        cycle(new byte[4096]);
        for (int i = 0; i < 20; i++) {
            var rs = tick(200);
            assertThat(w.readDone(now, rs.get(0).copy(), rs.get(0).cycle(), null, "EIO")).isEmpty();
            assertThat(w.readDone(now, rs.get(1).copy(), rs.get(1).cycle(), new byte[4096], null)).isEmpty();
        }
    }

    @Test
    void aHungReadFailsItsCopyAtTheIoTimeoutAndBlocksNoCycle() {
        cycle(new byte[4096]);
        var rs = tick(200);
        w.readDone(now, Copy.SHADOW, rs.get(1).cycle(), new byte[4096], null);
        // The primary read hangs; 400 ms after its issue it counts as failed and the next cycle
        // starts, reading only the shadow while the primary's read still hangs.
        assertThat(tick(200)).isEmpty();
        assertThat(tick(200)).extracting(Effect.Read::copy).containsExactly(Copy.SHADOW);
    }

    @Test
    void aPauseAloneDoesNotTriggerTheReadRule() {
        cycle(new byte[4096]);
        now += 5_000 * MS; // SIGSTOP for 5 s
        assertThat(cycle(new byte[4096])).isEmpty();
        assertThat(cycle(new byte[4096])).isEmpty();
    }

    @Test
    void aCorruptRecordOnBothCopiesCountsAsNoGoodRead() {
        cycle(new byte[4096]);
        byte[] bad = record(500, false);
        bad[30] ^= 1;
        List<Effect> all = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            all.addAll(cycle(bad));
        }
        assertThat(all).singleElement().isInstanceOfSatisfying(Effect.Exit.class,
                e -> assertThat(e.detail()).contains("checksum mismatch"));
    }
}
