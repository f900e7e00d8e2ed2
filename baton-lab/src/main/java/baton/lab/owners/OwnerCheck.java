package baton.lab.owners;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The external "never two owners" checker of the workload tests: every test workload appends
 * lines to one log outside the cluster (a file on the test machine), and this checker asserts
 * that no two instances of one workload ever ran at the same time.
 *
 * <p>Log lines, one per event, appended with O_APPEND (a line is one write, so concurrent
 * writers do not interleave):
 * <pre>
 *   t=1795410000123456789 workload=web node=node-2 epoch=7 pid=4242 event=start
 *   t=1795410000223456789 workload=web node=node-2 epoch=7 pid=4242 event=alive
 *   t=1795410000323456789 workload=web node=node-2 epoch=7 pid=4242 event=stop
 * </pre>
 * {@code t} is the wall clock in nanoseconds ({@code date +%s%N}); all writers run on the one
 * test machine, so they share the clock. An instance is (workload, node, pid). It runs from its
 * {@code start} to its {@code stop}; one that never wrote {@code stop} (killed with its node)
 * ran until its last line plus the heartbeat allowance, since it writes {@code alive} at least that
 * often while it runs, or until its machine's first power-off after its last line, whichever is
 * earlier: the lab records the moment a machine's last process is gone
 * ({@link baton.lab.bmc.PowerLog}), which is firmer evidence than a missing line. Two instances of
 * one workload whose intervals overlap are a violation.
 */
public final class OwnerCheck {
    private static final Pattern LINE = Pattern.compile(
            "^t=(\\d+) workload=(\\S+) node=(\\S+) epoch=(\\d+) pid=(\\d+) event=(start|alive|stop)$");

    /** One run of a workload, from its first line to its stop, or else its last sign of life plus the period or its machine's power-off. */
    public record Instance(String workload, String node, long epoch, long pid, long fromNanos, long untilNanos, boolean stopped) {
        boolean overlaps(Instance o) {
            return fromNanos < o.untilNanos && o.fromNanos < untilNanos;
        }

        @Override
        public String toString() {
            return workload + " on " + node + " (epoch " + epoch + ", pid " + pid + ") from " + fromNanos + " to " + untilNanos
                    + (stopped ? "" : " (no stop: last sign of life + period, or its machine's power-off)");
        }
    }

    /** Two instances of one workload that ran at once. */
    public record Violation(Instance a, Instance b) {
        @Override
        public String toString() {
            return "two owners of " + a.workload() + " at once: " + a + " and " + b;
        }
    }

    public record Result(List<Instance> instances, List<Violation> violations, List<String> malformed) {
        public boolean ok() {
            return violations.isEmpty() && malformed.isEmpty();
        }
    }

    private OwnerCheck() {}

    /** Reads and checks {@code log}; {@code heartbeatNanos} is the longest gap between an instance's lines while it runs. */
    public static Result check(Path log, long heartbeatNanos) throws IOException {
        return check(log, heartbeatNanos, Map.of());
    }

    /** The same, with each node's machine power-offs (node name to wall-clock nanoseconds, as {@link baton.lab.bmc.PowerLog} has them). */
    public static Result check(Path log, long heartbeatNanos, Map<String, List<Long>> powerOffs) throws IOException {
        return check(Files.exists(log) ? Files.readAllLines(log) : List.of(), heartbeatNanos, powerOffs);
    }

    public static Result check(List<String> lines, long heartbeatNanos) {
        return check(lines, heartbeatNanos, Map.of());
    }

    public static Result check(List<String> lines, long heartbeatNanos, Map<String, List<Long>> powerOffs) {
        Map<String, long[]> spans = new HashMap<>(); // key -> {from, last, stopped, epoch}
        Map<String, String[]> names = new HashMap<>();
        List<String> malformed = new ArrayList<>();
        for (String line : lines) {
            if (line.isBlank()) {
                continue;
            }
            Matcher m = LINE.matcher(line.strip());
            if (!m.matches()) {
                malformed.add(line);
                continue;
            }
            long t = Long.parseLong(m.group(1));
            String key = m.group(2) + "\u0000" + m.group(3) + "\u0000" + m.group(5);
            names.putIfAbsent(key, new String[] {m.group(2), m.group(3), m.group(5)});
            long[] s = spans.computeIfAbsent(key, k -> new long[] {t, t, 0, Long.parseLong(m.group(4))});
            s[0] = Math.min(s[0], t);
            s[1] = Math.max(s[1], t);
            if (m.group(6).equals("stop")) {
                s[2] = 1;
            }
        }
        List<Instance> instances = new ArrayList<>();
        spans.forEach((key, s) -> {
            String[] n = names.get(key);
            boolean stopped = s[2] == 1;
            long until = s[1] + heartbeatNanos;
            for (long off : powerOffs.getOrDefault(n[1], List.of())) {
                if (off >= s[1]) {
                    until = Math.min(until, off);
                    break;
                }
            }
            instances.add(new Instance(n[0], n[1], s[3], Long.parseLong(n[2]), s[0], stopped ? s[1] : until, stopped));
        });
        instances.sort(Comparator.comparing(Instance::workload).thenComparingLong(Instance::fromNanos));
        List<Violation> violations = new ArrayList<>();
        for (int i = 0; i < instances.size(); i++) {
            for (int j = i + 1; j < instances.size() && instances.get(j).workload().equals(instances.get(i).workload()); j++) {
                if (instances.get(i).overlaps(instances.get(j))) {
                    violations.add(new Violation(instances.get(i), instances.get(j)));
                }
            }
        }
        return new Result(List.copyOf(instances), List.copyOf(violations), List.copyOf(malformed));
    }

    /**
     * A shell script for an {@code exec} test workload that logs as this checker expects: it
     * writes {@code start}, then {@code alive} every {@code periodMillis}, and {@code stop} when
     * it is terminated (SIGTERM); SIGKILL leaves no stop, which the checker covers.
     * Arguments: LOG WORKLOAD NODE EPOCH.
     */
    public static String workloadScript(long periodMillis) {
        return """
                #!/bin/sh
                # A test workload for baton.lab.owners.OwnerCheck: logs start, alive every period, stop.
                log=$1 workload=$2 node=$3 epoch=$4
                line() { echo "t=$(date +%%s%%N) workload=$workload node=$node epoch=$epoch pid=$$ event=$1" >> "$log"; }
                trap 'line stop; exit 0' TERM INT
                line start
                while :; do sleep %s & wait $!; line alive; done
                """.formatted(String.format(java.util.Locale.ROOT, "%.3f", periodMillis / 1000.0));
    }

    /** The first violation, for an assertion message. */
    public static Optional<String> firstProblem(Result r) {
        if (!r.malformed().isEmpty()) {
            return Optional.of("malformed owner log line: " + r.malformed().getFirst());
        }
        return r.violations().stream().findFirst().map(Violation::toString);
    }
}
