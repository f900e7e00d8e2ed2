package baton.core.workload;

import static org.assertj.core.api.Assertions.assertThat;

import baton.core.disk.SlotWorkloads.Failure;
import baton.core.disk.SlotWorkloads.Migration;
import baton.core.disk.SlotWorkloads.Phase;
import baton.core.workload.WorkloadAgent.Effect;
import baton.core.workload.WorkloadAgent.Local;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Node 2 in incarnation 7, and the records the coordinator writes. In migrations the other node is node 3 in incarnation 9. */
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
    // ---------------------------------------------------------------- migrations

    /** Workload 1 migrating from {@code owner} to {@code next} (node 2 is incarnation 7, node 3 incarnation 9). */
    static WorkloadRecord migrating(long table, int owner, int next, int attempt, boolean checkpoint) {
        return new WorkloadRecord(1, table, table, 1, 0, owner, owner == 2 ? 7 : 9, Placement.Desired.RUNNING, next, next == 2 ? 7 : 9,
                "w1", "", WorkloadRecord.MIGRATE | (checkpoint ? WorkloadRecord.CHECKPOINT : 0), attempt, 0);
    }

    static Map<Integer, WorkloadRecord> only(WorkloadRecord r) {
        return Map.of(r.id(), r);
    }

    /** What the Peers view was asked, and what it answers ({@link #mayRun}). */
    final List<String> asked = new ArrayList<>();
    boolean mayRun = true;

    {
        agent.peers((node, incarnation, id, since) -> {
            asked.add("node " + node + "/" + incarnation + " w" + id + " since " + since);
            return mayRun;
        });
    }

    /** Node 2 runs workload 1 (table 1) and the coordinator begins migrating it to node 3 (table 2, attempt 5). */
    List<Effect> sending() {
        agent.recordsRead(only(rec(1, 1, 2, 7, Placement.Desired.RUNNING, 0)));
        agent.started(1);
        return agent.recordsRead(only(migrating(2, 2, 3, 5, false)));
    }

    @Test
    void aSourceSendsOnceAndRunsTheVeUntilItHasHandedItOver() {
        assertThat(sending()).containsExactly(new Effect.Send(1, 5, 3, false));
        assertThat(agent.local(1)).isEqualTo(Local.RUNNING);
        assertThat(agent.migrations()).containsExactly(new Migration(1, 5, Phase.SENDING, Failure.NONE));
        assertThat(agent.active()).containsExactly(1);
        assertThat(agent.acknowledgedTable()).as("the record lets it run here while it sends").isEqualTo(2);
        assertThat(agent.recordsRead(only(migrating(2, 2, 3, 5, false)))).as("once").isEmpty();
        assertThat(agent.tick(5)).isEmpty();

        // Finished while the transfer's end has not been heard of here: the VE is not stopped mid-transfer.
        WorkloadRecord finished = new WorkloadRecord(1, 3, 3, 1, 0, 3, 9, Placement.Desired.RUNNING, 0, 0, "w1", "migrated");
        assertThat(agent.recordsRead(only(finished))).isEmpty();
        assertThat(agent.local(1)).isEqualTo(Local.RUNNING);
        assertThat(agent.acknowledgedTable()).as("it runs something the record does not give it").isZero();
        assertThat(agent.sent(1, 4)).as("another attempt").isEmpty();
        assertThat(agent.sent(1, 5)).containsExactly(new Effect.Stop(1, "node 3 owns it"));
        assertThat(agent.migrations()).containsExactly(new Migration(1, 5, Phase.SENT, Failure.NONE));
        assertThat(agent.stopped(1)).isEmpty();
        assertThat(agent.migrations()).isEmpty();
        assertThat(agent.active()).isEmpty();
        assertThat(agent.acknowledgedTable()).isEqualTo(3);
        assertThat(asked).as("a finish needs nobody's word").isEmpty();
    }

    @Test
    void aSourceWhoseTransferFailedRunsTheVeOnAndForgetsTheAttemptOnceCalledOff() {
        sending();
        assertThat(agent.sendFailed(1, 5, Failure.TARGET_UNREACHABLE)).isEmpty();
        assertThat(agent.migrations()).containsExactly(new Migration(1, 5, Phase.FAILED, Failure.TARGET_UNREACHABLE));
        assertThat(agent.sent(1, 5)).as("no handover after the failure").isEmpty();
        assertThat(agent.migrations()).extracting(Migration::phase).containsExactly(Phase.FAILED);
        WorkloadRecord cancelled = rec(1, 3, 2, 7, Placement.Desired.RUNNING, 0);
        assertThat(agent.recordsRead(only(cancelled))).as("nothing to resume, nothing to start").isEmpty();
        assertThat(agent.local(1)).isEqualTo(Local.RUNNING);
        assertThat(agent.migrations()).isEmpty();
        assertThat(agent.acknowledgedTable()).isEqualTo(3);
    }

    @Test
    void aSourceWhoseVeDiesWhileItSendsLeavesTheAttemptToTheTransfersEnd() {
        // The state may have gone over already: only the transfer knows; declaring the attempt failed could bring
        // the VE back here while the target runs it.
        sending();
        assertThat(agent.failed(1, 7)).isEmpty();
        assertThat(agent.local(1)).isEqualTo(Local.STOPPED);
        assertThat(agent.migrations()).containsExactly(new Migration(1, 5, Phase.SENDING, Failure.NONE));
        assertThat(agent.sent(1, 5)).isEmpty();
        assertThat(agent.migrations()).containsExactly(new Migration(1, 5, Phase.SENT, Failure.NONE));
    }

    @Test
    void aHandedOverSourceResumesTheVeOnceCalledOffOnlyWhenTheNextNodeCannotRunIt() {
        sending();
        agent.sent(1, 5);
        WorkloadRecord cancelled = rec(1, 3, 2, 7, Placement.Desired.RUNNING, 0);
        assertThat(agent.recordsRead(only(cancelled))).as("node 3 may run it: the VE stays paused").isEmpty();
        assertThat(asked).containsExactly("node 3/9 w1 since 3");
        assertThat(agent.local(1)).isEqualTo(Local.RUNNING);
        assertThat(agent.active()).containsExactly(1);
        assertThat(agent.migrations()).containsExactly(new Migration(1, 5, Phase.SENT, Failure.NONE));
        assertThat(agent.acknowledgedTable()).isEqualTo(3);
        assertThat(agent.tick(5)).isEmpty();

        mayRun = false;
        assertThat(agent.tick(6)).containsExactly(new Effect.Resume(1));
        assertThat(agent.tick(7)).as("once").isEmpty();
        assertThat(agent.recordsRead(only(cancelled))).isEmpty();
        assertThat(agent.resumed(1)).isEmpty();
        assertThat(agent.migrations()).isEmpty();
        assertThat(agent.local(1)).isEqualTo(Local.RUNNING);
        assertThat(agent.tick(8)).isEmpty();
    }

    @Test
    void aHandedOverSourceWhosePausedCopyDiedStartsTheVeAfreshOnlyWhenTheNextNodeCannotRunIt() {
        sending();
        agent.sent(1, 5);
        assertThat(agent.failed(1, 7)).as("the paused copy died; the VE lives on node 3").isEmpty();
        assertThat(agent.migrations()).containsExactly(new Migration(1, 5, Phase.SENT, Failure.NONE));
        WorkloadRecord cancelled = rec(1, 3, 2, 7, Placement.Desired.RUNNING, 0);
        assertThat(agent.recordsRead(only(cancelled))).isEmpty();
        mayRun = false;
        assertThat(agent.tick(8)).containsExactly(new Effect.Start(1, 3));
        assertThat(agent.migrations()).isEmpty();
    }

    @Test
    void aHandedOverSourceThatIsToReceiveTheVeBackStopsItsPausedCopyFirst() {
        // A switch-back begun before this node read the finish: its paused copy goes, then it receives the VE.
        sending();
        agent.sent(1, 5);
        assertThat(agent.recordsRead(only(migrating(4, 3, 2, 4, false))))
                .containsExactly(new Effect.Stop(1, "handed over to node 3, which migrates it back"));
        assertThat(agent.stopped(1)).containsExactly(new Effect.Receive(1, 4, 3, false));
        assertThat(agent.migrations()).containsExactly(new Migration(1, 4, Phase.RECEIVING, Failure.NONE));
        assertThat(asked).isEmpty();
    }

    @Test
    void aTargetReceivesOnceDeclaresItAndRunsItAsOwnerAfterTheFinish() {
        for (boolean checkpoint : List.of(false, true)) {
            WorkloadAgent a = new WorkloadAgent(2, 7);
            assertThat(a.recordsRead(only(migrating(2, 3, 2, 5, checkpoint)))).containsExactly(new Effect.Receive(1, 5, 3, checkpoint));
            assertThat(a.recordsRead(only(migrating(2, 3, 2, 5, checkpoint)))).as("once").isEmpty();
            assertThat(a.local(1)).isEqualTo(Local.RECEIVING);
            assertThat(a.active()).as("it does not run it yet").isEmpty();
            assertThat(a.migrations()).containsExactly(new Migration(1, 5, Phase.RECEIVING, Failure.NONE));
            assertThat(a.acknowledgedTable()).isEqualTo(2);
            assertThat(a.received(1, 4)).as("another attempt").isEmpty();
            assertThat(a.local(1)).isEqualTo(Local.RECEIVING);
            assertThat(a.received(1, 5)).isEmpty();
            assertThat(a.local(1)).isEqualTo(Local.RUNNING);
            assertThat(a.active()).containsExactly(1);
            assertThat(a.migrations()).containsExactly(new Migration(1, 5, Phase.RECEIVED, Failure.NONE));
            WorkloadRecord finished = rec(1, 3, 2, 7, Placement.Desired.RUNNING, 0);
            assertThat(a.recordsRead(only(finished))).as("it runs already: no start").isEmpty();
            assertThat(a.migrations()).isEmpty();
            assertThat(a.acknowledgedTable()).isEqualTo(3);
        }
    }

    @Test
    void aTargetWhoseAttemptIsCalledOffDiscardsWhatItReceived() {
        WorkloadRecord cancelled = new WorkloadRecord(1, 3, 3, 1, 0, 3, 9, Placement.Desired.RUNNING, 0, 0, "w1", "called off");
        agent.recordsRead(only(migrating(2, 3, 2, 5, false)));
        assertThat(agent.recordsRead(only(cancelled))).containsExactly(new Effect.Discard(1, "the migration was called off"));
        assertThat(agent.local(1)).isEqualTo(Local.STOPPING);
        assertThat(agent.active()).containsExactly(1);
        assertThat(agent.acknowledgedTable()).isZero();
        assertThat(agent.stopped(1)).isEmpty();
        assertThat(agent.migrations()).isEmpty();
        assertThat(agent.active()).isEmpty();
        assertThat(agent.acknowledgedTable()).isEqualTo(3);

        WorkloadAgent gone = new WorkloadAgent(2, 7);
        gone.recordsRead(only(migrating(2, 3, 2, 5, false)));
        assertThat(gone.recordsRead(Map.of())).containsExactly(new Effect.Discard(1, "no record names this node"));

        // Received and running already: stopped as anything the record does not give it.
        WorkloadAgent received = new WorkloadAgent(2, 7);
        received.recordsRead(only(migrating(2, 3, 2, 5, false)));
        received.received(1, 5);
        assertThat(received.recordsRead(only(cancelled))).containsExactly(new Effect.Stop(1, "node 3 owns it"));
    }

    @Test
    void aTargetDeclaresTheAttemptFailedWhenNothingArrivedOrTheVeDiedThere() {
        agent.recordsRead(only(migrating(2, 3, 2, 5, false)));
        assertThat(agent.receiveFailed(1, 5, Failure.DEADLINE)).isEmpty();
        assertThat(agent.local(1)).isEqualTo(Local.STOPPED);
        assertThat(agent.migrations()).containsExactly(new Migration(1, 5, Phase.FAILED, Failure.DEADLINE));
        assertThat(agent.recordsRead(only(migrating(2, 3, 2, 5, false)))).as("no second receive for that attempt").isEmpty();

        WorkloadAgent a = new WorkloadAgent(2, 7);
        a.recordsRead(only(migrating(2, 3, 2, 5, false)));
        a.received(1, 5);
        assertThat(a.failed(1, 9)).as("not restarted: the record does not give it to this node yet").isEmpty();
        assertThat(a.migrations()).containsExactly(new Migration(1, 5, Phase.FAILED, Failure.TARGET_FAILED));
    }

    @Test
    void stopAllEndsAWaitingReceiveToo() {
        agent.recordsRead(Map.of(1, migrating(2, 3, 2, 5, false), 2, rec(2, 2, 2, 7, Placement.Desired.RUNNING, 0)));
        agent.started(2);
        assertThat(agent.stopAll("leaving")).containsExactlyInAnyOrder(new Effect.Stop(1, "leaving"), new Effect.Stop(2, "leaving"));
    }
}
