package baton.it;

import static org.assertj.core.api.Assertions.assertThat;

import baton.lab.ExecResult;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Membership with real node processes in real network namespaces: heartbeats over the lab's
 * network, the quorum disk on a real file, faults made with kill -9, SIGSTOP and pulled links.
 */
class MembershipIT {
    static Cluster cluster(int nodes) throws Exception {
        Cluster c = new Cluster(nodes);
        try {
            c.configureAll(c.dir.resolve("quorum.img").toString(), null);
            ExecResult init = c.baton(1, "disk", "init", "--config", c.config(1).toString());
            assertThat(init.exitCode()).as(init.describe()).isZero();
            c.startAllAndAwaitJoin();
            for (int i = 1; i <= nodes; i++) {
                for (int p = 1; p <= nodes; p++) {
                    if (p != i) {
                        assertThat(c.daemon(i).awaitLog("peer=node-" + p + " peer-id=" + p + " from=absent to=up", Cluster.WAIT))
                                .as("node-%d sees node-%d up:%n%s", i, p, c.daemon(i).log()).isTrue();
                    }
                }
            }
            return c;
        } catch (Exception | Error e) {
            c.close();
            throw e;
        }
    }

    @Test
    void aKilledNodeIsDownOnTheSurvivorsWithItsEvidence() throws Exception {
        try (Cluster c = cluster(3)) {
            c.daemon(3).kill9();
            for (int survivor = 1; survivor <= 2; survivor++) {
                assertThat(c.awaitPattern(survivor, "peer=node-3 peer-id=3 from=[a-z-]+ to=down evidence=\"slot stale [0-9.]+ s,"
                        + " no heartbeat on any ring for [0-9.]+ s \\(ring0 [0-9.]+ s ago\\), own ticks on time\" alarm=down"))
                        .as(c.daemon(survivor).log()).isTrue();
            }
            JsonNode st = status(c, 1);
            assertThat(st.get("nodes").get(2).get("verdict").asText()).isEqualTo("down");
            assertThat(st.get("nodes").get(1).get("verdict").asText()).isEqualTo("up");
        }
    }

    @Test
    void aNodeHungPastTheTimeoutsIsDownThenRejoinsWithANewIncarnation() throws Exception {
        try (Cluster c = cluster(3)) {
            c.daemon(3).sigstop();
            assertThat(c.awaitPattern(1, "peer=node-3 peer-id=3 from=[a-z-]+ to=down ")).as(c.daemon(1).log()).isTrue();
            c.daemon(3).sigcont();
            assertThat(c.daemon(3).awaitLog("action=rejoin", Cluster.WAIT)).as(c.daemon(3).log()).isTrue();
            assertThat(c.daemon(3).log()).containsPattern("event=(self-paused|declared-down)");
            assertThat(c.daemon(3).awaitLog("event=rejoining incarnation=", Cluster.WAIT)).isTrue();
            assertThat(c.awaitPattern(1, "peer=node-3 peer-id=3 from=down to=(up|suspect|disk-lost) ")).as(c.daemon(1).log()).isTrue();
            assertThat(c.awaitPattern(1, "peer=node-3 peer-id=3 from=[a-z-]+ to=up ")).isTrue();
            assertThat(c.daemon(3).isAlive()).isTrue();
        }
    }

    @Test
    void aPulledCableIsNetworkLostOnBothSidesAndNeverDown() throws Exception {
        try (Cluster c = cluster(3)) {
            c.host(3).linkDown();
            assertThat(c.awaitPattern(1, "peer=node-3 peer-id=3 from=[a-z-]+ to=network-lost ")).as(c.daemon(1).log()).isTrue();
            assertThat(c.awaitPattern(3, "peer=node-1 peer-id=1 from=[a-z-]+ to=network-lost ")).as(c.daemon(3).log()).isTrue();
            Thread.sleep(3_000); // well past both timeouts: still not down
            for (int i = 1; i <= 3; i++) {
                assertThat(c.daemon(i).log()).as("node-%d", i).doesNotContain("to=down");
            }
            c.host(3).linkUp();
            assertThat(c.awaitPattern(1, "peer=node-3 peer-id=3 from=network-lost to=(up|suspect) ")).as(c.daemon(1).log()).isTrue();
        }
    }

    @Test
    void aRestartedNodeRejoins() throws Exception {
        try (Cluster c = cluster(3)) {
            c.daemon(2).kill9();
            assertThat(c.awaitPattern(1, "peer=node-2 peer-id=2 from=[a-z-]+ to=down ")).isTrue();
            c.start(2);
            assertThat(c.daemon(2).awaitLog("event=joined", Cluster.WAIT)).isTrue();
            assertThat(c.awaitPattern(1, "peer=node-2 peer-id=2 from=down to=[a-z-]+ ")).as(c.daemon(1).log()).isTrue();
            assertThat(c.awaitPattern(3, "peer=node-2 peer-id=2 from=[a-z-]+ to=up ")).isTrue();
        }
    }

    @Test
    void twoNodesWithTheNetworkCutButTheDiskSharedDeclareNeitherDown() throws Exception {
        try (Cluster c = cluster(2)) {
            c.host(2).linkDown();
            assertThat(c.awaitPattern(1, "peer=node-2 peer-id=2 from=[a-z-]+ to=network-lost ")).isTrue();
            assertThat(c.awaitPattern(2, "peer=node-1 peer-id=1 from=[a-z-]+ to=network-lost ")).isTrue();
            Thread.sleep(5_000);
            assertThat(c.daemon(1).log()).doesNotContain("to=down");
            assertThat(c.daemon(2).log()).doesNotContain("to=down");
            assertThat(c.daemon(1).isAlive()).isTrue();
            assertThat(c.daemon(2).isAlive()).isTrue();
        }
    }

    static JsonNode status(Cluster c, int node) throws Exception {
        ExecResult r = c.baton(node, "status", "--json", "--node", "node-" + node, "--config", c.config(node).toString(),
                "--run-dir", c.runDir().toString());
        assertThat(r.exitCode()).as(r.describe()).isZero();
        return new ObjectMapper().readTree(r.stdout());
    }
}
