package baton.lab;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The lab's network on real namespaces: reachability, cable pulls, impairment, isolation. */
@ExtendWith(NetnsUnchanged.class)
class LabNetworkTest {
    private static final Duration PING_TIMEOUT = Duration.ofSeconds(10);

    // One lab for the class: each test restores what it changes (links, netem).
    private static Lab lab;

    @BeforeAll
    static void createLab() throws Exception {
        // The install script is what CI runs first; here it makes sure ping is there.
        Cmd.check(Duration.ofMinutes(5), "../scripts/install-test-deps");
        lab = Lab.create(2, true);
    }

    @AfterAll
    static void closeLab() {
        lab.close();
    }

    private static Host n1() {
        return lab.node(1);
    }

    private static Host n2() {
        return lab.node(2);
    }

    private static ExecResult ping(Host from, Host to, int count) {
        return from.run(PING_TIMEOUT, "ping", "-n", "-c", Integer.toString(count), "-i", "0.2", "-W", "1",
                to.address().getHostAddress());
    }

    @Test
    void hostsHaveDistinctAddressesInTheLabSubnet() {
        assertThat(lab.hosts()).extracting(Host::name).containsExactly("n1", "n2", "client");
        assertThat(n1().address().getHostAddress()).isEqualTo(lab.tag().address(1));
        assertThat(n2().address().getHostAddress()).isEqualTo(lab.tag().address(2));
        assertThat(lab.client().address().getHostAddress()).isEqualTo(lab.tag().address(250));
        assertThat(n1().address().getHostAddress()).startsWith("198.1");
    }

    @Test
    void everyHostReachesEveryOther() {
        for (Host from : lab.hosts()) {
            for (Host to : lab.hosts()) {
                if (from != to) {
                    assertThat(ping(from, to, 1).ok()).as("ping %s -> %s", from, to).isTrue();
                }
            }
        }
    }

    @Test
    void linkDownCutsTheHostOffAndLinkUpRestoresIt() {
        assertThat(ping(n1(), n2(), 1).ok()).isTrue();
        n2().linkDown();
        try {
            assertThat(ping(n1(), n2(), 2).ok()).as("n1 -> n2 with n2's cable out").isFalse();
            assertThat(ping(n2(), lab.client(), 2).ok()).as("n2 -> client with n2's cable out").isFalse();
        } finally {
            n2().linkUp();
        }
        // The port forwards again at once (the bridge runs no STP), but eth0's carrier takes a moment.
        assertThat(Poll.until(PING_TIMEOUT, () -> ping(n1(), n2(), 1).ok())).isTrue();
    }

    @Test
    void totalLossCutsTheHostsTrafficAndClearingRestoresIt() {
        n1().netem("loss 100%");
        try {
            assertThat(ping(n1(), n2(), 2).ok()).isFalse();
            assertThat(ping(n2(), n1(), 2).ok()).as("replies from n1 are lost too").isFalse();
        } finally {
            n1().clearNetem();
        }
        assertThat(ping(n1(), n2(), 1).ok()).isTrue();
    }

    @Test
    void partialLossDropsAboutThatShare() {
        n1().netem("loss 50%");
        try {
            // 200 echo requests, each lost with p = 0.5: 100 expected, sd 7; 40..160 is 8 sd wide.
            ExecResult r = n1().run(PING_TIMEOUT, "ping", "-n", "-q", "-c", "200", "-i", "0.005", "-W", "1",
                    n2().address().getHostAddress());
            Matcher m = Pattern.compile("(\\d+) received").matcher(r.stdout());
            assertThat(m.find()).as(r.stdout()).isTrue();
            assertThat(Integer.parseInt(m.group(1))).isBetween(40, 160);
        } finally {
            n1().clearNetem();
        }
    }

    @Test
    void delayAddsLatencyToWhatTheHostSends() {
        n1().netem("delay 50ms");
        try {
            ExecResult r = ping(n1(), n2(), 3);
            assertThat(r.ok()).as(r.describe()).isTrue();
            assertThat(minRttMillis(r)).isGreaterThanOrEqualTo(50.0).isLessThan(500.0);
        } finally {
            n1().clearNetem();
        }
        assertThat(minRttMillis(ping(n1(), n2(), 2))).isLessThan(50.0);
    }

    @Test
    void delayAndLossTogether() {
        n1().netem("loss 5% delay 20ms 5ms");
        try {
            ExecResult r = ping(n1(), n2(), 5);
            assertThat(minRttMillis(r)).isGreaterThanOrEqualTo(15.0);
        } finally {
            n1().clearNetem();
        }
    }

    private static double minRttMillis(ExecResult ping) {
        Matcher m = Pattern.compile("min/avg/max/mdev = ([0-9.]+)/").matcher(ping.stdout());
        assertThat(m.find()).as(ping.stdout()).isTrue();
        return Double.parseDouble(m.group(1));
    }

    @Test
    void aProcessInAHostSeesOnlyLoAndEth0(@TempDir Path dir) {
        LabProcess p = n1().start(List.of("ip", "-o", "link"), dir.resolve("ip.log"), Map.of());
        assertThat(p.waitFor(Duration.ofSeconds(10))).isZero();
        List<String> names = p.log().lines().map(l -> l.split(":")[1].strip().replaceAll("@.*", "")).toList();
        assertThat(names).containsExactlyInAnyOrder("lo", "eth0");
    }

    @Test
    void hostsAddressIsOnEth0() {
        ExecResult r = n2().run(Duration.ofSeconds(5), "ip", "-o", "-4", "addr", "show", "dev", "eth0");
        assertThat(r.stdout()).contains(n2().address().getHostAddress() + "/24");
    }
}
