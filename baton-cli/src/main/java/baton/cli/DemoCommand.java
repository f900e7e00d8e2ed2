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
 * namespace, sharing a quorum disk file, each the machine of its own IPMI BMC simulator (so the
 * coordinator really fences a failed node), running two small VEs (QEMU, the test guest) and one
 * service, that an operator can watch and break.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Run a local demo cluster: N node daemons, each in its own network namespace (198.18.0.0/15),",
                "sharing one quorum disk file, each powered by its own IPMI BMC simulator (ipmi_sim) that the",
                "coordinator fences it through, with a guided tour. Needs root. Ctrl-C or 'q' tears it all down."})
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--nodes", defaultValue = "3", description = "Number of nodes (2..8, default ${DEFAULT-VALUE}).")
    int nodes;

    @Option(names = "--tour", description = "Run the guided tour by itself (no keyboard needed), then tear down.")
    boolean tour;

    @Option(names = "--dir", defaultValue = "/var/tmp/baton-demo", description = "Work folder: config, key, disk, logs (default ${DEFAULT-VALUE}).")
    Path dir;

    @Option(names = "--no-ves", description = "Run the service only, no VEs (no QEMU needed).")
    boolean noVes;

    @Option(names = "--dashboard-port", defaultValue = "7481",
            description = {"Forward 127.0.0.1:PORT+i-1 on this host to node i's API and dashboard (default ${DEFAULT-VALUE}:",
                    "node-1 at 7481, node-2 at 7482, ...); a port that is taken is replaced by a free one."})
    int dashboardPort;

    /** The VEs' names, when they run (QEMU and the test guest are there). */
    private final List<String> ves = new ArrayList<>();
    private static final String SERVICE = "clock";
    /** The service writes a sign of life this often; the checker allows three periods between two. */
    private static final long OWNERS_ALIVE_MILLIS = 200;
    private Path ownersLog;

    private LabCluster cluster;
    private PowerLab power;
    /** One forwarded port per node, index 0 for node-1: the nodes' addresses exist only inside the lab. */
    private final List<baton.lab.PortRelay> relays = new ArrayList<>();
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
        for (String[] tool : new String[][] {{"ipmi_sim", "openipmi"}, {"ipmitool", "ipmitool"}, {"fence_ipmilan", "fence-agents"}}) {
            if (!onPath(tool[0])) {
                m.add("'" + tool[0] + "' (the BMC simulators and the fence agent): apt-get install " + tool[1]
                        + ", or run scripts/install-test-deps");
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
        cluster = new LabCluster(dir, "demo", nodes, true);
        power = new PowerLab(cluster).fencing("monitorIntervalMillis: 10000\nmonitorTimeoutMillis: 8000");
        power.yaml(workloadsYaml());
        power.start(dir.resolve("quorum.img").toString(), null);
        Path config = cluster.config(1); // every node's file is the same
        cfg = ConfigLoader.load(config);
        key = KeyFile.read(cluster.keyFile());
        say("""
                cluster 'demo' is up: %d node daemons, each in its own network namespace (%s),
                sharing the quorum disk %s (primary at offset 0, shadow at 1 MiB),
                each powered by its own IPMI BMC (ipmi_sim on the node's address, UDP 623):
                the coordinator fences a failed node through it with the real fence_ipmilan.
                  configuration: %s
                  node logs:     %s/ipmi-N/machine.log   (one key=value line per state change)
                workloads: %s (VEs: QEMU under TCG, the test guest, reachable from the client host at %s),
                  and the service '%s' (a shell loop that logs start/alive/stop to %s, the never-two-owners log)
                  try, in another terminal:  ./baton status -c %s --run-dir %s
                                             ./baton fence status -c %s --run-dir %s
                                             ./baton fence history -c %s
                                             ./baton disk inspect -c %s
                """, nodes, cluster.host(1).address().getHostAddress().replaceAll("\\.\\d+$", ".0/24"),
                cfg.quorumDisk().primary(), config, dir, ves.isEmpty() ? "no VEs" : String.join(", ", ves),
                ves.isEmpty() ? "-" : veIp(1).replaceAll("\\.\\d+$", ".10x"), SERVICE, ownersLog,
                config, cluster.runDir(), config, cluster.runDir(), config, config);
        forwardDashboards();
    }

    /**
     * Forwards a port on this host's loopback to each node's API (the relay runs in the lab's
     * client host) and prints where the dashboard is and its token. The relay passes TLS through:
     * the browser sees the node's own self-signed certificate, made for the node's address.
     */
    private void forwardDashboards() {
        String token = baton.runtime.api.ApiToken.of(key).text();
        StringBuilder where = new StringBuilder();
        for (int i = 1; i <= nodes; i++) {
            // A node starts its API once it has joined, on a thread of its own (TLS takes a moment).
            if (!awaitLog(i, "event=api-listening", java.time.Duration.ofSeconds(30))) {
                say("(node-%d's API is not listening yet: %s)", i, grep(power.log(i), "event=api-"));
            }
            var node = cfg.node("node-" + i).orElseThrow();
            var target = cfg.api().address(node);
            Path socket = dir.resolve("dashboard-node-" + i + ".sock");
            baton.lab.PortRelay relay;
            try {
                try {
                    relay = baton.lab.PortRelay.open(cluster.lab().client(), socket, target.getAddress(), target.getPort(),
                            dashboardPort + i - 1);
                } catch (java.net.BindException taken) {
                    relay = baton.lab.PortRelay.open(cluster.lab().client(), socket, target.getAddress(), target.getPort(), 0);
                }
            } catch (java.io.IOException | RuntimeException e) {
                say("(node-%d's dashboard is not forwarded: %s)", i, e.getMessage());
                continue;
            }
            relays.add(relay);
            where.append(String.format("                  node-%d: https://127.0.0.1:%d/   (its API: %s)%n", i, relay.port(),
                    cfg.api().url(node)));
        }
        if (relays.isEmpty()) {
            return;
        }
        say("""
                dashboard: https://127.0.0.1:%d/?token=%s
                  (the page signs in with the token and remembers it in a cookie; every node serves the same
                  dashboard, forwarded from this host's loopback into the lab:)
                %s  its certificate is self-signed, made by the node on its first start: the browser asks once
                  API token: %s   (./baton api token -c %s prints it; curl -k -H 'Authorization: Bearer TOKEN')""",
                relays.getFirst().port(), token, where, token, cluster.config(1));
    }

    /** The workloads: two VEs when QEMU and the test guest can be had (else says why), and the service. */
    private String workloadsYaml() throws java.io.IOException {
        StringBuilder y = new StringBuilder();
        ownersLog = dir.resolve("owners.log");
        if (noVes) {
            say("(--no-ves: no VEs)");
        } else if (!onPath("qemu-system-x86_64")) {
            say("no VEs: qemu-system-x86_64 is missing (apt-get install qemu-system-x86, or run scripts/install-test-deps)");
        } else {
            try {
                say("building or finding the test guest (scripts/build-guest, cached in %s) ...", TestGuest.dir());
                Path guest = TestGuest.build();
                cluster.bridgeUplinks("br0");
                y.append("ves:\n");
                for (int i = 1; i <= 2; i++) {
                    String name = "web" + i;
                    ves.add(name);
                    y.append(TestGuest.veYaml(i, name, guest, 128, veIp(i), "52:54:00:de:00:0" + i, "br0", 1,
                            "    preferred: [node-" + i + "]\n"));
                }
            } catch (RuntimeException e) {
                ves.clear();
                say("no VEs: %s", e.getMessage());
            }
        }
        Path control = baton.lab.owners.OwnedService.write(dir.resolve("scripts"), OWNERS_ALIVE_MILLIS);
        y.append("services:\n").append(baton.lab.owners.OwnedService.yaml(10, SERVICE, control, ownersLog, dir.resolve("service-state"),
                "    preferred: [node-" + nodes + "]\n"));
        return y.toString();
    }

    private String veIp(int i) {
        return cluster.lab().tag().address(100 + i);
    }

    /** Node {@code n}'s daemon runs (its BMC's machine is on). */
    private boolean alive(int n) {
        return power.daemonPid(n).isPresent();
    }

    /** Sends {@code signal} to node {@code n}'s daemon; false when it does not run. */
    private boolean signal(int n, String signal) {
        var pid = power.daemonPid(n);
        return pid.isPresent() && cluster.host(n).run(java.time.Duration.ofSeconds(5), "kill", "-" + signal,
                Long.toString(pid.getAsLong())).exitCode() == 0;
    }

    private boolean awaitLog(int n, String text, java.time.Duration wait) {
        return baton.lab.Poll.until(wait, () -> power.log(n).contains(text));
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

    private boolean act(String[] w) {
        if (w.length == 1 && w[0].equals("s")) {
            status();
            return true;
        }
        if (w.length == 1 && w[0].equals("owners")) {
            owners();
            return true;
        }
        if (w.length == 2 && w[0].equals("uptime")) {
            uptime(w[1]);
            return true;
        }
        if (w.length >= 2 && List.of("relocate", "wstop", "wstart", "restart").contains(w[0])) {
            String name = w[1];
            String kind = ves.contains(name) ? "ve" : "service";
            List<String> args = new ArrayList<>(List.of(kind, switch (w[0]) {
                case "wstop" -> "stop";
                case "wstart" -> "start";
                default -> w[0];
            }, name));
            if (w.length == 3) {
                args.addAll(List.of("--to", "node-" + w[2]));
            }
            request(args);
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
        switch (w[0]) {
            case "kill" -> {
                if (alive(n)) {
                    power.crash(n);
                    say("node-%d: kill -9 of its daemon and everything it runs (a panic)", n);
                } else {
                    say("node-%d does not run", n);
                }
            }
            case "cut" -> { cluster.host(n).linkDown(); say("node-%d: network cable pulled (every ring, and its BMC's)", n); }
            case "heal" -> { cluster.host(n).linkUp(); say("node-%d: network back", n); }
            case "stop" -> say(signal(n, "STOP") ? "node-%d: SIGSTOP (hung)" : "node-%d does not run", n);
            case "cont" -> say(signal(n, "CONT") ? "node-%d: SIGCONT" : "node-%d does not run", n);
            case "leave" -> say(signal(n, "TERM") ? "node-%d: SIGTERM (clean leave)" : "node-%d does not run", n);
            case "start" -> {
                if (alive(n)) {
                    say("node-%d is running", n);
                } else if (power.ipmiBmc(n).powerOn()) {
                    say("node-%d: powered on through its BMC; its daemon starts with a new incarnation", n);
                } else {
                    say("node-%d: its BMC did not take the power-on", n);
                }
            }
            case "fence" -> {
                int from = 0;
                for (int i = 1; i <= nodes && from == 0; i++) {
                    if (i != n && alive(i)) {
                        from = i;
                    }
                }
                if (from == 0) {
                    say("no other node runs to send the request from");
                } else {
                    say("node-%d asks the coordinator to fence node-%d (baton fence node-%d --yes) ...", from, n, n);
                    var r = cluster.baton(from, "fence", "node-" + n, "--yes", "--config", cluster.config(from).toString(),
                            "--run-dir", cluster.runDir().toString(), "--as", "node-" + from, "--wait", "60");
                    System.out.print(r.stderr() + r.stdout());
                }
            }
            case "bmc" -> { power.ipmiBmc(n).stop(); say("node-%d's BMC died; the node runs on: an alarm, no failover", n); }
            case "standby", "unstandby" -> request(List.of("node", w[0], "node-" + n));
            case "switchover" -> request(List.of("node", "switchover", "node-" + n));
            case "resume" -> request(List.of("node", "resume", "node-" + n));
            case "corrupt" -> {
                Corruption.flipByte(cfg.quorumDisk().primary(), DiskLayout.slotOffsetBytes(n) + 35);
                say("flipped a byte in node-%d's slot on the primary copy; a reader repairs it from the shadow", n);
            }
            case "log" -> System.out.print(tail(power.log(n), 12));
            default -> {
                return false;
            }
        }
        return true;
    }

    private void help() {
        say("""
                commands:  s            status: every node's verdict and evidence and the coordinator, as node-1 sees it
                           kill N       kill -9 node N and all it runs -> slot stale, no heartbeats: down, then fenced
                                                              through its BMC (power off confirmed)
                           fence N      fence node N by hand  -> the request reaches the coordinator through the disk
                           cut N        pull node N's cable   -> heartbeats gone, slot fresh: network-lost, no failover
                           heal N       plug it back in
                           stop N       SIGSTOP node N (hang) -> stale; cont N resumes it
                           leave N      SIGTERM node N        -> it leaves cleanly: 'left', not 'stale'
                           start N      power node N on through its BMC -> fresh again, new incarnation
                           bmc N        node N's BMC dies     -> the others raise the no-fencing-path alarm, nothing else
                           corrupt N    flip a byte in node N's primary slot -> repaired from the shadow
                           log N        the last lines of node N's log
                           standby N    move node N's workloads off (stopped there, then started elsewhere); unstandby N
                           switchover N maintenance of node N: its VEs migrate live (no restart), its service moves; resume N
                           relocate W N move workload W (web1, web2, clock) to node N; wstop W, wstart W, restart W
                           uptime W     ask VE W for its uptime over HTTP, from the client host
                           owners       check the never-two-owners log of the service
                           q            quit and tear everything down""");
    }

    /** A workload or node request, sent from the first running node, as an operator would type it. */
    private void request(List<String> args) {
        int from = 0;
        for (int i = 1; i <= nodes && from == 0; i++) {
            from = alive(i) ? i : 0;
        }
        if (from == 0) {
            say("no node runs to send the request from");
            return;
        }
        List<String> all = new ArrayList<>(args);
        all.addAll(List.of("--config", cluster.config(from).toString(), "--run-dir", cluster.runDir().toString(), "--as",
                "node-" + from, "--yes", "--wait", "60"));
        say("baton %s", String.join(" ", args));
        var r = cluster.baton(from, all.toArray(String[]::new));
        System.out.print(r.stdout() + (r.exitCode() == 0 ? "" : r.stderr()));
    }

    private void uptime(String ve) {
        int i = ves.indexOf(ve);
        if (i < 0) {
            say("no VE named %s (the VEs: %s)", ve, ves);
            return;
        }
        var r = cluster.lab().client().run(java.time.Duration.ofSeconds(10), "curl", "-sS", "--max-time", "3",
                "http://" + veIp(i + 1) + "/uptime");
        say("%s (%s): %s", ve, veIp(i + 1), r.exitCode() == 0 ? "up " + r.stdout().strip().split("\\s+")[0] + " s" : "no answer: " + r.stderr().strip());
    }

    /** Waits (at most two minutes: a TCG boot on a busy machine) until VE {@code ve} answers over HTTP. */
    private void awaitAnswer(String ve) {
        int i = ves.indexOf(ve);
        baton.lab.Poll.until(java.time.Duration.ofSeconds(120), () -> cluster.lab().client().run(java.time.Duration.ofSeconds(5),
                "curl", "-sS", "--max-time", "2", "http://" + veIp(i + 1) + "/uptime").exitCode() == 0);
    }

    private void owners() {
        try {
            var result = baton.lab.owners.OwnerCheck.check(ownersLog, 3 * OWNERS_ALIVE_MILLIS * 1_000_000L, power.powerOffs());
            say("owners log %s: %d runs of '%s', %s", ownersLog, result.instances().size(), SERVICE,
                    baton.lab.owners.OwnerCheck.firstProblem(result).orElse("never two at once"));
        } catch (java.io.IOException e) {
            say("cannot read %s: %s", ownersLog, e.getMessage());
        }
    }

    /** Waits until node {@code on}'s status shows {@code workload} running on a node other than {@code not}; returns that node, or 0. */
    private int awaitMovedOff(String workload, int not) {
        int[] found = {0};
        baton.lab.Poll.until(java.time.Duration.ofSeconds(90), () -> {
            for (int i = 1; i <= nodes; i++) {
                if (i == not || !alive(i)) {
                    continue;
                }
                try {
                    Path file = baton.runtime.node.RunDir.of(cluster.runDir(), cfg.clusterName()).statusFile("node-" + i);
                    for (var w : DiskCommand.JSON.readTree(Files.readString(file)).path("workloads")) {
                        if (w.path("name").asText().equals(workload) && w.path("desired").asText().equals("running")
                                && !w.has("next") && w.path("owner").asText().startsWith("node-")
                                && !w.path("owner").asText().equals("node-" + not)) {
                            String owner = w.path("owner").asText();
                            int id = Integer.parseInt(owner.substring(5));
                            if (w.path("here").asText().equals("running") || readHere(id, workload)) {
                                found[0] = id;
                                return true;
                            }
                        }
                    }
                } catch (java.io.IOException | RuntimeException e) {
                    // replaced while we read it
                }
            }
            return false;
        });
        return found[0];
    }

    /** Whether node {@code id}'s own status file says {@code workload} runs there. */
    private boolean readHere(int id, String workload) throws java.io.IOException {
        Path file = baton.runtime.node.RunDir.of(cluster.runDir(), cfg.clusterName()).statusFile("node-" + id);
        for (var w : DiskCommand.JSON.readTree(Files.readString(file)).path("workloads")) {
            if (w.path("name").asText().equals(workload)) {
                return w.path("here").asText().equals("running");
            }
        }
        return false;
    }

    private void guidedTour() throws Exception {
        String last = String.valueOf(nodes);
        say("== the cluster, as node-1 sees it: every node up, with its evidence; every workload with its owner");
        settle();
        awaitMovedOff(SERVICE, 0);
        for (String ve : ves) {
            awaitMovedOff(ve, 0);
        }
        for (String ve : ves) {
            awaitAnswer(ve);
        }
        status();
        for (String ve : ves) {
            uptime(ve);
        }
        if (!ves.isEmpty()) {
            say("== node-1 goes into standby: web1 moves off it (stopped there first, then started elsewhere: a cold move)");
            act(new String[] {"standby", "1"});
            int to = awaitMovedOff("web1", 1);
            awaitAnswer("web1");
            status();
            say("web1 now runs on node-%d, booted again (a cold move):", to);
            uptime("web1");
            act(new String[] {"unstandby", "1"});
            say("== node-2 is switched over for maintenance: web2 migrates live, without a restart, so its uptime keeps counting");
            uptime("web2");
            act(new String[] {"switchover", "2"});
            awaitMovedOff("web2", 2);
            uptime("web2");
            act(new String[] {"resume", "2"});
        }
        say("== kill -9 node-%s, which runs the service '%s': it is fenced first, then '%s' is recovered elsewhere",
                last, SERVICE, SERVICE);
        act(new String[] {"kill", last});
        awaitFenced(nodes);
        int svc = awaitMovedOff(SERVICE, nodes);
        status();
        say("'%s' runs on node-%d now", SERVICE, svc);
        owners();
        powerOnAndAwaitJoin(nodes);
        settle();
        say("== pull node-%s's network cable: its heartbeats stop but its slot stays fresh -> network-lost, no failover", last);
        act(new String[] {"cut", last});
        settle();
        status();
        say("== plug it back in: up again");
        act(new String[] {"heal", last});
        settle();
        status();
        say("== kill -9 node-%s: slot stale AND no heartbeats on any ring -> down; the coordinator fences it through"
                + " its BMC (fence_ipmilan off, then status says off), records it on the quorum disk -> fenced", last);
        act(new String[] {"kill", last});
        awaitFenced(nodes);
        status();
        say("node-%s's BMC: power %s", last, power.ipmiBmc(nodes).powerStatus().name().toLowerCase(java.util.Locale.ROOT));
        say("== power it on again through its BMC: a new incarnation joins, up again");
        powerOnAndAwaitJoin(nodes);
        settle();
        status();
        int coordinator = coordinator();
        if (coordinator > 0) {
            say("== kill -9 the coordinator, node-%d: once its lease has run out (%d ms), another node takes over"
                    + " with a higher generation, and fences it", coordinator, cfg.timeouts().leaseTimeoutMillis());
            act(new String[] {"kill", String.valueOf(coordinator)});
            awaitFenced(coordinator);
            status();
            powerOnAndAwaitJoin(coordinator);
            settle();
        }
        int target = coordinator() == nodes ? nodes - 1 : nodes; // the coordinator does not fence itself
        say("== an operator fences node-%d by hand; the request reaches the coordinator through the quorum disk", target);
        act(new String[] {"fence", String.valueOf(target)});
        say("== the fence records on the quorum disk (baton fence history):");
        System.out.print(cluster.baton(1, "fence", "history", "--config", cluster.config(1).toString()).stdout());
        powerOnAndAwaitJoin(target);
        say("== node-2 leaves cleanly (SIGTERM): the others see 'left', not a failure");
        act(new String[] {"leave", "2"});
        baton.lab.Poll.until(java.time.Duration.ofSeconds(90), () -> !alive(2)); // it stops its workloads first
        settle();
        status();
        say("== corrupt node-2's slot on the primary copy (nobody writes it now): a reader uses the shadow and repairs the primary");
        act(new String[] {"corrupt", "2"});
        for (int i = 1; i <= nodes; i++) {
            if (i != 2 && awaitLog(i, "event=slot-repaired copy=primary node=2", java.time.Duration.ofSeconds(5))) {
                say("node-%d's log:%n%s", i, grep(power.log(i), "slot-repair"));
                break;
            }
        }
        say("== tour done; tearing down");
    }

    /** Waits until every running node's log says node {@code n} is fenced (at most a minute). */
    private void awaitFenced(int n) {
        String text = "peer=node-" + n + " peer-id=" + n + " from=down to=fenced";
        int before = count(text);
        int watchers = 0;
        for (int i = 1; i <= nodes; i++) {
            watchers += i != n && alive(i) ? 1 : 0;
        }
        int expected = before + watchers;
        baton.lab.Poll.until(java.time.Duration.ofSeconds(60), () -> count(text) >= expected);
        settleQuietly();
    }

    private int count(String text) {
        int c = 0;
        for (int i = 1; i <= nodes; i++) {
            c += (int) power.log(i).lines().filter(l -> l.contains(text)).count();
        }
        return c;
    }

    private void powerOnAndAwaitJoin(int n) {
        int before = (int) power.log(n).lines().filter(l -> l.contains("event=joined")).count();
        baton.lab.Poll.until(java.time.Duration.ofSeconds(10), () -> !alive(n)); // the power cut has reaped it
        act(new String[] {"start", String.valueOf(n)});
        baton.lab.Poll.until(java.time.Duration.ofSeconds(30),
                () -> power.log(n).lines().filter(l -> l.contains("event=joined")).count() > before);
    }

    private void settleQuietly() {
        try {
            Thread.sleep(500);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The cluster as the first running node sees it (its status file), with verdicts and evidence. */
    private void status() {
        baton.runtime.node.RunDir run = baton.runtime.node.RunDir.of(cluster.runDir(), cfg.clusterName());
        for (int i = 1; i <= nodes; i++) {
            Path file = run.statusFile("node-" + i);
            if (alive(i) && Files.exists(file)) {
                try {
                    System.out.print(StatusCommand.daemonText(DiskCommand.JSON.readTree(Files.readString(file))));
                    return;
                } catch (java.io.IOException e) {
                    // replaced while we read it: try the next node
                }
            }
        }
        try {
            System.out.print(StatusCommand.render(cfg, key, false));
        } catch (Exception e) {
            say("(no status: %s)", e.getMessage());
        }
    }

    /** The node id of the coordinator as the first running node's status file names it, or 0. */
    private int coordinator() {
        baton.runtime.node.RunDir run = baton.runtime.node.RunDir.of(cluster.runDir(), cfg.clusterName());
        for (int i = 1; i <= nodes; i++) {
            Path file = run.statusFile("node-" + i);
            if (alive(i) && Files.exists(file)) {
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
        relays.forEach(baton.lab.PortRelay::close);
        relays.clear();
        if (power != null) {
            power.close();
            power = null;
        }
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
