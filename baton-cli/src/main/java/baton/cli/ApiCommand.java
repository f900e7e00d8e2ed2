package baton.cli;

import baton.runtime.api.ApiToken;
import baton.runtime.config.ClusterConfig;
import baton.runtime.config.NodeConfig;
import baton.runtime.node.ExitStatus;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "api", mixinStandardHelpOptions = true,
        description = {"The nodes' HTTPS API and dashboard (docs/api.md): the token, the addresses, and raw requests."},
        subcommands = {ApiCommand.Token.class, ApiCommand.Url.class, ApiCommand.Get.class, ApiCommand.Post.class})
final class ApiCommand {
    /** Which node to talk to: --node, else the one whose daemon runs on this host. */
    static final class Target {
        @Option(names = {"-n", "--node"}, paramLabel = "NAME", description = "The node to ask (default: the one running on this host).")
        String node;

        @Option(names = "--run-dir", paramLabel = "DIR", defaultValue = "/run/baton", description = "As given to 'node run'.")
        Path runDir;

        ApiClient client(ClusterConfig cfg) {
            NodeConfig n = node != null ? FenceCommand.node(cfg, node) : local(cfg, runDir);
            return ApiClient.of(cfg, n).orElseThrow(() -> new CliFailure(ExitStatus.FAILURE, cfg.api().enabled()
                    ? "no API certificate of " + n.name() + " at " + cfg.api().certificateOf(n.name())
                    + "; the node writes it when it first starts (is it running?)"
                    : "the API is disabled (api.enabled: false in " + cfg.file() + ")"));
        }
    }

    /** The node whose daemon runs on this host. */
    static NodeConfig local(ClusterConfig cfg, Path runDir) {
        JsonNode view = StatusCommand.fileView(cfg, runDir, null);
        if (view == null) {
            throw new CliFailure(ExitStatus.FAILURE, "no node daemon of cluster '" + cfg.clusterName() + "' runs on this host;"
                    + " name a node with --node");
        }
        return FenceCommand.node(cfg, view.path("node").asText());
    }

    @Command(name = "token", mixinStandardHelpOptions = true,
            description = "Print the API token (derived from the cluster key; the same on every node).")
    static final class Token implements Callable<Integer> {
        @Mixin
        ConfigOption config;

        @Override
        public Integer call() {
            System.out.println(ApiToken.of(ConfigOption.key(config.load())).text());
            return ExitStatus.OK;
        }
    }

    @Command(name = "url", mixinStandardHelpOptions = true,
            description = "Print each node's dashboard address, and where its certificate is.")
    static final class Url implements Callable<Integer> {
        @Mixin
        ConfigOption config;

        @Override
        public Integer call() {
            ClusterConfig cfg = config.load();
            Table t = new Table("NODE", "DASHBOARD", "CERTIFICATE");
            for (NodeConfig n : cfg.nodes()) {
                t.row(n.name(), cfg.api().url(n),
                        cfg.api().certificateOf(n.name()).toString());
            }
            System.out.print(t);
            return ExitStatus.OK;
        }
    }

    @Command(name = "get", mixinStandardHelpOptions = true, description = "GET a path (e.g. /api/v1/status) and print the JSON.")
    static final class Get implements Callable<Integer> {
        @Mixin
        ConfigOption config;

        @Mixin
        Target target;

        @Parameters(paramLabel = "PATH")
        String path;

        @Override
        public Integer call() throws Exception {
            ApiClient c = target.client(config.load());
            try {
                if (path.equals("/metrics")) {
                    System.out.print(c.metrics());
                } else {
                    System.out.println(DiskCommand.JSON.writeValueAsString(c.get(path)));
                }
                return ExitStatus.OK;
            } catch (ApiClient.ApiFailure f) {
                System.err.println("HTTP " + f.status + ": " + f.getMessage());
                return ExitStatus.FAILURE;
            }
        }
    }

    @Command(name = "post", mixinStandardHelpOptions = true,
            description = "POST a JSON body (default {}) to a path (e.g. /api/v1/nodes/node-2/switchover) and print the answer.")
    static final class Post implements Callable<Integer> {
        @Mixin
        ConfigOption config;

        @Mixin
        Target target;

        @Parameters(index = "0", paramLabel = "PATH")
        String path;

        @Parameters(index = "1", paramLabel = "JSON", defaultValue = "{}")
        String body;

        @Override
        public Integer call() throws Exception {
            ApiClient c = target.client(config.load());
            JsonNode parsed = DiskCommand.JSON.readTree(body);
            if (!(parsed instanceof ObjectNode o)) {
                throw new CliFailure(ExitStatus.USAGE, "the body must be a JSON object, e.g. '{\"mode\": \"live\"}'");
            }
            try {
                System.out.println(DiskCommand.JSON.writeValueAsString(c.post(path, o)));
                return ExitStatus.OK;
            } catch (ApiClient.ApiFailure f) {
                System.out.println(DiskCommand.JSON.writeValueAsString(f.body));
                System.err.println("HTTP " + f.status + ": " + f.getMessage());
                return ExitStatus.FAILURE;
            }
        }
    }
}
