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
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Random clusters, workloads, owners and failures over many seeds, checked against the safety
 * rules: a workload leaves a node only if that node is dead (fenced in the owning incarnation,
 * or left) or up (a planned move, stopped first); it goes only to an eligible node; a stopped or
 * frozen workload is never touched; at most one decision per workload.
 */
class PlacementPropertyTest {
    static final long S = 1_000_000_000L;
    static final Verdict[] VERDICTS = Verdict.values();

    @Test
    void seeds() {
        for (long seed = 1; seed <= 2000; seed++) {
            run(seed);
        }
    }

    void run(long seed) {
        Random r = new Random(seed);
        int nodeCount = 2 + r.nextInt(6);
        List<Node> nodes = new ArrayList<>();
        for (int i = 1; i <= nodeCount; i++) {
            Verdict v = r.nextInt(3) == 0 ? VERDICTS[r.nextInt(VERDICTS.length)] : Verdict.UP;
            nodes.add(new Node(i, 100 + r.nextInt(3), v, r.nextInt(8) == 0));
        }
        List<Spec> specs = new ArrayList<>();
        Map<Integer, Current> current = new HashMap<>();
        Map<Integer, Desired> desired = new HashMap<>();
        List<Failure> failures = new ArrayList<>();
        int workloads = 1 + r.nextInt(8);
        for (int w = 1; w <= workloads; w++) {
            List<Integer> pref = new ArrayList<>();
            for (int i = 1; i <= nodeCount; i++) {
                if (r.nextBoolean()) {
                    pref.add(i);
                }
            }
            java.util.Collections.shuffle(pref, r);
            boolean restricted = !pref.isEmpty() && r.nextBoolean();
            specs.add(new Spec(w, "w" + w, pref, restricted, r.nextBoolean(), r.nextInt(3), 60 * S));
            if (r.nextBoolean()) {
                Desired d = r.nextInt(5) == 0 ? Desired.values()[r.nextInt(3)] : Desired.RUNNING;
                current.put(w, new Current(w, 1 + r.nextInt(nodeCount), 100 + r.nextInt(3), d));
            }
            if (r.nextInt(6) == 0) {
                desired.put(w, Desired.values()[r.nextInt(3)]);
            }
            for (int f = r.nextInt(4); f > 0; f--) {
                failures.add(new Failure(w, 1 + r.nextInt(nodeCount), (1000 - r.nextInt(120)) * S));
            }
        }
        List<Decision> decisions = Placement.decide(1000 * S, specs, nodes, current, desired, failures);
        Map<Integer, Node> byId = new HashMap<>();
        nodes.forEach(n -> byId.put(n.id(), n));
        assertThat(decisions.stream().map(Decision::workloadId).distinct().count()).as("seed %d: one decision per workload", seed)
                .isEqualTo(decisions.size());
        for (Decision d : decisions) {
            Spec spec = specs.get(d.workloadId() - 1);
            Current cur = current.get(d.workloadId());
            assertThat(desired.getOrDefault(d.workloadId(), Desired.RUNNING)).as("seed %d: %s", seed, d).isEqualTo(Desired.RUNNING);
            if (cur != null) {
                assertThat(cur.desired()).as("seed %d: %s", seed, d).isEqualTo(Desired.RUNNING);
            }
            int to = switch (d) {
                case Decision.Place p -> p.nodeId();
                case Decision.Recover rc -> {
                    Node owner = byId.get(rc.fromNodeId());
                    boolean dead = owner.verdict() == Verdict.LEFT
                            || (owner.verdict() == Verdict.FENCED && owner.incarnation() == cur.ownerIncarnation());
                    assertThat(dead).as("seed %d: recovered from a node not known dead: %s %s", seed, owner, d).isTrue();
                    yield rc.nodeId();
                }
                case Decision.Move m -> {
                    assertThat(byId.get(m.fromNodeId()).verdict()).as("seed %d: moved from a node not up: %s", seed, d)
                            .isEqualTo(Verdict.UP);
                    yield m.nodeId();
                }
                case Decision.Adopt a -> {
                    assertThat(a.nodeId()).isEqualTo(cur.ownerId());
                    yield 0;
                }
                case Decision.Hold h -> 0;
            };
            if (to != 0) {
                Node n = byId.get(to);
                assertThat(n.verdict()).as("seed %d: %s", seed, d).isEqualTo(Verdict.UP);
                assertThat(n.standby()).as("seed %d: %s", seed, d).isFalse();
                if (spec.restricted()) {
                    assertThat(spec.preferred()).as("seed %d: %s", seed, d).contains(to);
                }
                assertThat(d.reason()).isNotBlank();
            }
        }
    }
}
