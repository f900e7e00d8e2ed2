package baton.runtime.metrics;

import baton.core.fence.FenceWatch;
import baton.core.liveness.Liveness;
import baton.core.membership.Verdict;
import baton.core.net.DropReason;
import baton.runtime.events.Event;
import baton.runtime.workload.WorkloadRunner;
import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The node's metrics in the Prometheus text format, from the two things every other surface
 * also reads: the events (one per log line: counters, durations) and the status snapshot the
 * daemon renders about twice a second (gauges, and counters the daemon already keeps). It reads
 * no clock and owns no thread: a metric is exactly as fresh as the last event or snapshot, and
 * {@code baton_status_written_timestamp_seconds} says how fresh that is.
 *
 * <p>Every metric, its labels and its HELP text is one {@link Def} below; besides those, each
 * series carries {@code cluster} and {@code node} (this node). A node the metric is about is
 * {@code peer} (or {@code target} for fencing), by name. Counters fed by events count from this
 * object's creation; counters fed by snapshots are the daemon's own since it started.
 *
 * <p>Thread-safe. {@link #onEvent} runs on whichever thread logged and only touches meters and
 * concurrent maps; {@link #onStatus} is serialized against itself.
 */
public final class NodeMetrics {
    /** What {@link #scrape()} writes: the Prometheus text format, version 0.0.4. */
    public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
    /**
     * Limit: distinct API routes counted under their own label; more are counted as
     * {@code other}. Routes are the API's patterns, not request paths, so a correct API server
     * stays far below; the limit keeps a wrong one (or a scanner's paths) from growing the scrape.
     */
    static final int MAX_API_ROUTES = 64;
    static final String OTHER = "other";
    static final String UNKNOWN = "unknown";

    /** One metric: its Micrometer name (dots become underscores), HELP text, and base unit (or null). */
    record Def(String name, String help, String unit) {}

    // ------------------------------------------------------------------ from events
    static final Def EVENTS = new Def("baton.events", "Events (log lines) of this node, by level.", null);
    static final Def VERDICT_CHANGES = new Def("baton.verdict.changes",
            "Changes of this node's verdict on a peer (up, suspect, network-lost, disk-lost, down, fenced, left, absent).", null);
    static final Def DISK_LIVENESS_CHANGES = new Def("baton.disk.liveness.changes",
            "Changes of a peer's disk liveness as this node reads its slot (pending, fresh, stale, unknown, empty, left).", null);
    static final Def SLOT_REPAIRS = new Def("baton.disk.slot.repairs",
            "Repairs of a slot on one copy of the quorum disk from the other copy; result repaired or failed.", null);
    static final Def COORDINATOR_CHANGES = new Def("baton.coordinator.changes",
            "New coordinator lease generations this node learned (each a coordinator election).", null);
    static final Def COORDINATOR_ROLE_CHANGES = new Def("baton.coordinator.role.changes",
            "This node becoming coordinator (role=coordinator) or ceasing to be (role=follower).", null);
    static final Def FENCE_ATTEMPTS = new Def("baton.fence.attempts",
            "Fencing attempts of one level against a target, by how they ended: fenced, operator (confirmed by hand),"
                    + " failed, abandoned (coordinator role lost), cancelled (a new incarnation joined), superseded.", null);
    static final Def FENCE_ATTEMPT_DURATION = new Def("baton.fence.attempt.duration",
            "Duration of fencing attempts, from the level's start to its end, by result.", null);
    static final Def FENCE_ALARMS = new Def("baton.fence.alarms",
            "Rounds in which every fencing level of a target failed: its state cannot be determined, no failover.", null);
    static final Def FENCES = new Def("baton.fences",
            "Targets fenced (once per incarnation), by how: agent (power switch), poison-pill, operator.", null);
    static final Def MIGRATIONS = new Def("baton.migrations",
            "Migrations of a VE this node took part in, by role (source, target), mode (live, checkpoint) and result.", null);
    static final Def MIGRATION_DOWNTIME = new Def("baton.migration.downtime",
            "How long the guest did not run during a completed migration, as its side measured it.", null);
    static final Def MIGRATION_DURATION = new Def("baton.migration.duration",
            "Duration of completed migrations on this side.", null);
    static final Def MIGRATION_TRANSFERRED = new Def("baton.migration.transferred",
            "Bytes a completed migration sent (live) or wrote (checkpoint), measured on the source.", "bytes");
    static final Def WORKLOAD_EVENTS = new Def("baton.workload.events",
            "Workload transitions on this node: started, stopped, failed, start-failed, stop-failed, stop-timeout, held,"
                    + " failed-out.", null);
    static final Def REJOINS = new Def("baton.rejoins",
            "Times this node started over with a new incarnation (it was paused or declared down).", null);
    static final Def API_REQUESTS = new Def("baton.api.requests",
            "API requests by method, route and HTTP status (status=401: unauthenticated).", null);

    // ------------------------------------------------------------------ from status snapshots
    static final Def STATUS_WRITTEN = new Def("baton.status.written.timestamp",
            "When the status snapshot these gauges come from was taken (Unix time).", "seconds");
    static final Def PHASE = new Def("baton.node.phase", "This node's phase on the quorum disk: 1 for the current one.", null);
    static final Def IS_COORDINATOR = new Def("baton.is.coordinator", "1 when this node holds the coordinator lease.", null);
    static final Def COORDINATOR_GENERATION = new Def("baton.coordinator.generation",
            "The coordinator lease generation this node knows.", null);
    static final Def PEER_VERDICT = new Def("baton.peer.verdict", "This node's verdict on each node: 1 for the current one.", null);
    static final Def PEER_DISK_LIVENESS = new Def("baton.peer.disk.liveness",
            "Each node's disk liveness as this node reads its slot: 1 for the current one.", null);
    static final Def SLOT_AGE = new Def("baton.disk.slot.age",
            "How long each node's slot counter has not advanced, as of this node's last read of it.", "seconds");
    static final Def HEARTBEAT_AGE = new Def("baton.heartbeat.age",
            "Time since the last heartbeat accepted from a peer on a ring (absent until one was).", "seconds");
    static final Def HEARTBEATS_ACCEPTED = new Def("baton.heartbeats.accepted",
            "Heartbeats accepted from a peer on a ring.", null);
    static final Def HEARTBEATS_MISSED = new Def("baton.heartbeats.missed",
            "Heartbeats of a peer that never arrived on a ring (gaps in its sequence numbers): lost or dropped.", null);
    static final Def HEARTBEATS_SENT = new Def("baton.heartbeats.sent", "Heartbeats sent on a ring (one per peer per interval).", null);
    static final Def HEARTBEAT_SEND_ERRORS = new Def("baton.heartbeat.send.errors",
            "Heartbeats the kernel refused or could not take without blocking, by ring.", null);
    static final Def HEARTBEATS_RECEIVED = new Def("baton.heartbeats.received",
            "Datagrams read on a ring's heartbeat socket (accepted plus dropped).", null);
    static final Def HEARTBEAT_RECEIVE_ERRORS = new Def("baton.heartbeat.receive.errors",
            "Failed reads of a ring's heartbeat socket.", null);
    static final Def HEARTBEATS_DROPPED = new Def("baton.heartbeats.dropped",
            "Datagrams dropped on a ring, by reason and kind (malformed, foreign-cluster, forged: unauthenticated, replayed).",
            null);
    static final Def LATE_TICKS = new Def("baton.heartbeat.late.ticks",
            "Heartbeat send ticks later than half the network timeout (this node was paused or starved).", null);
    static final Def SKIPPED_TICKS = new Def("baton.heartbeat.skipped.ticks",
            "Heartbeat deadlines that passed entirely while the send thread was late (not sent).", null);
    static final Def TICK_LATENESS_P99 = new Def("baton.heartbeat.tick.lateness.p99",
            "99th percentile of how late the heartbeat send thread woke, since start.", "seconds");
    static final Def TICK_LATENESS_MAX = new Def("baton.heartbeat.tick.lateness.max",
            "Latest wake-up of the heartbeat send thread, since start.", "seconds");
    static final Def DISK_COPY_HEALTHY = new Def("baton.disk.copy.healthy",
            "1 while a copy of the quorum disk (primary, shadow) works for this node.", null);
    static final Def DISK_CYCLE = new Def("baton.disk.cycle",
            "Slot cycles of the quorum disk loop: from issuing a cycle's writes and reads to the last completion.", null);
    static final Def DISK_CYCLE_LAST = new Def("baton.disk.cycle.last", "Latency of the last slot cycle.", "seconds");
    static final Def DISK_CYCLE_RECENT_MAX = new Def("baton.disk.cycle.recent.max",
            "Slowest of the last 64 slot cycles.", "seconds");
    static final Def DISK_READS = new Def("baton.disk.reads", "Reads of the quorum disk.", null);
    static final Def DISK_WRITES = new Def("baton.disk.writes", "Writes to the quorum disk.", null);
    static final Def DISK_READ = new Def("baton.disk.read", "Bytes read from the quorum disk.", "bytes");
    static final Def DISK_WRITTEN = new Def("baton.disk.written", "Bytes written to the quorum disk.", "bytes");
    static final Def FENCE_DEVICE_STATE = new Def("baton.fence.device.state",
            "Each fence device's state from its last monitor: 1 for the current one.", null);
    static final Def FENCE_DEVICE_FAILURES = new Def("baton.fence.device.consecutive.failures",
            "Monitor failures of a fence device in a row.", null);
    static final Def WORKLOAD_STATE = new Def("baton.workload.state",
            "Each workload's state on this node: 1 for the current one.", null);
    static final Def WORKLOAD_OWNER = new Def("baton.workload.owner",
            "Each workload's owner on the quorum disk (owner=none: unplaced) and desired state; always 1.", null);

    private static final List<String> METHODS = List.of("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS");
    private static final List<String> PHASES = List.of("joining", "member", "leaving", "stopped");
    private static final List<String> VERDICTS = Arrays.stream(Verdict.values()).map(Verdict::label).toList();
    private static final List<String> LIVENESS = Arrays.stream(Liveness.values()).map(Liveness::label).toList();
    private static final List<String> DEVICE_STATES = Arrays.stream(FenceWatch.DeviceState.values())
            .map(FenceWatch.DeviceState::label).toList();
    private static final List<String> WORKLOAD_STATES = Arrays.stream(WorkloadRunner.State.values())
            .map(s -> s.name().toLowerCase(Locale.ROOT)).toList();
    private static final Map<String, String> DROP_KINDS = dropKinds();

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    /** Node names by id: given, or learned from snapshots and events (fencing events name nodes by id only). */
    private final Map<Integer, String> names = new ConcurrentHashMap<>();
    /**
     * The fencing attempt running against each target, by node id: fencing events name their
     * target by id, and its name may be learned while the attempt runs.
     */
    private final Map<String, Attempt> attempts = new ConcurrentHashMap<>();
    /** The last incarnation of each target (by id) counted as fenced: a fence is logged twice (the decision, then the core's report). */
    private final Map<String, Long> fenced = new ConcurrentHashMap<>();
    /** The mode (live, checkpoint) of each workload's migration under way, from its start event. */
    private final Map<String, String> migrationModes = new ConcurrentHashMap<>();
    private final Set<String> apiRoutes = ConcurrentHashMap.newKeySet();
    /** Values fed by snapshots, each read by its registered gauge or function counter. */
    private final Map<Key, Cell> cells = new ConcurrentHashMap<>();
    private final DiskCycles diskCycles = new DiskCycles();
    private final MultiGauge workloadOwners;

    private record Attempt(long incarnation, String level, long startEpochMillis) {}

    private record Key(String name, Tags tags) {}

    private static final class Cell {
        volatile double value;

        double get() {
            return value;
        }
    }

    private static final class DiskCycles {
        volatile long count;
        volatile double totalMicros;
    }

    public NodeMetrics(String cluster, String node) {
        this(cluster, node, Map.of());
    }

    /** @param nodeNames every node's name by id, as configured (learned from snapshots otherwise) */
    public NodeMetrics(String cluster, String node, Map<Integer, String> nodeNames) {
        registry.config().commonTags("cluster", Objects.requireNonNull(cluster, "cluster"), "node",
                Objects.requireNonNull(node, "node"));
        names.putAll(nodeNames);
        FunctionTimer.builder(DISK_CYCLE.name(), diskCycles, c -> c.count, c -> c.totalMicros, TimeUnit.MICROSECONDS)
                .description(DISK_CYCLE.help()).register(registry);
        workloadOwners = MultiGauge.builder(WORKLOAD_OWNER.name()).description(WORKLOAD_OWNER.help()).register(registry);
    }

    /** The metrics in the Prometheus text format ({@link #contentType()}). */
    public String scrape() {
        return registry.scrape(CONTENT_TYPE);
    }

    public String contentType() {
        return CONTENT_TYPE;
    }

    // ------------------------------------------------------------------ API

    /**
     * Counts one API request.
     *
     * @param route the route's pattern (e.g. {@code /api/v1/nodes/{node}}), not the request's path
     */
    public void countApiRequest(String method, String route, int status) {
        String m = method == null ? OTHER : method.toUpperCase(Locale.ROOT);
        String r = route == null || route.isEmpty() ? UNKNOWN : route;
        if (!apiRoutes.contains(r)) {
            // Not exact under races (a few routes over the limit), which is all a limit on labels needs.
            if (apiRoutes.size() >= MAX_API_ROUTES) {
                r = OTHER;
            } else {
                apiRoutes.add(r);
            }
        }
        counter(API_REQUESTS, Tags.of("method", METHODS.contains(m) ? m : OTHER, "route", r,
                "status", Integer.toString(status))).increment();
    }

    // ------------------------------------------------------------------ events

    /** Counts what one event says; fast and non-blocking, as journal listeners must be. */
    public void onEvent(Event e) {
        counter(EVENTS, Tags.of("level", e.level())).increment();
        learnName(e);
        switch (e.type()) {
            case "verdict" -> counter(VERDICT_CHANGES, Tags.of("peer", target(e), "from", e.field("from"),
                    "to", e.field("to"))).increment();
            case "disk-liveness" -> counter(DISK_LIVENESS_CHANGES, Tags.of("peer", target(e), "from", e.field("from"),
                    "to", e.field("to"))).increment();
            case "slot-repaired" -> slotRepair(e, "repaired");
            case "slot-repair-failed" -> slotRepair(e, "failed");
            case "lease-owner" -> counter(COORDINATOR_CHANGES, Tags.empty()).increment();
            case "coordinator" -> counter(COORDINATOR_ROLE_CHANGES, Tags.of("role", e.field("role"))).increment();
            case "fence-started" -> fenceStarted(e);
            case "fence-level-failed" -> fenceEnded(e, "failed");
            case "fence-abandoned" -> fenceEnded(e, "abandoned");
            case "fence-cancelled" -> fenceEnded(e, "cancelled");
            case "fenced" -> fenced(e);
            case "fence-alarm" -> counter(FENCE_ALARMS, Tags.of("target", target(e))).increment();
            case "migration-send", "migration-receive" -> migrationModes.put(e.field("workload"), e.field("mode"));
            case "migration-sent" -> migrated(e, "source", "completed");
            case "migration-send-failed" -> migrated(e, "source", "failed");
            case "migration-received" -> migrated(e, "target", "completed");
            case "migration-receive-failed" -> migrated(e, "target", "failed");
            case "workload-started", "workload-stopped", "workload-failed", "workload-start-failed", "workload-stop-failed",
                 "workload-stop-timeout", "workload-held", "workload-failed-out" ->
                    counter(WORKLOAD_EVENTS, Tags.of("workload", e.field("workload"),
                            "event", e.type().substring("workload-".length()))).increment();
            case "rejoining" -> counter(REJOINS, Tags.empty()).increment();
            default -> { }
        }
    }

    private void slotRepair(Event e, String result) {
        // slot-repaired names the slot's node by id in "node" (the logging node is Event.node()).
        counter(SLOT_REPAIRS, Tags.of("copy", e.field("copy"), "peer", name(e.field("node")), "result", result)).increment();
    }

    private void fenceStarted(Event e) {
        String id = targetId(e);
        Attempt before = attempts.put(id, new Attempt(number(e, "incarnation"), e.field("level"), e.epochMillis()));
        if (before != null) {
            // The fencing core ends a level before it starts the next; count one that was not, rather than lose it.
            end(id, before, "superseded", e.epochMillis());
        }
    }

    private void fenceEnded(Event e, String result) {
        String id = targetId(e);
        Attempt a = attempts.remove(id);
        if (a != null) {
            end(id, a, result, e.epochMillis());
        }
    }

    private void end(String targetId, Attempt a, String result, long endEpochMillis) {
        String target = name(targetId);
        counter(FENCE_ATTEMPTS, Tags.of("target", target, "level", a.level(), "result", result)).increment();
        // Wall-clock milliseconds of two log lines: a clock step shows here, never as a negative duration.
        timer(FENCE_ATTEMPT_DURATION, Tags.of("target", target, "result", result))
                .record(Duration.ofMillis(Math.max(0, endEpochMillis - a.startEpochMillis())));
    }

    private void fenced(Event e) {
        String id = targetId(e);
        long incarnation = number(e, "incarnation");
        if (Objects.equals(fenced.put(id, incarnation), incarnation)) {
            return; // the second line of the same fence
        }
        String how = e.field("how");
        String byWhat = how.equals("operator") ? "operator" : how.contains("poison") ? "poison-pill" : "agent";
        counter(FENCES, Tags.of("target", name(id), "how", byWhat)).increment();
        Attempt a = attempts.remove(id);
        if (a != null) {
            end(id, a, byWhat.equals("operator") ? "operator" : "fenced", e.epochMillis());
        }
    }

    private void migrated(Event e, String role, String result) {
        String workload = e.field("workload");
        String mode = migrationModes.getOrDefault(workload, UNKNOWN);
        migrationModes.remove(workload);
        counter(MIGRATIONS, Tags.of("role", role, "mode", mode, "result", result)).increment();
        if (!result.equals("completed")) {
            return;
        }
        Tags tags = Tags.of("role", role, "mode", mode);
        long downtimeMillis = number(e, "downtime-ms");
        if (downtimeMillis >= 0) { // -1: unknown (a live migration's target cannot know it)
            timer(MIGRATION_DOWNTIME, tags).record(Duration.ofMillis(downtimeMillis));
        }
        long tookMillis = number(e, "took-ms");
        if (tookMillis >= 0) {
            timer(MIGRATION_DURATION, tags).record(Duration.ofMillis(tookMillis));
        }
        long bytes = number(e, "bytes");
        if (bytes > 0) { // logged by the source only; 0 means the side could not know
            DistributionSummary.builder(MIGRATION_TRANSFERRED.name()).description(MIGRATION_TRANSFERRED.help())
                    .baseUnit(MIGRATION_TRANSFERRED.unit()).tags(Tags.of("mode", mode)).register(registry).record(bytes);
        }
    }

    private void learnName(Event e) {
        String peer = e.field("peer");
        String id = e.field("peer-id");
        if (!peer.isEmpty() && !peer.equals("?") && !id.isEmpty()) {
            try {
                names.putIfAbsent(Integer.parseInt(id), peer);
            } catch (NumberFormatException x) {
                // Not a node id: nothing to learn.
            }
        }
    }

    /** The node an event is about: {@code peer=NAME}, else {@code peer-id=N} or {@code node-id=N} by name. */
    private String target(Event e) {
        String peer = e.field("peer");
        return !peer.isEmpty() && !peer.equals("?") ? peer : name(targetId(e));
    }

    /** The id of the node an event is about ({@code peer-id=N}, or the cores' {@code node-id=N}). */
    private static String targetId(Event e) {
        String id = e.field("peer-id");
        return id.isEmpty() ? e.field("node-id") : id;
    }

    /** A node's name by its id; the id itself while the name is not known, {@code unknown} when there is none. */
    private String name(String id) {
        if (id.isEmpty()) {
            return UNKNOWN;
        }
        try {
            return names.getOrDefault(Integer.parseInt(id), id);
        } catch (NumberFormatException x) {
            return id;
        }
    }

    /**
     * A numeric field, or -1 when absent. Events come from this daemon's own log lines, whose
     * numbers are numbers; a field that is not one is left out of the metrics (a metric must
     * not break logging), and the line is in the journal for anyone to see.
     */
    private static long number(Event e, String key) {
        try {
            String v = e.field(key);
            return v.isEmpty() ? -1 : Long.parseLong(v);
        } catch (NumberFormatException x) {
            return -1;
        }
    }

    // ------------------------------------------------------------------ status

    /** Refreshes the gauges from one status snapshot (the daemon's status JSON). */
    public synchronized void onStatus(JsonNode status) {
        JsonNode written = status.path("writtenEpochMillis");
        if (written.isNumber()) {
            gauge(STATUS_WRITTEN, Tags.empty(), written.asLong() / 1000.0);
        }
        stateSet(PHASE, Tags.empty(), "phase", PHASES, status.path("phase").asText(UNKNOWN));
        JsonNode coordinator = status.path("coordinator");
        gauge(IS_COORDINATOR, Tags.empty(), coordinator.path("role").asText().equals("coordinator") ? 1 : 0);
        gauge(COORDINATOR_GENERATION, Tags.empty(), coordinator.path("generation").asLong());
        nodes(status.path("nodes"));
        heartbeats(status.path("heartbeats"));
        disk(status.path("quorumDisk"));
        for (JsonNode d : status.path("fenceDevices")) {
            Tags tags = Tags.of("device", d.path("name").asText());
            stateSet(FENCE_DEVICE_STATE, tags, "state", DEVICE_STATES, d.path("state").asText(UNKNOWN));
            gauge(FENCE_DEVICE_FAILURES, tags, d.path("consecutiveFailures").asLong());
        }
        workloads(status.path("workloads"));
    }

    private void nodes(JsonNode nodes) {
        for (JsonNode n : nodes) {
            if (n.path("name").isTextual()) {
                names.put(n.path("id").asInt(), n.path("name").asText());
            }
        }
        for (JsonNode n : nodes) {
            Tags peer = Tags.of("peer", name(n.path("id").asText()));
            stateSet(PEER_VERDICT, peer, "verdict", VERDICTS, n.path("verdict").asText(UNKNOWN));
            stateSet(PEER_DISK_LIVENESS, peer, "liveness", LIVENESS, n.path("disk").asText(UNKNOWN));
            if (n.has("slotAgeMillis")) {
                gauge(SLOT_AGE, peer, n.path("slotAgeMillis").asLong() / 1000.0);
            }
            for (JsonNode r : n.path("heartbeatRings")) {
                Tags ring = peer.and("ring", r.path("ring").asText());
                if (r.has("heartbeatAgeMillis")) {
                    gauge(HEARTBEAT_AGE, ring, r.path("heartbeatAgeMillis").asLong() / 1000.0);
                }
                functionCounter(HEARTBEATS_ACCEPTED, ring, r.path("accepted").asLong());
                functionCounter(HEARTBEATS_MISSED, ring, r.path("missed").asLong());
            }
        }
    }

    private void heartbeats(JsonNode h) {
        if (h.isMissingNode()) {
            return; // not started yet
        }
        for (JsonNode r : h.path("rings")) {
            Tags ring = Tags.of("ring", r.path("ring").asText());
            functionCounter(HEARTBEATS_SENT, ring, r.path("sent").asLong());
            functionCounter(HEARTBEAT_SEND_ERRORS, ring, r.path("sendErrors").asLong());
            functionCounter(HEARTBEATS_RECEIVED, ring, r.path("received").asLong());
            functionCounter(HEARTBEAT_RECEIVE_ERRORS, ring, r.path("receiveErrors").asLong());
            for (Map.Entry<String, JsonNode> d : r.path("dropped").properties()) {
                functionCounter(HEARTBEATS_DROPPED, ring.and("reason", d.getKey(), "kind",
                        DROP_KINDS.getOrDefault(d.getKey(), UNKNOWN)), d.getValue().asLong());
            }
        }
        functionCounter(LATE_TICKS, Tags.empty(), h.path("lateTicks").asLong());
        functionCounter(SKIPPED_TICKS, Tags.empty(), h.path("skippedTicks").asLong());
        gauge(TICK_LATENESS_P99, Tags.empty(), h.path("tickLatenessP99Micros").asLong() / 1e6);
        gauge(TICK_LATENESS_MAX, Tags.empty(), h.path("tickLatenessMaxMicros").asLong() / 1e6);
    }

    private void disk(JsonNode q) {
        for (String copy : List.of("primary", "shadow")) {
            if (q.has(copy)) {
                gauge(DISK_COPY_HEALTHY, Tags.of("copy", copy), q.path(copy).asText().equals("ok") ? 1 : 0);
            }
        }
        JsonNode io = q.path("io");
        if (io.isMissingNode()) {
            return;
        }
        // Count before total would let a scrape in between see a mean too low; the total first
        // errs the other way for one scrape at most, which a rate() over minutes does not notice.
        diskCycles.totalMicros = io.path("cycleLatencyTotalMicros").asLong();
        diskCycles.count = io.path("cycles").asLong();
        gauge(DISK_CYCLE_LAST, Tags.empty(), io.path("cycleLatencyLastMicros").asLong() / 1e6);
        gauge(DISK_CYCLE_RECENT_MAX, Tags.empty(), io.path("cycleLatencyRecentMaxMicros").asLong() / 1e6);
        functionCounter(DISK_READS, Tags.empty(), io.path("reads").asLong());
        functionCounter(DISK_WRITES, Tags.empty(), io.path("writes").asLong());
        functionCounter(DISK_READ, Tags.empty(), io.path("bytesRead").asLong());
        functionCounter(DISK_WRITTEN, Tags.empty(), io.path("bytesWritten").asLong());
    }

    private void workloads(JsonNode workloads) {
        List<MultiGauge.Row<?>> owners = new ArrayList<>();
        for (JsonNode w : workloads) {
            String name = w.path("name").asText();
            stateSet(WORKLOAD_STATE, Tags.of("workload", name, "kind", w.path("kind").asText(UNKNOWN)), "state",
                    WORKLOAD_STATES, w.path("here").asText(UNKNOWN));
            String owner = w.path("owner").isTextual() ? w.path("owner").asText() : "none";
            owners.add(MultiGauge.Row.of(Tags.of("workload", name, "owner", owner,
                    "desired", w.path("desired").asText(UNKNOWN)), 1));
        }
        // Overwrite: a workload's old owner or desired state leaves the scrape instead of staying at 1.
        workloadOwners.register(owners, true);
    }

    // ------------------------------------------------------------------ meters

    private Counter counter(Def d, Tags tags) {
        return Counter.builder(d.name()).description(d.help()).baseUnit(d.unit()).tags(tags).register(registry);
    }

    private Timer timer(Def d, Tags tags) {
        return Timer.builder(d.name()).description(d.help()).tags(tags).register(registry);
    }

    private void gauge(Def d, Tags tags, double value) {
        cells.computeIfAbsent(new Key(d.name(), tags), k -> {
            Cell c = new Cell();
            Gauge.builder(d.name(), c, Cell::get).description(d.help()).baseUnit(d.unit()).tags(tags)
                    .strongReference(true).register(registry);
            return c;
        }).value = value;
    }

    /** A counter whose value the daemon keeps: set from each snapshot, never incremented here. */
    private void functionCounter(Def d, Tags tags, double value) {
        cells.computeIfAbsent(new Key(d.name(), tags), k -> {
            Cell c = new Cell();
            // The registry holds a weak reference to the cell; this.cells holds it for as long as the metrics live.
            FunctionCounter.builder(d.name(), c, Cell::get).description(d.help()).baseUnit(d.unit()).tags(tags)
                    .register(registry);
            return c;
        }).value = value;
    }

    /** One gauge per possible state, 1 for {@code current} and 0 for the others (a state unknown so far is added). */
    private void stateSet(Def d, Tags tags, String label, List<String> states, String current) {
        Set<String> all = new LinkedHashSet<>(states);
        all.add(current);
        for (String s : all) {
            gauge(d, tags.and(label, s), s.equals(current) ? 1 : 0);
        }
    }

    private static Map<String, String> dropKinds() {
        Map<String, String> kinds = new java.util.HashMap<>();
        for (DropReason r : DropReason.values()) {
            kinds.put(r.label(), r.kind().name().toLowerCase(Locale.ROOT).replace('_', '-'));
        }
        return Map.copyOf(kinds);
    }
}
