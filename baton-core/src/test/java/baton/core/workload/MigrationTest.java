package baton.core.workload;

import static baton.core.workload.OwnerTableTest.GEN;
import static baton.core.workload.OwnerTableTest.NOW;
import static baton.core.workload.OwnerTableTest.S;
import static baton.core.workload.OwnerTableTest.WALL;
import static baton.core.workload.OwnerTableTest.apply;
import static baton.core.workload.OwnerTableTest.check;
import static baton.core.workload.OwnerTableTest.done;
import static baton.core.workload.OwnerTableTest.inc;
import static baton.core.workload.OwnerTableTest.node;
import static baton.core.workload.OwnerTableTest.refused;
import static baton.core.workload.OwnerTableTest.standby;
import static baton.core.workload.OwnerTableTest.table;
import static baton.core.workload.OwnerTableTest.up;
import static org.assertj.core.api.Assertions.assertThat;

import baton.core.disk.SlotWorkloads;
import baton.core.disk.SlotWorkloads.Failure;
import baton.core.disk.SlotWorkloads.Migration;
import baton.core.disk.SlotWorkloads.Phase;
import baton.core.membership.Verdict;
import baton.core.workload.OwnerTable.Change;
import baton.core.workload.OwnerTable.Context;
import baton.core.workload.OwnerTable.Migrations;
import baton.core.workload.OwnerTable.Plan;
import baton.core.workload.OwnerTable.Published;
import baton.core.workload.OwnerTable.Write;
import baton.core.workload.Placement.Decision;
import baton.core.workload.Placement.Desired;
import baton.core.workload.Placement.Node;
import baton.core.workload.Placement.Spec;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The coordinator's side of VE migrations (docs/switchover.md): begin (by an operator, a
 * switchover, a switch-back), finish, cancel, wait, and what happens when the owner or the next
 * node fails on the way. Node n runs as incarnation 100 + n, as in {@link OwnerTableTest}; the VE
 * is workload 1 and migrates, the service (workload 9) does not.
 */
class MigrationTest {
    static final Spec VM = new Spec(1, "vm", List.of(), false, false, 2, 60 * S);
    static final Spec WEB = new Spec(9, "web", List.of(), false, false, 2, 60 * S);
    /** The table version that began the migrations below, and so their attempt. */
    static final int ATTEMPT = 8;

    static Migrations migrations(NodeSettings settings, int maxParallel) {
        return new Migrations(Set.of(1, 2, 3), settings, maxParallel);
    }

    static Context ctx(List<Spec> specs, List<Node> nodes, Map<Integer, Published> published, Map<Integer, WorkloadRecord> records,
                       Migrations m) {
        return new Context(NOW, GEN, WALL, specs, nodes, published, records, List.of(), false, m);
    }

    /** Without switchovers, for the workloads that have records (so that nothing is placed besides). */
    static Context ctx(List<Node> nodes, Map<Integer, Published> published, Map<Integer, WorkloadRecord> records) {
        List<Spec> specs = java.util.stream.Stream.of(VM, WEB).filter(s -> records.containsKey(s.id())).toList();
        return ctx(specs, nodes, published, records, migrations(NodeSettings.NONE, 1));
    }

    static Plan checked(Context c) {
        return check(c, OwnerTable.plan(c));
    }

    static WorkloadRecord running(int id, String name, int owner, int home) {
        return new WorkloadRecord(id, 5, 7, GEN, WALL, owner, inc(owner), Desired.RUNNING, 0, 0, name, "placed", 0, 0, home);
    }

    /** The VE migrating from node 1 to {@code next} (live, or through a checkpoint), begun at table version {@value #ATTEMPT}. */
    static WorkloadRecord migrating(int next, boolean checkpoint) {
        return new WorkloadRecord(1, 6, ATTEMPT, GEN, WALL, 1, inc(1), Desired.RUNNING, next, inc(next), "vm",
                "op: migrate to node " + next, WorkloadRecord.MIGRATE | (checkpoint ? WorkloadRecord.CHECKPOINT : 0), ATTEMPT, 0);
    }

    static WorkloadRecord migrating(int next) {
        return migrating(next, false);
    }

    static Migration entry(Phase phase) {
        return new Migration(1, ATTEMPT, phase, Failure.NONE);
    }

    static Migration failed(Failure why) {
        return new Migration(1, ATTEMPT, Phase.FAILED, why);
    }

    /** Node {@code id}'s slot: the table version it carried out, what is active there, its migration entries. */
    static Map<Integer, Published> slot(int id, long incarnation, long table, List<Integer> active, Migration... entries) {
        return Map.of(id, new Published(incarnation, SlotWorkloads.of(table, active, List.of(), List.of(entries))));
    }

    @SafeVarargs
    static Map<Integer, Published> slots(Map<Integer, Published>... each) {
        Map<Integer, Published> all = new HashMap<>();
        for (Map<Integer, Published> m : each) {
            all.putAll(m);
        }
        return all;
    }

    static List<String> holds(Plan p) {
        return p.holds().stream().map(Decision.Hold::reason).toList();
    }

    // ---------------------------------------------------------------- begin: the operator

    @Test
    void anOperatorsMigrateBeginsAHandoverThatLeavesTheVeRunningOnItsOwner() {
        WorkloadRecord r = running(1, "vm", 1, 0);
        Context c = ctx(List.of(up(1), up(2), up(3)), Map.of(), table(r));
        Write live = done(OwnerTable.migrate(c, VM, Optional.of(3), false, "root@node1"));
        assertThat(live.change()).isEqualTo(Change.MIGRATE_BEGIN);
        assertThat(live.previous()).isEqualTo(r);
        assertThat(live.record()).isEqualTo(new WorkloadRecord(1, 6, 8, GEN, WALL, 1, inc(1), Desired.RUNNING, 3, inc(3), "vm",
                "root@node1: migrate live to node 3", WorkloadRecord.MIGRATE, 8, 0));
        // The owner keeps running it until the handover; the next node receives it; nobody else may run it.
        assertThat(live.record().migratesFrom(1, inc(1))).isTrue();
        assertThat(live.record().migratesTo(3, inc(3))).isTrue();
        assertThat(live.record().runsOn(1, inc(1))).isFalse();
        assertThat(live.record().runsOn(3, inc(3))).isFalse();
        assertThat(live.record().migratesTo(3, inc(3) + 1)).as("another incarnation of the next node").isFalse();

        Write checkpoint = done(OwnerTable.migrate(c, VM, Optional.empty(), true, "op"));
        assertThat(checkpoint.record().checkpoint()).isTrue();
        assertThat(checkpoint.record().nextId()).as("the best other node").isEqualTo(2);
        assertThat(checkpoint.record().reason()).isEqualTo("op: migrate through a checkpoint to node 2");
        // In flight: the coordinator writes nothing while neither side has declared anything.
        assertThat(checked(ctx(c.nodes(), Map.of(), table(live.record()))).writes()).isEmpty();
    }

    @Test
    void anOperatorsMigrateIsRefusedWithTheReason() {
        WorkloadRecord r = running(1, "vm", 1, 0);
        List<Node> nodes = List.of(up(1), up(2), standby(3), node(4, Verdict.DOWN));
        Context c = ctx(nodes, Map.of(), table(r, running(9, "web", 1, 0)));
        assertThat(refused(OwnerTable.migrate(c, WEB, Optional.of(2), false, "op")))
                .isEqualTo("web is not a VE: services move by relocate (stop, then start elsewhere)");
        assertThat(refused(OwnerTable.migrate(ctx(nodes, Map.of(), Map.of()), VM, Optional.of(2), false, "op")))
                .isEqualTo("vm is not running; start it with --to instead");
        assertThat(refused(OwnerTable.migrate(ctx(nodes, Map.of(), table(OwnerTableTest.with(r, Desired.STOPPED))), VM,
                Optional.of(2), false, "op"))).isEqualTo("vm is not running; start it with --to instead");
        assertThat(refused(OwnerTable.migrate(ctx(nodes, Map.of(), table(migrating(2))), VM, Optional.of(2), false, "op")))
                .isEqualTo("vm is migrating to node 2 already");
        WorkloadRecord coldMove = new WorkloadRecord(1, 6, 8, GEN, WALL, 1, inc(1), Desired.RUNNING, 2, inc(2), "vm", "moves");
        assertThat(refused(OwnerTable.migrate(ctx(nodes, Map.of(), table(coldMove)), VM, Optional.of(2), false, "op")))
                .isEqualTo("vm is moving to node 2 already");
        assertThat(refused(OwnerTable.migrate(ctx(List.of(node(1, Verdict.SUSPECT), up(2)), Map.of(), table(r)), VM, Optional.of(2),
                false, "op"))).isEqualTo("its owner node 1 is not up: only a running VE can migrate");
        assertThat(refused(OwnerTable.migrate(c, VM, Optional.of(1), false, "op"))).isEqualTo("vm already runs on node 1");
        assertThat(refused(OwnerTable.migrate(c, VM, Optional.of(3), false, "op")))
                .isEqualTo("node 3 cannot take vm: node 1 eligible, node 2 eligible, node 3 standby, node 4 down");
        assertThat(refused(OwnerTable.migrate(c, VM, Optional.of(4), false, "op"))).startsWith("node 4 cannot take vm: ");
        assertThat(refused(OwnerTable.migrate(ctx(List.of(up(1), standby(2)), Map.of(), table(r)), VM, Optional.empty(), false, "op")))
                .isEqualTo("no other node can take vm: node 1 eligible, node 2 standby");
        // The owner's slot has room for so many migrations.
        Migration[] full = new Migration[SlotWorkloads.MAX_MIGRATIONS];
        for (int i = 0; i < full.length; i++) {
            full[i] = new Migration(20 + i, 3, Phase.SENDING, Failure.NONE);
        }
        assertThat(refused(OwnerTable.migrate(ctx(nodes, slot(1, inc(1), 7, List.of(1), full), table(r)), VM, Optional.of(2), false,
                "op"))).isEqualTo("node 1 takes part in 8 migrations already; try again when one ended");
    }

    @Test
    void aMigratingVeCannotBeStoppedRestartedOrRelocatedUntilTheMigrationEnds() {
        // Stop, restart or freeze would write a record without the next node, which may run the VE already.
        Context c = ctx(List.of(up(1), up(2), up(3)), Map.of(), table(migrating(2)));
        for (Desired d : List.of(Desired.STOPPED, Desired.FROZEN)) {
            assertThat(refused(OwnerTable.setDesired(c, VM, d, "op"))).isEqualTo("vm is migrating to node 2; wait until that ends");
        }
        assertThat(refused(OwnerTable.setDesired(c, VM, Desired.RUNNING, "op"))).isEqualTo("vm is already running");
        assertThat(refused(OwnerTable.restart(c, VM, "op"))).isEqualTo("vm is migrating to node 2; wait until that ends");
        assertThat(refused(OwnerTable.relocate(c, VM, Optional.of(3), "op"))).isEqualTo("vm is migrating to node 2; wait until that ends");
    }

    // ---------------------------------------------------------------- begin: switchover and switch-back

    @ParameterizedTest
    @EnumSource(value = Mode.class)
    void aSwitchoverMigratesItsVesOffAtMostMaxParallelAtOnceWhileServicesMoveCold(Mode mode) {
        Spec vm2 = new Spec(2, "vm2", List.of(), false, false, 2, 60 * S);
        Spec vm3 = new Spec(3, "vm3", List.of(), false, false, 2, 60 * S);
        List<Spec> specs = List.of(VM, vm2, vm3, WEB);
        NodeSettings settings = NodeSettings.NONE.withSwitchover(1, mode == Mode.CHECKPOINT, GEN, WALL, 1);
        assertThat(settings.standby(1)).isTrue();
        List<Node> nodes = List.of(standby(1), up(2), up(3));
        Map<Integer, WorkloadRecord> t = table(running(1, "vm", 1, 0), running(2, "vm2", 1, 0), running(3, "vm3", 1, 0),
                running(9, "web", 1, 0));
        Plan p = checked(ctx(specs, nodes, Map.of(), t, migrations(settings, 2)));
        assertThat(p.writes()).extracting(Write::change).containsExactly(Change.MIGRATE_BEGIN, Change.MIGRATE_BEGIN, Change.MOVE_BEGIN);
        assertThat(p.writes()).extracting(w -> w.record().id()).containsExactly(1, 2, 9);
        for (Write w : p.writes().subList(0, 2)) {
            WorkloadRecord r = w.record();
            assertThat(r.migratesFrom(1, inc(1))).isTrue();
            assertThat(r.nextId()).isIn(2, 3);
            assertThat(r.checkpoint()).isEqualTo(mode == Mode.CHECKPOINT);
            assertThat(r.homeId()).as("where switch-back brings it").isEqualTo(1);
            assertThat(r.attempt()).isEqualTo((int) r.tableVersion());
            assertThat(r.reason()).isEqualTo("switchover of node 1: migrate to node " + r.nextId());
        }
        assertThat(p.writes().get(2).record().migrating()).as("the service moves cold").isFalse();

        // Two in flight off node 1: the third VE waits until one of them ended.
        Map<Integer, WorkloadRecord> inFlight = apply(t, p);
        assertThat(checked(ctx(specs, nodes, Map.of(), inFlight, migrations(settings, 2))).writes()).isEmpty();
        WorkloadRecord first = inFlight.get(1);
        Map<Integer, Published> received = slot(first.nextId(), inc(first.nextId()), first.tableVersion(), List.of(1),
                new Migration(1, first.attempt(), Phase.RECEIVED, Failure.NONE));
        Plan next = checked(ctx(specs, nodes, received, inFlight, migrations(settings, 2)));
        assertThat(next.writes()).extracting(Write::change).containsExactly(Change.MIGRATE_FINISH, Change.MIGRATE_BEGIN);
        assertThat(next.writes()).extracting(w -> w.record().id()).containsExactly(1, 3);
        assertThat(next.writes().getFirst().record().homeId()).as("a finish keeps the home").isEqualTo(1);
    }

    enum Mode { LIVE, CHECKPOINT }

    @Test
    void aPlainStandbyMovesVesColdAndWithoutMigratablesNothingMigrates() {
        List<Node> nodes = List.of(standby(1), up(2));
        Map<Integer, WorkloadRecord> t = table(running(1, "vm", 1, 0));
        assertThat(checked(ctx(nodes, Map.of(), t)).writes()).extracting(Write::change).containsExactly(Change.MOVE_BEGIN);
        NodeSettings switchedOver = NodeSettings.NONE.withSwitchover(1, false, GEN, WALL, 1);
        assertThat(checked(ctx(List.of(VM), nodes, Map.of(), t, new Migrations(Set.of(), switchedOver, 1))).writes())
                .extracting(Write::change).containsExactly(Change.MOVE_BEGIN);
    }

    @Test
    void switchBackMigratesAVeHomeLiveOnceItsNodeIsResumedWithSwitchBack() {
        WorkloadRecord away = running(1, "vm", 2, 1); // a switchover of node 1 moved it to node 2
        NodeSettings back = NodeSettings.NONE.withSwitchover(1, true, GEN, WALL, 1).withResume(1, true, GEN, WALL, 1);
        Plan p = checked(ctx(List.of(VM), List.of(up(1), up(2)), Map.of(), table(away), migrations(back, 1)));
        assertThat(p.writes()).singleElement().satisfies(w -> {
            assertThat(w.change()).isEqualTo(Change.MIGRATE_BEGIN);
            assertThat(w.record().migratesFrom(2, inc(2))).isTrue();
            assertThat(w.record().migratesTo(1, inc(1))).isTrue();
            assertThat(w.record().checkpoint()).as("back live, whatever the switchover's mode").isFalse();
            assertThat(w.record().homeId()).isZero();
            assertThat(w.record().reason()).isEqualTo("switch back to node 1");
        });

        NodeSettings noBack = NodeSettings.NONE.withSwitchover(1, true, GEN, WALL, 1).withResume(1, false, GEN, WALL, 1);
        Map<String, Context> not = Map.of(
                "resumed without switch-back", ctx(List.of(VM), List.of(up(1), up(2)), Map.of(), table(away), migrations(noBack, 1)),
                "home in standby", ctx(List.of(VM), List.of(standby(1), up(2)), Map.of(), table(away), migrations(back, 1)),
                "home down", ctx(List.of(VM), List.of(node(1, Verdict.DOWN), up(2)), Map.of(), table(away), migrations(back, 1)),
                "owner not up", ctx(List.of(VM), List.of(up(1), node(2, Verdict.SUSPECT)), Map.of(), table(away), migrations(back, 1)),
                "not a VE", ctx(List.of(VM), List.of(up(1), up(2)), Map.of(), table(away), new Migrations(Set.of(), back, 1)),
                "at home", ctx(List.of(VM), List.of(up(1), up(2)), Map.of(), table(running(1, "vm", 1, 1)), migrations(back, 1)));
        not.forEach((why, c) -> assertThat(checked(c).writes()).as(why).isEmpty());
    }

    // ---------------------------------------------------------------- finish

    @Test
    void aMigrationFinishesOnlyOnceTheNextNodeDeclaresItReceivedAndActive() {
        List<Node> nodes = List.of(up(1), up(2));
        Map<Integer, WorkloadRecord> t = table(migrating(2));
        Map<String, Map<Integer, Published>> notYet = Map.of(
                "no word", Map.of(),
                "the owner sent it", slot(1, inc(1), ATTEMPT, List.of(1), entry(Phase.SENT)),
                "the next node receives", slot(2, inc(2), ATTEMPT, List.of(), entry(Phase.RECEIVING)),
                "received but not active", slot(2, inc(2), ATTEMPT, List.of(), entry(Phase.RECEIVED)),
                "another attempt received", slot(2, inc(2), ATTEMPT, List.of(1), new Migration(1, ATTEMPT - 1, Phase.RECEIVED, Failure.NONE)),
                "another incarnation's slot", slot(2, inc(2) - 1, ATTEMPT, List.of(1), entry(Phase.RECEIVED)));
        notYet.forEach((why, slots) -> {
            Plan p = checked(ctx(nodes, slots, t));
            assertThat(p.writes()).as(why).isEmpty();
            assertThat(p.holds()).as(why).isEmpty();
        });

        for (boolean checkpoint : List.of(false, true)) {
            Plan p = checked(ctx(nodes, slots(slot(1, inc(1), ATTEMPT, List.of(1), entry(Phase.SENDING)),
                    slot(2, inc(2), ATTEMPT, List.of(1), entry(Phase.RECEIVED))), table(migrating(2, checkpoint))));
            assertThat(p.writes()).singleElement().satisfies(w -> {
                assertThat(w.change()).isEqualTo(Change.MIGRATE_FINISH);
                assertThat(w.record()).isEqualTo(new WorkloadRecord(1, 7, ATTEMPT + 1, GEN, WALL, 2, inc(2), Desired.RUNNING, 0, 0, "vm",
                        "migrated " + (checkpoint ? "through a checkpoint" : "live") + " from node 1 (op: migrate to node 2)", 0, 0, 0));
                assertThat(w.record().runsOn(2, inc(2))).isTrue();
            });
        }
    }

    // ---------------------------------------------------------------- cancel, or wait

    @Test
    void aMigrationIsCalledOffWhenEitherSideDeclaresTheAttemptFailed() {
        List<Node> nodes = List.of(up(1), up(2));
        Map<Map<Integer, Published>, String> cases = Map.of(
                slot(1, inc(1), ATTEMPT, List.of(1), failed(Failure.CONNECTION_LOST)),
                "migration to node 2 failed (node 1: the connection between the nodes was lost); stays on node 1",
                slot(2, inc(2), ATTEMPT, List.of(), failed(Failure.DEADLINE)),
                "migration to node 2 failed (node 2: the deadline passed); stays on node 1",
                slots(slot(1, inc(1), ATTEMPT, List.of(1), entry(Phase.SENT)), slot(2, inc(2), ATTEMPT, List.of(), failed(Failure.TARGET_FAILED))),
                "migration to node 2 failed (node 2: the target QEMU failed); stays on node 1");
        cases.forEach((slots, reason) -> {
            Plan p = checked(ctx(nodes, slots, table(migrating(2))));
            assertThat(p.writes()).as(reason).singleElement().satisfies(w -> {
                assertThat(w.change()).isEqualTo(Change.MIGRATE_CANCEL);
                assertThat(w.record().reason()).isEqualTo(reason);
                assertThat(w.record().migrating()).isFalse();
                assertThat(w.record().nextId()).isZero();
                assertThat(w.record().attempt()).isZero();
                assertThat(w.record().runsOn(1, inc(1))).as("the owner keeps it (and resumes it if it paused it)").isTrue();
            });
        });
        // A failure of another attempt, or in another incarnation's slot, is old news.
        for (Map<Integer, Published> old : List.of(
                slot(1, inc(1), ATTEMPT, List.of(1), new Migration(1, ATTEMPT - 1, Phase.FAILED, Failure.DEADLINE)),
                slot(2, inc(2) - 1, ATTEMPT, List.of(), failed(Failure.DEADLINE)))) {
            assertThat(checked(ctx(nodes, old, table(migrating(2)))).writes()).isEmpty();
        }
    }

    @ParameterizedTest
    @EnumSource(value = Verdict.class, names = {"DOWN", "SUSPECT", "NETWORK_LOST", "DISK_LOST"})
    void aNextNodeThatIsNotUpIsWaitedForWhateverTheOwnerShows(Verdict v) {
        // The owner's slot may not show yet that the state went over (or the transfer may still complete): the rule
        // that called it off here before the handover showed let a restart or a recovery start a second copy while
        // the next node ran the VE. The owner's transfer ends by its deadline, and the owner declares how.
        List<Node> nodes = List.of(up(1), node(2, v));
        String verdict = v.name().toLowerCase(java.util.Locale.ROOT);
        Plan sending = checked(ctx(nodes, slot(1, inc(1), ATTEMPT, List.of(1), entry(Phase.SENDING)), table(migrating(2))));
        assertThat(sending.writes()).isEmpty();
        assertThat(holds(sending)).containsExactly("migrating to node 2, which is " + verdict
                + ": waits until node 1 declares the transfer's end or node 2 is fenced");
        assertThat(checked(ctx(nodes, Map.of(), table(migrating(2)))).writes()).as("no word from the owner yet").isEmpty();

        Plan sent = checked(ctx(nodes, slot(1, inc(1), ATTEMPT, List.of(1), entry(Phase.SENT)), table(migrating(2))));
        assertThat(sent.writes()).isEmpty();
        assertThat(holds(sent)).containsExactly("handed over to node 2, which is " + verdict
                + ": waits until it is fenced or declares the VE");

        // The transfer's end, as the owner declares it, decides.
        assertThat(checked(ctx(nodes, slot(1, inc(1), ATTEMPT, List.of(1), failed(Failure.TARGET_UNREACHABLE)), table(migrating(2))))
                .writes()).extracting(Write::change).containsExactly(Change.MIGRATE_CANCEL);
        // What the next node last declared still counts: it received the VE and ran it.
        assertThat(checked(ctx(nodes, slot(2, inc(2), ATTEMPT, List.of(1), entry(Phase.RECEIVED)), table(migrating(2)))).writes())
                .extracting(Write::change).containsExactly(Change.MIGRATE_FINISH);
    }

    @Test
    void aMigrationWhoseNextNodeIsGoneIsCalledOff() {
        for (Node gone : List.of(node(2, Verdict.FENCED), node(2, Verdict.LEFT), new Node(2, inc(2) + 1, Verdict.UP, false))) {
            for (Phase phase : List.of(Phase.SENDING, Phase.SENT)) {
                Plan p = checked(ctx(List.of(up(1), gone), slot(1, inc(1), ATTEMPT, List.of(1), entry(phase)), table(migrating(2))));
                assertThat(p.writes()).as("%s, %s", gone, phase).singleElement().satisfies(w -> {
                    assertThat(w.change()).isEqualTo(Change.MIGRATE_CANCEL);
                    assertThat(w.record().reason()).isEqualTo("migration to node 2 called off: that node is gone"
                            + (phase == Phase.SENT ? " after the handover" : "") + "; stays on node 1");
                    assertThat(w.record().runsOn(1, inc(1))).isTrue();
                });
            }
        }
    }

    // ---------------------------------------------------------------- the owner fails on the way

    @ParameterizedTest
    @EnumSource(value = Verdict.class, names = {"FENCED", "LEFT"})
    void aVeWhoseOwnerDiedMidMigrationIsRecoveredOnlyOnceTheNextNodeCannotHoldIt(Verdict v) {
        List<Node> nodes = List.of(node(1, v), up(2), up(3));
        Map<Integer, WorkloadRecord> t = table(migrating(2));
        String how = "its owner node 1 failed while migrating it to node 2, which may hold it: waits until that node declares it or is fenced";
        Map<String, Map<Integer, Published>> mayHold = Map.of(
                "no word", Map.of(),
                "receiving", slot(2, inc(2), ATTEMPT, List.of(), entry(Phase.RECEIVING)),
                "an older table carried out", slot(2, inc(2), ATTEMPT - 1, List.of()),
                "active", slot(2, inc(2), ATTEMPT, List.of(1)),
                "received, not declared active yet", slot(2, inc(2), ATTEMPT, List.of(), entry(Phase.RECEIVED)));
        mayHold.forEach((why, slots) -> {
            Plan p = checked(ctx(nodes, slots, t));
            assertThat(p.writes()).as(why).isEmpty();
            assertThat(holds(p)).as(why).containsExactly(how);
        });

        // The next node runs it: it is the owner now.
        Plan finish = checked(ctx(nodes, slot(2, inc(2), ATTEMPT, List.of(1), entry(Phase.RECEIVED)), t));
        assertThat(finish.writes()).singleElement().satisfies(w -> {
            assertThat(w.change()).isEqualTo(Change.MIGRATE_FINISH);
            assertThat(w.record().runsOn(2, inc(2))).isTrue();
            assertThat(w.record().reason()).isEqualTo("migrated from node 1, which failed after the handover");
        });
        // It cannot hold it: recovered like any workload of a dead owner.
        Map<String, Map<Integer, Published>> released = Map.of(
                "failed", slot(2, inc(2), ATTEMPT, List.of(), failed(Failure.CONNECTION_LOST)),
                "carried out without it", slot(2, inc(2), ATTEMPT, List.of()));
        released.forEach((why, slots) -> assertThat(checked(ctx(nodes, slots, t)).writes()).as(why).singleElement().satisfies(w -> {
            assertThat(w.change()).isEqualTo(Change.RECOVER);
            assertThat(w.record().migrating()).isFalse();
            assertThat(w.record().ownerId()).isIn(2, 3);
        }));
        // The next node down: it waits for its fence; fenced, the VE is recovered elsewhere.
        assertThat(checked(ctx(List.of(node(1, v), node(2, Verdict.DOWN), up(3)), Map.of(), t)).writes()).isEmpty();
        assertThat(checked(ctx(List.of(node(1, v), node(2, Verdict.FENCED), up(3)), Map.of(), t)).writes()).singleElement()
                .satisfies(w -> {
                    assertThat(w.change()).isEqualTo(Change.RECOVER);
                    assertThat(w.record().runsOn(3, inc(3))).isTrue();
                });
    }

    @Test
    void aVeWhoseOwnerRestartedMidMigrationIsAdoptedOnlyOnceTheNextNodeCannotHoldIt() {
        Node reborn = new Node(1, inc(1) + 1, Verdict.UP, false);
        Map<Integer, WorkloadRecord> t = table(migrating(2));
        Plan held = checked(ctx(List.of(reborn, up(2)), slot(2, inc(2), ATTEMPT, List.of(), entry(Phase.RECEIVING)), t));
        assertThat(held.writes()).isEmpty();
        assertThat(holds(held)).containsExactly("its owner node 1 restarted while migrating it to node 2, which may hold it: waits"
                + " until that node declares it or is fenced");
        assertThat(checked(ctx(List.of(reborn, up(2)), slot(2, inc(2), ATTEMPT, List.of(1), entry(Phase.RECEIVED)), t)).writes())
                .singleElement().satisfies(w -> {
                    assertThat(w.change()).isEqualTo(Change.MIGRATE_FINISH);
                    assertThat(w.record().reason()).isEqualTo("migrated from node 1, which restarted after the handover");
                });
        // The next node gone too: before, nothing was ever written for it (neither cancel nor adopt) and it stayed so.
        for (Node gone : List.of(node(2, Verdict.FENCED), new Node(2, inc(2) + 3, Verdict.UP, false))) {
            assertThat(checked(ctx(List.of(reborn, gone), Map.of(), t)).writes()).as("%s", gone).singleElement().satisfies(w -> {
                assertThat(w.change()).isEqualTo(Change.ADOPT);
                assertThat(w.record().runsOn(1, inc(1) + 1)).isTrue();
            });
        }
        assertThat(checked(ctx(List.of(reborn, up(2)), slot(2, inc(2), ATTEMPT, List.of(), failed(Failure.DEADLINE)), t)).writes())
                .extracting(Write::change).containsExactly(Change.ADOPT);
    }

    @Test
    void aMigrationInFlightIsCarriedOverToANewCoordinatorsGeneration() {
        // Every record is written again under the current lease generation, so that a deposed coordinator's late write
        // cannot pass for it; a migration that waits (maybe for a fence) is no exception. Its attempt stays.
        WorkloadRecord old = new WorkloadRecord(1, 6, ATTEMPT, GEN - 1, WALL - 5, 1, inc(1), Desired.RUNNING, 2, inc(2), "vm", "op",
                WorkloadRecord.MIGRATE, ATTEMPT, 0);
        for (List<Node> nodes : List.of(List.of(up(1), up(2)), List.of(up(1), node(2, Verdict.DOWN)), List.of(standby(1), up(2)))) {
            Plan p = checked(ctx(nodes, Map.of(), table(old)));
            assertThat(p.writes()).as("%s", nodes).singleElement().satisfies(w -> {
                assertThat(w.change()).isEqualTo(Change.REFRESH);
                assertThat(w.record()).isEqualTo(new WorkloadRecord(1, 7, ATTEMPT + 1, GEN, WALL, 1, inc(1), Desired.RUNNING, 2, inc(2),
                        "vm", "op", WorkloadRecord.MIGRATE, ATTEMPT, 0));
            });
        }
    }
}
