package baton.runtime.config;

import baton.core.fence.FenceTopology;
import baton.core.timing.Timeouts;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Binds the YAML tree to a {@link ClusterConfig}, section by section, reporting every
 * problem and going on: a section with problems still has its other keys checked. A
 * configuration is built only when no problem was found, so the records never hold a
 * half-valid value. The format itself is described in package-info.java.
 */
final class ConfigBinding {
    private ConfigBinding() {}

    static final List<String> ROOT_KEYS =
            List.of("cluster", "nodes", "quorumDisk", "timeouts", "fenceDevices", "fencing", "ves", "services", "migration", "api", "hooks");
    static final List<String> CLUSTER_KEYS = List.of("name", "keyFile", "heartbeatPort");
    static final List<String> QUORUM_DISK_KEYS = List.of("primary", "shadow");
    static final List<String> TIMEOUT_KEYS =
            List.of("diskIntervalMillis", "missedDiskIntervals", "heartbeatIntervalMillis", "missedHeartbeats");

    // Examples for fixes, in flow style so that each fits on the one line of a problem.
    private static final String CLUSTER_EXAMPLE = "cluster: {name: demo, keyFile: cluster.key}";
    private static final String NODES_EXAMPLE = "nodes: [{id: 1, name: node-1, addresses: [198.18.0.1]}]";
    private static final String QUORUM_DISK_EXAMPLE = "quorumDisk: {primary: /var/lib/baton/quorum.img}";
    private static final String PRIMARY_EXAMPLE = "primary: /var/lib/baton/quorum.img";

    /** The configuration, or empty when any problem was found (all of them are in {@code problems}). */
    static Optional<ClusterConfig> bind(YamlNode root, Path file, Problems problems) {
        Path absolute = file.toAbsolutePath().normalize();
        Path folder = absolute.getParent();
        Optional<Section> top = Section.of(root, "", root.line(), problems, ROOT_KEYS,
                "a mapping: cluster:, nodes:, quorumDisk: (and timeouts:, fenceDevices:, fencing:, ves:, services:, migration:, api:, hooks:),"
                        + " each at the start of a line");
        if (top.isEmpty()) {
            return Optional.empty();
        }
        Section s = top.get();

        Optional<Section> cluster = s.required("cluster", CLUSTER_EXAMPLE)
                .flatMap(v -> Section.of(v, "cluster", s.lineOf("cluster"), problems, CLUSTER_KEYS, CLUSTER_EXAMPLE));
        Optional<String> clusterName = cluster.flatMap(c -> c.required("name", "name: demo")
                .flatMap(v -> clusterName(v, c.path("name"), problems)));
        Optional<Path> keyFile = cluster.flatMap(c -> c.required("keyFile", "keyFile: cluster.key")
                .flatMap(v -> Scalars.path(v, c.path("keyFile"), folder, problems, "keyFile: cluster.key")));
        // Absent (or the cluster section unreadable, reported already): the default stands in.
        OptionalLong heartbeatPort = cluster.flatMap(c -> c.optional("heartbeatPort")
                        .map(v -> Scalars.whole(v, c.path("heartbeatPort"), problems,
                                ClusterConfig.MIN_HEARTBEAT_PORT, ClusterConfig.MAX_HEARTBEAT_PORT,
                                "heartbeatPort: " + ClusterConfig.DEFAULT_HEARTBEAT_PORT)))
                .orElse(OptionalLong.of(ClusterConfig.DEFAULT_HEARTBEAT_PORT));

        List<NodeConfig> nodes = s.required("nodes", NODES_EXAMPLE)
                .map(v -> NodesBinding.bind(v, "nodes", s.lineOf("nodes"), problems))
                .orElse(List.of());

        // Devices before the nodes' levels, which must name defined devices.
        FenceBinding.Devices fenceDevices = s.optional("fenceDevices")
                .map(v -> FenceBinding.devices(v, "fenceDevices", folder, problems))
                .orElse(FenceBinding.Devices.NONE);
        Optional<FencingConfig> fencing = s.optional("fencing")
                .map(v -> FenceBinding.settings(v, "fencing", s.lineOf("fencing"), problems))
                .orElse(Optional.of(FencingConfig.DEFAULTS));
        boolean reboot = fencing.map(FencingConfig::reboot).orElse(false);
        Optional<FenceTopology> fenceTopology = s.optional("nodes")
                .flatMap(v -> FenceBinding.topology(v, "nodes", fenceDevices, reboot, problems));

        // After the nodes, whose names the workloads' preferred lists name.
        List<WorkloadConfig> workloads = WorkloadsBinding.bind(s, nodes, folder, problems);
        Optional<MigrationConfig> migration = s.optional("migration")
                .map(v -> MigrationBinding.bind(v, "migration", s.lineOf("migration"), folder, problems))
                .orElse(Optional.of(MigrationConfig.DEFAULTS));
        Optional<ApiConfig> api = keyFile.flatMap(key -> s.optional("api")
                .map(v -> ApiBinding.bind(v, "api", s.lineOf("api"), folder, key, problems))
                .orElse(Optional.of(ApiConfig.defaults(key))));
        List<HookConfig> hooks = s.optional("hooks")
                .map(v -> HooksBinding.bind(v, "hooks", s.lineOf("hooks"), folder, problems))
                .orElse(List.of());

        Optional<QuorumDiskConfig> quorumDisk = s.required("quorumDisk", QUORUM_DISK_EXAMPLE)
                .flatMap(v -> quorumDisk(v, s.lineOf("quorumDisk"), folder, problems));
        Optional<Timeouts> timeouts = s.optional("timeouts")
                .map(v -> timeouts(v, s.lineOf("timeouts"), problems))
                .orElse(Optional.of(Timeouts.DEFAULTS));

        keyFile.ifPresent(key -> quorumDisk.ifPresent(disk -> {
            // Formatting the quorum disk would overwrite the only copy of the key.
            if (key.equals(disk.primary()) || key.equals(disk.shadow())) {
                problems.add(cluster.orElseThrow().lineOf("keyFile"), "cluster.keyFile",
                        "the key file " + key + " is also a quorum disk path",
                        "keep the key in its own file, e.g. keyFile: cluster.key");
            }
        }));

        if (!problems.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new ClusterConfig(absolute, clusterName.orElseThrow(), keyFile.orElseThrow(), nodes,
                quorumDisk.orElseThrow(), timeouts.orElseThrow(), (int) heartbeatPort.orElseThrow(), fenceDevices.built(),
                fenceTopology.orElseThrow(), fencing.orElseThrow(), workloads, migration.orElseThrow(),
                api.orElseThrow(), hooks));
    }

    private static Optional<String> clusterName(YamlNode value, String path, Problems problems) {
        Optional<String> name = Scalars.text(value, path, problems, "name: demo");
        Optional<String> problem = name.flatMap(n -> Names.problem(n, true));
        if (problem.isPresent()) {
            problems.add(value.line(), path, problem.get(),
                    "use a name like '" + Names.suggestion(name.orElseThrow(), true, "demo") + "'");
            return Optional.empty();
        }
        return name;
    }

    private static Optional<QuorumDiskConfig> quorumDisk(YamlNode value, int line, Path folder, Problems problems) {
        Optional<Section> section =
                Section.of(value, "quorumDisk", line, problems, QUORUM_DISK_KEYS, QUORUM_DISK_EXAMPLE);
        if (section.isEmpty()) {
            return Optional.empty();
        }
        Section s = section.get();
        Optional<Path> primary = s.required("primary", PRIMARY_EXAMPLE)
                .flatMap(v -> Scalars.path(v, s.path("primary"), folder, problems, PRIMARY_EXAMPLE));
        Optional<YamlNode> shadowValue = s.optional("shadow");
        Optional<Path> shadow = shadowValue
                .flatMap(v -> Scalars.path(v, s.path("shadow"), folder, problems, "shadow: /var/lib/baton/shadow.img"));
        if (primary.isEmpty() || shadowValue.isPresent() && shadow.isEmpty()) {
            return Optional.empty();
        }
        if (shadow.isPresent() && shadow.get().equals(primary.get())) {
            problems.add(s.lineOf("shadow"), s.path("shadow"), "the shadow is the same path as the primary ("
                    + primary.get() + "), so one failure would destroy both copies",
                    "put the shadow on another disk, or remove 'shadow' to keep both copies in two regions"
                            + " of the primary");
            return Optional.empty();
        }
        return Optional.of(new QuorumDiskConfig(primary.get(), shadow.orElse(null)));
    }

    /**
     * Any key left out keeps its default. Values are bound over the full range of their
     * Java type; the ranges and orderings Baton needs are {@link Timeouts#violations()}, kept
     * in one place next to the timeline they protect.
     */
    private static Optional<Timeouts> timeouts(YamlNode value, int line, Problems problems) {
        Optional<Section> section = Section.of(value, "timeouts", line, problems, TIMEOUT_KEYS,
                "timeouts: {diskIntervalMillis: 200, missedDiskIntervals: 4}");
        if (section.isEmpty()) {
            return Optional.empty();
        }
        Section s = section.get();
        Timeouts d = Timeouts.DEFAULTS;
        OptionalLong diskInterval = millis(s, "diskIntervalMillis", d.diskIntervalMillis(), problems);
        OptionalLong missedDisk = count(s, "missedDiskIntervals", d.missedDiskIntervals(), problems);
        OptionalLong heartbeat = millis(s, "heartbeatIntervalMillis", d.heartbeatIntervalMillis(), problems);
        OptionalLong missedHeartbeats = count(s, "missedHeartbeats", d.missedHeartbeats(), problems);
        // A value that could not be read stands in as its default, so that the rules are still
        // checked for the others (all problems in one pass); its own problem is reported already.
        Timeouts timeouts = new Timeouts(diskInterval.orElse(d.diskIntervalMillis()),
                (int) missedDisk.orElse(d.missedDiskIntervals()), heartbeat.orElse(d.heartbeatIntervalMillis()),
                (int) missedHeartbeats.orElse(d.missedHeartbeats()));
        List<String> violations = timeouts.violations();
        for (String violation : violations) {
            reportViolation(violation, s, problems);
        }
        boolean allRead = diskInterval.isPresent() && missedDisk.isPresent() && heartbeat.isPresent()
                && missedHeartbeats.isPresent();
        return allRead && violations.isEmpty() ? Optional.of(timeouts) : Optional.empty();
    }

    /** An optional duration: its value, its default when absent, or empty after a problem. */
    private static OptionalLong millis(Section s, String key, long fallback, Problems problems) {
        return whole(s, key, Long.MIN_VALUE, Long.MAX_VALUE, fallback, problems);
    }

    /** An optional count, an int in Timeouts. */
    private static OptionalLong count(Section s, String key, int fallback, Problems problems) {
        return whole(s, key, Integer.MIN_VALUE, Integer.MAX_VALUE, fallback, problems);
    }

    private static OptionalLong whole(Section s, String key, long min, long max, long fallback, Problems problems) {
        Optional<YamlNode> value = s.optional(key);
        return value.isEmpty()
                ? OptionalLong.of(fallback)
                : Scalars.whole(value.get(), s.path(key), problems, min, max, key + ": " + fallback);
    }

    /**
     * A violation names the key it is about first ("missedDiskIntervals must be ..."), so it
     * is reported at that key's line when the key is in the file; one that spans several
     * keys is reported at the timeouts section's line.
     */
    private static void reportViolation(String violation, Section s, Problems problems) {
        for (String key : TIMEOUT_KEYS) {
            if (violation.startsWith(key + " ")) {
                problems.add(s.lineOf(key), s.path(key), violation,
                        "change " + key + " to a value in that range, or remove it to use the default "
                                + defaultOf(key));
                return;
            }
        }
        problems.add(s.line(), s.path(), violation,
                "change the timeouts so that this holds, or remove the timeouts section to use the defaults");
    }

    private static long defaultOf(String key) {
        Timeouts d = Timeouts.DEFAULTS;
        return switch (key) {
            case "diskIntervalMillis" -> d.diskIntervalMillis();
            case "missedDiskIntervals" -> d.missedDiskIntervals();
            case "heartbeatIntervalMillis" -> d.heartbeatIntervalMillis();
            case "missedHeartbeats" -> d.missedHeartbeats();
            default -> throw new IllegalArgumentException("not a timeout key: " + key);
        };
    }
}
