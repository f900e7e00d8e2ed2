package baton.cli;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The handovers a source node's daemon log shows: each VE's send, from its
 * {@code event=migration-send} to its outcome ({@code migration-sent} or
 * {@code migration-send-failed}), and how many overlapped. The daemon's own log is the one place
 * that dates every send on one clock whichever command set it going, so the switchover benchmark
 * and the switchover tests read the same lines the same way.
 */
public final class MigrationSpans {
    private MigrationSpans() {}

    /**
     * One VE's send off the source: from {@code event=migration-send} to its outcome.
     *
     * @param to             the target node's name, as the log gives it
     * @param outcome        {@code migration-sent} or {@code migration-send-failed}
     * @param downtimeMillis QEMU's reported downtime of a completed send, -1 where the log does not give one
     */
    public record Span(String workload, String to, Instant start, Instant end, String outcome, long downtimeMillis) {
        public boolean sent() {
            return outcome.equals("migration-sent");
        }

        public double millis() {
            return java.time.Duration.between(start, end).toNanos() / 1e6;
        }
    }

    static final Pattern SEND_EVENT = Pattern.compile(
            "^ts=(\\S+) .*event=(migration-send|migration-sent|migration-send-failed) workload=(\\S+) to=(\\S+)(.*)$", Pattern.MULTILINE);
    static final Pattern DOWNTIME = Pattern.compile(" downtime-ms=(-?\\d+)");

    /**
     * The sends in {@code log} (one node's daemon log) from {@code after} on, each paired with its
     * outcome, by start. Throws when the lines do not pair up (two sends of one VE at once, an
     * outcome without a send, a send still without an outcome): call it once the sends ended.
     */
    public static List<Span> sendSpans(String log, Instant after) {
        Map<String, Instant> open = new LinkedHashMap<>();
        List<Span> spans = new ArrayList<>();
        Matcher m = SEND_EVENT.matcher(log);
        while (m.find()) {
            Instant t = Instant.parse(m.group(1));
            if (t.isBefore(after)) {
                continue;
            }
            String w = m.group(3);
            if (m.group(2).equals("migration-send")) {
                if (open.put(w, t) != null) {
                    throw new IllegalStateException("two sends of " + w + " at once, the second at " + t);
                }
            } else {
                Instant start = open.remove(w);
                if (start == null) {
                    throw new IllegalStateException(m.group(2) + " of " + w + " at " + t + " without a send");
                }
                Matcher d = DOWNTIME.matcher(m.group(5));
                long downtime = m.group(2).equals("migration-sent") && d.find() ? Long.parseLong(d.group(1)) : -1;
                spans.add(new Span(w, m.group(4), start, t, m.group(2), downtime));
            }
        }
        if (!open.isEmpty()) {
            throw new IllegalStateException("sends without an outcome: " + open);
        }
        spans.sort(Comparator.comparing(Span::start));
        return spans;
    }

    /** The most spans overlapping at one moment (one that ends at the instant another starts does not overlap it). */
    public static int maxInFlight(List<Span> spans) {
        record Edge(Instant at, int delta) {}
        List<Edge> edges = new ArrayList<>();
        for (Span sp : spans) {
            edges.add(new Edge(sp.start(), 1));
            edges.add(new Edge(sp.end(), -1));
        }
        edges.sort(Comparator.comparing(Edge::at).thenComparingInt(Edge::delta));
        int now = 0;
        int most = 0;
        for (Edge e : edges) {
            now += e.delta();
            most = Math.max(most, now);
        }
        return most;
    }
}
