package baton.cli;

import baton.core.disk.ClusterKey;
import baton.runtime.config.ClusterConfig;
import baton.runtime.config.NodeConfig;
import baton.runtime.log.KvLog;
import baton.runtime.node.ExitStatus;
import baton.runtime.node.NodeDaemon;
import baton.runtime.fence.FenceCheck;
import baton.core.fence.FenceLevel;
import baton.runtime.node.RunDir;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "node", mixinStandardHelpOptions = true, description = "Run or manage a cluster node.",
        subcommands = {NodeCommand.Run.class, NodeCommand.Leave.class, WorkloadCommand.Standby.class,
                WorkloadCommand.Unstandby.class, MigrateCommand.Switchover.class, MigrateCommand.Resume.class})
final class NodeCommand {
    @Command(name = "run", mixinStandardHelpOptions = true,
            description = {"Run the node daemon in the foreground until SIGTERM or until it must leave.",
                    "Logs one key=value line per state change on stderr.",
                    "Exit status: 0 left cleanly (or 143 after SIGTERM), 3 bad configuration, 4 quorum disk refused,",
                    "5 refused to join (could write neither disk copy), 6 left after losing the quorum disk,",
                    "7 another daemon runs with this node's identity, 8 fenced by a poison pill."})
    static final class Run implements Callable<Integer> {
        @Mixin
        ConfigOption config;

        @Option(names = {"-n", "--node"}, required = true, paramLabel = "NAME", description = "This node's name in the configuration.")
        String nodeName;

        @Option(names = "--run-dir", paramLabel = "DIR", defaultValue = "/run/baton",
                description = "Where the daemon keeps its pid and status files, under DIR/CLUSTER/ (default ${DEFAULT-VALUE}).")
        Path runDir;

        @Override
        public Integer call() {
            ClusterConfig cfg = config.load();
            NodeConfig node = cfg.node(nodeName).orElseThrow(() -> new CliFailure(ExitStatus.CONFIG,
                    config.file + ": no node named '" + nodeName + "' under nodes; known: "
                            + cfg.nodes().stream().map(NodeConfig::name).toList()));
            ClusterKey key = ConfigOption.key(cfg);
            KvLog log = new KvLog(System.err, node.name());
            // The fence devices against their agents' own metadata, before this node may ever fence
            // with them: a typo found now, not when a node has failed.
            if (!cfg.fenceDevices().isEmpty()) {
                FenceCheck.Report report;
                try {
                    report = new FenceCheck().check(cfg, FenceCheck.Mode.METADATA);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return ExitStatus.FAILURE;
                }
                if (!report.ok()) {
                    report.render().forEach(line -> log.error("event=config-invalid problem=" + KvLog.q(line)));
                    return ExitStatus.CONFIG;
                }
                log.info("event=fence-check result=" + KvLog.q(report.summary()));
            }
            // The workloads' files, programs and agents: a node that could not run one must not own it.
            if (!cfg.workloads().isEmpty()) {
                List<String> problems;
                try {
                    problems = baton.runtime.resource.WorkloadCheck.onThisHost().problems(cfg.workloads());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return ExitStatus.FAILURE;
                }
                if (!problems.isEmpty()) {
                    problems.forEach(line -> log.error("event=config-invalid problem=" + KvLog.q(line)));
                    return ExitStatus.CONFIG;
                }
                log.info("event=workload-check result=" + KvLog.q(cfg.workloads().size() + " workloads can run here"));
            }
            if (cfg.fenceTopology().levelsByNode().values().stream().anyMatch(l -> l.stream().anyMatch(FenceLevel::isPoisonPill))
                    && cfg.fencing().watchdogTimeoutMillis() == 0) {
                log.warn("event=poison-pill-without-watchdog note=" + KvLog.q("a poison-pill level is configured but no"
                        + " hardware watchdog (fencing.watchdogTimeoutMillis is 0): a hung node would not die by the pill's"
                        + " deadline; see docs/fencing.md"));
            }
            NodeDaemon daemon;
            try {
                daemon = NodeDaemon.prepare(cfg, node, key, log, RunDir.of(runDir, cfg.clusterName()));
            } catch (NodeDaemon.StartFailure e) {
                log.error(e.getMessage() + " status=" + e.status());
                return e.status();
            }
            long leaveMillis = leaveMillis(cfg);
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

    /**
     * How long a clean leave may take: its workloads stop first (each resource within its stop
     * timeout, a VE also gets QEMU's quit and kill), then it writes its slot in state "left".
     */
    static long leaveMillis(ClusterConfig cfg) {
        long stopMillis = cfg.workloads().stream().flatMap(w -> w.resources().stream())
                .mapToLong(r -> r.timing().stopTimeoutMillis() + 5_000).sum();
        return cfg.timeouts().ioTimeoutMillis() + 2_000 + stopMillis;
    }

    @Command(name = "leave", mixinStandardHelpOptions = true,
            description = {"Make the node daemon running on this host leave the cluster cleanly (SIGTERM):",
                    "it stops its workloads, writes its slot in state 'left' and exits; the others see 'left', not a failure,",
                    "and start its workloads elsewhere."})
    static final class Leave implements Callable<Integer> {
        @Mixin
        ConfigOption config;

        @Option(names = {"-n", "--node"}, required = true, paramLabel = "NAME", description = "The node to leave.")
        String nodeName;

        @Option(names = "--run-dir", paramLabel = "DIR", defaultValue = "/run/baton", description = "As given to 'node run'.")
        Path runDir;

        @Override
        public Integer call() throws Exception {
            ClusterConfig cfg = config.load();
            Path pidFile = RunDir.of(runDir, cfg.clusterName()).pidFile(nodeName);
            if (!Files.exists(pidFile)) {
                throw new CliFailure(ExitStatus.FAILURE, "no daemon of node '" + nodeName + "' runs here (" + pidFile + " is missing)");
            }
            long pid = Long.parseLong(Files.readString(pidFile).strip());
            ProcessHandle p = ProcessHandle.of(pid).orElseThrow(() -> new CliFailure(ExitStatus.FAILURE,
                    "the daemon of node '" + nodeName + "' (pid " + pid + ") is not running; remove " + pidFile));
            p.destroy();
            long deadline = System.nanoTime() + (leaveMillis(cfg) + 3_000) * 1_000_000L;
            while (p.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            if (p.isAlive()) {
                throw new CliFailure(ExitStatus.FAILURE, "node '" + nodeName + "' (pid " + pid + ") has not exited yet");
            }
            System.out.println("node '" + nodeName + "' left the cluster");
            return ExitStatus.OK;
        }
    }
}
