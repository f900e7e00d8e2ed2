package baton.cli;

import baton.core.disk.ClusterKey;
import baton.core.disk.DiskLayout;
import baton.lab.Corruption;
import baton.lab.Lab;
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
import java.util.Map;
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

    private Lab lab;
    private ClusterConfig cfg;
    private ClusterKey key;
    private final List<LabProcess> daemons = new ArrayList<>();

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
        Files.createDirectories(dir);
        lab = Lab.create(nodes, false);
        Path keyFile = dir.resolve("cluster.key");
        KeyFile.generate(keyFile, false);
        StringBuilder y = new StringBuilder("cluster:\n  name: demo\n  keyFile: cluster.key\nnodes:\n");
        for (int i = 1; i <= nodes; i++) {
            y.append("  - id: ").append(i).append("\n    name: node-").append(i).append("\n    addresses: [")
                    .append(lab.node(i).address().getHostAddress()).append("]\n");
        }
        y.append("quorumDisk:\n  primary: quorum.img\n");
        Path config = dir.resolve("cluster.yaml");
        Files.writeString(config, y);
        cfg = ConfigLoader.load(config);
        key = KeyFile.read(keyFile);
        QuorumDisk.init(cfg.quorumDisk(), cfg.clusterName(), key, false, System.currentTimeMillis());
        for (int i = 1; i <= nodes; i++) {
            daemons.add(startNode(i));
        }
        for (int i = 1; i <= nodes; i++) {
            daemons.get(i - 1).awaitLog("event=joined", java.time.Duration.ofSeconds(20));
        }
        say("""
                cluster 'demo' is up: %d node daemons, each in its own network namespace (%s),
                sharing the quorum disk %s (primary at offset 0, shadow at 1 MiB).
                  configuration: %s
                  node logs:     %s/node-N.log   (one key=value line per state change)
                  try, in another terminal:  ./baton status -c %s
                                             ./baton disk inspect -c %s
                """, nodes, lab.node(1).address().getHostAddress().replaceAll("\\.\\d+$", ".0/24"),
                cfg.quorumDisk().primary(), config, dir, config, config);
    }

    private LabProcess startNode(int id) {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "-cp", System.getProperty("java.class.path"), "baton.cli.Main",
                "node", "run", "--config", dir.resolve("cluster.yaml").toString(), "--node", "node-" + id));
        return lab.node(id).start(cmd, dir.resolve("node-" + id + ".log"), Map.of());
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
        LabProcess p = daemons.get(n - 1);
        switch (w[0]) {
            case "kill" -> { p.kill9(); say("node-%d: kill -9", n); }
            case "stop" -> { p.sigstop(); say("node-%d: SIGSTOP (hung)", n); }
            case "cont" -> { p.sigcont(); say("node-%d: SIGCONT", n); }
            case "leave" -> { p.sigterm(); say("node-%d: SIGTERM (clean leave)", n); }
            case "start" -> {
                if (p.isAlive()) {
                    say("node-%d is running", n);
                } else {
                    daemons.set(n - 1, startNode(n));
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
                commands:  s            status (reads the disk twice, one disk timeout apart)
                           kill N       kill -9 node N        -> the others see its slot go stale
                           stop N       SIGSTOP node N (hang) -> stale; cont N resumes it
                           leave N      SIGTERM node N        -> it leaves cleanly: 'left', not 'stale'
                           start N      restart node N        -> fresh again, new incarnation
                           corrupt N    flip a byte in node N's primary slot -> repaired from the shadow
                           log N        the last lines of node N's log
                           q            quit and tear everything down""");
    }

    private void guidedTour() throws Exception {
        say("== the cluster, as the quorum disk shows it");
        status();
        say("== kill -9 node-%d: its counter stops; after the disk timeout the others judge its slot stale", nodes);
        act(new String[] {"kill", String.valueOf(nodes)});
        status();
        say("== restart it: a new incarnation, fresh again");
        act(new String[] {"start", String.valueOf(nodes)});
        daemons.get(nodes - 1).awaitLog("event=joined", java.time.Duration.ofSeconds(20));
        status();
        say("== node-2 leaves cleanly (SIGTERM): the others see 'left', not a failure");
        act(new String[] {"leave", "2"});
        daemons.get(1).waitFor(java.time.Duration.ofSeconds(10));
        status();
        say("== corrupt node-2's slot on the primary copy (nobody writes it now): a reader uses the shadow and repairs the primary");
        act(new String[] {"corrupt", "2"});
        for (int i = 1; i <= nodes; i++) {
            if (i != 2 && daemons.get(i - 1).awaitLog("event=slot-repaired copy=primary node=2", java.time.Duration.ofSeconds(5))) {
                say("node-%d's log:%n%s", i, grep(daemons.get(i - 1).log(), "slot-repair"));
                break;
            }
        }
        say("== tour done; tearing down");
    }

    private void status() throws Exception {
        System.out.print(StatusCommand.render(cfg, key, false));
    }

    private static String tail(String log, int lines) {
        String[] l = log.split("\n");
        return String.join("\n", java.util.Arrays.copyOfRange(l, Math.max(0, l.length - lines), l.length)) + "\n";
    }

    private static String grep(String log, String word) {
        return log.lines().filter(l -> l.contains(word)).limit(4).reduce("", (a, b) -> a + b + "\n");
    }

    private synchronized void tearDown() {
        if (lab != null) {
            lab.close();
            lab = null;
            System.out.println("baton demo: stopped every node, removed the namespaces; logs and disk stay in " + dir);
        }
    }

    private static void say(String format, Object... args) {
        System.out.println(String.format(format, args));
    }
}
