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
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Fencing scenarios driven by hand with a fake clock. Node 2: level 1 = ipmi-2, level 2 = pdu-a + pdu-b. */
class FencingTest {
    static final long MS = 1_000_000L;
    static final FenceTiming T = new FenceTiming(20_000 * MS, 1_000 * MS, 8_000 * MS, 1_000 * MS, 3_000 * MS);
    static final FenceTopology TOPO = new FenceTopology(Map.of(
            2, List.of(FenceLevel.of("ipmi-2"), FenceLevel.of("pdu-a", "pdu-b")),
            3, List.of(FenceLevel.of("ipmi-3"))));

    final Fencing f = new Fencing(TOPO, T);
    final List<FenceEffect> all = new ArrayList<>();
    long now = 1_000 * MS;

    List<FenceEffect> step(FenceInput in) {
        var out = f.step(in);
        all.addAll(out);
        return out;
    }

    List<FenceEffect> coordinator(long generation) {
        return step(new CoordinatorChanged(now, true, generation));
    }

    List<FenceEffect> down(int node, long incarnation) {
        return step(new VerdictDown(now, node, incarnation, "slot stale 800 ms, silent on 2 rings"));
    }

    List<FenceEffect> done(RunAgent r, AgentOutcome o) {
        return step(new AgentDone(now, r.requestId(), r.nodeId(), r.device(), r.action(), o));
    }

    List<FenceEffect> tick(long ms) {
        now += ms * MS;
        return step(new Tick(now));
    }

    static List<RunAgent> runs(List<FenceEffect> out) {
        return out.stream().filter(e -> e instanceof RunAgent).map(e -> (RunAgent) e).toList();
    }

    static RunAgent run(List<FenceEffect> out, String device) {
        return runs(out).stream().filter(r -> r.device().equals(device)).findFirst().orElseThrow(
                () -> new AssertionError("no call for " + device + " in " + out));
    }

    static List<String> reports(List<FenceEffect> out) {
        return out.stream().filter(e -> e instanceof Report).map(e -> ((Report) e).event().fields()).toList();
    }

    static List<Fenced> fenced(List<FenceEffect> out) {
        return out.stream().filter(e -> e instanceof Fenced).map(e -> (Fenced) e).toList();
    }

    /** Runs off then status on {@code device} with the given answers; returns the effects of the last step. */
    List<FenceEffect> offThenStatus(List<FenceEffect> out, String device, AgentOutcome status) {
        var off = run(out, device);
        assertThat(off.action()).isEqualTo(FenceAction.OFF);
        var afterOff = done(off, AgentOutcome.SUCCESS);
        var st = run(afterOff, device);
        assertThat(st.action()).isEqualTo(FenceAction.STATUS);
        return done(st, status);
    }

    @Test
    void offThenStatusOffFences() {
        coordinator(7);
        var out = down(2, 11);
        assertThat(reports(out)).singleElement().asString().startsWith("event=fence-started node-id=2 incarnation=11 round=1 level=1 devices=ipmi-2");
        var off = run(out, "ipmi-2");
        assertThat(off.generation()).isEqualTo(7);
        assertThat(off.deadlineNanos()).isEqualTo(now + T.agentDeadlineNanos());
        assertThat(f.state(2)).isEqualTo(new FenceState.Fencing(1, 1, now));
        var last = offThenStatus(out, "ipmi-2", AgentOutcome.STATUS_OFF);
        assertThat(fenced(last)).containsExactly(new Fenced(2, 11, 7, "level 1: ipmi-2 confirmed off"));
        assertThat(reports(last)).anyMatch(r -> r.startsWith("event=fenced node-id=2 incarnation=11"));
        assertThat(f.state(2)).isInstanceOf(FenceState.Fenced.class);
        assertThat(all).allMatch(e -> e.generation() == 7);
        // The same verdict again changes nothing.
        assertThat(down(2, 11)).isEmpty();
    }

    @Test
    void failedOffTriesNextLevel() {
        coordinator(1);
        var out = down(2, 11);
        var next = done(run(out, "ipmi-2"), AgentOutcome.failed("Unable to connect/login to fencing device"));
        assertThat(reports(next)).anyMatch(r -> r.startsWith("event=fence-level-failed node-id=2 incarnation=11 round=1 level=1 device=ipmi-2")
                && r.contains("Unable to connect/login"));
        assertThat(runs(next)).extracting(RunAgent::device).containsExactly("pdu-a", "pdu-b");
        assertThat(f.state(2)).isEqualTo(new FenceState.Fencing(1, 2, now));
        var a = offThenStatus(next, "pdu-a", AgentOutcome.STATUS_OFF);
        assertThat(fenced(a)).isEmpty(); // pdu-b not yet
        var b = offThenStatus(next, "pdu-b", AgentOutcome.STATUS_OFF);
        assertThat(fenced(b)).singleElement().extracting(Fenced::how).isEqualTo("level 2: pdu-a+pdu-b confirmed off");
    }

    @Test
    void oneFailedDeviceFailsTheLevel() {
        coordinator(1);
        var out = down(2, 11);
        var level2 = done(run(out, "ipmi-2"), AgentOutcome.failed("bad password"));
        var a = offThenStatus(level2, "pdu-a", AgentOutcome.STATUS_OFF);
        assertThat(fenced(a)).isEmpty();
        var b = done(run(level2, "pdu-b"), AgentOutcome.failed("outlet 4 not found"));
        assertThat(fenced(b)).isEmpty();
        assertThat(reports(b)).anyMatch(r -> r.contains("level-failed") && r.contains("level=2 device=pdu-b"));
        assertThat(f.state(2)).isInstanceOf(FenceState.RetryWait.class);
    }

    @Test
    void levelWaitsForItsOtherCallsBeforeTheNextStarts() {
        var topo = new FenceTopology(Map.of(2, List.of(FenceLevel.of("pdu-a", "pdu-b"), FenceLevel.of("ipmi-2"))));
        var g = new Fencing(topo, T);
        g.step(new CoordinatorChanged(now, true, 1));
        var out = g.step(new VerdictDown(now, 2, 11, "e"));
        var a = run(out, "pdu-a");
        var b = run(out, "pdu-b");
        var afterA = g.step(new AgentDone(now, a.requestId(), 2, "pdu-a", FenceAction.OFF, AgentOutcome.failed("x")));
        assertThat(runs(afterA)).isEmpty(); // pdu-b still runs: one operation per node
        var afterB = g.step(new AgentDone(now, b.requestId(), 2, "pdu-b", FenceAction.OFF, AgentOutcome.SUCCESS));
        assertThat(runs(afterB)).extracting(RunAgent::device, RunAgent::action).containsExactly(
                org.assertj.core.groups.Tuple.tuple("ipmi-2", FenceAction.OFF)); // no status for the lost level
    }

    @Test
    void allLevelsFailRaisesAlarmAndRetriesWithCappedBackoff() {
        coordinator(1);
        var out = down(3, 5);
        List<Long> waits = new ArrayList<>();
        for (int i = 1; i <= 6; i++) {
            int round = i;
            var r = run(out, "ipmi-3");
            var failed = done(r, AgentOutcome.TIMED_OUT);
            assertThat(fenced(failed)).isEmpty();
            assertThat(reports(failed)).anyMatch(s -> s.startsWith("event=fence-alarm node-id=3 incarnation=5 round=" + round)
                    && s.contains("no failover will take place and the cluster cannot determine the node's state"));
            var retry = reports(failed).stream().filter(s -> s.contains("retry-scheduled")).findFirst().orElseThrow();
            assertThat(retry).contains("next-round=" + (round + 1));
            var wait = (FenceState.RetryWait) f.state(3);
            waits.add((wait.untilNanos() - now) / MS);
            assertThat(tick(waits.getLast() - 1)).isEmpty(); // not before its time
            out = tick(1);
            assertThat(reports(out)).singleElement().asString().contains("round=" + (round + 1) + " level=1");
        }
        assertThat(waits).containsExactly(1_000L, 2_000L, 4_000L, 8_000L, 8_000L, 8_000L);
    }

    @Test
    void statusStillOnAfterOffIsNotFenced() {
        coordinator(1);
        var out = down(3, 5);
        var last = offThenStatus(out, "ipmi-3", AgentOutcome.STATUS_ON);
        assertThat(fenced(last)).isEmpty();
        assertThat(reports(last)).anyMatch(s -> s.contains("level-failed") && s.contains("power still on after off"));
        assertThat(f.state(3)).isInstanceOf(FenceState.RetryWait.class);
    }

    @Test
    void timedOutAgentFailsTheLevel() {
        coordinator(1);
        var out = down(2, 11);
        var next = done(run(out, "ipmi-2"), AgentOutcome.TIMED_OUT);
        assertThat(reports(next)).anyMatch(s -> s.contains("level-failed") && s.contains("off timed out after 20000 ms"));
        assertThat(runs(next)).extracting(RunAgent::device).containsExactly("pdu-a", "pdu-b");
    }

    @Test
    void lostCompletionCountsAsTimedOutAfterTheGrace() {
        coordinator(1);
        var out = down(3, 5);
        run(out, "ipmi-3");
        assertThat(tick(20_000 + 999)).isEmpty();
        var late = tick(1);
        assertThat(reports(late)).anyMatch(s -> s.contains("level-failed") && s.contains("no completion 1000 ms after the deadline"));
    }

    @Test
    void notCoordinatorRunsNothing() {
        assertThat(down(2, 11)).isEmpty();
        assertThat(tick(100_000)).isEmpty();
        assertThat(f.state(2)).isEqualTo(new FenceState.Idle());
        assertThat(f.view()).anyMatch(v -> v.nodeId() == 2 && v.down() && v.incarnation() == 11);
        assertThat(reports(step(new OperatorConfirm(now, 2)))).singleElement().asString().contains("confirm-refused");
        // Becoming coordinator starts over for nodes already down.
        var out = coordinator(4);
        assertThat(run(out, "ipmi-2").generation()).isEqualTo(4);
    }

    @Test
    void losingTheRoleMidWayAbandons() {
        coordinator(1);
        var out = down(2, 11);
        var off = run(out, "ipmi-2");
        var afterOff = done(off, AgentOutcome.SUCCESS);
        var st = run(afterOff, "ipmi-2");
        var lost = step(new CoordinatorChanged(now, false, 1));
        assertThat(reports(lost)).singleElement().asString().startsWith("event=fence-abandoned node-id=2 incarnation=11");
        assertThat(done(st, AgentOutcome.STATUS_OFF)).isEmpty(); // no Fenced from the old term's calls
        assertThat(f.state(2)).isEqualTo(new FenceState.Idle());
        // Regaining the role (new generation) starts over at level 1, round 1.
        var again = coordinator(2);
        assertThat(runs(again)).singleElement().satisfies(r -> {
            assertThat(r.action()).isEqualTo(FenceAction.OFF);
            assertThat(r.generation()).isEqualTo(2);
        });
    }

    @Test
    void newOperationWaitsForCallsOfTheAbandonedOne() {
        coordinator(1);
        var out = down(2, 11);
        var off = run(out, "ipmi-2");
        step(new CoordinatorChanged(now, false, 1));
        assertThat(runs(coordinator(2))).isEmpty(); // the old off is still out
        assertThat(f.callsInFlight(2)).isEqualTo(1);
        var next = done(off, AgentOutcome.SUCCESS);
        assertThat(fenced(next)).isEmpty();
        assertThat(runs(next)).singleElement().extracting(RunAgent::generation).isEqualTo(2L);
    }

    @Test
    void operatorConfirmFences() {
        coordinator(3);
        var out = down(2, 11);
        done(run(out, "ipmi-2"), AgentOutcome.failed("x"));
        var c = step(new OperatorConfirm(now, 2));
        assertThat(fenced(c)).containsExactly(new Fenced(2, 11, 3, "operator"));
        assertThat(reports(c)).anyMatch(s -> s.contains("operator-confirmed") && s.contains("warning="));
        assertThat(f.state(2)).isEqualTo(new FenceState.Fenced("operator"));
        assertThat(reports(step(new OperatorConfirm(now, 2)))).singleElement().asString().contains("already fenced");
    }

    @Test
    void nodeWithoutLevelsRaisesAlarmAndWaitsForOperator() {
        coordinator(1);
        var out = down(9, 1);
        assertThat(runs(out)).isEmpty();
        assertThat(reports(out)).singleElement().asString().startsWith("event=fence-alarm node-id=9")
                .contains("no fencing levels configured");
        assertThat(f.state(9)).isEqualTo(new FenceState.Unfenceable("no fencing levels configured"));
        assertThat(tick(1_000_000)).isEmpty();
        assertThat(fenced(step(new OperatorConfirm(now, 9)))).containsExactly(new Fenced(9, 1, 1, "operator"));
    }

    @Test
    void verdictBackCancelsButFencedStaysFenced() {
        coordinator(1);
        var out = down(2, 11);
        var off = run(out, "ipmi-2");
        var back = step(new VerdictBack(now, 2, 12));
        assertThat(reports(back)).singleElement().asString().isEqualTo("event=fence-cancelled node-id=2 incarnation=11 new-incarnation=12");
        assertThat(done(off, AgentOutcome.SUCCESS)).isEmpty();
        assertThat(f.state(2)).isEqualTo(new FenceState.Idle());
        assertThat(down(2, 11)).isEmpty(); // news about the old incarnation

        var out3 = down(3, 5);
        offThenStatus(out3, "ipmi-3", AgentOutcome.STATUS_OFF);
        assertThat(step(new VerdictBack(now, 3, 5))).isEmpty(); // the fenced incarnation does not come back
        assertThat(f.state(3)).isInstanceOf(FenceState.Fenced.class);
        assertThat(step(new VerdictBack(now, 3, 6))).isEmpty(); // a new one joins: nothing to cancel
        assertThat(f.view()).anyMatch(v -> v.nodeId() == 3 && v.incarnation() == 6 && !v.down());
    }

    @Test
    void backoffIsBoundedAndNeverOverflows() {
        assertThat(T.backoffNanos(1)).isEqualTo(1_000 * MS);
        assertThat(T.backoffNanos(4)).isEqualTo(8_000 * MS);
        assertThat(T.backoffNanos(Integer.MAX_VALUE)).isEqualTo(8_000 * MS);
        var huge = new FenceTiming(1, Long.MAX_VALUE / 3, Long.MAX_VALUE, 0, 1);
        assertThat(huge.backoffNanos(100)).isEqualTo(Long.MAX_VALUE);
    }
}
