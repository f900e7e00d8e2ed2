package baton.cli;

import baton.runtime.config.ClusterConfig;
import baton.runtime.config.ConfigException;
import baton.runtime.config.ConfigLoader;
import baton.runtime.config.KeyFile;
import baton.runtime.config.NodeConfig;
import baton.runtime.disk.QuorumDisk;
import baton.runtime.log.KvLog;
import baton.runtime.node.DiskIoStats;
import baton.runtime.node.NodeDaemon;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks that print their figures and how they were run.",
        subcommands = {BenchCommand.Disk.class, LabBench.Detection.class, LabBench.Idle.class, LabBench.FalseVerdicts.class,
                FenceBench.Fence.class, FenceBench.AgentCalls.class, WorkloadBench.Failover.class, WorkloadBench.Probe.class,
                MigrationBench.Migrate.class, SwitchoverBench.Switchover.class})
final class BenchCommand {
    @Command(name = "disk", mixinStandardHelpOptions = true,
            description = {"Quorum disk I/O: runs N real node daemons (in this process, one event loop each) against",
                    "one quorum disk file and reports disk I/O per node per second and the slot cycle's latency",
                    "(issue of a cycle's two slot writes and two area reads to the last completion), p50/p99."})
    static final class Disk implements Callable<Integer> {
        @Option(names = "--nodes", defaultValue = "3", description = "Node daemons (default ${DEFAULT-VALUE}).")
        int nodes;

        @Option(names = "--seconds", defaultValue = "30", description = "Measured duration (default ${DEFAULT-VALUE}).")
        int seconds;

        @Option(names = "--interval-ms", defaultValue = "200", description = "diskIntervalMillis (default ${DEFAULT-VALUE}).")
        int intervalMillis;

        @Option(names = "--dir", defaultValue = "/var/tmp", description = "Where to create the disk file (default ${DEFAULT-VALUE}).")
        Path dir;

        @Override
        public Integer call() throws Exception {
            Path work = Files.createTempDirectory(dir, "baton-bench-");
            try {
                Path key = work.resolve("cluster.key");
                KeyFile.generate(key, false);
                StringBuilder yaml = new StringBuilder("cluster:\n  name: bench\n  keyFile: cluster.key\n  heartbeatPort: " + (20000 + ProcessHandle.current().pid() % 20000) + "\nnodes:\n");
                for (int i = 1; i <= nodes; i++) {
                    yaml.append("  - id: ").append(i).append("\n    name: n").append(i).append("\n    addresses: [127.0.0.")
                            .append(i).append("]\n");
                }
                yaml.append("quorumDisk:\n  primary: quorum.img\ntimeouts:\n  diskIntervalMillis: ").append(intervalMillis).append('\n');
                Path file = work.resolve("cluster.yaml");
                Files.writeString(file, yaml);
                ClusterConfig cfg = load(file);
                QuorumDisk.init(cfg.quorumDisk(), cfg.clusterName(), KeyFile.read(key), false, System.currentTimeMillis());
                PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
                List<NodeDaemon> daemons = new ArrayList<>();
                List<Thread> loops = new ArrayList<>();
                String ioMode = "?";
                for (NodeConfig n : cfg.nodes()) {
                    NodeDaemon d = NodeDaemon.prepare(cfg, n, KeyFile.read(key), new KvLog(quiet, n.name()),
                            null);
                    daemons.add(d);
                    loops.add(Thread.ofPlatform().name("bench-" + n.name()).start(d::run));
                }
                try (QuorumDisk probe = QuorumDisk.open(cfg.quorumDisk(), false)) {
                    ioMode = probe.copy(baton.core.disk.Copy.PRIMARY).ioMode();
                }
                Thread.sleep(2_000); // warm-up: join, JIT
                List<DiskIoStats.Snapshot> before = daemons.stream().map(d -> d.stats().snapshot()).toList();
                long t0 = System.nanoTime();
                Thread.sleep(seconds * 1000L);
                double elapsed = (System.nanoTime() - t0) / 1e9;
                List<DiskIoStats.Snapshot> after = daemons.stream().map(d -> d.stats().snapshot()).toList();
                for (NodeDaemon d : daemons) {
                    d.requestLeave(5_000);
                }
                for (Thread t : loops) {
                    t.join(5_000);
                }
                System.out.printf("baton bench disk: %d node daemons, diskIntervalMillis=%d, %d s measured after 2 s warm-up%n",
                        nodes, intervalMillis, seconds);
                System.out.printf("disk file: %s (%s), io=%s, JDK %s, %d CPUs%n", work.resolve("quorum.img"),
                        Files.getFileStore(work).type(), ioMode, Runtime.version(), Runtime.getRuntime().availableProcessors());
                Table t = new Table("NODE", "WRITES/S", "READS/S", "KIB WRITTEN/S", "KIB READ/S", "CYCLES", "CYCLE P50 MS", "CYCLE P99 MS", "MAX MS");
                for (int i = 0; i < daemons.size(); i++) {
                    DiskIoStats.Snapshot a = after.get(i), b = before.get(i);
                    long[] window = java.util.Arrays.copyOfRange(a.cycleNanos(), b.cycleNanos().length, a.cycleNanos().length);
                    DiskIoStats.Snapshot w = new DiskIoStats.Snapshot(a.reads() - b.reads(), a.writes() - b.writes(),
                            a.bytesRead() - b.bytesRead(), a.bytesWritten() - b.bytesWritten(), a.cycles() - b.cycles(), window);
                    t.row(cfg.nodes().get(i).name(), fmt(w.writes() / elapsed), fmt(w.reads() / elapsed),
                            fmt(w.bytesWritten() / 1024.0 / elapsed), fmt(w.bytesRead() / 1024.0 / elapsed), w.cycles(),
                            ms(w.percentileNanos(50)), ms(w.percentileNanos(99)), ms(w.percentileNanos(100)));
                }
                System.out.print(t);
                return 0;
            } finally {
                try (var files = Files.walk(work)) {
                    files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                }
            }
        }

        private static ClusterConfig load(Path file) {
            try {
                return ConfigLoader.load(file);
            } catch (ConfigException e) {
                throw new IllegalStateException(e.getMessage(), e);
            }
        }

        private static String fmt(double v) {
            return String.format("%.1f", v);
        }

        private static String ms(long nanos) {
            return String.format("%.2f", nanos / 1e6);
        }
    }
}
