package baton.sim;

import static org.assertj.core.api.Assertions.assertThat;

import baton.core.disk.Copy;
import baton.core.liveness.ExitReason;
import baton.core.membership.Verdict;
import baton.core.timing.Timeouts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Whole clusters of real disk-liveness and membership cores in the deterministic world:
 * the failure rule under every fault the world can make, with the checkers of
 * {@link ClusterWorld} running after every step.
 */
class MembershipSimulationTest {
    static final Timeouts T = Timeouts.DEFAULTS;

    static ClusterWorld world(long seed, int nodes) {
        ClusterWorld w = new ClusterWorld(seed, nodes, 2, T, 0.01);
        w.startAll();
        w.runMillis(2000);
        return w;
    }

    @Test
    void everyNodeIsUpAfterStart() {
        ClusterWorld w = world(1, 5);
        w.assertConverged();
    }

    @Test
    void aCrashedNodeIsDownWithinTheTimeoutsWithEvidence() {
        ClusterWorld w = world(2, 3);
        w.crash(3);
        w.runMillis(700);
        assertThat(w.node(1).verdictOf(3)).isNotEqualTo(Verdict.DOWN);
        w.runMillis(1000);
        assertThat(w.node(1).verdictOf(3)).isEqualTo(Verdict.DOWN);
        assertThat(w.node(2).verdictOf(3)).isEqualTo(Verdict.DOWN);
        assertThat(w.node(1).verdicts()).last().satisfies(v -> assertThat(v.evidence())
                .contains("slot stale").contains("no heartbeat on any ring").contains("own ticks on time"));
    }

    @Test
    void aCutNetworkIsNetworkLostNeverDown() {
        ClusterWorld w = world(3, 3);
        w.isolate(3, true);
        w.runMillis(20_000);
        assertThat(w.node(1).verdictOf(3)).isEqualTo(Verdict.NETWORK_LOST);
        assertThat(w.node(3).verdictOf(1)).isEqualTo(Verdict.NETWORK_LOST);
        for (int i = 1; i <= 3; i++) {
            assertThat(w.node(i).verdicts()).noneMatch(v -> v.to() == Verdict.DOWN);
        }
        w.isolate(3, false);
        w.runMillis(2000);
        w.assertConverged();
    }

    @Test
    void anAsymmetricCutIsNotAFailure() {
        ClusterWorld w = world(4, 3);
        for (int r = 0; r < 2; r++) {
            w.cutOneWay(2, 1, r, true); // 1 no longer hears 2; 2 still hears 1
        }
        w.runMillis(10_000);
        assertThat(w.node(1).verdictOf(2)).isEqualTo(Verdict.NETWORK_LOST);
        assertThat(w.node(2).verdictOf(1)).isEqualTo(Verdict.UP);
        assertThat(w.node(3).verdictOf(2)).isEqualTo(Verdict.UP);
    }

    @Test
    void aNodeThatLosesTheDiskLeavesAndIsThenDown() {
        ClusterWorld w = world(5, 3);
        w.diskFault(2, Copy.PRIMARY, SimDisk.Fault.FAIL_ALL);
        w.diskFault(2, Copy.SHADOW, SimDisk.Fault.FAIL_ALL);
        w.runMillis(3000);
        assertThat(w.node(2).exit()).isEqualTo(ExitReason.LOST_DISK);
        assertThat(w.node(1).verdictOf(2)).isEqualTo(Verdict.DOWN);
    }

    @Test
    void aStaleSlotWithLiveHeartbeatsIsDiskLost() {
        ClusterWorld w = world(6, 3);
        // Node 2 still writes the shadow, but nobody else can read the shadow, and it cannot write the primary.
        w.diskFault(2, Copy.PRIMARY, SimDisk.Fault.FAIL_WRITES);
        w.diskFault(1, Copy.SHADOW, SimDisk.Fault.FAIL_ALL);
        w.diskFault(3, Copy.SHADOW, SimDisk.Fault.FAIL_ALL);
        w.runMillis(5000);
        assertThat(w.node(2).exit()).isNull();
        assertThat(w.node(1).verdictOf(2)).isEqualTo(Verdict.DISK_LOST);
    }

    @Test
    void aNodePausedPastTheTimeoutsIsDownAndRejoinsWithANewIncarnation() {
        ClusterWorld w = world(7, 3);
        long before = w.node(3).incarnation();
        w.pause(3, 3000);
        w.runMillis(2500);
        assertThat(w.node(1).verdictOf(3)).isEqualTo(Verdict.DOWN);
        w.runMillis(4000);
        assertThat(w.node(3).rejoins()).isEqualTo(1);
        assertThat(w.node(3).incarnation()).isGreaterThan(before);
        w.assertConverged();
    }

    @Test
    void aShortPauseIsNoFailure() {
        ClusterWorld w = world(8, 3);
        w.pause(2, 500);
        w.runMillis(3000);
        for (int i = 1; i <= 3; i++) {
            assertThat(w.node(i).verdicts()).noneMatch(v -> v.to() == Verdict.DOWN);
        }
        assertThat(w.node(2).rejoins()).isZero();
        w.assertConverged();
    }

    @Test
    void twoNodesWithTheNetworkCutButTheDiskSharedDeclareNeitherDown() {
        ClusterWorld w = world(9, 2);
        w.isolate(1, true);
        w.runMillis(30_000);
        assertThat(w.node(1).verdictOf(2)).isEqualTo(Verdict.NETWORK_LOST);
        assertThat(w.node(2).verdictOf(1)).isEqualTo(Verdict.NETWORK_LOST);
        assertThat(w.node(1).verdicts()).noneMatch(v -> v.to() == Verdict.DOWN);
        assertThat(w.node(2).verdicts()).noneMatch(v -> v.to() == Verdict.DOWN);
    }

    @Test
    void lossDelayAndDuplicationMakeNoFalseVerdicts() {
        ClusterWorld w = world(10, 5);
        w.network(30, 0.05);
        for (int a = 1; a <= 5; a++) {
            for (int b = 1; b <= 5; b++) {
                w.loss(a, b, 0.05);
            }
        }
        w.diskLatency(50);
        w.runMillis(120_000);
        for (int i = 1; i <= 5; i++) {
            assertThat(w.node(i).verdicts()).as("node %d", i).noneMatch(v -> v.to() == Verdict.DOWN || v.to() == Verdict.NETWORK_LOST);
        }
    }

    static long[] seeds() {
        long[] s = new long[24];
        for (int i = 0; i < s.length; i++) {
            s[i] = 1000 + i;
        }
        return s;
    }

    /** Random faults of every kind, then healing: the checkers hold throughout and the cluster converges. */
    @ParameterizedTest
    @MethodSource("seeds")
    void randomFaultsThenHealing(long seed) {
        runRandom(seed, 3 + (int) (seed % 5), 30_000);
    }

    /** One randomized run, also used by the soak command. */
    static void runRandom(long seed, int nodes, long faultMillis) {
        Simulations.randomFaultsThenHeal(seed, nodes, faultMillis);
    }
}
