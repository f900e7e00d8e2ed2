package baton.runtime.resource;

import static baton.runtime.resource.FakeAgents.GENEROUS;
import static baton.runtime.resource.FakeAgents.as;
import static org.assertj.core.api.Assertions.assertThat;

import baton.runtime.proc.ProcessCall;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The OCF driver with the real Dummy agent and with fake agents in an OCF root of their own. */
class OcfDriverTest {
    @TempDir
    Path dir;

    final OcfDriver driver = new OcfDriver();

    @Test
    void dummyStartsIsMonitoredAndStopsWithItsStateFileWhereTheParameterSays() throws Exception {
        FakeAgents.requireResourceAgents();
        Path state = dir.resolve("dummy-1.state");
        OcfResource dummy = new OcfResource("dummy-1", OcfAgent.parse("ocf:heartbeat:Dummy"), Map.of("state", state.toString()));

        as(ResourceResult.NotRunning.class, driver.run(dummy, OcfAction.MONITOR, GENEROUS));
        as(ResourceResult.Ok.class, driver.run(dummy, OcfAction.START, GENEROUS));
        assertThat(state).exists();
        as(ResourceResult.Ok.class, driver.run(dummy, OcfAction.MONITOR, GENEROUS));
        as(ResourceResult.Ok.class, driver.monitor(dummy, Duration.ofSeconds(10), GENEROUS));
        as(ResourceResult.Ok.class, driver.run(dummy, OcfAction.START, GENEROUS)); // started twice: still fine
        as(ResourceResult.Ok.class, driver.run(dummy, OcfAction.STOP, GENEROUS));
        assertThat(state).doesNotExist();
        as(ResourceResult.NotRunning.class, driver.run(dummy, OcfAction.MONITOR, GENEROUS));
        as(ResourceResult.Ok.class, driver.run(dummy, OcfAction.STOP, GENEROUS)); // stopped twice: still fine
    }

    @Test
    void dummyThatCannotWriteItsStateFailsWithTheAgentsOwnReason() throws Exception {
        FakeAgents.requireResourceAgents();
        OcfResource dummy = new OcfResource("dummy-2", OcfAgent.parse("ocf:heartbeat:Dummy"),
                Map.of("state", dir.resolve("no-such-folder/x.state").toString()));

        ResourceResult.Failed failed = as(ResourceResult.Failed.class, driver.run(dummy, OcfAction.START, GENEROUS));

        assertThat(failed.error()).isEqualTo(OcfError.GENERIC);
        assertThat(failed.reason()).contains("No such file or directory");
    }

    @Test
    void theAgentGetsPacemakersEnvironmentAndTheActionAsItsOnlyArgument() throws Exception {
        OcfAgent agent = FakeAgents.fakeAgent(dir, "Recorder", """
                echo "$# $1" > DIR/args
                env | sort > DIR/env
                """);
        OcfResource resource = new OcfResource("rec-1", agent, Map.of("ip", "198.18.0.7", "label", "a b $HOME"));

        as(ResourceResult.Ok.class, new OcfDriver(dir, List.of(), 4096).run(resource, OcfAction.VALIDATE_ALL,
                Duration.ofSeconds(30)));

        assertThat(Files.readString(dir.resolve("args"))).isEqualTo("1 validate-all\n");
        assertThat(Files.readAllLines(dir.resolve("env"))).contains(
                "OCF_ROOT=" + dir, "OCF_FUNCTIONS_DIR=" + dir.resolve("lib/heartbeat"),
                "OCF_RESOURCE_INSTANCE=rec-1", "OCF_RESOURCE_TYPE=Recorder", "OCF_RESOURCE_PROVIDER=fake",
                "OCF_RESKEY_ip=198.18.0.7", "OCF_RESKEY_label=a b $HOME",
                "OCF_RESKEY_CRM_meta_timeout=30000", "OCF_RESKEY_CRM_meta_interval=0",
                "OCF_TRACE_RA=0", "HA_LOGFACILITY=none", "LC_ALL=C", "PATH=" + OcfDriver.PATH)
                .noneMatch(line -> line.startsWith("JAVA_HOME=") || line.startsWith("HOME="));
    }

    @Test
    void everyOcfExitCodeMapsToItsResultWithTheLastExitReasonOrStderrLineAsReason() throws Exception {
        OcfAgent agent = FakeAgents.fakeAgent(dir, "Exit", """
                echo "Nov 23 04:30:48 INFO: trying" >&2
                [ -n "$OCF_RESKEY_reason" ] && echo "ocf-exit-reason:$OCF_RESKEY_reason" >&2
                echo "Nov 23 04:30:48 ERROR: last line" >&2
                exit $OCF_RESKEY_code
                """);
        OcfDriver fakes = new OcfDriver(dir, List.of(), 4096);
        record Case(int code, Class<? extends ResourceResult> type, OcfError error) {}
        List<Case> cases = List.of(new Case(0, ResourceResult.Ok.class, null),
                new Case(1, ResourceResult.Failed.class, OcfError.GENERIC),
                new Case(2, ResourceResult.Failed.class, OcfError.INVALID_ARGUMENT),
                new Case(3, ResourceResult.Failed.class, OcfError.UNIMPLEMENTED),
                new Case(4, ResourceResult.Failed.class, OcfError.INSUFFICIENT_PRIVILEGES),
                new Case(5, ResourceResult.Failed.class, OcfError.NOT_INSTALLED),
                new Case(6, ResourceResult.Failed.class, OcfError.NOT_CONFIGURED),
                new Case(7, ResourceResult.NotRunning.class, null),
                new Case(8, ResourceResult.Promoted.class, null),
                new Case(9, ResourceResult.Failed.class, OcfError.FAILED_PROMOTED),
                new Case(42, ResourceResult.Failed.class, OcfError.OTHER));
        for (Case c : cases) {
            ResourceResult result = fakes.run(new OcfResource("x", agent, Map.of("code", Integer.toString(c.code()))),
                    OcfAction.MONITOR, GENEROUS);
            assertThat(result).as("exit " + c.code() + ": " + result.summary()).isInstanceOf(c.type());
            if (result instanceof ResourceResult.Failed failed) {
                assertThat(failed.error()).isEqualTo(c.error());
                assertThat(failed.exitCode()).isEqualTo(c.code());
                assertThat(failed.reason()).isEqualTo("ERROR: last line");
            }
        }
        ResourceResult.Failed withReason = as(ResourceResult.Failed.class, fakes.run(
                new OcfResource("x", agent, Map.of("code", "6", "reason", "the ip parameter is mandatory")),
                OcfAction.START, GENEROUS));
        assertThat(withReason.summary()).isEqualTo("failed (exit 6, NOT_CONFIGURED): the ip parameter is mandatory");
        assertThat(withReason.error().reach()).isEqualTo(OcfError.Reach.FATAL);
        assertThat(OcfError.NOT_INSTALLED.reach()).isEqualTo(OcfError.Reach.HARD);
    }

    @Test
    void aHungAgentIsKilledAtTheDeadlineWithEveryProcessItStarted() throws Exception {
        OcfAgent agent = FakeAgents.fakeAgent(dir, "Hang", """
                sleep 300 & echo $! > DIR/child.pid
                ( sleep 300 & echo $! > DIR/orphan.pid ) ; true
                setsid sleep 300 & echo $! > DIR/escaped.pid
                echo $$ > DIR/agent.pid
                echo "Nov 23 04:30:48 INFO: waiting for a mount that never comes" >&2
                sleep 300
                """);
        Duration deadline = Duration.ofSeconds(3);

        long started = System.nanoTime();
        ResourceResult result = new OcfDriver(dir, List.of(), 4096).run(new OcfResource("hang-1", agent, Map.of()),
                OcfAction.START, deadline);
        Duration took = Duration.ofNanos(System.nanoTime() - started);

        ResourceResult.TimedOut timedOut = as(ResourceResult.TimedOut.class, result);
        assertThat(timedOut.after()).isGreaterThanOrEqualTo(deadline);
        assertThat(took).isLessThan(deadline.plus(ProcessCall.KILL_CONFIRM_LIMIT).plus(ProcessCall.OUTPUT_DRAIN_LIMIT));
        assertThat(timedOut.survivingPids()).isEmpty();
        assertThat(timedOut.summary()).startsWith("timed out after ")
                .endsWith("and killed; last words: INFO: waiting for a mount that never comes");
        for (String process : List.of("agent", "child", "orphan", "escaped")) {
            long pid = FakeAgents.pid(dir.resolve(process + ".pid"));
            assertThat(FakeAgents.alive(pid)).as(process + " " + pid + " is gone").isFalse();
        }
    }

    @Test
    void whatAStartLeavesRunningIsKeptAndWhatAMonitorLeavesIsKilled() throws Exception {
        // Like ocf:heartbeat:anything, which starts its daemon with nohup ... &.
        OcfAgent agent = FakeAgents.fakeAgent(dir, "Daemon", """
                sleep 300 >/dev/null 2>&1 & echo $! > DIR/$1.pid
                exit 0
                """);
        OcfDriver fakes = new OcfDriver(dir, List.of(), 4096);
        OcfResource daemon = new OcfResource("d", agent, Map.of());
        try {
            as(ResourceResult.Ok.class, fakes.run(daemon, OcfAction.START, GENEROUS));
            as(ResourceResult.Ok.class, fakes.run(daemon, OcfAction.MONITOR, GENEROUS));

            assertThat(FakeAgents.alive(FakeAgents.pid(dir.resolve("start.pid")))).isTrue();
            assertThat(FakeAgents.alive(FakeAgents.pid(dir.resolve("monitor.pid")))).isFalse();
        } finally {
            ProcessHandle.of(FakeAgents.pid(dir.resolve("start.pid"))).ifPresent(ProcessHandle::destroyForcibly);
        }
    }

    @Test
    void aMissingAgentCouldNotStartWithTheFix() throws Exception {
        ResourceResult.CouldNotStart result = as(ResourceResult.CouldNotStart.class, new OcfDriver(dir, List.of(), 4096)
                .run(new OcfResource("gone", OcfAgent.parse("ocf:heartbeat:NoSuchAgent"), Map.of()), OcfAction.START, GENEROUS));

        assertThat(result.reason()).isEqualTo("OCF resource agent " + dir.resolve("resource.d/heartbeat/NoSuchAgent")
                + " does not exist; fix: install the package that provides ocf:heartbeat:NoSuchAgent"
                + " (Debian: apt-get install resource-agents) or correct the agent's path");
    }

    @Test
    void agentNamesAndParametersThatCouldEscapeAreRefused() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> OcfAgent.parse("ocf:heartbeat:../../../bin/sh"))
                .isInstanceOf(IllegalArgumentException.class);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> OcfAgent.parse("lsb:nginx"))
                .hasMessageContaining("expected ocf:PROVIDER:TYPE");
        OcfAgent dummy = OcfAgent.parse("ocf:heartbeat:Dummy");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new OcfResource("r", dummy, Map.of("CRM_meta_timeout", "1")))
                .isInstanceOf(IllegalArgumentException.class);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new OcfResource("r", dummy, Map.of("a=b", "1")))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
