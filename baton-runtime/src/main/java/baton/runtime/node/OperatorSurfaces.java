package baton.runtime.node;

import baton.core.disk.ClusterKey;
import baton.core.disk.DiskHeader;
import baton.core.disk.DiskLayout;
import baton.core.disk.SlotCodec;
import baton.core.fence.FenceRecordCodec;
import baton.runtime.api.ApiServer;
import baton.runtime.api.ApiTls;
import baton.runtime.api.ApiToken;
import baton.runtime.api.OperatorRequests;
import baton.runtime.config.ApiConfig;
import baton.runtime.config.ClusterConfig;
import baton.runtime.config.NodeConfig;
import baton.runtime.config.WorkloadConfig;
import baton.runtime.disk.DiskJson;
import baton.runtime.disk.DiskSnapshot;
import baton.runtime.disk.QuorumDisk;
import baton.runtime.events.EventJournal;
import baton.runtime.fence.FenceBlocks;
import baton.runtime.hooks.HookRunner;
import baton.runtime.log.KvLog;
import baton.runtime.metrics.NodeMetrics;
import baton.runtime.workload.WorkloadBlocks;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicReference;

/**
 * What a node shows and offers its operators besides the log: the event journal every log
 * line goes into, the metrics, the hooks run on events, and the API with the dashboard. None
 * of it is part of the protocols: a failing API start is an alarm in the log, not a reason to
 * leave the cluster, and the parts only read snapshots the event loop hands them.
 */
final class OperatorSurfaces implements AutoCloseable {
    private final ClusterConfig config;
    private final NodeConfig node;
    private final KvLog log;
    private final EventJournal journal = new EventJournal();
    private final NodeMetrics metrics;
    private final HookRunner hooks;
    private final AtomicReference<ObjectNode> status = new AtomicReference<>();
    private volatile ApiServer api;
    private volatile baton.runtime.api.PeerProgress peerProgress;
    private volatile boolean closed;

    OperatorSurfaces(ClusterConfig config, NodeConfig node, KvLog log) {
        this.config = config;
        this.node = node;
        this.log = log;
        java.util.Map<Integer, String> names = new java.util.TreeMap<>();
        config.nodes().forEach(n -> names.put(n.id(), n.name()));
        this.metrics = new NodeMetrics(config.clusterName(), node.name(), names);
        journal.subscribe(metrics::onEvent);
        this.hooks = new HookRunner(config.hooks(), config.clusterName(), node.name(), log);
        journal.subscribe(hooks);
        log.journal(journal);
    }

    /**
     * Starts the API on the node's first address on a low-priority platform thread of its own, so
     * that loading TLS (and generating the certificate on a first start), about a second of CPU,
     * neither delays the event loop nor holds a virtual-thread carrier; on failure says why in
     * the log and runs on without it.
     */
    void startApi(ClusterKey key, QuorumDisk disk, DiskHeader header) {
        Thread.ofPlatform().daemon(true).priority(Thread.MIN_PRIORITY).name("baton-api-start")
                .start(() -> startApiNow(key, disk, header));
    }

    private void startApiNow(ClusterKey key, QuorumDisk disk, DiskHeader header) {
        if (!config.api().enabled()) {
            log.info("event=api-disabled note=" + KvLog.q("api.enabled is false in " + config.file()));
            return;
        }
        InetSocketAddress address = config.api().address(node);
        try {
            int maxWorkloadId = config.workloads().stream().mapToInt(WorkloadConfig::id).max().orElse(1);
            OperatorRequests requests = new OperatorRequests(node, new FenceBlocks(disk, new FenceRecordCodec(header.clusterId(), key)),
                    new WorkloadBlocks(disk, header.clusterId(), key, maxWorkloadId));
            SlotCodec codec = new SlotCodec(header.clusterId(), key);
            ApiServer.Sources sources = new ApiServer.Sources(status::get,
                    () -> DiskJson.inspect(config, DiskSnapshot.take(disk, codec, DiskLayout.MAX_NODES), System.currentTimeMillis()),
                    journal, new ApiServer.Metrics() {
                        @Override
                        public String scrape() {
                            return metrics.scrape();
                        }

                        @Override
                        public String contentType() {
                            return metrics.contentType();
                        }

                        @Override
                        public void countApiRequest(String method, String route, int code) {
                            metrics.countApiRequest(method, route, code);
                        }
                    }, requests);
            baton.runtime.api.PeerSeal seal = baton.runtime.api.PeerSeal.of(key);
            ApiServer started = ApiServer.start(config, node, ApiToken.of(key), seal, ApiTls.serverContext(config.api(), node), sources,
                    log, address);
            synchronized (this) {
                if (closed) {
                    started.close();
                    return;
                }
                api = started;
                peerProgress = baton.runtime.api.PeerProgress.start(config, node, seal, status::get);
            }
            log.info("event=api-listening url=https://" + ApiConfig.hostPort(address) + "/ certificate="
                    + KvLog.q(config.api().certificateOf(node.name())));
        } catch (Exception e) {
            log.warn("event=api-unavailable address=" + ApiConfig.hostPort(address) + " error=" + KvLog.q(e.getMessage())
                    + " alarm=api-unavailable note=" + KvLog.q("the node runs on without its API and dashboard; fix the cause"
                    + " (port in use? certificate unreadable?) and restart the node"));
        }
    }

    /**
     * The event loop's latest view, for the API and the metrics; a migration this node does not
     * take part in gets the progress a node that does last reported ({@code migrationRemote}).
     */
    void status(ObjectNode view) {
        baton.runtime.api.PeerProgress peers = peerProgress;
        if (peers != null) {
            for (com.fasterxml.jackson.databind.JsonNode w : view.path("workloads")) {
                if (w instanceof ObjectNode o && !o.path("migrating").asText("").isEmpty() && !o.has("migrationHere")) {
                    peers.remote(o.path("name").asText(), o.path("owner").asText(null), o.path("next").asText(null))
                            .ifPresent(r -> o.set("migrationRemote", r));
                }
            }
        }
        status.set(view);
        metrics.onStatus(view);
    }

    @Override
    public void close() {
        synchronized (this) {
            closed = true;
            if (api != null) {
                api.close();
            }
            if (peerProgress != null) {
                peerProgress.close();
            }
        }
        hooks.close();
    }
}
