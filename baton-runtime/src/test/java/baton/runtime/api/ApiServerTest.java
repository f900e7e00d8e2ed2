package baton.runtime.api;

import static org.assertj.core.api.Assertions.assertThat;

import baton.core.disk.ClusterKey;
import baton.core.timing.Timeouts;
import baton.runtime.config.ClusterConfig;
import baton.runtime.config.NodeConfig;
import baton.runtime.config.QuorumDiskConfig;
import baton.runtime.events.EventJournal;
import baton.runtime.log.KvLog;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The API server on loopback with a generated certificate and a fixed view: TLS with the
 * node's own certificate, the token on every request, the login link, and the shape of
 * errors. (The actions and the real views are covered against a real cluster by ApiIT.)
 */
class ApiServerTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    ApiServer server;
    HttpClient http;
    ApiToken token;
    PeerSeal seal;
    ClusterConfig config;
    EventJournal journal = new EventJournal(16);
    List<String> counted = new java.util.concurrent.CopyOnWriteArrayList<>();
    ByteArrayOutputStream logged = new ByteArrayOutputStream();

    @BeforeEach
    void start() throws Exception {
        NodeConfig node = new NodeConfig(1, "node-1", List.of(InetAddress.ofLiteral("127.0.0.1")));
        config = new ClusterConfig(dir.resolve("cluster.yaml"), "demo", dir.resolve("cluster.key"), List.of(node),
                new QuorumDiskConfig(dir.resolve("q.img"), null), Timeouts.DEFAULTS);
        ClusterKey key = new ClusterKey(new byte[32]);
        token = ApiToken.of(key);
        ObjectNode status = JSON.createObjectNode();
        status.put("node", "node-1");
        status.putArray("nodes").addObject().put("name", "node-1").put("verdict", "up");
        ObjectNode web1 = status.putArray("workloads").addObject().put("name", "web1").put("migrating", "live").put("owner", "node-1")
                .put("next", "node-2");
        web1.putObject("migrationHere").put("role", "source").put("peer", "node-2").put("phase", "active")
                .put("transferredBytes", 100).put("remainingBytes", 50).put("totalBytes", 150);
        KvLog log = new KvLog(new PrintStream(logged, true), "node-1");
        log.journal(journal);
        log.info("event=joined incarnation=7 proven=\"primary,shadow\"");
        ApiServer.Sources sources = new ApiServer.Sources(() -> status, JSON::createObjectNode, journal, new ApiServer.Metrics() {
            @Override
            public String scrape() {
                return "baton_up 1\n";
            }

            @Override
            public String contentType() {
                return "text/plain; version=0.0.4";
            }

            @Override
            public void countApiRequest(String method, String route, int code) {
                counted.add(method + " " + route + " " + code);
            }
        }, null);
        seal = PeerSeal.of(key);
        server = ApiServer.start(config, node, token, seal, ApiTls.serverContext(config.api(), node), sources, log,
                new InetSocketAddress(InetAddress.ofLiteral("127.0.0.1"), 0));
        http = HttpClient.newBuilder().sslContext(ApiTls.clientContext(config.api().certificateOf("node-1")))
                .followRedirects(HttpClient.Redirect.NEVER).build();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    HttpResponse<String> get(String path, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + server.address().getPort() + path));
        if (headers.length > 0) {
            b.headers(headers);
        }
        return http.send(b.GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void theNodeGeneratesItsCertificateOnceAndKeepsTheKeyPrivate() throws Exception {
        Path cert = config.api().certificateOf("node-1");
        Path key = config.api().privateKeyOf("node-1");
        assertThat(cert).exists();
        assertThat(Files.getPosixFilePermissions(key)).containsExactlyInAnyOrder(java.nio.file.attribute.PosixFilePermission.OWNER_READ,
                java.nio.file.attribute.PosixFilePermission.OWNER_WRITE);
        byte[] first = Files.readAllBytes(cert);
        ApiTls.serverContext(config.api(), config.nodes().getFirst());
        assertThat(Files.readAllBytes(cert)).isEqualTo(first);
        assertThat(ApiTls.readCertificates(cert).getFirst().getSubjectAlternativeNames().toString()).contains("127.0.0.1", "node-1");
    }

    @Test
    void everyRequestNeedsTheTokenAndRefusalsAreCounted() throws Exception {
        HttpResponse<String> none = get("/api/v1/status");
        assertThat(none.statusCode()).isEqualTo(401);
        assertThat(none.headers().firstValue("WWW-Authenticate")).hasValue("Bearer realm=\"baton\"");
        assertThat(JSON.readTree(none.body()).path("fix").asText()).contains("baton api token");
        assertThat(get("/metrics", "Authorization", "Bearer " + "f".repeat(64)).statusCode()).isEqualTo(401);
        assertThat(get("/", "Cookie", "baton_token=nope").statusCode()).isEqualTo(401);
        assertThat(get("/").body()).contains("<form");
        JsonNode status = JSON.readTree(get("/api/v1/status", "Authorization", "Bearer " + token.text()).body());
        assertThat(status.path("api").path("unauthorized").asLong()).isEqualTo(4);
        // The server counts a request as it finishes it, which may be just after the client read its answer.
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!counted.contains("GET /api/v1/status 200") && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertThat(counted).contains("GET /api/v1/status 401", "GET /metrics 401", "GET / 401", "GET /api/v1/status 200");
        assertThat(logged.toString()).contains("event=api-unauthorized total=1");
    }

    @Test
    void theTokenLinkSetsASecureCookieAndTheCookieOpensThePage() throws Exception {
        HttpResponse<String> link = get("/?token=" + token.text());
        assertThat(link.statusCode()).isEqualTo(303);
        assertThat(link.headers().firstValue("Location")).hasValue("/");
        String cookie = link.headers().firstValue("Set-Cookie").orElseThrow();
        assertThat(cookie).startsWith("baton_token=" + token.text()).contains("Secure", "HttpOnly", "SameSite=Strict");
        HttpResponse<String> page = get("/", "Cookie", "baton_token=" + token.text());
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.headers().firstValue("Content-Type")).hasValue("text/html; charset=utf-8");
        assertThat(get("/dashboard.js", "Cookie", "baton_token=" + token.text()).statusCode()).isEqualTo(200);
        assertThat(get("/?token=" + "0".repeat(64)).statusCode()).isEqualTo(401);
    }

    @Test
    void readsEventsOperationsAndErrorsWithFixes() throws Exception {
        String auth = "Bearer " + token.text();
        assertThat(get("/metrics", "Authorization", auth).body()).isEqualTo("baton_up 1\n");
        assertThat(get("/api/v1/status", "Authorization", auth).statusCode()).isEqualTo(200);
        assertThat(get("/api/v1/operations", "Authorization", auth).statusCode()).isEqualTo(200);
        assertThat(get("/api/v1/status", "Authorization", auth).statusCode()).isEqualTo(200);
        JsonNode events = JSON.readTree(get("/api/v1/events?since=0", "Authorization", auth).body());
        assertThat(events.path("events").get(0).path("type").asText()).isEqualTo("joined");
        assertThat(events.path("events").get(0).path("fields").path("proven").asText()).isEqualTo("primary,shadow");
        JsonNode ops = JSON.readTree(get("/api/v1/operations", "Authorization", auth).body());
        assertThat(ops.get(0).path("workload").asText()).isEqualTo("web1");
        assertThat(ops.get(0).path("from").asText()).isEqualTo("node-1");
        assertThat(ops.get(0).path("to").asText()).isEqualTo("node-2");
        assertThat(ops.get(0).path("progress").path("transferredBytes").asLong()).isEqualTo(100);
        assertThat(ops.get(0).path("progress").path("reportedBy").asText()).isEqualTo("node-1");
        assertThat(get("/metrics", "Authorization", auth).body()).isEqualTo("baton_up 1\n");
        HttpResponse<String> bad = get("/api/v1/nodes/node-9", "Authorization", auth);
        assertThat(bad.statusCode()).isEqualTo(404);
        assertThat(JSON.readTree(bad.body()).path("fix").asText()).contains("node-1");
        assertThat(get("/api/v1/events?limit=5000", "Authorization", auth).statusCode()).isEqualTo(400);
        assertThat(get("/api/v1/status", "Authorization", auth).statusCode()).isEqualTo(200);
        for (int i = 0; i < 40; i++) {
            journal.append(System.currentTimeMillis(), "info", "node-1", "event=tick n=" + i);
        }
        HttpResponse<String> gapReply;
        try {
            gapReply = get("/api/v1/events?since=1", "Authorization", auth);
        } catch (java.io.IOException e) {
            throw new AssertionError(logged.toString(), e);
        }
        JsonNode gap = JSON.readTree(gapReply.body());
        assertThat(gap.path("gap").asText()).contains("no longer kept");
    }

    @Test
    void anotherNodeReadsTheMigrationsWithASealedRequestAndGetsASealedAnswerButNeverWithTheTokenAlone() throws Exception {
        String path = ApiServer.PEER_MIGRATIONS;
        assertThat(get(path).statusCode()).isEqualTo(401);
        assertThat(get(path, "Authorization", "Bearer " + token.text()).statusCode()).as("the operators' token is not a node's seal")
                .isEqualTo(401);
        String nonce = PeerSeal.nonce();
        assertThat(get(path, "X-Baton-Peer-From", "node-1", "X-Baton-Peer-Nonce", nonce, "X-Baton-Peer-Seal",
                PeerSeal.of(new ClusterKey(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 1, 2, 3, 4, 5, 6, 7, 8,
                        9, 10, 11, 12, 13, 14, 15, 16})).request("node-1", nonce, path)).statusCode())
                .as("sealed with another cluster's key").isEqualTo(401);
        assertThat(get(path, "X-Baton-Peer-From", "node-9", "X-Baton-Peer-Nonce", nonce, "X-Baton-Peer-Seal",
                seal.request("node-9", nonce, path)).statusCode()).as("not a node of this cluster").isEqualTo(401);
        assertThat(get(path, "X-Baton-Peer-From", "node-1", "X-Baton-Peer-Nonce", "abc", "X-Baton-Peer-Seal",
                seal.request("node-1", "abc", path)).statusCode()).as("not a nonce").isEqualTo(401);

        HttpResponse<String> ok = get(path, "X-Baton-Peer-From", "node-1", "X-Baton-Peer-Nonce", nonce, "X-Baton-Peer-Seal",
                seal.request("node-1", nonce, path));
        assertThat(ok.statusCode()).isEqualTo(200);
        byte[] body = ok.body().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        assertThat(PeerSeal.matches(seal.reply(nonce, body), ok.headers().firstValue("X-Baton-Peer-Seal").orElseThrow())).isTrue();
        assertThat(PeerSeal.matches(seal.reply(PeerSeal.nonce(), body), ok.headers().firstValue("X-Baton-Peer-Seal").orElseThrow()))
                .as("an answer does not fit another request").isFalse();
        JsonNode reply = JSON.readTree(body);
        assertThat(reply.path("node").asText()).isEqualTo("node-1");
        assertThat(reply.path("migrations").get(0).path("workload").asText()).isEqualTo("web1");
        assertThat(reply.path("migrations").get(0).path("transferredBytes").asLong()).isEqualTo(100);
    }
}
