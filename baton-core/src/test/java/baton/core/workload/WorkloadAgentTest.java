package baton.core.workload;

import static org.assertj.core.api.Assertions.assertThat;

import baton.core.workload.WorkloadAgent.Effect;
import baton.core.workload.WorkloadAgent.Local;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Node 2 in incarnation 7, and the records the coordinator writes. */
class WorkloadAgentTest {
    final WorkloadAgent agent = new WorkloadAgent(2, 7);

    static WorkloadRecord rec(int id, long table, int owner, long inc, Placement.Desired d, int next) {
        return new WorkloadRecord(id, table, table, 1, 0, owner, inc, d, next, next == 0 ? 0 : 9, "w" + id, "");
    }

    @Test
    void itStartsWhatTheRecordsGiveItAndNothingElse() {
        var out = agent.recordsRead(Map.of(
                1, rec(1, 1, 2, 7, Placement.Desired.RUNNING, 0),
                2, rec(2, 2, 3, 5, Placement.Desired.RUNNING, 0),
                3, rec(3, 3, 2, 6, Placement.Desired.RUNNING, 0),   // an older incarnation of this node
                4, rec(4, 4, 2, 7, Placement.Desired.STOPPED, 0)));
        assertThat(out).containsExactly(new Effect.Start(1, 1));
        assertThat(agent.recordsRead(Map.of(1, rec(1, 1, 2, 7, Placement.Desired.RUNNING, 0)))).as("one operation at a time").isEmpty();
    }

    @Test
    void aPlannedMoveStopsItHereAndIsAcknowledgedOnlyOnceStopped() {
        agent.recordsRead(Map.of(1, rec(1, 1, 2, 7, Placement.Desired.RUNNING, 0)));
        agent.started(1);
        assertThat(agent.acknowledgedTable()).isEqualTo(1);
        var out = agent.recordsRead(Map.of(1, rec(1, 2, 2, 7, Placement.Desired.RUNNING, 3)));
        assertThat(out).containsExactly(new Effect.Stop(1, "it moves to node 3"));
        assertThat(agent.acknowledgedTable()).as("still stopping").isZero();
        assertThat(agent.active()).containsExactly(1);
        agent.stopped(1);
        assertThat(agent.acknowledgedTable()).isEqualTo(2);
        assertThat(agent.active()).isEmpty();
        // The next owner holds it now: nothing starts here.
        assertThat(agent.recordsRead(Map.of(1, rec(1, 3, 3, 9, Placement.Desired.RUNNING, 0)))).isEmpty();
    }

    @Test
    void aFailureRestartsItInPlaceAndIsCounted() {
        agent.recordsRead(Map.of(1, rec(1, 1, 2, 7, Placement.Desired.RUNNING, 0)));
        agent.started(1);
        assertThat(agent.failed(1)).containsExactly(new Effect.Start(1, 1));
        assertThat(agent.failures(1)).isEqualTo(1);
        assertThat(agent.local(1)).isEqualTo(Local.STARTING);
    }

    @Test
    void stopAllStopsEverythingAndStartsNothingMore() {
        agent.recordsRead(Map.of(1, rec(1, 1, 2, 7, Placement.Desired.RUNNING, 0), 2, rec(2, 1, 2, 7, Placement.Desired.RUNNING, 0)));
        agent.started(1);
        assertThat(agent.stopAll("lost the quorum disk")).containsExactlyInAnyOrder(
                new Effect.Stop(1, "lost the quorum disk"), new Effect.Stop(2, "lost the quorum disk"));
        agent.stopped(1);
        assertThat(agent.recordsRead(Map.of(1, rec(1, 1, 2, 7, Placement.Desired.RUNNING, 0)))).isEmpty();
    }

    @Test
    void aRecordThatDisappearsOrIsFrozenElsewhere() {
        agent.recordsRead(Map.of(1, rec(1, 1, 2, 7, Placement.Desired.RUNNING, 0)));
        agent.started(1);
        assertThat(agent.recordsRead(Map.of())).containsExactly(new Effect.Stop(1, "no record names this node"));
        assertThat(List.of(agent.local(1))).containsExactly(Local.STOPPING);
    }

    @Test
    void aFrozenWorkloadIsNeitherStartedNorStopped() {
        agent.recordsRead(Map.of(1, rec(1, 1, 2, 7, Placement.Desired.RUNNING, 0)));
        agent.started(1);
        assertThat(agent.recordsRead(Map.of(1, rec(1, 2, 2, 7, Placement.Desired.FROZEN, 0)))).isEmpty();
        assertThat(agent.local(1)).isEqualTo(Local.RUNNING);
        assertThat(agent.acknowledgedTable()).isEqualTo(2);
        assertThat(agent.recordsRead(Map.of(2, rec(2, 3, 2, 7, Placement.Desired.FROZEN, 0), 1, rec(1, 2, 2, 7, Placement.Desired.FROZEN, 0))))
                .isEmpty();
    }
}
