package baton.runtime.config;

import static baton.runtime.config.ConfigProblemsTest.assertProblem;
import static baton.runtime.config.ConfigProblemsTest.onlyProblemIn;
import static baton.runtime.config.ConfigProblemsTest.problemsIn;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import baton.core.timing.Timeouts;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What the heartbeats need from the configuration: the port, and one address per ring on every node. */
class HeartbeatConfigTest {
    static final Path FILE = ConfigProblemsTest.FILE;

    /** Two rings; line numbers are used below, keep it unchanged. */
    static final String TWO_RINGS = """
            cluster:
              name: demo
              keyFile: cluster.key
            nodes:
              - id: 1
                name: node-1
                addresses: [198.18.0.1, 198.19.0.1]
              - id: 2
                name: node-2
                addresses: [198.18.0.2, 198.19.0.2]
              - id: 3
                name: node-3
                addresses: [198.18.0.3, 198.19.0.3]
            quorumDisk:
              primary: quorum.img
            """;

    static String withCluster(String line) {
        return TWO_RINGS.replace("  keyFile: cluster.key\n", "  keyFile: cluster.key\n" + line + "\n");
    }

    @Test
    void thePortDefaultsTo7410AndTheRingsAreTheAddressPositions() throws Exception {
        ClusterConfig config = ConfigLoader.parse(FILE, TWO_RINGS);

        assertThat(config.heartbeatPort()).isEqualTo(ClusterConfig.DEFAULT_HEARTBEAT_PORT).isEqualTo(7410);
        assertThat(config.ringCount()).isEqualTo(2);
        assertThat(ConfigLoader.parse(FILE, ConfigProblemsTest.VALID).ringCount()).isEqualTo(1);
    }

    @Test
    void aPortIsBound() throws Exception {
        assertThat(ConfigLoader.parse(FILE, withCluster("  heartbeatPort: 1024")).heartbeatPort()).isEqualTo(1024);
        assertThat(ConfigLoader.parse(FILE, withCluster("  heartbeatPort: 65535")).heartbeatPort()).isEqualTo(65535);
    }

    @Test
    void aPortOutsideTheRangeIsReportedWithTheRange() {
        for (String port : List.of("1023", "0", "65536", "-7410")) {
            assertProblem(onlyProblemIn(withCluster("  heartbeatPort: " + port)), 4, "cluster.heartbeatPort",
                    "must be between 1024 and 65535, is " + port, "use a value from 1024 to 65535");
        }
    }

    @Test
    void aPortOfTheWrongTypeIsReported() {
        assertProblem(onlyProblemIn(withCluster("  heartbeatPort: '7410'")), 4, "cluster.heartbeatPort",
                "expected a whole number, found the text '7410'", "heartbeatPort: 7410");
        assertProblem(onlyProblemIn(withCluster("  heartbeatPort: udp/7410")), 4, "cluster.heartbeatPort",
                "expected a whole number", "heartbeatPort: 7410");
    }

    @Test
    void aMisspeltPortKeyIsSuggested() {
        assertProblem(onlyProblemIn(withCluster("  heartbeatPrt: 7410")), 4, "cluster.heartbeatPrt",
                "unknown key 'heartbeatPrt'", "did you mean 'heartbeatPort'?");
    }

    @Test
    void aNodeWithFewerAddressesThanTheOthersIsReportedWithTheMissingRing() {
        Problem p = onlyProblemIn(TWO_RINGS.replace("[198.18.0.2, 198.19.0.2]", "[198.18.0.2]"));

        assertProblem(p, 10, "nodes[1].addresses", "lists 1 address but node-1 (nodes[0]) lists 2; heartbeat ring i"
                + " is every node's i-th address, so all nodes need the same number",
                "add this node's address on each missing ring, in the same network order as node-1's addresses");
    }

    @Test
    void aNodeWithMoreAddressesThanTheOthersIsReported() {
        Problem p = onlyProblemIn(TWO_RINGS.replace("[198.18.0.3, 198.19.0.3]", "[198.18.0.3, 198.19.0.3, 198.20.0.3]"));

        assertProblem(p, 13, "nodes[2].addresses", "lists 3 addresses but node-1 (nodes[0]) lists 2",
                "keep one address per ring (2, like node-1), or add the extra rings to every other node");
    }

    @Test
    void theCountMostNodesHaveIsTakenAsIntended() {
        // node-1 is the odd one out: blaming node-2 and node-3 would suggest two edits instead of one.
        Problem p = onlyProblemIn(TWO_RINGS.replace("[198.18.0.1, 198.19.0.1]", "[198.18.0.1]"));

        assertProblem(p, 7, "nodes[0].addresses", "lists 1 address but node-2 (nodes[1]) lists 2", "missing ring");
    }

    @Test
    void everyNodeThatDiffersIsReported() {
        List<Problem> problems = problemsIn(TWO_RINGS
                .replace("[198.18.0.1, 198.19.0.1]", "[198.18.0.1]")
                .replace("[198.18.0.3, 198.19.0.3]", "[198.18.0.3, 198.19.0.3, 198.20.0.3]"));

        // One node each with 1, 2 and 3 addresses: the tie goes to the earliest node.
        assertThat(problems).extracting(Problem::key).containsExactly("nodes[1].addresses", "nodes[2].addresses");
        assertThat(problems).extracting(Problem::line).containsExactly(10, 13);
    }

    @Test
    void theRingRuleWaitsUntilEveryAddressListIsValid() {
        // The duplicate is the problem to fix; the count is likely to change with it.
        Problem p = onlyProblemIn(TWO_RINGS.replace("[198.18.0.2, 198.19.0.2]", "[198.18.0.2, 198.19.0.2, 198.18.0.1]"));

        assertThat(p.key()).isEqualTo("nodes[1].addresses[2]");
        assertThat(p.problem()).contains("duplicate address 198.18.0.1");
    }

    @Test
    void aRingMixingIpv4AndIpv6IsReportedAtTheOddAddress() {
        Problem p = onlyProblemIn(TWO_RINGS.replace("[198.18.0.2, 198.19.0.2]", "[198.18.0.2, 'fd00::2']"));

        assertProblem(p, 10, "nodes[1].addresses[1]", "is IPv6 but ring 1 is IPv4 (e.g. nodes[0].addresses[1] ="
                + " 198.19.0.1); one heartbeat socket speaks one address family",
                "write this node's IPv4 address on that network here, or change ring 1 to IPv6 on every node");
    }

    @Test
    void aRingMayBeIpv6AndAnotherIpv4() throws Exception {
        ClusterConfig config = ConfigLoader.parse(FILE, TWO_RINGS.replace("198.19.0.", "'fd00::").replace(
                "'fd00::1]", "'fd00::1']").replace("'fd00::2]", "'fd00::2']").replace("'fd00::3]", "'fd00::3']"));

        assertThat(config.node(2).orElseThrow().addresses().get(1)).isEqualTo(InetAddress.ofLiteral("fd00::2"));
    }

    @Test
    void theRecordAssertsWhatTheLoaderReports() {
        Path file = Path.of("/etc/baton/cluster.yaml");
        Path key = Path.of("/etc/baton/cluster.key");
        QuorumDiskConfig disk = new QuorumDiskConfig(Path.of("/q.img"), null);
        NodeConfig one = new NodeConfig(1, "a", List.of(InetAddress.ofLiteral("198.18.0.1")));
        NodeConfig two = new NodeConfig(2, "b",
                List.of(InetAddress.ofLiteral("198.18.0.2"), InetAddress.ofLiteral("198.19.0.2")));

        assertThatThrownBy(() -> new ClusterConfig(file, "demo", key, List.of(one, two), disk, Timeouts.DEFAULTS))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("one address per ring");
        assertThatThrownBy(() -> new ClusterConfig(file, "demo", key, List.of(one), disk, Timeouts.DEFAULTS, 1023))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ClusterConfig(file, "demo", key, List.of(one), disk, Timeouts.DEFAULTS, 65536))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(new ClusterConfig(file, "demo", key, List.of(one), disk, Timeouts.DEFAULTS).heartbeatPort())
                .isEqualTo(7410);
    }
}
