package baton.it;

import static org.assertj.core.api.Assertions.assertThat;

import baton.lab.ExecResult;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The coordinator lease with real node processes: one coordinator, and a takeover only after its lease. */
class CoordinatorIT {
    static final Pattern BECAME = Pattern.compile("ts=(\\S+) .* node=node-(\\d+) event=coordinator role=coordinator generation=(\\d+)");

    static Cluster cluster(int nodes) throws Exception {
        Cluster c = new Cluster(nodes);
        try {
            c.configureAll(c.dir.resolve("quorum.img").toString(), null);
            ExecResult init = c.baton(1, "disk", "init", "--config", c.config(1).toString());
            assertThat(init.exitCode()).as(init.describe()).isZero();
            c.startAllAndAwaitJoin();
            return c;
        } catch (Exception | Error e) {
            c.close();
            throw e;
        }
    }

    /** Every "became coordinator" line of every node, in log order per node: {node, generation, ts}. */
    static List<String[]> becameLines(Cluster c) {
        List<String[]> all = new ArrayList<>();
        for (int i = 1; i <= c.size; i++) {
            Matcher m = BECAME.matcher(c.daemon(i).log());
            while (m.find()) {
                all.add(new String[] {m.group(2), m.group(3), m.group(1)});
            }
        }
        return all;
    }

    static int awaitCoordinator(Cluster c, int exceptNode) throws InterruptedException {
        long deadline = System.nanoTime() + Cluster.WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            for (String[] b : becameLines(c)) {
                int n = Integer.parseInt(b[0]);
                if (n != exceptNode) {
                    return n;
                }
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no coordinator was chosen");
    }

    @Test
    void oneNodeBecomesCoordinatorAndAnotherTakesOverOnlyAfterItsLease() throws Exception {
        try (Cluster c = cluster(3)) {
            int first = awaitCoordinator(c, 0);
            assertThat(becameLines(c)).as("exactly one coordinator").hasSize(1);
            long firstGeneration = Long.parseLong(becameLines(c).get(0)[1]);
            long killedAt = System.currentTimeMillis();
            c.daemon(first).kill9();
            int second = awaitCoordinator(c, first);
            assertThat(second).isNotEqualTo(first);
            String[] takeover = becameLines(c).stream().filter(b -> Integer.parseInt(b[0]) == second).findFirst().orElseThrow();
            assertThat(Long.parseLong(takeover[1])).as("generations only grow").isGreaterThan(firstGeneration);
            long takeoverAt = java.time.Instant.parse(takeover[2]).toEpochMilli();
            // The old lease had to expire first: no takeover within the lease hold time of the kill.
            assertThat(takeoverAt - killedAt).as("takeover after the lease").isGreaterThanOrEqualTo(
                    baton.core.timing.Timeouts.DEFAULTS.leaseHoldMillis() - baton.core.timing.Timeouts.DEFAULTS.diskIntervalMillis());
            assertThat(becameLines(c)).as("one coordinator per generation").hasSize(2);
        }
    }

    @Test
    void twoNodesWithTheNetworkCutKeepExactlyOneCoordinator() throws Exception {
        try (Cluster c = cluster(2)) {
            int first = awaitCoordinator(c, 0);
            c.host(2).linkDown();
            assertThat(c.awaitPattern(1, "peer=node-2 peer-id=2 from=[a-z-]+ to=network-lost ")).isTrue();
            Thread.sleep(8_000); // more than twice the lease timeout
            assertThat(becameLines(c)).as("still exactly one coordinator: node-%d", first).hasSize(1);
            assertThat(c.daemon(first).log()).doesNotContain("event=coordinator role=follower");
            c.host(2).linkUp();
        }
    }
}
