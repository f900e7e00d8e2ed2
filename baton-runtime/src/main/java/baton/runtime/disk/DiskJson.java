package baton.runtime.disk;

import baton.core.disk.Copy;
import baton.core.disk.HeaderRead;
import baton.core.disk.SlotRead;
import baton.runtime.config.ClusterConfig;
import baton.runtime.config.NodeConfig;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** Both copies of the quorum disk as JSON: what {@code baton disk inspect --json} prints and {@code GET /api/v1/disk} serves. */
public final class DiskJson {
    private DiskJson() {}

    /** Headers and every configured (or written) slot of both copies, with verdicts and ages as of {@code nowMillis}. */
    public static ObjectNode inspect(ClusterConfig cfg, DiskSnapshot snap, long nowMillis) {
        ObjectNode root = new ObjectMapper().createObjectNode();
        root.put("cluster", cfg.clusterName());
        ArrayNode copies = root.putArray("copies");
        for (Copy c : Copy.values()) {
            QuorumDisk.Location l = QuorumDisk.location(cfg.quorumDisk(), c);
            ObjectNode o = copies.addObject();
            o.put("copy", c.label());
            o.put("path", l.path().toString());
            o.put("offset", l.regionOffset());
            HeaderRead h = snap.header(c);
            o.put("header", h.describe());
            o.put("headerValid", h instanceof HeaderRead.Valid);
            if (h instanceof HeaderRead.Valid v) {
                o.put("clusterId", v.header().clusterId().toString());
                o.put("clusterName", v.header().clusterName());
                o.put("formatVersion", v.header().formatVersion());
                o.put("slotCount", v.header().slotCount());
                o.put("createdEpochMillis", v.header().createdEpochMillis());
            }
        }
        ArrayNode slots = root.putArray("slots");
        for (DiskSnapshot.SlotPair p : snap.slots()) {
            if (p.primary() instanceof SlotRead.Empty && p.shadow() instanceof SlotRead.Empty && cfg.node(p.nodeId()).isEmpty()) {
                continue;
            }
            ObjectNode o = slots.addObject();
            o.put("id", p.nodeId());
            o.put("node", cfg.node(p.nodeId()).map(NodeConfig::name).orElse(null));
            o.put("reconciled", p.reconciled().verdict().name().toLowerCase(java.util.Locale.ROOT));
            for (Copy c : Copy.values()) {
                SlotRead r = c == Copy.PRIMARY ? p.primary() : p.shadow();
                ObjectNode s = o.putObject(c.label());
                s.put("verdict", r.describe());
                s.put("valid", r.valid());
                if (r instanceof SlotRead.Valid v) {
                    s.put("incarnation", v.slot().incarnation());
                    s.put("counter", Long.toUnsignedString(v.slot().counter()));
                    s.put("state", v.slot().state().label());
                    s.put("degraded", v.slot().degraded());
                    s.put("wallEpochMillis", v.slot().wallEpochMillis());
                    s.put("ageMillis", nowMillis - v.slot().wallEpochMillis());
                }
            }
        }
        return root;
    }
}
