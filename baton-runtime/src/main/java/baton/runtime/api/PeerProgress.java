package baton.runtime.api;

import baton.runtime.config.ClusterConfig;
import baton.runtime.config.NodeConfig;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The progress of migrations this node does not take part in, fetched from a node that does:
 * QEMU's figures (bytes sent, remaining, rate, phase) exist only on a migration's source and
 * target, yet an operator may watch from any node's API or dashboard. While this node's view
 * has a workload migrating without progress of its own, it asks the source and the target every
 * {@link #INTERVAL} at {@link ApiServer#PEER_MIGRATIONS}, one request per node for all its
 * migrations, and keeps each answer for {@link #FRESH}; the source's figures are shown, the
 * target's when the source does not answer.
 *
 * <p>The answer is trusted for its seal ({@link PeerSeal}), not for the certificate: every node
 * makes its own, which the others cannot check. Nothing secret travels; a node that does not
 * answer only leaves the bar without figures.
 */
public final class PeerProgress implements AutoCloseable {
    static final Duration INTERVAL = Duration.ofMillis(500);
    static final Duration FRESH = Duration.ofSeconds(3);
    static final Duration TIMEOUT = Duration.ofSeconds(1);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One migration's progress as a node taking part reported it, and when this node heard it. */
    record Report(String node, ObjectNode progress, long atNanos) {}

    private final ClusterConfig config;
    private final NodeConfig self;
    private final PeerSeal seal;
    private final Supplier<ObjectNode> status;
    private final HttpClient http;
    /** By "workload@node". */
    private final Map<String, Report> reports = new ConcurrentHashMap<>();
    private final Thread thread;
    private volatile boolean closed;

    private PeerProgress(ClusterConfig config, NodeConfig self, PeerSeal seal, Supplier<ObjectNode> status) {
        this.config = config;
        this.self = self;
        this.seal = seal;
        this.status = status;
        this.http = HttpClient.newBuilder().sslContext(unverified()).connectTimeout(TIMEOUT).build();
        this.thread = Thread.ofVirtual().name("baton-peer-progress").unstarted(this::loop);
    }

    /** Starts asking, for the workloads that {@code status} (this node's latest view) shows migrating without progress here. */
    public static PeerProgress start(ClusterConfig config, NodeConfig self, PeerSeal seal, Supplier<ObjectNode> status) {
        PeerProgress p = new PeerProgress(config, self, seal, status);
        p.thread.start();
        return p;
    }

    /**
     * The progress of {@code workload}'s migration from {@code source} to {@code target} as the
     * source last reported it, else the target; with {@code reportedBy} and {@code ageMillis};
     * empty when neither gave a fresh report.
     */
    public Optional<ObjectNode> remote(String workload, String source, String target) {
        long now = System.nanoTime();
        for (String node : new String[] {source, target}) {
            Report r = node == null ? null : reports.get(workload + "@" + node);
            if (r != null && now - r.atNanos() <= FRESH.toNanos()) {
                ObjectNode o = r.progress().deepCopy();
                o.put("reportedBy", r.node());
                o.put("ageMillis", (now - r.atNanos()) / 1_000_000);
                return Optional.of(o);
            }
        }
        return Optional.empty();
    }

    private void loop() {
        while (!closed) {
            try {
                askOnce();
                Thread.sleep(INTERVAL);
                reports.values().removeIf(r -> System.nanoTime() - r.atNanos() > 10 * FRESH.toNanos());
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                // A view of an unexpected shape: ask again next time.
            }
        }
    }

    /**
     * One round: each node taking part (source or target) in a migration this view shows without
     * progress here is asked once, for all of its migrations.
     */
    void askOnce() {
        ObjectNode view = status.get();
        if (view == null) {
            return;
        }
        Set<String> ask = new LinkedHashSet<>();
        for (JsonNode w : view.path("workloads")) {
            if (w.path("migrating").asText("").isEmpty() || w.has("migrationHere")) {
                continue;
            }
            for (String node : new String[] {w.path("owner").asText(""), w.path("next").asText("")}) {
                if (!node.isEmpty() && !node.equals(self.name())) {
                    ask.add(node);
                }
            }
        }
        for (String node : ask) {
            config.node(node).ifPresent(this::ask);
        }
    }

    private void ask(NodeConfig peer) {
        String nonce = PeerSeal.nonce();
        HttpRequest request = HttpRequest.newBuilder(URI.create(config.api().url(peer) + ApiServer.PEER_MIGRATIONS.substring(1)))
                .timeout(TIMEOUT)
                .header(ApiServer.PEER_FROM, self.name())
                .header(ApiServer.PEER_NONCE, nonce)
                .header(ApiServer.PEER_SEAL, seal.request(self.name(), nonce, ApiServer.PEER_MIGRATIONS))
                .GET().build();
        try {
            HttpResponse<byte[]> reply = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
            if (reply.statusCode() != 200
                    || !PeerSeal.matches(seal.reply(nonce, reply.body()), reply.headers().firstValue(ApiServer.PEER_SEAL).orElse(null))) {
                return;
            }
            JsonNode body = JSON.readTree(reply.body());
            if (!body.path("node").asText().equals(peer.name())) {
                return;
            }
            long now = System.nanoTime();
            for (JsonNode m : body.path("migrations")) {
                if (m instanceof ObjectNode o && o.hasNonNull("workload")) {
                    ObjectNode progress = o.deepCopy();
                    progress.remove("workload");
                    reports.put(o.get("workload").asText() + "@" + peer.name(), new Report(peer.name(), progress, now));
                }
            }
        } catch (IOException e) {
            // Not answering (down, cut off, no API): no figures from it this round.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        http.close();
    }

    /**
     * TLS without checking the peer's certificate (self-signed by the peer; authenticity comes
     * from the seal instead), nor its name: the connection carries nothing secret.
     */
    private static SSLContext unverified() {
        TrustManager trustAll = new X509ExtendedTrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) {}

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) {}

            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {}

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {}

            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        };
        try {
            SSLContext c = SSLContext.getInstance("TLS");
            c.init(null, new TrustManager[] {trustAll}, null);
            return c;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("no TLS in this JDK", e);
        }
    }
}
