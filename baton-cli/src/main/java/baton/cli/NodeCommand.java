package baton.cli;

import baton.core.disk.ClusterKey;
import baton.runtime.config.ClusterConfig;
import baton.runtime.config.NodeConfig;
import baton.runtime.log.KvLog;
import baton.runtime.node.ExitStatus;
import baton.runtime.node.NodeDaemon;
import baton.runtime.node.WorkloadStopper;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "node", mixinStandardHelpOptions = true, description = "Run or manage a cluster node.",
        subcommands = {NodeCommand.Run.class})
final class NodeCommand {
    @Command(name = "run", mixinStandardHelpOptions = true,
            description = {"Run the node daemon in the foreground until SIGTERM or until it must leave.",
                    "Logs one key=value line per state change on stderr.",
                    "Exit status: 0 left cleanly (or 143 after SIGTERM), 3 bad configuration, 4 quorum disk refused,",
                    "5 refused to join (could write neither disk copy), 6 left after losing the quorum disk,",
                    "7 another daemon runs with this node's identity."})
    static final class Run implements Callable<Integer> {
        @Mixin
        ConfigOption config;

        @Option(names = {"-n", "--node"}, required = true, paramLabel = "NAME", description = "This node's name in the configuration.")
        String nodeName;

        @Override
        public Integer call() {
            ClusterConfig cfg = config.load();
            NodeConfig node = cfg.node(nodeName).orElseThrow(() -> new CliFailure(ExitStatus.CONFIG,
                    config.file + ": no node named '" + nodeName + "' under nodes; known: "
                            + cfg.nodes().stream().map(NodeConfig::name).toList()));
            ClusterKey key = ConfigOption.key(cfg);
            KvLog log = new KvLog(System.err, node.name());
            NodeDaemon daemon;
            try {
                daemon = NodeDaemon.prepare(cfg, node, key, log, WorkloadStopper.NONE);
            } catch (NodeDaemon.StartFailure e) {
                log.error(e.getMessage() + " status=" + e.status());
                return e.status();
            }
            long leaveMillis = cfg.timeouts().ioTimeoutMillis() + 2_000;
            Thread hook = new Thread(() -> {
                log.info("event=signal signal=TERM action=leave");
                daemon.requestLeave(leaveMillis);
            }, "baton-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            int status = daemon.run();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // SIGTERM: the hook is running and waits for us; the JVM exits with 143.
            }
            return status;
        }
    }
}
