package baton.runtime.config;

import baton.core.disk.DiskLayout;
import baton.core.timing.Timeouts;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The whole cluster's configuration, as loaded and validated by {@link ConfigLoader}. The
 * same file is installed on every node; a node finds itself in {@link #nodes()} by name.
 *
 * @param file the configuration file, absolute
 * @param clusterName see {@link Names}; also written into the quorum disk header
 * @param keyFile the cluster key file (read with {@link KeyFile#read}), absolute
 * @param nodes in file order
 */
public record ClusterConfig(Path file, String clusterName, Path keyFile, List<NodeConfig> nodes,
        QuorumDiskConfig quorumDisk, Timeouts timeouts) {
    public ClusterConfig {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(clusterName, "clusterName");
        Objects.requireNonNull(keyFile, "keyFile");
        Objects.requireNonNull(quorumDisk, "quorumDisk");
        Objects.requireNonNull(timeouts, "timeouts");
        nodes = List.copyOf(nodes);
        // Checked with messages by the loader; asserted again here because the disk and
        // membership protocols are unsafe with two nodes in one slot.
        if (nodes.isEmpty() || nodes.size() > DiskLayout.MAX_NODES) {
            throw new IllegalArgumentException(nodes.size() + " nodes, needs 1.." + DiskLayout.MAX_NODES);
        }
        Set<Integer> ids = new HashSet<>();
        Set<String> names = new HashSet<>();
        for (NodeConfig node : nodes) {
            if (!ids.add(node.id()) || !names.add(node.name())) {
                throw new IllegalArgumentException("node id " + node.id() + " or name " + node.name() + " not unique");
            }
        }
        if (!timeouts.violations().isEmpty()) {
            throw new IllegalArgumentException("timeouts violate " + timeouts.violations());
        }
    }

    public Optional<NodeConfig> node(String name) {
        return nodes.stream().filter(n -> n.name().equals(name)).findFirst();
    }

    public Optional<NodeConfig> node(int id) {
        return nodes.stream().filter(n -> n.id() == id).findFirst();
    }

    /** The highest node id in use: how many quorum disk slots a reader must look at. */
    public int maxNodeId() {
        return nodes.stream().mapToInt(NodeConfig::id).max().orElseThrow();
    }
}
