package baton.runtime.api;

import baton.core.fence.OperatorRequest;
import baton.runtime.config.ClusterConfig;
import baton.runtime.config.NodeConfig;
import baton.runtime.config.WorkloadConfig;
import baton.runtime.events.Event;
import baton.runtime.events.EventJournal;
import baton.runtime.log.KvLog;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import javax.net.ssl.SSLContext;

/**
 * The operators' API and dashboard of one node (docs/api.md): JSON over HTTPS on the node's
 * first address, a bearer token on every request, the dashboard's single page, a stream of
 * events (server-sent events) and the Prometheus metrics.
 *
 * <p>It reads only snapshots: the status the event loop renders every half second, the event
 * journal and, for {@code /api/v1/disk}, a fresh read of both copies of the quorum disk.
 * Actions become operator requests on the quorum disk ({@link OperatorRequests}), the path
 * every request takes to the coordinator, so any node accepts any action. Each exchange runs
 * on its own virtual thread; event streams are bounded in number and in queued events.
 */
public final class ApiServer implements AutoCloseable {
    /** What the metrics endpoint serves and how requests are counted (NodeMetrics in the daemon). */
    public interface Metrics {
        String scrape();

        String contentType();

        void countApiRequest(String method, String route, int status);
    }

    /** Where the server's figures come from; all called on the server's threads. */
    public record Sources(Supplier<ObjectNode> status, Supplier<ObjectNode> disk, EventJournal journal, Metrics metrics,
                          OperatorRequests requests) {}

    public static final int MAX_BODY_BYTES = 64 * 1024;
    public static final int MAX_STREAMS = 32;
    public static final int STREAM_QUEUE = 1024;
    public static final int MAX_EVENTS_PER_PAGE = 1000;
    static final long KEEPALIVE_MILLIS = 15_000;
    static final long STATUS_PUSH_MILLIS = 500;
    static final long MAX_WAIT_MILLIS = 60_000;
    static final long DEFAULT_WAIT_MILLIS = 10_000;
    static final String COOKIE = "baton_token";

    static final ObjectMapper JSON = new ObjectMapper();

    private final ClusterConfig config;
    private final NodeConfig self;
    private final ApiToken token;
    private final PeerSeal peers;
    private final Sources sources;
    private final KvLog log;
    private final HttpsServer server;
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    private final AtomicInteger streams = new AtomicInteger();
    private final AtomicLong unauthorized = new AtomicLong();
    private final AtomicLong actions = new AtomicLong();
    private final AtomicLong lastUnauthorizedLogNanos = new AtomicLong(System.nanoTime() - 60_000_000_000L);
    private volatile boolean closed;

    private ApiServer(ClusterConfig config, NodeConfig self, ApiToken token, PeerSeal peers, Sources sources, KvLog log,
                      HttpsServer server) {
        this.config = config;
        this.self = self;
        this.token = token;
        this.peers = peers;
        this.sources = sources;
        this.log = log;
        this.server = server;
    }

    /**
     * Binds {@code address:port} and starts serving: operators with {@code token}, the other
     * nodes ({@link #PEER_MIGRATIONS}) with requests sealed by {@code peers}.
     */
    public static ApiServer start(ClusterConfig config, NodeConfig self, ApiToken token, PeerSeal peers, SSLContext tls,
                                  Sources sources, KvLog log, InetSocketAddress address) throws IOException {
        HttpsServer http = HttpsServer.create(address, 64);
        http.setHttpsConfigurator(new HttpsConfigurator(tls));
        ApiServer api = new ApiServer(config, self, token, peers, sources, log, http);
        http.createContext("/", api::handle);
        http.setExecutor(api.executor);
        http.start();
        return api;
    }

    public InetSocketAddress address() {
        return server.getAddress();
    }

    /** Requests refused for a missing or wrong token since the start. */
    public long unauthorized() {
        return unauthorized.get();
    }

    @Override
    public void close() {
        closed = true;
        server.stop(0);
        executor.shutdownNow();
    }

    /** A failure answered with a status and a message that says what to do. */
    static final class ApiError extends Exception {
        final int status;
        final String fix;

        ApiError(int status, String message, String fix) {
            super(message);
            this.status = status;
            this.fix = fix;
        }
    }

    private void handle(HttpExchange ex) {
        String method = ex.getRequestMethod();
        String path = ex.getRequestURI().getRawPath();
        String route = "unknown";
        int status = 500;
        // Not try-with-resources: that would close the exchange before the catch blocks answer it.
        try {
            route = routeOf(path);
            if (path.equals(PEER_MIGRATIONS)) {
                status = peerMigrations(ex, method);
                return;
            }
            if (!authorized(ex, path)) {
                status = 401;
                refuseUnauthorized(ex, path);
                return;
            }
            status = dispatch(ex, method, path);
        } catch (Redirected r) {
            status = 303;
        } catch (ApiError e) {
            status = e.status;
            sendError(ex, e.status, e.getMessage(), e.fix);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            status = 503;
            sendError(ex, 503, "the node is shutting down", "retry on another node");
        } catch (IOException e) {
            status = 499; // the client went away; nothing to answer
        } catch (RuntimeException e) {
            status = 500;
            log.error("event=api-error method=" + method + " path=" + KvLog.q(path) + " error=" + KvLog.q(e));
            sendError(ex, 500, "internal error: " + e, "see the node's log");
        } finally {
            // Counted before the exchange is closed, so a client that has its answer finds it counted.
            sources.metrics().countApiRequest(method, route, status);
            ex.close();
        }
    }

    /** The route's template, for metrics: names and ids replaced, so that labels stay few. */
    static String routeOf(String path) {
        String[] p = segments(path);
        if (p.length >= 4 && p[0].equals("api") && p[1].equals("v1") && (p[2].equals("nodes") || p[2].equals("workloads"))) {
            return "/api/v1/" + p[2] + "/{name}" + (p.length >= 5 ? "/" + p[4] : "");
        }
        if (p.length == 0) {
            return "/";
        }
        String r = "/" + String.join("/", p);
        return Set.of("/api/v1/status", "/api/v1/nodes", "/api/v1/workloads", "/api/v1/disk", "/api/v1/fence-devices",
                "/api/v1/events", "/api/v1/events/stream", "/api/v1/operations", PEER_MIGRATIONS, "/metrics", "/dashboard.js",
                "/dashboard.css")
                .contains(r) ? r : "other";
    }

    private boolean authorized(HttpExchange ex, String path) throws IOException {
        // The dashboard's link: /?token=... sets the cookie and sends the browser on without the token in its address bar
        // (first, so that a browser that holds the cookie already does not keep the token in its address bar either).
        if (path.equals("/") && ex.getRequestMethod().equals("GET")) {
            String presented = query(ex).get("token");
            if (presented != null && token.matches(presented)) {
                ex.getResponseHeaders().add("Set-Cookie", COOKIE + "=" + token.text() + "; Path=/; Secure; HttpOnly; SameSite=Strict");
                ex.getResponseHeaders().add("Location", "/");
                ex.sendResponseHeaders(303, -1);
                throw new Redirected();
            }
        }
        String auth = ex.getRequestHeaders().getFirst("Authorization");
        if (auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7) && token.matches(auth.substring(7))) {
            return true;
        }
        for (String cookies : ex.getRequestHeaders().getOrDefault("Cookie", List.of())) {
            for (String c : cookies.split(";")) {
                String[] kv = c.trim().split("=", 2);
                if (kv.length == 2 && kv[0].equals(COOKIE) && token.matches(kv[1])) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * Where another node asks for the progress of the migrations this node takes part in (see
     * {@link PeerProgress}): not with the operators' token but with a request sealed with the
     * cluster key ({@link PeerSeal}), answered with a sealed body.
     */
    public static final String PEER_MIGRATIONS = "/api/v1/peer/migrations";
    static final String PEER_FROM = "X-Baton-Peer-From";
    static final String PEER_NONCE = "X-Baton-Peer-Nonce";
    static final String PEER_SEAL = "X-Baton-Peer-Seal";

    private int peerMigrations(HttpExchange ex, String method) throws ApiError, IOException {
        String from = ex.getRequestHeaders().getFirst(PEER_FROM);
        String nonce = ex.getRequestHeaders().getFirst(PEER_NONCE);
        if (from == null || config.node(from).isEmpty() || !PeerSeal.wellFormed(nonce)
                || !PeerSeal.matches(peers.request(from, nonce, PEER_MIGRATIONS), ex.getRequestHeaders().getFirst(PEER_SEAL))) {
            refuseUnauthorized(ex, PEER_MIGRATIONS);
            return 401;
        }
        requireMethod(method, "GET");
        ObjectNode reply = JSON.createObjectNode();
        reply.put("node", self.name());
        ArrayNode list = reply.putArray("migrations");
        ObjectNode status = sources.status().get();
        if (status != null) {
            for (JsonNode w : status.path("workloads")) {
                if (w.has("migrationHere")) {
                    ObjectNode m = list.addObject();
                    m.put("workload", w.path("name").asText());
                    m.setAll((ObjectNode) w.get("migrationHere"));
                }
            }
        }
        byte[] body = JSON.writeValueAsBytes(reply);
        ex.getResponseHeaders().add(PEER_SEAL, peers.reply(nonce, body));
        send(ex, 200, "application/json", body);
        return 200;
    }

    /** Thrown by {@link #authorized} after it answered a token link with a redirect. */
    private static final class Redirected extends RuntimeException {
        Redirected() {
            super(null, null, false, false);
        }
    }

    private void refuseUnauthorized(HttpExchange ex, String path) {
        long n = unauthorized.incrementAndGet();
        long now = System.nanoTime();
        long last = lastUnauthorizedLogNanos.get();
        // Counted always, logged at most every 10 s: a scanner must not flood the log.
        if (now - last > 10_000_000_000L && lastUnauthorizedLogNanos.compareAndSet(last, now)) {
            log.warn("event=api-unauthorized total=" + n + " from=" + ex.getRemoteAddress().getAddress().getHostAddress()
                    + " path=" + KvLog.q(path));
        }
        ex.getResponseHeaders().add("WWW-Authenticate", "Bearer realm=\"baton\"");
        if (path.equals("/")) {
            send(ex, 401, "text/html; charset=utf-8", Dashboard.loginPage(config.clusterName(), self.name()));
        } else {
            sendError(ex, 401, "missing or wrong API token",
                    "send 'Authorization: Bearer TOKEN'; 'baton api token' on a node prints it");
        }
    }

    private int dispatch(HttpExchange ex, String method, String path) throws ApiError, IOException, InterruptedException {
        String[] p = segments(path);
        if (p.length == 0 || (p.length == 1 && (p[0].equals("dashboard.js") || p[0].equals("dashboard.css")))) {
            requireMethod(method, "GET");
            String file = p.length == 0 ? "index.html" : p[0];
            send(ex, 200, Dashboard.contentType(file), Dashboard.asset(file));
            return 200;
        }
        if (p.length == 1 && p[0].equals("metrics")) {
            requireMethod(method, "GET");
            send(ex, 200, sources.metrics().contentType(), sources.metrics().scrape());
            return 200;
        }
        if (p.length < 3 || !p[0].equals("api") || !p[1].equals("v1")) {
            throw new ApiError(404, "no such resource: " + path, "the API lives under /api/v1/ (docs/api.md)");
        }
        String resource = p[2];
        ObjectNode status = sources.status().get();
        if (status == null && !resource.equals("events")) {
            throw new ApiError(503, "the node has not joined the cluster yet", "retry in a few seconds");
        }
        switch (resource) {
            case "status" -> {
                requireMethod(method, "GET");
                noMore(p, 3);
                return sendJson(ex, 200, withApi(status));
            }
            case "nodes" -> {
                if (p.length == 3) {
                    requireMethod(method, "GET");
                    return sendJson(ex, 200, status.path("nodes"));
                }
                NodeConfig n = node(p[3]);
                if (p.length == 4) {
                    requireMethod(method, "GET");
                    return sendJson(ex, 200, find(status.path("nodes"), "name", n.name()));
                }
                noMore(p, 5);
                requireMethod(method, "POST");
                return nodeAction(ex, n, p[4]);
            }
            case "workloads" -> {
                if (p.length == 3) {
                    requireMethod(method, "GET");
                    return sendJson(ex, 200, status.path("workloads"));
                }
                WorkloadConfig w = workload(p[3]);
                if (p.length == 4) {
                    requireMethod(method, "GET");
                    return sendJson(ex, 200, find(status.path("workloads"), "name", w.name()));
                }
                noMore(p, 5);
                requireMethod(method, "POST");
                return workloadAction(ex, w, p[4]);
            }
            case "fence-devices" -> {
                requireMethod(method, "GET");
                noMore(p, 3);
                return sendJson(ex, 200, status.path("fenceDevices"));
            }
            case "disk" -> {
                requireMethod(method, "GET");
                noMore(p, 3);
                return sendJson(ex, 200, sources.disk().get());
            }
            case "operations" -> {
                requireMethod(method, "GET");
                noMore(p, 3);
                return sendJson(ex, 200, operations(status));
            }
            case "events" -> {
                requireMethod(method, "GET");
                if (p.length == 4 && p[3].equals("stream")) {
                    stream(ex);
                    return 200;
                }
                noMore(p, 3);
                return sendJson(ex, 200, events(ex));
            }
            default -> throw new ApiError(404, "no such resource: " + path,
                    "the resources are status, nodes, workloads, fence-devices, disk, operations, events (docs/api.md)");
        }
    }

    private ObjectNode withApi(ObjectNode status) {
        ObjectNode copy = status.deepCopy();
        ObjectNode a = copy.putObject("api");
        a.put("unauthorized", unauthorized.get());
        a.put("actions", actions.get());
        a.put("streams", streams.get());
        a.put("lastEventSeq", sources.journal().lastSeq());
        return copy;
    }

    private static JsonNode find(JsonNode array, String field, String value) throws ApiError {
        for (JsonNode n : array) {
            if (n.path(field).asText().equals(value)) {
                return n;
            }
        }
        throw new ApiError(503, "'" + value + "' is configured but not in this node's view yet", "retry in a few seconds");
    }

    /**
     * Migrations in flight, from the status' workloads: the workload, its mode, from and to,
     * the record's reason, and its progress, this node's own where it takes part
     * ({@code migrationHere}), else as a node that takes part last reported it
     * ({@code migrationRemote}, {@link PeerProgress}); no progress while neither is known.
     */
    static ArrayNode operations(ObjectNode status) {
        ArrayNode out = JSON.createArrayNode();
        for (JsonNode w : status.path("workloads")) {
            if (w.path("migrating").isMissingNode() || w.path("migrating").isNull() || w.path("migrating").asText().isEmpty()) {
                continue;
            }
            ObjectNode o = out.addObject();
            o.put("kind", "migration");
            o.put("workload", w.path("name").asText());
            o.put("mode", w.path("migrating").asText());
            o.set("from", w.path("owner"));
            if (w.has("next")) {
                o.set("to", w.path("next"));
            }
            o.set("reason", w.path("reason"));
            if (w.has("migrationHere")) {
                ObjectNode p = o.putObject("progress");
                p.setAll((ObjectNode) w.get("migrationHere"));
                p.put("reportedBy", status.path("node").asText());
            } else if (w.has("migrationRemote")) {
                o.set("progress", w.get("migrationRemote"));
            }
        }
        return out;
    }

    private ObjectNode events(HttpExchange ex) throws ApiError {
        Map<String, String> q = query(ex);
        long since = longParam(q, "since", 0, 0, Long.MAX_VALUE);
        int limit = (int) longParam(q, "limit", 200, 1, MAX_EVENTS_PER_PAGE);
        ObjectNode root = JSON.createObjectNode();
        ArrayNode list = root.putArray("events");
        List<Event> events = sources.journal().since(since, limit);
        events.forEach(e -> list.add(eventJson(e)));
        root.put("lastSeq", sources.journal().lastSeq());
        if (!events.isEmpty() && events.getFirst().seq() > since + 1 && since > 0) {
            root.put("gap", "events " + (since + 1) + ".." + (events.getFirst().seq() - 1) + " are no longer kept");
        }
        return root;
    }

    public static ObjectNode eventJson(Event e) {
        ObjectNode o = JSON.createObjectNode();
        o.put("seq", e.seq());
        o.put("time", java.time.Instant.ofEpochMilli(e.epochMillis()).toString());
        o.put("level", e.level());
        o.put("node", e.node());
        o.put("type", e.type());
        ObjectNode f = o.putObject("fields");
        e.fields().forEach((k, v) -> {
            if (!k.equals("event")) {
                f.put(k, v);
            }
        });
        return o;
    }

    /**
     * Server-sent events: the kept events after {@code Last-Event-ID} (or {@code ?since=}), then
     * each new one as it is logged; with {@code ?status=1} also the node's status whenever it
     * changes (event type {@code status}), which is what the dashboard draws from.
     */
    private void stream(HttpExchange ex) throws ApiError, IOException, InterruptedException {
        Map<String, String> q = query(ex);
        String lastId = ex.getRequestHeaders().getFirst("Last-Event-ID");
        long since = lastId != null ? parseLong(lastId, "Last-Event-ID") : longParam(q, "since", sources.journal().lastSeq(), 0, Long.MAX_VALUE);
        boolean withStatus = "1".equals(q.get("status")) || "true".equals(q.get("status"));
        if (streams.incrementAndGet() > MAX_STREAMS) {
            streams.decrementAndGet();
            throw new ApiError(503, "too many event streams open on this node (" + MAX_STREAMS + ")", "close one, or use another node");
        }
        BlockingQueue<Event> queue = new ArrayBlockingQueue<>(STREAM_QUEUE);
        AtomicInteger dropped = new AtomicInteger();
        EventJournal.Subscription subscription = sources.journal().subscribe(e -> {
            if (!queue.offer(e)) {
                dropped.incrementAndGet();
            }
        });
        try {
            ex.getResponseHeaders().add("Content-Type", "text/event-stream; charset=utf-8");
            ex.getResponseHeaders().add("Cache-Control", "no-store");
            ex.sendResponseHeaders(200, 0);
            OutputStream out = ex.getResponseBody();
            long sent = since;
            for (Event e : sources.journal().since(since, Integer.MAX_VALUE)) {
                writeEvent(out, e);
                sent = e.seq();
            }
            out.flush();
            ObjectNode lastStatus = null;
            long lastWrite = System.nanoTime();
            while (!closed) {
                if (dropped.get() > 0) {
                    // The reader is too slow: end the stream; EventSource reconnects with Last-Event-ID.
                    out.write(("event: overflow\ndata: {\"dropped\":" + dropped.get() + "}\n\n").getBytes(StandardCharsets.UTF_8));
                    out.flush();
                    return;
                }
                Event e = queue.poll(STATUS_PUSH_MILLIS, TimeUnit.MILLISECONDS);
                boolean wrote = false;
                while (e != null) {
                    if (e.seq() > sent) {
                        writeEvent(out, e);
                        sent = e.seq();
                        wrote = true;
                    }
                    e = queue.poll();
                }
                if (withStatus) {
                    ObjectNode s = sources.status().get();
                    if (s != null && s != lastStatus) {
                        lastStatus = s;
                        out.write(("event: status\ndata: " + JSON.writeValueAsString(withApi(s)) + "\n\n").getBytes(StandardCharsets.UTF_8));
                        wrote = true;
                    }
                }
                if (!wrote && System.nanoTime() - lastWrite > KEEPALIVE_MILLIS * 1_000_000L) {
                    out.write(": keepalive\n\n".getBytes(StandardCharsets.UTF_8));
                    wrote = true;
                }
                if (wrote) {
                    out.flush();
                    lastWrite = System.nanoTime();
                }
            }
        } catch (IOException e) {
            // The client closed the stream.
        } finally {
            subscription.close();
            streams.decrementAndGet();
        }
    }

    private static void writeEvent(OutputStream out, Event e) throws IOException {
        out.write(("id: " + e.seq() + "\nevent: event\ndata: " + JSON.writeValueAsString(eventJson(e)) + "\n\n")
                .getBytes(StandardCharsets.UTF_8));
    }

    // ---- actions

    private static final Set<String> NODE_ACTIONS = Set.of("switchover", "resume", "standby", "unstandby", "fence", "confirm");
    private static final Set<String> WORKLOAD_ACTIONS = Set.of("start", "stop", "restart", "relocate", "migrate", "freeze", "unfreeze");

    private int nodeAction(HttpExchange ex, NodeConfig n, String action) throws ApiError, IOException, InterruptedException {
        if (!NODE_ACTIONS.contains(action)) {
            throw new ApiError(404, "no node action '" + action + "'", "the node actions are " + String.join(", ", sorted(NODE_ACTIONS)));
        }
        ObjectNode body = body(ex, switch (action) {
            case "switchover" -> Set.of("mode", "wait");
            case "resume" -> Set.of("switchBack", "wait");
            case "fence", "confirm" -> Set.of("reason", "incarnation", "wait");
            default -> Set.of("wait");
        });
        boolean checkpoint = mode(body);
        OperatorRequest.Kind kind = switch (action) {
            case "switchover" -> checkpoint ? OperatorRequest.Kind.SWITCHOVER_CHECKPOINT : OperatorRequest.Kind.SWITCHOVER;
            case "resume" -> bool(body, "switchBack") ? OperatorRequest.Kind.RESUME_SWITCH_BACK : OperatorRequest.Kind.RESUME;
            case "standby" -> OperatorRequest.Kind.STANDBY;
            case "unstandby" -> OperatorRequest.Kind.UNSTANDBY;
            case "fence" -> OperatorRequest.Kind.FENCE;
            default -> OperatorRequest.Kind.CONFIRM;
        };
        long incarnation = 0;
        if (kind == OperatorRequest.Kind.FENCE) {
            incarnation = body.has("incarnation") ? body.get("incarnation").asLong() : slotIncarnation(n);
        }
        String reason = body.path("reason").asText("api: " + action + " " + n.name());
        return submit(ex, kind, n.id(), incarnation, 0, reason, waitMillis(body));
    }

    private int workloadAction(HttpExchange ex, WorkloadConfig w, String action) throws ApiError, IOException, InterruptedException {
        if (!WORKLOAD_ACTIONS.contains(action)) {
            throw new ApiError(404, "no workload action '" + action + "'",
                    "the workload actions are " + String.join(", ", sorted(WORKLOAD_ACTIONS)));
        }
        ObjectNode body = body(ex, switch (action) {
            case "start", "relocate" -> Set.of("to", "wait");
            case "migrate" -> Set.of("to", "mode", "wait");
            default -> Set.of("wait");
        });
        if (action.equals("migrate") && w.kind() != WorkloadConfig.Kind.VE) {
            throw new ApiError(400, w.name() + " is a service; only VEs migrate", "relocate it instead (it moves cold)");
        }
        int target = body.has("to") ? node(text(body, "to")).id() : 0;
        OperatorRequest.Kind kind = switch (action) {
            case "start" -> OperatorRequest.Kind.START;
            case "stop" -> OperatorRequest.Kind.STOP;
            case "restart" -> OperatorRequest.Kind.RESTART;
            case "relocate" -> OperatorRequest.Kind.RELOCATE;
            case "migrate" -> mode(body) ? OperatorRequest.Kind.MIGRATE_CHECKPOINT : OperatorRequest.Kind.MIGRATE;
            case "freeze" -> OperatorRequest.Kind.FREEZE;
            default -> OperatorRequest.Kind.UNFREEZE;
        };
        return submit(ex, kind, target, 0, w.id(), "api: " + kind.label + " " + w.kind().label() + " " + w.name(), waitMillis(body));
    }

    private int submit(HttpExchange ex, OperatorRequest.Kind kind, int targetId, long incarnation, int workloadId, String reason,
                       long waitMillis) throws IOException, InterruptedException, ApiError {
        OperatorRequests.Outcome o;
        try {
            o = sources.requests().submit(kind, targetId, incarnation, workloadId, truncate(reason), waitMillis);
        } catch (IllegalStateException e) {
            throw new ApiError(503, e.getMessage(), "check the quorum disk ('baton disk check'); the request was not sent");
        }
        actions.incrementAndGet();
        ObjectNode r = JSON.createObjectNode();
        r.put("request", kind.label);
        r.put("seq", o.request().seq());
        r.put("status", o.status().name().toLowerCase(Locale.ROOT));
        r.put("answer", o.text());
        r.put("generation", o.generation());
        r.put("acceptedBy", self.name());
        JsonNode holder = sources.status().get() == null ? null : sources.status().get().path("coordinator").path("holder");
        if (holder != null && !holder.isMissingNode()) {
            r.put("coordinator", holder.asText());
        }
        int code = switch (o.status()) {
            case DONE -> 200;
            case REFUSED -> 409;
            case PENDING -> 202;
        };
        return sendJson(ex, code, r);
    }

    private static String truncate(String reason) {
        byte[] b = reason.getBytes(StandardCharsets.UTF_8);
        if (b.length <= OperatorRequest.MAX_REASON_BYTES) {
            return reason;
        }
        String s = reason;
        while (s.getBytes(StandardCharsets.UTF_8).length > OperatorRequest.MAX_REASON_BYTES) {
            s = s.substring(0, s.length() - 1);
        }
        return s;
    }

    private long slotIncarnation(NodeConfig n) {
        ObjectNode status = sources.status().get();
        if (status != null) {
            for (JsonNode v : status.path("nodes")) {
                if (v.path("id").asInt() == n.id()) {
                    return v.path("slotIncarnation").asLong(0);
                }
            }
        }
        return 0;
    }

    private static boolean mode(ObjectNode body) throws ApiError {
        if (!body.has("mode")) {
            return false;
        }
        String m = text(body, "mode");
        return switch (m) {
            case "live" -> false;
            case "checkpoint" -> true;
            default -> throw new ApiError(400, "mode '" + m + "' is not a migration mode", "use \"mode\": \"live\" or \"checkpoint\"");
        };
    }

    private static boolean bool(ObjectNode body, String field) throws ApiError {
        if (!body.has(field)) {
            return false;
        }
        if (!body.get(field).isBoolean()) {
            throw new ApiError(400, "'" + field + "' must be true or false, found " + body.get(field), "send \"" + field + "\": true");
        }
        return body.get(field).asBoolean();
    }

    private static String text(ObjectNode body, String field) throws ApiError {
        JsonNode v = body.get(field);
        if (!v.isTextual() || v.asText().isBlank()) {
            throw new ApiError(400, "'" + field + "' must be a non-empty string, found " + v, "send \"" + field + "\": \"...\"");
        }
        return v.asText();
    }

    private static long waitMillis(ObjectNode body) throws ApiError {
        if (!body.has("wait")) {
            return DEFAULT_WAIT_MILLIS;
        }
        JsonNode v = body.get("wait");
        if (!v.isIntegralNumber() || v.asLong() < 0 || v.asLong() > MAX_WAIT_MILLIS / 1000) {
            throw new ApiError(400, "'wait' must be whole seconds 0.." + MAX_WAIT_MILLIS / 1000 + ", found " + v,
                    "send \"wait\": 10, or leave it out");
        }
        return v.asLong() * 1000;
    }

    private NodeConfig node(String name) throws ApiError {
        return config.nodes().stream().filter(n -> n.name().equals(name)).findFirst().orElseThrow(() -> new ApiError(404,
                "no node named '" + name + "'", "the nodes are " + String.join(", ", config.nodes().stream().map(NodeConfig::name).toList())));
    }

    private WorkloadConfig workload(String name) throws ApiError {
        Optional<WorkloadConfig> w = config.workload(name);
        return w.orElseThrow(() -> new ApiError(404, "no workload named '" + name + "'",
                "the workloads are " + String.join(", ", config.workloads().stream().map(WorkloadConfig::name).toList())));
    }

    /** The request's JSON object (empty when there is no body); unknown fields are refused, so typos are not ignored. */
    private static ObjectNode body(HttpExchange ex, Set<String> allowed) throws ApiError, IOException {
        byte[] raw;
        try (InputStream in = ex.getRequestBody()) {
            raw = in.readNBytes(MAX_BODY_BYTES + 1);
        }
        if (raw.length > MAX_BODY_BYTES) {
            throw new ApiError(413, "request body over " + MAX_BODY_BYTES + " bytes", "send a small JSON object");
        }
        if (raw.length == 0 || new String(raw, StandardCharsets.UTF_8).isBlank()) {
            return JSON.createObjectNode();
        }
        JsonNode node;
        try {
            node = JSON.readTree(raw);
        } catch (JsonProcessingException e) {
            throw new ApiError(400, "the body is not JSON: " + e.getOriginalMessage(), "send a JSON object, e.g. {\"mode\": \"live\"}");
        }
        if (!(node instanceof ObjectNode o)) {
            throw new ApiError(400, "the body must be a JSON object, found " + node.getNodeType().name().toLowerCase(Locale.ROOT),
                    "send a JSON object, e.g. {}");
        }
        for (var it = o.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!allowed.contains(f)) {
                throw new ApiError(400, "unknown field '" + f + "'",
                        allowed.isEmpty() ? "send {}" : "this action takes " + String.join(", ", sorted(allowed)));
            }
        }
        return o;
    }

    private static List<String> sorted(Set<String> s) {
        return s.stream().sorted().toList();
    }

    private static void requireMethod(String method, String expected) throws ApiError {
        if (!method.equals(expected)) {
            throw new ApiError(405, method + " is not allowed here", "use " + expected);
        }
    }

    private static void noMore(String[] p, int length) throws ApiError {
        if (p.length > length) {
            throw new ApiError(404, "no such resource: /" + String.join("/", p), "see docs/api.md for the resources");
        }
    }

    static String[] segments(String rawPath) {
        List<String> out = new ArrayList<>();
        for (String s : rawPath.split("/")) {
            if (!s.isEmpty()) {
                out.add(URLDecoder.decode(s, StandardCharsets.UTF_8));
            }
        }
        return out.toArray(new String[0]);
    }

    static Map<String, String> query(HttpExchange ex) {
        Map<String, String> out = new HashMap<>();
        String q = ex.getRequestURI().getRawQuery();
        if (q != null) {
            for (String pair : q.split("&")) {
                String[] kv = pair.split("=", 2);
                out.put(URLDecoder.decode(kv[0], StandardCharsets.UTF_8), kv.length == 2 ? URLDecoder.decode(kv[1], StandardCharsets.UTF_8) : "");
            }
        }
        return out;
    }

    private static long longParam(Map<String, String> q, String name, long fallback, long min, long max) throws ApiError {
        String v = q.get(name);
        if (v == null) {
            return fallback;
        }
        long n = parseLong(v, name);
        if (n < min || n > max) {
            throw new ApiError(400, "'" + name + "' must be " + min + ".." + max + ", found " + n, "fix ?" + name + "=");
        }
        return n;
    }

    private static long parseLong(String v, String name) throws ApiError {
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw new ApiError(400, "'" + name + "' must be a whole number, found '" + v + "'", "send a number, e.g. " + name + "=0");
        }
    }

    // ---- responses

    private static int sendJson(HttpExchange ex, int status, JsonNode body) throws IOException {
        send(ex, status, "application/json", JSON.writeValueAsString(body) + "\n");
        return status;
    }

    private static void sendError(HttpExchange ex, int status, String message, String fix) {
        ObjectNode o = JSON.createObjectNode();
        o.put("status", status);
        o.put("error", message);
        o.put("fix", fix);
        try {
            send(ex, status, "application/json", JSON.writeValueAsString(o) + "\n");
        } catch (IOException | RuntimeException e) {
            // The response was already under way, or the client left.
        }
    }

    private static void send(HttpExchange ex, int status, String contentType, String body) {
        send(ex, status, contentType, body.getBytes(StandardCharsets.UTF_8));
    }

    private static void send(HttpExchange ex, int status, String contentType, byte[] bytes) {
        try {
            ex.getResponseHeaders().set("Content-Type", contentType);
            ex.getResponseHeaders().set("Cache-Control", "no-store");
            ex.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
            ex.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
            if (bytes.length > 0) {
                try (OutputStream out = ex.getResponseBody()) {
                    out.write(bytes);
                }
            }
        } catch (IOException e) {
            // The client left; nothing to answer.
        }
    }
}
