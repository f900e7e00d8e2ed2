package baton.cli;

import baton.lab.Cmd;
import baton.lab.ExecResult;
import baton.lab.LabProcess;
import baton.lab.Poll;
import baton.lab.owners.OwnedService;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Failover of workloads with real parts: a node crash (kill -9 of every process of the node's
 * machine, its VE's QEMU included) to the node's VE answering HTTP on its address from another
 * node, and its {@code exec} service running again elsewhere, fencing through the real
 * {@code fence_ipmilan} against {@code ipmi_sim} included.
 *
 * <p>One lab for all runs: 3 node daemons, each the machine of its own {@code ipmi_sim}
 * ({@link PowerLab}), node hosts' uplinks in a bridge {@code br0} that the VE's tap joins
 * ({@link LabCluster#bridgeUplinks}), a client host. The coordinator is put in standby, so the
 * workloads run on the two other nodes and the coordinator is never the victim (its crash would
 * add the lease takeover, a different figure). Each run crashes the node that runs the workloads;
 * they are recovered on the other non-coordinator node; the victim is powered on again through
 * its BMC and rejoins; the next run crashes the new owner.
 *
 * <p>With {@code --hang} the node is frozen instead (every process of its machine, QEMU
 * included): its BMC still finds the machine powered on, as with a real server whose OS died, so
 * {@code fence_ipmilan}'s off really waits for the power to go. With kill -9 the lab's BMC
 * reports the machine off as soon as its processes are gone, and the off is quick; see the
 * fencing benchmark.
 *
 * <p>The VE is probed from the client host by a small JVM (the hidden {@code bench
 * failover-probe}): a TCP connect (100 ms timeout) and {@code GET /name} every 20 ms, logging
 * each change between answering and not. Every other time comes from the daemons' own log
 * timestamps and the service's owners log (one host clock).
 */
final class WorkloadBench {
    private WorkloadBench() {}

    static final Duration WAIT = Duration.ofSeconds(90);
    static final String MAC = "52:54:00:b7:0b:01";
    static final int VE_HOST_NUMBER = 100;
    static final long ALIVE_MILLIS = 200;
    static final Pattern TS = Pattern.compile("^ts=(\\S+) ");
    static final Pattern PROBE = Pattern.compile("^(ok|fail) (\\d+) (\\d+)");

    enum Kind { VE, SERVICE, BOTH }

    @Command(name = "failover", mixinStandardHelpOptions = true,
            description = {"Workload failover: kill -9 of the node that runs a VE and/or an exec service (every process of",
                    "its machine) to the VE answering HTTP on its address from another node, and the service running again",
                    "elsewhere; fencing through fence_ipmilan against ipmi_sim included. One 3-node lab for all runs (the",
                    "crashed node is powered on again through its BMC and rejoins). p50/p99/max and the breakdown from the logs."})
    static final class Failover implements Callable<Integer> {
        @Option(names = "--runs", defaultValue = "20", description = "Crashes (default ${DEFAULT-VALUE}).")
        int runs;

        @Option(names = "--kind", defaultValue = "both", description = "ve, service or both (both: one VE and one service on"
                + " the same node, recovered after the same crash; default ${DEFAULT-VALUE}).")
        String kind;

        @Option(names = "--fast", description = "Shorter timeouts than the defaults: diskIntervalMillis 100, heartbeatIntervalMillis 50"
                + " (disk and network timeouts 400 ms instead of 800 ms). Label its figures as such.")
        boolean fast;

        @Option(names = "--keep", description = "Keep the lab's folder (logs) afterwards.")
        boolean keep;

        @Option(names = "--hang", description = "Hang the node (every process of its machine frozen, its BMC still answers) instead"
                + " of killing it: the BMC then finds a machine still powered on, as with a real server whose OS died, and the"
                + " fence agent's off waits for it (with kill -9 the lab's BMC reports the machine off at once).")
        boolean hang;

        @Override
        public Integer call() throws Exception {
            Kind k = switch (kind.toLowerCase(Locale.ROOT)) {
                case "ve" -> Kind.VE;
                case "service" -> Kind.SERVICE;
                case "both" -> Kind.BOTH;
                default -> throw new CliFailure(baton.runtime.node.ExitStatus.USAGE, "--kind is ve, service or both, not " + kind);
            };
            if (runs < 1) {
                throw new CliFailure(baton.runtime.node.ExitStatus.USAGE, "need --runs >= 1");
            }
            String versions = Cmd.run(Duration.ofSeconds(10), "dpkg-query", "-W", "-f", "${Package} ${Version}, ",
                    "fence-agents", "ipmitool", "openipmi", "qemu-system-x86").stdout().replaceAll(", $", "");
            String machine = Runtime.getRuntime().availableProcessors() + " CPUs, "
                    + Cmd.run(Duration.ofSeconds(5), "uname", "-sr").stdout().strip() + ", JDK " + Runtime.version();
            Path dir = Files.createTempDirectory(Path.of("/var/tmp"), "baton-bench-failover-");
            Results results;
            boolean ok = false;
            try {
                results = new Lab(dir, k, fast, hang).run(runs);
                ok = true;
            } finally {
                if (ok && !keep) {
                    LabBench.delete(dir);
                } else {
                    System.out.println("logs kept in " + dir);
                }
            }
            System.out.println();
            System.out.printf("baton bench failover --runs %d --kind %s%s%s: %s; %s%n", runs, kind, fast ? " --fast" : "",
                    hang ? " --hang" : "", machine, versions);
            System.out.printf("timeouts: %s; fencing: level 1 ipmi-N, fence_ipmilan %s, default fencing settings%n",
                    fast ? "diskIntervalMillis 100, heartbeatIntervalMillis 50 (disk and network timeouts 400 ms) -- NOT the defaults"
                            : "defaults (diskIntervalMillis 200, heartbeatIntervalMillis 100: disk and network timeouts 800 ms)",
                    FenceBench.flat(PowerLab.ipmiParameters("IP")));
            System.out.printf("lab: 3 node daemons in network namespaces, each the machine of its own ipmi_sim; the coordinator in"
                    + " standby; the workloads' node " + (hang ? "hung (every process of its machine frozen; fenced, its BMC kills"
                    + " them)" : "crashed (kill -9 of its daemon and everything it started)") + ", recovered on the"
                    + " third node; the victim powered on through its BMC, rejoined, 2 s settle, next run%n");
            if (k != Kind.SERVICE) {
                System.out.printf("VE: the test guest (scripts/build-guest), 128 MiB, 1 vCPU, accel tcg, no data file, tap in the node's"
                        + " br0; answering = the client host's TCP connect (100 ms timeout) + GET /name = web, polled every 20 ms%n");
            }
            if (k != Kind.VE) {
                System.out.printf("service: one exec resource (baton.lab.owners.OwnedService: start forks a logger; status every 500 ms);"
                        + " running = its start line in the owners log%n");
            }
            Table t = new Table("STEP", "RUNS", "P50 MS", "P99 MS", "MAX MS");
            results.rows.forEach((step, values) -> {
                double[] s = values.stream().mapToDouble(Double::doubleValue).toArray();
                Arrays.sort(s);
                t.row(step, s.length, FenceBench.ms(LabBench.percentile(s, 50)), FenceBench.ms(LabBench.percentile(s, 99)),
                        FenceBench.ms(s[s.length - 1]));
            });
            System.out.print(t);
            return 0;
        }
    }

    /** Step name -> one value per run, in print order. */
    static final class Results {
        final Map<String, List<Double>> rows = new LinkedHashMap<>();

        void add(String step, double millis) {
            rows.computeIfAbsent(step, s -> new ArrayList<>()).add(millis);
        }
    }

    /** The lab for all runs. */
    static final class Lab {
        final Path dir;
        final Kind kind;
        final boolean fast;
        final boolean ve;
        final boolean service;
        final boolean hang;

        LabCluster c;
        PowerLab p;
        String ip;
        Path ownersLog;
        LabProcess probe;
        int coordinator;

        Lab(Path dir, Kind kind, boolean fast, boolean hang) {
            this.dir = dir;
            this.hang = hang;
            this.kind = kind;
            this.fast = fast;
            this.ve = kind != Kind.SERVICE;
            this.service = kind != Kind.VE;
        }

        Results run(int runs) throws Exception {
            try (LabCluster cluster = new LabCluster(dir, "bench", 3, true); PowerLab power = new PowerLab(cluster)) {
                c = cluster;
                p = power;
                if (ve) {
                    c.bridgeUplinks("br0");
                }
                ip = c.lab().tag().address(VE_HOST_NUMBER);
                ownersLog = dir.resolve("owners.log");
                p.yaml(workloadsYaml());
                if (fast) {
                    p.yaml("timeouts:\n  diskIntervalMillis: 100\n  heartbeatIntervalMillis: 50\n");
                }
                p.start(dir.resolve("quorum.img").toString(), null);
                coordinator = p.awaitCoordinator();
                if (coordinator == 0) {
                    throw new IllegalStateException("no coordinator within " + LabCluster.WAIT);
                }
                ExecResult r = baton(coordinator, "node", "standby", "node-" + coordinator);
                if (r.exitCode() != 0) {
                    throw new IllegalStateException("standby of the coordinator failed: " + r.describe());
                }
                int owner = awaitSettled(0);
                if (ve) {
                    probe = c.lab().client().start(LabCluster.java("bench", "failover-probe", "--ip", ip, "--name", "web"),
                            dir.resolve("probe.log"), Map.of());
                    awaitProbeOk();
                }
                Results results = new Results();
                for (int run = 1; run <= runs; run++) {
                    owner = crashOnce(run, owner, results);
                }
                return results;
            } finally {
                if (probe != null) {
                    probe.kill9();
                }
            }
        }

        String workloadsYaml() throws IOException {
            StringBuilder y = new StringBuilder();
            String preferred = "    preferred: [node-1, node-2, node-3]\n";
            if (ve) {
                Path guest = TestGuest.build();
                y.append("ves:\n").append(TestGuest.veYaml(1, "web", guest, 128, ip, MAC, "br0", 0, preferred));
            }
            if (service) {
                Path control = OwnedService.write(dir.resolve("scripts"), ALIVE_MILLIS);
                y.append("services:\n").append(OwnedService.yaml(10, "svc", control, ownersLog, dir.resolve("service-state"), preferred));
            }
            return y.toString();
        }

        ExecResult baton(int on, String... args) {
            List<String> all = new ArrayList<>(List.of(args));
            all.addAll(List.of("--config", c.config(on).toString(), "--run-dir", c.runDir().toString(), "--as", "node-" + on, "--yes",
                    "--wait", "60"));
            return c.baton(on, all.toArray(String[]::new));
        }

        /** The owner the coordinator last recorded for {@code workload} (0 for none). */
        int recordedOwner(String workload) {
            Matcher m = Pattern.compile("event=workload-owner workload=" + workload + " change=\\S+ owner=node-(\\d+) ")
                    .matcher(p.log(coordinator));
            int owner = 0;
            while (m.find()) {
                owner = Integer.parseInt(m.group(1));
            }
            return owner;
        }

        /**
         * Waits until the workloads run on one non-coordinator node (relocating the service to the
         * VE's node if they differ), every node is up on the coordinator, and 2 s have passed.
         * Returns their node. {@code rejoined}: a node powered on again, to see up first (0: none).
         */
        int awaitSettled(int rejoined) throws Exception {
            String lead = ve ? "web" : "svc";
            if (!Poll.until(WAIT, () -> {
                int o = recordedOwner(lead);
                return o != 0 && o != coordinator && runsOn(lead, o);
            })) {
                throw new IllegalStateException(lead + " does not run on a non-coordinator node; coordinator log:\n" + p.log(coordinator));
            }
            int owner = recordedOwner(lead);
            if (ve && service && recordedOwner("svc") != owner) {
                baton(coordinator, "service", "relocate", "svc", "--to", "node-" + owner);
            }
            if (service && !Poll.until(WAIT, () -> recordedOwner("svc") == owner && runsOn("svc", owner))) {
                throw new IllegalStateException("svc does not run on node-" + owner + "; coordinator log:\n" + p.log(coordinator));
            }
            if (rejoined != 0 && !Poll.until(WAIT, () -> upVerdicts(rejoined) > upsSeen)) {
                throw new IllegalStateException("node-" + rejoined + " did not come up again; coordinator log:\n" + p.log(coordinator));
            }
            Thread.sleep(2_000 + (long) (Math.random() * 200)); // settle, then crash at a random phase of the intervals
            return owner;
        }

        long upsSeen;

        /** How many times the coordinator's membership declared node {@code id} up (its verdict lines, not the disk's). */
        long upVerdicts(int id) {
            return Pattern.compile("event=verdict peer=node-" + id + " peer-id=" + id + " from=\\S+ to=up ").matcher(p.log(coordinator))
                    .results().count();
        }

        /** Whether {@code workload} runs on node {@code node} by the owner's own log (started after its last stop or failure). */
        boolean runsOn(String workload, int node) {
            String log = p.log(node);
            int started = log.lastIndexOf("event=workload-started workload=" + workload + " ");
            int joined = log.lastIndexOf("event=joined");
            int stopped = Math.max(log.lastIndexOf("event=workload-stop workload=" + workload + " "),
                    log.lastIndexOf("event=workload-failed workload=" + workload + " "));
            return started > stopped && started > joined;
        }

        void awaitProbeOk() {
            if (!Poll.until(WAIT, () -> probe.log().contains("\nok ") || probe.log().startsWith("ok "))) {
                throw new IllegalStateException("the VE does not answer the client's probe; probe log:\n" + probe.log());
            }
        }

        /** One crash of {@code victim}; adds this run's figures; returns the new owner. */
        int crashOnce(int run, int victim, Results out) throws Exception {
            int[] logLength = new int[4];
            for (int i = 1; i <= 3; i++) {
                logLength[i] = p.log(i).length();
            }
            int probeLength = ve ? probe.log().length() : 0;
            int ownersLength = service ? Files.readString(ownersLog).length() : 0;
            String peer = "peer=node-" + victim + " peer-id=" + victim + " ";
            upsSeen = upVerdicts(victim);

            String what = hang ? "hang" : "crash";
            Instant crashed = Instant.now();
            if (hang) {
                p.hang(victim);
            } else {
                p.crash(victim);
            }

            String clog = awaitAfter(coordinator, logLength[coordinator], peer + "from=down to=fenced");
            Instant down = ts(clog, peer + "from=\\S+ to=down ");
            Instant fenced = ts(clog, peer + "from=down to=fenced");
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "run %2d: %s node-%d: down %4.0f, fenced %4.0f",
                    run, what, victim, ms(crashed, down), ms(crashed, fenced)));
            out.add(what + " -> down (coordinator's verdict)", ms(crashed, down));
            out.add("down -> fenced (fence_ipmilan off + status, recorded)", ms(down, fenced));
            int next = 0;
            if (ve) {
                String rec = awaitAfter(coordinator, logLength[coordinator], "event=workload-owner workload=web change=recover ");
                Instant recovered = ts(rec, "event=workload-owner workload=web change=recover ");
                next = ownerIn(rec, "web");
                String nlog = awaitAfter(next, logLength[next], "event=workload-started workload=web ");
                Instant start = ts(nlog, "event=workload-start workload=web");
                Instant started = ts(nlog, "event=workload-started workload=web ");
                Instant answering = probeOkAfter(probeLength, crashed);
                out.add("VE: fenced -> owner record written (change=recover)", ms(fenced, recovered));
                out.add("VE: record -> start begins on the new owner", ms(recovered, start));
                out.add("VE: start -> QEMU running, QMP up", ms(start, started));
                out.add("VE: QMP up -> guest answers GET /name (guest boot, not Baton)", ms(started, answering));
                out.add("VE: " + what + " -> QEMU running, QMP up (Baton's part)", ms(crashed, started));
                out.add("VE: " + what + " -> answering on its address", ms(crashed, answering));
                line.append(String.format(Locale.ROOT, "; web on node-%d: recorded %4.0f, QMP up %4.0f, answering %5.0f", next,
                        ms(crashed, recovered), ms(crashed, started), ms(crashed, answering)));
            }
            if (service) {
                String rec = awaitAfter(coordinator, logLength[coordinator], "event=workload-owner workload=svc change=recover ");
                Instant recovered = ts(rec, "event=workload-owner workload=svc change=recover ");
                int svcNode = ownerIn(rec, "svc");
                next = next == 0 ? svcNode : next;
                String nlog = awaitAfter(svcNode, logLength[svcNode], "event=workload-started workload=svc ");
                Instant start = ts(nlog, "event=workload-start workload=svc");
                Instant started = ts(nlog, "event=workload-started workload=svc ");
                Instant running = serviceStartAfter(ownersLength, "node-" + svcNode);
                out.add("service: fenced -> owner record written (change=recover)", ms(fenced, recovered));
                out.add("service: record -> start command returned", ms(recovered, started));
                out.add("service: " + what + " -> running again (its start line)", ms(crashed, running));
                line.append(String.format(Locale.ROOT, "; svc on node-%d: recorded %4.0f, running %4.0f (start %s)", svcNode,
                        ms(crashed, recovered), ms(crashed, running), FenceBench.ms(ms(start, started))));
            }
            System.out.println(line);

            // The victim back: power on through its BMC (as an operator would), rejoin, settle.
            if (!Poll.until(Duration.ofSeconds(20), () -> p.machinePids(victim).isEmpty())) {
                throw new IllegalStateException("node-" + victim + "'s machine still has processes after its fence");
            }
            if (!p.ipmiBmc(victim).powerOn()) {
                throw new IllegalStateException("node-" + victim + "'s BMC did not take power on");
            }
            return awaitSettled(victim);
        }

        /** Waits until node {@code id}'s log, after {@code from}, has a line containing {@code regex}; returns that part of the log. */
        String awaitAfter(int id, int from, String regex) throws InterruptedException {
            Pattern pattern = Pattern.compile(regex);
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (System.nanoTime() < deadline) {
                String log = p.log(id);
                String after = log.length() > from ? log.substring(from) : "";
                if (pattern.matcher(after).find()) {
                    return after;
                }
                Thread.sleep(20);
            }
            throw new IllegalStateException("no /" + regex + "/ in node-" + id + "'s log within " + WAIT + "; log since the crash:\n"
                    + p.log(id).substring(Math.min(from, p.log(id).length())));
        }

        /** The timestamp of the first line of {@code text} matching {@code regex}. */
        static Instant ts(String text, String regex) {
            Pattern pattern = Pattern.compile(regex);
            for (String l : text.split("\n")) {
                if (pattern.matcher(l).find()) {
                    Matcher m = TS.matcher(l);
                    if (m.find()) {
                        return Instant.parse(m.group(1));
                    }
                }
            }
            throw new IllegalStateException("no /" + regex + "/ with a timestamp in:\n" + text);
        }

        static int ownerIn(String text, String workload) {
            Matcher m = Pattern.compile("event=workload-owner workload=" + workload + " change=recover owner=node-(\\d+) ").matcher(text);
            if (!m.find()) {
                throw new IllegalStateException("no recover record of " + workload + " in:\n" + text);
            }
            return Integer.parseInt(m.group(1));
        }

        /**
         * The end of the first successful probe after a failed one that ended after the crash
         * (the VE's old copy may still answer a probe under way at the crash).
         */
        Instant probeOkAfter(int from, Instant crashed) throws InterruptedException {
            long crashNanos = crashed.getEpochSecond() * 1_000_000_000L + crashed.getNano();
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (System.nanoTime() < deadline) {
                String log = probe.log();
                boolean failedAfter = false;
                for (String l : (log.length() > from ? log.substring(from) : "").split("\n")) {
                    Matcher m = PROBE.matcher(l);
                    if (!m.find()) {
                        continue;
                    }
                    long end = Long.parseLong(m.group(3));
                    if (m.group(1).equals("fail") && end > crashNanos) {
                        failedAfter = true;
                    } else if (m.group(1).equals("ok") && failedAfter) {
                        return Instant.ofEpochSecond(0, end);
                    }
                }
                Thread.sleep(20);
            }
            throw new IllegalStateException("the VE did not answer again within " + WAIT + "; probe log since the crash:\n"
                    + probe.log().substring(from));
        }

        /** The time of the service's first start line on {@code node} in the owners log after {@code from}. */
        Instant serviceStartAfter(int from, String node) throws Exception {
            Pattern start = Pattern.compile("^t=(\\d+) workload=svc node=" + node + " .*event=start$", Pattern.MULTILINE);
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (System.nanoTime() < deadline) {
                String log = Files.readString(ownersLog);
                Matcher m = start.matcher(log.length() > from ? log.substring(from) : "");
                if (m.find()) {
                    return Instant.ofEpochSecond(0, Long.parseLong(m.group(1)));
                }
                Thread.sleep(20);
            }
            throw new IllegalStateException("svc did not start on " + node + " within " + WAIT);
        }

        static double ms(Instant from, Instant to) {
            return FenceBench.millis(from, to);
        }
    }

    @Command(name = "failover-probe", hidden = true,
            description = "Run in the lab's client host by 'bench failover': GET /name from the VE every 20 ms, logging each change.")
    static final class Probe implements Callable<Integer> {
        static final int CONNECT_TIMEOUT_MILLIS = 100;
        static final int READ_TIMEOUT_MILLIS = 500;
        static final long PERIOD_MILLIS = 20;

        @Option(names = "--ip", required = true)
        String ip;

        @Option(names = "--name", required = true)
        String name;

        @Override
        public Integer call() throws Exception {
            byte[] request = ("GET /name HTTP/1.0\r\nHost: " + ip + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
            Boolean last = null;
            while (true) {
                long t0 = nowNanos();
                boolean ok;
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress(ip, 80), CONNECT_TIMEOUT_MILLIS);
                    s.setSoTimeout(READ_TIMEOUT_MILLIS);
                    OutputStream o = s.getOutputStream();
                    o.write(request);
                    o.flush();
                    InputStream in = s.getInputStream();
                    String answer = new String(in.readNBytes(4096), StandardCharsets.US_ASCII);
                    int body = answer.indexOf("\r\n\r\n");
                    ok = answer.startsWith("HTTP/1.") && answer.lines().findFirst().orElse("").contains(" 200 ") && body > 0
                            && answer.substring(body + 4).strip().equals(name);
                } catch (IOException e) {
                    ok = false;
                }
                long t1 = nowNanos();
                if (last == null || last != ok) {
                    System.out.println((ok ? "ok " : "fail ") + t0 + " " + t1);
                    System.out.flush();
                    last = ok;
                }
                long left = PERIOD_MILLIS - (t1 - t0) / 1_000_000;
                Thread.sleep(Math.max(1, left));
            }
        }

        static long nowNanos() {
            Instant n = Instant.now();
            return n.getEpochSecond() * 1_000_000_000L + n.getNano();
        }
    }
}
