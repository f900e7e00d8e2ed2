package baton.core.fence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import baton.core.fence.FenceEffect.Fenced;
import baton.core.fence.FenceEffect.Report;
import baton.core.fence.FenceEffect.RunAgent;
import baton.core.fence.FenceEffect.WritePill;
import baton.core.fence.FenceInput.AgentDone;
import baton.core.fence.FenceInput.CoordinatorChanged;
import baton.core.fence.FenceInput.OperatorFence;
import baton.core.fence.FenceInput.Tick;
import baton.core.fence.FenceInput.VerdictBack;
import baton.core.fence.FenceInput.VerdictDown;
import baton.core.timing.Timeouts;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The fencing core's options, driven by hand: reboot instead of off, the poison-pill level,
 * the static fence delay, and an operator's manual fence.
 */
class FencingOptionsTest {
    static final long MS = 1_000_000L;
    static final FenceTiming T = new FenceTiming(20_000 * MS, 1_000 * MS, 8_000 * MS, 1_000 * MS, 3_000 * MS);
    static final Map<Integer, List<FenceLevel>> LEVELS = Map.of(
            2, List.of(FenceLevel.of("ipmi-2"), FenceLevel.of(FenceLevel.POISON_PILL)),
            3, List.of(FenceLevel.of(FenceLevel.POISON_PILL)));

    long now = 1_000 * MS;
    final List<FenceEffect> all = new ArrayList<>();

    List<FenceEffect> step(Fencing f, FenceInput in) {
        var out = f.step(in);
        all.addAll(out);
        return out;
    }

    List<FenceEffect> tick(Fencing f, long ms) {
        now += ms * MS;
        return step(f, new Tick(now));
    }

    static <E> List<E> of(List<FenceEffect> out, Class<E> type) {
        return out.stream().filter(type::isInstance).map(type::cast).toList();
    }

    static List<String> reports(List<FenceEffect> out) {
        return out.stream().filter(e -> e instanceof Report).map(e -> ((Report) e).event().fields()).toList();
    }

    List<FenceEffect> done(Fencing f, long requestId, int node, String device, FenceAction action, AgentOutcome o) {
        return step(f, new AgentDone(now, requestId, node, device, action, o));
    }

    @Test
    void rebootIsOneCallAndItsSuccessFences() {
        var f = new Fencing(new FenceTopology(LEVELS, Map.of(), true), T);
        step(f, new CoordinatorChanged(now, true, 3));
        var out = step(f, new VerdictDown(now, 2, 11, "crash"));
        var r = of(out, RunAgent.class).getFirst();
        assertThat(r.action()).isEqualTo(FenceAction.REBOOT);
        var last = done(f, r.requestId(), 2, "ipmi-2", FenceAction.REBOOT, AgentOutcome.SUCCESS);
        assertThat(of(last, RunAgent.class)).isEmpty(); // no status after a reboot: it is on again by design
        assertThat(of(last, Fenced.class)).singleElement().extracting(Fenced::how)
                .isEqualTo("level 1: ipmi-2 rebooted (off confirmed by the agent)");
    }

    @Test
    void aFailedRebootFallsToThePoisonPillWhichFencesOnlyAfterItsWait() {
        var f = new Fencing(new FenceTopology(LEVELS, Map.of(), true), T);
        step(f, new CoordinatorChanged(now, true, 3));
        var r = of(step(f, new VerdictDown(now, 2, 11, "crash")), RunAgent.class).getFirst();
        var next = done(f, r.requestId(), 2, "ipmi-2", FenceAction.REBOOT, AgentOutcome.failed("connection timed out"));
        var pill = of(next, WritePill.class);
        assertThat(pill).singleElement().satisfies(p -> {
            assertThat(p.nodeId()).isEqualTo(2);
            assertThat(p.incarnation()).isEqualTo(11);
            assertThat(p.generation()).isEqualTo(3);
        });
        assertThat(of(next, RunAgent.class)).isEmpty();
        var written = done(f, pill.getFirst().requestId(), 2, FenceLevel.POISON_PILL, FenceAction.PILL, AgentOutcome.SUCCESS);
        assertThat(reports(written)).anyMatch(s -> s.startsWith("event=fence-pill-written node-id=2 incarnation=11 wait-ms=3000"));
        assertThat(of(written, Fenced.class)).isEmpty();
        assertThat(of(tick(f, 2_999), Fenced.class)).isEmpty();
        assertThat(of(tick(f, 1), Fenced.class)).singleElement().extracting(Fenced::how)
                .isEqualTo("level 2: poison-pill poison pill deadline passed");
    }

    @Test
    void aPillThatCannotBeWrittenFailsItsLevelAndRaisesTheAlarm() {
        var f = new Fencing(new FenceTopology(LEVELS), T);
        step(f, new CoordinatorChanged(now, true, 3));
        var pill = of(step(f, new VerdictDown(now, 3, 5, "crash")), WritePill.class).getFirst();
        var out = done(f, pill.requestId(), 3, FenceLevel.POISON_PILL, FenceAction.PILL, AgentOutcome.failed("shadow: EIO"));
        assertThat(reports(out)).anyMatch(s -> s.startsWith("event=fence-alarm node-id=3"));
        assertThat(f.state(3)).isInstanceOf(FenceState.RetryWait.class);
    }

    @Test
    void aNewIncarnationDuringThePillWaitCancelsIt() {
        var f = new Fencing(new FenceTopology(LEVELS), T);
        step(f, new CoordinatorChanged(now, true, 3));
        var pill = of(step(f, new VerdictDown(now, 3, 5, "crash")), WritePill.class).getFirst();
        done(f, pill.requestId(), 3, FenceLevel.POISON_PILL, FenceAction.PILL, AgentOutcome.SUCCESS);
        step(f, new VerdictBack(now, 3, 6));
        assertThat(of(tick(f, 10_000), Fenced.class)).isEmpty();
        assertThat(f.state(3)).isEqualTo(new FenceState.Idle());
    }

    @Test
    void theFenceDelayHoldsTheFirstRoundOnly() {
        var f = new Fencing(new FenceTopology(LEVELS, Map.of(2, 5_000 * MS), false), T);
        step(f, new CoordinatorChanged(now, true, 3));
        var out = step(f, new VerdictDown(now, 2, 11, "crash"));
        assertThat(reports(out)).singleElement().asString().isEqualTo("event=fence-delayed node-id=2 incarnation=11 delay-ms=5000");
        assertThat(f.state(2)).isEqualTo(new FenceState.Delayed(now + 5_000 * MS));
        assertThat(of(tick(f, 4_999), RunAgent.class)).isEmpty();
        var r = of(tick(f, 1), RunAgent.class);
        assertThat(r).singleElement().extracting(RunAgent::action).isEqualTo(FenceAction.OFF);
    }

    @Test
    void aNodeThatComesBackDuringItsDelayIsNotFenced() {
        var f = new Fencing(new FenceTopology(LEVELS, Map.of(2, 5_000 * MS), false), T);
        step(f, new CoordinatorChanged(now, true, 3));
        step(f, new VerdictDown(now, 2, 11, "crash"));
        step(f, new VerdictBack(now, 2, 12));
        assertThat(of(tick(f, 6_000), RunAgent.class)).isEmpty();
    }

    @Test
    void anOperatorFencesARunningNodeAtOnceWithoutTheDelay() {
        var f = new Fencing(new FenceTopology(LEVELS, Map.of(2, 5_000 * MS), false), T);
        step(f, new CoordinatorChanged(now, true, 3));
        step(f, new VerdictBack(now, 2, 11));
        var out = step(f, new OperatorFence(now, 2, 11, "requested by node-1"));
        assertThat(reports(out)).first().asString().isEqualTo("event=fence-requested node-id=2 incarnation=11 reason=\"requested by node-1\"");
        assertThat(of(out, RunAgent.class)).singleElement().extracting(RunAgent::device).isEqualTo("ipmi-2");
        // Membership declares it down once it is off: the same incarnation, nothing new starts.
        assertThat(of(step(f, new VerdictDown(now, 2, 11, "slot stale")), RunAgent.class)).isEmpty();
    }

    @Test
    void operatorFenceIsRefusedOffTheCoordinatorForAnOldIncarnationAndTwice() {
        var f = new Fencing(new FenceTopology(LEVELS), T);
        assertThat(reports(step(f, new OperatorFence(now, 2, 11, "x")))).singleElement().asString()
                .isEqualTo("event=fence-request-refused node-id=2 reason=\"this node is not the coordinator\"");
        step(f, new CoordinatorChanged(now, true, 3));
        step(f, new VerdictBack(now, 2, 12));
        assertThat(reports(step(f, new OperatorFence(now, 2, 11, "x")))).singleElement().asString().contains("incarnation 11 is over");
        step(f, new OperatorFence(now, 2, 12, "x"));
        assertThat(reports(step(f, new OperatorFence(now, 2, 12, "x")))).singleElement().asString().contains("already being fenced");
    }

    @Test
    void aPoisonPillSharesItsLevelWithNothing() {
        assertThatThrownBy(() -> FenceLevel.of("pdu-a", FenceLevel.POISON_PILL)).hasMessageContaining("level of its own");
        assertThat(FenceLevel.of(FenceLevel.POISON_PILL).isPoisonPill()).isTrue();
    }

    @Test
    void thePillWaitCoversTheReadRuleTheWatchdogAndTheStopBudget() {
        // Defaults: I = 200 ms, T = 800 ms: T + 3I = 1400 ms stretched by 1.01/0.99, plus the stop budget.
        assertThat(FenceTiming.pillWaitNanos(Timeouts.DEFAULTS, 0, 0)).isEqualTo(1428282829L);
        assertThat(FenceTiming.pillWaitNanos(Timeouts.DEFAULTS, 0, 5_000 * MS)).isEqualTo(6428282829L);
        // A watchdog longer than the read rule sets the wait.
        assertThat(FenceTiming.pillWaitNanos(Timeouts.DEFAULTS, 10_000 * MS, 0)).isEqualTo(10814141415L);
        // A slow SAN: I = 1 s, 4 missed: T + 3I = 7 s.
        assertThat(FenceTiming.pillWaitNanos(new Timeouts(1000, 4, 100, 8), 0, 0)).isEqualTo(7141414142L);
    }

    @Test
    void aNewCoordinatorBelievesTheFenceRecordedOnTheDisk() {
        var f = new Fencing(new FenceTopology(LEVELS), T);
        step(f, new CoordinatorChanged(now, true, 4));
        step(f, new FenceInput.Recorded(now, 2, 11, "level 1: ipmi-2 confirmed off"));
        var out = step(f, new VerdictDown(now, 2, 11, "slot stale"));
        assertThat(of(out, RunAgent.class)).isEmpty();
        assertThat(of(out, Fenced.class)).isEmpty(); // the earlier coordinator recorded it; nothing is recovered twice
        assertThat(reports(out)).singleElement().asString()
                .isEqualTo("event=fence-already-recorded node-id=2 incarnation=11 how=\"level 1: ipmi-2 confirmed off\"");
        assertThat(f.state(2)).isEqualTo(new FenceState.Fenced("level 1: ipmi-2 confirmed off"));
        // A record of an older incarnation does not cover a newer one.
        step(f, new VerdictBack(now, 2, 12));
        assertThat(of(step(f, new VerdictDown(now, 2, 13, "slot stale")), RunAgent.class)).hasSize(1);
    }

    @Test
    void aNodeThatCameBackAndFailsAgainIsFencedAgain() {
        var f = new Fencing(new FenceTopology(LEVELS), T);
        step(f, new CoordinatorChanged(now, true, 4));
        var first = of(step(f, new VerdictDown(now, 2, 11, "crash")), RunAgent.class).getFirst();
        var st = of(done(f, first.requestId(), 2, "ipmi-2", FenceAction.OFF, AgentOutcome.SUCCESS), RunAgent.class).getFirst();
        assertThat(of(done(f, st.requestId(), 2, "ipmi-2", FenceAction.STATUS, AgentOutcome.STATUS_OFF), Fenced.class)).hasSize(1);
        // Powered on again: membership hears incarnation 12 come back, then it fails too.
        step(f, new VerdictBack(now, 2, 12));
        assertThat(of(step(f, new VerdictDown(now, 2, 12, "hang")), RunAgent.class)).as("the new incarnation is fenced too")
                .singleElement().extracting(RunAgent::device).isEqualTo("ipmi-2");
        assertThat(of(step(f, new VerdictDown(now, 2, 12, "hang")), RunAgent.class)).as("the same verdict again").isEmpty();
    }
}
