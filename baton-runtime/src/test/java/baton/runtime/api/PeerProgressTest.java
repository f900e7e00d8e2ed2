package baton.runtime.api;

import static org.assertj.core.api.Assertions.assertThat;

import baton.core.disk.ClusterKey;
import baton.core.timing.Timeouts;
import baton.runtime.config.ApiConfig;
import baton.runtime.config.ClusterConfig;
import baton.runtime.config.FencingConfig;
import baton.runtime.config.MigrationConfig;
import baton.runtime.config.NodeConfig;
import baton.runtime.config.QuorumDiskConfig;
import baton.runtime.events.EventJournal;
import baton.runtime.log.KvLog;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node that watches a migration it takes no part in gets its figures from the source's real
 * API over TLS on loopback (node-1 on 127.0.0.1, node-2 on 127.0.0.2, node-3 on 127.0.0.3 with
 * nothing listening), trusting the sealed answer, not the certificate.
 */
class PeerProgressTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    ApiServer source;
    PeerProgress watcher;

    @AfterEach
    void stop() {
        if (watcher != null) {
            watcher.close();
        }
        if (source != null) {
            source.close();
        }
    }

    ClusterConfig config(int port) throws Exception {
        List<NodeConfig> nodes = List.of(new NodeConfig(1, "node-1", List.of(InetAddress.ofLiteral("127.0.0.1"))),
                new NodeConfig(2, "node-2", List.of(InetAddress.ofLiteral("127.0.0.2"))),
                new NodeConfig(3, "node-3", List.of(InetAddress.ofLiteral("127.0.0.3"))));
        return new ClusterConfig(dir.resolve("cluster.yaml"), "demo", dir.resolve("cluster.key"), nodes,
                new QuorumDiskConfig(dir.resolve("q.img"), null), Timeouts.DEFAULTS, ClusterConfig.DEFAULT_HEARTBEAT_PORT, Map.of(),
                ClusterConfig.NO_FENCING, FencingConfig.DEFAULTS, List.of(), MigrationConfig.DEFAULTS,
                new ApiConfig(true, port, Optional.empty(), Optional.empty(), dir.resolve("api")), List.of());
    }

    static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.ofLiteral("127.0.0.2"))) {
            return s.getLocalPort();
        }
    }

    /** node-2's API, whose view has web1 migrating from it to node-3 with QEMU's figures. */
    void startSource(ClusterConfig config, ClusterKey key) throws Exception {
        NodeConfig node2 = config.node("node-2").orElseThrow();
        ObjectNode status = JSON.createObjectNode();
        status.put("node", "node-2");
        ObjectNode web1 = status.putArray("workloads").addObject().put("name", "web1").put("migrating", "live")
                .put("owner", "node-2").put("next", "node-3");
        web1.putObject("migrationHere").put("role", "source").put("peer", "node-3").put("phase", "active")
                .put("transferredBytes", 100).put("remainingBytes", 50).put("totalBytes", 150);
        KvLog log = new KvLog(new PrintStream(new ByteArrayOutputStream(), true), "node-2");
        ApiServer.Sources sources = new ApiServer.Sources(() -> status, JSON::createObjectNode, new EventJournal(16), new ApiServer.Metrics() {
            @Override
            public String scrape() {
                return "";
            }

            @Override
            public String contentType() {
                return "text/plain";
            }

            @Override
            public void countApiRequest(String method, String route, int code) {}
        }, null);
        source = ApiServer.start(config, node2, ApiToken.of(key), PeerSeal.of(key), ApiTls.serverContext(config.api(), node2), sources,
                log, config.api().address(node2));
    }

    /** node-1's view: web1 migrating from node-2 to node-3, no progress of its own. */
    static ObjectNode watcherView() {
        ObjectNode view = JSON.createObjectNode();
        view.put("node", "node-1");
        view.putArray("workloads").addObject().put("name", "web1").put("migrating", "live").put("owner", "node-2").put("next", "node-3");
        view.withArray("workloads").addObject().put("name", "db").put("owner", "node-1");
        return view;
    }

    @Test
    void aNodeThatTakesNoPartGetsTheSourcesFiguresWithWhoReportedThem() throws Exception {
        ClusterConfig config = config(freePort());
        ClusterKey key = new ClusterKey(new byte[32]);
        startSource(config, key);
        ObjectNode view = watcherView();
        watcher = PeerProgress.start(config, config.node("node-1").orElseThrow(), PeerSeal.of(key), () -> view);
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (watcher.remote("web1", "node-2", "node-3").isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        ObjectNode p = watcher.remote("web1", "node-2", "node-3").orElseThrow();
        assertThat(p.path("reportedBy").asText()).isEqualTo("node-2");
        assertThat(p.path("transferredBytes").asLong()).isEqualTo(100);
        assertThat(p.path("totalBytes").asLong()).isEqualTo(150);
        assertThat(p.path("phase").asText()).isEqualTo("active");
        assertThat(p.path("ageMillis").asLong()).isBetween(0L, PeerProgress.FRESH.toMillis());
        assertThat(watcher.remote("db", "node-1", null)).isEmpty();
    }

    @Test
    void anAnswerUnderAnotherClustersKeyIsNeverTaken() throws Exception {
        ClusterConfig config = config(freePort());
        startSource(config, new ClusterKey(new byte[32]));
        byte[] other = new byte[32];
        other[0] = 1;
        ObjectNode view = watcherView();
        watcher = PeerProgress.start(config, config.node("node-1").orElseThrow(), PeerSeal.of(new ClusterKey(other)), () -> view);
        for (int i = 0; i < 3; i++) {
            watcher.askOnce();
        }
        assertThat(watcher.remote("web1", "node-2", "node-3")).isEmpty();
        assertThat(source.unauthorized()).as("its sealed requests were refused").isGreaterThanOrEqualTo(3);
    }
}
