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
     * A tiny cluster driven at random: nodes with their agents and their machines' guests, a
     * coordinator planning every so often, agents reading the table and acknowledging it in their
     * slots at their own pace, workloads failing, nodes going to standby, switched over (live or
     * through checkpoints) and resumed (with or without switch-back), crashing, being cut off and
     * fenced, operators moving, migrating and restarting things. Workloads 4 and 5 are VEs: they
     * migrate, and a migration's handover races with everything else (a transfer completes
     * later, and its two ends hear of it each after its own delay). After every change on any
     * machine: no service may be active (starting, running or stopping) on two live agents, and
     * no VE's guest may execute on two machines. At the end the faults heal and every workload
     * that should run runs on its owner alone, with no migration left.
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
        assertThat(firstFailure(300, m -> true, Model.Flaw.MOVE_WITHOUT_STOP_WAIT)).hasValueSatisfying(
                m -> assertThat(m).containsAnyOf("active on nodes", "executes on nodes"));
    }

    @Test
    void theCheckerCatchesAMigrationCalledOffWhileTheTargetMayAlreadyRunTheVe() {
        // The rule OwnerTable had first: call a migration off once its target is not up, unless the owner's slot shows
        // the handover. The transfer may have completed unpublished, or complete after the call: the record then gives
        // the VE to its owner alone while the target runs it. Caught as two executing copies (a restart or a recovery
        // of the owner's record), or as a migration stuck for good (seeds 224, 430, 567 of the first 1000).
        assertThat(firstFailure(1000, m -> true, Model.Flaw.CANCEL_BEFORE_HANDOVER)).isPresent();
    }

    @Test
    void theCheckerCatchesAResumeThatDoesNotWaitForTheTarget() {
        // With those early cancels, handed-over VEs come back to owners whose targets may run them, and only the
        // agents' resume rule keeps the paused copies paused: the model never breaks at a resume...
        assertThat(firstFailure(300, Model::brokeAtResume, Model.Flaw.CANCEL_BEFORE_HANDOVER)).isEmpty();
        // ... but with a Peers view that says at once "the next node cannot run it", it does (first at seed 140).
        assertThat(firstFailure(1000, Model::brokeAtResume, Model.Flaw.CANCEL_BEFORE_HANDOVER, Model.Flaw.RESUME_AT_ONCE))
                .hasValueSatisfying(m -> assertThat(m).contains("executes on nodes"));
    }

    /** The first failure over seeds 1..{@code seeds} of the model with {@code flaws} that {@code which} accepts. */
    static Optional<String> firstFailure(int seeds, java.util.function.Predicate<String> which, Model.Flaw... flaws) {
        for (long seed = 1; seed <= seeds; seed++) {
            try {
                new Model(seed, flaws).run(150);
            } catch (AssertionError e) {
                if (which.test(e.getMessage())) {
                    return Optional.of(e.getMessage());
                }
            }
        }
        return Optional.empty();
    }

    static final class Model {
        static final int NODES = 4;
        static final int WORKLOADS = 5;
        /** The VEs: they migrate (services 1..3 move cold, stopped first). */
        static final java.util.Set<Integer> VES = java.util.Set.of(4, 5);
        static final long WINDOW = 10 * S;
        /** A Send keeps trying to reach a target that is not ready this long, in steps; a Receive waits this long for the state. */
        static final int SEND_DEADLINE_STEPS = 6;
        static final int RECEIVE_DEADLINE_STEPS = 10;

        /** A rule broken on purpose, to show that the checks catch it. */
        enum Flaw {
            /** The coordinator finishes a planned move without waiting for the old owner to stop. */
            MOVE_WITHOUT_STOP_WAIT,
            /** The coordinator calls a migration off once its target is not up, unless the owner's slot shows it sent. */
            CANCEL_BEFORE_HANDOVER,
            /** The agents' Peers view says at once that the other node cannot run the VE. */
            RESUME_AT_ONCE
        }

        /** A guest on a machine: it executes, is paused for good after its handover, or a QEMU waits for its state. */
        enum GuestState { EXECUTES, PAUSED, WAITS }

        record Guest(GuestState state, int attempt, int sinceStep) {}

        /** A transfer a source's Send began; decided at step {@code due}, or tried again while the target is not ready. */
        record Transfer(int source, long sourceInc, int target, int id, int attempt, int begun, int due) {}

        enum Kind { SENT, SEND_FAILED, RECEIVED, RECEIVE_FAILED }

        /** What a machine's shell reports to its agent at step {@code due}, if the same incarnation still runs then. */
        record Completion(int node, long inc, int due, Kind kind, int id, int attempt, SlotWorkloads.Failure failure) {}

        /** One node: its coordinator-visible state and, while the process lives, its agent and its machine's guests. */
        static final class Sim {
            final int id;
            long inc;
            WorkloadAgent agent;              // null: the process is dead
            Verdict verdict = Verdict.UP;
            boolean cutOff;                   // alive, but neither reads nor writes the disk nor talks
            int faultSteps = -1;              // steps since it crashed or was cut off, -1 when healthy
            final java.util.ArrayDeque<WorkloadAgent.Effect> pending = new java.util.ArrayDeque<>();
            /** The guests on this machine, by workload id: what the safety check counts. */
            final Map<Integer, Guest> guests = new TreeMap<>();
            /** What this node last read of the others (slots and verdicts): all its Peers view may know. */
            Map<Integer, Published> seenSlots = Map.of();
            Map<Integer, Node> seenNodes = Map.of();

            Sim(int id, long inc) {
                this.id = id;
                this.inc = inc;
            }

            /** The process and every guest it ran are gone (a crash or a fence). */
            void dies() {
                agent = null;
                pending.clear();
                guests.clear();
            }
        }

        final long seed;
        final java.util.Set<Flaw> flaws;
        final java.util.Random rnd;
        final List<Spec> specs = new ArrayList<>();
        final List<Sim> nodes = new ArrayList<>();
        final Map<Integer, WorkloadRecord> table = new TreeMap<>();
        final Map<Integer, Published> published = new HashMap<>();
        final List<Transfer> transfers = new ArrayList<>();
        final List<Completion> completions = new ArrayList<>();
        final java.util.ArrayDeque<String> trace = new java.util.ArrayDeque<>();
        final Map<Change, Integer> changes = new java.util.EnumMap<>(Change.class);
        final int maxParallel;
        NodeSettings settings = NodeSettings.NONE;
        long now = 1_000 * S;
        long generation = 1;
        int step;

        Model(long seed, Flaw... flaws) {
            this.seed = seed;
            this.flaws = flaws.length == 0 ? java.util.EnumSet.noneOf(Flaw.class) : java.util.EnumSet.copyOf(List.of(flaws));
            this.rnd = new java.util.Random(seed);
            for (int i = 1; i <= NODES; i++) {
                Sim s = new Sim(i, 1_000 + i);
                s.agent = newAgent(s);
                nodes.add(s);
            }
            for (int w = 1; w <= WORKLOADS; w++) {
                List<Integer> pref = rnd.nextBoolean() ? List.of(1 + rnd.nextInt(NODES)) : List.of();
                boolean restricted = w == 1; // one workload may only run on nodes 1 and 2
                specs.add(new Spec(w, "w" + w, restricted ? List.of(1, 2) : pref, restricted, rnd.nextInt(3) == 0, 1, WINDOW));
            }
            maxParallel = 1 + rnd.nextInt(2);
        }

        WorkloadAgent newAgent(Sim s) {
            WorkloadAgent a = new WorkloadAgent(s.id, s.inc, w -> new WorkloadAgent.RestartLimit(1, WINDOW));
            a.peers(flaws.contains(Flaw.RESUME_AT_ONCE) ? (node, inc, id, since) -> false : (node, inc, id, since) -> mayRun(s, node, inc, id, since));
            return a;
        }

        /**
         * What {@code viewer} can know from what it last read: {@code node} in {@code inc} may still run
         * {@code id} unless it is fenced or left, runs as another incarnation, or its slot acknowledged
         * {@code since} without {@code id} active or in a migration (as the node's WorkloadHost decides).
         */
        static boolean mayRun(Sim viewer, int node, long inc, int id, long since) {
            Node n = viewer.seenNodes.get(node);
            if (n != null && (n.incarnation() != inc || n.verdict() == Verdict.FENCED || n.verdict() == Verdict.LEFT)) {
                return false;
            }
            Published p = viewer.seenSlots.get(node);
            return p == null || p.incarnation() != inc || p.declared().acknowledgedTable() < since || p.declared().active(id)
                    || p.declared().migrations().stream().anyMatch(m -> m.workloadId() == id);
        }

        void log(String s) {
            trace.addLast(step + ": " + s);
            if (trace.size() > 80) {
                trace.removeFirst();
            }
        }

        List<Node> views() {
            return nodes.stream().map(s -> new Node(s.id, s.inc, s.verdict, settings.standby(s.id))).toList();
        }

        Context context() {
            return new Context(now, generation, now / 1_000_000, specs, views(), published, table, List.of(),
                    flaws.contains(Flaw.MOVE_WITHOUT_STOP_WAIT), new OwnerTable.Migrations(VES, settings, maxParallel));
        }

        /** Runs {@code steps} random steps, heals, and checks convergence; returns the writes by kind. */
        Map<Change, Integer> run(int steps) {
            for (step = 0; step < steps; step++) {
                faults();
                if (rnd.nextInt(12) == 0) {
                    operator();
                }
                if (rnd.nextInt(50) == 0) {
                    generation++;
                    log("new coordinator, generation " + generation);
                }
                if (rnd.nextInt(10) < 6) {
                    coordinate();
                }
                shell();
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
                shell();
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
            long wall = now / 1_000_000;
            if (roll < 4) {
                settings = settings.withStandby(n.id, !settings.standby(n.id), generation, wall, 1);
                log("node " + n.id + (settings.standby(n.id) ? " standby" : " unstandby"));
            } else if (roll < 8) {
                // Switch over mostly a node that runs a VE, so that its VEs migrate off.
                WorkloadRecord ve = table.get(4 + rnd.nextInt(2));
                Sim s = ve != null && ve.ownerId() != 0 && rnd.nextBoolean() ? nodes.get(ve.ownerId() - 1) : n;
                if (settings.switchover(s.id)) {
                    boolean back = rnd.nextBoolean();
                    settings = settings.withResume(s.id, back, generation, wall, 1);
                    log("node " + s.id + " resumed" + (back ? " with switch-back" : ""));
                } else {
                    boolean checkpoint = rnd.nextBoolean();
                    settings = settings.withSwitchover(s.id, checkpoint, generation, wall, 1);
                    log("node " + s.id + " switched over" + (checkpoint ? " through checkpoints" : " live"));
                }
            } else if (roll < 11 && faulty < 2) {
                // Mostly one of a migration's two nodes, while it runs: the races worth testing are there.
                List<WorkloadRecord> migrating = table.values().stream().filter(WorkloadRecord::migrating).toList();
                if (!migrating.isEmpty() && rnd.nextInt(4) != 0) {
                    WorkloadRecord r = migrating.get(rnd.nextInt(migrating.size()));
                    n = nodes.get((rnd.nextInt(3) == 0 ? r.ownerId() : r.nextId()) - 1);
                }
                if (n.faultSteps < 0 && n.verdict == Verdict.UP) {
                    if (rnd.nextBoolean()) {
                        n.dies();
                        log("node " + n.id + " crashes");
                    } else {
                        n.cutOff = true;
                        log("node " + n.id + " is cut off");
                    }
                    n.faultSteps = 0;
                }
            } else if (roll < 20) {
                workloadFails(n);
            }
            for (Sim s : nodes) {
                advanceFault(s);
            }
        }

        /** A running workload (for a VE: its executing or paused guest) dies on {@code n}. */
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
                log("w" + w + " fails on node " + n.id + " (its guest " + n.guests.get(w) + ")");
                n.guests.remove(w);
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
                s.dies();
                s.cutOff = false;
                s.verdict = Verdict.FENCED;
                log("node " + s.id + " fenced");
            }
        }

        void rejoin(Sim s) {
            s.inc += 1 + rnd.nextInt(3);
            s.agent = newAgent(s);
            s.pending.clear();
            s.cutOff = false;
            s.faultSteps = -1;
            s.verdict = Verdict.UP;
            log("node " + s.id + " rejoins as incarnation " + s.inc);
        }

        void operator() {
            Spec spec = specs.get(rnd.nextInt(WORKLOADS));
            Context c = context();
            Optional<Integer> to = rnd.nextBoolean() ? Optional.empty() : Optional.of(1 + rnd.nextInt(NODES));
            Answer a = switch (rnd.nextInt(7)) {
                case 0 -> OwnerTable.relocate(c, spec, to, "op");
                case 1 -> OwnerTable.restart(c, spec, "op");
                case 2 -> OwnerTable.setDesired(c, spec, Desired.STOPPED, "op");
                case 3 -> OwnerTable.setDesired(c, spec, Desired.RUNNING, "op");
                case 4 -> {
                    List<Node> ok = c.nodes().stream().filter(n -> n.verdict() == Verdict.UP && !n.standby()
                            && (!spec.restricted() || spec.preferred().contains(n.id()))).toList();
                    yield ok.isEmpty() ? new Answer.Refused("no node") : OwnerTable.startOn(c, spec, ok.get(rnd.nextInt(ok.size())), "op");
                }
                default -> OwnerTable.migrate(c, rnd.nextInt(4) == 0 ? spec : specs.get(3 + rnd.nextInt(2)), to, rnd.nextBoolean(), "op");
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
            List<Write> writes = new ArrayList<>(p.writes());
            if (flaws.contains(Flaw.CANCEL_BEFORE_HANDOVER)) {
                writes.addAll(earlyCancels(c, writes));
            }
            apply(c, writes);
        }

        /** {@link Flaw#CANCEL_BEFORE_HANDOVER}: the writes of the broken rule, after the plan's. */
        List<Write> earlyCancels(Context c, List<Write> planned) {
            List<Write> out = new ArrayList<>();
            long version = java.util.stream.Stream.concat(table.values().stream(), planned.stream().map(Write::record))
                    .mapToLong(WorkloadRecord::tableVersion).max().orElse(0);
            for (WorkloadRecord r : table.values()) {
                boolean targetUp = c.nodes().stream().anyMatch(n -> n.id() == r.nextId() && n.incarnation() == r.nextIncarnation()
                        && n.verdict() == Verdict.UP);
                Published src = published.get(r.ownerId());
                boolean sent = src != null && src.incarnation() == r.ownerIncarnation() && src.declared().migration(r.id(), r.attempt())
                        .filter(m -> m.phase() == SlotWorkloads.Phase.SENT).isPresent();
                if (r.migrating() && !targetUp && !sent && planned.stream().noneMatch(w -> w.record().id() == r.id())) {
                    out.add(new Write(new WorkloadRecord(r.id(), r.epoch() + 1, ++version, generation, c.wallMillis(), r.ownerId(),
                            r.ownerIncarnation(), Desired.RUNNING, 0, 0, r.name(), "called off: node " + r.nextId() + " is not up", 0),
                            Change.MIGRATE_CANCEL, r));
                }
            }
            return out;
        }

        /** Whether a failure message shows the break at a resume (the last action before the check). */
        static boolean brokeAtResume(String failure) {
            return failure.lines().reduce((a, b) -> b).orElse("").contains("performs Resume");
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
                        + (r.migrating() ? " attempt " + r.attempt() : "") + " " + r.desired() + " v" + r.tableVersion() + ": "
                        + r.reason());
            }
        }

        /** The machines' shells: transfers end, completions reach their agents, receives that waited too long give up. */
        void shell() {
            for (Transfer t : List.copyOf(transfers)) {
                if (t.due() <= step) {
                    transfers.remove(t);
                    transfer(t);
                }
            }
            for (Completion c : List.copyOf(completions)) {
                if (c.due() <= step) {
                    completions.remove(c);
                    deliver(c);
                }
            }
            for (Sim n : nodes) {
                for (int id : List.copyOf(n.guests.keySet())) {
                    Guest g = n.guests.get(id);
                    if (g.state() == GuestState.WAITS && step - g.sinceStep() >= RECEIVE_DEADLINE_STEPS) {
                        n.guests.remove(id);
                        completions.add(new Completion(n.id, n.inc, step + 1, Kind.RECEIVE_FAILED, id, g.attempt(),
                                SlotWorkloads.Failure.DEADLINE));
                    }
                }
            }
        }

        /**
         * A transfer ends: with success only while the source's guest executes, both machines talk, and the
         * target's QEMU waits for this attempt; then, as QEMU's final stop-and-copy, the source's guest pauses
         * and the target's executes at once. Each end hears of it after its own delay.
         */
        void transfer(Transfer t) {
            Sim src = nodes.get(t.source() - 1);
            Sim tgt = nodes.get(t.target() - 1);
            if (src.agent == null || src.inc != t.sourceInc()) {
                failTarget(tgt, t, SlotWorkloads.Failure.CONNECTION_LOST); // the source's QEMU went with its machine
                return;
            }
            Guest sg = src.guests.get(t.id());
            Guest tg = tgt.guests.get(t.id());
            boolean sourceOk = sg != null && sg.state() == GuestState.EXECUTES;
            boolean targetReady = tgt.agent != null && !tgt.cutOff && !src.cutOff && tg != null && tg.state() == GuestState.WAITS
                    && tg.attempt() == t.attempt();
            if (sourceOk && targetReady && rnd.nextInt(8) != 0) {
                src.guests.put(t.id(), new Guest(GuestState.PAUSED, t.attempt(), step));
                tgt.guests.put(t.id(), new Guest(GuestState.EXECUTES, t.attempt(), step));
                log("w" + t.id() + " handed over from node " + src.id + " to node " + tgt.id + " (attempt " + t.attempt() + ")");
                completions.add(new Completion(src.id, src.inc, step + rnd.nextInt(3), Kind.SENT, t.id(), t.attempt(),
                        SlotWorkloads.Failure.NONE));
                completions.add(new Completion(tgt.id, tgt.inc, step + rnd.nextInt(3), Kind.RECEIVED, t.id(), t.attempt(),
                        SlotWorkloads.Failure.NONE));
                checkSafety();
                return;
            }
            if (sourceOk && !targetReady && step - t.begun() < SEND_DEADLINE_STEPS) {
                transfers.add(new Transfer(t.source(), t.sourceInc(), t.target(), t.id(), t.attempt(), t.begun(), step + 1));
                return; // it keeps trying to reach the target
            }
            SlotWorkloads.Failure why = !sourceOk ? SlotWorkloads.Failure.SOURCE_FAILED
                    : !targetReady ? SlotWorkloads.Failure.TARGET_UNREACHABLE : SlotWorkloads.Failure.CONNECTION_LOST;
            log("w" + t.id() + " transfer from node " + src.id + " to node " + tgt.id + " fails: " + why.label);
            completions.add(new Completion(src.id, src.inc, step + rnd.nextInt(2), Kind.SEND_FAILED, t.id(), t.attempt(), why));
            failTarget(tgt, t, why);
        }

        /** A failed transfer ends the target's waiting QEMU of that attempt. */
        void failTarget(Sim tgt, Transfer t, SlotWorkloads.Failure why) {
            Guest tg = tgt.guests.get(t.id());
            if (tgt.agent != null && tg != null && tg.state() == GuestState.WAITS && tg.attempt() == t.attempt()) {
                tgt.guests.remove(t.id());
                completions.add(new Completion(tgt.id, tgt.inc, step + rnd.nextInt(2), Kind.RECEIVE_FAILED, t.id(), t.attempt(), why));
            }
        }

        void deliver(Completion c) {
            Sim n = nodes.get(c.node() - 1);
            if (n.agent == null || n.inc != c.inc()) {
                return; // the process that would hear of it is gone
            }
            List<WorkloadAgent.Effect> out = switch (c.kind()) {
                case SENT -> n.agent.sent(c.id(), c.attempt());
                case SEND_FAILED -> n.agent.sendFailed(c.id(), c.attempt(), c.failure());
                case RECEIVED -> {
                    Guest g = n.guests.get(c.id());
                    // A QEMU discarded before its shell heard that the state arrived reports the receive as failed.
                    yield g != null && g.state() == GuestState.EXECUTES && g.attempt() == c.attempt() ? n.agent.received(c.id(), c.attempt())
                            : n.agent.receiveFailed(c.id(), c.attempt(), SlotWorkloads.Failure.CANCELLED);
                }
                case RECEIVE_FAILED -> n.agent.receiveFailed(c.id(), c.attempt(), c.failure());
            };
            log("node " + n.id + " hears " + c.kind() + " w" + c.id() + " attempt " + c.attempt() + " -> " + out);
            n.pending.addAll(out);
        }

        /** Each live node reachable: reads the table, writes its slot; each live node's drivers complete operations. */
        void nodesAct(double pRead, double pStartOk) {
            for (Sim n : nodes) {
                if (n.agent == null) {
                    continue;
                }
                if (!n.cutOff && rnd.nextDouble() < pRead) {
                    n.seenSlots = Map.copyOf(published);
                    Map<Integer, Node> seen = new HashMap<>();
                    views().forEach(v -> seen.put(v.id(), v));
                    n.seenNodes = seen;
                    n.pending.addAll(n.agent.recordsRead(java.util.Collections.unmodifiableMap(table)));
                }
                int ops = n.pending.size();
                for (int i = 0; i < ops && (pRead >= 1.0 || rnd.nextBoolean()); i++) {
                    perform(n, n.pending.removeFirst(), pStartOk);
                    checkSafety();
                }
                if (!n.cutOff && rnd.nextDouble() < pRead) {
                    published.put(n.id, new Published(n.inc, SlotWorkloads.of(n.agent.acknowledgedTable(), n.agent.active(),
                            n.agent.failedOut(), n.agent.migrations())));
                }
            }
        }

        /** What a machine's shell does for one effect. */
        void perform(Sim n, WorkloadAgent.Effect e, double pStartOk) {
            log("node " + n.id + " performs " + e);
            switch (e) {
                case WorkloadAgent.Effect.Start s -> {
                    noGuest(n, s.id(), e);
                    if (rnd.nextDouble() < pStartOk) {
                        n.guests.put(s.id(), new Guest(GuestState.EXECUTES, 0, step));
                        n.pending.addAll(n.agent.started(s.id()));
                    } else {
                        n.pending.addAll(n.agent.failed(s.id(), now));
                    }
                }
                case WorkloadAgent.Effect.Stop s -> {
                    n.guests.remove(s.id());
                    n.pending.addAll(n.agent.stopped(s.id()));
                }
                case WorkloadAgent.Effect.Send s -> transfers.add(new Transfer(n.id, n.inc, s.targetId(), s.id(), s.attempt(), step,
                        step + 1 + rnd.nextInt(3)));
                case WorkloadAgent.Effect.Receive r -> {
                    noGuest(n, r.id(), e);
                    n.guests.put(r.id(), new Guest(GuestState.WAITS, r.attempt(), step));
                }
                case WorkloadAgent.Effect.Resume r -> {
                    Guest g = n.guests.get(r.id());
                    if (g != null && g.state() != GuestState.PAUSED) {
                        throw new AssertionError("seed " + seed + " step " + step + ": node " + n.id + " resumes w" + r.id()
                                + ", whose guest there is " + g + "\n" + String.join("\n", trace));
                    }
                    if (g != null) {
                        n.guests.put(r.id(), new Guest(GuestState.EXECUTES, g.attempt(), step));
                    }
                    n.pending.addAll(n.agent.resumed(r.id()));
                }
                case WorkloadAgent.Effect.Discard d -> {
                    n.guests.remove(d.id());
                    n.pending.addAll(n.agent.stopped(d.id()));
                }
            }
        }

        /** The agent starts or receives {@code id} only where its machine holds nothing of it (not even a paused guest). */
        void noGuest(Sim n, int id, WorkloadAgent.Effect e) {
            if (n.guests.containsKey(id)) {
                throw new AssertionError("seed " + seed + " step " + step + ": node " + n.id + " " + e + " while its guest there is "
                        + n.guests.get(id) + "\n" + String.join("\n", trace));
            }
        }

        void heal() {
            log("heal");
            long wall = now / 1_000_000;
            for (Sim s : nodes) {
                settings = settings.withStandby(s.id, false, generation, wall, 1); // also ends switchovers and switch-backs
                if (s.faultSteps >= 0 || s.verdict != Verdict.UP) {
                    if (s.agent != null) {
                        s.dies(); // fenced at last
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
                    boolean counts = VES.contains(w) ? n.guests.containsKey(w) && n.guests.get(w).state() == GuestState.EXECUTES
                            : n.agent != null && n.agent.local(w) != WorkloadAgent.Local.STOPPED;
                    if (counts) {
                        on.add(n.id);
                    }
                }
                if (on.size() > 1) {
                    throw new AssertionError("seed " + seed + " step " + step + ": w" + w + (VES.contains(w) ? " executes" : " active")
                            + " on nodes " + on + "\n" + String.join("\n", trace));
                }
            }
        }

        void checkConverged() {
            for (int w = 1; w <= WORKLOADS; w++) {
                WorkloadRecord r = table.get(w);
                List<Integer> on = new ArrayList<>();
                List<Integer> held = new ArrayList<>();
                for (Sim n : nodes) {
                    if (n.agent.local(w) != WorkloadAgent.Local.STOPPED) {
                        on.add(n.id);
                    }
                    if (n.guests.containsKey(w)) {
                        held.add(n.id);
                    }
                }
                String what = "seed " + seed + ": w" + w + " " + r + " active on " + on + ", guests on " + held + "\n"
                        + String.join("\n", trace);
                assertThat(r).as(what).isNotNull();
                assertThat(r.migrating()).as(what).isFalse();
                if (r.desired() == Desired.RUNNING) {
                    assertThat(r.nextId()).as(what).isZero();
                    assertThat(on).as(what).containsExactly(r.ownerId());
                    assertThat(held).as(what).containsExactly(r.ownerId());
                    Sim owner = nodes.get(r.ownerId() - 1);
                    assertThat(r.ownerIncarnation()).as(what).isEqualTo(owner.inc);
                    assertThat(owner.agent.local(w)).as(what).isEqualTo(WorkloadAgent.Local.RUNNING);
                    assertThat(owner.guests.get(w).state()).as(what).isEqualTo(GuestState.EXECUTES);
                } else {
                    assertThat(on).as(what).isEmpty();
                    assertThat(held).as(what).isEmpty();
                }
            }
            for (Sim n : nodes) {
                assertThat(n.agent.migrations()).as("seed %s: node %s's migrations\n%s", seed, n.id, String.join("\n", trace)).isEmpty();
            }
        }
    }
}
