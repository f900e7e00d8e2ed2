package baton.runtime.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import baton.core.disk.Copy;
import baton.core.fence.FenceEvent;
import baton.core.lease.LeaseEvent;
import baton.core.lease.Owner;
import baton.core.liveness.DiskEvent;
import baton.core.membership.MembershipEvent;
import baton.core.membership.Verdict;
import baton.runtime.events.EventJournal;
import baton.runtime.log.KvLog;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Feeds {@link NodeMetrics} the log lines the daemon writes (built as the daemon builds them:
 * the cores' own {@code fields()}, the same rewrites, the same literals) through a real
 * {@link EventJournal}, and a status snapshot shaped like {@code StatusJson}'s; then reads the
 * scrape back as Prometheus would.
 */
class NodeMetricsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long T0 = 1_790_000_000_000L;

    private final NodeMetrics metrics = new NodeMetrics("demo", "node-1");
    private final EventJournal journal = new EventJournal();

    NodeMetricsTest() {
        journal.subscribe(metrics::onEvent);
    }

    private void log(long epochMillis, String level, String fields) {
        journal.append(epochMillis, level, "node-1", fields);
    }

    /** A verdict line as NodeDaemon.membershipStep writes it. */
    private static String verdict(int peer, String name, Verdict from, Verdict to, String evidence) {
        String fields = new MembershipEvent.VerdictChanged(peer, from, to, evidence).fields()
                .replace("node-id=" + peer, "peer=" + name + " peer-id=" + peer);
        return fields + (to.alarm() ? " alarm=" + to.label() : "");
    }

    // ------------------------------------------------------------------ events

    @Test
    void aVerdictChangeIsCountedByPeerFromAndTo() {
        log(T0, "warn", verdict(3, "node-3", Verdict.UP, Verdict.SUSPECT, "no heartbeat on any ring for 2100 ms"));
        log(T0 + 3000, "warn", verdict(3, "node-3", Verdict.SUSPECT, Verdict.DOWN,
                "slot stale 6000 ms and no heartbeat on any ring for 5000 ms"));

        Scrape s = scrape();
        assertThat(s.value("baton_verdict_changes_total", "peer", "node-3", "from", "suspect", "to", "down")).isEqualTo(1.0);
        assertThat(s.value("baton_verdict_changes_total", "peer", "node-3", "from", "up", "to", "suspect")).isEqualTo(1.0);
        assertThat(s.value("baton_events_total", "level", "warn")).isEqualTo(2.0);
        assertThat(s.find("baton_verdict_changes_total", "peer", "node-3", "from", "suspect", "to", "down").labels())
                .containsEntry("cluster", "demo").containsEntry("node", "node-1");
    }

    @Test
    void aFailedLevelThenAPoisonPillAreTwoAttemptsWithTheirDurationsAndOneFence() {
        log(T0, "warn", verdict(3, "node-3", Verdict.SUSPECT, Verdict.DOWN, "slot stale and silent"));
        long inc = 1_790_000_000_123L;
        // Fencing reports as NodeDaemon.fencingStep logs them: the core's fields, then the generation.
        log(T0 + 10, "warn", new FenceEvent.Started(3, inc, 1, 1, "ipmi-3", "slot stale and silent").fields() + " generation=7");
        log(T0 + 10, "info", "event=fence-agent device=ipmi-3 action=off peer-id=3 generation=7 params=\"ip=198.18.0.13\"");
        log(T0 + 2010, "warn", new FenceEvent.LevelFailed(3, inc, 1, 1, "ipmi-3", "off failed: connection timed out").fields()
                + " generation=7");
        log(T0 + 2010, "warn", new FenceEvent.Started(3, inc, 1, 2, "poison-pill", "slot stale and silent").fields() + " generation=7");
        log(T0 + 2020, "warn", "event=fence-pill peer-id=3 incarnation=" + inc + " generation=7");
        log(T0 + 2100, "warn", new FenceEvent.PillWritten(3, inc, 4_000_000_000L).fields() + " generation=7");
        // A fence is logged twice: FenceEffect.Fenced, then the core's report of it.
        String how = "level 2: poison-pill poison pill deadline passed";
        log(T0 + 8010, "warn", "event=fenced peer=node-3 peer-id=3 incarnation=" + inc + " generation=7 how=" + KvLog.q(how));
        log(T0 + 8010, "warn", new FenceEvent.Fenced(3, inc, how).fields() + " generation=7");

        Scrape s = scrape();
        assertThat(s.value("baton_fence_attempts_total", "target", "node-3", "level", "1", "result", "failed")).isEqualTo(1.0);
        assertThat(s.value("baton_fence_attempts_total", "target", "node-3", "level", "2", "result", "fenced")).isEqualTo(1.0);
        assertThat(s.value("baton_fence_attempt_duration_seconds_count", "target", "node-3", "result", "failed")).isEqualTo(1.0);
        assertThat(s.value("baton_fence_attempt_duration_seconds_sum", "target", "node-3", "result", "failed")).isEqualTo(2.0);
        assertThat(s.value("baton_fence_attempt_duration_seconds_sum", "target", "node-3", "result", "fenced")).isEqualTo(6.0);
        assertThat(s.value("baton_fences_total", "target", "node-3", "how", "poison-pill")).isEqualTo(1.0);
        assertThat(s.samples("baton_fences_total")).hasSize(1);
    }

    @Test
    void fencingEventsNameTheirTargetFromTheConfiguredNamesOrTheIdUntilOneIsKnown() {
        NodeMetrics named = new NodeMetrics("demo", "node-1", Map.of(2, "node-2"));
        EventJournal j = new EventJournal();
        j.subscribe(named::onEvent);
        j.append(T0, "warn", "node-1", new FenceEvent.CannotDetermineState(2, 5, 1, "all 1 fencing levels failed").fields()
                + " generation=3");
        j.append(T0, "warn", "node-1", new FenceEvent.CannotDetermineState(4, 5, 1, "no fencing levels").fields()
                + " generation=3");

        Scrape s = new Scrape(named.scrape());
        assertThat(s.value("baton_fence_alarms_total", "target", "node-2")).isEqualTo(1.0);
        assertThat(s.value("baton_fence_alarms_total", "target", "4")).isEqualTo(1.0);
    }

    @Test
    void anOperatorsConfirmationEndsTheAttemptUnderWay() {
        log(T0, "warn", new FenceEvent.Started(2, 9, 1, 1, "apc-1", "down").fields() + " generation=2");
        log(T0 + 500, "warn", new FenceEvent.OperatorConfirmed(2, 9).fields() + " generation=2");
        log(T0 + 500, "warn", "event=fenced peer=node-2 peer-id=2 incarnation=9 generation=2 how=\"operator\"");
        log(T0 + 500, "warn", new FenceEvent.Fenced(2, 9, "operator").fields() + " generation=2");

        Scrape s = scrape();
        assertThat(s.value("baton_fence_attempts_total", "target", "node-2", "level", "1", "result", "operator")).isEqualTo(1.0);
        assertThat(s.value("baton_fences_total", "target", "node-2", "how", "operator")).isEqualTo(1.0);
    }

    @Test
    void aMigrationIsCountedWithItsDowntimeDurationAndBytes() {
        // As WorkloadRunner logs a live migration sent, and one received that failed.
        log(T0, "info", "event=migration-send workload=web1 to=node-2 mode=live attempt=1");
        log(T0 + 2100, "info", "event=migration-sent workload=web1 to=node-2 downtime-ms=42 bytes=123456789 took-ms=2100");
        log(T0 + 3000, "info", "event=migration-receive workload=web2 from=node-3 mode=checkpoint attempt=2");
        log(T0 + 9000, "warn", "event=migration-receive-failed workload=web2 from=node-3 reason="
                + KvLog.q("checkpoint /var/lib/baton/web2.ckpt: checksum mismatch"));

        Scrape s = scrape();
        assertThat(s.value("baton_migrations_total", "role", "source", "mode", "live", "result", "completed")).isEqualTo(1.0);
        assertThat(s.value("baton_migrations_total", "role", "target", "mode", "checkpoint", "result", "failed")).isEqualTo(1.0);
        assertThat(s.value("baton_migration_downtime_seconds_count", "role", "source", "mode", "live")).isEqualTo(1.0);
        assertThat(s.value("baton_migration_downtime_seconds_sum", "role", "source", "mode", "live")).isEqualTo(0.042);
        assertThat(s.value("baton_migration_duration_seconds_sum", "role", "source", "mode", "live")).isEqualTo(2.1);
        assertThat(s.value("baton_migration_transferred_bytes_sum", "mode", "live")).isEqualTo(123456789.0);
        assertThat(s.samples("baton_migration_downtime_seconds_count")).hasSize(1);
    }

    @Test
    void aReceivedLiveMigrationWithUnknownDowntimeRecordsNoDowntime() {
        log(T0, "info", "event=migration-receive workload=web1 from=node-2 mode=live attempt=1");
        log(T0 + 2000, "info", "event=migration-received workload=web1 from=node-2 took-ms=2000 downtime-ms=-1");

        Scrape s = scrape();
        assertThat(s.value("baton_migrations_total", "role", "target", "mode", "live", "result", "completed")).isEqualTo(1.0);
        assertThat(s.samples("baton_migration_downtime_seconds_count")).isEmpty();
        assertThat(s.value("baton_migration_duration_seconds_count", "role", "target", "mode", "live")).isEqualTo(1.0);
    }

    @Test
    void repairsCoordinatorChangesWorkloadEventsAndRejoinsAreCounted() {
        log(T0, "info", new DiskEvent.SlotRepaired(Copy.SHADOW, 2, "checksum mismatch on shadow").fields());
        log(T0, "warn", new DiskEvent.RepairFailed(Copy.PRIMARY, 3, "Input/output error").fields());
        log(T0, "info", new LeaseEvent.OwnerKnown(7, new Owner(1, 1_790_000_000_001L), "ballot won").fields());
        log(T0, "info", "event=coordinator role=coordinator generation=7 note=" + KvLog.q("this node takes the cluster-wide decisions"));
        log(T0, "info", new LeaseEvent.OwnerKnown(8, new Owner(2, 1_790_000_000_002L), "leader record").fields());
        log(T0, "warn", "event=coordinator role=follower generation=7 reason=" + KvLog.q("lease not renewed in time"));
        log(T0, "info", "event=workload-started workload=clock took-ms=120");
        log(T0, "warn", "event=workload-failed workload=clock reason=" + KvLog.q("monitor: exit status 7") + " action=stop");
        log(T0, "info", "event=rejoining incarnation=1790000000999");

        Scrape s = scrape();
        assertThat(s.value("baton_disk_slot_repairs_total", "copy", "shadow", "peer", "2", "result", "repaired")).isEqualTo(1.0);
        assertThat(s.value("baton_disk_slot_repairs_total", "copy", "primary", "peer", "3", "result", "failed")).isEqualTo(1.0);
        assertThat(s.value("baton_coordinator_changes_total")).isEqualTo(2.0);
        assertThat(s.value("baton_coordinator_role_changes_total", "role", "coordinator")).isEqualTo(1.0);
        assertThat(s.value("baton_coordinator_role_changes_total", "role", "follower")).isEqualTo(1.0);
        assertThat(s.value("baton_workload_events_total", "workload", "clock", "event", "started")).isEqualTo(1.0);
        assertThat(s.value("baton_workload_events_total", "workload", "clock", "event", "failed")).isEqualTo(1.0);
        assertThat(s.value("baton_rejoins_total")).isEqualTo(1.0);
    }

    // ------------------------------------------------------------------ API

    @Test
    void apiRequestsAreCountedByStatusAndRoutesAreLimited() {
        metrics.countApiRequest("GET", "/api/v1/status", 200);
        metrics.countApiRequest("get", "/api/v1/status", 401);
        metrics.countApiRequest("POST", "/api/v1/nodes/{node}/switchover", 401);
        metrics.countApiRequest("BREW", "/api/v1/status", 405);
        for (int i = 0; i < NodeMetrics.MAX_API_ROUTES + 10; i++) {
            metrics.countApiRequest("GET", "/scanner/" + i, 404);
        }

        Scrape s = scrape();
        assertThat(s.value("baton_api_requests_total", "method", "GET", "route", "/api/v1/status", "status", "401")).isEqualTo(1.0);
        assertThat(s.value("baton_api_requests_total", "method", "GET", "route", "/api/v1/status", "status", "200")).isEqualTo(1.0);
        assertThat(s.value("baton_api_requests_total", "method", "other", "route", "/api/v1/status", "status", "405")).isEqualTo(1.0);
        assertThat(s.samples("baton_api_requests_total").stream().filter(x -> x.labels().get("status").equals("401"))
                .mapToDouble(Sample::value).sum()).isEqualTo(2.0);
        assertThat(s.samples("baton_api_requests_total").stream().map(x -> x.labels().get("route")).distinct())
                .hasSize(NodeMetrics.MAX_API_ROUTES + 1); // the limit, plus "other"
        assertThat(s.value("baton_api_requests_total", "method", "GET", "route", "other", "status", "404")).isEqualTo(12.0);
    }

    // ------------------------------------------------------------------ status

    @Test
    void aStatusSnapshotSetsTheGauges() throws Exception {
        metrics.onStatus(status("node-2", "running"));

        Scrape s = scrape();
        assertThat(s.value("baton_status_written_timestamp_seconds")).isEqualTo(1_790_000_000.5);
        assertThat(s.value("baton_node_phase", "phase", "member")).isEqualTo(1.0);
        assertThat(s.value("baton_node_phase", "phase", "joining")).isEqualTo(0.0);
        assertThat(s.value("baton_is_coordinator")).isEqualTo(1.0);
        assertThat(s.value("baton_coordinator_generation")).isEqualTo(7.0);
        assertThat(s.value("baton_peer_verdict", "peer", "node-3", "verdict", "down")).isEqualTo(1.0);
        assertThat(s.value("baton_peer_verdict", "peer", "node-3", "verdict", "up")).isEqualTo(0.0);
        assertThat(s.value("baton_peer_verdict", "peer", "node-2", "verdict", "up")).isEqualTo(1.0);
        assertThat(s.samples("baton_peer_verdict").stream().filter(x -> x.labels().get("peer").equals("node-2")))
                .hasSize(Verdict.values().length);
        assertThat(s.value("baton_peer_disk_liveness", "peer", "node-3", "liveness", "stale")).isEqualTo(1.0);
        assertThat(s.value("baton_disk_slot_age_seconds", "peer", "node-3")).isEqualTo(6.4);
        assertThat(s.value("baton_disk_slot_age_seconds", "peer", "node-2")).isEqualTo(0.2);
        assertThat(s.value("baton_heartbeat_age_seconds", "peer", "node-2", "ring", "0")).isEqualTo(0.12);
        assertThat(s.value("baton_heartbeat_age_seconds", "peer", "node-2", "ring", "1")).isEqualTo(0.95);
        assertThat(s.value("baton_heartbeat_age_seconds", "peer", "node-3", "ring", "0")).isEqualTo(7.3);
        assertThat(s.find("baton_heartbeat_age_seconds", "peer", "node-3", "ring", "1")).isNull(); // never heard there
        assertThat(s.value("baton_heartbeats_accepted_total", "peer", "node-2", "ring", "0")).isEqualTo(5210.0);
        assertThat(s.value("baton_heartbeats_missed_total", "peer", "node-3", "ring", "0")).isEqualTo(36.0);
        assertThat(s.value("baton_heartbeats_sent_total", "ring", "1")).isEqualTo(10400.0);
        assertThat(s.value("baton_heartbeats_dropped_total", "ring", "0", "reason", "forged", "kind", "forged")).isEqualTo(3.0);
        assertThat(s.value("baton_heartbeats_dropped_total", "ring", "0", "reason", "old-incarnation", "kind", "replayed"))
                .isEqualTo(2.0);
        assertThat(s.value("baton_heartbeat_late_ticks_total")).isEqualTo(1.0);
        assertThat(s.value("baton_heartbeat_tick_lateness_p99_seconds")).isCloseTo(0.00125, within(1e-12));
        assertThat(s.value("baton_disk_copy_healthy", "copy", "primary")).isEqualTo(1.0);
        assertThat(s.value("baton_disk_copy_healthy", "copy", "shadow")).isEqualTo(0.0);
        assertThat(s.value("baton_disk_cycle_seconds_count")).isEqualTo(2600.0);
        assertThat(s.value("baton_disk_cycle_seconds_sum")).isCloseTo(5.2, within(1e-9));
        assertThat(s.value("baton_disk_cycle_last_seconds")).isEqualTo(0.0019);
        assertThat(s.value("baton_disk_cycle_recent_max_seconds")).isEqualTo(0.0122);
        assertThat(s.value("baton_disk_written_bytes_total")).isEqualTo(2600.0 * 512);
        assertThat(s.value("baton_fence_device_state", "device", "ipmi-3", "state", "failed")).isEqualTo(1.0);
        assertThat(s.value("baton_fence_device_consecutive_failures", "device", "ipmi-3")).isEqualTo(4.0);
        assertThat(s.value("baton_workload_state", "workload", "web1", "kind", "ve", "state", "running")).isEqualTo(1.0);
        assertThat(s.value("baton_workload_state", "workload", "web1", "kind", "ve", "state", "stopped")).isEqualTo(0.0);
        assertThat(s.value("baton_workload_owner", "workload", "web1", "owner", "node-2", "desired", "running")).isEqualTo(1.0);
        assertThat(s.value("baton_workload_owner", "workload", "clock", "owner", "none", "desired", "unplaced")).isEqualTo(1.0);
    }

    @Test
    void aWorkloadsOldOwnerLeavesTheScrape() throws Exception {
        metrics.onStatus(status("node-2", "running"));
        metrics.onStatus(status("node-1", "frozen"));

        Scrape s = scrape();
        assertThat(s.samples("baton_workload_owner").stream().filter(x -> x.labels().get("workload").equals("web1")))
                .extracting(x -> x.labels().get("owner") + "/" + x.labels().get("desired"))
                .containsExactly("node-1/frozen");
    }

    @Test
    void snapshotsMoveTheCountersTheDaemonKeeps() throws Exception {
        metrics.onStatus(status("node-2", "running"));
        ObjectNodeEdit later = new ObjectNodeEdit(status("node-2", "running"));
        later.set("/nodes/2/heartbeatRings/0/missed", 40);
        metrics.onStatus(later.root());

        assertThat(scrape().value("baton_heartbeats_missed_total", "peer", "node-3", "ring", "0")).isEqualTo(40.0);
    }

    // ------------------------------------------------------------------ the format

    @Test
    void everySampleBelongsToAFamilyWithHelpAndType() throws Exception {
        repairsCoordinatorChangesWorkloadEventsAndRejoinsAreCounted(); // first: it expects node 3's name unknown
        aFailedLevelThenAPoisonPillAreTwoAttemptsWithTheirDurationsAndOneFence();
        aMigrationIsCountedWithItsDowntimeDurationAndBytes();
        metrics.countApiRequest("GET", "/api/v1/status", 401);
        metrics.onStatus(status("node-2", "running"));

        String text = metrics.scrape();
        assertThat(metrics.contentType()).isEqualTo("text/plain; version=0.0.4; charset=utf-8");
        Map<String, String> types = new HashMap<>();
        Set<String> helped = new java.util.HashSet<>();
        List<String> problems = new ArrayList<>();
        Set<String> withSamples = new java.util.HashSet<>();
        for (String line : text.split("\n")) {
            if (line.isEmpty()) {
                continue;
            }
            if (line.startsWith("# HELP ")) {
                String[] p = line.split(" ", 4);
                if (p.length < 4 || p[3].isBlank()) {
                    problems.add("HELP without text: " + line);
                }
                helped.add(p[2]);
            } else if (line.startsWith("# TYPE ")) {
                String[] p = line.split(" ");
                if (p.length != 4 || !Set.of("counter", "gauge", "summary", "histogram", "untyped").contains(p[3])) {
                    problems.add("bad TYPE: " + line);
                } else if (types.put(p[2], p[3]) != null) {
                    problems.add("TYPE twice: " + line);
                }
            } else if (line.startsWith("#")) {
                problems.add("unexpected comment: " + line);
            } else {
                Sample sample = Sample.parse(line);
                if (sample == null) {
                    problems.add("not a sample: " + line);
                    continue;
                }
                String family = family(sample.name(), types);
                if (family == null) {
                    problems.add("sample before or without its TYPE: " + line);
                } else {
                    withSamples.add(family);
                    if (!helped.contains(family)) {
                        problems.add("no HELP for " + family);
                    }
                    if (!sample.name().startsWith("baton_")) {
                        problems.add("not baton_: " + line);
                    }
                    if (!"demo".equals(sample.labels().get("cluster")) || !"node-1".equals(sample.labels().get("node"))) {
                        problems.add("without cluster and node: " + line);
                    }
                }
            }
        }
        assertThat(problems).isEmpty();
        assertThat(types.keySet()).isEqualTo(withSamples);
        assertThat(types).containsEntry("baton_verdict_changes_total", "counter")
                .containsEntry("baton_heartbeat_age_seconds", "gauge")
                .containsEntry("baton_fence_attempt_duration_seconds", "summary")
                .containsEntry("baton_disk_cycle_seconds", "summary");
    }

    /** The family a sample belongs to, by the suffixes its TYPE allows. */
    private static String family(String name, Map<String, String> types) {
        if (types.containsKey(name)) {
            String t = types.get(name);
            return t.equals("summary") || t.equals("histogram") ? null : name;
        }
        for (String suffix : List.of("_count", "_sum", "_bucket")) {
            if (name.endsWith(suffix)) {
                String f = name.substring(0, name.length() - suffix.length());
                String t = types.get(f);
                if ("summary".equals(t) && !suffix.equals("_bucket") || "histogram".equals(t)) {
                    return f;
                }
            }
        }
        return null;
    }

    // ------------------------------------------------------------------ fixtures

    /**
     * A status snapshot as StatusJson renders it for node-1 (coordinator) of three nodes:
     * node-2 up, node-3 down and being fenced; two rings; two workloads.
     */
    private static JsonNode status(String web1Owner, String web1Desired) throws Exception {
        String json = """
                {"cluster":"demo","node":"node-1","nodeId":1,"incarnation":1790000000001,"phase":"member",
                 "writtenEpochMillis":1790000000500,
                 "coordinator":{"role":"coordinator","generation":7,"holderId":1,"holder":"node-1",
                   "holderIncarnation":1790000000001,"holderState":"renewed 120 ms ago"},
                 "heartbeats":{"sent":20800,"sendErrors":2,"accepted":10240,"dropped":{"forged":3,"old-incarnation":2},
                   "ticks":5200,"lateTicks":1,"tickLatenessP50Micros":80,"tickLatenessP99Micros":1250,
                   "tickLatenessMaxMicros":812000,"skippedTicks":0,
                   "rings":[
                     {"ring":0,"address":"198.18.0.1:7410","sent":10400,"sendErrors":0,"received":10245,"receiveErrors":0,
                      "accepted":10240,"dropped":{"forged":3,"old-incarnation":2}},
                     {"ring":1,"address":"198.19.0.1:7410","sent":10400,"sendErrors":2,"received":5030,"receiveErrors":0,
                      "accepted":5030,"dropped":{}}]},
                 "quorumDisk":{"primary":"ok","shadow":"failing","repairs":3,
                   "io":{"cycles":2600,"cycleLatencyTotalMicros":5200000,"cycleLatencyLastMicros":1900,
                     "cycleLatencyRecentMaxMicros":12200,"cycleLatencyMaxMicros":48000,"reads":5200,"writes":2600,
                     "bytesRead":21299200,"bytesWritten":1331200}},
                 "nodes":[
                   {"id":1,"name":"node-1","verdict":"up","evidence":"this node","disk":"fresh","fencing":"idle",
                    "fencePath":"ok","slotIncarnation":1790000000001,"counter":"2600","slotAgeMillis":0},
                   {"id":2,"name":"node-2","verdict":"up","evidence":"slot fresh, heartbeats on 2 rings","disk":"fresh",
                    "fencing":"idle","slotIncarnation":1790000000002,"counter":"2598","slotAgeMillis":200,
                    "heartbeatAgeMillis":120,
                    "heartbeatRings":[{"ring":0,"heartbeatAgeMillis":120,"accepted":5210,"missed":0},
                                      {"ring":1,"heartbeatAgeMillis":950,"accepted":5030,"missed":180}]},
                   {"id":3,"name":"node-3","verdict":"down","evidence":"slot stale 6400 ms and no heartbeat for 7300 ms",
                    "disk":"stale","fencing":"fencing (round 1, level 1)","slotIncarnation":1790000000003,
                    "counter":"1200","slotAgeMillis":6400,"heartbeatAgeMillis":7300,
                    "heartbeatRings":[{"ring":0,"heartbeatAgeMillis":7300,"accepted":5030,"missed":36},
                                      {"ring":1,"accepted":0,"missed":0}]}],
                 "fenceDevices":[
                   {"name":"ipmi-2","state":"ok","lastResultAgoMillis":3000,"lastDurationMillis":410,
                    "lastResultEpochMillis":1789999997500,"consecutiveFailures":0,"nodes":["node-2"]},
                   {"name":"ipmi-3","state":"failed","reason":"connection timed out","lastResultAgoMillis":2000,
                    "lastDurationMillis":20000,"lastResultEpochMillis":1789999998500,"consecutiveFailures":4,"nodes":["node-3"]}],
                 "workloads":[
                   {"id":1,"name":"web1","kind":"ve","owner":"OWNER","ownerIncarnation":1790000000002,"desired":"DESIRED",
                    "epoch":4,"table":12,"reason":"placed by failover domain","restarting":false,"here":"running",
                    "failuresHere":0,"failedOutHere":false},
                   {"id":2,"name":"clock","kind":"service","owner":null,"desired":"unplaced","here":"stopped",
                    "failuresHere":0,"failedOutHere":false}],
                 "standby":[],"maintenance":[],"workloadTableRead":true,"acknowledgedTable":12}
                """;
        return JSON.readTree(json.replace("OWNER", web1Owner).replace("DESIRED", web1Desired));
    }

    /** Sets one number in a snapshot by JSON pointer. */
    private record ObjectNodeEdit(JsonNode root) {
        void set(String pointer, long value) {
            int slash = pointer.lastIndexOf('/');
            ((com.fasterxml.jackson.databind.node.ObjectNode) root.at(pointer.substring(0, slash)))
                    .put(pointer.substring(slash + 1), value);
        }
    }

    private Scrape scrape() {
        return new Scrape(metrics.scrape());
    }

    record Sample(String name, Map<String, String> labels, double value) {
        private static final Pattern LINE = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)})? (\\S+)");
        private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\",?");

        /** One sample line, or null when it is not one. */
        static Sample parse(String line) {
            Matcher m = LINE.matcher(line);
            if (!m.matches()) {
                return null;
            }
            Map<String, String> labels = new LinkedHashMap<>();
            if (m.group(2) != null) {
                Matcher l = LABEL.matcher(m.group(2));
                int at = 0;
                while (l.find() && l.start() == at) {
                    labels.put(l.group(1), l.group(2).replace("\\\"", "\"").replace("\\n", "\n").replace("\\\\", "\\"));
                    at = l.end();
                }
                if (at != m.group(2).length()) {
                    return null;
                }
            }
            try {
                return new Sample(m.group(1), labels, Double.parseDouble(m.group(3).replace("+Inf", "Infinity")));
            } catch (NumberFormatException e) {
                return null;
            }
        }
    }

    record Scrape(List<Sample> all) {
        Scrape(String text) {
            this(text.lines().filter(l -> !l.startsWith("#") && !l.isEmpty()).map(Sample::parse).toList());
        }

        List<Sample> samples(String name) {
            return all.stream().filter(s -> s.name().equals(name)).toList();
        }

        /** The sample of {@code name} whose labels include {@code pairs} (key, value, ...) and no others but cluster and node. */
        Sample find(String name, String... pairs) {
            Map<String, String> want = new HashMap<>(Map.of("cluster", "demo", "node", "node-1"));
            for (int i = 0; i < pairs.length; i += 2) {
                want.put(pairs[i], pairs[i + 1]);
            }
            return samples(name).stream().filter(s -> s.labels().equals(want)).findFirst().orElse(null);
        }

        double value(String name, String... pairs) {
            Sample s = find(name, pairs);
            assertThat(s).as("%s %s in the scrape", name, List.of(pairs)).isNotNull();
            return s.value();
        }
    }
}
