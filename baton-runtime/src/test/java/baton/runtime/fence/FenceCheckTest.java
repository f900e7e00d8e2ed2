package baton.runtime.fence;

import static org.assertj.core.api.Assertions.assertThat;

import baton.runtime.config.ClusterConfig;
import baton.runtime.config.ConfigLoader;
import baton.runtime.config.Problem;
import baton.runtime.fence.FenceCheck.AgentCheck;
import baton.runtime.fence.FenceCheck.DeviceCheck;
import baton.runtime.fence.FenceCheck.Mode;
import baton.runtime.fence.FenceCheck.Report;
import baton.runtime.fence.FenceCheck.ValidateAll;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The check of configured fence devices against the real agents' metadata (fence-agents 4.12:
 * fence_ipmilan, fence_apc_snmp, fence_dummy) and their validate-all, with configurations
 * loaded by the real loader from files in a temporary folder. Expected lines are the lines of
 * the keys in the file written, found by the test itself.
 */
class FenceCheckTest {
    @TempDir
    Path dir;

    Path file;
    final FenceCheck check = new FenceCheck(new FenceAgent(), Agents.GENEROUS);

    @BeforeEach
    void setUp() throws IOException {
        Agents.installed("fence_ipmilan");
        Agents.installed("fence_apc_snmp");
        Agents.installed("fence_dummy");
        file = dir.resolve("cluster.yaml");
        Agents.secretFile(dir, "bmc-1.password", "bmc-secret-17\n", "rw-------");
        Agents.secretFile(dir, "pdu.community", "private\n", "rw-------");
    }

    /** A cluster of one node whose fenceDevices are {@code devices} (indented by 2). */
    ClusterConfig load(String devices) throws Exception {
        Files.writeString(file, """
                cluster:
                  name: demo
                  keyFile: cluster.key
                nodes:
                  - id: 1
                    name: node-1
                    addresses: [198.18.0.1]
                quorumDisk:
                  primary: quorum.img
                fenceDevices:
                """ + devices.replace("DIR", dir.toString()));
        return ConfigLoader.load(file);
    }

    /** The 1-based line of the first line of the file containing {@code text}. */
    int line(String text) throws IOException {
        List<String> lines = Files.readAllLines(file);
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).contains(text)) {
                return i + 1;
            }
        }
        throw new AssertionError("no line of " + file + " contains " + text);
    }

    static final String BMC = """
              bmc-1:
                agent: fence_ipmilan
                parameters:
                  ip: 198.18.0.101
                  username: admin
                  lanplus: 1
                secretFiles:
                  password: bmc-1.password
            """;

    static final String PDU = """
              pdu-a-7:
                agent: fence_apc_snmp
                parameters: {ip: 198.18.0.201, plug: 7}
                secretFiles: {community: pdu.community}
            """;

    static final String DUMMY = """
              dummy:
                agent: fence_dummy
                parameters:
                  type: file
                  status_file: DIR/dummy.status
            """;

    @Test
    void aValidConfigurationHasNoProblemsAndPassesValidateAll() throws Exception {
        ClusterConfig config = load(BMC + PDU + DUMMY);

        Report report = check.check(config, Mode.WITH_VALIDATE_ALL);

        assertThat(report.problems()).isEmpty();
        assertThat(report.ok()).isTrue();
        assertThat(report.agents()).hasSize(3);
        assertThat(report.agents().values()).allSatisfy(a -> assertThat(a).isInstanceOf(AgentCheck.Readable.class));
        assertThat(((AgentCheck.Readable) report.agents().get(FenceDevice.agentPath("fence_ipmilan"))).metadata().agentName())
                .isEqualTo("fence_ipmilan");
        assertThat(report.devices().values()).extracting(DeviceCheck::validateAll)
                .containsOnly(ValidateAll.PASSED);
        assertThat(report.render()).containsExactly(
                file + ": fence check: 3 devices of 3 agents, metadata and validate-all: no problems");
    }

    @Test
    void anUnknownParameterIsNamedWithTheClosestKnownName() throws Exception {
        ClusterConfig config = load(BMC.replace("ip: 198.18.0.101", "ipaddrr: 198.18.0.101") + DUMMY);

        Report report = check.check(config, Mode.WITH_VALIDATE_ALL);

        Problem problem = new Problem(file, line("ipaddrr:"), "fenceDevices.bmc-1.parameters.ipaddrr",
                "fence_ipmilan has no such parameter", "did you mean 'ipaddr'?");
        assertThat(report.problems()).containsExactly(problem);
        assertThat(report.ok()).isFalse();
        assertThat(report.devices().get("bmc-1").validateAll()).isEqualTo(ValidateAll.SKIPPED);
        assertThat(report.devices().get("dummy").validateAll()).isEqualTo(ValidateAll.PASSED);
        assertThat(report.render()).containsExactly(
                file + ":" + line("ipaddrr:") + ": fenceDevices.bmc-1.parameters.ipaddrr: fence_ipmilan has no such"
                        + " parameter; fix: did you mean 'ipaddr'?",
                file + ": fence check: 2 devices of 2 agents, metadata and validate-all: 1 problem in 1 device");
    }

    @Test
    void aMissingRequiredParameterIsReportedAtItsSection() throws Exception {
        ClusterConfig config = load(PDU.replace("{ip: 198.18.0.201, plug: 7}", "{ip: 198.18.0.201}"));

        Report report = check.check(config, Mode.METADATA);

        assertThat(report.problems()).containsExactly(new Problem(file, line("parameters: {ip: 198.18.0.201}"),
                "fenceDevices.pdu-a-7.parameters.plug",
                "parameter 'plug' is required by fence_apc_snmp and missing (also accepted as 'port')",
                "add plug=VALUE to the device's parameters"));
        assertThat(report.devices().get("pdu-a-7").validateAll()).isEqualTo(ValidateAll.NOT_ASKED);
    }

    @Test
    void aValueTheAgentWouldIgnoreIsReported() throws Exception {
        ClusterConfig config = load(BMC.replace("lanplus: 1", "lanplus: maybe"));

        Report report = check.check(config, Mode.METADATA);

        assertThat(report.problems()).containsExactly(new Problem(file, line("lanplus: maybe"),
                "fenceDevices.bmc-1.parameters.lanplus",
                "parameter 'lanplus' is a boolean, and fence_ipmilan ignores the value 'maybe'",
                "write 1 or 0 (or yes/no, on/off, true/false)"));
    }

    @Test
    void anExecutableThatIsNotAFenceAgentIsReportedForEveryDeviceUsingIt() throws Exception {
        Path garbage = Agents.script(dir, "fence_garbage", "cat >/dev/null; echo 'hello, I am no agent'\n");
        ClusterConfig config = load("""
                  other-1:
                    agent: GARBAGE
                  other-2:
                    agent: GARBAGE
                """.replace("GARBAGE", garbage.toString()) + DUMMY);

        Report report = check.check(config, Mode.WITH_VALIDATE_ALL);

        assertThat(report.agents().get(garbage)).isInstanceOf(AgentCheck.Unreadable.class);
        assertThat(report.problems()).hasSize(2);
        Problem first = report.problems().getFirst();
        assertThat(first.line()).isEqualTo(line("agent: " + garbage));
        assertThat(first.key()).isEqualTo("fenceDevices.other-1.agent");
        assertThat(first.problem()).startsWith("cannot read the metadata of " + garbage
                + ": metadata is not well-formed XML").endsWith("; the device's parameters are unchecked");
        assertThat(first.fix()).contains("'" + garbage + " -o metadata' must print its XML description and exit 0");
        assertThat(report.problems().get(1).key()).isEqualTo("fenceDevices.other-2.agent");
        assertThat(report.devices().get("other-1").validateAll()).isEqualTo(ValidateAll.SKIPPED);
        assertThat(report.devices().get("dummy").problems()).isEmpty();
    }

    @Test
    void anAgentThatHangsIsKilledAtTheDeadlineAndReported() throws Exception {
        Path hanging = Agents.script(dir, "fence_hang", "cat >/dev/null; sleep 120\n");
        ClusterConfig config = load("  stuck:\n    agent: " + hanging + "\n");
        FenceCheck quick = new FenceCheck(new FenceAgent(), Duration.ofSeconds(1));

        long started = System.nanoTime();
        Report report = quick.check(config, Mode.WITH_VALIDATE_ALL);

        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(quick.timeLimit(config, Mode.WITH_VALIDATE_ALL));
        assertThat(report.problems()).singleElement().satisfies(p -> {
            assertThat(p.key()).isEqualTo("fenceDevices.stuck.agent");
            assertThat(p.problem()).startsWith("cannot read the metadata of " + hanging + ": timed out after");
        });
    }

    @Test
    void anInterruptedCheckKillsTheAgentsItStarted() throws Exception {
        Path hanging = Agents.script(dir, "fence_hang", "cat >/dev/null; sleep 3131\n");
        ClusterConfig config = load("  stuck:\n    agent: " + hanging + "\n");
        FenceCheck patient = new FenceCheck(new FenceAgent(), Duration.ofMinutes(5));
        AtomicReference<String> outcome = new AtomicReference<>("running");

        Thread caller = Thread.ofVirtual().start(() -> {
            try {
                patient.check(config, Mode.METADATA);
                outcome.set("returned");
            } catch (InterruptedException e) {
                outcome.set("interrupted");
            }
        });
        Agents.await("the agent to start", () -> !running(hanging).isEmpty());
        caller.interrupt();
        caller.join(Agents.WAIT);

        assertThat(outcome.get()).isEqualTo("interrupted");
        assertThat(running(hanging)).isEmpty();
    }

    static List<Long> running(Path agent) {
        try {
            return Agents.runningWithCommandLine(agent.toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void validateAllCatchesWhatTheMetadataGetsWrong() throws Exception {
        // fence_ipmilan's metadata calls ip optional; the agent fails without it.
        ClusterConfig config = load(BMC.replace("      ip: 198.18.0.101\n", ""));

        assertThat(check.check(config, Mode.METADATA).ok()).isTrue();
        Report report = check.check(config, Mode.WITH_VALIDATE_ALL);

        assertThat(report.devices().get("bmc-1").validateAll()).isEqualTo(ValidateAll.FAILED);
        assertThat(report.problems()).containsExactly(new Problem(file, line("bmc-1:"), "fenceDevices.bmc-1",
                "fence_ipmilan refused the device's options in validate-all (exit 1): ERROR: Failed: You have to enter"
                        + " fence address",
                "correct the device's parameters as the agent says"));
    }

    @Test
    void eachAgentIsAskedForItsMetadataOnce() throws Exception {
        Path calls = dir.resolve("calls");
        // Logs each call's action line, then hands the same stdin to the real fence_dummy.
        Path counting = Agents.script(dir, "fence_counting",
                "input=$(cat); printf '%s\\n' \"$input\" | grep '^action=' >> DIR/calls;"
                        + " printf '%s\\n' \"$input\" | exec /usr/sbin/fence_dummy\n");
        StringBuilder devices = new StringBuilder();
        for (int i = 1; i <= 5; i++) {
            devices.append("  dummy-").append(i).append(":\n    agent: ").append(counting).append('\n');
        }
        ClusterConfig config = load(devices.toString());

        Report report = check.check(config, Mode.WITH_VALIDATE_ALL);

        assertThat(report.ok()).as(String.join("\n", report.render())).isTrue();
        List<String> actions = Files.readAllLines(calls);
        assertThat(actions.stream().filter(a -> a.equals("action=metadata"))).hasSize(1);
        assertThat(actions.stream().filter(a -> a.equals("action=validate-all"))).hasSize(5);
    }

    @Test
    void keyLinesFollowBlockAndFlowMappings() {
        FenceCheck.KeyLines lines = FenceCheck.KeyLines.of("""
                cluster: {name: demo}
                fenceDevices:
                  bmc-1:
                    agent: fence_ipmilan
                    parameters:
                      ip: 1.2.3.4
                  pdu:
                    parameters: {ip: 1.2.3.5, plug: 7}
                """);

        assertThat(lines.lineOf(List.of("fenceDevices", "bmc-1", "parameters", "ip"))).isEqualTo(6);
        assertThat(lines.lineOf(List.of("fenceDevices", "bmc-1", "parameters", "username"))).isEqualTo(5);
        assertThat(lines.lineOf(List.of("fenceDevices", "bmc-1", "secretFiles", "password"))).isEqualTo(3);
        assertThat(lines.lineOf(List.of("fenceDevices", "pdu", "parameters", "plug"))).isEqualTo(8);
        assertThat(lines.lineOf(List.of("fenceDevices", "gone"))).isEqualTo(2);
        assertThat(lines.lineOf(List.of("nodes"))).isZero();
        assertThat(FenceCheck.KeyLines.of("fenceDevices: [unclosed").lineOf(List.of("fenceDevices", "x"))).isEqualTo(1);
    }
}
