package baton.core.fence;

import static org.assertj.core.api.Assertions.assertThat;

import baton.core.fence.FenceWatch.DeviceState;
import baton.core.fence.FenceWatch.DeviceView;
import baton.core.fence.FenceWatch.NodeView;
import baton.core.fence.FenceWatch.PathState;
import baton.core.fence.FenceWatch.Timing;
import baton.core.fence.FenceWatchEffect.Report;
import baton.core.fence.FenceWatchEffect.RunMonitor;
import baton.core.fence.FenceWatchInput.MonitorDone;
import baton.core.fence.FenceWatchInput.Tick;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * Model-based test of the power-switch watch: a seeded shell answers monitors with random
 * outcomes and latencies, kills some at the deadline, loses some reports and delivers some too
 * late, while ticks come at random gaps; the node itself is a different one per seed. An
 * independent checker, which keeps its own account of every call, watches every step:
 * <ul>
 * <li>only the devices of other nodes are monitored, each at most once at a time, never before
 *     one interval after its previous call ended (the first round: not before its place in the
 *     spread), and never later than the first tick at which it is due;</li>
 * <li>every call ends by its report or at the first step at or past deadline + grace, and a report
 *     after that changes nothing;</li>
 * <li>device states, failure counts and every node's path state equal what the model derives
 *     from the outcomes, after every step, and events come exactly on transitions;</li>
 * <li>after the faults stop, every device answers and every node with levels has a path.</li>
 * </ul>
 * A failure prints its seed; rerun with that seed alone in {@link #seeds}.
 */
class FenceWatchModelTest {
    static final long MS = 1_000_000L;
    static final Timing T = new Timing(10_000 * MS, 4_000 * MS, 1_000 * MS);
    static final Map<Integer, List<FenceLevel>> LEVELS = Map.of(
            1, List.of(FenceLevel.of("a1"), FenceLevel.of("p12")),
            2, List.of(FenceLevel.of("a2"), FenceLevel.of("b2", "p12")),
            3, List.of(FenceLevel.of("a3", "p34"), FenceLevel.of("b3")),
            4, List.of(FenceLevel.of("p34"), FenceLevel.of("a4", "b4", "c4")),
            5, List.of());

    int calls, expiredByCore, reportsIgnored, alarms, restorations;

    @Test
    void seeds() {
        for (long seed = 1; seed <= 300; seed++) {
            var world = new World(new Random(seed), 1 + (int) (seed % 5));
            try {
                world.run(500);
            } catch (AssertionError | RuntimeException e) {
                throw new AssertionError("seed " + seed + " (self " + world.self + "): " + e.getMessage(), e);
            }
            calls += world.calls;
            expiredByCore += world.expiredByCore;
            reportsIgnored += world.reportsIgnored;
            alarms += world.alarms;
            restorations += world.restorations;
        }
        // The random world must actually reach the interesting places.
        assertThat(calls).isGreaterThan(50_000);
        assertThat(expiredByCore).isGreaterThan(4_000);
        assertThat(reportsIgnored).isGreaterThan(2_000);
        assertThat(alarms).isGreaterThan(1_500);
        assertThat(restorations).isGreaterThan(1_500);
    }

    record Delivery(long atNanos, RunMonitor run, AgentOutcome outcome) {}

    static final class World {
        final Random r;
        final int self;
        final FenceWatch w;
        final List<String> watched;
        final List<Integer> nodes = new ArrayList<>();
        final Map<String, DeviceState> state = new HashMap<>();
        final Map<String, Integer> failures = new HashMap<>();
        final Map<String, RunMonitor> live = new HashMap<>();
        final Map<String, Long> due = new HashMap<>();
        final Map<String, Boolean> sick = new HashMap<>();
        final Map<Integer, PathState> announced = new HashMap<>();
        final List<Delivery> deliveries = new ArrayList<>();
        long now = 5_000 * MS;
        long lastRequestId;
        boolean started;
        boolean healed;
        int calls, expiredByCore, reportsIgnored, alarms, restorations;

        World(Random r, int self) {
            this.r = r;
            this.self = self;
            this.w = new FenceWatch(new FenceTopology(LEVELS), self, T);
            var names = new TreeSet<String>();
            LEVELS.forEach((node, levels) -> {
                if (node != self) {
                    nodes.add(node);
                    levels.forEach(l -> names.addAll(l.devices()));
                }
            });
            nodes.sort(Comparator.naturalOrder());
            watched = List.copyOf(names);
            for (String d : watched) {
                state.put(d, DeviceState.UNKNOWN);
                failures.put(d, 0);
                sick.put(d, r.nextInt(4) == 0);
            }
            nodes.forEach(n -> announced.put(n, PathState.UNKNOWN));
        }

        void run(int steps) {
            apply(new Tick(now));
            for (int i = 0; i < steps; i++) {
                long dt = r.nextInt(10) == 0 ? 0 : 1 + r.nextInt(1_500);
                advance(dt * MS, r.nextInt(5) != 0);
            }
            heal();
        }

        /** Faults stop: every call answers at once; after a few intervals every node with levels has a path. */
        void heal() {
            healed = true;
            for (int i = 0; i < 3 * (T.intervalNanos() + T.deadlineNanos() + T.completionGraceNanos()) / (500 * MS); i++) {
                advance(500 * MS, true);
            }
            for (DeviceView d : w.view().devices()) {
                assertThat(d.state()).as("%s after healing", d.device()).isEqualTo(DeviceState.OK);
            }
            for (NodeView n : w.view().nodes()) {
                assertThat(n.path()).as("node %d after healing: %s", n.nodeId(), n.reason())
                        .isEqualTo(LEVELS.get(n.nodeId()).isEmpty() ? PathState.NO_PATH : PathState.PATH_OK);
            }
        }

        /** Time passes: due reports are delivered in time order, then (usually) a tick. */
        void advance(long nanos, boolean tick) {
            long until = now + nanos;
            deliveries.sort(Comparator.comparingLong(Delivery::atNanos));
            while (!deliveries.isEmpty() && deliveries.getFirst().atNanos() <= until) {
                Delivery d = deliveries.removeFirst();
                now = Math.max(now, d.atNanos());
                apply(new MonitorDone(now, d.run().requestId(), d.run().device(), d.outcome()));
            }
            now = until;
            if (tick) {
                apply(new Tick(now));
            }
        }

        void apply(FenceWatchInput in) {
            long t = in.nowNanos();
            // What the model expects: calls past deadline + grace end as failed, then the report (if still live).
            List<String> transitions = new ArrayList<>();
            for (String d : watched) {
                RunMonitor call = live.get(d);
                if (call != null && t - call.deadlineNanos() >= T.completionGraceNanos()) {
                    end(d, false, t, transitions);
                    expiredByCore++;
                }
            }
            if (in instanceof MonitorDone done) {
                RunMonitor call = live.get(done.device());
                if (call != null && call.requestId() == done.requestId()) {
                    boolean answered = switch (done.outcome()) {
                        case AgentOutcome.Success s -> true;
                        case AgentOutcome.StatusOn s -> true;
                        case AgentOutcome.StatusOff s -> true;
                        case AgentOutcome.Failed f -> false;
                        case AgentOutcome.TimedOut x -> false;
                    };
                    end(done.device(), answered, t, transitions);
                } else {
                    reportsIgnored++;
                }
            }
            if (in instanceof Tick && !started) {
                started = true;
                for (int i = 0; i < watched.size(); i++) {
                    due.put(watched.get(i), t + i * T.intervalNanos() / watched.size());
                }
            }
            List<String> pathEvents = new ArrayList<>();
            for (int n : nodes) {
                PathState p = path(n);
                PathState before = announced.get(n);
                if (p != before) {
                    assertThat(p).as("node %d back to unknown", n).isNotEqualTo(PathState.UNKNOWN);
                    if (p == PathState.NO_PATH) {
                        pathEvents.add("no-path " + n);
                    } else if (before == PathState.NO_PATH) {
                        pathEvents.add("restored " + n);
                    }
                    announced.put(n, p);
                }
            }

            var effects = w.step(in);

            List<String> gotTransitions = new ArrayList<>();
            List<String> gotPathEvents = new ArrayList<>();
            for (FenceWatchEffect e : effects) {
                switch (e) {
                    case RunMonitor run -> checkRun(run, t);
                    case Report rep -> {
                        assertThat(rep.event().fields()).startsWith("event=fence-");
                        switch (rep.event()) {
                            case FenceWatchEvent.DeviceChanged c -> {
                                gotTransitions.add(c.device() + " " + c.from() + "->" + c.to());
                                assertThat(c.warning()).isEqualTo(c.to() == DeviceState.FAILED);
                            }
                            case FenceWatchEvent.NoFencingPath a -> {
                                gotPathEvents.add("no-path " + a.nodeId());
                                alarms++;
                            }
                            case FenceWatchEvent.PathRestored p -> {
                                gotPathEvents.add("restored " + p.nodeId());
                                restorations++;
                            }
                        }
                    }
                }
            }
            assertThat(gotTransitions).as("device events at %d ms", t / MS).containsExactlyElementsOf(transitions);
            assertThat(gotPathEvents).as("path events at %d ms", t / MS).containsExactlyElementsOf(pathEvents);
            checkView(t);
            if (in instanceof Tick) {
                for (String d : watched) {
                    if (!live.containsKey(d)) {
                        assertThat(due.get(d) - t).as("%s due at %d ms, not called at the tick of %d ms", d,
                                due.get(d) / MS, t / MS).isPositive();
                    }
                }
            }
        }

        void end(String d, boolean answered, long t, List<String> transitions) {
            live.remove(d);
            DeviceState to = answered ? DeviceState.OK : DeviceState.FAILED;
            if (to != state.get(d)) {
                transitions.add(d + " " + state.get(d) + "->" + to);
            }
            state.put(d, to);
            failures.put(d, answered ? 0 : failures.get(d) + 1);
            due.put(d, t + T.intervalNanos());
        }

        PathState path(int node) {
            var levels = LEVELS.get(node);
            if (levels.isEmpty()) {
                return PathState.NO_PATH;
            }
            boolean undecided = false;
            for (FenceLevel l : levels) {
                if (l.devices().stream().allMatch(d -> state.get(d) == DeviceState.OK)) {
                    return PathState.PATH_OK;
                }
                undecided |= l.devices().stream().noneMatch(d -> state.get(d) == DeviceState.FAILED);
            }
            return undecided ? PathState.UNKNOWN : PathState.NO_PATH;
        }

        void checkRun(RunMonitor run, long t) {
            String d = run.device();
            assertThat(watched).as("only other nodes' devices").contains(d);
            assertThat(started).isTrue();
            assertThat(live).as("a second call for %s while one is out", d).doesNotContainKey(d);
            assertThat(t - due.get(d)).as("%s called before it was due", d).isGreaterThanOrEqualTo(0);
            assertThat(run.deadlineNanos()).isEqualTo(t + T.deadlineNanos());
            assertThat(run.requestId()).isGreaterThan(lastRequestId);
            lastRequestId = run.requestId();
            live.put(d, run);
            calls++;
            plan(run, t);
        }

        /** What the shell will do with this call. */
        void plan(RunMonitor run, long t) {
            if (healed) {
                deliveries.add(new Delivery(t + r.nextInt(500) * MS, run, AgentOutcome.SUCCESS));
                return;
            }
            if (r.nextInt(8) == 0) {
                sick.put(run.device(), !sick.get(run.device())); // a switch breaks, or is repaired
            }
            long deadline = run.deadlineNanos();
            int dice = r.nextInt(100);
            if (sick.get(run.device())) {
                if (dice < 40) {
                    deliveries.add(new Delivery(t + r.nextLong(T.deadlineNanos()), run, AgentOutcome.failed("Connection timed out")));
                } else if (dice < 75) {
                    deliveries.add(new Delivery(deadline + r.nextLong(T.completionGraceNanos() / 2), run, AgentOutcome.TIMED_OUT));
                } else if (dice < 88) {
                    // lost: the core must give up on it by itself
                } else {
                    deliveries.add(new Delivery(deadline + T.completionGraceNanos() + r.nextLong(3_000 * MS), run,
                            r.nextBoolean() ? AgentOutcome.SUCCESS : AgentOutcome.TIMED_OUT)); // too late
                }
            } else {
                AgentOutcome o = dice < 80 ? AgentOutcome.SUCCESS : dice < 88 ? AgentOutcome.STATUS_OFF
                        : dice < 92 ? AgentOutcome.STATUS_ON : dice < 97 ? AgentOutcome.failed("random") : null;
                if (o != null) {
                    deliveries.add(new Delivery(t + r.nextLong(T.deadlineNanos()), run, o));
                } else if (r.nextBoolean()) {
                    deliveries.add(new Delivery(deadline + T.completionGraceNanos() + r.nextLong(1, 3_000 * MS), run,
                            AgentOutcome.SUCCESS)); // too late
                }
            }
        }

        void checkView(long t) {
            var v = w.view();
            assertThat(v.devices()).extracting(DeviceView::device).containsExactlyElementsOf(watched);
            for (DeviceView d : v.devices()) {
                assertThat(d.state()).as("state of %s", d.device()).isEqualTo(state.get(d.device()));
                assertThat(d.consecutiveFailures()).as("failures of %s", d.device()).isEqualTo(failures.get(d.device()));
                assertThat(d.inFlight()).as("%s in flight", d.device()).isEqualTo(live.containsKey(d.device()));
                if (d.inFlight()) {
                    assertThat(t - live.get(d.device()).deadlineNanos()).as("%s out past deadline + grace", d.device())
                            .isLessThan(T.completionGraceNanos());
                } else if (started) {
                    assertThat(d.nextDueNanos()).isEqualTo(due.get(d.device()));
                }
                for (int n : d.nodes()) {
                    assertThat(n).isNotEqualTo(self);
                    assertThat(LEVELS.get(n)).anyMatch(l -> l.devices().contains(d.device()));
                }
            }
            assertThat(v.nodes()).extracting(NodeView::nodeId).containsExactlyElementsOf(nodes);
            for (NodeView n : v.nodes()) {
                assertThat(n.path()).as("path of node %d: %s", n.nodeId(), n.reason()).isEqualTo(path(n.nodeId()));
            }
        }
    }
}
