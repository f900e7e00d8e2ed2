package baton.runtime.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import baton.core.timing.Timeouts;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The records assert what the loader reports: a bad value built in code fails loudly. */
class ConfigRecordsTest {
    static final List<InetAddress> ONE_ADDRESS = List.of(InetAddress.ofLiteral("198.18.0.1"));
    static final QuorumDiskConfig DISK = new QuorumDiskConfig(Path.of("/q.img"), null);

    static ClusterConfig cluster(List<NodeConfig> nodes, Timeouts timeouts) {
        return new ClusterConfig(Path.of("/etc/baton/cluster.yaml"), "demo", Path.of("/etc/baton/cluster.key"), nodes,
                DISK, timeouts);
    }

    @Test
    void aNodeNeedsAnIdInRangeAndOneToFourAddresses() {
        assertThatThrownBy(() -> new NodeConfig(0, "n", ONE_ADDRESS)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new NodeConfig(33, "n", ONE_ADDRESS)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new NodeConfig(1, "n", List.of())).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aClusterNeedsUniqueNodesAndValidTimeouts() {
        NodeConfig one = new NodeConfig(1, "a", ONE_ADDRESS);
        assertThatThrownBy(() -> cluster(List.of(one, new NodeConfig(1, "b", ONE_ADDRESS)), Timeouts.DEFAULTS))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> cluster(List.of(one, new NodeConfig(2, "a", ONE_ADDRESS)), Timeouts.DEFAULTS))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> cluster(List.of(), Timeouts.DEFAULTS)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> cluster(List.of(one), new Timeouts(200, 1, 100, 8)))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theShadowMustDifferFromThePrimary() {
        assertThatThrownBy(() -> new QuorumDiskConfig(Path.of("/q.img"), Path.of("/q.img")))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void listsAreCopiedAndImmutable() {
        List<NodeConfig> nodes = new ArrayList<>(List.of(new NodeConfig(1, "a", ONE_ADDRESS)));
        ClusterConfig config = cluster(nodes, Timeouts.DEFAULTS);
        nodes.add(new NodeConfig(2, "b", ONE_ADDRESS));

        assertThat(config.nodes()).hasSize(1);
        assertThatThrownBy(() -> config.nodes().clear()).isInstanceOf(UnsupportedOperationException.class);
    }
}
