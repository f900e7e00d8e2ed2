package baton.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import baton.core.disk.Copy;
import baton.core.fence.FenceEvent;
import baton.core.liveness.ExitReason;
import baton.core.membership.Verdict;
import baton.core.timing.Timeouts;
import baton.sim.ClusterWorld.FenceReport;
import baton.sim.ClusterWorld.Recovered;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Whole clusters with the real fencing core on every node, wired as the daemon wires it, in
 * the deterministic world: power switches that work, fail, hang or weld; the poison pill on the
 * simulated disk; the hardware watchdog. The world's checkers run after every step: nothing is
 * recovered while its incarnation runs (or ever runs again), no fenced incarnation's write lands,
 * at most one {@code Fenced} per incarnation, {@code Fenced} only for an incarnation the
 * coordinator's membership declared down (or an operator asked for).
 */
class FencingSimulationTest {
    static final Timeouts T = Timeouts.DEFAULTS;

    static ClusterWorld world(long seed, int nodes, boolean pill) {
        ClusterWorld w = new ClusterWorld(seed, nodes, 2, T, 0.01).enableFencing(FenceSetup.of(T, pill));
        w.startAll();
        w.runMillis(3000);
        assertThat(w.coordinator()).as("a coordinator after start").isNotNull();
        return w;
    }

    /** The highest-numbered node that is not the coordinator: the victim of a scenario. */
    static int victim(ClusterWorld w) {
        int c = w.coordinator().id;
        return c == w.size() ? w.size() - 1 : w.size();
    }

    static List<FenceEvent> events(ClusterWorld w, Class<? extends FenceEvent> kind) {
        return w.fenceReports().stream().map(FenceReport::event).filter(kind::isInstance).toList();
    }

    static long at(ClusterWorld w, Class<? extends FenceEvent> kind) {
        return w.fenceReports().stream().filter(r -> kind.isInstance(r.event())).mapToLong(FenceReport::atMillis).findFirst()
                .orElseThrow();
    }

    @Test
    void aCrashedNodeIsDownThenFencedByItsSwitchThenRecovered() {
        ClusterWorld w = world(101, 3, false);
        int v = victim(w);
        int c = w.coordinator().id;
        long inc = w.node(v).incarnation();
        w.crash(v);
        w.runMillis(5000);
        assertThat(w.recovered()).singleElement().satisfies(r -> {
            assertThat(r.nodeId()).isEqualTo(v);
            assertThat(r.incarnation()).isEqualTo(inc);
            assertThat(r.coordinator()).isEqualTo(c);
            assertThat(r.how()).isEqualTo("level 1: pdu-" + v + " confirmed off");
        });
        assertThat(w.node(v).powered()).isFalse();
        assertThat(w.node(c).verdictOf(v)).isEqualTo(Verdict.FENCED);
        // Down first, fenced after: the verdicts of the coordinator say so in order.
        assertThat(w.node(c).verdicts().stream().filter(x -> x.peer() == v).map(x -> x.to()).toList())
                .containsSubsequence(Verdict.DOWN, Verdict.FENCED);
        // It comes back as a new incarnation, and the cluster converges.
        w.start(v);
        w.runMillis(5000);
        assertThat(w.node(v).incarnation()).isGreaterThan(inc);
        w.assertConverged();
    }

    @Test
    void aFailingSwitchFallsBackToThePoisonPillFencedAfterThePillWait() {
        ClusterWorld w = world(102, 3, true);
        int v = victim(w);
        long inc = w.node(v).incarnation();
        w.switchFault(v, FenceSetup.SwitchFault.UNREACHABLE);
        w.crash(v);
        w.runMillis(8000);
        assertThat(events(w, FenceEvent.LevelFailed.class)).singleElement()
                .satisfies(e -> assertThat(e.fields()).contains("device=pdu-" + v).contains("Unable to connect"));
        assertThat(w.recovered()).singleElement().satisfies(r -> {
            assertThat(r.nodeId()).isEqualTo(v);
            assertThat(r.incarnation()).isEqualTo(inc);
            assertThat(r.how()).isEqualTo("level 2: poison-pill poison pill deadline passed");
        });
        long pillWaitMillis = FenceSetup.of(T, true).timing().pillWaitNanos() / 1_000_000L;
        long waited = w.recovered().getFirst().atMillis() - at(w, FenceEvent.PillWritten.class);
        // The coordinator's clock may run 1 % fast.
        assertThat(waited).isBetween(pillWaitMillis * 99 / 100, pillWaitMillis + 100);
        assertThat(w.node(v).powered()).isTrue(); // the switch never worked
    }

    @Test
    void aPausedNodeWhoseSwitchFailsIsResetByTheWatchdogBeforeThePillWaitEnds() {
        ClusterWorld w = world(103, 3, true);
        int v = victim(w);
        w.switchFault(v, FenceSetup.SwitchFault.HANG);
        w.pause(v, 60_000);
        w.runMillis(12_000);
        assertThat(w.node(v).halted()).startsWith("watchdog");
        assertThat(w.recovered()).singleElement().satisfies(r -> assertThat(r.how()).contains("poison pill"));
    }

    /**
     * A node that can no longer write either copy, cut from the network, with a dead switch: its
     * disk-liveness core stops it (lost disk) before the others' verdict is down, and the pill level
     * fences it. (A victim that still runs when the pill lands and reads it is rarer; the random runs
     * reach it, "halt ... poison pill read" in their transcripts.)
     */
    @Test
    void aNodeThatCannotWriteStopsItselfAndThePillFencesIt() {
        ClusterWorld w = world(104, 3, true);
        int v = victim(w);
        w.switchFault(v, FenceSetup.SwitchFault.UNREACHABLE);
        w.diskFault(v, Copy.PRIMARY, SimDisk.Fault.FAIL_WRITES);
        w.diskFault(v, Copy.SHADOW, SimDisk.Fault.FAIL_WRITES);
        w.isolate(v, true);
        w.runMillis(10_000);
        assertThat(w.node(v).exit()).isEqualTo(ExitReason.LOST_DISK);
        assertThat(w.recovered()).singleElement().satisfies(r -> {
            assertThat(r.nodeId()).isEqualTo(v);
            assertThat(r.how()).contains("poison pill");
        });
    }

    @Test
    void aWeldedSwitchThatStillSaysOnFailsItsLevel() {
        ClusterWorld w = world(105, 3, true);
        int v = victim(w);
        w.switchFault(v, FenceSetup.SwitchFault.STUCK_ON);
        w.crash(v);
        w.runMillis(8000);
        assertThat(events(w, FenceEvent.LevelFailed.class)).singleElement()
                .satisfies(e -> assertThat(e.fields()).contains("power still on after off"));
        assertThat(w.recovered()).singleElement().satisfies(r -> assertThat(r.how()).contains("poison pill"));
    }

    @Test
    void allLevelsFailingMeansNoRecoveryAndTheAlarmUntilAnOperatorConfirms() {
        ClusterWorld w = world(106, 3, false);
        int v = victim(w);
        long inc = w.node(v).incarnation();
        w.switchFault(v, FenceSetup.SwitchFault.UNREACHABLE);
        w.crash(v);
        w.runMillis(30_000);
        assertThat(w.recovered()).isEmpty();
        assertThat(events(w, FenceEvent.CannotDetermineState.class)).hasSizeGreaterThanOrEqualTo(3)
                .allSatisfy(e -> assertThat(e.fields()).contains("no failover will take place"));
        assertThat(w.node(w.coordinator().id).verdictOf(v)).isEqualTo(Verdict.DOWN);
        assertThat(w.operatorConfirm(v)).isTrue();
        w.runMillis(100);
        assertThat(w.recovered()).singleElement().satisfies(r -> {
            assertThat(r.incarnation()).isEqualTo(inc);
            assertThat(r.how()).isEqualTo("operator");
        });
        assertThat(events(w, FenceEvent.OperatorConfirmed.class)).hasSize(1);
    }

    @Test
    void aCutNetworkWithTheDiskSharedFencesNobody() {
        ClusterWorld w = world(107, 3, true);
        w.isolate(3, true);
        w.runMillis(20_000);
        assertThat(w.fenceReports()).isEmpty();
        assertThat(w.recovered()).isEmpty();
        w.isolate(3, false);
        w.runMillis(3000);
        w.assertConverged();
    }

    @Test
    void aNodePausedPastTheTimeoutsIsPoweredOffWhilePausedAndNeverResumesAsItself() {
        ClusterWorld w = world(108, 3, false);
        int v = victim(w);
        long inc = w.node(v).incarnation();
        w.pause(v, 1_500); // shorter than the watchdog: only the switch can stop it
        w.runMillis(1_400);
        assertThat(w.node(v).paused()).isTrue();
        assertThat(w.node(v).halted()).isEqualTo("powered off by pdu-" + v);
        assertThat(w.recovered()).singleElement().satisfies(r -> assertThat(r.incarnation()).isEqualTo(inc));
        w.runMillis(10_000);
        assertThat(w.node(v).running()).isFalse();
        assertThat(w.node(v).rejoins()).isZero();
        w.start(v);
        w.runMillis(5000);
        assertThat(w.node(v).incarnation()).isGreaterThan(inc);
        w.assertConverged();
    }

    @Test
    void aCoordinatorThatCrashesWhileFencingIsReplacedAndTheNewOneFences() {
        ClusterWorld w = world(109, 4, false);
        int old = w.coordinator().id;
        int v = victim(w);
        w.switchFault(v, FenceSetup.SwitchFault.HANG); // the old coordinator's off never returns
        w.crash(v);
        w.runMillis(2000);
        assertThat(events(w, FenceEvent.Started.class)).hasSize(1);
        w.crash(old);
        w.switchFault(v, FenceSetup.SwitchFault.NONE);
        w.runMillis(10_000);
        assertThat(w.coordinator().id).isNotEqualTo(old);
        assertThat(w.recovered()).anySatisfy(r -> {
            assertThat(r.nodeId()).isEqualTo(v);
            assertThat(r.coordinator()).isNotEqualTo(old);
        });
        assertThat(w.recovered()).anySatisfy(r -> assertThat(r.nodeId()).isEqualTo(old)); // it crashed too
    }

    /**
     * A known gap, pinned so that it is seen: the coordinator does not record a fence on the quorum
     * disk yet (docs/fencing.md, "not yet"), so a new coordinator, whose own membership still holds
     * the victim's incarnation down, fences it again and its workloads are "recovered" twice. Safe
     * (the victim is off), but not what the checker of one {@code Fenced} per incarnation wants: once
     * the fence record exists and feeds the fencing core, run this with {@code strictFencedOnce(true)}
     * and expect {@code refenced()} to be empty.
     */
    @Test
    void aNewCoordinatorFencesAgainWhatItsPredecessorFencedUntilTheFenceRecordExists() {
        ClusterWorld w = world(112, 3, false);
        int old = w.coordinator().id;
        int v = victim(w);
        long inc = w.node(v).incarnation();
        w.crash(v);
        w.runMillis(5000);
        assertThat(w.recovered()).singleElement().satisfies(r -> assertThat(r.coordinator()).isEqualTo(old));
        w.crash(old);
        w.runMillis(10_000);
        assertThat(w.refenced()).anySatisfy(x -> assertThat(x).startsWith(v + "@" + inc + " by node "));
    }

    @Test
    void twoNodesWithTheNetworkCutFenceNobody() {
        ClusterWorld w = world(110, 2, true);
        w.isolate(1, true);
        w.runMillis(30_000);
        assertThat(w.fenceReports()).isEmpty();
        assertThat(w.recovered()).isEmpty();
    }

    @Test
    void anOperatorFencesALiveNodeThroughItsSwitch() {
        ClusterWorld w = world(111, 3, false);
        int v = victim(w);
        long inc = w.node(v).incarnation();
        assertThat(w.operatorFence(v, "maintenance")).isTrue();
        w.runMillis(3000);
        assertThat(w.node(v).halted()).isEqualTo("powered off by pdu-" + v);
        assertThat(w.recovered()).singleElement().satisfies(r -> assertThat(r.incarnation()).isEqualTo(inc));
        assertThat(w.node(w.coordinator().id).verdictOf(v)).isEqualTo(Verdict.FENCED);
    }

    /** The checkers themselves: a switch that lies about power gets a paused node "recovered" while it runs. */
    @Test
    void aLyingSwitchIsCaughtByTheCheckerOfRecovery() {
        ClusterWorld w = world(113, 3, false);
        int v = victim(w);
        w.switchFault(v, FenceSetup.SwitchFault.LIES);
        w.pause(v, 1_500);
        assertThatThrownBy(() -> w.runMillis(1_500)).isInstanceOf(AssertionError.class)
                .hasMessageContaining("node " + v + "@" + w.node(v).incarnation() + " recovered while it runs (paused)")
                .hasMessageContaining("seed 113");
    }

    static long[] seeds() {
        long[] s = new long[40];
        for (int i = 0; i < s.length; i++) {
            s[i] = 5000 + i;
        }
        return s;
    }

    /** Random crashes, pauses, cuts, disk and switch faults, restarts; then healing and convergence. */
    @ParameterizedTest
    @MethodSource("seeds")
    void randomFaultsWithFencingThenHealing(long seed) {
        ClusterWorld w = Simulations.randomFaultsThenHeal(seed, 3 + (int) (seed % 4), 30_000, true);
        for (Recovered r : w.recovered()) {
            assertThat(w.node(r.nodeId()).incarnation()).isGreaterThan(r.incarnation());
        }
    }
}
