package baton.runtime.config;

import baton.core.disk.DiskLayout;
import baton.core.fence.FenceLevel;
import baton.core.fence.FenceTopology;
import baton.core.timing.Timeouts;
import baton.runtime.fence.FenceDevice;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * The whole cluster's configuration, as loaded and validated by {@link ConfigLoader}. The
 * same file is installed on every node; a node finds itself in {@link #nodes()} by name.
 *
 * @param file the configuration file, absolute
 * @param clusterName see {@link Names}; also written into the quorum disk header
 * @param keyFile the cluster key file (read with {@link KeyFile#read}), absolute
 * @param nodes in file order; all list the same number of addresses, one per heartbeat ring
 * @param heartbeatPort the UDP port every node sends heartbeats from and receives them on, on
 *     each of its addresses; {@value #MIN_HEARTBEAT_PORT}..{@value #MAX_HEARTBEAT_PORT}
 * @param fenceDevices the cluster's fence devices by name (each device's {@link FenceDevice#name()}),
 *     sorted by name; may include devices no node uses
 * @param fenceTopology each node's fencing levels by node id; a node without levels cannot be
 *     fenced by power. Every device a level names is in {@code fenceDevices} (or is the poison pill).
 * @param fencing the cluster-wide fencing settings
 * @param workloads the VEs and services, in file order (VEs first), with unique ids and names
 * @param migration how VEs migrate between nodes
 * @param api the operators' API and dashboard
 * @param hooks the programs run on events, in file order
 */
public record ClusterConfig(Path file, String clusterName, Path keyFile, List<NodeConfig> nodes,
        QuorumDiskConfig quorumDisk, Timeouts timeouts, int heartbeatPort, Map<String, FenceDevice> fenceDevices,
        FenceTopology fenceTopology, FencingConfig fencing, List<WorkloadConfig> workloads, MigrationConfig migration,
        ApiConfig api, List<HookConfig> hooks) {
    /** No devices and no levels: a cluster that cannot fence by power (alarms instead, docs/fencing.md). */
    public static final FenceTopology NO_FENCING = new FenceTopology(Map.of());

    /**
     * Default of {@code cluster.heartbeatPort}. Below the Linux ephemeral range (32768..60999),
     * so that no outgoing connection of another program holds it by chance when Baton starts;
     * a fixed port, the same on every node, so that a firewall rule can name it.
     */
    public static final int DEFAULT_HEARTBEAT_PORT = 7410;
    /** Ports below 1024 are the well-known ports of system services. */
    public static final int MIN_HEARTBEAT_PORT = 1024;
    public static final int MAX_HEARTBEAT_PORT = 65535;

    public ClusterConfig {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(clusterName, "clusterName");
        Objects.requireNonNull(keyFile, "keyFile");
        Objects.requireNonNull(quorumDisk, "quorumDisk");
        Objects.requireNonNull(timeouts, "timeouts");
        Objects.requireNonNull(fenceTopology, "fenceTopology");
        Objects.requireNonNull(fencing, "fencing");
        Objects.requireNonNull(migration, "migration");
        Objects.requireNonNull(api, "api");
        hooks = List.copyOf(hooks);
        if (fenceTopology.reboot() != fencing.reboot()) {
            throw new IllegalArgumentException("the topology's reboot " + fenceTopology.reboot() + " differs from the settings'");
        }
        nodes = List.copyOf(nodes);
        workloads = List.copyOf(workloads);
        fenceDevices = Collections.unmodifiableMap(new TreeMap<>(fenceDevices));
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
        // Ring i is every node's i-th address: a node with fewer addresses would be deaf and
        // mute on the rings it lacks, and its silence there would read as a failure.
        int rings = nodes.getFirst().addresses().size();
        for (NodeConfig node : nodes) {
            if (node.addresses().size() != rings) {
                throw new IllegalArgumentException("node " + node.name() + " has " + node.addresses().size()
                        + " addresses, node " + nodes.getFirst().name() + " has " + rings
                        + ": every node needs one address per ring");
            }
        }
        if (heartbeatPort < MIN_HEARTBEAT_PORT || heartbeatPort > MAX_HEARTBEAT_PORT) {
            throw new IllegalArgumentException("heartbeat port " + heartbeatPort + " outside " + MIN_HEARTBEAT_PORT
                    + ".." + MAX_HEARTBEAT_PORT);
        }
        // Checked with messages by the loader; a level naming an unknown device, or a node that
        // does not exist, would make the coordinator's fencing fail only when it is needed.
        fenceDevices.forEach((name, device) -> {
            if (!device.name().equals(name)) {
                throw new IllegalArgumentException("fence device '" + device.name() + "' listed as '" + name + "'");
            }
        });
        for (var e : fenceTopology.levelsByNode().entrySet()) {
            if (!ids.contains(e.getKey())) {
                throw new IllegalArgumentException("fencing levels for node id " + e.getKey() + ", which is not a node");
            }
            for (FenceLevel level : e.getValue()) {
                for (String device : level.devices()) {
                    if (!level.isPoisonPill() && !fenceDevices.containsKey(device)) {
                        throw new IllegalArgumentException("node id " + e.getKey() + " is fenced by device '" + device
                                + "', which is not a fence device");
                    }
                }
            }
        }
        // Checked with messages by the loader; two workloads in one owner record, or a domain
        // naming a node that does not exist, would break the one-owner protocol.
        Set<Integer> workloadIds = new HashSet<>();
        Set<String> workloadNames = new HashSet<>();
        for (WorkloadConfig w : workloads) {
            if (!workloadIds.add(w.id()) || !workloadNames.add(w.name())) {
                throw new IllegalArgumentException("workload id " + w.id() + " or name " + w.name() + " not unique");
            }
            for (int preferred : w.preferred()) {
                if (!ids.contains(preferred)) {
                    throw new IllegalArgumentException("workload " + w.name() + " prefers node id " + preferred
                            + ", which is not a node");
                }
            }
        }
    }

    /** With the default migration settings. */
    public ClusterConfig(Path file, String clusterName, Path keyFile, List<NodeConfig> nodes,
            QuorumDiskConfig quorumDisk, Timeouts timeouts, int heartbeatPort, Map<String, FenceDevice> fenceDevices,
            FenceTopology fenceTopology, FencingConfig fencing, List<WorkloadConfig> workloads) {
        this(file, clusterName, keyFile, nodes, quorumDisk, timeouts, heartbeatPort, fenceDevices, fenceTopology, fencing,
                workloads, MigrationConfig.DEFAULTS);
    }

    /** With the default API settings and no hooks. */
    public ClusterConfig(Path file, String clusterName, Path keyFile, List<NodeConfig> nodes,
            QuorumDiskConfig quorumDisk, Timeouts timeouts, int heartbeatPort, Map<String, FenceDevice> fenceDevices,
            FenceTopology fenceTopology, FencingConfig fencing, List<WorkloadConfig> workloads, MigrationConfig migration) {
        this(file, clusterName, keyFile, nodes, quorumDisk, timeouts, heartbeatPort, fenceDevices, fenceTopology, fencing,
                workloads, migration, ApiConfig.defaults(keyFile), List.of());
    }

    /** Without workloads. */
    public ClusterConfig(Path file, String clusterName, Path keyFile, List<NodeConfig> nodes,
            QuorumDiskConfig quorumDisk, Timeouts timeouts, int heartbeatPort, Map<String, FenceDevice> fenceDevices,
            FenceTopology fenceTopology, FencingConfig fencing) {
        this(file, clusterName, keyFile, nodes, quorumDisk, timeouts, heartbeatPort, fenceDevices, fenceTopology, fencing,
                List.of());
    }

    /** With the default fencing settings. */
    public ClusterConfig(Path file, String clusterName, Path keyFile, List<NodeConfig> nodes,
            QuorumDiskConfig quorumDisk, Timeouts timeouts, int heartbeatPort, Map<String, FenceDevice> fenceDevices,
            FenceTopology fenceTopology) {
        this(file, clusterName, keyFile, nodes, quorumDisk, timeouts, heartbeatPort, fenceDevices, fenceTopology,
                FencingConfig.DEFAULTS);
    }

    /** A configuration without fence devices. */
    public ClusterConfig(Path file, String clusterName, Path keyFile, List<NodeConfig> nodes,
            QuorumDiskConfig quorumDisk, Timeouts timeouts, int heartbeatPort) {
        this(file, clusterName, keyFile, nodes, quorumDisk, timeouts, heartbeatPort, Map.of(), NO_FENCING);
    }

    /** A configuration with the default heartbeat port and without fence devices. */
    public ClusterConfig(Path file, String clusterName, Path keyFile, List<NodeConfig> nodes,
            QuorumDiskConfig quorumDisk, Timeouts timeouts) {
        this(file, clusterName, keyFile, nodes, quorumDisk, timeouts, DEFAULT_HEARTBEAT_PORT);
    }

    /**
     * How many heartbeat rings (networks) the cluster has: ring i is the i-th entry of every
     * node's addresses, so this is the number of addresses each node lists.
     */
    public int ringCount() {
        return nodes.getFirst().addresses().size();
    }

    public Optional<NodeConfig> node(String name) {
        return nodes.stream().filter(n -> n.name().equals(name)).findFirst();
    }

    public Optional<WorkloadConfig> workload(String name) {
        return workloads.stream().filter(w -> w.name().equals(name)).findFirst();
    }

    public Optional<WorkloadConfig> workload(int id) {
        return workloads.stream().filter(w -> w.id() == id).findFirst();
    }

    public Optional<NodeConfig> node(int id) {
        return nodes.stream().filter(n -> n.id() == id).findFirst();
    }

    /** The highest node id in use: how many quorum disk slots a reader must look at. */
    public int maxNodeId() {
        return nodes.stream().mapToInt(NodeConfig::id).max().orElseThrow();
    }
}
