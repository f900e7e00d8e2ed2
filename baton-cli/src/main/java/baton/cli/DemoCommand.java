package baton.cli;

import baton.core.disk.ClusterKey;
import baton.core.disk.DiskLayout;
import baton.lab.Corruption;
import baton.lab.LabProcess;
import baton.runtime.config.ClusterConfig;
import baton.runtime.config.ConfigLoader;
import baton.runtime.config.KeyFile;
import baton.runtime.disk.QuorumDisk;
import baton.runtime.node.ExitStatus;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The README's first command: a local cluster of real node daemons, each in its own network
 * namespace, sharing a quorum disk file, that an operator can watch and break.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Run a local demo cluster: N node daemons, each in its own network namespace (198.18.0.0/15),",
                "sharing one quorum disk file, with a guided tour. Needs root. Ctrl-C or 'q' tears it all down."})
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--nodes", defaultValue = "3", description = "Number of nodes (2..8, default ${DEFAULT-VALUE}).")
    int nodes;

    @Option(names = "--tour", description = "Run the guided tour by itself (no keyboard needed), then tear down.")
    boolean tour;

    @Option(names = "--dir", defaultValue = "/var/tmp/baton-demo", description = "Work folder: config, key, disk, logs (default ${DEFAULT-VALUE}).")
    Path dir;

    private LabCluster cluster;
    private ClusterConfig cfg;
    private ClusterKey key;

    @Override
    public Integer call() throws Exception {
        if (nodes < 2 || nodes > 8) {
            throw new CliFailure(ExitStatus.USAGE, "--nodes must be between 2 and 8");
        }
        List<String> missing = missing();
        if (!missing.isEmpty()) {
            throw new CliFailure(ExitStatus.FAILURE, "the demo cannot run here:\n  - " + String.join("\n  - ", missing));
        }
        Thread hook = new Thread(this::tearDown, "baton-demo-teardown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            setUp();
            if (tour) {
                guidedTour();
            } else {
                interactive();
            }
        } finally {
            tearDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // Ctrl-C: the hook tears down
            }
        }
        return ExitStatus.OK;
    }

    /** What the demo needs that this machine lacks, each with how to get it. */
    private static List<String> missing() {
        List<String> m = new ArrayList<>();
        if (!"root".equals(System.getProperty("user.name"))) {
            m.add("root: the demo creates network namespaces and a bridge; run it with sudo");
        }
        for (String tool : List.of("ip", "losetup", "blockdev")) {
            if (!onPath(tool)) {
                m.add("'" + tool + "': apt-get install iproute2 util-linux");
            }
        }
        return m;
    }

    private static boolean onPath(String tool) {
        for (String d : System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(d, tool))) {
                return true;
            }
        }
        return Files.isExecutable(Path.of("/usr/sbin", tool)) || Files.isExecutable(Path.of("/sbin", tool));
    }

    private void setUp() throws Exception {
        say("setting up a %d-node cluster in %s ...", nodes, dir);
        if (Files.exists(dir)) {
            try (var s = Files.walk(dir)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        cluster = new LabCluster(dir, "demo", nodes, false);
        cluster.configureAll(dir.resolve("quorum.img").toString(), null);
        Path config = cluster.config(1); // every node's file is the same
        cfg = ConfigLoader.load(config);
        key = KeyFile.read(cluster.keyFile());
        QuorumDisk.init(cfg.quorumDisk(), cfg.clusterName(), key, false, System.currentTimeMillis());
        cluster.startAllAndAwaitJoin();
        say("""
                cluster 'demo' is up: %d node daemons, each in its own network namespace (%s),
                sharing the quorum disk %s (primary at offset 0, shadow at 1 MiB).
                  configuration: %s
                  node logs:     %s/node-N.log   (one key=value line per state change)
                  try, in another terminal:  ./baton status -c %s --run-dir %s
                                             ./baton disk inspect -c %s
                """, nodes, cluster.host(1).address().getHostAddress().replaceAll("\\.\\d+$", ".0/24"),
                cfg.quorumDisk().primary(), config, dir, config, cluster.runDir(), config);
    }

    private LabProcess daemon(int n) {
        return cluster.daemon(n);
    }

    private void interactive() throws Exception {
        help();
        status();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        while (true) {
            System.out.print("baton-demo> ");
            System.out.flush();
            String line = in.readLine();
            if (line == null || line.strip().equals("q")) {
                return;
            }
            String[] w = line.strip().split("\\s+");
            try {
                if (!act(w)) {
                    help();
                }
            } catch (RuntimeException e) {
                say("could not do that: %s", e.getMessage());
            }
        }
    }

    private boolean act(String[] w) throws Exception {
        if (w.length == 1 && w[0].equals("s")) {
            status();
            return true;
        }
        if (w.length != 2 || !w[1].matches("\\d+")) {
            return false;
        }
        int n = Integer.parseInt(w[1]);
        if (n < 1 || n > nodes) {
            say("no node %d", n);
            return true;
        }
        LabProcess p = daemon(n);
        switch (w[0]) {
            case "kill" -> { p.kill9(); say("node-%d: kill -9", n); }
            case "cut" -> { cluster.host(n).linkDown(); say("node-%d: network cable pulled (every ring)", n); }
            case "heal" -> { cluster.host(n).linkUp(); say("node-%d: network back", n); }
            case "stop" -> { p.sigstop(); say("node-%d: SIGSTOP (hung)", n); }
            case "cont" -> { p.sigcont(); say("node-%d: SIGCONT", n); }
            case "leave" -> { p.sigterm(); say("node-%d: SIGTERM (clean leave)", n); }
            case "start" -> {
                if (p.isAlive()) {
                    say("node-%d is running", n);
                } else {
                    cluster.start(n);
                    say("node-%d: started with a new incarnation", n);
                }
            }
            case "corrupt" -> {
                Corruption.flipByte(cfg.quorumDisk().primary(), DiskLayout.slotOffsetBytes(n) + 35);
                say("flipped a byte in node-%d's slot on the primary copy; a reader repairs it from the shadow", n);
            }
            case "log" -> System.out.print(tail(p.log(), 12));
            default -> {
                return false;
            }
        }
        return true;
    }

    private void help() {
        say("""
                commands:  s            status: every node's verdict and evidence and the coordinator, as node-1 sees it
                           kill N       kill -9 node N        -> slot stale and no heartbeats: down
                           cut N        pull node N's cable   -> heartbeats gone, slot fresh: network-lost, no failover
                           heal N       plug it back in
                           stop N       SIGSTOP node N (hang) -> stale; cont N resumes it
                           leave N      SIGTERM node N        -> it leaves cleanly: 'left', not 'stale'
                           start N      restart node N        -> fresh again, new incarnation
                           corrupt N    flip a byte in node N's primary slot -> repaired from the shadow
                           log N        the last lines of node N's log
                           q            quit and tear everything down""");
    }

    private void guidedTour() throws Exception {
        String last = String.valueOf(nodes);
        say("== the cluster, as node-1 sees it: every node up, with its evidence");
        settle();
        status();
        say("== pull node-%s's network cable: its heartbeats stop but its slot stays fresh -> network-lost, no failover", last);
        act(new String[] {"cut", last});
        settle();
        status();
        say("== plug it back in: up again");
        act(new String[] {"heal", last});
        settle();
        status();
        say("== kill -9 node-%s: slot stale AND no heartbeats on any ring -> down", last);
        act(new String[] {"kill", last});
        settle();
        status();
        say("== restart it: a new incarnation joins, up again");
        act(new String[] {"start", last});
        daemon(nodes).awaitLog("event=joined", java.time.Duration.ofSeconds(20));
        settle();
        status();
        int coordinator = coordinator();
        if (coordinator > 0) {
            say("== kill -9 the coordinator, node-%d: once its lease has run out (%d ms), another node takes over"
                    + " with a higher generation", coordinator, cfg.timeouts().leaseTimeoutMillis());
            act(new String[] {"kill", String.valueOf(coordinator)});
            Thread.sleep(cfg.timeouts().leaseTimeoutMillis() + 2_500);
            status();
            act(new String[] {"start", String.valueOf(coordinator)});
            daemon(coordinator).awaitLog("event=joined", java.time.Duration.ofSeconds(20));
            settle();
        }
        say("== node-2 leaves cleanly (SIGTERM): the others see 'left', not a failure");
        act(new String[] {"leave", "2"});
        daemon(2).waitFor(java.time.Duration.ofSeconds(10));
        settle();
        status();
        say("== corrupt node-2's slot on the primary copy (nobody writes it now): a reader uses the shadow and repairs the primary");
        act(new String[] {"corrupt", "2"});
        for (int i = 1; i <= nodes; i++) {
            if (i != 2 && daemon(i).awaitLog("event=slot-repaired copy=primary node=2", java.time.Duration.ofSeconds(5))) {
                say("node-%d's log:%n%s", i, grep(daemon(i).log(), "slot-repair"));
                break;
            }
        }
        say("== tour done; tearing down");
    }

    /** The cluster as the first running node sees it (its status file), with verdicts and evidence. */
    private void status() throws Exception {
        baton.runtime.node.RunDir run = baton.runtime.node.RunDir.of(cluster.runDir(), cfg.clusterName());
        for (int i = 1; i <= nodes; i++) {
            Path file = run.statusFile("node-" + i);
            if (daemon(i).isAlive() && Files.exists(file)) {
                try {
                    System.out.print(StatusCommand.daemonText(DiskCommand.JSON.readTree(Files.readString(file))));
                    return;
                } catch (java.io.IOException e) {
                    // replaced while we read it: try the next node
                }
            }
        }
        System.out.print(StatusCommand.render(cfg, key, false));
    }

    /** The node id of the coordinator as the first running node's status file names it, or 0. */
    private int coordinator() {
        baton.runtime.node.RunDir run = baton.runtime.node.RunDir.of(cluster.runDir(), cfg.clusterName());
        for (int i = 1; i <= nodes; i++) {
            Path file = run.statusFile("node-" + i);
            if (daemon(i).isAlive() && Files.exists(file)) {
                try {
                    return DiskCommand.JSON.readTree(Files.readString(file)).path("coordinator").path("holderId").asInt(0);
                } catch (java.io.IOException e) {
                    // replaced while we read it: try the next node
                }
            }
        }
        return 0;
    }

    /** Lets the cluster notice what was just done: a little more than the slower of the two timeouts. */
    private void settle() throws InterruptedException {
        Thread.sleep(Math.max(cfg.timeouts().diskTimeoutMillis(), cfg.timeouts().networkTimeoutMillis()) + 1_200);
    }

    private static String tail(String log, int lines) {
        String[] l = log.split("\n");
        return String.join("\n", java.util.Arrays.copyOfRange(l, Math.max(0, l.length - lines), l.length)) + "\n";
    }

    private static String grep(String log, String word) {
        return log.lines().filter(l -> l.contains(word)).limit(4).reduce("", (a, b) -> a + b + "\n");
    }

    private synchronized void tearDown() {
        if (cluster != null) {
            cluster.close();
            cluster = null;
            System.out.println("baton demo: stopped every node, removed the namespaces; logs and disk stay in " + dir);
        }
    }

    private static void say(String format, Object... args) {
        System.out.println(String.format(format, args));
    }
}
