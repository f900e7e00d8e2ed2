package baton.runtime.fence;

import static org.assertj.core.api.Assertions.assertThat;

import baton.core.fence.AgentOutcome;
import baton.core.fence.FenceLevel;
import baton.core.fence.FenceTopology;
import baton.core.fence.FenceWatch;
import baton.core.fence.FenceWatch.DeviceState;
import baton.core.fence.FenceWatch.PathState;
import baton.core.fence.FenceWatchEffect;
import baton.core.fence.FenceWatchEffect.RunMonitor;
import baton.core.fence.FenceWatchInput;
import baton.core.fence.FenceWatchInput.MonitorDone;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The monitor runner with the real fence_dummy of fence-agents. Its {@code monitor} (fencing.py)
 * reads the plug's power state and exits 0 whether it is on or off (no status file reads as off),
 * and exits 1 when the state is neither: a status file holding "junk" is a switch that answers
 * nonsense.
 */
class FenceMonitorRunnerTest {
    static final long S = 1_000_000_000L;

    @TempDir
    Path dir;

    final LinkedBlockingQueue<MonitorDone> reports = new LinkedBlockingQueue<>();

    FenceDevice dummy(String name, Map<String, String> parameters) {
        return new FenceDevice(name, Agents.installed("fence_dummy"), parameters, Map.of());
    }

    FenceDevice answering() {
        return dummy("pdu-ok", Map.of("type", "file", "status_file", dir.resolve("power").toString()));
    }

    FenceDevice nonsense() throws Exception {
        Path junk = dir.resolve("junk");
        Files.writeString(junk, "junk");
        return dummy("pdu-junk", Map.of("type", "file", "status_file", junk.toString()));
    }

    FenceMonitorRunner runner(FenceDevice... devices) {
        var byName = new java.util.HashMap<String, FenceDevice>();
        for (FenceDevice d : devices) {
            byName.put(d.name(), d);
        }
        return new FenceMonitorRunner(new FenceAgent(), byName, reports::add);
    }

    MonitorDone runOnce(FenceMonitorRunner runner, String device, long deadlineNanos) throws Exception {
        long now = System.nanoTime();
        Thread t = runner.run(new RunMonitor(7, device, now + deadlineNanos), now);
        assertThat(t.isVirtual()).isTrue();
        MonitorDone done = reports.poll(Agents.WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(done).as("no report from the runner").isNotNull();
        assertThat(done.requestId()).isEqualTo(7);
        assertThat(done.device()).isEqualTo(device);
        assertThat(done.nowNanos() - now).isNotNegative();
        return done;
    }

    @Test
    void aSwitchThatAnswersIsASuccessAndOneThatAnswersNonsenseIsAFailureWithTheAgentsWords() throws Exception {
        var runner = runner(answering(), nonsense());

        assertThat(runOnce(runner, "pdu-ok", 60 * S).outcome()).isEqualTo(AgentOutcome.SUCCESS);

        // Power on: monitor still exits 0 (fencing.py does not tell on from off in a monitor).
        Files.writeString(dir.resolve("power"), "on");
        assertThat(runOnce(runner, "pdu-ok", 60 * S).outcome()).isEqualTo(AgentOutcome.SUCCESS);

        assertThat(runOnce(runner, "pdu-junk", 60 * S).outcome()).isEqualTo(
                AgentOutcome.failed("ERROR: Failed: Unable to obtain correct plug status or plug is not available"));
    }

    @Test
    void aSwitchThatAnswersButCannotSwitchPassesItsMonitor() throws Exception {
        // What monitor does not prove: type=fail never changes the power, yet its monitor exits 0.
        var runner = runner(dummy("stuck", Map.of("type", "fail")));
        assertThat(runOnce(runner, "stuck", 60 * S).outcome()).isEqualTo(AgentOutcome.SUCCESS);
    }

    @Test
    void aHungAgentIsKilledAtTheRemainingDeadlineAndReportedAsTimedOut() throws Exception {
        Path hang = Agents.script(dir, "fence_hang", "exec sleep 120\n");
        var runner = runner(new FenceDevice("hung", hang, Map.of(), Map.of()));
        long before = System.nanoTime();
        assertThat(runOnce(runner, "hung", 1 * S).outcome()).isEqualTo(AgentOutcome.TIMED_OUT);
        assertThat(System.nanoTime() - before).as("killed at the deadline, not after the agent's 120 s")
                .isLessThan(30 * S);
    }

    @Test
    void anUnknownDeviceOrAPassedDeadlineIsReportedWithoutRunningAnything() throws Exception {
        var runner = runner(answering());
        assertThat(runOnce(runner, "pdu-gone", 60 * S).outcome())
                .isEqualTo(AgentOutcome.failed("no fence device named 'pdu-gone' in the configuration"));
        assertThat(runOnce(runner, "pdu-ok", -1).outcome())
                .isEqualTo(AgentOutcome.failed("the deadline had passed before the monitor could start"));
        assertThat(Files.exists(dir.resolve("power"))).isFalse();
    }

    @Test
    void theCoreAndTheRunnerTogetherJudgeRealSwitches() throws Exception {
        // Node 1 is this node; node 2 has pdu-junk, then pdu-ok; node 3 only pdu-junk.
        var topology = new FenceTopology(Map.of(
                1, List.of(FenceLevel.of("pdu-self")),
                2, List.of(FenceLevel.of("pdu-junk"), FenceLevel.of("pdu-ok")),
                3, List.of(FenceLevel.of("pdu-junk"))));
        var watch = new FenceWatch(topology, 1, new FenceWatch.Timing(10 * S, 9 * S, S));
        var runner = runner(answering(), nonsense());
        List<String> events = new ArrayList<>();
        int answered = 0;
        long until = System.nanoTime() + Agents.WAIT.toNanos();
        List<FenceWatchEffect> effects = watch.step(new FenceWatchInput.Tick(System.nanoTime()));
        while (answered < 2) {
            assertThat(System.nanoTime() - until).as("both devices answered").isNegative();
            for (FenceWatchEffect e : effects) {
                switch (e) {
                    case RunMonitor r -> runner.run(r, System.nanoTime());
                    case FenceWatchEffect.Report rep -> events.add(rep.event().fields());
                }
            }
            MonitorDone done = reports.poll(100, TimeUnit.MILLISECONDS);
            if (done != null) {
                answered++;
                effects = watch.step(done);
            } else {
                effects = watch.step(new FenceWatchInput.Tick(System.nanoTime()));
            }
        }
        for (FenceWatchEffect e : effects) {
            if (e instanceof FenceWatchEffect.Report rep) {
                events.add(rep.event().fields());
            }
        }
        var view = watch.view();
        assertThat(view.devices()).extracting(FenceWatch.DeviceView::device).containsExactly("pdu-junk", "pdu-ok");
        assertThat(view.devices()).extracting(FenceWatch.DeviceView::state).containsExactly(DeviceState.FAILED, DeviceState.OK);
        assertThat(view.nodes()).extracting(FenceWatch.NodeView::path).containsExactly(PathState.PATH_OK, PathState.NO_PATH);
        assertThat(events).contains("event=fence-no-path node-id=3 alarm=\"fencing node 3 would fail: level 1 (pdu-junk): pdu-junk"
                + " monitor failed: ERROR: Failed: Unable to obtain correct plug status or plug is not available\"");
    }
}
