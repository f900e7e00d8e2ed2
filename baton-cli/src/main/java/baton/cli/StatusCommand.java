package baton.cli;

import baton.core.disk.ClusterKey;
import baton.core.disk.Copy;
import baton.core.disk.DiskHeader;
import baton.core.disk.HeaderRead;
import baton.core.disk.SlotCodec;
import baton.core.liveness.SlotWatch;
import baton.runtime.config.ClusterConfig;
import baton.runtime.config.NodeConfig;
import baton.runtime.disk.DiskSnapshot;
import baton.runtime.disk.QuorumDisk;
import baton.runtime.node.ExitStatus;
import baton.runtime.node.RunDir;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "status", mixinStandardHelpOptions = true,
        description = {"Show every configured node with its verdict (up, suspect, network-lost, disk-lost, down, fenced, left,",
                "absent) and the evidence, the fence devices, and every workload with its owner, state and last reason,",
                "as the node daemon running on this host sees it.",
                "When no daemon runs here, show disk liveness only: the quorum disk is read twice,",
                "one disk timeout apart, and each slot is judged with this host's",
                "monotonic clock: fresh (counter advanced), stale (unchanged for the disk timeout), left,",
                "empty (never joined), unknown (no valid copy) or pending (seen once, not yet seen to advance)."})
final class StatusCommand implements Callable<Integer> {
    @Mixin
    ConfigOption config;

    @Option(names = "--json", description = "Machine-readable output.")
    boolean json;

    @Option(names = {"-n", "--node"}, paramLabel = "NAME",
            description = "Whose view to show when several daemons run on this host (default: any running one).")
    String nodeName;

    @Option(names = "--run-dir", paramLabel = "DIR", defaultValue = "/run/baton", description = "As given to 'node run'.")
    Path runDir;

    @Option(names = "--disk", description = "Show disk liveness from two reads of the quorum disk, even when a daemon runs here.")
    boolean diskOnly;

    /** A status file older than this is from a daemon that is gone or hung. */
    static final long FRESH_STATUS_MILLIS = 3_000;

    @Override
    public Integer call() throws Exception {
        ClusterConfig cfg = config.load();
        JsonNode view = diskOnly ? null : daemonView(cfg);
        if (view == null) {
            if (!json) {
                System.out.println("(no node daemon of cluster '" + cfg.clusterName() + "' runs on this host: disk liveness only)");
            }
            System.out.print(render(cfg, ConfigOption.key(cfg), json));
        } else {
            System.out.print(json ? view.toString() + "\n" : daemonText(view));
        }
        return ExitStatus.OK;
    }

    /** The freshest status file of a daemon of this cluster on this host (of {@code --node} if given), or null. */
    private JsonNode daemonView(ClusterConfig cfg) {
        return daemonView(cfg, runDir, nodeName);
    }

    /**
     * The view of the daemon of this cluster running on this host (of {@code nodeName} if not
     * null), from its API; from its status file when the API cannot be reached; null when no
     * daemon runs here.
     */
    static JsonNode daemonView(ClusterConfig cfg, Path runDir, String nodeName) {
        // The daemon asked: the one named, else the first whose pid file is here (it deletes it when it stops).
        RunDir dir = RunDir.of(runDir, cfg.clusterName());
        java.util.Optional<NodeConfig> daemon = cfg.nodes().stream()
                .filter(n -> nodeName != null ? nodeName.equals(n.name()) : Files.exists(dir.pidFile(n.name()))).findFirst();
        java.util.Optional<ApiClient> api = daemon.flatMap(n -> ApiClient.of(cfg, n));
        if (api.isPresent()) {
            try {
                return api.get().get("/api/v1/status");
            } catch (java.io.IOException | ApiClient.ApiFailure e) {
                // Not listening (yet, or any more), or refused: its status file, if it is fresh.
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return fileView(cfg, runDir, nodeName);
    }

    /** The freshest status file of a daemon of this cluster under {@code runDir} (of {@code nodeName} if not null), or null. */
    static JsonNode fileView(ClusterConfig cfg, Path runDir, String nodeName) {
        RunDir dir = RunDir.of(runDir, cfg.clusterName());
        for (NodeConfig n : cfg.nodes()) {
            if (nodeName != null && !nodeName.equals(n.name())) {
                continue;
            }
            Path file = dir.statusFile(n.name());
            try {
                if (!Files.exists(file)) {
                    continue;
                }
                JsonNode v = DiskCommand.JSON.readTree(Files.readString(file));
                if (System.currentTimeMillis() - v.path("writtenEpochMillis").asLong() <= FRESH_STATUS_MILLIS) {
                    return v;
                }
            } catch (java.io.IOException e) {
                // being replaced right now, or unreadable: try the next
            }
        }
        return null;
    }

    static String daemonText(JsonNode v) {
        StringBuilder b = new StringBuilder();
        b.append("cluster ").append(v.path("cluster").asText()).append("   as seen by ").append(v.path("node").asText())
                .append(" (incarnation ").append(v.path("incarnation").asLong()).append(", ").append(v.path("phase").asText())
                .append(")   quorum disk: primary ").append(v.path("quorumDisk").path("primary").asText())
                .append(", shadow ").append(v.path("quorumDisk").path("shadow").asText()).append("\n");
        JsonNode co = v.path("coordinator");
        b.append("coordinator: ").append(co.has("holder") ? co.path("holder").asText() + " (generation "
                + co.path("generation").asLong() + ")" : "none known").append("; this node is ")
                .append(co.path("role").asText()).append("\n\n");
        Table t = new Table("NODE", "ID", "VERDICT", "DISK", "FENCE PATH", "EVIDENCE");
        for (JsonNode n : v.path("nodes")) {
            t.row(n.path("name").asText("-"), n.path("id").asInt(), n.path("verdict").asText(), n.path("disk").asText(),
                    n.path("fencePath").asText("-"), n.path("evidence").asText());
        }
        b.append(t);
        JsonNode devices = v.path("fenceDevices");
        if (devices.size() > 0) {
            b.append("\nfence devices: ");
            java.util.List<String> parts = new java.util.ArrayList<>();
            devices.forEach(d -> parts.add(d.path("name").asText() + " " + d.path("state").asText()
                    + (d.has("reason") ? " (" + d.path("reason").asText() + ")" : "")));
            b.append(String.join(", ", parts)).append('\n');
        }
        JsonNode workloads = v.path("workloads");
        if (workloads.size() > 0) {
            b.append("\n");
            if (v.path("standby").size() > 0) {
                java.util.List<String> standby = new java.util.ArrayList<>();
                v.path("standby").forEach(n -> standby.add(n.asText()));
                b.append("standby: ").append(String.join(", ", standby)).append('\n');
            }
            Table w = new Table("WORKLOAD", "KIND", "STATE", "OWNER", "HERE", "REASON");
            for (JsonNode x : workloads) {
                String state = x.path("desired").asText() + (x.has("next") ? ", moving to " + x.path("next").asText() : "")
                        + (x.path("restarting").asBoolean() ? ", restarting" : "");
                String reason = x.has("hold") ? "held: " + x.path("hold").asText() : x.path("reason").asText("-");
                if (x.has("problem")) {
                    reason = "PROBLEM: " + x.path("problem").asText() + "; " + reason;
                }
                w.row(x.path("name").asText(), x.path("kind").asText(), state, x.path("owner").asText("-"),
                        x.path("here").asText() + (x.has("lastFailureHere") ? " (last failure: " + x.path("lastFailureHere").asText() + ")" : ""),
                        reason);
            }
            b.append(w);
        }
        JsonNode h = v.path("heartbeats");
        if (!h.isMissingNode()) {
            b.append("\nheartbeats: sent ").append(h.path("sent").asLong()).append(", accepted ").append(h.path("accepted").asLong())
                    .append(", dropped ").append(h.path("dropped").toString()).append("; own tick lateness p50 ")
                    .append(h.path("tickLatenessP50Micros").asLong()).append(" us, p99 ").append(h.path("tickLatenessP99Micros").asLong())
                    .append(" us, max ").append(h.path("tickLatenessMaxMicros").asLong()).append(" us, late ticks ")
                    .append(h.path("lateTicks").asLong()).append('\n');
        }
        return b.toString();
    }

    /** Reads the disk twice, one disk timeout apart, and renders every node's disk liveness. */
    static String render(ClusterConfig cfg, ClusterKey key, boolean json) throws Exception {
        try (QuorumDisk disk = DiskCommand.open(cfg)) {
            DiskHeader header = DiskCommand.anyHeader(disk);
            if (header == null) {
                throw new CliFailure(ExitStatus.DISK_REFUSED, "no valid header on either copy of the quorum disk: primary "
                        + disk.readHeader(Copy.PRIMARY).describe() + "; shadow " + disk.readHeader(Copy.SHADOW).describe());
            }
            SlotCodec codec = new SlotCodec(header.clusterId(), key);
            int slots = cfg.maxNodeId();
            long timeout = cfg.timeouts().diskTimeoutNanos();
            SlotWatch[] watch = new SlotWatch[slots + 1];
            for (int i = 1; i <= slots; i++) {
                watch[i] = new SlotWatch();
            }
            DiskSnapshot first = DiskSnapshot.take(disk, codec, slots);
            observe(first, watch, timeout);
            // Judging staleness needs a second read issued at least one disk timeout after the first completed.
            long wait = timeout + cfg.timeouts().diskIntervalNanos() - (System.nanoTime() - first.completedNanos());
            if (wait > 0) {
                Thread.sleep(wait / 1_000_000L, (int) (wait % 1_000_000L));
            }
            DiskSnapshot second = DiskSnapshot.take(disk, codec, slots);
            observe(second, watch, timeout);
            return json ? DiskCommand.JSON.writeValueAsString(toJson(cfg, second, watch)) + "\n" : toText(cfg, second, watch);
        }
    }

    private static void observe(DiskSnapshot s, SlotWatch[] watch, long timeoutNanos) {
        for (DiskSnapshot.SlotPair p : s.slots()) {
            watch[p.nodeId()].observe(p.reconciled(), p.primary().describe(), p.shadow().describe(), s.issuedNanos(),
                    s.completedNanos(), timeoutNanos);
        }
    }

    private static String copyHealth(DiskSnapshot s, Copy c) {
        HeaderRead h = s.header(c);
        return h instanceof HeaderRead.Valid ? "ok" : h.describe();
    }

    static String toText(ClusterConfig cfg, DiskSnapshot s, SlotWatch[] watch) {
        StringBuilder b = new StringBuilder();
        b.append("cluster ").append(cfg.clusterName()).append("   quorum disk: primary ").append(copyHealth(s, Copy.PRIMARY))
                .append(", shadow ").append(copyHealth(s, Copy.SHADOW)).append("\n\n");
        Table t = new Table("NODE", "ID", "DISK", "STATE", "INCARNATION", "COUNTER", "EVIDENCE");
        for (NodeConfig n : cfg.nodes()) {
            SlotWatch w = watch[n.id()];
            t.row(n.name(), n.id(), w.liveness().label(),
                    w.slot() == null ? null : w.slot().state().label() + (w.slot().degraded() ? " (disk degraded)" : ""),
                    w.slot() == null ? null : w.slot().incarnation(),
                    w.slot() == null ? null : Long.toUnsignedString(w.slot().counter()), w.evidence());
        }
        return b.append(t).toString();
    }

    static ObjectNode toJson(ClusterConfig cfg, DiskSnapshot s, SlotWatch[] watch) {
        ObjectNode root = DiskCommand.JSON.createObjectNode();
        root.put("cluster", cfg.clusterName());
        ObjectNode disk = root.putObject("quorumDisk");
        disk.put("primary", copyHealth(s, Copy.PRIMARY));
        disk.put("shadow", copyHealth(s, Copy.SHADOW));
        ArrayNode nodes = root.putArray("nodes");
        for (NodeConfig n : cfg.nodes()) {
            SlotWatch w = watch[n.id()];
            ObjectNode o = nodes.addObject();
            o.put("name", n.name());
            o.put("id", n.id());
            o.put("disk", w.liveness().label());
            o.put("evidence", w.evidence());
            if (w.slot() != null) {
                o.put("state", w.slot().state().label());
                o.put("degradedDisk", w.slot().degraded());
                o.put("incarnation", w.slot().incarnation());
                o.put("counter", Long.toUnsignedString(w.slot().counter()));
            }
        }
        return root;
    }
}
