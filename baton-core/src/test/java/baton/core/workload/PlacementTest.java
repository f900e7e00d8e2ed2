package baton.core.workload;

import static org.assertj.core.api.Assertions.assertThat;

import baton.core.membership.Verdict;
import baton.core.workload.Placement.Current;
import baton.core.workload.Placement.Decision;
import baton.core.workload.Placement.Desired;
import baton.core.workload.Placement.Failure;
import baton.core.workload.Placement.Node;
import baton.core.workload.Placement.Spec;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The placement rules, one by one: three nodes, workloads with and without preferences. */
class PlacementTest {
    static final long S = 1_000_000_000L;
    static final Spec WEB = new Spec(1, "web", List.of(2, 3), false, false, 2, 60 * S);
    static final Spec DB = new Spec(2, "db", List.of(3), true, false, 2, 60 * S);
    static final Spec ANY = new Spec(3, "any", List.of(), false, false, 0, 60 * S);

    final List<Node> nodes = new ArrayList<>(List.of(up(1), up(2), up(3)));
    final Map<Integer, Current> current = new HashMap<>();
    final Map<Integer, Desired> desired = new HashMap<>();
    final List<Failure> failures = new ArrayList<>();

    static Node up(int id) {
        return new Node(id, 100 + id, Verdict.UP, false);
    }

    void set(int id, Verdict v) {
        nodes.replaceAll(n -> n.id() == id ? new Node(id, n.incarnation(), v, n.standby()) : n);
    }

    void own(Spec s, int node) {
        current.put(s.id(), new Current(s.id(), node, 100 + node, Desired.RUNNING));
    }

    List<Decision> decide(Spec... specs) {
        return Placement.decide(1_000 * S, List.of(specs), nodes, current, desired, failures);
    }

    @Test
    void aNewWorkloadGoesToItsFirstPreferredEligibleNode() {
        assertThat(decide(WEB)).singleElement().isEqualTo(
                new Decision.Place(1, 2, 102, "placed on node 2: preference 1 of its domain"));
        set(2, Verdict.NETWORK_LOST);
        assertThat(decide(WEB)).singleElement().isInstanceOfSatisfying(Decision.Place.class, p -> assertThat(p.nodeId()).isEqualTo(3));
    }

    @Test
    void withoutPreferencesTheLeastLoadedNodeTakesIt() {
        own(WEB, 1);
        own(DB, 3);
        assertThat(decide(ANY)).singleElement().isInstanceOfSatisfying(Decision.Place.class, p -> {
            assertThat(p.nodeId()).isEqualTo(2);
            assertThat(p.reason()).contains("least loaded");
        });
    }

    @Test
    void aRestrictedWorkloadRunsOnlyInItsDomain() {
        set(3, Verdict.DOWN);
        assertThat(decide(DB)).singleElement().isInstanceOfSatisfying(Decision.Hold.class, h -> assertThat(h.reason())
                .isEqualTo("no eligible node: node 1 outside its restricted domain, node 2 outside its restricted domain, node 3 down"));
    }

    @Test
    void nothingIsRecoveredBeforeItsOwnerIsKnownDead() {
        own(WEB, 2);
        for (Verdict v : List.of(Verdict.SUSPECT, Verdict.NETWORK_LOST, Verdict.DISK_LOST, Verdict.DOWN, Verdict.ABSENT)) {
            set(2, v);
            assertThat(decide(WEB)).as("owner %s", v).singleElement().isInstanceOfSatisfying(Decision.Hold.class,
                    h -> assertThat(h.reason()).startsWith("its owner node 2 is " + v.label()));
        }
        set(2, Verdict.DOWN);
        assertThat(decide(WEB).getFirst().reason()).endsWith("waiting until it is fenced");
    }

    @Test
    void afterItsOwnerIsFencedOrLeftItIsRecoveredOnTheBestOtherNode() {
        own(WEB, 2);
        set(2, Verdict.FENCED);
        assertThat(decide(WEB)).singleElement().isEqualTo(new Decision.Recover(1, 2, 3, 103,
                "recovered on node 3 (preference 2 of its domain): its owner node 2 was fenced"));
        set(2, Verdict.LEFT);
        assertThat(decide(WEB).getFirst().reason()).endsWith("its owner node 2 left the cluster");
    }

    @Test
    void aFenceOfAnOlderIncarnationDoesNotFreeIt() {
        current.put(1, new Current(1, 2, 99, Desired.RUNNING)); // owned by incarnation 99; node 2 now runs as 102, fenced
        set(2, Verdict.FENCED);
        assertThat(decide(WEB)).singleElement().isInstanceOf(Decision.Hold.class);
    }

    @Test
    void anOwnerBackAsANewIncarnationKeepsIt() {
        current.put(1, new Current(1, 2, 50, Desired.RUNNING));
        assertThat(decide(WEB)).singleElement().isEqualTo(
                new Decision.Adopt(1, 2, 102, "its owner node 2 runs again as incarnation 102"));
    }

    @Test
    void stickyUnlessItFailsBack() {
        own(WEB, 3); // recovered there while node 2 was away; node 2 is back
        assertThat(decide(WEB)).isEmpty();
        Spec failback = new Spec(1, "web", List.of(2, 3), false, true, 2, 60 * S);
        assertThat(decide(failback)).singleElement().isEqualTo(
                new Decision.Move(1, 3, 2, 102, "fails back to node 2, preferred over node 3"));
    }

    @Test
    void standbyMovesItOff() {
        own(WEB, 2);
        nodes.replaceAll(n -> n.id() == 2 ? new Node(2, 102, Verdict.UP, true) : n);
        assertThat(decide(WEB)).singleElement().isInstanceOfSatisfying(Decision.Move.class, m -> {
            assertThat(m.nodeId()).isEqualTo(3);
            assertThat(m.reason()).endsWith("its owner node 2 is in standby");
        });
    }

    @Test
    void itRestartsInPlaceUpToItsLimitThenRelocates() {
        own(WEB, 2);
        failures.add(new Failure(1, 2, 990 * S));
        failures.add(new Failure(1, 2, 995 * S));
        assertThat(decide(WEB)).as("two restarts are allowed").isEmpty();
        failures.add(new Failure(1, 2, 999 * S));
        assertThat(decide(WEB)).singleElement().isInstanceOfSatisfying(Decision.Move.class, m -> {
            assertThat(m.nodeId()).isEqualTo(3);
            assertThat(m.reason()).endsWith("it failed 3 times within 60 s on node 2 (restart limit 2)");
        });
        // Failures older than the window are forgotten.
        failures.replaceAll(f -> new Failure(f.workloadId(), f.nodeId(), f.atNanos() - 100 * S));
        assertThat(decide(WEB)).isEmpty();
    }

    @Test
    void stoppedAndFrozenWorkloadsAreLeftAlone() {
        own(WEB, 2);
        set(2, Verdict.FENCED);
        desired.put(1, Desired.FROZEN);
        assertThat(decide(WEB)).isEmpty();
        desired.put(1, Desired.STOPPED);
        assertThat(decide(WEB)).isEmpty();
        desired.clear();
        current.put(1, new Current(1, 2, 102, Desired.STOPPED));
        assertThat(decide(WEB)).isEmpty();
    }

    @Test
    void decisionsInOneRoundSeeEachOthersLoad() {
        Spec a = new Spec(4, "a", List.of(), false, false, 0, S);
        Spec b = new Spec(5, "b", List.of(), false, false, 0, S);
        Spec c = new Spec(6, "c", List.of(), false, false, 0, S);
        assertThat(decide(a, b, c)).extracting(d -> ((Decision.Place) d).nodeId()).containsExactly(1, 2, 3);
    }
}
