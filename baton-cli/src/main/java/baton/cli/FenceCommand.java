package baton.cli;

import baton.core.disk.ClusterKey;
import baton.core.disk.DiskHeader;
import baton.core.disk.DiskLayout;
import baton.core.fence.FenceRecord;
import baton.core.fence.FenceRecordCodec;
import baton.core.fence.OperatorRequest;
import baton.runtime.config.ClusterConfig;
import baton.runtime.config.NodeConfig;
import baton.runtime.disk.DiskRefusedException;
import baton.runtime.disk.QuorumDisk;
import baton.runtime.fence.FenceBlocks;
import baton.runtime.fence.FenceCheck;
import baton.runtime.node.ExitStatus;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "fence", mixinStandardHelpOptions = true,
        subcommands = {FenceCommand.Status.class, FenceCommand.History.class, FenceCommand.Confirm.class, FenceCommand.Check.class},
        description = {"Fence NODE now through its fencing levels (asks for confirmation; --yes does not).",
                "The request goes to the coordinator through the quorum disk; the command waits for its answer.",
                "Subcommands: status (every fence device with its last monitor result), history (the fence records",
                "on the quorum disk), confirm NODE (declare a down node dead after checking by hand), check",
                "(validate the fence devices against their agents' metadata)."})
final class FenceCommand implements Callable<Integer> {
    @Mixin
    ConfigOption config;

    @Parameters(arity = "0..1", paramLabel = "NODE", description = "The node to fence.")
    String target;

    @Mixin
    Requester requester;

    @Option(names = "--reason", defaultValue = "manual fence", description = "Why, for the record (default: ${DEFAULT-VALUE}).")
    String reason;

    @Override
    public Integer call() throws Exception {
        if (target == null) {
            throw new CliFailure(ExitStatus.USAGE, "name the node to fence, or a subcommand: status, history, confirm, check");
        }
        ClusterConfig cfg = config.load();
        NodeConfig victim = node(cfg, target);
        if (!requester.yes && !ask("Fence " + victim.name() + " now? Its power will be switched off through its fencing levels,"
                + " and everything it runs stops. [y/N] ")) {
            System.out.println("not fenced");
            return ExitStatus.FAILURE;
        }
        return requester.send(cfg, OperatorRequest.Kind.FENCE, victim, reason);
    }

    /** The options shared by the commands that send a request to the coordinator. */
    static final class Requester {
        @Option(names = {"-y", "--yes"}, description = "Do not ask for confirmation.")
        boolean yes;

        @Option(names = "--as", paramLabel = "NAME",
                description = "The node this command runs on (default: the node whose daemon runs on this host).")
        String as;

        @Option(names = "--run-dir", paramLabel = "DIR", defaultValue = "/run/baton", description = "As given to 'node run'.")
        Path runDir;

        @Option(names = "--wait", paramLabel = "SECONDS", defaultValue = "180",
                description = "How long to wait for the coordinator's answer (default: ${DEFAULT-VALUE}).")
        int waitSeconds;

        @Option(names = "--json", description = "Machine-readable output: the coordinator's answer (with --plan, the plan) as JSON.")
        boolean json;

        int send(ClusterConfig cfg, OperatorRequest.Kind kind, NodeConfig victim, String reason) throws Exception {
            JsonNode view = StatusCommand.daemonView(cfg, runDir, as);
            NodeConfig self = self(cfg, view);
            long incarnation = 0;
            if (view != null) {
                for (JsonNode n : view.path("nodes")) {
                    if (n.path("id").asInt() == victim.id()) {
                        incarnation = n.path("slotIncarnation").asLong(0);
                    }
                }
            }
            long targetIncarnation = incarnation;
            return withDisk(cfg, true, (disk, header, key) -> {
                FenceBlocks blocks = new FenceBlocks(disk, new FenceRecordCodec(header.clusterId(), key));
                OperatorRequest request = submit(cfg, blocks, self, kind, victim.id(), targetIncarnation, reason, 0);
                System.err.println(kind.label + " request " + request.seq() + " for " + victim.name() + (targetIncarnation == 0 ? ""
                        : " (incarnation " + targetIncarnation + ")") + " written by " + self.name() + "; waiting for the coordinator");
                return await(blocks, request, victim);
            });
        }

        /** The node this command runs on: --as, else the one whose daemon runs on this host. */
        NodeConfig self(ClusterConfig cfg, JsonNode view) {
            if (as != null) {
                return node(cfg, as);
            } else if (view != null) {
                return node(cfg, view.path("node").asText());
            }
            throw new CliFailure(ExitStatus.FAILURE, "no node daemon of cluster '" + cfg.clusterName() + "' runs on this host;"
                    + " run this on a cluster node, or name this node with --as");
        }

        /**
         * Sends a request through this node's API when it answers (the daemon then writes it, one
         * request at a time), else writes it to the quorum disk directly; returns it with its seq.
         */
        static OperatorRequest submit(ClusterConfig cfg, FenceBlocks blocks, NodeConfig self, OperatorRequest.Kind kind, int targetId,
                                      long targetIncarnation, String reason, int workloadId) throws InterruptedException {
            java.util.Optional<ApiClient> api = ApiClient.of(cfg, self);
            if (api.isPresent()) {
                com.fasterxml.jackson.databind.node.ObjectNode body = DiskCommand.JSON.createObjectNode();
                body.put("wait", 0);
                String path = ApiActions.path(cfg, kind, targetId, targetIncarnation, reason, workloadId, body);
                try {
                    JsonNode answer = api.get().post(path, body);
                    return new OperatorRequest(self.id(), answer.path("seq").asLong(), kind, targetId, targetIncarnation,
                            System.currentTimeMillis(), reason, workloadId);
                } catch (ApiClient.ApiFailure f) {
                    throw new CliFailure(f.status == 503 ? ExitStatus.FAILURE : ExitStatus.USAGE, self.name() + "'s API refused the request: "
                            + f.getMessage());
                } catch (java.io.IOException e) {
                    // The daemon's API does not answer: write the request ourselves.
                }
            }
            return write(blocks, self, seq -> new OperatorRequest(self.id(), seq, kind, targetId, targetIncarnation,
                    System.currentTimeMillis(), reason, workloadId));
        }

        /** Writes the next request of {@code self} (its seq after the one in its block) to both copies. */
        static OperatorRequest write(FenceBlocks blocks, NodeConfig self, java.util.function.LongFunction<OperatorRequest> make) {
            try {
                return baton.runtime.api.OperatorRequests.write(blocks, self, make);
            } catch (IllegalStateException e) {
                throw new CliFailure(ExitStatus.FAILURE, e.getMessage());
            }
        }

        /** Polls the victim's fence record until the coordinator answered the request with a final state. */
        private int await(FenceBlocks blocks, OperatorRequest request, NodeConfig victim) throws InterruptedException {
            long deadline = System.nanoTime() + waitSeconds * 1_000_000_000L;
            String last = "";
            while (System.nanoTime() - deadline < 0) {
                Optional<FenceRecord> r = blocks.record(victim.id());
                if (r.isPresent() && r.get().requesterId() == request.requesterId() && r.get().requestSeq() == request.seq()) {
                    FenceRecord rec = r.get();
                    String line = rec.state().label + ": " + rec.text();
                    if (!line.equals(last)) {
                        System.err.println("  " + line);
                        last = line;
                    }
                    switch (rec.state()) {
                        case FENCED, CONFIRMED -> {
                            print(rec);
                            return ExitStatus.OK;
                        }
                        case REFUSED, CANNOT_DETERMINE, CANCELLED -> {
                            print(rec);
                            return ExitStatus.FAILURE;
                        }
                        case FENCING -> { }
                    }
                }
                Thread.sleep(200);
            }
            System.err.println("no final answer within " + waitSeconds + " s; 'baton fence history' shows what happened");
            return ExitStatus.FAILURE;
        }

        private void print(FenceRecord r) {
            if (json) {
                System.out.println(History.toJson(r, null));
            } else {
                System.out.println(r.state().label + " " + "(seq " + r.seq() + ", generation " + r.generation() + "): " + r.text());
            }
        }
    }

    @Command(name = "confirm", mixinStandardHelpOptions = true,
            description = {"Declare NODE dead on your word, after you checked by hand that it is powered off.",
                    "Only for a node the cluster holds down and cannot fence; if it still runs, its workloads will run twice."})
    static final class Confirm implements Callable<Integer> {
        @Mixin
        ConfigOption config;

        @Parameters(paramLabel = "NODE", description = "The node that is down and cannot be fenced.")
        String target;

        @Mixin
        Requester requester;

        @Option(names = "--reason", defaultValue = "checked by hand", description = "What was checked (default: ${DEFAULT-VALUE}).")
        String reason;

        @Override
        public Integer call() throws Exception {
            ClusterConfig cfg = config.load();
            NodeConfig victim = node(cfg, target);
            System.err.println("WARNING: the cluster will treat " + victim.name() + " as dead and recover what it ran elsewhere."
                    + " If it is still running, its workloads will run twice and shared data may be destroyed.");
            if (!requester.yes && !ask("Have you checked that " + victim.name() + " is powered off? [y/N] ")) {
                System.out.println("not confirmed");
                return ExitStatus.FAILURE;
            }
            return requester.send(cfg, OperatorRequest.Kind.CONFIRM, victim, reason);
        }
    }

    @Command(name = "history", mixinStandardHelpOptions = true,
            description = "The fence records on the quorum disk (the last " + DiskLayout.HISTORY_BLOCKS + "), oldest first.")
    static final class History implements Callable<Integer> {
        @Mixin
        ConfigOption config;

        @Option(names = "--json", description = "Machine-readable output.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            ClusterConfig cfg = config.load();
            List<FenceRecord> records = withFenceBlocks(cfg, false, FenceBlocks::history);
            if (json) {
                ArrayNode a = DiskCommand.JSON.createArrayNode();
                records.forEach(r -> a.add(toJson(r, cfg)));
                System.out.println(DiskCommand.JSON.writeValueAsString(a));
            } else if (records.isEmpty()) {
                System.out.println("no fence records on the quorum disk");
            } else {
                Table t = new Table("SEQ", "TIME", "NODE", "INCARNATION", "STATE", "PILL", "BY", "GEN", "REQUEST", "WHAT");
                for (FenceRecord r : records) {
                    t.row(r.seq(), Instant.ofEpochMilli(r.wallEpochMillis()), name(cfg, r.victimId()), r.victimIncarnation(),
                            r.state().label, r.pill() ? "yes" : "-", name(cfg, r.coordinatorId()), r.generation(),
                            r.requesterId() == 0 ? "-" : name(cfg, r.requesterId()) + "#" + r.requestSeq(), r.text());
                }
                System.out.print(t);
            }
            return ExitStatus.OK;
        }

        static ObjectNode toJson(FenceRecord r, ClusterConfig cfg) {
            ObjectNode o = DiskCommand.JSON.createObjectNode();
            o.put("seq", r.seq());
            o.put("time", Instant.ofEpochMilli(r.wallEpochMillis()).toString());
            o.put("nodeId", r.victimId());
            if (cfg != null) {
                o.put("node", name(cfg, r.victimId()));
            }
            o.put("incarnation", r.victimIncarnation());
            o.put("state", r.state().label);
            o.put("pill", r.pill());
            o.put("coordinatorId", r.coordinatorId());
            o.put("generation", r.generation());
            if (r.requesterId() != 0) {
                o.put("requesterId", r.requesterId());
                o.put("requestSeq", r.requestSeq());
            }
            o.put("text", r.text());
            return o;
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true,
            description = {"Every fence device with its last monitor result and time, and whether each node can be fenced,",
                    "as the node daemon running on this host sees it; and each node's latest fence record on the quorum disk."})
    static final class Status implements Callable<Integer> {
        @Mixin
        ConfigOption config;

        @Option(names = "--json", description = "Machine-readable output.")
        boolean json;

        @Option(names = {"-n", "--node"}, paramLabel = "NAME", description = "Whose view, when several daemons run on this host.")
        String nodeName;

        @Option(names = "--run-dir", paramLabel = "DIR", defaultValue = "/run/baton", description = "As given to 'node run'.")
        Path runDir;

        @Override
        public Integer call() throws Exception {
            ClusterConfig cfg = config.load();
            JsonNode view = StatusCommand.daemonView(cfg, runDir, nodeName);
            Map<Integer, FenceRecord> records = withFenceBlocks(cfg, false, b -> b.records(cfg.maxNodeId()));
            if (json) {
                ObjectNode root = DiskCommand.JSON.createObjectNode();
                root.set("devices", view == null ? DiskCommand.JSON.createArrayNode() : view.path("fenceDevices"));
                ArrayNode nodes = root.putArray("nodes");
                for (NodeConfig n : cfg.nodes()) {
                    ObjectNode o = nodes.addObject();
                    o.put("name", n.name());
                    o.put("id", n.id());
                    JsonNode nv = nodeView(view, n.id());
                    o.put("verdict", nv.path("verdict").asText(null));
                    o.put("fencing", nv.path("fencing").asText(null));
                    o.put("fencePath", nv.path("fencePath").asText(null));
                    if (records.containsKey(n.id())) {
                        o.set("lastRecord", History.toJson(records.get(n.id()), cfg));
                    }
                }
                System.out.println(DiskCommand.JSON.writeValueAsString(root));
                return ExitStatus.OK;
            }
            if (view == null) {
                System.out.println("(no node daemon of cluster '" + cfg.clusterName() + "' runs on this host: no monitor results)");
            } else {
                System.out.println("fence devices as monitored by " + view.path("node").asText() + ":");
                Table d = new Table("DEVICE", "STATE", "LAST RESULT", "TOOK", "FAILURES", "FENCES", "REASON");
                for (JsonNode dev : view.path("fenceDevices")) {
                    d.row(dev.path("name").asText(), dev.path("state").asText(),
                            dev.has("lastResultEpochMillis") ? Instant.ofEpochMilli(dev.path("lastResultEpochMillis").asLong())
                                    + " (" + dev.path("lastResultAgoMillis").asLong() / 1000 + " s ago)" : "never",
                            dev.has("lastDurationMillis") ? dev.path("lastDurationMillis").asLong() + " ms" : "-",
                            dev.path("consecutiveFailures").asInt(), join(dev.path("nodes")), dev.path("reason").asText("-"));
                }
                System.out.print(d);
                System.out.println();
            }
            Table t = new Table("NODE", "VERDICT", "FENCE PATH", "FENCING", "LAST RECORD");
            for (NodeConfig n : cfg.nodes()) {
                JsonNode nv = nodeView(view, n.id());
                FenceRecord r = records.get(n.id());
                t.row(n.name(), nv.path("verdict").asText("-"),
                        nv.path("fencePath").asText("-") + (nv.has("fencePathReason") ? ": " + nv.path("fencePathReason").asText() : ""),
                        nv.path("fencing").asText("-"),
                        r == null ? "-" : r.state().label + " @" + r.victimIncarnation() + " " + Instant.ofEpochMilli(r.wallEpochMillis())
                                + ": " + r.text());
            }
            System.out.print(t);
            return ExitStatus.OK;
        }

        private static JsonNode nodeView(JsonNode view, int id) {
            if (view != null) {
                for (JsonNode n : view.path("nodes")) {
                    if (n.path("id").asInt() == id) {
                        return n;
                    }
                }
            }
            return DiskCommand.JSON.createObjectNode();
        }

        private static String join(JsonNode array) {
            StringBuilder b = new StringBuilder();
            array.forEach(x -> b.append(b.isEmpty() ? "" : ",").append(x.asText()));
            return b.toString();
        }
    }

    @Command(name = "check", mixinStandardHelpOptions = true,
            description = {"Validate every fence device's parameters against its agent's own metadata (-o metadata):",
                    "unknown parameters (with the closest known name), missing required ones, wrong values.",
                    "With --validate-all, also run each agent's validate-all action."})
    static final class Check implements Callable<Integer> {
        @Mixin
        ConfigOption config;

        @Option(names = "--validate-all", description = "Also run each device's validate-all action.")
        boolean validateAll;

        @Option(names = "--json", description = "Machine-readable output: every device with its problems.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            ClusterConfig cfg = config.load();
            FenceCheck.Report report = new FenceCheck().check(cfg,
                    validateAll ? FenceCheck.Mode.WITH_VALIDATE_ALL : FenceCheck.Mode.METADATA);
            if (json) {
                ObjectNode o = DiskCommand.JSON.createObjectNode();
                o.put("file", report.file().toString());
                o.put("mode", report.mode().name().toLowerCase(java.util.Locale.ROOT));
                o.put("ok", report.ok());
                o.put("summary", report.summary());
                var devices = o.putArray("devices");
                for (FenceCheck.DeviceCheck d : report.devices().values()) {
                    ObjectNode device = devices.addObject();
                    device.put("device", d.device());
                    device.put("agent", d.agent().toString());
                    device.put("validateAll", d.validateAll().name().toLowerCase(java.util.Locale.ROOT));
                    var problems = device.putArray("problems");
                    for (baton.runtime.config.Problem p : d.problems()) {
                        problems.addObject().put("line", p.line()).put("key", p.key()).put("problem", p.problem()).put("fix", p.fix())
                                .put("message", p.message());
                    }
                }
                System.out.println(DiskCommand.JSON.writeValueAsString(o));
            } else {
                report.render().forEach(System.out::println);
            }
            return report.ok() ? ExitStatus.OK : ExitStatus.CONFIG;
        }
    }

    static NodeConfig node(ClusterConfig cfg, String name) {
        return cfg.node(name).orElseThrow(() -> new CliFailure(ExitStatus.USAGE, "no node named '" + name + "' in "
                + cfg.file() + "; the nodes are " + String.join(", ", cfg.nodes().stream().map(NodeConfig::name).toList())));
    }

    static String name(ClusterConfig cfg, int id) {
        return cfg.node(id).map(NodeConfig::name).orElse("node " + id);
    }

    /** What a command does with the fence blocks of the quorum disk. */
    interface FenceBlocksUse<T> {
        T apply(FenceBlocks blocks) throws Exception;
    }

    /** What a command does with the verified quorum disk. */
    interface DiskUse<T> {
        T apply(QuorumDisk disk, DiskHeader header, ClusterKey key) throws Exception;
    }

    /**
     * Opens the quorum disk ({@code writable} for a request), refuses it unless its header is this
     * cluster's and key's, and hands it to {@code use}.
     */
    static <T> T withDisk(ClusterConfig cfg, boolean writable, DiskUse<T> use) throws Exception {
        ClusterKey key = ConfigOption.key(cfg);
        try (QuorumDisk disk = DiskCommand.open(cfg, writable)) {
            DiskHeader header = disk.verify(cfg.clusterName(), key, false).header();
            return use.apply(disk, header, key);
        } catch (DiskRefusedException e) {
            throw new CliFailure(ExitStatus.DISK_REFUSED, e.getMessage());
        }
    }

    /** {@link #withDisk} for the fence blocks. */
    static <T> T withFenceBlocks(ClusterConfig cfg, boolean writable, FenceBlocksUse<T> use) throws Exception {
        return withDisk(cfg, writable, (disk, header, key) -> use.apply(new FenceBlocks(disk, new FenceRecordCodec(header.clusterId(), key))));
    }

    static boolean ask(String question) throws java.io.IOException {
        if (System.console() == null) {
            throw new CliFailure(ExitStatus.USAGE, "no terminal to ask for confirmation; add --yes to proceed without asking");
        }
        System.out.print(question);
        System.out.flush();
        String answer = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
        return answer != null && (answer.trim().equalsIgnoreCase("y") || answer.trim().equalsIgnoreCase("yes"));
    }
}
