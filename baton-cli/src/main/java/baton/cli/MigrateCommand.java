package baton.cli;

import baton.core.fence.OperatorRequest;
import baton.core.workload.Placement;
import baton.core.workload.WorkloadRecord;
import baton.runtime.config.ClusterConfig;
import baton.runtime.config.NodeConfig;
import baton.runtime.config.WorkloadConfig;
import baton.runtime.node.ExitStatus;
import baton.runtime.ve.VeSpec;
import baton.runtime.workload.WorkloadBlocks;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code baton ve migrate}, {@code baton node switchover} and {@code baton node resume}
 * (docs/switchover.md): requests to the coordinator through the quorum disk, like every workload
 * request, then the command follows what it set going until it ended, printing each VE's phase
 * and, where this node's daemon reports it (the source's), QEMU's progress.
 */
final class MigrateCommand {
    private MigrateCommand() {}

    /** {@code --mode live|checkpoint}. */
    enum Mode { live, checkpoint }

    /** The {@code --mode} option of migrate and switchover, and the requests it makes. */
    static final class ModeOption {
        @Option(names = "--mode", paramLabel = "MODE", defaultValue = "live",
                description = "live (the default) or checkpoint (needs migration.checkpointDir).")
        Mode mode;

        boolean checkpoint() {
            return mode == Mode.checkpoint;
        }

        OperatorRequest.Kind migrate() {
            return checkpoint() ? OperatorRequest.Kind.MIGRATE_CHECKPOINT : OperatorRequest.Kind.MIGRATE;
        }

        OperatorRequest.Kind switchover() {
            return checkpoint() ? OperatorRequest.Kind.SWITCHOVER_CHECKPOINT : OperatorRequest.Kind.SWITCHOVER;
        }
    }

    /** How often the followers read the disk. */
    static final long POLL_MILLIS = 250;

    @Command(name = "migrate", mixinStandardHelpOptions = true,
            description = {"Move a running VE to --to NODE (or the best other node) without restarting it:",
                    "live (QEMU sends its memory while it runs, then pauses it for the last copy) or through a checkpoint",
                    "file on shared storage. If anything fails midway it keeps running where it was.",
                    "Follows the migration until it ended."})
    static final class Migrate implements Callable<Integer> {
        @Mixin
        ConfigOption config;

        @Parameters(paramLabel = "VE", description = "The VE, by its name in the configuration.")
        String name;

        @Option(names = "--to", paramLabel = "NODE", description = "The node to move it to (default: the best eligible other node).")
        String to;

        @Mixin
        ModeOption mode;

        @Mixin
        FenceCommand.Requester requester;

        @Override
        public Integer call() throws Exception {
            ClusterConfig cfg = config.load();
            WorkloadConfig w = ve(cfg, name);
            int target = to == null ? 0 : FenceCommand.node(cfg, to).id();
            return WorkloadCommand.send(cfg, requester, mode.migrate(), w.id(), target, "ve " + w.name(),
                    (blocks, self) -> follow(cfg, requester, blocks, List.of(w.id()), 0));
        }
    }

    @Command(name = "switchover", mixinStandardHelpOptions = true,
            description = {"Planned maintenance of NODE: every VE running on it moves off without restarting (live, or",
                    "through checkpoints; at most migration.maxParallel at once), its services move cold (stopped, then",
                    "started elsewhere), and nothing is placed on it until 'baton node resume'. Follows it until it ended.",
                    "--plan only shows what would move where."})
    static final class Switchover implements Callable<Integer> {
        @Mixin
        ConfigOption config;

        @Parameters(paramLabel = "NODE", description = "The node to empty.")
        String node;

        @Mixin
        ModeOption mode;

        @Option(names = "--plan", description = "Show what would move where, how, and what cannot move; change nothing.")
        boolean plan;

        @Option(names = "--to", paramLabel = "NODE",
                description = "Move its VEs to NODE (default: each to the best eligible node); services go where placement puts them.")
        String to;

        @Mixin
        FenceCommand.Requester requester;

        @Override
        public Integer call() throws Exception {
            ClusterConfig cfg = config.load();
            NodeConfig n = FenceCommand.node(cfg, node);
            if (plan) {
                return FenceCommand.withDisk(cfg, false, (disk, header, key) -> {
                    Map<Integer, WorkloadRecord> records = read(cfg, new WorkloadBlocks(disk, header.clusterId(), key, maxId(cfg)));
                    Plan p = plan(cfg, n, mode.mode, records, StatusCommand.daemonView(cfg, requester.runDir, requester.as),
                            to == null ? null : FenceCommand.node(cfg, to));
                    System.out.println(requester.json ? DiskCommand.JSON.writeValueAsString(p.json()) : String.join("\n", p.lines()));
                    return ExitStatus.OK;
                });
            }
            if (to != null) {
                int failed = migrateAllTo(cfg, n, FenceCommand.node(cfg, to));
                if (failed != ExitStatus.OK) {
                    return failed;
                }
            }
            return WorkloadCommand.send(cfg, requester, mode.switchover(), 0, n.id(), "node " + n.name(), (blocks, self) -> {
                List<Integer> ids = cfg.workloads().stream().map(WorkloadConfig::id).toList();
                return follow(cfg, requester, blocks, ids, n.id());
            });
        }
        /**
         * {@code --to}: the VEs running on {@code from} migrate to {@code target}, one operator
         * request each, at most {@code migration.maxParallel} in flight; the switchover request
         * that follows then finds only services to move.
         */
        private int migrateAllTo(ClusterConfig cfg, NodeConfig from, NodeConfig target) throws Exception {
            OperatorRequest.Kind kind = mode.migrate();
            List<WorkloadConfig> ves = FenceCommand.withDisk(cfg, false, (disk, header, key) -> {
                Map<Integer, WorkloadRecord> records = read(cfg, new WorkloadBlocks(disk, header.clusterId(), key, maxId(cfg)));
                return cfg.workloads().stream().filter(w -> w.kind() == WorkloadConfig.Kind.VE && records.get(w.id()) != null
                        && records.get(w.id()).ownerId() == from.id() && records.get(w.id()).desired() == Placement.Desired.RUNNING)
                        .toList();
            });
            int status = ExitStatus.OK;
            for (WorkloadConfig w : ves) {
                int sent = WorkloadCommand.send(cfg, requester, kind, w.id(), target.id(), "ve " + w.name(), (blocks, self) -> {
                    // Fewer than maxParallel migrations off this node before the next request.
                    while (read(cfg, blocks).values().stream().filter(r -> r.migrating() && r.ownerId() == from.id()).count()
                            >= cfg.migration().maxParallel()) {
                        Thread.sleep(POLL_MILLIS);
                    }
                    return ExitStatus.OK;
                });
                status = Math.max(status, sent);
            }
            return status;
        }
    }

    @Command(name = "resume", mixinStandardHelpOptions = true,
            description = {"End NODE's maintenance (or standby): placement may use it again.",
                    "With --switch-back, the VEs its switchover moved off migrate back live; follows them until they are back."})
    static final class Resume implements Callable<Integer> {
        @Mixin
        ConfigOption config;

        @Parameters(paramLabel = "NODE", description = "The node.")
        String node;

        @Option(names = "--switch-back", description = "Move the VEs its switchover moved off back to it, live.")
        boolean switchBack;

        @Mixin
        FenceCommand.Requester requester;

        @Override
        public Integer call() throws Exception {
            ClusterConfig cfg = config.load();
            NodeConfig n = FenceCommand.node(cfg, node);
            OperatorRequest.Kind kind = switchBack ? OperatorRequest.Kind.RESUME_SWITCH_BACK : OperatorRequest.Kind.RESUME;
            return WorkloadCommand.send(cfg, requester, kind, 0, n.id(), "node " + n.name(), (blocks, self) -> switchBack
                    ? followBack(cfg, requester, blocks, n.id())
                    : ExitStatus.OK);
        }
    }

    static WorkloadConfig ve(ClusterConfig cfg, String name) {
        return cfg.workload(name).filter(x -> x.kind() == WorkloadConfig.Kind.VE).orElseThrow(() -> new CliFailure(ExitStatus.USAGE,
                "no VE named '" + name + "' in " + cfg.file() + "; the VEs are " + String.join(", ", cfg.workloads().stream()
                        .filter(x -> x.kind() == WorkloadConfig.Kind.VE).map(WorkloadConfig::name).toList())));
    }

    static int maxId(ClusterConfig cfg) {
        return cfg.workloads().stream().mapToInt(WorkloadConfig::id).max().orElse(1);
    }

    static Map<Integer, WorkloadRecord> read(ClusterConfig cfg, WorkloadBlocks blocks) {
        return blocks.read(cfg.workloads().stream().map(WorkloadConfig::id).toList(), false).records();
    }

    /** One workload of a switchover plan: what happens to it, where to, and about how much it sends. */
    record PlanEntry(String kind, String name, String action, String target, long mib, double seconds, String refusal) {}

    /** A switchover's dry run: {@code --plan}, as text lines or as JSON ({@code --json}). */
    record Plan(String node, Mode mode, int maxParallel, String rateSource, List<PlanEntry> entries, boolean fromStatus) {
        List<String> lines() {
            List<String> out = new ArrayList<>();
            out.add("switchover of " + node + " (" + mode + "), at most " + maxParallel + " VE(s) at once:");
            for (PlanEntry e : entries) {
                out.add(switch (e.action()) {
                    case "cold" -> "  service " + e.name() + ": moves cold to " + e.target() + " (stopped on " + node
                            + ", then started there; its resources stop in reverse order and start in order)";
                    case "refused" -> "  ve " + e.name() + ": CANNOT MOVE: " + e.refusal();
                    default -> String.format(Locale.ROOT, "  ve %s: migrates %s to %s; about %d MiB to send (its RAM; more if it"
                            + " writes to memory meanwhile), about %.1f s at %s", e.name(), mode, e.target(), e.mib(), e.seconds(), rateSource);
                });
            }
            if (entries.isEmpty()) {
                out.add("  nothing runs on " + node);
            }
            if (!fromStatus) {
                out.add("(no fresh status of a daemon on this machine: targets are the coordinator's choice at the time)");
            }
            return out;
        }

        ObjectNode json() {
            ObjectNode o = DiskCommand.JSON.createObjectNode();
            o.put("node", node);
            o.put("mode", mode.name());
            o.put("maxParallel", maxParallel);
            o.put("rate", rateSource);
            o.put("fromStatus", fromStatus);
            var list = o.putArray("workloads");
            for (PlanEntry e : entries) {
                ObjectNode w = list.addObject();
                w.put("kind", e.kind());
                w.put("name", e.name());
                w.put("action", e.action());
                if (e.refusal() != null) {
                    w.put("refusal", e.refusal());
                } else {
                    w.put("target", e.target());
                }
                if (e.action().equals("migrate")) {
                    w.put("mib", e.mib());
                    w.put("seconds", Math.round(e.seconds() * 10) / 10.0);
                }
            }
            return o;
        }
    }

    /**
     * What a switchover of {@code n} would do: every workload it runs, VEs migrating (to
     * {@code to} if given, else where placement puts them as this machine's daemon sees the
     * nodes) with their expected transfer, services moving cold, and VEs that cannot move.
     */
    static Plan plan(ClusterConfig cfg, NodeConfig n, Mode mode, Map<Integer, WorkloadRecord> records, JsonNode view, NodeConfig to) {
        long rate = cfg.migration().maxBandwidthBytesPerSecond() > 0 ? cfg.migration().maxBandwidthBytesPerSecond() : ASSUMED_RATE;
        String rateText = cfg.migration().maxBandwidthBytesPerSecond() > 0 ? "migration.maxBandwidthMiBps"
                : "an assumed " + (ASSUMED_RATE >> 20) + " MiB/s";
        List<Placement.Node> nodes = nodesOf(cfg, view);
        List<PlanEntry> entries = new ArrayList<>();
        for (WorkloadConfig w : cfg.workloads()) {
            WorkloadRecord r = records.get(w.id());
            if (r == null || r.ownerId() != n.id() || r.desired() != Placement.Desired.RUNNING) {
                continue;
            }
            String target = targetOf(cfg, w, n, nodes);
            if (w.kind() == WorkloadConfig.Kind.SERVICE) {
                entries.add(new PlanEntry("service", w.name(), "cold", target, 0, 0, null));
                continue;
            }
            VeSpec spec = w.ve();
            Optional<String> refusal = refusal(cfg, spec, mode);
            if (refusal.isPresent()) {
                entries.add(new PlanEntry("ve", w.name(), "refused", null, 0, 0, refusal.get()));
                continue;
            }
            long bytes = (long) spec.memoryMib() << 20;
            entries.add(new PlanEntry("ve", w.name(), "migrate", to != null ? to.name() : target, spec.memoryMib(),
                    (double) bytes / rate, null));
        }
        return new Plan(n.name(), mode, cfg.migration().maxParallel(), rateText, entries, view != null);
    }

    /** Without a bandwidth limit, what a plan assumes a migration sends per second (a 10 GbE link, roughly). */
    static final long ASSUMED_RATE = 1L << 30;

    /** Why a VE cannot move in {@code mode}, if it cannot. */
    static Optional<String> refusal(ClusterConfig cfg, VeSpec spec, Mode mode) {
        if (mode == Mode.checkpoint && cfg.migration().checkpointDir().isEmpty()) {
            return Optional.of("checkpoint mode needs migration.checkpointDir (a folder every node mounts)");
        }
        if (spec.boot() instanceof VeSpec.Boot.Disk d && !java.nio.file.Files.exists(d.image())) {
            return Optional.of("its disk " + d.image() + " is not reachable here: a VE moves only with its disk on storage"
                    + " every node mounts at the same path");
        }
        return Optional.empty();
    }

    /** Where placement would put {@code w} off {@code from}, as far as this machine's daemon sees the nodes. */
    private static String targetOf(ClusterConfig cfg, WorkloadConfig w, NodeConfig from, List<Placement.Node> nodes) {
        if (nodes.isEmpty()) {
            return "the best eligible node";
        }
        return Placement.eligibleTarget(System.nanoTime(), w.placement(), nodes, List.of(), from.id(), Optional.empty())
                .map(t -> cfg.node(t.id()).map(NodeConfig::name).orElse("node " + t.id()))
                .orElse("NO NODE (" + Placement.eligibility(System.nanoTime(), w.placement(), nodes, List.of()) + ")");
    }

    private static List<Placement.Node> nodesOf(ClusterConfig cfg, JsonNode view) {
        List<Placement.Node> out = new ArrayList<>();
        if (view == null) {
            return out;
        }
        List<String> standby = new ArrayList<>();
        view.path("standby").forEach(s -> standby.add(s.asText()));
        for (JsonNode n : view.path("nodes")) {
            int id = n.path("id").asInt();
            baton.core.membership.Verdict v = "up".equals(n.path("verdict").asText()) ? baton.core.membership.Verdict.UP
                    : baton.core.membership.Verdict.DOWN;
            out.add(new Placement.Node(id, n.path("slotIncarnation").asLong(), v, standby.contains(n.path("name").asText())));
        }
        return out;
    }

    /**
     * Follows migrations until none of {@code ids} is migrating and (for a switchover of
     * {@code node}, when not 0) nothing runs on that node any more, printing every change.
     * Exit status OK when all ended where they should, FAILURE when one stayed behind.
     */
    static int follow(ClusterConfig cfg, FenceCommand.Requester requester, WorkloadBlocks blocks, List<Integer> ids, int node)
            throws InterruptedException {
        long deadline = System.nanoTime() + (cfg.migration().deadlineMillis() * (1 + ids.size()) + 60_000) * 1_000_000L;
        Map<Integer, String> shown = new TreeMap<>();
        while (System.nanoTime() - deadline < 0) {
            Map<Integer, WorkloadRecord> records = read(cfg, blocks);
            JsonNode view = StatusCommand.daemonView(cfg, requester.runDir, null);
            boolean busy = false;
            List<String> stayed = new ArrayList<>();
            for (int id : ids) {
                WorkloadRecord r = records.get(id);
                if (r == null) {
                    continue;
                }
                String line = line(cfg, r, view);
                if (!line.equals(shown.get(id))) {
                    shown.put(id, line);
                    System.out.println(line);
                }
                boolean onNode = node != 0 && r.ownerId() == node && r.desired() == Placement.Desired.RUNNING;
                if (r.migrating() || r.nextId() != 0 || (onNode && !r.migrationFailed())) {
                    busy = true;
                } else if (r.migrationFailed() && (node == 0 || onNode)) {
                    stayed.add(r.name() + ": " + r.reason());
                }
            }
            if (!busy) {
                if (!stayed.isEmpty()) {
                    System.out.println("not moved: " + String.join("; ", stayed));
                    return ExitStatus.FAILURE;
                }
                if (node != 0) {
                    System.out.println("done: nothing runs on " + cfg.node(node).map(NodeConfig::name).orElse("node " + node)
                            + " any more; 'baton node resume' ends its maintenance");
                }
                return ExitStatus.OK;
            }
            Thread.sleep(POLL_MILLIS);
        }
        System.err.println("still migrating after the deadline; 'baton status' shows where things stand");
        return ExitStatus.FAILURE;
    }

    /**
     * Follows a switch-back: until no VE that node's switchover moved off is away from it or
     * migrating. Those are the VEs still marked with it as their home, and those already on
     * their way to it: by the time the answer is read the coordinator may have started the
     * first moves back, whose records name the node as the target and no longer as the home.
     */
    static int followBack(ClusterConfig cfg, FenceCommand.Requester requester, WorkloadBlocks blocks, int node) throws InterruptedException {
        List<Integer> ids = read(cfg, blocks).values().stream().filter(r -> r.homeId() == node || (r.migrating() && r.nextId() == node))
                .map(WorkloadRecord::id).toList();
        if (ids.isEmpty()) {
            System.out.println("nothing to switch back: no VE was moved off by a switchover");
            return ExitStatus.OK;
        }
        return follow(cfg, requester, blocks, ids, 0) == ExitStatus.OK && waitHome(cfg, blocks, ids, node) ? ExitStatus.OK
                : ExitStatus.FAILURE;
    }

    private static boolean waitHome(ClusterConfig cfg, WorkloadBlocks blocks, List<Integer> ids, int node) throws InterruptedException {
        long deadline = System.nanoTime() + (cfg.migration().deadlineMillis() * (1 + ids.size()) + 60_000) * 1_000_000L;
        while (System.nanoTime() - deadline < 0) {
            Map<Integer, WorkloadRecord> records = read(cfg, blocks);
            if (ids.stream().map(records::get).allMatch(r -> r != null && r.ownerId() == node && !r.migrating())) {
                System.out.println("done: back on " + cfg.node(node).map(NodeConfig::name).orElse("node " + node));
                return true;
            }
            Optional<WorkloadRecord> failed = ids.stream().map(records::get).filter(r -> r != null && r.migrationFailed()).findFirst();
            if (failed.isPresent()) {
                System.out.println("not moved back: " + failed.get().name() + ": " + failed.get().reason());
                return false;
            }
            Thread.sleep(POLL_MILLIS);
        }
        return false;
    }

    /** One line about a workload: where it is, and while it migrates, its phase and QEMU's progress where known. */
    static String line(ClusterConfig cfg, WorkloadRecord r, JsonNode view) {
        String owner = cfg.node(r.ownerId()).map(NodeConfig::name).orElse("none");
        if (!r.migrating()) {
            return r.name() + ": on " + owner + (r.nextId() != 0 ? ", moving cold to " + cfg.node(r.nextId()).map(NodeConfig::name)
                    .orElse("?") : "") + " (" + r.reason() + ")";
        }
        String next = cfg.node(r.nextId()).map(NodeConfig::name).orElse("?");
        StringBuilder b = new StringBuilder(r.name() + ": migrating " + (r.checkpoint() ? "through a checkpoint" : "live") + " "
                + owner + " -> " + next);
        if (view != null) {
            for (JsonNode w : view.path("workloads")) {
                JsonNode m = w.path("migrationHere");
                // Before QEMU took the new migration, query-migrate still reports the previous one's end: not this one's.
                String phase = m.path("phase").asText("starting");
                if (w.path("id").asInt() == r.id() && !m.isMissingNode() && !List.of("failed", "cancelled", "completed").contains(phase)) {
                    long total = m.path("totalBytes").asLong();
                    long done = m.path("transferredBytes").asLong();
                    b.append(String.format(Locale.ROOT, ", %s %s", m.path("role").asText(), phase));
                    if (total > 0) {
                        b.append(String.format(Locale.ROOT, ", %d of %d MiB sent, %d MiB left, %.0f MiB/s", done >> 20, total >> 20,
                                m.path("remainingBytes").asLong() >> 20, m.path("bytesPerSecond").asLong() / 1048576.0));
                    }
                }
            }
        }
        return b.toString();
    }
}
