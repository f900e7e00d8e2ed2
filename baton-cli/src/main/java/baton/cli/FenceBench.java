package baton.cli;

import baton.core.fence.FenceTiming;
import baton.lab.Cmd;
import baton.lab.Host;
import baton.lab.Lab;
import baton.lab.LabProcess;
import baton.lab.bmc.IpmiBmc;
import baton.lab.bmc.PowerStatus;
import baton.lab.bmc.RedfishBmc;
import baton.runtime.fence.AgentAction;
import baton.runtime.fence.AgentResult;
import baton.runtime.fence.FenceAgent;
import baton.runtime.fence.FenceDevice;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Fencing benchmarks with real parts: the real fence agents against the lab's BMC simulators
 * (OpenIPMI's ipmi_sim, the lab's Redfish BMC), and crashes and hangs of node daemons that are
 * the machines of those BMCs (see {@link PowerLab}), to the coordinator's {@code fenced} verdict. Each prints its figures and how it was run.
 *
 * <p>The agent calls are made the way the daemon makes them: {@link FenceAgent} in a JVM inside
 * a lab host (the hidden {@code bench fence-agent-calls}, started in the lab's client host), with
 * the password in a 0600 file that FenceAgent reads and sends on the agent's stdin. The bench's
 * own JVM is in no lab namespace, so it cannot call the agents itself.
 */
final class FenceBench {
    private FenceBench() {}

    /** How long one failure may take to become {@code fenced}, or a powered-on node to be {@code up} again. */
    static final Duration FENCE_WAIT = Duration.ofSeconds(60);

    /** The deadline of every agent call: the daemon's (FenceTiming.DEFAULTS). */
    static final Duration AGENT_DEADLINE = Duration.ofNanos(FenceTiming.DEFAULTS.agentDeadlineNanos());

    /**
     * One run's calls, in this order: monitor (machine on), off, status (must say off: how Baton
     * confirms an off), on, reboot (ends on). The span off..status is what a fence level costs.
     */
    static final List<AgentAction> SEQUENCE = List.of(AgentAction.MONITOR, AgentAction.OFF, AgentAction.STATUS, AgentAction.ON,
            AgentAction.REBOOT);

    /** The row name of the off + status span. */
    static final String OFF_CONFIRMED = "off+status";

    static final Pattern CALL = Pattern.compile("^call run=(\\d+) action=(\\S+) millis=([0-9.]+) result=(.*)$");

    @Command(name = "fence", mixinStandardHelpOptions = true,
            description = {"Fencing: (1) the time of each fence agent action (monitor, off then status confirming off,",
                    "on, reboot) for fence_ipmilan against ipmi_sim and fence_redfish against the lab's Redfish BMC,",
                    "called through Baton's FenceAgent from another lab host; (2) kill -9 (crash) and SIGSTOP (hang) of a",
                    "node daemon to the coordinator's 'fenced' verdict in a PowerLab cluster (IPMI power), split into",
                    "failure -> down -> fenced, a fresh cluster per run. N runs of each."})
    static final class Fence implements Callable<Integer> {
        @Option(names = "--runs", defaultValue = "20", description = "Runs of each measurement (default ${DEFAULT-VALUE}).")
        int runs;

        @Option(names = "--nodes", defaultValue = "3", description = "Nodes of the cluster whose nodes fail (default ${DEFAULT-VALUE}).")
        int nodes;

        @Override
        public Integer call() throws Exception {
            if (runs < 1 || nodes < 3) {
                throw new CliFailure(baton.runtime.node.ExitStatus.USAGE, "need --runs >= 1 and --nodes >= 3"
                        + " (a majority must survive a failure)");
            }
            String versions = Cmd.run(Duration.ofSeconds(10), "dpkg-query", "-W", "-f", "${Package} ${Version}, ",
                    "fence-agents", "ipmitool", "openipmi").stdout().replaceAll(", $", "");
            String machine = Runtime.getRuntime().availableProcessors() + " CPUs, "
                    + Cmd.run(Duration.ofSeconds(5), "uname", "-sr").stdout().strip() + ", JDK " + Runtime.version();

            System.out.println("== agent calls ==");
            Map<String, Map<String, double[]>> calls = new LinkedHashMap<>();
            Path agentDir = Files.createTempDirectory(Path.of("/var/tmp"), "baton-bench-fence-agents-");
            boolean agentsOk = false;
            try {
                agentCalls(agentDir, runs, calls);
                agentsOk = true;
            } finally {
                if (agentsOk) {
                    LabBench.delete(agentDir);
                } else {
                    System.out.println("agent bench failed; files kept in " + agentDir);
                }
            }

            System.out.println("== failure -> fenced ==");
            Path crashDir = Files.createTempDirectory(Path.of("/var/tmp"), "baton-bench-fence-");
            Map<Failure, Steps> failures;
            boolean crashOk = false;
            try {
                failures = failuresToFenced(crashDir, runs, nodes, List.of(Failure.values()));
                crashOk = true;
            } finally {
                if (crashOk) {
                    LabBench.delete(crashDir);
                } else {
                    System.out.println("failure bench failed; logs kept in " + crashDir);
                }
            }

            System.out.println();
            System.out.printf("baton bench fence: %d runs each; %s; %s%n", runs, machine, versions);
            System.out.printf("agent calls: from the lab's client host to BMCs on n1, through Baton's FenceAgent (setsid, stdin"
                    + " key=value, password from a 0600 file), deadline %d s each, wall time of FenceAgent.run;%n",
                    AGENT_DEADLINE.toSeconds());
            System.out.printf("  ipmi: fence_ipmilan %s, password file%n", flat(PowerLab.ipmiParameters("IP")));
            System.out.printf("  redfish: fence_redfish %s, password file%n", flat(PowerLab.redfishParameters("IP")));
            System.out.printf("  per run: %s (status must say off); one untimed monitor per device first;"
                    + " the machine behind each BMC is `sleep`%n", String.join(", ", SEQUENCE.stream().map(AgentAction::wireName).toList()));
            Table t = new Table("DEVICE", "ACTION", "RUNS", "P50 MS", "P99 MS", "MAX MS");
            calls.forEach((device, byAction) -> byAction.forEach((action, ms) -> {
                double[] s = ms.clone();
                Arrays.sort(s);
                t.row(device, action, s.length, ms(LabBench.percentile(s, 50)), ms(LabBench.percentile(s, 99)), ms(s[s.length - 1]));
            }));
            System.out.print(t);
            System.out.println();
            System.out.printf("failure -> fenced: %d nodes in network namespaces, each daemon the machine of its own ipmi_sim"
                    + " (level 1: ipmi-N, fence_ipmilan, same parameters), quorum disk file in /var/tmp, default timeouts and"
                    + " fencing settings (agent deadline %d s, monitor every %d s);%n", nodes, AGENT_DEADLINE.toSeconds(),
                    baton.runtime.config.FencingConfig.DEFAULTS.monitorIntervalMillis() / 1000);
            System.out.printf("  a fresh cluster per run (all up, the victim's switch answered, 2 s settle); a non-coordinator daemon"
                    + " (alternating) is killed (kill -9: in the lab its BMC then reports power off, so off only reads it)"
                    + " or stopped (SIGSTOP, a hang: power stays on, off cuts it);%n");
            System.out.printf("  the failure's time from this JVM's wall clock, every other time from the daemons' own log timestamps"
                    + " (same host clock);%n");
            failures.forEach((kind, steps) -> {
                System.out.println(kind.label + " (" + kind.signal + "):");
                Table ct = new Table("STEP", "RUNS", "P50 MS", "P99 MS", "MAX MS");
                steps.rows().forEach((step, ms) -> {
                    double[] sorted = ms.clone();
                    Arrays.sort(sorted);
                    ct.row(step, sorted.length, ms(LabBench.percentile(sorted, 50)), ms(LabBench.percentile(sorted, 99)),
                            ms(sorted[sorted.length - 1]));
                });
                System.out.print(ct);
            });
            return 0;
        }
    }

    // ---- (1) agent calls ---------------------------------------------------------------------

    /** Starts both BMCs on n1 and runs the calls from the client host; fills {@code out} device -> action -> millis. */
    static void agentCalls(Path dir, int runs, Map<String, Map<String, double[]>> out) throws Exception {
        Path password = secret(dir.resolve("bmc.password"), PowerLab.PASSWORD);
        try (Lab lab = Lab.create(1, true)) {
            Host bmcHost = lab.node(1);
            Host caller = lab.client();
            String ip = bmcHost.address().getHostAddress();
            try (IpmiBmc ipmi = IpmiBmc.start(bmcHost, bmcHost.address(), 623, PowerLab.USER, PowerLab.PASSWORD,
                    PowerLab.DUMMY_MACHINE, Files.createDirectories(dir.resolve("ipmi")));
                    RedfishBmc redfish = RedfishBmc.start(bmcHost, bmcHost.address(), 443, PowerLab.USER, PowerLab.PASSWORD,
                            PowerLab.DUMMY_MACHINE, Files.createDirectories(dir.resolve("redfish")))) {
                out.put("ipmi (fence_ipmilan -> ipmi_sim)", device(caller, dir, "ipmi", "fence_ipmilan", PowerLab.ipmiParameters(ip), password, runs));
                out.put("redfish (fence_redfish -> lab Redfish BMC)", device(caller, dir, "redfish", "fence_redfish",
                        PowerLab.redfishParameters(ip), password, runs));
                if (ipmi.powerStatus() != PowerStatus.ON || redfish.powerStatus() != PowerStatus.ON) {
                    throw new IllegalStateException("a BMC is not on after the last reboot: ipmi " + ipmi.powerStatus() + ", redfish "
                            + redfish.powerStatus());
                }
            }
        }
    }

    /** Runs one device's calls in {@code caller} and returns action -> millis per run. */
    static Map<String, double[]> device(Host caller, Path dir, String name, String agent, Map<String, String> parameters, Path password,
            int runs) {
        List<String> args = new ArrayList<>(List.of("bench", "fence-agent-calls", "--device", name, "--agent", agent,
                "--runs", Integer.toString(runs), "--secret", "password=" + password));
        parameters.forEach((k, v) -> args.addAll(List.of("--param", k + "=" + v)));
        LabProcess worker = caller.start(LabCluster.java(args.toArray(String[]::new)), dir.resolve("calls-" + name + ".log"), Map.of());
        int status = worker.waitFor(AGENT_DEADLINE.multipliedBy((long) runs * (SEQUENCE.size() + 1) + 1));
        if (status != 0) {
            throw new IllegalStateException("the agent calls of " + name + " failed (exit " + status + "):\n" + worker.log());
        }
        Map<String, List<Double>> byAction = new LinkedHashMap<>();
        for (String line : worker.log().split("\n")) {
            Matcher m = CALL.matcher(line);
            if (m.matches()) {
                byAction.computeIfAbsent(m.group(2), a -> new ArrayList<>()).add(Double.parseDouble(m.group(3)));
                System.out.println(name + " " + line);
            }
        }
        Map<String, double[]> result = new LinkedHashMap<>();
        byAction.forEach((a, l) -> result.put(a, l.stream().mapToDouble(Double::doubleValue).toArray()));
        if (result.size() != SEQUENCE.size() + 1 || result.values().stream().anyMatch(a -> a.length != runs)) {
            throw new IllegalStateException("the agent calls of " + name + " did not report every call:\n" + worker.log());
        }
        return result;
    }

    @Command(name = "fence-agent-calls", hidden = true,
            description = "Run inside a lab host by 'bench fence': one device's agent calls through FenceAgent, timed.")
    static final class AgentCalls implements Callable<Integer> {
        @Option(names = "--device", required = true)
        String device;

        @Option(names = "--agent", required = true)
        String agent;

        @Option(names = "--param")
        Map<String, String> parameters = new LinkedHashMap<>();

        @Option(names = "--secret", description = "NAME=FILE")
        Map<String, Path> secrets = new LinkedHashMap<>();

        @Option(names = "--runs", defaultValue = "20")
        int runs;

        @Override
        public Integer call() throws Exception {
            FenceDevice d = new FenceDevice(device, FenceDevice.agentPath(agent), parameters, secrets);
            FenceAgent fenceAgent = new FenceAgent();
            // Untimed: class loading in this JVM, the agent's Python modules into the page cache.
            AgentResult warm = fenceAgent.run(d, AgentAction.MONITOR, AGENT_DEADLINE);
            if (!(warm instanceof AgentResult.Success)) {
                System.out.println("unexpected warm-up monitor: " + warm.summary());
                return 1;
            }
            for (int run = 1; run <= runs; run++) {
                long offStarted = 0;
                for (AgentAction action : SEQUENCE) {
                    long t0 = System.nanoTime();
                    if (action == AgentAction.OFF) {
                        offStarted = t0;
                    }
                    AgentResult r = fenceAgent.run(d, action, AGENT_DEADLINE);
                    long t1 = System.nanoTime();
                    boolean expected = action == AgentAction.STATUS ? r instanceof AgentResult.StatusOff : r instanceof AgentResult.Success;
                    System.out.printf(Locale.ROOT, "call run=%d action=%s millis=%.1f result=%s%n", run, action.wireName(), (t1 - t0) / 1e6,
                            r.summary());
                    if (action == AgentAction.STATUS) {
                        System.out.printf(Locale.ROOT, "call run=%d action=%s millis=%.1f result=%s%n", run, OFF_CONFIRMED,
                                (t1 - offStarted) / 1e6, "confirmed off");
                    }
                    if (!expected) {
                        System.out.println("unexpected: run " + run + " " + action.wireName() + " ended " + r.summary());
                        return 1;
                    }
                }
            }
            return 0;
        }
    }

    // ---- (2) failure -> fenced ---------------------------------------------------------------

    /**
     * How the victim fails. In the lab a node daemon IS its BMC's machine: when it dies, ipmi_sim
     * sees its machine process end and reports the power off, so after a kill -9 the agent's off
     * finds the power already off and only reads it (a real server whose OS crashed stays powered
     * on). A stopped (SIGSTOP) daemon is a hung server: its power stays on and off really cuts it.
     */
    enum Failure {
        KILL("kill -9", "crash"),
        STOP("SIGSTOP", "hang");

        final String signal;
        final String label;

        Failure(String signal, String label) {
            this.signal = signal;
            this.label = label;
        }
    }

    /** Step name -> millis per run, in print order. */
    record Steps(Map<String, double[]> rows) {}

    /** A matched log line: its timestamp and where it ends in the log. */
    record Line(Instant ts, int start, int end, String text) {}

    /**
     * {@code runs} failures of a non-coordinator node for each kind in {@code kinds}, each in a
     * fresh cluster: the daemon's fencing core does not fence a node again once it was fenced and
     * came back within the same coordinator term (Fencing.onDown takes the down of the incarnation
     * that VerdictBack recorded for "the same verdict again"), so one cluster measures one failure.
     * Run folders go under {@code dir}.
     */
    static Map<Failure, Steps> failuresToFenced(Path dir, int runs, int nodes, List<Failure> kinds) throws Exception {
        Map<Failure, Steps> result = new LinkedHashMap<>();
        for (Failure kind : kinds) {
            String[] steps = {kind.signal + " -> down (coordinator's verdict)", "down -> fenced", "  off (agent call)",
                    "  status (agent call, says off)", "  status done -> fenced (recorded on disk)", kind.signal + " -> fenced"};
            double[][] ms = new double[steps.length][runs];
            for (int run = 0; run < runs; run++) {
                double[] row = failOnce(dir.resolve(kind.label + "-" + (run + 1)), nodes, kind, run);
                for (int i = 0; i < steps.length; i++) {
                    ms[i][run] = row[i];
                }
            }
            Map<String, double[]> rows = new LinkedHashMap<>();
            for (int i = 0; i < steps.length; i++) {
                rows.put(steps[i], ms[i]);
            }
            result.put(kind, new Steps(rows));
        }
        return result;
    }

    /** One cluster, one failure of a non-coordinator node (which one alternates with {@code run}); the steps in millis. */
    private static double[] failOnce(Path dir, int nodes, Failure kind, int run) throws Exception {
        LabCluster c = new LabCluster(dir, "bench", nodes, true);
        try (c; PowerLab p = new PowerLab(c)) {
            p.start(dir.resolve("quorum.img").toString(), null);
            int coordinator = p.awaitCoordinator();
            if (coordinator == 0) {
                throw new IllegalStateException("no coordinator within " + LabCluster.WAIT);
            }
            List<Integer> victims = new ArrayList<>();
            for (int i = 1; i <= nodes; i++) {
                if (i != coordinator) {
                    victims.add(i);
                }
            }
            int v = victims.get(run % victims.size());
            Supplier<String> log = () -> p.log(coordinator);
            // Steady state: every node has every other up, and the coordinator's watch has seen the victim's switch answer.
            for (int i = 1; i <= nodes; i++) {
                for (int peer = 1; peer <= nodes; peer++) {
                    if (peer != i) {
                        int id = i;
                        awaitNth(() -> p.log(id), Pattern.compile("peer=node-" + peer + " peer-id=" + peer + " from=[a-z-]+ to=up "), 0);
                    }
                }
            }
            awaitNth(log, Pattern.compile("event=fence-device-changed device=ipmi-" + v + " from=unknown to=ok"), 0);
            Thread.sleep(2_000 + (long) (Math.random() * 200)); // settle (JIT, first GCs), then fail at a random phase of the intervals

            String peer = "peer=node-" + v + " peer-id=" + v + " ";
            long pid = p.daemonPid(v).orElseThrow(() -> new IllegalStateException("node-" + v + " is not running"));
            Instant failed = Instant.now();
            switch (kind) {
                case KILL -> ProcessHandle.of(pid).orElseThrow().destroyForcibly();
                case STOP -> Cmd.check(Duration.ofSeconds(5), "kill", "-STOP", Long.toString(pid)); // a few ms after `failed`
            }
            Line d = awaitNth(log, Pattern.compile(peer + "from=[a-z-]+ to=down "), 0);
            Line s = awaitNth(log, Pattern.compile("event=fence-started node-id=" + v + " "), 0);
            Line f = awaitNth(log, Pattern.compile(peer + "from=down to=fenced"), 0);
            // The daemon logs the down verdict just after the fence it starts (same step): look from fence-started.
            String fencing = log.get().substring(s.start(), f.end());
            Instant offStart = firstTs(fencing, "event=fence-agent device=ipmi-" + v + " action=off ");
            Instant offDone = firstTs(fencing, "event=fence-agent-done device=ipmi-" + v + " action=off ");
            Instant statusStart = firstTs(fencing, "event=fence-agent device=ipmi-" + v + " action=status ");
            Instant statusDone = firstTs(fencing, "event=fence-agent-done device=ipmi-" + v + " action=status ");
            PowerStatus power = p.ipmiBmc(v).powerStatus();
            if (power != PowerStatus.OFF) {
                throw new IllegalStateException("node-" + v + " is fenced but its BMC says " + power);
            }
            // Power off sends the SIGKILL; the process may take a moment to be torn down and reaped.
            if (!baton.lab.Poll.until(Duration.ofSeconds(10), () -> ProcessHandle.of(pid).isEmpty())) {
                throw new IllegalStateException("node-" + v + " is fenced but its daemon (pid " + pid + ") still exists 10 s later");
            }
            double[] row = {millis(failed, d.ts()), millis(d.ts(), f.ts()), millis(offStart, offDone), millis(statusStart, statusDone),
                    millis(statusDone, f.ts()), millis(failed, f.ts())};
            System.out.printf(Locale.ROOT, "%s run %2d: node-%d (coordinator node-%d) %s->down %.0f ms, down->fenced %.0f ms"
                    + " (off %.0f, status %.0f), %s->fenced %.0f ms%n", kind.label, run + 1, v, coordinator, kind.signal, row[0], row[1],
                    row[2], row[3], kind.signal, row[5]);
            return row;
        }
    }

    static int count(String log, Pattern p) {
        int n = 0;
        Matcher m = p.matcher(log);
        while (m.find()) {
            n++;
        }
        return n;
    }

    /** Waits for the {@code nth} (0-based) line of {@code log} matching {@code p}, at most {@link #FENCE_WAIT}. */
    static Line awaitNth(Supplier<String> log, Pattern p, int nth) throws InterruptedException {
        long deadline = System.nanoTime() + FENCE_WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            String text = log.get();
            Matcher m = p.matcher(text);
            for (int seen = 0; m.find(); seen++) {
                if (seen == nth) {
                    int start = text.lastIndexOf('\n', m.start()) + 1;
                    int end = text.indexOf('\n', m.end());
                    end = end < 0 ? text.length() : end;
                    String line = text.substring(start, end);
                    Matcher ts = LabBench.TS.matcher(line);
                    if (!ts.find()) {
                        throw new IllegalStateException("no timestamp in: " + line);
                    }
                    return new Line(Instant.parse(ts.group(1)), start, end, line);
                }
            }
            Thread.sleep(20);
        }
        throw new IllegalStateException("no line /" + p + "/ #" + nth + " within " + FENCE_WAIT + "; log:\n" + log.get());
    }

    /** The timestamp of the first line of {@code text} containing {@code needle}. */
    static Instant firstTs(String text, String needle) {
        for (String line : text.split("\n")) {
            if (line.contains(needle)) {
                Matcher ts = LabBench.TS.matcher(line);
                if (ts.find()) {
                    return Instant.parse(ts.group(1));
                }
            }
        }
        throw new IllegalStateException("no line with '" + needle + "' between fence-started and fenced:\n" + text);
    }

    static double millis(Instant from, Instant to) {
        return Duration.between(from, to).toNanos() / 1e6;
    }

    static String ms(double v) {
        return String.format(Locale.ROOT, "%.0f", v);
    }

    static String flat(Map<String, String> parameters) {
        StringBuilder b = new StringBuilder();
        parameters.forEach((k, v) -> b.append(b.isEmpty() ? "" : " ").append(k).append('=').append(v));
        return b.toString();
    }

    private static Path secret(Path file, String value) throws IOException {
        // Created 0600 before the secret goes in, so it is never readable by others.
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(file, value + "\n");
        return file;
    }
}
