package baton.cli;

import baton.runtime.api.ApiTls;
import baton.runtime.api.ApiToken;
import baton.runtime.config.ClusterConfig;
import baton.runtime.config.NodeConfig;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Optional;

/**
 * {@code baton}'s side of a node's API (docs/api.md): HTTPS to the node's first address,
 * trusting exactly the certificate that node serves (kept beside the cluster key, or the
 * configured one), with the token derived from the cluster key — both of which a command run
 * on a cluster node finds by itself.
 */
final class ApiClient {
    /** The API answered with an error status; {@link #body} holds its JSON ({@code error}, {@code fix}). */
    static final class ApiFailure extends Exception {
        final int status;
        final JsonNode body;

        ApiFailure(int status, JsonNode body) {
            super(body.path("error").asText("HTTP " + status) + (body.has("fix") ? "; fix: " + body.path("fix").asText() : ""));
            this.status = status;
            this.body = body;
        }
    }

    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(2);

    private final NodeConfig node;
    private final URI base;
    private final String token;
    private final HttpClient http;

    private ApiClient(NodeConfig node, URI base, String token, HttpClient http) {
        this.node = node;
        this.base = base;
        this.token = token;
        this.http = http;
    }

    /** A client for {@code node}'s API, or empty when the API is off or its certificate is not on this host. */
    static Optional<ApiClient> of(ClusterConfig cfg, NodeConfig node) {
        if (!cfg.api().enabled() || !Files.isReadable(cfg.api().certificateOf(node.name()))) {
            return Optional.empty();
        }
        try {
            HttpClient http = HttpClient.newBuilder().sslContext(ApiTls.clientContext(cfg.api().certificateOf(node.name())))
                    .connectTimeout(CONNECT_TIMEOUT).build();
            URI base = URI.create(cfg.api().url(node));
            return Optional.of(new ApiClient(node, base, ApiToken.of(ConfigOption.key(cfg)).text(), http));
        } catch (IOException | java.security.GeneralSecurityException e) {
            return Optional.empty();
        }
    }

    NodeConfig node() {
        return node;
    }

    URI base() {
        return base;
    }

    JsonNode get(String path) throws IOException, InterruptedException, ApiFailure {
        return send(request(path).GET().build());
    }

    JsonNode post(String path, ObjectNode body) throws IOException, InterruptedException, ApiFailure {
        return send(request(path).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build());
    }

    /** The metrics text as the endpoint serves it. */
    String metrics() throws IOException, InterruptedException, ApiFailure {
        HttpResponse<String> r = http.send(request("/metrics").GET().build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new ApiFailure(r.statusCode(), DiskCommand.JSON.readTree(r.body()));
        }
        return r.body();
    }

    /** One server-sent event. */
    record StreamEvent(String id, String type, String data) {}

    interface StreamSink {
        /** Returns false to stop following. */
        boolean accept(StreamEvent e) throws IOException;
    }

    /** Follows {@code path} (an event stream) until {@code sink} says stop or the node ends the stream. */
    void stream(String path, StreamSink sink) throws IOException, InterruptedException, ApiFailure {
        HttpResponse<InputStream> r = http.send(request(path).header("Accept", "text/event-stream").GET().build(),
                HttpResponse.BodyHandlers.ofInputStream());
        if (r.statusCode() != 200) {
            try (InputStream in = r.body()) {
                throw new ApiFailure(r.statusCode(), DiskCommand.JSON.readTree(in));
            }
        }
        try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            String id = null;
            String type = "message";
            StringBuilder data = new StringBuilder();
            for (String line; (line = in.readLine()) != null; ) {
                if (line.isEmpty()) {
                    if (!data.isEmpty() && !sink.accept(new StreamEvent(id, type, data.toString()))) {
                        return;
                    }
                    id = null;
                    type = "message";
                    data.setLength(0);
                } else if (line.startsWith("id:")) {
                    id = line.substring(3).trim();
                } else if (line.startsWith("event:")) {
                    type = line.substring(6).trim();
                } else if (line.startsWith("data:")) {
                    data.append(data.isEmpty() ? "" : "\n").append(line.substring(5).trim());
                }
            }
        }
    }

    private HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(base.resolve(path)).header("Authorization", "Bearer " + token).timeout(Duration.ofSeconds(75));
    }

    private JsonNode send(HttpRequest request) throws IOException, InterruptedException, ApiFailure {
        HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
        JsonNode body = r.body().isBlank() ? DiskCommand.JSON.createObjectNode() : DiskCommand.JSON.readTree(r.body());
        if (r.statusCode() >= 400) {
            throw new ApiFailure(r.statusCode(), body);
        }
        return body;
    }
}
