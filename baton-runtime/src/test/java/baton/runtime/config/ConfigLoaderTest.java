package baton.runtime.config;

import static org.assertj.core.api.Assertions.assertThat;

import baton.core.timing.Timeouts;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Valid configurations: what is bound, which defaults apply, how paths resolve. */
class ConfigLoaderTest {
    static final Path FILE = Path.of("/etc/baton/cluster.yaml");

    static final String FULL = """
            cluster:
              name: demo
              keyFile: cluster.key
            nodes:
              - id: 1
                name: node-1
                addresses: [198.18.0.1, 'fd00::1']
              - id: 7
                name: node-7
                addresses:
                  - 198.18.0.7
                  - 'fd00::7'
            quorumDisk:
              primary: /dev/disk/by-id/quorum-a
              shadow: ../baton-shadow/shadow.img
            timeouts:
              diskIntervalMillis: 300
              missedDiskIntervals: 5
              heartbeatIntervalMillis: 150
              missedHeartbeats: 6
            """;

    static final String MINIMAL = """
            cluster:
              name: demo
              keyFile: /etc/baton/secret/cluster.key
            nodes:
              - {id: 3, name: solo, addresses: [198.18.0.3]}
            quorumDisk:
              primary: quorum.img
            """;

    @Test
    void bindsEveryValueOfAFullConfiguration() throws Exception {
        ClusterConfig config = ConfigLoader.parse(FILE, FULL);

        assertThat(config.file()).isEqualTo(FILE);
        assertThat(config.clusterName()).isEqualTo("demo");
        assertThat(config.keyFile()).isEqualTo(Path.of("/etc/baton/cluster.key"));
        assertThat(config.nodes()).containsExactly(
                new NodeConfig(1, "node-1", List.of(InetAddress.ofLiteral("198.18.0.1"),
                        InetAddress.ofLiteral("fd00::1"))),
                new NodeConfig(7, "node-7", List.of(InetAddress.ofLiteral("198.18.0.7"),
                        InetAddress.ofLiteral("fd00::7"))));
        assertThat(config.quorumDisk().primary()).isEqualTo(Path.of("/dev/disk/by-id/quorum-a"));
        assertThat(config.quorumDisk().shadow()).isEqualTo(Path.of("/etc/baton-shadow/shadow.img"));
        assertThat(config.quorumDisk().singlePath()).isFalse();
        assertThat(config.timeouts()).isEqualTo(new Timeouts(300, 5, 150, 6));
    }

    @Test
    void findsNodesByNameAndIdAndKnowsTheHighestId() throws Exception {
        ClusterConfig config = ConfigLoader.parse(FILE, FULL);

        assertThat(config.node("node-7")).map(NodeConfig::id).contains(7);
        assertThat(config.node(1)).map(NodeConfig::name).contains("node-1");
        assertThat(config.node("node-2")).isEmpty();
        assertThat(config.node(2)).isEmpty();
        assertThat(config.maxNodeId()).isEqualTo(7);
    }

    @Test
    void aMinimalConfigurationGetsDefaultsAndResolvesRelativePathsAgainstItsFolder() throws Exception {
        ClusterConfig config = ConfigLoader.parse(FILE, MINIMAL);

        assertThat(config.keyFile()).isEqualTo(Path.of("/etc/baton/secret/cluster.key"));
        assertThat(config.quorumDisk().primary()).isEqualTo(Path.of("/etc/baton/quorum.img"));
        assertThat(config.quorumDisk().shadow()).isNull();
        assertThat(config.quorumDisk().singlePath()).isTrue();
        assertThat(config.timeouts()).isEqualTo(Timeouts.DEFAULTS);
        assertThat(config.nodes()).singleElement().extracting(NodeConfig::name).isEqualTo("solo");
        assertThat(config.maxNodeId()).isEqualTo(3);
    }

    @Test
    void timeoutsLeftOutKeepTheirDefaults() throws Exception {
        ClusterConfig config = ConfigLoader.parse(FILE, MINIMAL + """
                timeouts:
                  diskIntervalMillis: 500
                """);

        assertThat(config.timeouts()).isEqualTo(new Timeouts(500, Timeouts.DEFAULTS.missedDiskIntervals(),
                Timeouts.DEFAULTS.heartbeatIntervalMillis(), Timeouts.DEFAULTS.missedHeartbeats()));
    }

    @Test
    void anEmptyTimeoutsSectionMeansAllDefaults() throws Exception {
        assertThat(ConfigLoader.parse(FILE, MINIMAL + "timeouts:\n").timeouts()).isEqualTo(Timeouts.DEFAULTS);
    }

    @Test
    void aRelativeConfigurationPathResolvesAgainstTheWorkingDirectory() throws Exception {
        ClusterConfig config = ConfigLoader.parse(Path.of("conf/cluster.yaml"), FULL);

        Path folder = Path.of("conf").toAbsolutePath();
        assertThat(config.file()).isEqualTo(folder.resolve("cluster.yaml"));
        assertThat(config.keyFile()).isEqualTo(folder.resolve("cluster.key"));
    }

    @Test
    void loadsAFileAndResolvesAgainstItsRealFolder(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("cluster.yaml");
        Files.writeString(file, FULL);

        ClusterConfig config = ConfigLoader.load(file);

        assertThat(config.keyFile()).isEqualTo(dir.resolve("cluster.key"));
        assertThat(config.quorumDisk().shadow()).isEqualTo(dir.getParent().resolve("baton-shadow/shadow.img"));
        assertThat(config).isEqualTo(ConfigLoader.parse(file, FULL));
    }

    @Test
    void acceptsAByteOrderMarkAndCommentsAndQuotedStrings() throws Exception {
        ClusterConfig config = ConfigLoader.parse(FILE, "\uFEFF# the demo cluster\n" + """
                cluster:
                  name: "demo"   # quoted text is text
                  keyFile: 'cluster.key'
                nodes:
                  - id: 1
                    name: "no"
                    addresses: ["198.18.0.1"]
                quorumDisk: {primary: /q.img, shadow: /s.img}
                """);

        assertThat(config.clusterName()).isEqualTo("demo");
        assertThat(config.node(1)).map(NodeConfig::name).contains("no");
        assertThat(config.quorumDisk().shadow()).isEqualTo(Path.of("/s.img"));
    }

    @Test
    void wordsThatYaml11ReadsAsBooleansAreText() throws Exception {
        // "no" is false in YAML 1.1; as a node name it must stay a name.
        ClusterConfig config = ConfigLoader.parse(FILE, MINIMAL.replace("name: solo", "name: no"));

        assertThat(config.node("no")).isPresent();
    }
}
