package baton.lab.owners;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import baton.lab.Cmd;
import baton.lab.ExecResult;
import baton.lab.Host;
import baton.lab.Lab;
import baton.lab.Poll;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The MAC watch on a real lab switch, without QEMU: a "VE" is a macvlan interface {@code mv0}
 * with a fixed MAC and address inside a node host, so its frames enter the switch through that
 * host's port, as a VE's do through its node's bridge. One copy is fine, a copy that moves is
 * fine, two copies at once (split brain) are a violation naming both ports.
 */
class MacWatchTest {
    private static final String MAC = "52:54:00:be:70:01";
    private static final Duration BOUND = Duration.ofSeconds(10);
    private static final List<String> PORTS = List.of("n1", "n2");

    private static Lab lab;

    @BeforeAll
    static void createLab() {
        lab = Lab.create(2, true);
    }

    @AfterAll
    static void closeLab() {
        if (lab != null) {
            lab.close();
        }
    }

    @AfterEach
    void removeVes() {
        for (Host h : lab.nodes()) {
            h.run(BOUND, "ip", "link", "del", "mv0");
        }
    }

    /** The VE's address: .100 of the lab's subnet, like QemuVmIT's VE. */
    private static InetAddress veAddress() throws Exception {
        return InetAddress.getByName(lab.tag().address(100));
    }

    /**
     * A copy of the VE on {@code host}: mv0 with the VE's MAC and address. eth0 stops answering
     * ARP for addresses it does not hold, so only mv0 answers for the VE's, from the VE's MAC.
     */
    private static void startVe(Host host) throws Exception {
        String script = "sysctl -q -w net.ipv4.conf.eth0.arp_ignore=1"
                + " && ip link add mv0 link eth0 type macvlan mode bridge"
                + " && ip link set mv0 address " + MAC
                + " && ip addr add " + veAddress().getHostAddress() + "/24 dev mv0"
                + " && ip link set mv0 up";
        host.run(BOUND, "sh", "-c", script).orThrow();
    }

    private static void stopVe(Host host) {
        host.run(BOUND, "ip", "link", "del", "mv0").orThrow();
    }

    /** The VE sends a few frames by itself: pings to the client from mv0. */
    private static void veTalks(Host host) {
        ExecResult r = host.run(BOUND, "ping", "-n", "-q", "-I", "mv0", "-c", "5", "-i", "0.05", "-W", "1", lab.client().address().getHostAddress());
        assertThat(r.ok()).as(r.describe()).isTrue();
    }

    private static List<String> ports(MacWatch watch) {
        return watch.seen(MAC).stream().map(MacWatch.Sighting::port).sorted().toList();
    }

    /** Lets the watch poll {@code n} more times. */
    private static void polls(MacWatch watch, int n) {
        long target = watch.polls() + n;
        assertThat(Poll.until(BOUND, () -> watch.polls() >= target)).as("%d more polls", n).isTrue();
    }

    private static String tables() {
        return Cmd.check(BOUND, "ip", "netns", "exec", lab.switchNetns(), "nft", "list", "tables");
    }

    @Test
    void oneCopyIsFineAndASecondCopyAnsweringIsAViolationNamingBothPorts() throws Exception {
        MacWatch watch = MacWatch.start(lab, Map.of(MAC, veAddress()), PORTS, MacWatch.DEFAULT_POLL);
        try {
            assertThat(tables()).contains("table bridge " + watch.table());
            startVe(lab.node(1));
            assertThat(Poll.until(BOUND, () -> ports(watch).contains("n1"))).as("the probes make the VE answer on n1").isTrue();
            // Ten probes' worth: one copy answers every one of them, from one port.
            polls(watch, (int) (10 * MacWatch.PROBE_INTERVAL.toMillis() / MacWatch.DEFAULT_POLL.toMillis()));
            assertThat(watch.violations()).isEmpty();
            assertThat(ports(watch)).containsExactly("n1");

            startVe(lab.node(2));
            assertThat(Poll.until(BOUND, () -> !watch.violations().isEmpty())).as("two copies answer the same ARP request").isTrue();
            String violation = watch.violations().getFirst();
            assertThat(violation).contains(MAC).contains("n1").contains("n2");
            assertThat(watch.violationRecords().getFirst().ports()).containsExactlyInAnyOrder("n1", "n2");
            assertThat(ports(watch)).containsExactly("n1", "n2");
            System.out.println("MacWatchTest: " + violation + "; seen: " + watch.seen(MAC));
        } finally {
            watch.close();
        }
        assertThat(tables()).doesNotContain(watch.table());
        watch.close();
    }

    @Test
    void aVeThatMovesIsSeenOnBothPortsWithoutAViolation() throws Exception {
        try (MacWatch watch = MacWatch.start(lab, List.of(MAC), PORTS, MacWatch.DEFAULT_POLL)) {
            startVe(lab.node(1));
            veTalks(lab.node(1));
            assertThat(Poll.until(BOUND, () -> ports(watch).contains("n1"))).isTrue();
            stopVe(lab.node(1));
            polls(watch, 2);

            startVe(lab.node(2));
            veTalks(lab.node(2));
            assertThat(Poll.until(BOUND, () -> ports(watch).contains("n2"))).isTrue();
            polls(watch, 2);

            assertThat(watch.violations()).isEmpty();
            List<MacWatch.Sighting> seen = watch.seen(MAC);
            MacWatch.Sighting n1 = seen.stream().filter(s -> s.port().equals("n1")).findFirst().orElseThrow();
            MacWatch.Sighting n2 = seen.stream().filter(s -> s.port().equals("n2")).findFirst().orElseThrow();
            assertThat(n1.last()).as("seen on n1 until it moved, then on n2").isBefore(n2.first());
            assertThat(n1.frames()).isPositive();
        }
        assertThat(tables()).doesNotContain("macwatch-");
    }

    @Test
    void aWatchWhoseSwitchVanishedRefusesToReportNoViolations() throws Exception {
        MacWatch watch = MacWatch.start(lab, List.of(MAC), PORTS, MacWatch.DEFAULT_POLL);
        try {
            polls(watch, 1);
            Cmd.check(BOUND, "ip", "netns", "exec", lab.switchNetns(), "nft", "delete", "table", "bridge", watch.table());
            assertThat(Poll.until(BOUND, () -> {
                try {
                    watch.violations();
                    return false;
                } catch (IllegalStateException e) {
                    return true;
                }
            })).isTrue();
            assertThatThrownBy(watch::violations).hasMessageContaining("stopped polling");
        } finally {
            watch.close();
        }
    }

    @Test
    void refusesBadInput() {
        assertThatThrownBy(() -> MacWatch.start(lab, List.of("52:54:00:be:70"), PORTS, MacWatch.DEFAULT_POLL))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("MAC");
        assertThatThrownBy(() -> MacWatch.start(lab, List.of(MAC), List.of("n1"), MacWatch.DEFAULT_POLL))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ports");
        assertThatThrownBy(() -> MacWatch.start(lab, List.of(MAC), List.of("n1", "n2\"; flush ruleset"), MacWatch.DEFAULT_POLL))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("port");
        assertThat(tables()).doesNotContain("macwatch-");
    }

    @Test
    void parsesTheCountersOfCommentedRules() {
        String listing = """
                table bridge macwatch-3-42-1 {
                	chain watch {
                		type filter hook prerouting priority dstnat; policy accept;
                		iifname "n1" ether saddr 52:54:00:be:70:01 counter packets 7 bytes 420 comment "52:54:00:be:70:01 n1"
                		iifname "n2" ether saddr 52:54:00:be:70:01 counter packets 0 bytes 0 comment "52:54:00:be:70:01 n2"
                		iifname "n3" counter packets 9 bytes 9
                	}
                }
                """;
        Map<String, long[]> counts = MacWatch.parseCounters(listing);
        assertThat(counts).containsOnlyKeys("52:54:00:be:70:01 n1", "52:54:00:be:70:01 n2");
        assertThat(counts.get("52:54:00:be:70:01 n1")).containsExactly(7, 420);
        assertThat(counts.get("52:54:00:be:70:01 n2")).containsExactly(0, 0);
    }
}
