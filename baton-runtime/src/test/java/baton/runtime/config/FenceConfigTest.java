package baton.runtime.config;

import static baton.runtime.config.ConfigProblemsTest.assertProblem;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import baton.core.fence.FenceLevel;
import baton.core.fence.FenceTopology;
import baton.core.timing.Timeouts;
import baton.runtime.fence.FenceDevice;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fence devices and each node's fencing levels in the configuration: a valid topology of two
 * levels, and every kind of problem with its file, line, key and fix. Agents and secret files
 * are real files in a temporary folder, since the loader checks them (without running an agent).
 */
class FenceConfigTest {
    static final Path FILE = ConfigProblemsTest.FILE;

    @TempDir
    Path folder;
    Path agent;
    Path secret;

    @BeforeEach
    void files() throws IOException {
        agent = folder.resolve("fence_test");
        Files.writeString(agent, "#!/bin/sh\nexit 1\n");
        Files.setPosixFilePermissions(agent, PosixFilePermissions.fromString("rwxr-xr-x"));
        secret = folder.resolve("bmc-1.password");
        Files.writeString(secret, "secret\n");
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
    }

    /** Line numbers of this text are used throughout; keep it unchanged. */
    String valid() {
        return """
                cluster:
                  name: demo
                  keyFile: cluster.key
                nodes:
                  - id: 1
                    name: node-1
                    addresses: [198.18.0.1]
                    fence:
                      - [bmc-1]
                      - [pdu-a-7, pdu-b-7]
                  - id: 2
                    name: node-2
                    addresses: [198.18.0.2]
                quorumDisk:
                  primary: quorum.img
                fenceDevices:
                  bmc-1:
                    agent: AGENT
                    parameters:
                      ip: 198.18.0.101
                      username: admin
                      lanplus: 1
                      cipher: "3"
                      verbose: true
                    secretFiles:
                      password: SECRET
                  pdu-a-7:
                    agent: AGENT
                    parameters: {ip: 198.18.0.201, plug: 7}
                  pdu-b-7:
                    agent: AGENT
                    parameters: {ip: 198.18.0.202, plug: 7}
                  spare:
                    agent: AGENT
                """.replace("AGENT", agent.toString()).replace("SECRET", secret.toString());
    }

    /** The valid text with one line replaced (1-based). */
    String validWithLine(int line, String text) {
        List<String> lines = new ArrayList<>(valid().lines().toList());
        lines.set(line - 1, text);
        return String.join("\n", lines) + "\n";
    }

    /** The valid text with node-1's three fence lines (8 to 10) replaced by one line. */
    String validWithFence(String line) {
        return valid().replace("    fence:\n      - [bmc-1]\n      - [pdu-a-7, pdu-b-7]\n", line + "\n");
    }

    Problem onlyProblemIn(String yaml) {
        return ConfigProblemsTest.onlyProblemIn(yaml);
    }

    @Test
    void twoLevelsOfDevicesLoad() throws Exception {
        ClusterConfig config = ConfigLoader.parse(FILE, valid());

        assertThat(config.fenceTopology().levels(1))
                .containsExactly(FenceLevel.of("bmc-1"), FenceLevel.of("pdu-a-7", "pdu-b-7"));
        assertThat(config.fenceTopology().levels(2)).isEmpty();
        assertThat(config.fenceDevices()).containsOnlyKeys("bmc-1", "pdu-a-7", "pdu-b-7", "spare");
        FenceDevice bmc = config.fenceDevices().get("bmc-1");
        assertThat(bmc.name()).isEqualTo("bmc-1");
        assertThat(bmc.agent()).isEqualTo(agent);
        // Numbers and booleans written as YAML scalars are sent as their text.
        assertThat(bmc.parameters()).isEqualTo(Map.of("ip", "198.18.0.101", "username", "admin", "lanplus", "1",
                "cipher", "3", "verbose", "true"));
        assertThat(bmc.secretFiles()).isEqualTo(Map.of("password", secret));
        assertThat(config.fenceDevices().get("pdu-b-7").parameters()).containsEntry("plug", "7");
    }

    @Test
    void aClusterWithoutFencingStaysValid() throws Exception {
        ClusterConfig config = ConfigLoader.parse(FILE, ConfigProblemsTest.VALID);

        assertThat(config.fenceDevices()).isEmpty();
        assertThat(config.fenceTopology().levelsByNode()).isEmpty();
    }

    @Test
    void anAgentNameMeansTheFenceAgentsFolder() throws Exception {
        // The agents are not installed everywhere the unit tests run: only the path is checked.
        Problem p = onlyProblemIn(validWithLine(34, "    agent: fence_nosuchagent"));

        assertProblem(p, 34, "fenceDevices.spare.agent", "the agent /usr/sbin/fence_nosuchagent does not exist",
                "apt-get install fence-agents");
    }

    @Test
    void anAgentMustExistAndBeExecutable() throws Exception {
        assertProblem(onlyProblemIn(validWithLine(34, "    agent: " + folder.resolve("fence_missing"))), 34,
                "fenceDevices.spare.agent", "does not exist", "apt-get install fence-agents");

        Files.setPosixFilePermissions(agent, PosixFilePermissions.fromString("rw-r--r--"));
        List<Problem> problems = ConfigProblemsTest.problemsIn(valid());
        assertThat(problems).hasSize(4); // every device uses the agent
        assertProblem(problems.getFirst(), 18, "fenceDevices.bmc-1.agent", "is not an executable file",
                "chmod 755 " + agent);
        assertThat(problems.getFirst().fix()).contains("apt-get install fence-agents");
    }

    @Test
    void anAgentIsANameOrAnAbsolutePath() {
        assertProblem(onlyProblemIn(validWithLine(34, "    agent: bin/fence_x")), 34, "fenceDevices.spare.agent",
                "'bin/fence_x' is neither the name of a fence agent", "agent: fence_ipmilan");
    }

    @Test
    void aDeviceNeedsAnAgent() {
        assertProblem(onlyProblemIn(validWithLine(34, "    parameters: {ip: 198.18.0.9}")), 33,
                "fenceDevices.spare.agent", "required key is missing", "agent: fence_ipmilan");
    }

    @Test
    void unknownKeysAreReportedWithTheClosestKnownOne() {
        assertProblem(onlyProblemIn(validWithLine(25, "    secretFile:")), 25, "fenceDevices.bmc-1.secretFile",
                "unknown key 'secretFile'", "did you mean 'secretFiles'?");
        // The levels then name devices that are not defined: reported too, after the typo.
        List<Problem> typo = ConfigProblemsTest.problemsIn(valid().replace("fenceDevices:", "fenceDevice:"));
        assertThat(typo).extracting(Problem::key).containsExactly("nodes[0].fence[0][0]", "nodes[0].fence[1][0]",
                "nodes[0].fence[1][1]", "fenceDevice");
        assertProblem(typo.getLast(), 16, "fenceDevice", "unknown key 'fenceDevice'", "did you mean 'fenceDevices'?");
        assertProblem(onlyProblemIn(validWithLine(8, "    fnce:")), 8, "nodes[0].fnce", "unknown key 'fnce'",
                "did you mean 'fence'?");
    }

    @Test
    void deviceNamesFollowTheFenceLevelRules() {
        List<Problem> problems = ConfigProblemsTest.problemsIn(valid().replace("pdu-b-7", "pdu b7"));

        assertThat(problems).hasSize(2);
        assertProblem(problems.get(0), 10, "nodes[0].fence[1][1]", "device name 'pdu b7' may contain only printable"
                + " ASCII characters, no blanks or double quotes", "use a name like 'pdu-b7'");
        assertProblem(problems.get(1), 30, "fenceDevices.pdu b7", "no blanks", "use a name like 'pdu-b7'");
    }

    @Test
    void aLevelMustNameDefinedDevices() {
        assertProblem(onlyProblemIn(validWithLine(10, "      - [pdu-a-7, pdu-c-7]")), 10, "nodes[0].fence[1][1]",
                "device 'pdu-c-7' is not defined under fenceDevices", "did you mean 'pdu-a-7'?");
        assertProblem(onlyProblemIn(validWithLine(9, "      - [ilo-3]")), 9, "nodes[0].fence[0][0]",
                "device 'ilo-3' is not defined under fenceDevices", "define it under fenceDevices, or use one of"
                        + " bmc-1, pdu-a-7, pdu-b-7, spare");
    }

    @Test
    void levelsAreListsOfDistinctDevices() {
        assertProblem(onlyProblemIn(validWithLine(9, "      - bmc-1")), 9, "nodes[0].fence[0]",
                "expected a list of device names, found the text 'bmc-1'", "- [bmc-1]");
        assertProblem(onlyProblemIn(validWithLine(9, "      - []")), 9, "nodes[0].fence[0]",
                "lists 0 devices, a level needs 1 to 8", "or remove the level");
        assertProblem(onlyProblemIn(validWithLine(10, "      - [pdu-a-7, pdu-a-7]")), 10, "nodes[0].fence[1][1]",
                "device 'pdu-a-7' appears twice in one level", "remove one of the two");
        assertProblem(onlyProblemIn(validWithFence("    fence: bmc-1")), 8, "nodes[0].fence",
                "expected a list of levels, found the text 'bmc-1'", "fence: [[bmc-1], [pdu-a-7, pdu-b-7]]");
    }

    @Test
    void atMostEightLevels() {
        Problem p = onlyProblemIn(validWithFence("    fence: [[bmc-1], [bmc-1], [bmc-1], [bmc-1], [bmc-1], [bmc-1],"
                + " [bmc-1], [bmc-1], [bmc-1]]"));

        assertProblem(p, 8, "nodes[0].fence", "lists 9 levels, at most 8", "keep at most 8 levels");
    }

    @Test
    void aDeviceNoNodeUsesIsAllowed() throws Exception {
        assertThat(ConfigLoader.parse(FILE, valid()).fenceDevices()).containsKey("spare");
    }

    @Test
    void aPasswordIsNeverInline() {
        Problem p = onlyProblemIn(validWithLine(21, "      password: hunter2"));

        assertProblem(p, 21, "fenceDevices.bmc-1.parameters.password", "holds a credential",
                "secretFiles: {password: /etc/baton/password}");
        assertThat(p.message()).doesNotContain("hunter2");
        assertProblem(onlyProblemIn(validWithLine(21, "      passwd: hunter2")), 21,
                "fenceDevices.bmc-1.parameters.passwd", "holds a credential", "secretFiles:");
    }

    @Test
    void reservedParametersAreRefused() {
        for (String name : List.of("action", "option", "help", "version")) {
            assertProblem(onlyProblemIn(validWithLine(21, "      " + name + ": off")), 21,
                    "fenceDevices.bmc-1.parameters." + name, "parameter '" + name + "' is reserved", "remove it");
        }
    }

    @Test
    void parameterValuesAreSingleScalars() {
        assertProblem(onlyProblemIn(validWithLine(21, "      username: [a, b]")), 21,
                "fenceDevices.bmc-1.parameters.username", "expected a single value, found a list", "key: value");
        assertProblem(onlyProblemIn(validWithLine(21, "      username:")), 21,
                "fenceDevices.bmc-1.parameters.username", "the parameter has no value", "remove the parameter");
        assertProblem(onlyProblemIn(validWithLine(21, "      username: \" admin\"")), 17, "fenceDevices.bmc-1",
                "parameter 'username' has a value that starts or ends with blanks", "without surrounding blanks");
    }

    @Test
    void aSecretFileMustExist() {
        Path missing = folder.resolve("nothing-here");
        Problem p = onlyProblemIn(validWithLine(26, "      password: " + missing));

        assertProblem(p, 26, "fenceDevices.bmc-1.secretFiles.password", "the secret file " + missing
                + " does not exist", "chmod 600 " + missing);
    }

    @Test
    void aSecretFileMustBePrivate() throws IOException {
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-r--r--"));

        assertProblem(onlyProblemIn(valid()), 26, "fenceDevices.bmc-1.secretFiles.password",
                "may be accessed by group or others (mode 644)", "chmod 600 " + secret);
    }

    @Test
    void aSecretFileIsResolvedAgainstTheConfigurationFolder() {
        // Relative, like keyFile: /etc/baton/bmc-1.password, which does not exist in the test.
        assertProblem(onlyProblemIn(validWithLine(26, "      password: bmc-1.password")), 26,
                "fenceDevices.bmc-1.secretFiles.password", "/etc/baton/bmc-1.password does not exist",
                "chmod 600");
    }

    @Test
    void aParameterIsInlineOrSecretNotBoth() {
        Problem p = onlyProblemIn(validWithLine(26, "      username: " + secret));

        assertProblem(p, 26, "fenceDevices.bmc-1.secretFiles.username", "also given under parameters:",
                "keep only one of the two");
    }

    @Test
    void otherCredentialsAreNeverInlineEither() {
        assertProblem(onlyProblemIn(validWithLine(21, "      community: public")), 21,
                "fenceDevices.bmc-1.parameters.community", "holds a credential", "secretFiles:");
    }

    @Test
    void theRecordAssertsWhatTheLoaderReports() throws Exception {
        ClusterConfig valid = ConfigLoader.parse(FILE, valid());
        FenceTopology unknownDevice = new FenceTopology(Map.of(1, List.of(FenceLevel.of("ilo-9"))));
        FenceTopology unknownNode = new FenceTopology(Map.of(3, List.of(FenceLevel.of("bmc-1"))));

        assertThatThrownBy(() -> new ClusterConfig(valid.file(), "demo", valid.keyFile(), valid.nodes(),
                valid.quorumDisk(), Timeouts.DEFAULTS, 7410, valid.fenceDevices(), unknownDevice))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ilo-9");
        assertThatThrownBy(() -> new ClusterConfig(valid.file(), "demo", valid.keyFile(), valid.nodes(),
                valid.quorumDisk(), Timeouts.DEFAULTS, 7410, valid.fenceDevices(), unknownNode))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("node id 3");
        NodeConfig one = new NodeConfig(1, "node-1", List.of(InetAddress.ofLiteral("198.18.0.1")));
        assertThat(new ClusterConfig(FILE, "demo", valid.keyFile(), List.of(one), valid.quorumDisk(),
                Timeouts.DEFAULTS).fenceTopology().levels(1)).isEmpty();
    }

    @Test
    void fencingSettingsDelaysAndThePoisonPill() throws Exception {
        String yaml = validWithFence("    fence: [[bmc-1], [poison-pill]]\n    fenceDelayMillis: 5000")
                + "fencing:\n  action: reboot\n  monitorIntervalMillis: 10000\n  monitorTimeoutMillis: 8000\n"
                + "  watchdogTimeoutMillis: 10000\n  workloadStopMillis: 2000\n";
        ClusterConfig config = ConfigLoader.parse(FILE, yaml);
        assertThat(config.fenceTopology().levels(1)).containsExactly(FenceLevel.of("bmc-1"), FenceLevel.of(FenceLevel.POISON_PILL));
        assertThat(config.fenceTopology().delayNanos(1)).isEqualTo(5_000_000_000L);
        assertThat(config.fenceTopology().reboot()).isTrue();
        assertThat(config.fencing()).isEqualTo(new FencingConfig(true, 10_000, 8_000, 10_000, 2_000));
        // The pill's wait follows the watchdog: max(T, W) + 3I stretched for two clocks, plus the stop budget.
        assertThat(config.fencing().timing(config.timeouts()).pillWaitNanos()).isEqualTo(10814141415L + 2_000_000_000L);
        assertThat(ConfigLoader.parse(FILE, valid()).fencing()).isEqualTo(FencingConfig.DEFAULTS);
    }

    @Test
    void badFencingSettingsAreNamedWithTheirFix() {
        Problem action = onlyProblemIn(valid() + "fencing:\n  action: shutdown\n");
        assertProblem(action, 36, "fencing.action", "unknown fence action 'shutdown'", "'off'");
        Problem order = onlyProblemIn(valid() + "fencing:\n  monitorIntervalMillis: 5000\n  monitorTimeoutMillis: 5000\n");
        assertProblem(order, 37, "fencing.monitorTimeoutMillis", "not shorter than the monitor interval", "shorter than monitorIntervalMillis");
        Problem typo = onlyProblemIn(valid() + "fencing:\n  watchdogTimeout: 10\n");
        assertThat(typo.fix()).contains("watchdogTimeoutMillis");
        Problem delay = onlyProblemIn(validWithFence("    fence: [[bmc-1]]\n    fenceDelayMillis: -1"));
        assertThat(delay.key()).isEqualTo("nodes[0].fenceDelayMillis");
    }

    @Test
    void thePoisonPillIsALevelOfItsOwnAndNoDeviceName() {
        Problem shared = onlyProblemIn(validWithFence("    fence: [[bmc-1, poison-pill]]"));
        assertThat(shared.key()).isEqualTo("nodes[0].fence[0][1]");
        assertThat(shared.problem()).contains("shares a level");
        assertThat(shared.fix()).contains("- [poison-pill]");
        Problem named = onlyProblemIn(valid().replace("  spare:\n", "  poison-pill:\n"));
        assertThat(named.key()).isEqualTo("fenceDevices.poison-pill");
        assertThat(named.problem()).contains("disk-based fencing level");
    }
}
