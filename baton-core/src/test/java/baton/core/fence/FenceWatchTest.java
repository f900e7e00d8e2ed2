package baton.core.fence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * The power-switch watch driven by hand with a fake clock. This node is 1. Node 1 (self):
 * ipmi-1, then pdu-a. Node 2: ipmi-2, then pdu-a + pdu-b (a dual-supply server). Node 3: ipmi-3,
 * then pdu-b. Node 4: no levels. Watched: ipmi-2, ipmi-3, pdu-a (for node 2), pdu-b (for 2 and 3).
 */
class FenceWatchTest {
    static final long MS = 1_000_000L;
    static final long S = 1_000 * MS;
    static final Timing T = new Timing(40 * S, 20 * S, 5 * S);
    static final FenceTopology TOPO = new FenceTopology(Map.of(
            1, List.of(FenceLevel.of("ipmi-1"), FenceLevel.of("pdu-a")),
            2, List.of(FenceLevel.of("ipmi-2"), FenceLevel.of("pdu-a", "pdu-b")),
            3, List.of(FenceLevel.of("ipmi-3"), FenceLevel.of("pdu-b")),
            4, List.of()));
    static final String NODE_4_ALARM = "event=fence-no-path node-id=4 alarm=\"fencing node 4 would fail: no fencing levels configured\"";

    FenceWatch w = new FenceWatch(TOPO, 1, T);
    long now = 1_000 * S;
    final long start = now;
    /** Calls the core issued and the test has not answered, by device. */
    final Map<String, RunMonitor> calls = new LinkedHashMap<>();
    /** When each call was issued, in order. */
    final List<String> issued = new ArrayList<>();
    final List<String> events = new ArrayList<>();

    List<FenceWatchEffect> step(FenceWatchInput in) {
        var out = w.step(in);
        calls.values().removeIf(r -> in.nowNanos() - r.deadlineNanos() >= T.completionGraceNanos()); // given up by the core
        for (FenceWatchEffect e : out) {
            switch (e) {
                case RunMonitor r -> {
                    assertThat(calls).as("a second call for %s while one is out", r.device()).doesNotContainKey(r.device());
                    assertThat(r.deadlineNanos()).isEqualTo(now + T.deadlineNanos());
                    calls.put(r.device(), r);
                    issued.add(r.device() + "@" + (now - start) / MS);
                }
                case Report rep -> events.add(rep.event().fields());
            }
        }
        return out;
    }

    List<FenceWatchEffect> tick(long ms) {
        now += ms * MS;
        return step(new Tick(now));
    }

    /** Ticks every 100 ms for {@code ms}. */
    void ticks(long ms) {
        for (long i = 0; i < ms; i += 100) {
            tick(100);
        }
    }

    List<FenceWatchEffect> answer(String device, AgentOutcome outcome) {
        RunMonitor r = calls.remove(device);
        assertThat(r).as("no call out for %s", device).isNotNull();
        return step(new MonitorDone(now, r.requestId(), device, outcome));
    }

    /** Answers every call out at once with {@code outcome.apply(device)}; null leaves that call out. */
    void answerAll(Function<String, AgentOutcome> outcome) {
        for (String d : List.copyOf(calls.keySet())) {
            AgentOutcome o = outcome.apply(d);
            if (o != null) {
                answer(d, o);
            }
        }
    }

    /** Ticks every 100 ms for {@code ms}, answering each call as soon as it is issued. */
    void run(long ms, Function<String, AgentOutcome> outcome) {
        answerAll(outcome);
        for (long i = 0; i < ms; i += 100) {
            tick(100);
            answerAll(outcome);
        }
    }

    /** Like {@link #run} until {@code device} is issued a call, which is left out for the test to answer. */
    void runUntilIssued(String device, Function<String, AgentOutcome> outcome) {
        for (int guard = 0; !calls.containsKey(device); guard++) {
            assertThat(guard).as("%s never monitored", device).isLessThan(10_000);
            tick(100);
            answerAll(d -> d.equals(device) ? null : outcome.apply(d));
        }
    }

    /** The first round with each device answering at once as given: it ends 30 s after the start. */
    void firstRound(Map<String, AgentOutcome> outcomes) {
        tick(0);
        run(30_000, outcomes::get);
        assertThat(calls).isEmpty();
    }

    DeviceView device(String name) {
        return w.view().devices().stream().filter(d -> d.device().equals(name)).findFirst().orElseThrow();
    }

    NodeView node(int id) {
        return w.view().nodes().stream().filter(n -> n.nodeId() == id).findFirst().orElseThrow();
    }

    @Test
    void watchesEveryDeviceOfTheOtherNodesOnceAndNotThoseOnlySelfUses() {
        var v = w.view();
        assertThat(v.devices()).extracting(DeviceView::device).containsExactly("ipmi-2", "ipmi-3", "pdu-a", "pdu-b");
        assertThat(device("pdu-a").nodes()).as("pdu-a is also self's, watched for node 2").containsExactly(2);
        assertThat(device("pdu-b").nodes()).as("shared by 2 and 3, watched once").containsExactly(2, 3);
        assertThat(v.nodes()).extracting(NodeView::nodeId).containsExactly(2, 3, 4);
        assertThat(v.devices()).allMatch(d -> d.state() == DeviceState.UNKNOWN && d.reason().equals("no monitor result yet"));

        ticks(120_000);
        assertThat(issued).extracting(s -> s.substring(0, s.indexOf('@'))).containsOnly("ipmi-2", "ipmi-3", "pdu-a", "pdu-b");
    }

    @Test
    void aNodeWithoutLevelsIsNoPathFromTheStartAndAlarmedOnceAtTheFirstStep() {
        assertThat(node(4)).isEqualTo(new NodeView(4, PathState.NO_PATH, "no fencing levels configured"));
        assertThat(node(2).path()).isEqualTo(PathState.UNKNOWN);

        tick(0);
        assertThat(events).containsExactly(NODE_4_ALARM);
        run(30_000, d -> AgentOutcome.SUCCESS);
        ticks(200_000);
        assertThat(events).filteredOn(e -> e.contains("node-id=4")).containsExactly(NODE_4_ALARM);
    }

    @Test
    void theFirstRoundIsSpreadEvenlyOverTheIntervalInNameOrder() {
        tick(0);
        assertThat(issued).containsExactly("ipmi-2@0");
        for (int i = 0; i < 99; i++) {
            tick(100);
        }
        assertThat(issued).as("not before 10 s").containsExactly("ipmi-2@0");
        ticks(30_000);
        assertThat(issued).containsExactly("ipmi-2@0", "ipmi-3@10000", "pdu-a@20000", "pdu-b@30000");
    }

    @Test
    void aDeviceRunsAgainOneIntervalAfterItsCallEndedNeverWhileItRuns() {
        tick(0);
        ticks(15_000); // ipmi-2 has not answered for 15 s (under its 20 s deadline); ipmi-3 is out too
        answer("ipmi-2", AgentOutcome.SUCCESS);
        assertThat(device("ipmi-2").lastDurationNanos()).isEqualTo(15 * S);
        assertThat(device("ipmi-2").nextDueNanos()).isEqualTo(now + T.intervalNanos());
        long answeredAt = now - start;
        ticks(39_900);
        assertThat(issued).filteredOn(s -> s.startsWith("ipmi-2@")).containsExactly("ipmi-2@0");
        tick(100);
        assertThat(issued).filteredOn(s -> s.startsWith("ipmi-2@"))
                .containsExactly("ipmi-2@0", "ipmi-2@" + (answeredAt + 40 * S) / MS);
    }

    @Test
    void aCallNeverReportedFailsAtDeadlinePlusGraceAndItsLateReportIsIgnored() {
        tick(0);
        RunMonitor lost = calls.get("ipmi-2");
        ticks(24_900); // deadline 20 s + grace 5 s, less one tick
        assertThat(device("ipmi-2").inFlight()).isTrue();
        assertThat(events).containsExactly(NODE_4_ALARM);

        tick(100);
        assertThat(events).containsExactly(NODE_4_ALARM,
                "event=fence-device-changed device=ipmi-2 from=unknown to=failed reason=\"no report of the monitor 5000 ms after its deadline\"");
        var d = device("ipmi-2");
        assertThat(d.inFlight()).isFalse();
        assertThat(d.consecutiveFailures()).isEqualTo(1);
        assertThat(d.lastDurationNanos()).isEqualTo(25 * S);
        calls.remove("ipmi-2");

        // The shell reports it after all: too late, nothing changes.
        var late = step(new MonitorDone(now, lost.requestId(), "ipmi-2", AgentOutcome.SUCCESS));
        assertThat(late).isEmpty();
        assertThat(device("ipmi-2").state()).isEqualTo(DeviceState.FAILED);

        // And the device is watched on: one interval after it was given up.
        ticks(40_000);
        assertThat(issued).filteredOn(s -> s.startsWith("ipmi-2@")).containsExactly("ipmi-2@0", "ipmi-2@65000");
    }

    @Test
    void aReportAtExactlyDeadlinePlusGraceIsTooLate() {
        tick(0);
        RunMonitor r = calls.remove("ipmi-2");
        now = r.deadlineNanos() + T.completionGraceNanos();
        var out = step(new MonitorDone(now, r.requestId(), "ipmi-2", AgentOutcome.SUCCESS));
        assertThat(out).filteredOn(e -> e instanceof Report).containsExactly(new Report(new FenceWatchEvent.DeviceChanged("ipmi-2", DeviceState.UNKNOWN,
                DeviceState.FAILED, "no report of the monitor 5000 ms after its deadline")));
    }

    @Test
    void outcomesMapToStatesAndTransitionsAreReportedOnceEach() {
        Function<String, AgentOutcome> others = d -> d.equals("ipmi-2") ? null : AgentOutcome.SUCCESS;
        tick(0);
        answer("ipmi-2", AgentOutcome.SUCCESS);
        assertThat(events).last().isEqualTo("event=fence-device-changed device=ipmi-2 from=unknown to=ok reason=\"answered\"");
        run(40_000, others);
        answer("ipmi-2", AgentOutcome.TIMED_OUT);
        assertThat(events).last().isEqualTo(
                "event=fence-device-changed device=ipmi-2 from=ok to=failed reason=\"monitor timed out after 20000 ms\"");
        int before = events.size();
        run(40_000, others);
        answer("ipmi-2", AgentOutcome.failed("ERROR: Failed: Unable to obtain correct plug status or plug is not available"));
        assertThat(events).as("failed again: no event").hasSize(before);
        var d = device("ipmi-2");
        assertThat(d.reason()).isEqualTo("monitor failed: ERROR: Failed: Unable to obtain correct plug status or plug is not available");
        assertThat(d.consecutiveFailures()).isEqualTo(2);
        run(40_000, others);
        // Exit 2 of a monitor: the device answered, and its single plug is off. Answered is what counts.
        answer("ipmi-2", AgentOutcome.STATUS_OFF);
        assertThat(events).last().isEqualTo("event=fence-device-changed device=ipmi-2 from=failed to=ok reason=\"answered; plug off\"");
        assertThat(device("ipmi-2").consecutiveFailures()).isZero();
        run(40_000, others);
        answer("ipmi-2", AgentOutcome.STATUS_ON);
        assertThat(device("ipmi-2").state()).isEqualTo(DeviceState.OK);
        assertThat(device("ipmi-2").reason()).isEqualTo("answered; plug on");
        assertThat(events).filteredOn(e -> e.contains("device=ipmi-2")).hasSize(3);
        assertThat(events).filteredOn(e -> !e.contains("device=ipmi-2")).as("the others answered throughout")
                .containsExactly(NODE_4_ALARM,
                        "event=fence-device-changed device=ipmi-3 from=unknown to=ok reason=\"answered\"",
                        "event=fence-device-changed device=pdu-a from=unknown to=ok reason=\"answered\"",
                        "event=fence-device-changed device=pdu-b from=unknown to=ok reason=\"answered\"");
    }

    @Test
    void warningsAreTheFailuresAndTheAlarm() {
        assertThat(new FenceWatchEvent.DeviceChanged("x", DeviceState.UNKNOWN, DeviceState.OK, "answered").warning()).isFalse();
        assertThat(new FenceWatchEvent.DeviceChanged("x", DeviceState.FAILED, DeviceState.OK, "answered").warning()).isFalse();
        assertThat(new FenceWatchEvent.DeviceChanged("x", DeviceState.UNKNOWN, DeviceState.FAILED, "f").warning()).isTrue();
        assertThat(new FenceWatchEvent.DeviceChanged("x", DeviceState.OK, DeviceState.FAILED, "f").warning()).isTrue();
        assertThat(new FenceWatchEvent.NoFencingPath(2, "r").warning()).isTrue();
        assertThat(new FenceWatchEvent.PathRestored(2, "r").warning()).isFalse();
        assertThat(new FenceWatchEvent.DeviceChanged("x", DeviceState.OK, DeviceState.FAILED, "said \"no\"\nthen").fields())
                .isEqualTo("event=fence-device-changed device=x from=ok to=failed reason=\"said \\\"no\\\" then\"");
    }

    @Test
    void aPathIsUnknownUntilDecidedThenOkWhenSomeLevelHasEveryDeviceAnswering() {
        tick(0);
        answer("ipmi-2", AgentOutcome.failed("boom"));
        assertThat(node(2)).as("level 1 failed, level 2 not known yet").isEqualTo(new NodeView(2, PathState.UNKNOWN,
                "waiting for the first monitor results of level 2 (pdu-a+pdu-b)"));
        ticks(20_000);
        answer("pdu-a", AgentOutcome.SUCCESS);
        assertThat(node(2).path()).as("pdu-b still unknown").isEqualTo(PathState.UNKNOWN);
        ticks(10_000);
        answer("pdu-b", AgentOutcome.SUCCESS);
        assertThat(node(2)).isEqualTo(new NodeView(2, PathState.PATH_OK, "level 2 (pdu-a+pdu-b) answers"));
        assertThat(device("ipmi-3").state()).isEqualTo(DeviceState.UNKNOWN);
        assertThat(node(3)).as("level 1 unknown, level 2 answers: that is enough").isEqualTo(
                new NodeView(3, PathState.PATH_OK, "level 2 (pdu-b) answers"));
        assertThat(events).noneMatch(e -> e.startsWith("event=fence-no-path node-id=2") || e.startsWith("event=fence-path-restored"));
    }

    @Test
    void aFailedDeviceInATwoDeviceLevelFailsThatLevelOnlyAndTheAlarmComesOncePerLoss() {
        firstRound(Map.of("ipmi-2", AgentOutcome.SUCCESS, "ipmi-3", AgentOutcome.SUCCESS, "pdu-a", AgentOutcome.SUCCESS,
                "pdu-b", AgentOutcome.failed("Connection timed out")));
        assertThat(node(2)).as("level 2 lost pdu-b, level 1 answers").isEqualTo(new NodeView(2, PathState.PATH_OK, "level 1 (ipmi-2) answers"));
        assertThat(node(3)).isEqualTo(new NodeView(3, PathState.PATH_OK, "level 1 (ipmi-3) answers"));

        // ipmi-2 is the next to run (at 40 s) and fails: no level of node 2 works.
        Function<String, AgentOutcome> steady = d -> switch (d) {
            case "ipmi-2" -> AgentOutcome.TIMED_OUT;
            case "pdu-b" -> AgentOutcome.failed("Connection timed out");
            default -> AgentOutcome.SUCCESS;
        };
        runUntilIssued("ipmi-2", steady);
        answer("ipmi-2", AgentOutcome.failed("Unable to connect/login to fencing device"));
        String alarm = "event=fence-no-path node-id=2 alarm=\"fencing node 2 would fail: level 1 (ipmi-2): ipmi-2 monitor failed:"
                + " Unable to connect/login to fencing device; level 2 (pdu-a+pdu-b): pdu-b monitor failed: Connection timed out\"";
        assertThat(events).last().isEqualTo(alarm);
        assertThat(node(2).path()).isEqualTo(PathState.NO_PATH);
        assertThat(node(3).path()).isEqualTo(PathState.PATH_OK);

        // Both fail again for two more rounds: no new alarm, no new device event.
        int before = events.size();
        run(80_000, steady);
        assertThat(events).hasSize(before);
        assertThat(node(2).reason()).as("the newest reason shows in the view").contains("ipmi-2 monitor timed out after 20000 ms");
        assertThat(device("ipmi-2").consecutiveFailures()).isEqualTo(3);

        // pdu-b comes back: level 2 works again.
        runUntilIssued("pdu-b", steady);
        answer("pdu-b", AgentOutcome.SUCCESS);
        assertThat(events.subList(before, events.size())).containsExactly(
                "event=fence-device-changed device=pdu-b from=failed to=ok reason=\"answered\"",
                "event=fence-path-restored node-id=2 how=\"level 2 (pdu-a+pdu-b) answers\"");
    }

    @Test
    void aDeviceSharedByTwoNodesTakesBothPathsWithIt() {
        firstRound(Map.of("ipmi-2", AgentOutcome.failed("a"), "ipmi-3", AgentOutcome.failed("b"), "pdu-a", AgentOutcome.SUCCESS,
                "pdu-b", AgentOutcome.SUCCESS));
        assertThat(node(2).path()).isEqualTo(PathState.PATH_OK);
        assertThat(node(3).path()).isEqualTo(PathState.PATH_OK);
        int before = events.size();
        runUntilIssued("pdu-b", d -> d.startsWith("ipmi") ? AgentOutcome.failed(d.equals("ipmi-2") ? "a" : "b") : AgentOutcome.SUCCESS);
        answer("pdu-b", AgentOutcome.TIMED_OUT);
        assertThat(events.subList(before, events.size())).containsExactly(
                "event=fence-device-changed device=pdu-b from=ok to=failed reason=\"monitor timed out after 20000 ms\"",
                "event=fence-no-path node-id=2 alarm=\"fencing node 2 would fail: level 1 (ipmi-2): ipmi-2 monitor failed: a;"
                        + " level 2 (pdu-a+pdu-b): pdu-b monitor timed out after 20000 ms\"",
                "event=fence-no-path node-id=3 alarm=\"fencing node 3 would fail: level 1 (ipmi-3): ipmi-3 monitor failed: b;"
                        + " level 2 (pdu-b): pdu-b monitor timed out after 20000 ms\"");
    }

    @Test
    void theDiskBasedLevelIsNotMonitoredAndCountsAsAPath() {
        var topo = new FenceTopology(Map.of(
                1, List.of(FenceLevel.of("ipmi-1")),
                5, List.of(FenceLevel.of("ipmi-5"), FenceLevel.of(FenceLevel.POISON_PILL))));
        w = new FenceWatch(topo, 1, T);
        assertThat(w.view().devices()).extracting(DeviceView::device).containsExactly("ipmi-5");
        assertThat(node(5)).isEqualTo(new NodeView(5, PathState.PATH_OK, "level 2 (poison-pill) is disk-based, not monitored here"));
        tick(0);
        answer("ipmi-5", AgentOutcome.failed("x"));
        assertThat(node(5).path()).isEqualTo(PathState.PATH_OK);
        assertThat(events).noneMatch(e -> e.startsWith("event=fence-no-path"));
    }

    @Test
    void aNodeWatchingNothingIssuesNothing() {
        w = new FenceWatch(new FenceTopology(Map.of(1, List.of(FenceLevel.of("ipmi-1")))), 1, T);
        ticks(100_000);
        assertThat(issued).isEmpty();
        assertThat(events).isEmpty();
        assertThat(w.view().nodes()).isEmpty();
    }

    @Test
    void longAgentReasonsAreCut() {
        tick(0);
        answer("ipmi-2", AgentOutcome.failed("x".repeat(1_000)));
        assertThat(device("ipmi-2").reason()).hasSize("monitor failed: ".length() + FenceWatch.MAX_AGENT_REASON_CHARS).endsWith("...");
    }

    @Test
    void aReportThatDoesNotMatchItsRequestIsAProgrammingError() {
        tick(0);
        RunMonitor r = calls.get("ipmi-2");
        assertThatThrownBy(() -> w.step(new MonitorDone(now, r.requestId(), "ipmi-3", AgentOutcome.SUCCESS)))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("does not match");
    }

    @Test
    void aReportStampedBeforeTheLastTickDoesNotTurnTimeBack() {
        tick(0);
        RunMonitor r = calls.remove("ipmi-2");
        tick(1_000);
        step(new MonitorDone(now - 500 * MS, r.requestId(), "ipmi-2", AgentOutcome.SUCCESS));
        assertThat(device("ipmi-2").lastResultNanos()).isEqualTo(now);
        assertThat(device("ipmi-2").lastDurationNanos()).isEqualTo(1 * S);
    }

    @Test
    void timingDefaultsAndLimits() {
        assertThat(Timing.DEFAULTS).isEqualTo(new Timing(30 * S, 20 * S, 5 * S));
        assertThatThrownBy(() -> new Timing(20 * S, 20 * S, 5 * S)).hasMessageContaining("deadline < interval");
        assertThatThrownBy(() -> new Timing(30 * S, 0, 5 * S)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Timing(30 * S, 20 * S, -1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Timing(601 * S, 20 * S, 5 * S)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new FenceWatch(TOPO, 0, T)).isInstanceOf(IllegalArgumentException.class);
    }
}
