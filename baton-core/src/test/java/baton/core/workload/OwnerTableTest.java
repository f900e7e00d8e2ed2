package baton.core.workload;

import static org.assertj.core.api.Assertions.assertThat;

import baton.core.disk.SlotWorkloads;
import baton.core.membership.Verdict;
import baton.core.workload.OwnerTable.Answer;
import baton.core.workload.OwnerTable.Change;
import baton.core.workload.OwnerTable.Context;
import baton.core.workload.OwnerTable.Plan;
import baton.core.workload.OwnerTable.Published;
import baton.core.workload.OwnerTable.Write;
import baton.core.workload.Placement.Desired;
import baton.core.workload.Placement.Node;
import baton.core.workload.Placement.Spec;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The coordinator's owner-record planning. Node n runs as incarnation 100 + n; the coordinator
 * holds lease generation {@value #GEN}. Every plan is checked for the rules every write obeys
 * ({@link #checked}): the context's generation, an epoch one past the record it replaces, table
 * versions that grow across the whole table.
 */
class OwnerTableTest {
    static final long S = 1_000_000_000L;
    static final long GEN = 3;
    static final long NOW = 1_000 * S;
    static final long WALL = 1_700_000_000_000L;
    static final Spec WEB = new Spec(1, "web", List.of(), false, false, 2, 60 * S);

    static long inc(int node) {
        return 100 + node;
    }

    static Node up(int id) {
        return new Node(id, inc(id), Verdict.UP, false);
    }

    static Node node(int id, Verdict v) {
        return new Node(id, inc(id), v, false);
    }

    static Node standby(int id) {
        return new Node(id, inc(id), Verdict.UP, true);
    }

    static WorkloadRecord owned(int id, long table, int owner) {
        return new WorkloadRecord(id, 5, table, GEN, WALL, owner, inc(owner), Desired.RUNNING, 0, 0, "w" + id, "placed");
    }

    static WorkloadRecord with(WorkloadRecord r, Desired d) {
        return new WorkloadRecord(r.id(), r.epoch(), r.tableVersion(), r.generation(), r.wallEpochMillis(), r.ownerId(),
                r.ownerIncarnation(), d, r.nextId(), r.nextIncarnation(), r.name(), r.reason(), r.flags());
    }

    static Map<Integer, WorkloadRecord> table(WorkloadRecord... rs) {
        Map<Integer, WorkloadRecord> m = new TreeMap<>();
        for (WorkloadRecord r : rs) {
            m.put(r.id(), r);
        }
        return m;
    }

    static Context ctx(List<Spec> specs, List<Node> nodes, Map<Integer, Published> published, Map<Integer, WorkloadRecord> records) {
        return new Context(NOW, GEN, WALL, specs, nodes, published, records);
    }

    /** Node {@code id}'s slot: it carried out {@code table} and runs {@code active}. */
    static Map<Integer, Published> slot(int id, long incarnation, long table, List<Integer> active, List<Integer> failedOut) {
        return Map.of(id, new Published(incarnation, SlotWorkloads.of(table, active, failedOut)));
    }

    /** The plan, after checking what every write must satisfy. */
    static Plan checked(Context c) {
        return check(c, OwnerTable.plan(c));
    }

    static Plan check(Context c, Plan p) {
        long version = c.records().values().stream().mapToLong(WorkloadRecord::tableVersion).max().orElse(0);
        Map<Integer, WorkloadRecord> table = new HashMap<>(c.records());
        for (Write w : p.writes()) {
            WorkloadRecord r = w.record();
            assertThat(w.previous()).as("the record it replaces").isEqualTo(table.get(r.id()));
            assertThat(r.epoch()).as("epoch of %s", r).isEqualTo(w.previous() == null ? 1 : w.previous().epoch() + 1);
            assertThat(r.tableVersion()).as("table version of %s", r).isEqualTo(version + 1);
            assertThat(r.generation()).isEqualTo(c.generation());
            assertThat(r.wallEpochMillis()).isEqualTo(c.wallMillis());
            version = r.tableVersion();
            table.put(r.id(), r);
        }
        return p;
    }

    static Map<Integer, WorkloadRecord> apply(Map<Integer, WorkloadRecord> records, Plan p) {
        Map<Integer, WorkloadRecord> out = new TreeMap<>(records);
        p.writes().forEach(w -> out.put(w.record().id(), w.record()));
        return out;
    }

    static Write done(Answer a) {
        assertThat(a).isInstanceOf(Answer.Done.class);
        return ((Answer.Done) a).write();
    }

    static String refused(Answer a) {
        assertThat(a).isInstanceOf(Answer.Refused.class);
        return ((Answer.Refused) a).reason();
    }

    // ---------------------------------------------------------------- place

    @Test
    void aWorkloadWithoutRecordIsPlacedOnItsPreferredOrTheLeastLoadedUpNode() {
        Spec db = new Spec(1, "db", List.of(2), false, false, 2, 60 * S);
        Spec web = new Spec(2, "web", List.of(), false, false, 2, 60 * S);
        Spec mail = new Spec(3, "mail", List.of(), false, false, 2, 60 * S);
        List<Node> nodes = List.of(up(1), up(2), up(3), node(4, Verdict.DOWN), standby(5));
        Context c = ctx(List.of(db, web, mail), nodes, Map.of(), Map.of());
        Plan p = checked(c);
        assertThat(p.holds()).isEmpty();
        assertThat(p.writes()).extracting(Write::change).containsExactly(Change.PLACE, Change.PLACE, Change.PLACE);
        assertThat(p.writes()).extracting(w -> w.record().ownerId()).containsExactly(2, 1, 3);
        assertThat(p.writes()).extracting(w -> w.record().tableVersion()).containsExactly(1L, 2L, 3L);
        WorkloadRecord first = p.writes().getFirst().record();
        assertThat(first).isEqualTo(new WorkloadRecord(1, 1, 1, GEN, WALL, 2, inc(2), Desired.RUNNING, 0, 0, "db",
                "placed on node 2: preference 1 of its domain", 0));
        assertThat(p.writes().get(1).record().reason()).isEqualTo("placed on node 1: least loaded eligible node");
        assertThat(first.runsOn(2, inc(2))).isTrue();

        // Placed: nothing more to write. A new workload continues the table's versions.
        Map<Integer, WorkloadRecord> records = apply(Map.of(), p);
        assertThat(checked(ctx(List.of(db, web, mail), nodes, Map.of(), records)).writes()).isEmpty();
        Spec more = new Spec(4, "more", List.of(), false, false, 2, 60 * S);
        Plan next = checked(ctx(List.of(db, web, mail, more), nodes, Map.of(), records));
        assertThat(next.writes()).singleElement().satisfies(w -> {
            assertThat(w.change()).isEqualTo(Change.PLACE);
            assertThat(w.record().tableVersion()).isEqualTo(4);
            assertThat(w.record().epoch()).isEqualTo(1);
            assertThat(w.record().ownerId()).isEqualTo(1); // nodes 1, 2, 3 each run one: the lowest id
        });
    }

    @Test
    void withoutAnEligibleNodeItIsHeldWithTheReason() {
        Plan p = checked(ctx(List.of(WEB), List.of(standby(1), node(2, Verdict.DOWN)), Map.of(), Map.of()));
        assertThat(p.writes()).isEmpty();
        assertThat(p.holds()).singleElement().satisfies(h -> {
            assertThat(h.workloadId()).isEqualTo(1);
            assertThat(h.reason()).isEqualTo("no eligible node: node 1 standby, node 2 down");
        });
    }

    // ---------------------------------------------------------------- recover, or hold

    @ParameterizedTest
    @EnumSource(value = Verdict.class, names = {"FENCED", "LEFT"})
    void aWorkloadIsRecoveredWhenItsOwnerIsFencedOrLeft(Verdict v) {
        WorkloadRecord r = owned(1, 7, 1);
        Plan p = checked(ctx(List.of(WEB), List.of(node(1, v), up(2)), Map.of(), table(r)));
        assertThat(p.holds()).isEmpty();
        assertThat(p.writes()).singleElement().satisfies(w -> {
            assertThat(w.change()).isEqualTo(Change.RECOVER);
            assertThat(w.previous()).isEqualTo(r);
            assertThat(w.record().ownerId()).isEqualTo(2);
            assertThat(w.record().ownerIncarnation()).isEqualTo(inc(2));
            assertThat(w.record().epoch()).isEqualTo(6);
            assertThat(w.record().tableVersion()).isEqualTo(8);
            assertThat(w.record().reason()).contains("its owner node 1 " + (v == Verdict.LEFT ? "left the cluster" : "was fenced"));
        });
    }

    @ParameterizedTest
    @EnumSource(value = Verdict.class, names = {"DOWN", "NETWORK_LOST", "DISK_LOST", "SUSPECT"})
    void aWorkloadIsHeldWhileItsOwnerIsNotKnownDead(Verdict v) {
        Plan p = checked(ctx(List.of(WEB), List.of(node(1, v), up(2)), Map.of(), table(owned(1, 7, 1))));
        assertThat(p.writes()).isEmpty();
        assertThat(p.holds()).singleElement().satisfies(h -> {
            assertThat(h.workloadId()).isEqualTo(1);
            assertThat(h.reason()).startsWith("its owner node 1 is " + v.label())
                    .endsWith(v == Verdict.DOWN ? "waiting until it is fenced" : "no failover until it is known dead");
        });
    }

    @Test
    void anOwnerFencedInAnotherIncarnationDoesNotReleaseTheWorkload() {
        // The record names incarnation 101; the fence was about incarnation 99: 101 may still run it.
        Node fencedEarlier = new Node(1, 99, Verdict.FENCED, false);
        Plan p = checked(ctx(List.of(WEB), List.of(fencedEarlier, up(2)), Map.of(), table(owned(1, 7, 1))));
        assertThat(p.writes()).isEmpty();
        assertThat(p.holds()).singleElement().extracting(Placement.Decision.Hold::reason).asString().contains("is fenced");
    }

    @Test
    void anOwnerBackAsANewIncarnationAdoptsItsWorkload() {
        Node back = new Node(1, inc(1) + 5, Verdict.UP, false);
        Plan p = checked(ctx(List.of(WEB), List.of(back, up(2)), Map.of(), table(owned(1, 7, 1))));
        assertThat(p.writes()).singleElement().satisfies(w -> {
            assertThat(w.change()).isEqualTo(Change.ADOPT);
            assertThat(w.record().ownerId()).isEqualTo(1);
            assertThat(w.record().ownerIncarnation()).isEqualTo(inc(1) + 5);
        });
    }

    // ---------------------------------------------------------------- planned moves

    @Test
    void aPlannedMoveFinishesOnlyOnceTheOwnerAcknowledgedTheStop() {
        List<Node> nodes = List.of(standby(1), up(2));
        WorkloadRecord r = owned(1, 7, 1);
        Plan begin = checked(ctx(List.of(WEB), nodes, Map.of(), table(r)));
        assertThat(begin.writes()).singleElement().satisfies(w -> {
            assertThat(w.change()).isEqualTo(Change.MOVE_BEGIN);
            assertThat(w.record().ownerId()).isEqualTo(1);
            assertThat(w.record().ownerIncarnation()).isEqualTo(inc(1));
            assertThat(w.record().nextId()).isEqualTo(2);
            assertThat(w.record().nextIncarnation()).isEqualTo(inc(2));
            assertThat(w.record().reason()).isEqualTo("moves to node 2 (least loaded eligible node): its owner node 1 is in standby");
            assertThat(w.record().runsOn(1, inc(1))).as("the owner must stop it").isFalse();
            assertThat(w.record().runsOn(2, inc(2))).as("the next node must not start it yet").isFalse();
        });
        Map<Integer, WorkloadRecord> moving = apply(table(r), begin);
        long v = moving.get(1).tableVersion();

        // No word from the owner, or not yet enough: no finish.
        for (Map<Integer, Published> notYet : List.of(
                Map.<Integer, Published>of(),
                slot(1, inc(1), v - 1, List.of(), List.of()),            // an older table carried out
                slot(1, inc(1), v, List.of(1), List.of()),               // still stopping it
                slot(1, inc(1) - 1, v, List.of(), List.of()),            // another incarnation's slot
                slot(2, inc(2), v, List.of(), List.of()))) {             // the target's slot, not the owner's
            Plan p = checked(ctx(List.of(WEB), nodes, notYet, moving));
            assertThat(p.writes()).as("%s", notYet).isEmpty();
        }

        Plan finish = checked(ctx(List.of(WEB), nodes, slot(1, inc(1), v, List.of(), List.of()), moving));
        assertThat(finish.writes()).singleElement().satisfies(w -> {
            assertThat(w.change()).isEqualTo(Change.MOVE_FINISH);
            assertThat(w.record().ownerId()).isEqualTo(2);
            assertThat(w.record().ownerIncarnation()).isEqualTo(inc(2));
            assertThat(w.record().nextId()).isZero();
            assertThat(w.record().nextIncarnation()).isZero();
            assertThat(w.record().reason()).startsWith("moved from node 1: moves to node 2");
            assertThat(w.record().runsOn(2, inc(2))).isTrue();
        });
        // A newer table acknowledged also counts.
        assertThat(checked(ctx(List.of(WEB), nodes, slot(1, inc(1), v + 10, List.of(), List.of()), moving)).writes())
                .extracting(Write::change).containsExactly(Change.MOVE_FINISH);
        // Done: the new owner keeps it.
        Map<Integer, WorkloadRecord> moved = apply(moving, finish);
        assertThat(checked(ctx(List.of(WEB), nodes, slot(1, inc(1), v, List.of(), List.of()), moved)).writes()).isEmpty();
    }

    @Test
    void theUnsafeSwitchFinishesAMoveWithoutWaiting() {
        WorkloadRecord moving = new WorkloadRecord(1, 6, 8, GEN, WALL, 1, inc(1), Desired.RUNNING, 2, inc(2), "web", "moves");
        Context c = new Context(NOW, GEN, WALL, List.of(WEB), List.of(standby(1), up(2)), Map.of(), table(moving), List.of(), true);
        assertThat(check(c, OwnerTable.plan(c)).writes()).extracting(Write::change).containsExactly(Change.MOVE_FINISH);
    }

    static WorkloadRecord movingTo(int next) {
        return new WorkloadRecord(1, 6, 8, GEN, WALL, 1, inc(1), Desired.RUNNING, next, inc(next), "web", "moves away");
    }

    @Test
    void aMoveWhoseTargetWentAwayIsCancelledWhenNoOtherNodeCanTakeIt() {
        for (Node target : List.of(node(2, Verdict.DOWN), standby(2), new Node(2, inc(2) + 1, Verdict.UP, false))) {
            Plan p = checked(ctx(List.of(WEB), List.of(standby(1), target), slot(1, inc(1), 8, List.of(), List.of()),
                    table(movingTo(2))));
            Write w = p.writes().stream().filter(x -> x.change() == Change.MOVE_CANCEL).findFirst().orElseThrow(
                    () -> new AssertionError("no cancel with target " + target + ": " + p));
            assertThat(p.writes()).as("%s", target).hasSize(1);
            assertThat(w.record().ownerId()).isEqualTo(1);
            assertThat(w.record().nextId()).isZero();
            assertThat(w.record().reason()).isEqualTo("move to node 2 cancelled: that node is no longer eligible; stays on node 1");
            assertThat(w.record().runsOn(1, inc(1))).isTrue();
        }
    }

    @Test
    void aMoveWhoseTargetWentAwayIsRetargetedWhenAnotherNodeCanTakeIt() {
        Plan p = checked(ctx(List.of(WEB), List.of(standby(1), node(2, Verdict.DOWN), up(3)), Map.of(), table(movingTo(2))));
        assertThat(p.writes()).singleElement().satisfies(w -> {
            assertThat(w.change()).isEqualTo(Change.MOVE_RETARGET);
            assertThat(w.record().ownerId()).isEqualTo(1);
            assertThat(w.record().nextId()).isEqualTo(3);
            assertThat(w.record().nextIncarnation()).isEqualTo(inc(3));
        });
    }

    @Test
    void aMoveWhoseOwnerWentDownWaitsForTheFence() {
        // Target gone too and the owner not up: nobody can cancel it safely; the owner's fence decides.
        Plan p = checked(ctx(List.of(WEB), List.of(node(1, Verdict.DOWN), node(2, Verdict.DOWN)), Map.of(), table(movingTo(2))));
        assertThat(p.writes()).isEmpty();
        Plan fenced = checked(ctx(List.of(WEB), List.of(node(1, Verdict.FENCED), node(2, Verdict.DOWN), up(3)), Map.of(),
                table(movingTo(2))));
        assertThat(fenced.writes()).singleElement().satisfies(w -> {
            assertThat(w.change()).isEqualTo(Change.RECOVER);
            assertThat(w.record().ownerId()).isEqualTo(3);
            assertThat(w.record().nextId()).isZero();
        });
    }

    @Test
    void aWorkloadFailedOutOnItsOwnerMovesAway() {
        WorkloadRecord r = owned(1, 7, 1);
        Plan p = checked(ctx(List.of(WEB), List.of(up(1), up(2)), slot(1, inc(1), 7, List.of(), List.of(1)), table(r)));
        assertThat(p.writes()).singleElement().satisfies(w -> {
            assertThat(w.change()).isEqualTo(Change.MOVE_BEGIN);
            assertThat(w.record().nextId()).isEqualTo(2);
            assertThat(w.record().reason()).contains("it failed 3 times").contains("on node 1 (restart limit 2)");
        });
        // A declaration by another incarnation of the node is old news.
        assertThat(checked(ctx(List.of(WEB), List.of(up(1), up(2)), slot(1, inc(1) - 1, 7, List.of(), List.of(1)), table(r)))
                .writes()).isEmpty();
        // Failed out everywhere else too: held, with the reason.
        Map<Integer, Published> both = new HashMap<>(slot(1, inc(1), 7, List.of(), List.of(1)));
        both.putAll(slot(2, inc(2), 7, List.of(), List.of(1)));
        Plan held = checked(ctx(List.of(WEB), List.of(up(1), up(2)), both, table(r)));
        assertThat(held.writes()).isEmpty();
        assertThat(held.holds()).singleElement().extracting(Placement.Decision.Hold::reason).asString()
                .endsWith("but no other node is eligible");
    }

    // ---------------------------------------------------------------- operators

    @Test
    void anOperatorRestartStopsItThenRunsItAgainOnceTheOwnerStopped() {
        List<Node> nodes = List.of(up(1), up(2));
        WorkloadRecord r = owned(1, 7, 1);
        Write stop = done(OwnerTable.restart(ctx(List.of(WEB), nodes, Map.of(), table(r)), WEB, "root@node2"));
        assertThat(stop.change()).isEqualTo(Change.OPERATOR);
        assertThat(stop.previous()).isEqualTo(r);
        assertThat(stop.record()).isEqualTo(new WorkloadRecord(1, 6, 8, GEN, WALL, 1, inc(1), Desired.STOPPED, 0, 0, "w1",
                "root@node2: restart", WorkloadRecord.RESTART));
        assertThat(stop.record().restarting()).isTrue();
        Map<Integer, WorkloadRecord> stopping = table(stop.record());

        for (Map<Integer, Published> notYet : List.of(Map.<Integer, Published>of(), slot(1, inc(1), 7, List.of(), List.of()),
                slot(1, inc(1), 8, List.of(1), List.of()))) {
            assertThat(checked(ctx(List.of(WEB), nodes, notYet, stopping)).writes()).as("%s", notYet).isEmpty();
        }
        Plan run = checked(ctx(List.of(WEB), nodes, slot(1, inc(1), 8, List.of(), List.of()), stopping));
        assertThat(run.writes()).singleElement().satisfies(w -> {
            assertThat(w.change()).isEqualTo(Change.RESTART_RUN);
            assertThat(w.record()).isEqualTo(new WorkloadRecord(1, 7, 9, GEN, WALL, 1, inc(1), Desired.RUNNING, 0, 0, "w1",
                    "restarted by an operator", 0));
        });
        // Its owner fenced meanwhile: nothing runs it any more, so it may run again (and be recovered).
        assertThat(checked(ctx(List.of(WEB), List.of(node(1, Verdict.FENCED), up(2)), Map.of(), stopping)).writes())
                .extracting(Write::change).containsExactly(Change.RESTART_RUN);
    }

    @Test
    void aRestartOfAWorkloadThatDoesNotRunIsRefused() {
        List<Node> nodes = List.of(up(1));
        assertThat(refused(OwnerTable.restart(ctx(List.of(WEB), nodes, Map.of(), Map.of()), WEB, "op")))
                .isEqualTo("web is not running; start it instead");
        assertThat(refused(OwnerTable.restart(ctx(List.of(WEB), nodes, Map.of(), table(with(owned(1, 7, 1), Desired.STOPPED))),
                WEB, "op"))).isEqualTo("web is not running (stopped); start it instead");
    }

    @Test
    void setDesiredRefusesANoOpAndAFrozenWorkloadIsLeftAlone() {
        WorkloadRecord r = owned(1, 7, 1);
        List<Node> nodes = List.of(up(1), up(2));
        assertThat(refused(OwnerTable.setDesired(ctx(List.of(WEB), nodes, Map.of(), table(r)), WEB, Desired.RUNNING, "op")))
                .isEqualTo("web is already running");
        Write freeze = done(OwnerTable.setDesired(ctx(List.of(WEB), nodes, Map.of(), table(r)), WEB, Desired.FROZEN, "op"));
        assertThat(freeze.change()).isEqualTo(Change.OPERATOR);
        assertThat(freeze.record()).isEqualTo(new WorkloadRecord(1, 6, 8, GEN, WALL, 1, inc(1), Desired.FROZEN, 0, 0, "web",
                "op: frozen", 0));
        Map<Integer, WorkloadRecord> frozen = table(freeze.record());
        assertThat(refused(OwnerTable.setDesired(ctx(List.of(WEB), nodes, Map.of(), frozen), WEB, Desired.FROZEN, "op")))
                .isEqualTo("web is already frozen");
        // Whatever happens to its owner, Baton does not touch a frozen workload.
        for (Node owner : List.of(standby(1), node(1, Verdict.FENCED), node(1, Verdict.LEFT), node(1, Verdict.DOWN))) {
            Plan p = checked(ctx(List.of(WEB), List.of(owner, up(2)), slot(1, inc(1), 8, List.of(), List.of(1)), frozen));
            assertThat(p.writes()).as("%s", owner).isEmpty();
            assertThat(p.holds()).as("%s", owner).isEmpty();
        }
        // Unfreezing lets Baton manage it again, as running, where it is.
        Write unfreeze = done(OwnerTable.setDesired(ctx(List.of(WEB), nodes, Map.of(), frozen), WEB, Desired.RUNNING, "op"));
        assertThat(unfreeze.record().runsOn(1, inc(1))).isTrue();
    }

    @Test
    void stoppingAWorkloadEndsAMoveAndStoppingARestartEndsTheRestart() {
        Write stop = done(OwnerTable.setDesired(ctx(List.of(WEB), List.of(standby(1), up(2)), Map.of(), table(movingTo(2))), WEB,
                Desired.STOPPED, "op"));
        assertThat(stop.record().nextId()).isZero();
        assertThat(stop.record().ownerId()).isEqualTo(1);
        assertThat(stop.record().desired()).isEqualTo(Desired.STOPPED);

        WorkloadRecord restarting = new WorkloadRecord(1, 6, 8, GEN, WALL, 1, inc(1), Desired.STOPPED, 0, 0, "web", "op: restart",
                WorkloadRecord.RESTART);
        Write really = done(OwnerTable.setDesired(ctx(List.of(WEB), List.of(up(1)), Map.of(), table(restarting)), WEB,
                Desired.STOPPED, "op"));
        assertThat(really.record().restarting()).isFalse();
        assertThat(really.record().desired()).isEqualTo(Desired.STOPPED);
        // Stopped for good: the owner's acknowledgement no longer brings it back.
        assertThat(checked(ctx(List.of(WEB), List.of(up(1)), slot(1, inc(1), 9, List.of(), List.of()), table(really.record())))
                .writes()).isEmpty();
    }

    @Test
    void relocateRefusesWhenTheOwnerIsNotUpOrTheTargetIsIneligible() {
        WorkloadRecord r = owned(1, 7, 1);
        Context ownerDown = ctx(List.of(WEB), List.of(node(1, Verdict.DOWN), up(2)), Map.of(), table(r));
        assertThat(refused(OwnerTable.relocate(ownerDown, WEB, Optional.of(2), "op"))).isEqualTo(
                "its owner node 1 is not up; a workload of a failed node is recovered after its owner is fenced");
        Context ownerReborn = ctx(List.of(WEB), List.of(new Node(1, inc(1) + 1, Verdict.UP, false), up(2)), Map.of(), table(r));
        assertThat(refused(OwnerTable.relocate(ownerReborn, WEB, Optional.of(2), "op"))).startsWith("its owner node 1 is not up");

        Context c = ctx(List.of(WEB), List.of(up(1), up(2), standby(3), node(4, Verdict.DOWN)), Map.of(), table(r));
        assertThat(refused(OwnerTable.relocate(c, WEB, Optional.of(3), "op"))).isEqualTo(
                "node 3 cannot take web: node 1 eligible, node 2 eligible, node 3 standby, node 4 down");
        assertThat(refused(OwnerTable.relocate(c, WEB, Optional.of(9), "op"))).startsWith("node 9 cannot take web: ");
        assertThat(refused(OwnerTable.relocate(c, WEB, Optional.of(1), "op"))).isEqualTo("web already runs on node 1");
        assertThat(refused(OwnerTable.relocate(ctx(List.of(WEB), List.of(up(1), standby(2)), Map.of(), table(r)), WEB,
                Optional.empty(), "op"))).isEqualTo("no other node can take web: node 1 eligible, node 2 standby");
        assertThat(refused(OwnerTable.relocate(ctx(List.of(WEB), List.of(up(1)), Map.of(), table(with(r, Desired.STOPPED))), WEB,
                Optional.empty(), "op"))).isEqualTo("web is not running; start it with --to instead");
        assertThat(refused(OwnerTable.relocate(ctx(List.of(WEB), List.of(up(1)), Map.of(), Map.of()), WEB, Optional.empty(), "op")))
                .isEqualTo("web is not running; start it with --to instead");
    }

    @Test
    void relocateBeginsAPlannedMoveToTheTarget() {
        WorkloadRecord r = owned(1, 7, 1);
        Context c = ctx(List.of(WEB), List.of(up(1), up(2), up(3)), Map.of(), table(r));
        Write w = done(OwnerTable.relocate(c, WEB, Optional.of(3), "root@node1"));
        assertThat(w.change()).isEqualTo(Change.MOVE_BEGIN);
        assertThat(w.previous()).isEqualTo(r);
        assertThat(w.record()).isEqualTo(new WorkloadRecord(1, 6, 8, GEN, WALL, 1, inc(1), Desired.RUNNING, 3, inc(3), "w1",
                "root@node1: relocate to node 3", 0));
        assertThat(done(OwnerTable.relocate(c, WEB, Optional.empty(), "op")).record().nextId()).isEqualTo(2);

        // The coordinator then finishes it like any planned move (the owner is not in standby: no decision interferes).
        Map<Integer, WorkloadRecord> moving = table(w.record());
        assertThat(checked(ctx(List.of(WEB), c.nodes(), Map.of(), moving)).writes()).isEmpty();
        assertThat(checked(ctx(List.of(WEB), c.nodes(), slot(1, inc(1), 8, List.of(), List.of()), moving)).writes())
                .singleElement().satisfies(f -> {
                    assertThat(f.change()).isEqualTo(Change.MOVE_FINISH);
                    assertThat(f.record().ownerId()).isEqualTo(3);
                });
    }

    @Test
    void startOnWaitsUntilTheLastOwnerAcknowledgedTheStop() {
        WorkloadRecord stopped = new WorkloadRecord(1, 6, 8, GEN, WALL, 1, inc(1), Desired.STOPPED, 0, 0, "web", "op: stopped");
        List<Node> nodes = List.of(up(1), up(2));
        for (Map<Integer, Published> notYet : List.of(Map.<Integer, Published>of(), slot(1, inc(1), 7, List.of(), List.of()),
                slot(1, inc(1), 8, List.of(1), List.of()))) {
            assertThat(refused(OwnerTable.startOn(ctx(List.of(WEB), nodes, notYet, table(stopped)), WEB, up(2), "op")))
                    .as("%s", notYet)
                    .isEqualTo("web may still be stopping on node 1 (it has not acknowledged the stop yet); try again in a moment");
        }
        Write w = done(OwnerTable.startOn(ctx(List.of(WEB), nodes, slot(1, inc(1), 8, List.of(), List.of()), table(stopped)), WEB,
                up(2), "op"));
        assertThat(w.change()).isEqualTo(Change.OPERATOR);
        assertThat(w.record()).isEqualTo(new WorkloadRecord(1, 7, 9, GEN, WALL, 2, inc(2), Desired.RUNNING, 0, 0, "web",
                "op: start on node 2", 0));
        // A dead last owner, another incarnation of it, or the owner itself as target: no wait.
        for (Node owner : List.of(node(1, Verdict.FENCED), node(1, Verdict.LEFT), new Node(1, inc(1) + 1, Verdict.UP, false))) {
            assertThat(OwnerTable.startOn(ctx(List.of(WEB), List.of(owner, up(2)), Map.of(), table(stopped)), WEB, up(2), "op"))
                    .as("%s", owner).isInstanceOf(Answer.Done.class);
        }
        assertThat(done(OwnerTable.startOn(ctx(List.of(WEB), nodes, Map.of(), table(stopped)), WEB, up(1), "op")).record()
                .runsOn(1, inc(1))).isTrue();
        // A down (not fenced) last owner may still run it.
        assertThat(OwnerTable.startOn(ctx(List.of(WEB), List.of(node(1, Verdict.DOWN), up(2)), Map.of(), table(stopped)), WEB, up(2),
                "op")).isInstanceOf(Answer.Refused.class);
        // Never placed: start it at once. Running: relocate instead.
        assertThat(done(OwnerTable.startOn(ctx(List.of(WEB), nodes, Map.of(), Map.of()), WEB, up(2), "op")).record().epoch())
                .isEqualTo(1);
        assertThat(refused(OwnerTable.startOn(ctx(List.of(WEB), nodes, Map.of(), table(owned(1, 7, 1))), WEB, up(2), "op")))
                .isEqualTo("web runs already; relocate it instead");
    }

    // ---------------------------------------------------------------- generations

    @Test
    void recordsOfAnOlderLeaseGenerationAreWrittenAgainUnderThisOne() {
        WorkloadRecord old1 = new WorkloadRecord(1, 4, 7, GEN - 1, WALL - 5, 1, inc(1), Desired.RUNNING, 0, 0, "w1", "placed");
        WorkloadRecord old2 = new WorkloadRecord(2, 9, 3, GEN - 2, WALL - 9, 2, inc(2), Desired.FROZEN, 0, 0, "w2", "op: frozen");
        WorkloadRecord current = new WorkloadRecord(3, 2, 12, GEN, WALL - 1, 1, inc(1), Desired.STOPPED, 0, 0, "w3", "op: stopped");
        List<Spec> specs = List.of(new Spec(1, "w1", List.of(), false, false, 2, 60 * S), new Spec(2, "w2", List.of(), false, false,
                2, 60 * S), new Spec(3, "w3", List.of(), false, false, 2, 60 * S));
        Plan p = checked(ctx(specs, List.of(up(1), up(2)), Map.of(), table(old1, old2, current)));
        assertThat(p.writes()).extracting(Write::change).containsExactly(Change.REFRESH, Change.REFRESH);
        assertThat(p.writes()).extracting(w -> w.record().tableVersion()).containsExactly(13L, 14L);
        WorkloadRecord r1 = p.writes().get(0).record();
        assertThat(r1).isEqualTo(new WorkloadRecord(1, 5, 13, GEN, WALL, 1, inc(1), Desired.RUNNING, 0, 0, "w1", "placed"));
        assertThat(r1.compareNewer(old1)).isPositive();
        assertThat(p.writes().get(1).record().desired()).isEqualTo(Desired.FROZEN);
        assertThat(checked(ctx(specs, List.of(up(1), up(2)), Map.of(), apply(table(old1, old2, current), p))).writes()).isEmpty();
    }

    @Test
    void aRecordOfALaterGenerationIsNewerWhateverItsEpoch() {
        WorkloadRecord deposed = new WorkloadRecord(1, 50, 60, 2, 0, 1, 1, Desired.RUNNING, 0, 0, "w", "");
        WorkloadRecord current = new WorkloadRecord(1, 3, 4, 3, 0, 2, 1, Desired.RUNNING, 0, 0, "w", "");
        assertThat(current.compareNewer(deposed)).isPositive();
        assertThat(deposed.compareNewer(current)).isNegative();
        WorkloadRecord later = new WorkloadRecord(1, 4, 5, 3, 0, 2, 1, Desired.RUNNING, 0, 0, "w", "");
        assertThat(later.compareNewer(current)).isPositive();
        assertThat(current.compareNewer(current)).isZero();
    }

    @Test
    void epochsGrowPerRecordAndTableVersionsAcrossTheTable() {
        // Three workloads through place, move and restart: each record's epoch counts its own writes.
        List<Spec> specs = List.of(new Spec(1, "a", List.of(1), false, false, 2, 60 * S), new Spec(2, "b", List.of(1), false, false,
                2, 60 * S), new Spec(3, "c", List.of(2), false, false, 2, 60 * S));
        Map<Integer, WorkloadRecord> t = apply(Map.of(), checked(ctx(specs, List.of(up(1), up(2)), Map.of(), Map.of())));
        assertThat(t.values()).extracting(WorkloadRecord::epoch).containsOnly(1L);
        t = apply(t, checked(ctx(specs, List.of(standby(1), up(2)), Map.of(), t))); // a and b begin to move
        assertThat(t.values()).extracting(WorkloadRecord::epoch).containsExactly(2L, 2L, 1L);
        t = apply(t, checked(ctx(specs, List.of(standby(1), up(2)), slot(1, inc(1), 5, List.of(), List.of()), t)));
        assertThat(t.values()).extracting(WorkloadRecord::epoch).containsExactly(3L, 3L, 1L);
        assertThat(t.values()).extracting(WorkloadRecord::ownerId).containsOnly(2);
        assertThat(t.values()).extracting(WorkloadRecord::tableVersion).containsExactly(6L, 7L, 3L);
    }

    // ---------------------------------------------------------------- the model

    /**
     * A tiny cluster driven at random: nodes with their agents, a coordinator planning every so
     * often, agents reading the table and acknowledging it in their slots at their own pace,
     * workloads failing, nodes going to standby, crashing, being cut off and fenced, operators
     * moving and restarting things. After every step: no workload may be active (starting,
     * running or stopping) on two live agents. At the end the faults heal and every workload that
     * should run runs on its owner alone.
     */
    @Test
    void noWorkloadEverRunsOnTwoLiveNodes() {
        Map<Change, Integer> changes = new java.util.EnumMap<>(Change.class);
        for (long seed = 1; seed <= 300; seed++) {
            new Model(seed).run(150).forEach((k, v) -> changes.merge(k, v, Integer::sum));
        }
        // The model must reach every kind of write, or it proves little.
        assertThat(changes.keySet()).as("%s", changes).containsExactlyInAnyOrder(Change.values());
    }

    @Test
    void theCheckerCatchesAMoveThatDoesNotWaitForTheStop() {
        // The same model with the coordinator finishing moves at once must be caught, or the check above proves nothing.
        boolean caught = java.util.stream.LongStream.rangeClosed(1, 300).anyMatch(seed -> {
            try {
                new Model(seed, true).run(150);
                return false;
            } catch (AssertionError e) {
                assertThat(e.getMessage()).contains("active on nodes");
                return true;
            }
        });
        assertThat(caught).isTrue();
    }

    static final class Model {
        static final int NODES = 4;
        static final int WORKLOADS = 5;
        static final long WINDOW = 10 * S;

        /** One node: its coordinator-visible state and, while the process lives, its agent. */
        static final class Sim {
            final int id;
            long inc;
            WorkloadAgent agent;              // null: the process is dead
            Verdict verdict = Verdict.UP;
            boolean standby;
            boolean cutOff;                   // alive, but neither reads nor writes the disk nor talks
            int faultSteps = -1;              // steps since it crashed or was cut off, -1 when healthy
            final java.util.ArrayDeque<WorkloadAgent.Effect> pending = new java.util.ArrayDeque<>();

            Sim(int id, long inc) {
                this.id = id;
                this.inc = inc;
                this.agent = newAgent(id, inc);
            }

            static WorkloadAgent newAgent(int id, long inc) {
                return new WorkloadAgent(id, inc, w -> new WorkloadAgent.RestartLimit(1, WINDOW));
            }

            Node view() {
                return new Node(id, inc, verdict, standby);
            }
        }

        final long seed;
        final java.util.Random rnd;
        final List<Spec> specs = new ArrayList<>();
        final List<Sim> nodes = new ArrayList<>();
        final Map<Integer, WorkloadRecord> table = new TreeMap<>();
        final Map<Integer, Published> published = new HashMap<>();
        final java.util.ArrayDeque<String> trace = new java.util.ArrayDeque<>();
        final Map<Change, Integer> changes = new java.util.EnumMap<>(Change.class);
        long now = 1_000 * S;
        long generation = 1;
        int step;

        final boolean unsafeSkipStopWait;

        Model(long seed) {
            this(seed, false);
        }

        Model(long seed, boolean unsafeSkipStopWait) {
            this.seed = seed;
            this.unsafeSkipStopWait = unsafeSkipStopWait;
            this.rnd = new java.util.Random(seed);
            for (int i = 1; i <= NODES; i++) {
                nodes.add(new Sim(i, 1_000 + i));
            }
            for (int w = 1; w <= WORKLOADS; w++) {
                List<Integer> pref = rnd.nextBoolean() ? List.of(1 + rnd.nextInt(NODES)) : List.of();
                boolean restricted = w == 1; // one workload may only run on nodes 1 and 2
                specs.add(new Spec(w, "w" + w, restricted ? List.of(1, 2) : pref, restricted, rnd.nextInt(3) == 0, 1, WINDOW));
            }
        }

        void log(String s) {
            trace.addLast(step + ": " + s);
            if (trace.size() > 60) {
                trace.removeFirst();
            }
        }

        Context context() {
            return new Context(now, generation, now / 1_000_000, specs, nodes.stream().map(Sim::view).toList(), published, table,
                    List.of(), unsafeSkipStopWait);
        }

        /** Runs {@code steps} random steps, heals, and checks convergence; returns the writes by kind. */
        Map<Change, Integer> run(int steps) {
            for (step = 0; step < steps; step++) {
                faults();
                if (rnd.nextInt(20) == 0) {
                    operator();
                }
                if (rnd.nextInt(50) == 0) {
                    generation++;
                    log("new coordinator, generation " + generation);
                }
                if (rnd.nextInt(10) < 6) {
                    coordinate();
                }
                nodesAct(0.5, 0.85);
                now += S;
                for (Sim n : nodes) {
                    if (n.agent != null) {
                        n.pending.addAll(n.agent.tick(now));
                    }
                }
                checkSafety();
            }
            heal();
            for (int i = 0; i < 40; i++, step++) {
                coordinate();
                nodesAct(1.0, 1.0);
                now += S;
                checkSafety();
            }
            checkConverged();
            return changes;
        }

        void faults() {
            Sim n = nodes.get(rnd.nextInt(NODES));
            int roll = rnd.nextInt(100);
            long faulty = nodes.stream().filter(s -> s.faultSteps >= 0 || s.verdict != Verdict.UP).count();
            if (roll < 8) {
                n.standby = !n.standby;
                log("node " + n.id + (n.standby ? " standby" : " unstandby"));
            } else if (roll < 11 && n.faultSteps < 0 && n.verdict == Verdict.UP && faulty < 2) {
                if (rnd.nextBoolean()) {
                    n.agent = null;
                    n.pending.clear();
                    log("node " + n.id + " crashes");
                } else {
                    n.cutOff = true;
                    log("node " + n.id + " is cut off");
                }
                n.faultSteps = 0;
            } else if (roll < 20) {
                workloadFails(n);
            }
            for (Sim s : nodes) {
                advanceFault(s);
            }
        }

        void workloadFails(Sim n) {
            if (n.agent == null) {
                return;
            }
            List<Integer> running = new ArrayList<>();
            for (int w = 1; w <= WORKLOADS; w++) {
                if (n.agent.local(w) == WorkloadAgent.Local.RUNNING) {
                    running.add(w);
                }
            }
            if (!running.isEmpty()) {
                int w = running.get(rnd.nextInt(running.size()));
                log("w" + w + " fails on node " + n.id);
                n.pending.addAll(n.agent.failed(w, now));
            }
        }

        void advanceFault(Sim s) {
            if (s.faultSteps < 0) {
                return;
            }
            s.faultSteps++;
            if (s.verdict == Verdict.FENCED) {
                if (rnd.nextInt(4) == 0) {
                    rejoin(s);
                }
                return;
            }
            if (s.cutOff && s.faultSteps >= 1 && rnd.nextInt(6) == 0) {
                // Back before anyone fenced it: the same incarnation carries on.
                s.cutOff = false;
                s.faultSteps = -1;
                s.verdict = Verdict.UP;
                log("node " + s.id + " is reachable again");
                return;
            }
            if (s.agent == null && s.verdict != Verdict.FENCED && rnd.nextInt(8) == 0) {
                rejoin(s); // restarted before its fence: a new incarnation
                return;
            }
            if (s.faultSteps >= 2 && s.verdict == Verdict.UP) {
                s.verdict = rnd.nextBoolean() ? Verdict.SUSPECT : Verdict.DOWN;
            } else if (s.faultSteps >= 3 && s.verdict == Verdict.SUSPECT) {
                s.verdict = Verdict.DOWN;
            } else if (s.faultSteps >= 4 && s.verdict == Verdict.DOWN && rnd.nextInt(3) == 0) {
                // The fence: whatever still ran there is off from now on.
                s.agent = null;
                s.pending.clear();
                s.cutOff = false;
                s.verdict = Verdict.FENCED;
                log("node " + s.id + " fenced");
            }
        }

        void rejoin(Sim s) {
            s.inc += 1 + rnd.nextInt(3);
            s.agent = Sim.newAgent(s.id, s.inc);
            s.pending.clear();
            s.cutOff = false;
            s.faultSteps = -1;
            s.verdict = Verdict.UP;
            log("node " + s.id + " rejoins as incarnation " + s.inc);
        }

        void operator() {
            Spec spec = specs.get(rnd.nextInt(WORKLOADS));
            Context c = context();
            Answer a = switch (rnd.nextInt(5)) {
                case 0 -> OwnerTable.relocate(c, spec, rnd.nextBoolean() ? Optional.empty() : Optional.of(1 + rnd.nextInt(NODES)), "op");
                case 1 -> OwnerTable.restart(c, spec, "op");
                case 2 -> OwnerTable.setDesired(c, spec, Desired.STOPPED, "op");
                case 3 -> OwnerTable.setDesired(c, spec, Desired.RUNNING, "op");
                default -> {
                    List<Node> ok = c.nodes().stream().filter(n -> n.verdict() == Verdict.UP && !n.standby()
                            && (!spec.restricted() || spec.preferred().contains(n.id()))).toList();
                    yield ok.isEmpty() ? new Answer.Refused("no node") : OwnerTable.startOn(c, spec, ok.get(rnd.nextInt(ok.size())), "op");
                }
            };
            if (a instanceof Answer.Done d) {
                apply(c, List.of(d.write()));
            } else {
                log("operator refused: " + ((Answer.Refused) a).reason());
            }
        }

        void coordinate() {
            Context c = context();
            Plan p = OwnerTable.plan(c);
            apply(c, p.writes());
        }

        void apply(Context c, List<Write> writes) {
            long version = table.values().stream().mapToLong(WorkloadRecord::tableVersion).max().orElse(0);
            for (Write w : writes) {
                WorkloadRecord r = w.record();
                WorkloadRecord old = table.get(r.id());
                if (!java.util.Objects.equals(w.previous(), old) || r.epoch() != (old == null ? 1 : old.epoch() + 1)
                        || r.tableVersion() <= version || r.generation() != generation) {
                    throw new AssertionError("seed " + seed + " step " + step + ": " + w.change() + " " + r + " after " + old
                            + " (table version " + version + ", generation " + generation + ")");
                }
                version = r.tableVersion();
                table.put(r.id(), r);
                changes.merge(w.change(), 1, Integer::sum);
                log(w.change() + " w" + r.id() + " owner " + r.ownerId() + "/" + r.ownerIncarnation() + " next " + r.nextId()
                        + " " + r.desired() + " v" + r.tableVersion() + ": " + r.reason());
            }
        }

        /** Each live node reachable: reads the table, writes its slot; each live node's drivers complete operations. */
        void nodesAct(double pRead, double pStartOk) {
            for (Sim n : nodes) {
                if (n.agent == null) {
                    continue;
                }
                if (!n.cutOff && rnd.nextDouble() < pRead) {
                    n.pending.addAll(n.agent.recordsRead(java.util.Collections.unmodifiableMap(table)));
                }
                int ops = n.pending.size();
                for (int i = 0; i < ops && (pRead >= 1.0 || rnd.nextBoolean()); i++) {
                    WorkloadAgent.Effect e = n.pending.removeFirst();
                    switch (e) {
                        case WorkloadAgent.Effect.Start s -> n.pending.addAll(rnd.nextDouble() < pStartOk ? n.agent.started(s.id())
                                : n.agent.failed(s.id(), now));
                        case WorkloadAgent.Effect.Stop s -> n.pending.addAll(n.agent.stopped(s.id()));
                    }
                }
                if (!n.cutOff && rnd.nextDouble() < pRead) {
                    published.put(n.id, new Published(n.inc, SlotWorkloads.of(n.agent.acknowledgedTable(), n.agent.active(),
                            n.agent.failedOut())));
                }
            }
        }

        void heal() {
            log("heal");
            for (Sim s : nodes) {
                s.standby = false;
                if (s.faultSteps >= 0 || s.verdict != Verdict.UP) {
                    if (s.agent != null) {
                        s.agent = null; // fenced at last
                        s.verdict = Verdict.FENCED;
                    }
                    rejoin(s);
                }
            }
            now += 2 * WINDOW; // past every restart window
            for (Sim s : nodes) {
                s.pending.addAll(s.agent.tick(now));
            }
        }

        void checkSafety() {
            for (int w = 1; w <= WORKLOADS; w++) {
                List<Integer> on = new ArrayList<>();
                for (Sim n : nodes) {
                    if (n.agent != null && n.agent.local(w) != WorkloadAgent.Local.STOPPED) {
                        on.add(n.id);
                    }
                }
                if (on.size() > 1) {
                    throw new AssertionError("seed " + seed + " step " + step + ": w" + w + " active on nodes " + on + "\n"
                            + String.join("\n", trace));
                }
            }
        }

        void checkConverged() {
            for (int w = 1; w <= WORKLOADS; w++) {
                WorkloadRecord r = table.get(w);
                List<Integer> on = new ArrayList<>();
                for (Sim n : nodes) {
                    if (n.agent.local(w) != WorkloadAgent.Local.STOPPED) {
                        on.add(n.id);
                    }
                }
                String what = "seed " + seed + ": w" + w + " " + r + " active on " + on + "\n" + String.join("\n", trace);
                assertThat(r).as(what).isNotNull();
                if (r.desired() == Desired.RUNNING) {
                    assertThat(r.nextId()).as(what).isZero();
                    assertThat(on).as(what).containsExactly(r.ownerId());
                    Sim owner = nodes.get(r.ownerId() - 1);
                    assertThat(r.ownerIncarnation()).as(what).isEqualTo(owner.inc);
                    assertThat(owner.agent.local(w)).as(what).isEqualTo(WorkloadAgent.Local.RUNNING);
                } else {
                    assertThat(on).as(what).isEmpty();
                }
            }
        }
    }
}
