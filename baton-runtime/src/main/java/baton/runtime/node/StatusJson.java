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

    static String render(ClusterConfig config, NodeConfig self, long incarnation, DiskLiveness disk, Membership membership,
                         CoordinatorLease.View lease, HeartbeatStats heartbeats, Fencing fencing, FenceWatch.View watch,
                         long nowNanos, long nowEpochMillis, WorkloadHost workloads) {
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
        }
        DiskLiveness.Stats s = disk.stats();
        ObjectNode copies = root.putObject("quorumDisk");
        copies.put("primary", s.primaryHealthy() ? "ok" : "failing");
        copies.put("shadow", s.shadowHealthy() ? "ok" : "failing");
        copies.put("repairs", s.repairs());
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
        return root.toString() + "\n";
    }
}
