package baton.core.fence;

import static org.assertj.core.api.Assertions.assertThat;

import baton.core.fence.FenceEffect.Fenced;
import baton.core.fence.FenceEffect.Report;
import baton.core.fence.FenceEffect.RunAgent;
import baton.core.fence.FenceInput.AgentDone;
import baton.core.fence.FenceInput.CoordinatorChanged;
import baton.core.fence.FenceInput.OperatorConfirm;
import baton.core.fence.FenceInput.Tick;
import baton.core.fence.FenceInput.VerdictBack;
import baton.core.fence.FenceInput.VerdictDown;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Model-based test: a seeded shell drives the core with random agent outcomes (answers that do
 * not fit the action, lost completions and timeouts included), verdicts, role changes and
 * operator confirmations, and an independent checker watches every effect:
 * <ul>
 * <li>{@code Fenced} only from the coordinator, with its generation, for the incarnation down,
 *     once, and only when every device of some level had an off that succeeded followed by a
 *     status that said off within the current operation, or the operator just confirmed;</li>
 * <li>at most one operation per node: a call starts only when every call still out for that
 *     node belongs to the same operation and to the same level, never twice for one device, and
 *     a status only after that device's off succeeded;</li>
 * <li>after the faults stop (coordinator, every agent works), every node down is fenced, or
 *     unfenceable when it has no levels.</li>
 * </ul>
 * A failure prints its seed; rerun with that seed alone in {@link #seeds}.
 */
class FencingModelTest {
    static final long MS = 1_000_000L;
    static final FenceTiming T = new FenceTiming(3_000 * MS, 500 * MS, 4_000 * MS, 200 * MS, 1_500 * MS);
    static final Map<Integer, List<FenceLevel>> LEVELS = Map.of(
            1, List.of(FenceLevel.of("a1"), FenceLevel.of("b1", "c1")),
            2, List.of(FenceLevel.of("a2", "b2")),
            3, List.of(FenceLevel.of("a3"), FenceLevel.of("b3"), FenceLevel.of("c3", "d3", "e3")));
    static final int NODES = 4; // node 4 has no levels

    static final class Model {
        boolean coordinator;
        long generation;
        final long[] incarnation = new long[NODES + 1];
        final boolean[] down = new boolean[NODES + 1];
        final long[] fencedIncarnation = new long[NODES + 1];
        final long[] epoch = new long[NODES + 1];
        final List<Set<String>> offDone = new ArrayList<>();
        final List<Set<String>> confirmed = new ArrayList<>();

        Model() {
            for (int i = 0; i <= NODES; i++) {
                offDone.add(new HashSet<>());
                confirmed.add(new HashSet<>());
            }
        }

        void newEpoch(int node) {
            epoch[node]++;
            offDone.get(node).clear();
            confirmed.get(node).clear();
        }
    }

    record Out(RunAgent run, long epoch) {}

    final Fencing f = new Fencing(new FenceTopology(LEVELS), T);
    final Model m = new Model();
    final Map<Long, Out> outstanding = new LinkedHashMap<>();
    long now = 1_000 * MS;
    int fencedByLevel, fencedByOperator, runs;

    @Test
    void seeds() {
        int byLevel = 0, byOperator = 0, calls = 0;
        for (long seed = 1; seed <= 400; seed++) {
            var t = new FencingModelTest();
            try {
                t.run(new Random(seed), 600);
            } catch (AssertionError | RuntimeException e) {
                throw new AssertionError("seed " + seed + ": " + e.getMessage(), e);
            }
            byLevel += t.fencedByLevel;
            byOperator += t.fencedByOperator;
            calls += t.runs;
        }
        // The random world must actually reach the interesting places.
        assertThat(byLevel).isGreaterThan(400);
        assertThat(byOperator).isGreaterThan(50);
        assertThat(calls).isGreaterThan(10_000);
    }

    void run(Random r, int steps) {
        for (int i = 0; i < steps; i++) {
            int dice = r.nextInt(100);
            if (dice < 40 && !outstanding.isEmpty()) {
                var keys = new ArrayList<>(outstanding.keySet());
                complete(outstanding.get(keys.get(r.nextInt(keys.size()))).run, randomOutcome(r));
            } else if (dice < 60) {
                advance(r.nextInt(2_000) * MS, r);
            } else if (dice < 70) {
                int node = 1 + r.nextInt(NODES);
                apply(new VerdictDown(now, node, Math.max(1, m.incarnation[node] + r.nextInt(2)), "random"), null);
            } else if (dice < 76) {
                int node = 1 + r.nextInt(NODES);
                apply(new VerdictBack(now, node, Math.max(1, m.incarnation[node] + r.nextInt(2))), null);
            } else if (dice < 84) {
                boolean coord = r.nextInt(3) != 0;
                long gen = m.generation + (r.nextBoolean() ? 1 : 0);
                apply(new CoordinatorChanged(now, coord, gen), null);
            } else if (dice < 87) {
                int node = 1 + r.nextInt(NODES);
                apply(new OperatorConfirm(now, node), null);
            } else {
                advance(r.nextInt(300) * MS, r);
            }
        }
        heal(r);
    }

    /** Faults stop: this node is coordinator and every agent works; every node down must end fenced. */
    void heal(Random r) {
        apply(new CoordinatorChanged(now, true, m.generation + 1), null);
        // Long enough for calls lost before healing to time out and for one full retry wait.
        for (int i = 0; i < 20; i++) {
            for (int guard = 0; !outstanding.isEmpty(); guard++) {
                assertThat(guard).as("calls keep coming while every agent works").isLessThan(100);
                for (Out o : List.copyOf(outstanding.values())) {
                    complete(o.run, o.run.action() == FenceAction.OFF ? AgentOutcome.SUCCESS : AgentOutcome.STATUS_OFF);
                }
            }
            advance(T.retryCapNanos(), r);
        }
        for (int node = 1; node <= NODES; node++) {
            if (m.down[node]) {
                assertThat(LEVELS.containsKey(node)).as("node %d still down after healing: %s", node, f.state(node)).isFalse();
                assertThat(f.state(node)).isInstanceOf(FenceState.Unfenceable.class);
            }
        }
    }

    /** Time passes; the shell kills calls at their deadline and reports a timeout, or (sometimes) loses the report. */
    void advance(long nanos, Random r) {
        long until = now + nanos;
        for (Out o : List.copyOf(outstanding.values())) {
            if (o.run.deadlineNanos() <= until && outstanding.containsKey(o.run.requestId())) {
                if (r.nextInt(4) == 0) {
                    outstanding.remove(o.run.requestId()); // lost: the core must time it out itself
                } else {
                    now = Math.max(now, o.run.deadlineNanos());
                    complete(o.run, AgentOutcome.TIMED_OUT);
                }
            }
        }
        now = Math.max(now, until);
        apply(new Tick(now), null);
    }

    static AgentOutcome randomOutcome(Random r) {
        int d = r.nextInt(100);
        if (d < 55) {
            return r.nextInt(10) == 0 ? AgentOutcome.STATUS_OFF : AgentOutcome.SUCCESS; // wrong kind, sometimes
        } else if (d < 75) {
            return AgentOutcome.STATUS_OFF;
        } else if (d < 85) {
            return AgentOutcome.STATUS_ON;
        } else if (d < 95) {
            return AgentOutcome.failed("random failure");
        }
        return AgentOutcome.TIMED_OUT;
    }

    void complete(RunAgent run, AgentOutcome outcome) {
        Out o = outstanding.remove(run.requestId());
        if (o == null) {
            return;
        }
        int node = run.nodeId();
        if (o.epoch == m.epoch[node]) {
            if (run.action() == FenceAction.OFF && outcome instanceof AgentOutcome.Success) {
                m.offDone.get(node).add(run.device());
            }
            if (run.action() == FenceAction.STATUS && outcome instanceof AgentOutcome.StatusOff
                    && m.offDone.get(node).contains(run.device())) {
                m.confirmed.get(node).add(run.device());
            }
        }
        apply(new AgentDone(now, run.requestId(), node, run.device(), run.action(), outcome), null);
    }

    void apply(FenceInput in, Object unused) {
        // What the model expects from the input itself.
        Integer confirmNode = null;
        long previousGeneration = m.generation;
        switch (in) {
            case VerdictDown v -> {
                int id = v.nodeId();
                // A newer incarnation, or the one that came back (not down, not fenced) failing in turn.
                boolean again = v.incarnation() == m.incarnation[id] && !m.down[id] && m.fencedIncarnation[id] != v.incarnation();
                if (v.incarnation() > m.incarnation[id] || again) {
                    m.incarnation[v.nodeId()] = v.incarnation();
                    m.down[v.nodeId()] = true;
                    m.newEpoch(v.nodeId());
                }
            }
            case VerdictBack b -> {
                if (b.incarnation() > m.incarnation[b.nodeId()]) {
                    m.incarnation[b.nodeId()] = b.incarnation();
                    m.down[b.nodeId()] = false;
                    m.newEpoch(b.nodeId());
                }
            }
            case CoordinatorChanged c -> {
                if (c.isCoordinator() != m.coordinator || (c.isCoordinator() && c.generation() != m.generation)) {
                    for (int n = 1; n <= NODES; n++) {
                        m.newEpoch(n);
                    }
                }
                m.coordinator = c.isCoordinator();
                if (c.isCoordinator()) {
                    m.generation = c.generation();
                }
            }
            case OperatorConfirm c -> confirmNode = c.nodeId();
            case FenceInput.OperatorFence f -> throw new AssertionError("this model does not generate " + f);
            case FenceInput.Recorded r -> throw new AssertionError("this model does not generate " + r);
            case Tick t -> {}
            case AgentDone d -> {}
        }
        boolean confirmAccepted = confirmNode != null && m.coordinator && m.down[confirmNode];
        var effects = f.step(in);
        int fencedNow = 0;
        for (FenceEffect e : effects) {
            boolean abandoned = e instanceof Report rep && rep.event() instanceof FenceEvent.Abandoned;
            if (abandoned) {
                assertThat(e.generation()).as("work abandoned carries the generation it ran under").isEqualTo(previousGeneration);
            } else if (m.coordinator) {
                assertThat(e.generation()).isEqualTo(m.generation);
            }
            switch (e) {
                case RunAgent ra -> checkRun(ra);
                case FenceEffect.WritePill p -> throw new AssertionError("no pill level in this model: " + p);
                case Fenced fe -> {
                    checkFenced(fe, confirmAccepted && fe.nodeId() == confirmNode);
                    fencedNow++;
                }
                case Report rep -> assertThat(rep.event().fields()).startsWith("event=");
            }
        }
        if (confirmAccepted) {
            assertThat(fencedNow).as("operator confirm of a down node must fence it").isEqualTo(1);
        }
    }

    void checkRun(RunAgent ra) {
        int node = ra.nodeId();
        assertThat(m.coordinator).as("calls only from the coordinator").isTrue();
        assertThat(ra.generation()).isEqualTo(m.generation);
        assertThat(m.down[node]).as("calls only for a node down").isTrue();
        var levels = LEVELS.get(node);
        assertThat(levels).isNotNull();
        Set<String> out = new HashSet<>();
        for (Out o : outstanding.values()) {
            if (o.run.nodeId() == node) {
                assertThat(o.epoch).as("a call of an earlier operation is still out for node %d", node).isEqualTo(m.epoch[node]);
                out.add(o.run.device());
            }
        }
        assertThat(out).as("two calls at once for one device").doesNotContain(ra.device());
        out.add(ra.device());
        assertThat(levels).as("calls out for node %d span levels: %s", node, out)
                .anyMatch(l -> l.devices().containsAll(out));
        if (ra.action() == FenceAction.STATUS) {
            assertThat(m.offDone.get(node)).as("status before off").contains(ra.device());
        } else {
            m.offDone.get(node).remove(ra.device()); // a new off: the old success does not count for it
            m.confirmed.get(node).remove(ra.device());
        }
        assertThat(ra.deadlineNanos()).isEqualTo(now + T.agentDeadlineNanos());
        outstanding.put(ra.requestId(), new Out(ra, m.epoch[node]));
        runs++;
    }

    void checkFenced(Fenced fe, boolean byOperator) {
        int node = fe.nodeId();
        assertThat(m.coordinator).as("Fenced only from the coordinator").isTrue();
        assertThat(fe.generation()).isEqualTo(m.generation);
        assertThat(m.down[node]).as("Fenced only for a node down").isTrue();
        assertThat(fe.incarnation()).isEqualTo(m.incarnation[node]);
        assertThat(m.fencedIncarnation[node]).as("fenced twice").isNotEqualTo(fe.incarnation());
        if (byOperator) {
            assertThat(fe.how()).isEqualTo("operator");
            fencedByOperator++;
        } else {
            var levels = LEVELS.getOrDefault(node, List.of());
            assertThat(levels).as("Fenced %s without every device of a level confirmed off: %s", fe, m.confirmed.get(node))
                    .anyMatch(l -> m.confirmed.get(node).containsAll(l.devices()));
            fencedByLevel++;
        }
        m.fencedIncarnation[node] = fe.incarnation();
        m.down[node] = false;
        m.newEpoch(node);
    }
}
