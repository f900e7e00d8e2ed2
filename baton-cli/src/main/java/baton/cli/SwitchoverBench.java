package baton.cli;

import baton.lab.Cmd;
import baton.lab.ExecResult;
import baton.runtime.node.ExitStatus;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Whole-node live switchover with real parts, as an operator does it for maintenance:
 * {@code baton node switchover node-1} moves node-1's three running VEs off it while they run,
 * {@code baton node resume node-1 --switch-back} brings them back the same way. Timed as the
 * operator sees it (the command to its {@code done:}) and, per VE, from the daemons' own logs
 * ({@link MigrationSpans}: each handover, QEMU's reported downtime, how many moved at once).
 *
 * <p>One lab for all runs, the cluster of SwitchoverFailureIT's three-VE test: 3 node daemons,
 * each the machine of its own {@code ipmi_sim} ({@link PowerLab}), node hosts' uplinks in a bridge
 * {@code br0} that the VEs' taps join ({@link LabCluster#bridgeUplinks}), a client host, three VEs
 * of the test guest preferring node-1, at most {@code migration.maxParallel} of them migrating off
 * one node at once, each guest rewriting part of its RAM while it moves. Each run starts from the
 * same placement (all three running on node-1 and answering) and the switch-back, measured too,
 * brings it back there; a VE found elsewhere at the start of a run is relocated to node-1 first.
 *
 * <p>The point of a live switchover is that the VEs do not restart, so every move is checked, and
 * none is left out of the figures: a VE whose uptime (the guest's {@code /proc/uptime}, asked from
 * the client host) did not grow is counted restarted, one that does not answer within
 * {@link #BROKEN_WAIT} broken, and a dirtying guest whose own check of its data fails (its console
 * says {@link MigrationBench#CORRUPT}: the lost writes of docs/switchover.md) corrupt. The commands
 * run through the CLI on node-2, as the switchover tests run them, so the command's time includes
 * its JVM's start; the coordinator's log gives Baton's part without it.
 */
final class SwitchoverBench {
    private SwitchoverBench() {}

    /** How long the lab may take to reach a state (three TCG guests booting at once on a loaded machine take a while). */
    static final Duration WAIT = Duration.ofSeconds(120);
    /** How long a moved VE may take to answer again before it counts as broken: a VE moved live answers at once. */
    static final Duration BROKEN_WAIT = Duration.ofSeconds(30);
    /** Before each run: the guests' dirtying loops past their fingerprints and under way, the last run's QEMUs gone. */
    static final Duration SETTLE = Duration.ofSeconds(5);
    /** After the last run, before the final count of corrupt guests: a dirtying loop finds a damaged block within a few passes. */
    static final Duration CORRUPT_WATCH = Duration.ofSeconds(10);
    static final List<String> NAMES = List.of("web", "db", "mail");
    static final int VE_HOST_NUMBER = 100;
    /** The node switched over: every VE prefers it. */
    static final int HOME = 1;
    /** Where the operator's commands run. */
    static final int OPERATOR = 2;
    static final Pattern TS = Pattern.compile("^ts=(\\S+) ");

    @Command(name = "switchover", mixinStandardHelpOptions = true,
            description = {"Whole-node live switchover: 'baton node switchover node-1' moving the three running VEs of node-1 (the",
                    "test guest, dirtying its memory) off it, then 'baton node resume node-1 --switch-back' moving them back, in a",
                    "3-node lab of real daemons, BMCs and QEMUs. Per run the commands' times, each VE's handover and QEMU downtime",
                    "from the daemons' logs, the most in flight at once, and whether every VE is still the same boot; p50/max."})
    static final class Switchover implements Callable<Integer> {
        @Option(names = "--runs", defaultValue = "5", description = "Switchovers, each with its switch-back (default ${DEFAULT-VALUE}).")
        int runs;

        @Option(names = "--memory", defaultValue = "128", description = "Each VE's memory in MiB (default ${DEFAULT-VALUE}).")
        int memory;

        @Option(names = "--parallel", defaultValue = "2", description = "migration.maxParallel: VEs migrating off one node at once"
                + " (default ${DEFAULT-VALUE}).")
        int parallel;

        @Option(names = "--dirty-mib", defaultValue = "8", description = "MiB of its RAM each guest keeps rewriting with new data"
                + " (baton.dirty_mib; 0: idle guests; default ${DEFAULT-VALUE}, as SwitchoverFailureIT).")
        int dirtyMib;

        @Option(names = "--file-mib", defaultValue = "24", description = "The size of the file each guest serves: memory that is not"
                + " zero and has to be sent (default ${DEFAULT-VALUE}, as the switchover tests; a 128 MiB guest has room for about"
                + " file + dirty + 33 <= 70).")
        int fileMib;

        @Option(names = "--keep", description = "Keep the lab's folder (logs, consoles) afterwards.")
        boolean keep;

        @Override
        public Integer call() throws Exception {
            if (runs < 1 || parallel < 1 || memory < 1 || fileMib < 0 || dirtyMib < 0) {
                throw new CliFailure(ExitStatus.USAGE, "need --runs >= 1, --parallel >= 1, --memory >= 1, --file-mib >= 0, --dirty-mib >= 0");
            }
            Path guest = TestGuest.build();
            String machine = Runtime.getRuntime().availableProcessors() + " CPUs, "
                    + Cmd.run(Duration.ofSeconds(5), "uname", "-sr").stdout().strip() + ", JDK " + Runtime.version() + ", "
                    + Cmd.run(Duration.ofSeconds(10), "dpkg-query", "-W", "-f", "${Package} ${Version}", "qemu-system-x86").stdout();
            System.out.printf("baton bench switchover --runs %d --memory %d --parallel %d --dirty-mib %d --file-mib %d: %s%n", runs, memory,
                    parallel, dirtyMib, fileMib, machine);
            System.out.println("lab: 3 node daemons in network namespaces, each the machine of its own ipmi_sim, default timeouts; node hosts'"
                    + " uplinks in br0, the VEs' taps there; a client host; migration: live, maxParallel " + parallel + ", the other"
                    + " settings at their defaults (docs/switchover.md)");
            System.out.printf("VEs: %s: the test guest (scripts/build-guest), %d MiB, 1 vCPU, accel tcg, a %d MiB file, %s; preferred"
                    + " [node-1], monitorIntervalMillis 1000%n", String.join(", ", NAMES), memory, fileMib,
                    dirtyMib > 0 ? "rewriting " + dirtyMib + " MiB of its RAM" : "idle");
            System.out.println("each run: the 3 VEs run on node-1 and answer GET /name from the client host, " + SETTLE.toSeconds() + " s"
                    + " settle, their uptimes (GET /cgi-bin/uptime); 'baton node switchover node-1' on node-2, timed to 'done: nothing runs"
                    + " on node-1' (its JVM's start included); the uptimes again; 'baton node resume node-1 --switch-back', timed to"
                    + " 'done: back on node-1'; the uptimes again");
            System.out.println("handover: the source's log, event=migration-send to migration-sent; downtime: QEMU's, as migration-sent"
                    + " gives it; in flight: handovers overlapping in time, from all nodes and off one node; the coordinator's log: from"
                    + " event=operator-request to switchover-done (switch-back: to the last VE's migrate_finish on node-1)");
            System.out.println("restarted: answered with an uptime that did not grow; broken: no answer within " + BROKEN_WAIT.toSeconds()
                    + " s; corrupt: the guest's own check of its dirtied data failed (console: " + MigrationBench.CORRUPT + ")");
            System.out.println("load average at the start: " + loadAverage());
            Path dir = Files.createTempDirectory(Path.of("/var/tmp"), "baton-bench-switchover-");
            Results results = null;
            try {
                results = new Lab(dir, this, guest).run(runs);
            } finally {
                if (results == null || keep) {
                    System.out.println("logs kept in " + dir); // a failed bench's logs say why
                } else {
                    LabBench.delete(dir);
                }
            }
            System.out.println();
            System.out.println("load average at the end: " + loadAverage());
            Table t = new Table("STEP", "N", "P50 MS", "MAX MS");
            for (Tally phase : List.of(results.over, results.back)) {
                row(t, phase.name + ": command -> '" + phase.done + "'", phase.command);
                row(t, phase.name + ":   command start -> request seen (coordinator's log)", phase.asking);
                row(t, phase.name + ":   request seen -> done (coordinator's log)", phase.baton);
                row(t, phase.name + ":   done (coordinator's log) -> command returned", phase.returning);
                row(t, phase.name + ": handover per VE (send -> sent)", phase.handover);
                row(t, phase.name + ": QEMU downtime per VE", phase.downtime);
            }
            System.out.print(t);
            Table c = new Table("PHASE", "RUNS", "MAX IN FLIGHT", "OFF ONE NODE", "NOT DONE", "SENDS FAILED", "RESTARTED", "BROKEN");
            for (Tally phase : List.of(results.over, results.back)) {
                c.row(phase.name, phase.command.size() + phase.notDone, phase.maxInFlight, phase.maxOffOneNode, phase.notDone,
                        phase.sendsFailed, phase.restarted, phase.broken);
            }
            System.out.print(c);
            System.out.println("corrupt guests (all runs, counted " + CORRUPT_WATCH.toSeconds() + " s after the last): "
                    + (dirtyMib > 0 ? results.corrupt : "- (idle guests)"));
            return 0;
        }

        private static void row(Table t, String step, List<Double> values) {
            if (values.isEmpty()) {
                t.row(step, 0, "-", "-");
                return;
            }
            double[] s = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            t.row(step, s.length, FenceBench.ms(LabBench.percentile(s, 50)), FenceBench.ms(s[s.length - 1]));
        }
    }

    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException e) {
            return "?";
        }
    }

    /** One phase's figures over all runs: the switchover or the switch-back. */
    static final class Tally {
        final String name;
        final String done;
        final List<Double> command = new ArrayList<>();
        /** The command's own part before Baton's: its JVM's start, the request through the quorum disk. */
        final List<Double> asking = new ArrayList<>();
        /** Baton's part, from the coordinator's log. */
        final List<Double> baton = new ArrayList<>();
        /** The command's own part after Baton's: it sees the records through the quorum disk and ends. */
        final List<Double> returning = new ArrayList<>();
        final List<Double> handover = new ArrayList<>();
        final List<Double> downtime = new ArrayList<>();
        int maxInFlight;
        int maxOffOneNode;
        /** Commands that did not end with their {@code done:} line (a VE not moved, a refusal, a time-out). */
        int notDone;
        int sendsFailed;
        int restarted;
        int broken;

        Tally(String name, String done) {
            this.name = name;
            this.done = done;
        }
    }

    static final class Results {
        final Tally over = new Tally("switchover", "done: nothing runs on node-" + HOME);
        final Tally back = new Tally("switch-back", "done: back on node-" + HOME);
        int corrupt;
    }

    /** One VE: its name and address. */
    record Ve(String name, String ip) {}

    /** The lab for all runs. */
    static final class Lab {
        final Path dir;
        final Switchover options;
        final Path guest;
        final List<Ve> ves = new ArrayList<>();
        LabCluster c;
        PowerLab p;
        /** The guests' reports of damaged data counted by the last run's line: a run's line counts those since. */
        int corruptSeen;

        Lab(Path dir, Switchover options, Path guest) {
            this.dir = dir;
            this.options = options;
            this.guest = guest;
        }

        Results run(int runs) throws Exception {
            try (LabCluster cluster = new LabCluster(dir, "bench", 3, true); PowerLab power = new PowerLab(cluster)) {
                c = cluster;
                p = power;
                c.bridgeUplinks("br0");
                StringBuilder y = new StringBuilder("ves:\n");
                for (int i = 0; i < NAMES.size(); i++) {
                    Ve ve = new Ve(NAMES.get(i), c.lab().tag().address(VE_HOST_NUMBER + i));
                    ves.add(ve);
                    y.append(TestGuest.veYaml(1 + i, ve.name(), guest, options.memory, ve.ip(), String.format("52:54:00:b7:0d:%02x", i + 1),
                            "br0", options.fileMib, options.dirtyMib, "    preferred: [node-1]\n    monitorIntervalMillis: 1000\n"));
                }
                y.append("migration: {maxParallel: ").append(options.parallel).append("}\n");
                p.yaml(y.toString());
                p.start(dir.resolve("quorum.img").toString(), null);
                Results results = new Results();
                for (int run = 1; run <= runs; run++) {
                    once(run, results);
                }
                if (options.dirtyMib > 0) {
                    Thread.sleep(CORRUPT_WATCH.toMillis());
                }
                results.corrupt = corruptLines();
                return results;
            }
        }

        /** One switchover and its switch-back; prints the run's line and adds its figures. */
        void once(int run, Results out) throws Exception {
            home();
            Thread.sleep(SETTLE.toMillis());
            Map<String, Double> before = new LinkedHashMap<>();
            for (Ve ve : ves) {
                Double u = uptime(ve, BROKEN_WAIT);
                if (u == null) {
                    throw new IllegalStateException(ve.name() + " stopped answering before the run; its console:\n" + consoles(ve));
                }
                before.put(ve.name(), u);
            }
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "run %2d: ", run));
            Map<String, Double> moved = phase(out.over, before, line, "node", "switchover", "node-" + HOME);
            line.append("; ");
            phase(out.back, moved, line, "node", "resume", "node-" + HOME, "--switch-back");
            int corrupt = corruptLines();
            line.append("; corrupt ").append(corrupt - corruptSeen);
            corruptSeen = corrupt;
            System.out.println(line);
        }

        /**
         * Runs the operator's command of one phase, then reads what it did from the logs and checks
         * every VE; adds to {@code tally} and {@code line}. Returns each VE's uptime after it (null:
         * no answer).
         */
        Map<String, Double> phase(Tally tally, Map<String, Double> before, StringBuilder line, String... command) throws Exception {
            Instant t0 = Instant.now();
            long n0 = System.nanoTime();
            ExecResult r = operator(command);
            double millis = (System.nanoTime() - n0) / 1e6;
            Instant returned = Instant.now();
            boolean ok = r.exitCode() == 0 && r.stdout().contains(tally.done);
            if (ok) {
                tally.command.add(millis);
            } else {
                tally.notDone++;
                System.out.println("  " + tally.name + " did not end with '" + tally.done + "': " + r.describe() + "\n" + r.stdout().strip());
            }
            Map<Integer, List<MigrationSpans.Span>> bySource = awaitSpans(t0);
            List<MigrationSpans.Span> spans = bySource.values().stream().flatMap(List::stream)
                    .sorted(Comparator.comparing(MigrationSpans.Span::start)).toList();
            boolean switchover = tally.name.equals("switchover");
            Instant finished = switchover
                    ? earliest("event=switchover-done node=node-" + HOME + " ", t0)
                    : latest("event=workload-owner workload=\\S+ change=migrate_finish owner=node-" + HOME + " ", t0);
            Instant asked = earliest("event=operator-request kind=" + (switchover ? "switchover" : "resume --switch-back")
                    + " from=node-" + OPERATOR + " ", t0);
            if (ok && asked != null && finished != null) {
                tally.asking.add(FenceBench.millis(t0, asked));
                tally.baton.add(FenceBench.millis(asked, finished));
                tally.returning.add(FenceBench.millis(finished, returned));
            }
            line.append(String.format(Locale.ROOT, "%s %5.0f ms%s (", tally.name, millis, ok ? "" : " NOT DONE"));
            for (MigrationSpans.Span sp : spans) {
                if (sp.sent()) {
                    tally.handover.add(sp.millis());
                    if (sp.downtimeMillis() >= 0) {
                        tally.downtime.add((double) sp.downtimeMillis());
                    }
                } else {
                    tally.sendsFailed++;
                }
                line.append(sp == spans.getFirst() ? "" : ", ").append(sp.workload()).append(' ')
                        .append(sp.sent() ? FenceBench.ms(sp.millis()) + "/" + (sp.downtimeMillis() >= 0 ? sp.downtimeMillis() : "?")
                                : "FAILED").append(" to ").append(sp.to());
            }
            int inFlight = MigrationSpans.maxInFlight(spans);
            int offOne = bySource.values().stream().mapToInt(MigrationSpans::maxInFlight).max().orElse(0);
            tally.maxInFlight = Math.max(tally.maxInFlight, inFlight);
            tally.maxOffOneNode = Math.max(tally.maxOffOneNode, offOne);
            line.append(spans.isEmpty() ? "nothing sent" : "").append("; ").append(inFlight).append(" at once, ").append(offOne)
                    .append(" off one node)");

            Map<String, Double> after = new LinkedHashMap<>();
            List<String> notSame = new ArrayList<>();
            for (Ve ve : ves) {
                Double u = uptime(ve, BROKEN_WAIT);
                Double was = before.get(ve.name());
                after.put(ve.name(), u);
                if (u == null) {
                    tally.broken++;
                    notSame.add(ve.name() + " BROKEN (no answer)");
                } else if (was != null && u <= was) {
                    tally.restarted++;
                    notSame.add(String.format(Locale.ROOT, "%s RESTARTED (uptime %.2f -> %.2f s)", ve.name(), was, u));
                }
            }
            long judged = ves.stream().filter(ve -> before.get(ve.name()) != null).count();
            line.append(String.format(Locale.ROOT, ", %d/%d same boot", judged - notSame.size(), judged));
            if (!notSame.isEmpty()) {
                line.append(": ").append(String.join(", ", notSame));
            }
            return after;
        }

        /**
         * The sends in every node's log since {@code t0}, by source node, once none is still under
         * way: the command's {@code done} comes from the owner records, which may be written a
         * moment before a source logs its send's end.
         */
        Map<Integer, List<MigrationSpans.Span>> awaitSpans(Instant t0) throws InterruptedException {
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (true) {
                try {
                    Map<Integer, List<MigrationSpans.Span>> bySource = new LinkedHashMap<>();
                    for (int i = 1; i <= c.size(); i++) {
                        bySource.put(i, MigrationSpans.sendSpans(p.log(i), t0));
                    }
                    return bySource;
                } catch (IllegalStateException e) {
                    if (System.nanoTime() - deadline >= 0) {
                        throw e;
                    }
                }
                Thread.sleep(200);
            }
        }

        /**
         * Waits until every VE is recorded on node-1 and runs there (node-1's own view) and answers
         * the client. A VE recorded elsewhere (placed before node-1 was up, restarted elsewhere after
         * a failure, not moved back) is relocated to node-1 first, and said so.
         */
        void home() throws Exception {
            Set<String> relocated = new HashSet<>();
            boolean settled = poll(WAIT, () -> {
                JsonNode status = status(HOME);
                if (status == null) {
                    return false;
                }
                boolean all = true;
                for (Ve ve : ves) {
                    JsonNode w = workload(status, ve.name());
                    String owner = w.path("owner").asText("");
                    boolean moving = w.has("next") || w.path("migrating").asBoolean(false);
                    if (!owner.isEmpty() && !owner.equals("node-" + HOME) && !moving && relocated.add(ve.name())) {
                        System.out.printf("  %s is on %s; relocating it to node-%d first%n", ve.name(), owner, HOME);
                        ExecResult r = operator("ve", "relocate", ve.name(), "--to", "node-" + HOME);
                        if (r.exitCode() != 0) {
                            System.out.println("  relocate of " + ve.name() + ": " + r.describe() + "\n" + r.stdout().strip());
                            relocated.remove(ve.name()); // asked again on the next round
                        }
                    }
                    all &= owner.equals("node-" + HOME) && !moving && w.path("desired").asText().equals("running")
                            && w.path("here").asText().equals("running");
                }
                return all;
            });
            if (!settled) {
                throw new IllegalStateException("the VEs do not all run on node-" + HOME + " within " + WAIT + "; its status:\n" + status(HOME));
            }
            for (Ve ve : ves) {
                if (!poll(WAIT, () -> answers(ve))) {
                    throw new IllegalStateException(ve.name() + " runs on node-" + HOME + " but does not answer GET /name within " + WAIT
                            + "; its console:\n" + consoles(ve));
                }
            }
        }

        /** Node {@code on}'s view, as {@code baton status --json} prints it; null when it cannot be had (the node starting). */
        JsonNode status(int on) {
            ExecResult r = c.baton(on, "status", "--json", "--config", c.config(on).toString(), "--run-dir", c.runDir().toString(),
                    "--node", "node-" + on);
            try {
                return r.exitCode() == 0 ? DiskCommand.JSON.readTree(r.stdout()) : null;
            } catch (IOException e) {
                return null;
            }
        }

        static JsonNode workload(JsonNode status, String name) {
            for (JsonNode w : status.path("workloads")) {
                if (w.path("name").asText().equals(name)) {
                    return w;
                }
            }
            return DiskCommand.JSON.createObjectNode();
        }

        /** Runs {@code baton ARGS} on the operator's node as that node's operator, confirmed, waiting for the answer. */
        ExecResult operator(String... args) {
            List<String> all = new ArrayList<>(List.of(args));
            all.addAll(List.of("--config", c.config(OPERATOR).toString(), "--run-dir", c.runDir().toString(), "--as", "node-" + OPERATOR,
                    "--yes", "--wait", "60"));
            return c.baton(OPERATOR, all.toArray(String[]::new));
        }

        boolean answers(Ve ve) {
            return get(ve, "/name").equals(ve.name());
        }

        /** The guest's uptime in seconds at the moment of the request (/cgi-bin/uptime), asked until it answers; null when it does not within {@code wait}. */
        Double uptime(Ve ve, Duration wait) throws InterruptedException {
            long deadline = System.nanoTime() + wait.toNanos();
            while (true) {
                String text = get(ve, "/cgi-bin/uptime");
                if (!text.isEmpty()) {
                    try {
                        return Double.parseDouble(text.split("\\s+")[0]);
                    } catch (NumberFormatException e) {
                        // not the guest's answer: ask again
                    }
                }
                if (System.nanoTime() - deadline >= 0) {
                    return null;
                }
                Thread.sleep(250);
            }
        }

        /** GET http://IP{path} from the client host; empty when it does not answer. */
        String get(Ve ve, String path) {
            ExecResult r = c.lab().client().run(Duration.ofSeconds(10), "curl", "-sS", "--fail", "--connect-timeout", "1", "--max-time", "3",
                    "http://" + ve.ip() + path);
            return r.exitCode() == 0 ? r.stdout().strip() : "";
        }

        /** Every node's console log of {@code ve}: QEMU appends to it, so it holds every boot and move there. */
        List<Path> consoleFiles(Ve ve) {
            List<Path> files = new ArrayList<>();
            for (int i = 1; i <= c.size(); i++) {
                Path f = c.runDir().resolve("bench").resolve("node-" + i).resolve("ve").resolve(ve.name()).resolve("console.log");
                if (Files.exists(f)) {
                    files.add(f);
                }
            }
            return files;
        }

        String consoles(Ve ve) throws IOException {
            StringBuilder b = new StringBuilder();
            for (Path f : consoleFiles(ve)) {
                b.append("---- ").append(f).append(" ----\n").append(MigrationBench.tail(Files.readString(f))).append('\n');
            }
            return b.toString();
        }

        /** The guests' reports of damaged data so far, on every node (the loop prints one per damaged boot). */
        int corruptLines() throws IOException {
            int n = 0;
            for (Ve ve : ves) {
                for (Path f : consoleFiles(ve)) {
                    n += (int) Files.readString(f).lines().filter(l -> l.contains(MigrationBench.CORRUPT)).count();
                }
            }
            return n;
        }

        /** The earliest timestamp, not before {@code after}, of the lines of any node's log matching {@code regex}; null if none. */
        Instant earliest(String regex, Instant after) {
            List<Instant> all = matching(regex, after);
            return all.isEmpty() ? null : all.getFirst();
        }

        /** As {@link #earliest}, the latest. */
        Instant latest(String regex, Instant after) {
            List<Instant> all = matching(regex, after);
            return all.isEmpty() ? null : all.getLast();
        }

        private List<Instant> matching(String regex, Instant after) {
            Pattern pattern = Pattern.compile(regex);
            List<Instant> found = new ArrayList<>();
            for (int i = 1; i <= c.size(); i++) {
                for (String l : p.log(i).split("\n")) {
                    Matcher ts = TS.matcher(l);
                    if (ts.find() && pattern.matcher(l).find()) {
                        Instant t = Instant.parse(ts.group(1));
                        if (!t.isBefore(after)) {
                            found.add(t);
                        }
                    }
                }
            }
            found.sort(null);
            return found;
        }

        /** Checks {@code condition} every 500 ms (each check may start a CLI JVM) until it holds or {@code timeout} passed. */
        static boolean poll(Duration timeout, BooleanSupplier condition) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!condition.getAsBoolean()) {
                if (System.nanoTime() - deadline >= 0) {
                    return false;
                }
                Thread.sleep(500);
            }
            return true;
        }
    }
}
