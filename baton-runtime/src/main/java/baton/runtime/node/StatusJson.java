package baton.runtime.node;

import baton.core.fence.FenceState;
import baton.core.fence.FenceWatch;
import baton.core.fence.Fencing;
import baton.core.lease.CoordinatorLease;
import baton.core.liveness.DiskLiveness;
import baton.core.membership.Membership;
import baton.runtime.config.ClusterConfig;
import baton.runtime.config.NodeConfig;
import baton.runtime.net.HeartbeatStats;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** The node daemon's view of the cluster as JSON: what {@code baton status} shows for a running node. */
public final class StatusJson {
    private StatusJson() {}

    static final ObjectMapper JSON = new ObjectMapper();

    static String label(FenceState s) {
        return switch (s) {
            case FenceState.Idle i -> "idle";
            case FenceState.Delayed d -> "delayed (fence delay)";
            case FenceState.Fencing f -> "fencing (round " + f.round() + ", level " + f.level() + ")";
            case FenceState.RetryWait w -> "retry-wait (after round " + w.round() + ")";
            case FenceState.Fenced f -> "fenced (" + f.how() + ")";
            case FenceState.Unfenceable u -> "unfenceable: " + u.reason();
        };
    }

    /** The view as a JSON tree: what the status file holds and the API serves. */
    static ObjectNode render(ClusterConfig config, NodeConfig self, long incarnation, DiskLiveness disk, Membership membership,
                         CoordinatorLease.View lease, HeartbeatStats heartbeats, Fencing fencing, FenceWatch.View watch,
                         long nowNanos, long nowEpochMillis, WorkloadHost workloads) {
        return render(config, self, incarnation, disk, membership, lease, heartbeats, fencing, watch, nowNanos, nowEpochMillis,
                workloads, null);
    }

    /**
     * The view with the quorum disk's I/O counters and cycle latency ({@code quorumDisk.io}).
     *
     * @param heartbeats null before the heartbeats started
     * @param diskIo null leaves {@code quorumDisk.io} out
     */
    static ObjectNode render(ClusterConfig config, NodeConfig self, long incarnation, DiskLiveness disk, Membership membership,
                         CoordinatorLease.View lease, HeartbeatStats heartbeats, Fencing fencing, FenceWatch.View watch,
                         long nowNanos, long nowEpochMillis, WorkloadHost workloads, DiskIoStats diskIo) {
        ObjectNode root = JSON.createObjectNode();
        root.put("cluster", config.clusterName());
        root.put("node", self.name());
        root.put("nodeId", self.id());
        root.put("incarnation", incarnation);
        root.put("phase", disk.phase().name().toLowerCase(java.util.Locale.ROOT));
        root.put("writtenEpochMillis", nowEpochMillis);
        ObjectNode c = root.putObject("coordinator");
        c.put("role", lease.role().name().toLowerCase(java.util.Locale.ROOT));
        c.put("generation", lease.generation());
        if (lease.holder() != null && lease.holder().nodeId() != 0) {
            c.put("holderId", lease.holder().nodeId());
            c.put("holder", config.node(lease.holder().nodeId()).map(NodeConfig::name).orElse(null));
            c.put("holderIncarnation", lease.holder().incarnation());
        }
        c.put("holderState", lease.holderState());
        if (lease.lastProblem() != null) {
            c.put("lastProblem", lease.lastProblem());
        }
        if (heartbeats != null) {
            ObjectNode h = root.putObject("heartbeats");
            h.put("sent", heartbeats.sent());
            h.put("sendErrors", heartbeats.sendErrors());
            h.put("accepted", heartbeats.accepted());
            ObjectNode dropped = h.putObject("dropped");
            heartbeats.droppedByReason().forEach((reason, n) -> {
                if (n > 0) {
                    dropped.put(reason.label(), n);
                }
            });
            HeartbeatStats.Ticks t = heartbeats.ticks();
            h.put("ticks", t.ticks());
            h.put("lateTicks", t.lateTicks());
            h.put("tickLatenessP50Micros", t.p50Nanos() / 1000);
            h.put("tickLatenessP99Micros", t.p99Nanos() / 1000);
            h.put("tickLatenessMaxMicros", t.maxNanos() / 1000);
            h.put("skippedTicks", t.skippedTicks());
            ArrayNode rings = h.putArray("rings");
            for (HeartbeatStats.Ring r : heartbeats.rings()) {
                ObjectNode o = rings.addObject();
                o.put("ring", r.ring());
                o.put("address", r.address());
                o.put("sent", r.sent());
                o.put("sendErrors", r.sendErrors());
                o.put("received", r.received());
                o.put("receiveErrors", r.receiveErrors());
                o.put("accepted", r.accepted());
                ObjectNode ringDropped = o.putObject("dropped");
                r.dropped().entrySet().stream().sorted(java.util.Map.Entry.comparingByKey())
                        .forEach(d -> ringDropped.put(d.getKey().label(), d.getValue()));
            }
        }
        DiskLiveness.Stats s = disk.stats();
        ObjectNode copies = root.putObject("quorumDisk");
        copies.put("primary", s.primaryHealthy() ? "ok" : "failing");
        copies.put("shadow", s.shadowHealthy() ? "ok" : "failing");
        copies.put("repairs", s.repairs());
        if (diskIo != null) {
            DiskIoStats.Totals io = diskIo.totals();
            ObjectNode o = copies.putObject("io");
            o.put("cycles", io.cycles());
            o.put("cycleLatencyTotalMicros", io.cycleNanosTotal() / 1000);
            o.put("cycleLatencyLastMicros", io.lastCycleNanos() / 1000);
            o.put("cycleLatencyRecentMaxMicros", io.recentMaxCycleNanos() / 1000);
            o.put("cycleLatencyMaxMicros", io.maxCycleNanos() / 1000);
            o.put("reads", io.reads());
            o.put("writes", io.writes());
            o.put("bytesRead", io.bytesRead());
            o.put("bytesWritten", io.bytesWritten());
        }
        ArrayNode nodes = root.putArray("nodes");
        for (DiskLiveness.NodeView v : disk.view()) {
            ObjectNode n = nodes.addObject();
            n.put("id", v.nodeId());
            n.put("name", config.node(v.nodeId()).map(NodeConfig::name).orElse(null));
            n.put("verdict", membership.verdict(v.nodeId()).label());
            n.put("evidence", membership.evidence(v.nodeId()));
            n.put("disk", v.liveness().label());
            n.put("fencing", label(fencing.state(v.nodeId())));
            watch.nodes().stream().filter(w -> w.nodeId() == v.nodeId()).findFirst().ifPresent(w -> {
                n.put("fencePath", w.path().label());
                if (w.reason() != null && !w.reason().isEmpty()) {
                    n.put("fencePathReason", w.reason());
                }
            });
            if (v.slot() != null) {
                n.put("slotIncarnation", v.slot().incarnation());
                n.put("counter", Long.toUnsignedString(v.slot().counter()));
                // How long the counter has not advanced, as of this node's last read of the slot.
                n.put("slotAgeMillis", v.unchangedForNanos() / 1_000_000L);
            }
            if (heartbeats != null && v.nodeId() != self.id()) {
                heartbeatsFrom(n, heartbeats, v.nodeId(), nowNanos);
            }
        }
        ArrayNode devices = root.putArray("fenceDevices");
        for (FenceWatch.DeviceView d : watch.devices()) {
            ObjectNode o = devices.addObject();
            o.put("name", d.device());
            o.put("state", d.state().label());
            if (d.reason() != null && !d.reason().isEmpty()) {
                o.put("reason", d.reason());
            }
            if (d.state() != FenceWatch.DeviceState.UNKNOWN) {
                o.put("lastResultAgoMillis", (nowNanos - d.lastResultNanos()) / 1_000_000L);
                o.put("lastDurationMillis", d.lastDurationNanos() / 1_000_000L);
                o.put("lastResultEpochMillis", nowEpochMillis - (nowNanos - d.lastResultNanos()) / 1_000_000L);
            }
            o.put("consecutiveFailures", d.consecutiveFailures());
            ArrayNode serves = o.putArray("nodes");
            d.nodes().forEach(id -> serves.add(config.node(id).map(NodeConfig::name).orElse(String.valueOf(id))));
        }
        if (workloads != null) {
            workloads.status(root);
        }
        return root;
    }

    /**
     * What the rings heard from {@code nodeId}: {@code heartbeatAgeMillis} since the last beat on
     * any ring (absent while none was heard), and per ring the same with the beats accepted and missed.
     */
    private static void heartbeatsFrom(ObjectNode n, HeartbeatStats heartbeats, int nodeId, long nowNanos) {
        ArrayNode perRing = JSON.createArrayNode();
        long youngestMillis = Long.MAX_VALUE;
        for (HeartbeatStats.Ring r : heartbeats.rings()) {
            for (HeartbeatStats.Peer p : r.peers()) {
                if (p.nodeId() != nodeId) {
                    continue;
                }
                ObjectNode o = perRing.addObject();
                o.put("ring", r.ring());
                if (p.heard()) {
                    long ageMillis = Math.max(0, nowNanos - p.lastHeardNanos()) / 1_000_000L;
                    o.put("heartbeatAgeMillis", ageMillis);
                    youngestMillis = Math.min(youngestMillis, ageMillis);
                }
                o.put("accepted", p.accepted());
                o.put("missed", p.missed());
            }
        }
        if (youngestMillis != Long.MAX_VALUE) {
            n.put("heartbeatAgeMillis", youngestMillis);
        }
        n.set("heartbeatRings", perRing);
    }
}
