package baton.sim.workload;

import static org.assertj.core.api.Assertions.assertThat;

import baton.core.membership.Verdict;
import baton.core.workload.Placement;
import baton.core.workload.WorkloadAgent;
import baton.core.workload.WorkloadRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * Workload ownership in the deterministic world: the real {@link Placement} on the coordinator
 * and the real {@link WorkloadAgent} on every node, over a simulated shared table with read
 * delays, driver latencies, crashes, hangs, cuts and fencing. The world's checker runs after
 * every step: never two nodes running the same workload, and a recovered workload's previous
 * owner incarnation is powered off.
 */
class WorkloadSimulationTest {

    static List<Placement.Spec> specs(int count, int maxRestarts) {
        return IntStream.rangeClosed(1, count).mapToObj(i -> WorkloadWorld.spec(i, maxRestarts)).toList();
    }

    static WorkloadWorld settled(long seed, int nodes, int workloads) {
        WorkloadWorld w = new WorkloadWorld(seed, nodes, specs(workloads, 2));
        w.runMillis(3000);
        for (int i = 1; i <= workloads; i++) {
            assertThat(w.record(i)).as("w%d placed", i).isNotNull();
            assertThat(w.runners(i)).as("w%d runs on its owner", i).containsExactly(w.record(i).ownerId());
        }
        return w;
    }

    @Test
    void aCrashedOwnerIsFencedThenItsWorkloadRecovered() {
        WorkloadWorld w = settled(1, 3, 3);
        WorkloadRecord r = w.record(1);
        int v = r.ownerId();
        w.crash(v, -1);
        w.runMillis(1000);
        assertThat(w.verdictOf(v)).isEqualTo(Verdict.SUSPECT);
        assertThat(w.record(1).ownerId()).as("nothing moves before the fence").isEqualTo(v);
        w.runMillis(9000);
        assertThat(w.verdictOf(v)).isEqualTo(Verdict.FENCED);
        assertThat(w.recovered()).anySatisfy(rc -> {
            assertThat(rc.workloadId()).isEqualTo(1);
            assertThat(rc.fromNode()).isEqualTo(v);
            assertThat(rc.fromIncarnation()).isEqualTo(r.ownerIncarnation());
        });
        assertThat(w.record(1).ownerId()).isNotEqualTo(v);
        assertThat(w.runners(1)).containsExactly(w.record(1).ownerId());
    }

    @Test
    void aHungOwnerIsFencedAndRecoveredAndNeverResumesAsItself() {
        WorkloadWorld w = settled(2, 3, 3);
        int v = w.record(1).ownerId();
        long inc = w.incarnation(v);
        w.hang(v);
        w.runMillis(1000);
        assertThat(w.runners(1)).as("a hung node's workload keeps running").containsExactly(v);
        assertThat(w.recovered()).isEmpty();
        w.runMillis(9000);
        assertThat(w.poweredOn(v)).as("fenced: powered off").isFalse();
        assertThat(w.recovered()).anySatisfy(rc -> assertThat(rc.workloadId()).isEqualTo(1));
        w.resume(v);
        assertThat(w.hung(v)).isTrue();
        assertThat(w.poweredOn(v)).isFalse();
        assertThat(w.incarnation(v)).isEqualTo(inc);
        w.runMillis(3000);
        assertThat(w.runners(1)).containsExactly(w.record(1).ownerId()).doesNotContain(v);
    }

    @Test
    void aHangResumedBeforeTheFenceRecoversNothing() {
        WorkloadWorld w = settled(3, 3, 3);
        int v = w.record(1).ownerId();
        long inc = w.incarnation(v);
        w.hang(v);
        w.runMillis(1000); // detection takes 1.5 s
        w.resume(v);
        w.runMillis(8000);
        assertThat(w.recovered()).isEmpty();
        assertThat(w.incarnation(v)).isEqualTo(inc);
        assertThat(w.poweredOn(v)).isTrue();
        assertThat(w.record(1).ownerId()).isEqualTo(v);
        assertThat(w.runners(1)).containsExactly(v);
    }

    @Test
    void aNetworkCutMovesNothing() {
        WorkloadWorld w = settled(4, 3, 3);
        int v = w.record(1).ownerId();
        List<Integer> owners = IntStream.rangeClosed(1, 3).mapToObj(i -> w.record(i).ownerId()).toList();
        w.cut(v);
        w.runMillis(10000);
        assertThat(w.verdictOf(v)).isEqualTo(Verdict.NETWORK_LOST);
        assertThat(w.recovered()).isEmpty();
        assertThat(w.moves()).isEmpty();
        assertThat(IntStream.rangeClosed(1, 3).mapToObj(i -> w.record(i).ownerId()).toList()).isEqualTo(owners);
        assertThat(w.runners(1)).containsExactly(v);
        w.heal(v);
        w.runMillis(2000);
        assertThat(w.runners(1)).containsExactly(v);
    }

    @Test
    void standbyMovesInTwoPhasesNeverTwoOwners() {
        WorkloadWorld w = settled(5, 3, 3);
        int v = w.record(1).ownerId();
        w.standby(v, true);
        w.runMillis(5000);
        List<WorkloadWorld.MovePhase> m = w.moves().stream().filter(p -> p.workloadId() == 1).toList();
        assertThat(m).hasSize(2);
        assertThat(m.get(0).phase()).isEqualTo(1);
        assertThat(m.get(1).phase()).isEqualTo(2);
        assertThat(m.get(0).fromNode()).isEqualTo(v);
        assertThat(m.get(1).toNode()).isEqualTo(m.get(0).toNode());
        assertThat(m.get(1).atNanos()).isGreaterThan(m.get(0).atNanos());
        assertThat(w.record(1).ownerId()).isEqualTo(m.get(0).toNode());
        assertThat(w.runners(1)).containsExactly(m.get(0).toNode());
        for (int i = 1; i <= 3; i++) {
            assertThat(w.record(i).ownerId()).as("nothing left on the standby node").isNotEqualTo(v);
        }
        assertThat(w.recovered()).isEmpty();
    }

    @Test
    void failuresPastTheRestartLimitRelocate() {
        WorkloadWorld w = settled(6, 3, 3);
        int v = w.record(1).ownerId();
        int failed = 0;
        for (int attempt = 0; attempt < 200 && failed < 3; attempt++) {
            if (w.fail(1, v)) {
                failed++;
            }
            w.runMillis(100);
        }
        assertThat(failed).isEqualTo(3); // limit 2: the third failure relocates it
        w.runMillis(5000);
        assertThat(w.record(1).ownerId()).isNotEqualTo(v);
        assertThat(w.runners(1)).containsExactly(w.record(1).ownerId());
        assertThat(w.moves()).anySatisfy(p -> assertThat(p.phase()).isEqualTo(2));
    }

    @Test
    void aNodeThatLeavesStopsItsWorkloadsThenTheyAreRecovered() {
        WorkloadWorld w = settled(7, 3, 3);
        int v = w.record(1).ownerId();
        w.leave(v);
        w.runMillis(5000);
        assertThat(w.verdictOf(v)).isEqualTo(Verdict.LEFT);
        assertThat(w.recovered()).anySatisfy(rc -> {
            assertThat(rc.workloadId()).isEqualTo(1);
            assertThat(rc.fromNode()).isEqualTo(v);
        });
        assertThat(w.runners(1)).containsExactly(w.record(1).ownerId()).doesNotContain(v);
    }

    @Test
    void theCheckerCatchesAMoveThatDoesNotWaitForTheStop() {
        int caught = 0;
        for (long seed = 1; seed <= 20; seed++) {
            WorkloadWorld w = settled(seed, 3, 3);
            w.brokenMoveSkipsStopWait = true;
            try {
                w.standby(w.record(1).ownerId(), true);
                w.runMillis(5000);
            } catch (WorkloadWorld.Violation v) {
                assertThat(v.getMessage()).contains("TWO OWNERS");
                caught++;
            }
        }
        assertThat(caught).as("the checker sees two owners when the protocol is broken").isPositive();
    }

    @Test
    void randomSeedsNeverTwoOwners() {
        List<String> violations = new ArrayList<>();
        long totalSteps = 0;
        int recoveries = 0;
        int moves = 0;
        for (long seed = 1000; seed < 1200; seed++) {
            Random shape = new Random(seed * 31 + 7);
            int nodes = 2 + shape.nextInt(5);
            int workloads = 1 + shape.nextInt(6);
            WorkloadWorld w = new WorkloadWorld(seed, nodes, specs(workloads, shape.nextInt(3)));
            w.autoRestart = true;
            w.startFailure = shape.nextDouble() * 0.1;
            if (shape.nextBoolean()) { // odd timings: slow reads and drivers, quick or slow detection and coordinator
                w.readDelayMaxNanos = (2 + shape.nextInt(3000)) * WorkloadWorld.MS;
                w.driverMaxNanos = (20 + shape.nextInt(4000)) * WorkloadWorld.MS;
                w.detectNanos = (100 + shape.nextInt(3000)) * WorkloadWorld.MS;
                w.fenceMinNanos = shape.nextInt(500) * WorkloadWorld.MS;
                w.coordinatorPeriodNanos = (20 + shape.nextInt(1000)) * WorkloadWorld.MS;
            }
            try {
                w.runMillis(2000);
                w.runRandom(30_000);
                w.healAll();
                w.startFailure = 0;
                w.runMillis(75_000); // past the 60 s restart window: no more relocations after this
                List<String> unsettled = w.unsettled();
                if (!unsettled.isEmpty()) {
                    violations.add("seed " + seed + " did not settle after healing: " + unsettled + "\n" + w.traceTail(40));
                }
            } catch (WorkloadWorld.Violation v) {
                violations.add(v.getMessage());
            }
            totalSteps += w.steps();
            recoveries += w.recovered().size();
            moves += (int) w.moves().stream().filter(p -> p.phase() == 2).count();
        }
        System.out.printf("workload sim: 200 seeds, %d steps, %d recoveries, %d completed moves, %d violations%n", totalSteps,
                recoveries, moves, violations.size());
        assertThat(violations).as(String.join("\n\n", violations.stream().limit(3).toList())).isEmpty();
        assertThat(recoveries).as("the faults do lead to recoveries").isPositive();
        assertThat(moves).as("and to planned moves").isPositive();
    }
}
