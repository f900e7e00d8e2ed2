package baton.sim;

import static baton.sim.DiskWorld.MS;
import static org.assertj.core.api.Assertions.assertThat;

import baton.core.disk.Copy;
import baton.core.disk.DiskLayout;
import baton.core.disk.SlotRead;
import baton.core.liveness.DiskEvent;
import baton.core.liveness.ExitReason;
import baton.core.liveness.Liveness;
import baton.core.timing.Timeouts;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Scenario tests of the disk-liveness core: whole clusters of real cores on a simulated disk
 * with a simulated clock (no sleeps; a simulated second takes microseconds).
 */
class DiskLivenessScenarioTest {
    static final Timeouts T = Timeouts.DEFAULTS; // interval 200 ms, disk timeout 800 ms

    DiskWorld world(int nodes) {
        DiskWorld w = new DiskWorld(42, nodes, T);
        w.startAll();
        return w;
    }

    @Test
    void allNodesJoinAndSeeEachOtherFresh() {
        DiskWorld w = world(3);
        w.runMillis(1000);
        for (int reader = 1; reader <= 3; reader++) {
            assertThat(w.node(reader).core().phase()).as("node %d phase", reader).hasToString("MEMBER");
            for (int id = 1; id <= 3; id++) {
                assertThat(w.node(reader).livenessOf(id)).as("node %d sees %d", reader, id).isEqualTo(Liveness.FRESH);
            }
            assertThat(w.node(reader).events()).anyMatch(e -> e instanceof DiskEvent.Joined);
        }
    }

    @Test
    void crashedNodeTurnsStaleAfterTheDiskTimeoutNotBefore() {
        DiskWorld w = world(3);
        w.runMillis(1000);
        w.crash(3);
        w.runMillis(T.diskTimeoutMillis() - T.diskIntervalMillis());
        assertThat(w.node(1).livenessOf(3)).isEqualTo(Liveness.FRESH);
        // Judged at read time, from the first read that showed the last value: at most the
        // disk timeout plus two intervals after the crash.
        w.runMillis(3 * T.diskIntervalMillis() + 50);
        assertThat(w.node(1).livenessOf(3)).isEqualTo(Liveness.STALE);
        assertThat(w.node(2).livenessOf(3)).isEqualTo(Liveness.STALE);
        assertThat(w.node(1).core().view().get(2).evidence()).contains("unchanged for").contains("disk timeout 800 ms");
        assertThat(w.node(1).livenessOf(2)).isEqualTo(Liveness.FRESH);
    }

    @Test
    void aPausedReaderDoesNotAccuseOthersWhenItResumes() {
        DiskWorld w = world(3);
        w.runMillis(1000);
        w.pause(1, 5000);
        w.runMillis(6000);
        assertThat(w.node(1).events()).noneMatch(e -> e instanceof DiskEvent.LivenessChanged c
                && c.nodeId() != 1 && c.to() == Liveness.STALE);
        assertThat(w.node(1).livenessOf(2)).isEqualTo(Liveness.FRESH);
        // The others did see the paused node's slot stop: that is true, it wrote nothing for 5 s.
        assertThat(w.node(2).events()).anyMatch(e -> e instanceof DiskEvent.LivenessChanged c && c.nodeId() == 1 && c.to() == Liveness.STALE);
        assertThat(w.node(2).livenessOf(1)).isEqualTo(Liveness.FRESH);
    }

    @Test
    void aRestartedNodeWithANewIncarnationIsFreshAgainAndNotARegression() {
        DiskWorld w = world(3);
        w.runMillis(2000);
        long before = w.node(1).core().view().get(1).slot().counter();
        w.crash(2);
        w.runMillis(2000);
        assertThat(w.node(1).livenessOf(2)).isEqualTo(Liveness.STALE);
        w.start(2);
        w.runMillis(1000);
        assertThat(w.node(1).livenessOf(2)).isEqualTo(Liveness.FRESH);
        assertThat(w.node(1).core().view().get(1).slot().counter()).isLessThan(before); // counter restarted ...
        assertThat(w.node(1).events()).noneMatch(e -> e instanceof DiskEvent.CounterRegressed); // ... with a newer incarnation
    }

    @Test
    void aCorruptPrimarySlotIsReadFromTheShadowAndRepairedWithinOneInterval() {
        DiskWorld w = world(3);
        w.runMillis(1000);
        w.crash(2); // nobody rewrites node 2's slot but the repairers
        w.runMillis(100);
        w.disk().flipByte(Copy.PRIMARY, DiskLayout.slotOffsetBytes(2) + 33);
        assertThat(w.codec().decode(w.disk().raw(Copy.PRIMARY), (int) DiskLayout.slotOffsetBytes(2), 2))
                .isInstanceOf(SlotRead.Invalid.class);
        w.runMillis(T.diskIntervalMillis() + 20);
        assertThat(w.codec().decode(w.disk().raw(Copy.PRIMARY), (int) DiskLayout.slotOffsetBytes(2), 2))
                .isInstanceOf(SlotRead.Valid.class);
        assertThat(List.of(w.node(1), w.node(3))).anyMatch(n -> n.events().stream().anyMatch(e ->
                e instanceof DiskEvent.SlotRepaired r && r.copy() == Copy.PRIMARY && r.nodeId() == 2));
        assertThat(w.node(1).core().stats().repairs() + w.node(3).core().stats().repairs()).isGreaterThanOrEqualTo(1);
    }

    @Test
    void aCorruptShadowSlotOfALiveNodeIsRepairedAndTheNodeStaysFresh() {
        DiskWorld w = world(3);
        w.runMillis(1000);
        int mark = w.node(1).events().size();
        w.disk().flipByte(Copy.SHADOW, DiskLayout.slotOffsetBytes(3) + 70); // inside the MAC
        w.runMillis(1000);
        assertThat(w.node(1).events().subList(mark, w.node(1).events().size())).noneMatch(e -> e instanceof DiskEvent.LivenessChanged c && c.nodeId() == 3);
        assertThat(w.node(1).livenessOf(3)).isEqualTo(Liveness.FRESH);
    }

    @Test
    void whenBothCopiesOfASlotAreBadItsLivenessIsUnreadableNeverFresh() {
        DiskWorld w = world(3);
        w.runMillis(1000);
        w.crash(3);
        w.disk().flipByte(Copy.PRIMARY, DiskLayout.slotOffsetBytes(3) + 40);
        w.disk().flipByte(Copy.SHADOW, DiskLayout.slotOffsetBytes(3) + 41);
        w.runMillis(3000);
        assertThat(w.node(1).livenessOf(3)).isEqualTo(Liveness.UNKNOWN);
        assertThat(w.node(1).core().view().get(2).evidence()).contains("no valid copy").contains("checksum");
        assertThat(w.node(1).events()).noneMatch(e -> e instanceof DiskEvent.LivenessChanged c && c.nodeId() == 3
                && c.to() == Liveness.FRESH && c.from() == Liveness.UNKNOWN);
    }

    @Test
    void oneUnwritableCopyRaisesTheDegradedAlarmAndTheNodeStays() {
        DiskWorld w = world(3);
        w.runMillis(1000);
        w.disk().fault(2, Copy.PRIMARY, SimDisk.Fault.FAIL_WRITES);
        w.runMillis(5000);
        assertThat(w.node(2).running()).isTrue();
        assertThat(w.node(2).events()).anyMatch(e -> e instanceof DiskEvent.CopyHealth h
                && h.copy() == Copy.PRIMARY && !h.healthy() && h.degraded());
        assertThat(w.node(1).livenessOf(2)).isEqualTo(Liveness.FRESH);
        assertThat(w.node(1).core().view().get(1).slot().degraded()).isTrue(); // the flag others see
        w.disk().fault(2, Copy.PRIMARY, SimDisk.Fault.NONE);
        w.runMillis(1000);
        assertThat(w.node(2).events()).anyMatch(e -> e instanceof DiskEvent.CopyHealth h && h.copy() == Copy.PRIMARY && h.healthy());
        assertThat(w.node(2).core().stats().primaryHealthy()).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"FAIL_WRITES", "FAIL_ALL", "HANG"})
    void aMemberThatCanWriteNeitherCopyLeavesAfterTheDiskTimeout(String fault) {
        DiskWorld w = world(3);
        w.runMillis(1000);
        w.disk().fault(2, Copy.PRIMARY, SimDisk.Fault.valueOf(fault));
        w.disk().fault(2, Copy.SHADOW, SimDisk.Fault.valueOf(fault));
        // The last good write was at most one interval before the fault.
        w.runMillis(T.diskTimeoutMillis() - 2 * T.diskIntervalMillis() - 10);
        assertThat(w.node(2).running()).as("still a member before the disk timeout").isTrue();
        w.runMillis(T.diskTimeoutMillis());
        assertThat(w.node(2).exit()).isEqualTo(ExitReason.LOST_DISK);
        assertThat(w.node(2).exitDetail()).contains("could write neither copy");
        assertThat(w.node(1).running()).isTrue();
        assertThat(w.node(3).running()).isTrue();
        w.runMillis(2000);
        assertThat(w.node(1).livenessOf(2)).isEqualTo(Liveness.STALE);
    }

    @Test
    void aNodeThatCanWriteNeitherCopyAtStartRefusesToJoin() {
        DiskWorld w = new DiskWorld(7, 3, T);
        w.disk().fault(3, Copy.PRIMARY, SimDisk.Fault.FAIL_WRITES);
        w.disk().fault(3, Copy.SHADOW, SimDisk.Fault.FAIL_ALL);
        w.startAll();
        w.runMillis(T.joinTimeoutMillis() + 2 * T.diskIntervalMillis());
        assertThat(w.node(3).exit()).isEqualTo(ExitReason.JOIN_REFUSED);
        assertThat(w.node(3).exitDetail()).contains("primary write: EIO").contains("shadow write: EIO");
        assertThat(w.node(1).core().phase()).hasToString("MEMBER");
    }

    @Test
    void aNodeThatCanWriteOneCopyAtStartJoinsDegraded() {
        DiskWorld w = new DiskWorld(7, 3, T);
        w.disk().fault(3, Copy.SHADOW, SimDisk.Fault.FAIL_ALL);
        w.startAll();
        w.runMillis(1000);
        assertThat(w.node(3).core().phase()).hasToString("MEMBER");
        assertThat(w.node(3).events()).anyMatch(e -> e instanceof DiskEvent.Joined j && j.provenCopies().equals("primary"));
        assertThat(w.node(3).events()).anyMatch(e -> e instanceof DiskEvent.CopyHealth h && h.copy() == Copy.SHADOW && h.degraded());
    }

    @Test
    void aCleanLeaveIsNotStaleness() {
        DiskWorld w = world(3);
        w.runMillis(1000);
        w.leave(2);
        w.runMillis(100);
        assertThat(w.node(2).exit()).isEqualTo(ExitReason.LEFT);
        w.runMillis(5000);
        assertThat(w.node(1).livenessOf(2)).isEqualTo(Liveness.LEFT);
        assertThat(w.node(1).events()).noneMatch(e -> e instanceof DiskEvent.LivenessChanged c && c.nodeId() == 2 && c.to() == Liveness.STALE);
    }

    @Test
    void aDiskFaultAtEveryReaderMakesEveryoneUnreadableNotStale() {
        DiskWorld w = world(2);
        w.runMillis(1000);
        w.disk().fault(1, Copy.PRIMARY, SimDisk.Fault.FAIL_ALL);
        w.disk().fault(1, Copy.SHADOW, SimDisk.Fault.FAIL_ALL);
        w.runMillis(T.diskIntervalMillis() * 2);
        assertThat(w.node(1).livenessOf(2)).isEqualTo(Liveness.UNKNOWN);
        assertThat(w.node(1).core().view().get(1).evidence()).contains("reads neither copy");
    }

    /** Random faults from many seeds; the world asserts "counters never go backwards" after every step. */
    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 5, 8, 13, 21, 34, 55, 89})
    void randomFaultsNeverBreakTheInvariants(long seed) {
        java.util.Random r = new java.util.Random(seed);
        DiskWorld w = new DiskWorld(seed, 4, T);
        w.maxLatencyMillis(1 + r.nextInt(50));
        w.startAll();
        for (int step = 0; step < 60; step++) {
            int id = 1 + r.nextInt(4);
            switch (r.nextInt(7)) {
                case 0 -> w.disk().flipByte(r.nextBoolean() ? Copy.PRIMARY : Copy.SHADOW,
                        DiskLayout.slotOffsetBytes(id) + r.nextInt(100));
                case 1 -> w.disk().fault(id, r.nextBoolean() ? Copy.PRIMARY : Copy.SHADOW,
                        SimDisk.Fault.values()[r.nextInt(SimDisk.Fault.values().length)]);
                case 2 -> w.pause(id, r.nextInt(2000));
                case 3 -> {
                    if (w.node(id).running()) w.crash(id); else w.start(id);
                }
                default -> { }
            }
            w.runMillis(r.nextInt(500));
        }
        for (int id = 1; id <= 4; id++) {
            w.disk().fault(id, Copy.PRIMARY, SimDisk.Fault.NONE);
            w.disk().fault(id, Copy.SHADOW, SimDisk.Fault.NONE);
        }
        // Restart what is not running, as a supervisor would; a node that was still joining
        // when the faults healed may refuse to join a little later, so do it twice.
        for (int round = 0; round < 2; round++) {
            for (int id = 1; id <= 4; id++) {
                if (!w.node(id).running()) w.start(id);
            }
            w.runMillis(T.joinTimeoutMillis() + 1000);
        }
        // Convergence after healing: every running node is a member and sees every node fresh.
        for (int reader = 1; reader <= 4; reader++) {
            for (int id = 1; id <= 4; id++) {
                assertThat(w.node(reader).livenessOf(id)).as("seed %d: node %d sees %d\n%s", seed, reader, id,
                        String.join("\n", w.transcript().subList(Math.max(0, w.transcript().size() - 40), w.transcript().size())))
                        .isEqualTo(Liveness.FRESH);
            }
        }
    }
}
