package baton.lab.owners;

import baton.lab.Cmd;
import baton.lab.ExecResult;
import baton.lab.Host;
import baton.lab.Lab;
import baton.lab.LabProcess;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The "never two owners" checker on the wire: a VE's MAC must arrive at the lab switch through
 * one node's port at a time. Two running copies of one VE (split brain) both answer the same ARP
 * request, so their frames reach the switch on two ports within milliseconds.
 *
 * <p><b>How.</b> In the switch's namespace ({@link Lab#switchNetns()}, bridge br0, one port per
 * host named like the host) it installs an nftables {@code bridge} table of its own, with one
 * counting rule per (MAC, port): {@code iifname PORT ether saddr MAC counter}, on prerouting,
 * which every frame entering the bridge passes. A virtual thread lists the table every poll
 * interval (one {@code nft list table} per poll) and compares the counters with the previous
 * poll. A <em>violation</em> is a poll window in which frames with one source MAC arrived on two
 * different ports. {@link #close()} stops the thread and deletes the table.
 *
 * <p><b>Probes</b> (optional): for each MAC given with an IPv4 address, the client host deletes
 * its neighbour entry for that address and pings it every {@link #PROBE_INTERVAL}, so every copy
 * of the VE receives the ARP request (a broadcast) and answers from its MAC. Without probes the
 * watch sees only the frames the VEs send by themselves.
 *
 * <p><b>Moves.</b> A live migration hands a VE over within milliseconds, so its last frames from
 * the old port and its first from the new one can share a window. Such a window (from the port
 * last seen alone to one other port) counts only if within {@link #CONFIRM} the old port, or a
 * third, shows the MAC again ({@link MacWindows}); until then it is reported as a violation.
 *
 * <p><b>Limits.</b> Within one window the order of frames is unknown: an old copy that sends its
 * last frame a few milliseconds after the new one started, and never again, passes as a move. A
 * window is only as exact as the polls' timing: the counters are read, not timestamped per frame. Violations
 * kept are bounded ({@link #MAX_VIOLATIONS}), the rest are counted. If polling fails (the switch
 * is gone, nft fails), the watch stops and every later query throws: a checker that stopped
 * checking must not report "no violations".
 *
 * <p>The table's counters are text-parsed from {@code nft list table}: each rule carries the
 * comment {@code "MAC PORT"}, so the parse depends only on the {@code counter packets N bytes M
 * comment "..."} tail of a rule's line, not on how nft prints the matches. (baton-lab has no
 * JSON library on its class path; {@code nft -j} would need one.)
 */
public final class MacWatch implements AutoCloseable {
    /** Shortest poll interval: one nft process per poll (a few ms each); faster would load the test machine for no gain. */
    public static final Duration MIN_POLL = Duration.ofMillis(10);

    /** A default poll: well below the probe interval, so a probe's answers from two copies (milliseconds apart) usually share a window. */
    public static final Duration DEFAULT_POLL = Duration.ofMillis(30);

    /** How often the client probes each address: often enough to catch a split brain within a second, cheap enough for a test machine. */
    static final Duration PROBE_INTERVAL = Duration.ofMillis(200);

    /** Bound on one nft call: it answers in milliseconds unless the machine is broken. */
    static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(10);

    static final int MAX_VIOLATIONS = 1000;
    static final int MAX_MACS = 64;
    static final int MAX_PORTS = 64;

    private static final Pattern MAC = Pattern.compile("[0-9a-f]{2}(:[0-9a-f]{2}){5}");
    private static final Pattern PORT = Pattern.compile("[A-Za-z0-9_.-]{1,15}");
    private static final Pattern COUNTER = Pattern.compile("counter packets (\\d+) bytes (\\d+) comment \"([0-9a-f:]{17}) ([A-Za-z0-9_.-]{1,15})\"");
    private static final AtomicLong SEQUENCE = new AtomicLong();

    /** Where and when one MAC was seen on one port. */
    public record Sighting(String mac, String port, Instant first, Instant last, long frames) {
        @Override
        public String toString() {
            return mac + " on " + port + ": " + frames + " frame(s) from " + first + " to " + last;
        }
    }

    /** Frames with one source MAC arrived on two or more ports between two polls. */
    public record Violation(String mac, Set<String> ports, Instant from, Instant to) {
        @Override
        public String toString() {
            return "MAC " + mac + " answered from " + ports.size() + " ports " + ports + " between " + from + " and " + to;
        }
    }

    private final String switchNetns;
    private final String table;
    private final List<String> macs;
    private final List<String> ports;
    private final Duration poll;
    private final LabProcess probes;
    private final Path probeLog;
    private final Thread poller;
    private volatile boolean stopping;

    // Written by the poller, read by callers: guarded by this.
    private final Map<String, long[]> lastCounts = new HashMap<>();
    private final Map<String, Sighting> sightings = new LinkedHashMap<>();
    private final List<Violation> violations = new ArrayList<>();
    /** A window with a MAC on two ports is held this long to tell a move from two copies: two probe intervals. */
    static final Duration CONFIRM = PROBE_INTERVAL.multipliedBy(2);
    private final MacWindows windows = new MacWindows(CONFIRM);
    private long violationsDropped;
    private long polls;
    private RuntimeException failure;
    private boolean closed;

    private MacWatch(String switchNetns, String table, List<String> macs, List<String> ports, Duration poll, LabProcess probes, Path probeLog) {
        this.switchNetns = switchNetns;
        this.table = table;
        this.macs = macs;
        this.ports = ports;
        this.poll = poll;
        this.probes = probes;
        this.probeLog = probeLog;
        this.poller = Thread.ofVirtual().name("macwatch-" + table).unstarted(this::run);
    }

    /** Watches {@code macs} on {@code ports} of the lab switch, without probes. */
    public static MacWatch start(Lab lab, Collection<String> macs, List<String> ports, Duration poll) {
        return start(lab, macs, Map.of(), ports, poll);
    }

    /**
     * Watches the MACs of {@code probed} on {@code ports} of the lab switch, and probes each at
     * its address from the client host (which the lab must have).
     */
    public static MacWatch start(Lab lab, Map<String, InetAddress> probed, List<String> ports, Duration poll) {
        return start(lab, probed.keySet(), probed, ports, poll);
    }

    private static MacWatch start(Lab lab, Collection<String> macList, Map<String, InetAddress> probed, List<String> portList, Duration poll) {
        List<String> macs = macList.stream().map(m -> m.toLowerCase(Locale.ROOT)).distinct().sorted().toList();
        List<String> ports = portList.stream().distinct().toList();
        if (macs.isEmpty() || macs.size() > MAX_MACS) {
            throw new IllegalArgumentException("watch 1.." + MAX_MACS + " MACs, got " + macs.size());
        }
        if (ports.size() < 2 || ports.size() > MAX_PORTS) {
            throw new IllegalArgumentException("watch 2.." + MAX_PORTS + " ports (one port cannot show a MAC twice), got " + ports);
        }
        for (String mac : macs) {
            if (!MAC.matcher(mac).matches()) {
                throw new IllegalArgumentException("not a MAC address (six hex pairs separated by ':'): " + mac);
            }
        }
        for (String port : ports) {
            if (!PORT.matcher(port).matches()) {
                throw new IllegalArgumentException("not a switch port name: " + port);
            }
        }
        if (poll.compareTo(MIN_POLL) < 0) {
            throw new IllegalArgumentException("poll " + poll + " is below " + MIN_POLL);
        }
        for (InetAddress address : probed.values()) {
            if (!(address instanceof Inet4Address)) {
                throw new IllegalArgumentException("probes are ARP, IPv4 only; got " + address);
            }
        }
        String table = "macwatch-" + lab.tag().subnet() + "-" + lab.tag().pid() + "-" + SEQUENCE.incrementAndGet();
        nft(lab.switchNetns(), rules(table, macs, ports));
        LabProcess probes = null;
        Path probeLog = null;
        try {
            if (!probed.isEmpty()) {
                Host client = lab.client();
                probeLog = Files.createTempFile("baton-macwatch-", ".log");
                probes = client.start(List.of("sh", "-c", probeScript(probed.values())), probeLog, Map.of());
            }
            MacWatch watch = new MacWatch(lab.switchNetns(), table, macs, ports, poll, probes, probeLog);
            watch.poller.start();
            return watch;
        } catch (IOException | RuntimeException e) {
            if (probes != null) {
                probes.kill9();
            }
            deleteTable(lab.switchNetns(), table);
            if (e instanceof IOException io) {
                throw new UncheckedIOException("cannot create the probe log", io);
            }
            throw (RuntimeException) e;
        }
    }

    /** The nftables name of this watch's table (family bridge, in the switch's namespace). */
    public String table() {
        return table;
    }

    /** Every violation so far, described (MAC, ports, window). Throws if polling failed. */
    public synchronized List<String> violations() {
        checkHealthy();
        List<String> out = new ArrayList<>(violationRecordsNow().stream().map(Violation::toString).toList());
        if (violationsDropped > 0) {
            out.add("... and " + violationsDropped + " more violation(s) not kept (limit " + MAX_VIOLATIONS + ")");
        }
        return out;
    }

    /** Every violation so far, as records. Throws if polling failed. */
    public synchronized List<Violation> violationRecords() {
        checkHealthy();
        return violationRecordsNow();
    }

    /** The violations found, and the windows with a MAC on two ports not yet told from a move. */
    private List<Violation> violationRecordsNow() {
        List<Violation> all = new ArrayList<>(violations);
        all.addAll(windows.unsettled());
        return List.copyOf(all);
    }

    /** The ports {@code mac} was seen on, with the first and last poll that saw it there. Throws if polling failed. */
    public synchronized List<Sighting> seen(String mac) {
        checkHealthy();
        String m = mac.toLowerCase(Locale.ROOT);
        return sightings.values().stream().filter(s -> s.mac().equals(m)).toList();
    }

    /** How many polls have completed; a test can wait for one more before concluding. */
    public synchronized long polls() {
        checkHealthy();
        return polls;
    }

    private void checkHealthy() {
        if (failure != null) {
            throw new IllegalStateException("the MAC watch " + table + " stopped polling: " + failure.getMessage(), failure);
        }
    }

    private void run() {
        Instant previous = Instant.now();
        while (!stopping) {
            long started = System.nanoTime();
            ExecResult r;
            try {
                r = Cmd.run(COMMAND_TIMEOUT, inSwitch(switchNetns, "nft", "list", "table", "bridge", table));
            } catch (RuntimeException e) {
                synchronized (this) {
                    failure = e;
                }
                return;
            }
            Instant now = Instant.now();
            synchronized (this) {
                if (stopping) {
                    return;
                }
                if (!r.ok()) {
                    failure = new IllegalStateException("nft list table failed: " + r.describe());
                    return;
                }
                try {
                    record(parse(r.stdout()), previous, now);
                } catch (RuntimeException e) {
                    failure = e;
                    return;
                }
                polls++;
            }
            previous = now;
            long leftNanos = poll.toNanos() - (System.nanoTime() - started);
            if (leftNanos > 0) {
                try {
                    Thread.sleep(Duration.ofNanos(leftNanos));
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    /** Counts per "MAC PORT" key from {@code nft list table}'s text; every rule of ours must be there. */
    Map<String, long[]> parse(String listing) {
        Map<String, long[]> counts = parseCounters(listing);
        for (String mac : macs) {
            for (String port : ports) {
                if (!counts.containsKey(mac + " " + port)) {
                    throw new IllegalStateException("the rule for " + mac + " on " + port + " is missing from table " + table + ":\n" + listing);
                }
            }
        }
        return counts;
    }

    /** The counters of every commented rule in {@code listing}: key "MAC PORT", value {packets, bytes}. */
    static Map<String, long[]> parseCounters(String listing) {
        Map<String, long[]> counts = new HashMap<>();
        for (String line : listing.lines().toList()) {
            Matcher m = COUNTER.matcher(line);
            if (m.find()) {
                counts.put(m.group(3) + " " + m.group(4), new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2))});
            }
        }
        return counts;
    }

    /** Takes one poll's counters: the window (from, to] saw a MAC on a port if its packet count grew. */
    private void record(Map<String, long[]> counts, Instant from, Instant to) {
        for (String mac : macs) {
            TreeSet<String> on = new TreeSet<>();
            for (String port : ports) {
                String key = mac + " " + port;
                long packets = counts.get(key)[0];
                long before = lastCounts.containsKey(key) ? lastCounts.get(key)[0] : 0;
                if (packets < before) {
                    throw new IllegalStateException("counter " + key + " went back from " + before + " to " + packets);
                }
                lastCounts.put(key, counts.get(key));
                if (packets > before) {
                    on.add(port);
                    Sighting s = sightings.get(key);
                    sightings.put(key, s == null
                            ? new Sighting(mac, port, to, to, packets)
                            : new Sighting(mac, port, s.first(), to, packets));
                }
            }
            for (Violation v : windows.window(mac, on, from, to)) {
                if (violations.size() < MAX_VIOLATIONS) {
                    violations.add(v);
                } else {
                    violationsDropped++;
                }
            }
        }
    }

    /**
     * Stops polling and probing and deletes the table (unless the switch is already gone with its
     * lab). Idempotent.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            stopping = true;
        }
        // No interrupt: the poller notices within one poll, and an interrupt could cut an nft call short.
        try {
            if (!poller.join(COMMAND_TIMEOUT.plus(poll).plusSeconds(1))) {
                throw new IllegalStateException("the MAC watch's poller did not stop");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while stopping the MAC watch", e);
        } finally {
            if (probes != null) {
                probes.kill9();
                probes.waitFor(COMMAND_TIMEOUT);
            }
            if (probeLog != null) {
                try {
                    Files.deleteIfExists(probeLog);
                } catch (IOException e) {
                    // A leftover temp log holds no secret and no state; not worth failing the close.
                }
            }
            deleteTable(switchNetns, table);
        }
    }

    /** The probe loop: forget each address's MAC, then ping it, so the ping starts with an ARP broadcast every copy answers. */
    private static String probeScript(Collection<InetAddress> addresses) {
        StringBuilder ips = new StringBuilder();
        for (InetAddress a : addresses) {
            ips.append(' ').append(a.getHostAddress());
        }
        double seconds = PROBE_INTERVAL.toMillis() / 1000.0;
        return "while :; do for ip in" + ips + "; do ip neigh del \"$ip\" dev eth0 2>/dev/null; "
                + "ping -n -q -c 1 -W 1 \"$ip\" > /dev/null 2>&1 & done; sleep " + seconds + "; wait; done";
    }

    private static String rules(String table, List<String> macs, List<String> ports) {
        StringBuilder s = new StringBuilder();
        s.append("add table bridge ").append(table).append('\n');
        // Before any other bridge hook: the count must not depend on what later rules do with the frame.
        s.append("add chain bridge ").append(table).append(" watch { type filter hook prerouting priority -300; policy accept; }\n");
        for (String mac : macs) {
            for (String port : ports) {
                s.append("add rule bridge ").append(table).append(" watch iifname \"").append(port).append("\" ether saddr ").append(mac)
                        .append(" counter comment \"").append(mac).append(' ').append(port).append("\"\n");
            }
        }
        return s.toString();
    }

    private static void nft(String netns, String script) {
        Path file = null;
        try {
            file = Files.createTempFile("baton-macwatch-", ".nft");
            Files.writeString(file, script, StandardCharsets.US_ASCII);
            ExecResult r = Cmd.run(COMMAND_TIMEOUT, inSwitch(netns, "nft", "-f", file.toString()));
            if (!r.ok()) {
                throw new IllegalStateException("cannot install the MAC watch's nftables table in " + netns + ": " + r.describe() + "\n" + script);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the MAC watch's nft script", e);
        } finally {
            if (file != null) {
                try {
                    Files.deleteIfExists(file);
                } catch (IOException e) {
                    // A leftover temp file of rules is harmless.
                }
            }
        }
    }

    private static void deleteTable(String netns, String table) {
        if (!Files.exists(Path.of("/run/netns", netns))) {
            return; // The lab closed first: the table went with the switch's namespace.
        }
        ExecResult r = Cmd.run(COMMAND_TIMEOUT, inSwitch(netns, "nft", "delete", "table", "bridge", table));
        if (!r.ok() && !r.stderr().contains("No such file or directory")) {
            throw new IllegalStateException("cannot delete the MAC watch's table " + table + ": " + r.describe());
        }
    }

    private static List<String> inSwitch(String netns, String... command) {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", netns));
        full.addAll(List.of(command));
        return full;
    }

    @Override
    public String toString() {
        return "MAC watch " + table + " of " + macs + " on " + ports;
    }
}
