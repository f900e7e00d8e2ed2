package baton.it;

import static org.assertj.core.api.Assertions.assertThat;

import baton.cli.LabCluster;
import baton.cli.PowerLab;
import baton.lab.Cmd;
import baton.lab.ExecResult;
import baton.lab.Host;
import baton.lab.Poll;
import baton.lab.owners.MacWatch;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A real VE failing over: a 3-node cluster whose node daemons are the machines of real IPMI BMC
 * simulators, and one VE workload {@code web}, the test guest of {@code scripts/build-guest}
 * under TCG, started by the node daemon with its tap in the node host's bridge {@code br0}, which
 * holds the host's uplink ({@link LabCluster#bridgeUplinks}). The client host reaches the VE over
 * the lab switch at one fixed address, whichever node runs it.
 *
 * <pre>
 *   client ── switch ──┬── n1: br0 [eth0, web-0] ── QEMU web (52:54:00:b7:0f:01, 198.18.S.100)
 *                      ├── n2: br0 [eth0]
 *                      └── n3: br0 [eth0]
 * </pre>
 *
 * Every test runs a {@link MacWatch} on the switch for the whole test (two, one after the other:
 * the cluster's start, then the test), with the client probing the VE's address (ARP) every
 * 200 ms: the VE's MAC must never arrive through two node ports in one poll window ("never two
 * owners", on the wire), and where it is seen says where the VE runs.
 */
class VeFailoverIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Duration WAIT = Duration.ofSeconds(90);
    static final String MAC = "52:54:00:b7:0f:01";
    static final int VE_HOST_NUMBER = 100;
    static final List<String> PORTS = List.of("n1", "n2", "n3");
    static final Pattern TS = Pattern.compile("^ts=(\\S+) ", Pattern.MULTILINE);

    static Path guestDir;

    @BeforeAll
    static void buildGuest() {
        QemuVmIT.buildGuest();
        guestDir = QemuVmIT.guestDir;
    }

    /** One VE of a test: its name, address and MAC. */
    record Ve(String name, String ip, String mac) {}

    /** A running cluster with the VEs ({@code ip} is the first's address), and the MAC watch. */
    record Setup(LabCluster c, PowerLab p, String ip, MacWatch watch, List<Ve> ves) {
        JsonNode status(int on) throws Exception {
            return ServiceLab.status(c, on);
        }

        JsonNode workload(int on, String name) throws Exception {
            return ServiceLab.workload(c, on, name);
        }

        /** VE {@code ve}'s console log on node {@code node}: every QEMU started there for it appends to it. */
        Path console(int node, String ve) {
            return c.runDir().resolve("lab").resolve("node-" + node).resolve("ve").resolve(ve).resolve("console.log");
        }

        /** Waits until node {@code node} runs {@code name} as its recorded owner (its own status says so). */
        boolean awaitRunningOn(int node, String name) {
            return Poll.until(WAIT, () -> {
                try {
                    JsonNode w = workload(node, name);
                    return w.path("owner").asText().equals("node-" + node) && w.path("desired").asText().equals("running")
                            && !w.has("next") && w.path("here").asText().equals("running");
                } catch (Exception | AssertionError e) {
                    return false;
                }
            });
        }

        /** Runs {@code baton ARGS} on node {@code on} as that node's operator, confirmed, waiting for the answer. */
        ExecResult baton(int on, String... args) {
            return batonAs(c, on, args);
        }

        Host client() {
            return c.lab().client();
        }

        /** GET http://IP{path} from the client host; empty when it does not answer. */
        String get(String path) {
            ExecResult r = client().run(Duration.ofSeconds(10), "curl", "-sS", "--fail", "--connect-timeout", "1", "--max-time", "3",
                    "http://" + ip + path);
            return r.exitCode() == 0 ? r.stdout().strip() : "";
        }

        /** Waits until the VE answers /name from the client with its name. */
        boolean awaitAnswering() {
            return Poll.until(WAIT, () -> get("/name").equals("web"));
        }

        /** The guest's uptime in seconds, live (/cgi-bin/uptime). */
        double uptime() {
            String text = get("/cgi-bin/uptime");
            assertThat(text).as("the VE answers /cgi-bin/uptime").isNotEmpty();
            return Double.parseDouble(text.split("\\s+")[0]);
        }

        /** Waits until the watch has seen the VE's MAC on {@code port} after {@code after}. */
        boolean awaitSeenOn(String port, Instant after) {
            return Poll.until(WAIT, () -> watch.seen(MAC).stream().anyMatch(s -> s.port().equals(port) && s.last().isAfter(after)));
        }

        MacWatch.Sighting sighting(String port) {
            return watch.seen(MAC).stream().filter(s -> s.port().equals(port)).findFirst()
                    .orElseThrow(() -> new AssertionError("MAC " + MAC + " never seen on " + port + ": " + watch.seen(MAC)));
        }

        String logs() {
            StringBuilder b = new StringBuilder();
            for (int i = 1; i <= c.size(); i++) {
                b.append("---- node-").append(i).append(" ----\n").append(p.log(i));
            }
            return b.toString();
        }
    }

    interface Body {
        void run(Setup s) throws Exception;
    }

    /**
     * The VE's configuration: the test guest with no data file (it boots faster), 128 MiB, TCG,
     * one NIC with a fixed MAC on br0; {@code preferred} as given.
     */
    static String veYaml(String ip, String preferred) {
        return "ves:\n" + baton.cli.TestGuest.veYaml(1, "web", guestDir, 128, ip, MAC, "br0", 0,
                "    preferred: " + preferred + "\n    maxRestarts: 0\n    monitorIntervalMillis: 1000\n");
    }

    /**
     * A 3-node cluster (IPMI BMCs, node hosts' uplinks in br0 except where {@code bridgeOf}
     * names another bridge) running {@code web}, settled on its first preferred node
     * ({@link #settleOn}). One MAC watch runs from before the daemons start until the VE is
     * settled, a second (overlapping it) from then until after {@code body}: the second's
     * sightings are the test's; neither may report a violation.
     */
    static void withVe(String preferred, Map<Integer, String> bridgeOf, Body body) throws Exception {
        withVes(List.of("web"), ip -> veYaml(ip.get("web"), preferred), Integer.parseInt(preferred.replaceAll("^\\[node-(\\d+).*$", "$1")),
                bridgeOf, body);
    }

    /** The MAC of the {@code i}-th VE of a test (0-based): {@link #MAC} for the first. */
    static String mac(int i) {
        return String.format("52:54:00:b7:0f:%02x", i + 1);
    }

    /**
     * {@link #withVe} for any VEs: {@code names}, the i-th at host number {@link #VE_HOST_NUMBER}
     * + i and MAC {@link #mac}(i); {@code yaml} makes the top-level YAML from their addresses by
     * name; all settle on node {@code home} first.
     */
    static void withVes(List<String> names, java.util.function.Function<Map<String, String>, String> yaml, int home,
                        Map<Integer, String> bridgeOf, Body body) throws Exception {
        Path dir = Files.createTempDirectory(Path.of("/var/tmp"), "baton-it-ve-");
        boolean passed = false;
        try (LabCluster c = new LabCluster(dir, "lab", 3, true); PowerLab p = new PowerLab(c)) {
            for (int i = 1; i <= 3; i++) {
                c.bridgeUplink(i, bridgeOf.getOrDefault(i, "br0"));
            }
            List<Ve> ves = new ArrayList<>();
            Map<String, String> ips = new java.util.LinkedHashMap<>();
            Map<String, InetAddress> probed = new java.util.LinkedHashMap<>();
            for (int i = 0; i < names.size(); i++) {
                String veIp = c.lab().tag().address(VE_HOST_NUMBER + i);
                ves.add(new Ve(names.get(i), veIp, mac(i)));
                ips.put(names.get(i), veIp);
                probed.put(mac(i), InetAddress.getByName(veIp));
            }
            String ip = ves.getFirst().ip();
            MacWatch watch;
            try (MacWatch startup = MacWatch.start(c.lab(), probed, PORTS, MacWatch.DEFAULT_POLL)) {
                p.fencing("monitorIntervalMillis: 4000\nmonitorTimeoutMillis: 3000");
                p.yaml(yaml.apply(ips).replace("@DIR@", dir.toString()));
                p.start(dir.resolve("quorum.img").toString(), null);
                for (String name : names) {
                    settleOn(c, p, name, home);
                }
                watch = MacWatch.start(c.lab(), probed, PORTS, MacWatch.DEFAULT_POLL); // overlaps the startup watch
                try {
                    long polls = startup.polls();
                    assertThat(Poll.until(Duration.ofSeconds(5), () -> startup.polls() > polls + 1)).isTrue();
                    assertThat(startup.violations()).as("never two owners on the wire while the cluster started; sightings "
                            + startup.seen(MAC)).isEmpty();
                } catch (Throwable t) {
                    watch.close();
                    throw t;
                }
            }
            try (watch) {
                Setup s = new Setup(c, p, ip, watch, List.copyOf(ves));
                body.run(s);
                long polls = watch.polls();
                assertThat(Poll.until(Duration.ofSeconds(5), () -> watch.polls() > polls + 1)).isTrue();
                assertThat(watch.violations()).as("never two owners on the wire; sightings " + watch.seen(MAC)).isEmpty();
                System.out.println("VeFailoverIT: sightings of " + MAC + ": " + watch.seen(MAC));
            }
            passed = true;
        } finally {
            if (passed) {
                try (var files = Files.walk(dir)) {
                    files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
                }
            } else {
                // The logs stay for the reader; the quorum disk and checkpoints (the large files) go.
                try (var files = Files.walk(dir)) {
                    files.filter(Files::isRegularFile).filter(f -> f.toFile().length() > (1 << 20)).forEach(f -> f.toFile().delete());
                }
                System.out.println("VeFailoverIT: logs kept in " + dir);
            }
        }
    }

    /**
     * Makes node {@code node} (the VE's first preferred node) the one the test starts from. The
     * coordinator places the VE as soon as it holds the lease, on the best node up by then: on a
     * loaded machine the preferred node may join a second or two after the others, and the VE,
     * without failback, then stays where it was placed. In that case it is moved there first
     * ({@code relocate}, stop before start) and the tests begin once the move is recorded.
     */
    static void settleOn(LabCluster c, PowerLab p, String name, int node) {
        Pattern placed = Pattern.compile("event=workload-owner workload=" + name + " change=place owner=node-(\\d+) ");
        int[] owner = {0};
        assertThat(Poll.until(WAIT, () -> {
            Matcher m = placed.matcher(allLogs(c, p));
            if (m.find()) {
                owner[0] = Integer.parseInt(m.group(1));
            }
            return owner[0] != 0;
        })).as(allLogs(c, p)).isTrue();
        if (owner[0] == node) {
            return;
        }
        System.out.printf("VeFailoverIT: %s was placed on node-%d before node-%d was up; relocating it to node-%d first%n", name,
                owner[0], node, node);
        ExecResult[] last = {null};
        assertThat(Poll.until(WAIT, () -> (last[0] = batonAs(c, 2, "ve", "relocate", name, "--to", "node-" + node)).exitCode() == 0))
                .as(() -> last[0].describe()).isTrue();
        assertThat(Poll.until(WAIT, () -> allLogs(c, p).contains("event=workload-owner workload=" + name + " change=move_finish owner=node-"
                + node + " "))).as(allLogs(c, p)).isTrue();
    }

    static String allLogs(LabCluster c, PowerLab p) {
        StringBuilder b = new StringBuilder();
        for (int i = 1; i <= c.size(); i++) {
            b.append(p.log(i));
        }
        return b.toString();
    }

    /** Runs {@code baton ARGS} on node {@code on} as that node's operator, confirmed, waiting for the answer. */
    static ExecResult batonAs(LabCluster c, int on, String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--config", c.config(on).toString(), "--run-dir", c.runDir().toString(), "--as", "node-" + on,
                "--yes", "--wait", "60"));
        return c.baton(on, all.toArray(String[]::new));
    }

    static void withVe(Body body) throws Exception {
        withVe("[node-1]", Map.of(), body);
    }

    /**
     * The earliest timestamp, not before {@code after}, of the lines of {@code log} matching
     * {@code regex}, or null. Earliest, not first: {@code log} may be several nodes' logs one
     * after the other (each node logs a fence when it learns of it, the coordinator first).
     */
    static Instant firstTs(String log, String regex, Instant after) {
        Matcher m = Pattern.compile("^ts=(\\S+) .*" + regex, Pattern.MULTILINE).matcher(log);
        Instant first = null;
        while (m.find()) {
            Instant t = Instant.parse(m.group(1));
            if (!t.isBefore(after) && (first == null || t.isBefore(first))) {
                first = t;
            }
        }
        return first;
    }

    @Test
    void theVeRunsOnItsPreferredNodeAndAnswersTheClientFromBehindThatNodesPort() throws Exception {
        withVe(s -> {
            assertThat(s.awaitRunningOn(1, "web")).as(s.logs()).isTrue();
            assertThat(s.awaitAnswering()).as(s.logs()).isTrue();
            assertThat(s.get("/name")).isEqualTo("web");
            assertThat(Double.parseDouble(s.get("/uptime").split("\\s+")[0])).isGreaterThanOrEqualTo(0);
            assertThat(s.uptime()).isPositive();
            for (int other = 2; other <= 3; other++) {
                JsonNode w = s.workload(other, "web");
                assertThat(w.path("owner").asText()).isEqualTo("node-1");
                assertThat(w.path("here").asText()).isEqualTo("stopped");
            }
            Instant now = Instant.now();
            assertThat(s.awaitSeenOn("n1", now)).as(s.watch().seen(MAC).toString()).isTrue();
            assertThat(s.watch().seen(MAC)).as("only behind node-1's port").extracting(MacWatch.Sighting::port).containsOnly("n1");
            assertThat(s.p().log(1)).contains("event=workload-started workload=web");
        });
    }

    @Test
    void aCrashedNodesVeIsFencedThenBootedElsewhereWithTheSameAddressAndMac() throws Exception {
        withVe(s -> {
            assertThat(s.awaitRunningOn(1, "web")).as(s.logs()).isTrue();
            assertThat(s.awaitAnswering()).as(s.logs()).isTrue();
            assertThat(s.awaitSeenOn("n1", Instant.now())).isTrue();
            double before = s.uptime();
            // A node's console log is appended to by every QEMU it starts for the VE (web may have
            // run on a survivor before: placed there while node-1 was joining, then relocated).
            long[] consoleBefore = new long[4];
            for (int n = 2; n <= 3; n++) {
                Path console = s.console(n, "web");
                consoleBefore[n] = Files.exists(console) ? Files.size(console) : 0;
            }

            Instant crashed = Instant.now();
            s.p().crash(1); // kill -9 of node-1's daemon and its QEMU
            assertThat(Poll.until(WAIT, () -> {
                try {
                    String owner = s.workload(2, "web").path("owner").asText();
                    return owner.equals("node-2") || owner.equals("node-3");
                } catch (Exception | AssertionError e) {
                    return false;
                }
            })).as(s.logs()).isTrue();
            int next = Integer.parseInt(s.workload(2, "web").path("owner").asText().substring("node-".length()));
            assertThat(s.awaitRunningOn(next, "web")).as(s.logs()).isTrue();
            assertThat(s.awaitAnswering()).as(s.logs()).isTrue();
            long answeredMillis = Duration.between(crashed, Instant.now()).toMillis();
            double after = s.uptime();
            System.out.printf("VeFailoverIT: crash of node-1 -> web answering from node-%d after <= %d ms (guest uptime %.2f s,"
                    + " %.2f s before the crash)%n", next, answeredMillis, after, before);
            // A cold boot: the new node's QEMU (started after the record, below) booted the guest from
            // its kernel on, once. Its console since the crash, not the guest's uptime: under TCG on a
            // loaded host the guest's clock can run fast (seen once: "ready" at guest uptime 25 s, 12 s
            // after QEMU started; a clock calibrated on a busy host, presumably), so uptime does not
            // date the boot.
            Path console = s.console(next, "web");
            byte[] all = Files.readAllBytes(console);
            String boot = new String(all, (int) consoleBefore[next], all.length - (int) consoleBefore[next],
                    java.nio.charset.StandardCharsets.UTF_8);
            assertThat(Pattern.compile("baton-guest: booting kernel ").matcher(boot).results().count()).as(boot).isEqualTo(1);
            assertThat(Pattern.compile("baton-guest: ready ip=" + Pattern.quote(s.ip()) + "/24 name=web ").matcher(boot).results().count())
                    .as(boot).isEqualTo(1);

            // Fenced first, then recovered: the earliest such lines of the survivors (the coordinator's).
            String survivors = s.p().log(2) + s.p().log(3);
            Instant fenced = firstTs(survivors, "peer=node-1 peer-id=1 from=down to=fenced", crashed);
            Instant recovered = firstTs(survivors, "event=workload-owner workload=web change=recover owner=node-" + next, crashed);
            Instant started = firstTs(s.p().log(next), "event=workload-started workload=web", crashed);
            assertThat(fenced).as(survivors).isNotNull();
            assertThat(recovered).as(survivors).isNotNull();
            assertThat(started).as(s.p().log(next)).isNotNull();
            assertThat(recovered).as("recovered only after the fence").isAfterOrEqualTo(fenced);
            assertThat(started).isAfterOrEqualTo(recovered);
            assertThat(s.workload(next, "web").path("reason").asText()).contains("was fenced");
            assertThat(s.p().ipmiBmc(1).powerStatus()).isEqualTo(baton.lab.bmc.PowerStatus.OFF);

            // Same MAC, now behind the new node's port; last seen on n1 before first seen there.
            String port = "n" + next;
            assertThat(s.awaitSeenOn(port, Instant.now())).as(s.watch().seen(MAC).toString()).isTrue();
            MacWatch.Sighting old = s.sighting("n1");
            MacWatch.Sighting now = s.sighting(port);
            assertThat(old.last()).as(old + " / " + now).isBefore(now.first());
            assertThat(old.last()).as("n1 went quiet with the crash").isBefore(crashed.plusMillis(500));
            assertThat(s.watch().violations()).isEmpty();
            System.out.printf("VeFailoverIT: MAC %s last on n1 at %s, first on %s at %s (%d ms after the crash)%n", MAC, old.last(), port,
                    now.first(), Duration.between(crashed, now.first()).toMillis());
        });
    }

    @Test
    void relocateStopsTheVeBeforeItStartsOnTheTarget() throws Exception {
        withVe(s -> {
            assertThat(s.awaitRunningOn(1, "web")).as(s.logs()).isTrue();
            assertThat(s.awaitAnswering()).as(s.logs()).isTrue();
            assertThat(s.awaitSeenOn("n1", Instant.now())).isTrue();

            Instant asked = Instant.now();
            ExecResult r = s.baton(2, "ve", "relocate", "web", "--to", "node-3");
            assertThat(r.exitCode()).as(r.describe()).isZero();
            assertThat(s.awaitRunningOn(3, "web")).as(s.logs()).isTrue();
            assertThat(s.awaitAnswering()).as(s.logs()).isTrue();

            Instant stopped = firstTs(s.p().log(1), "event=workload-stopped workload=web", asked);
            Instant starting = firstTs(s.p().log(3), "event=workload-start workload=web", asked);
            assertThat(stopped).as(s.p().log(1)).isNotNull();
            assertThat(starting).as(s.p().log(3)).isNotNull();
            assertThat(stopped).as("stop before start").isBefore(starting);
            String all = s.logs();
            assertThat(all).contains("event=workload-owner workload=web change=move_begin owner=node-1")
                    .contains("event=workload-owner workload=web change=move_finish owner=node-3");

            assertThat(s.awaitSeenOn("n3", Instant.now())).as(s.watch().seen(MAC).toString()).isTrue();
            assertThat(s.sighting("n1").last()).isBefore(s.sighting("n3").first());
            assertThat(s.watch().violations()).isEmpty();
        });
    }

    @Test
    void aVeWhoseBridgeIsMissingOnItsPreferredNodeFailsThereAndRunsOnTheNext() throws Exception {
        // node-1's uplink is in br1: br0, the VE's bridge, does not exist there (the configuration
        // cannot know a node's bridges, so the node starts; the VE's start fails there).
        withVe("[node-1, node-2]", Map.of(1, "br1"), s -> {
            assertThat(s.p().await(1, "event=workload-start-failed workload=web reason=.*br0", WAIT)).as(s.p().log(1)).isTrue();
            assertThat(s.awaitRunningOn(2, "web")).as(s.logs()).isTrue();
            assertThat(s.awaitAnswering()).as(s.logs()).isTrue();
            assertThat(s.workload(2, "web").path("reason").asText()).contains("restart limit");
            assertThat(Cmd.run(Duration.ofSeconds(10), "ip", "netns", "exec", s.c().host(1).netns(), "ip", "-o", "link").stdout())
                    .as("the failed start left no tap behind").doesNotContain("web-0");
            assertThat(s.awaitSeenOn("n2", Instant.now())).isTrue();
            assertThat(s.watch().seen(MAC)).extracting(MacWatch.Sighting::port).containsOnly("n2");
        });
    }
}
