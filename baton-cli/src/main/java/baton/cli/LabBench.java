package baton.cli;

import baton.lab.Cmd;
import baton.lab.ExecResult;
import baton.lab.LabProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Benchmarks of membership on real node processes in the lab (network namespaces, a quorum
 * disk file in /var/tmp). Each prints its figures and how it was run.
 */
final class LabBench {
    private LabBench() {}

    static final Pattern TS = Pattern.compile("^ts=(\\S+) ");

    /** A 3-node cluster in a fresh folder, started and fully up. */
    static LabCluster upCluster(String name, int nodes, List<String> javaOptions) throws Exception {
        Path dir = Files.createTempDirectory(Path.of("/var/tmp"), "baton-bench-" + name + "-");
        LabCluster c = new LabCluster(dir, "bench", nodes, false);
        try {
            c.daemonJavaOptions(javaOptions);
            c.configureAll(dir.resolve("quorum.img").toString(), null);
            ExecResult init = c.baton(1, "disk", "init", "--config", c.config(1).toString());
            if (!init.ok()) {
                throw new IllegalStateException(init.describe());
            }
            c.startAllAndAwaitJoin();
            for (int i = 1; i <= nodes; i++) {
                for (int p = 1; p <= nodes; p++) {
                    if (p != i) {
                        awaitLine(c.daemon(i), Pattern.compile("peer=node-" + p + " peer-id=" + p + " from=[a-z-]+ to=up "), 0);
                    }
                }
            }
            return c;
        } catch (Exception | Error e) {
            c.close();
            throw e;
        }
    }

    /** Waits for the {@code nth} (0-based) line matching {@code p} in the daemon's log; returns its timestamp. */
    static Instant awaitLine(LabProcess d, Pattern p, int nth) throws InterruptedException {
        long deadline = System.nanoTime() + LabCluster.WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            int seen = 0;
            for (String line : d.log().split("\n")) {
                if (p.matcher(line).find() && seen++ == nth) {
                    Matcher m = TS.matcher(line);
                    if (m.find()) {
                        return Instant.parse(m.group(1));
                    }
                }
            }
            Thread.sleep(20);
        }
        throw new IllegalStateException("no line /" + p + "/ #" + nth + " in " + d.logFile());
    }

    static long count(LabProcess d, String needle) {
        return d.log().lines().filter(l -> l.contains(needle)).count();
    }

    static double percentile(double[] sorted, double p) {
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    static void delete(Path dir) throws IOException {
        try (var s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Command(name = "detection", mixinStandardHelpOptions = true,
            description = {"Failure detection: kill -9 of one node of 3 (real processes in network namespaces) to 'down'",
                    "on both survivors, measured from the kill to the survivors' own log timestamps; N runs."})
    static final class Detection implements java.util.concurrent.Callable<Integer> {
        @Option(names = "--runs", defaultValue = "20", description = "Runs (default ${DEFAULT-VALUE}).")
        int runs;

        @Override
        public Integer call() throws Exception {
            LabCluster c = upCluster("detect", 3, List.of());
            try {
                double[] first = new double[runs];
                double[] both = new double[runs];
                for (int run = 0; run < runs; run++) {
                    Pattern down = Pattern.compile("peer=node-3 peer-id=3 from=[a-z-]+ to=down ");
                    Pattern up = Pattern.compile("peer=node-3 peer-id=3 from=[a-z-]+ to=up ");
                    long downBefore1 = c.daemon(1).log().lines().filter(l -> down.matcher(l).find()).count();
                    long downBefore2 = c.daemon(2).log().lines().filter(l -> down.matcher(l).find()).count();
                    Thread.sleep(500 + (long) (Math.random() * 200)); // kill at a random phase of the intervals
                    Instant killed = Instant.now();
                    c.daemon(3).kill9();
                    Instant d1 = awaitLine(c.daemon(1), down, (int) downBefore1);
                    Instant d2 = awaitLine(c.daemon(2), down, (int) downBefore2);
                    double a = Duration.between(killed, d1).toNanos() / 1e6;
                    double b = Duration.between(killed, d2).toNanos() / 1e6;
                    first[run] = Math.min(a, b);
                    both[run] = Math.max(a, b);
                    System.out.printf("run %2d: node-1 %.0f ms, node-2 %.0f ms%n", run + 1, a, b);
                    long upBefore1 = c.daemon(1).log().lines().filter(l -> up.matcher(l).find()).count();
                    long upBefore2 = c.daemon(2).log().lines().filter(l -> up.matcher(l).find()).count();
                    c.start(3);
                    awaitLine(c.daemon(1), up, (int) upBefore1);
                    awaitLine(c.daemon(2), up, (int) upBefore2);
                }
                Arrays.sort(first);
                Arrays.sort(both);
                System.out.printf("baton bench detection: %d runs, 3 nodes, 1 ring, defaults (disk interval 200 ms,"
                        + " disk timeout 800 ms, heartbeat 100 ms, network timeout 800 ms)%n", runs);
                System.out.printf("kill -9 -> down on the first survivor: p50 %.0f ms, p99 %.0f ms, max %.0f ms%n",
                        percentile(first, 50), percentile(first, 99), first[runs - 1]);
                System.out.printf("kill -9 -> down on both survivors:     p50 %.0f ms, p99 %.0f ms, max %.0f ms%n",
                        percentile(both, 50), percentile(both, 99), both[runs - 1]);
                return 0;
            } finally {
                c.close();
                delete(c.dir());
            }
        }
    }

    @Command(name = "idle", mixinStandardHelpOptions = true,
            description = "Cost of an idle node daemon: CPU (from /proc utime+stime) and resident memory, 3 nodes.")
    static final class Idle implements java.util.concurrent.Callable<Integer> {
        @Option(names = "--seconds", defaultValue = "60", description = "Measured window (default ${DEFAULT-VALUE}).")
        int seconds;

        @Override
        public Integer call() throws Exception {
            LabCluster c = upCluster("idle", 3, List.of());
            try {
                Thread.sleep(10_000); // warm-up: JIT, first GCs
                long[] before = new long[4];
                for (int i = 1; i <= 3; i++) {
                    before[i] = cpuTicks(c.daemon(i).pid());
                }
                long t0 = System.nanoTime();
                Thread.sleep(seconds * 1000L);
                double elapsed = (System.nanoTime() - t0) / 1e9;
                System.out.printf("baton bench idle: 3 node daemons in network namespaces, 1 ring, defaults, %d s after 10 s warm-up,"
                        + " JDK %s default heap settings%n", seconds, Runtime.version());
                Table t = new Table("NODE", "CPU % OF ONE CORE", "RSS MIB");
                for (int i = 1; i <= 3; i++) {
                    long ticks = cpuTicks(c.daemon(i).pid()) - before[i];
                    t.row("node-" + i, String.format("%.2f", ticks / 100.0 / elapsed * 100), String.format("%.0f", rssKib(c.daemon(i).pid()) / 1024.0));
                }
                System.out.print(t);
                return 0;
            } finally {
                c.close();
                delete(c.dir());
            }
        }

        static long cpuTicks(long pid) throws IOException {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime (fields 14, 15)
        }

        static long rssKib(long pid) throws IOException {
            for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (l.startsWith("VmRSS:")) {
                    return Long.parseLong(l.replaceAll("[^0-9]", ""));
                }
            }
            return -1;
        }
    }

    @Command(name = "false-verdicts", mixinStandardHelpOptions = true,
            description = {"False verdicts: 3 healthy nodes for N minutes under CPU stress (stress-ng on every core),",
                    "memory pressure (stress-ng --vm), GC pressure (daemons with a 16 MiB heap) and 5 % packet loss on",
                    "every host. Every 'down' verdict is wrong, since no node fails; counts every verdict change."})
    static final class FalseVerdicts implements java.util.concurrent.Callable<Integer> {
        @Option(names = "--minutes", defaultValue = "30", description = "Duration (default ${DEFAULT-VALUE}).")
        int minutes;

        @Override
        public Integer call() throws Exception {
            LabCluster c = upCluster("false", 3, List.of("-Xmx16m", "-Xms16m"));
            Process stress = null;
            try {
                for (int i = 1; i <= 3; i++) {
                    c.host(i).netem("loss 5%");
                }
                stress = new ProcessBuilder("stress-ng", "--cpu", "0", "--vm", "1", "--vm-bytes", "25%", "--timeout",
                        minutes + "m", "--quiet").redirectErrorStream(true).redirectOutput(c.dir().resolve("stress.log").toFile()).start();
                long end = System.nanoTime() + minutes * 60_000_000_000L;
                while (System.nanoTime() < end) {
                    Thread.sleep(10_000);
                    for (int i = 1; i <= 3; i++) {
                        if (!c.daemon(i).isAlive()) {
                            throw new IllegalStateException("node-" + i + " died; log " + c.daemon(i).logFile());
                        }
                    }
                }
                System.out.printf("baton bench false-verdicts: 3 healthy nodes for %d min; stress-ng --cpu 0 --vm 1 --vm-bytes 25%%;"
                        + " daemons -Xmx16m; 5 %% loss on every host; defaults%n", minutes);
                Table t = new Table("NODE", "DOWN (WRONG)", "NETWORK-LOST", "DISK-LOST", "SUSPECT", "SELF-PAUSED/REJOINS");
                for (int i = 1; i <= 3; i++) {
                    LabProcess d = c.daemon(i);
                    t.row("node-" + i, count(d, " to=down "), count(d, " to=network-lost "), count(d, " to=disk-lost "),
                            count(d, " to=suspect "), count(d, "action=rejoin"));
                }
                System.out.print(t);
                return 0;
            } finally {
                if (stress != null) {
                    stress.destroy();
                    Cmd.run(Duration.ofSeconds(5), "pkill", "-f", "stress-ng");
                }
                c.close();
                System.out.println("logs kept in " + c.dir());
            }
        }
    }
}
