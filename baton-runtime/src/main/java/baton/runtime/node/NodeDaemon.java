package baton.runtime.node;

import baton.core.disk.ClusterKey;
import baton.core.disk.Copy;
import baton.core.disk.DiskHeader;
import baton.core.disk.DiskLayout;
import baton.core.disk.SlotCodec;
import baton.core.disk.SlotRead;
import baton.core.liveness.DiskEffect;
import baton.core.liveness.DiskEvent;
import baton.core.liveness.DiskInput;
import baton.core.liveness.DiskLiveness;
import baton.core.liveness.ExitReason;
import baton.core.liveness.Liveness;
import baton.core.fence.AgentOutcome;
import baton.core.fence.FenceEffect;
import baton.core.fence.FenceInput;
import baton.core.fence.FenceEvent;
import baton.core.fence.FenceRecord;
import baton.core.fence.FenceRecordCodec;
import baton.core.fence.OperatorRequest;
import baton.core.fence.FenceState;
import baton.core.fence.FenceWatch;
import baton.core.fence.FenceWatchEffect;
import baton.core.fence.FenceWatchInput;
import baton.core.fence.Fencing;
import baton.core.fence.PillWatch;
import baton.core.fence.FenceAction;
import baton.core.lease.CoordinatorLease;
import baton.core.lease.LeaseEffect;
import baton.core.lease.LeaseInput;
import baton.core.membership.Membership;
import baton.core.membership.MembershipEvent;
import baton.core.membership.MembershipInput;
import baton.core.membership.Verdict;
import baton.runtime.config.ClusterConfig;
import baton.runtime.config.NodeConfig;
import baton.runtime.disk.DiskCopy;
import baton.runtime.fence.AgentAction;
import baton.runtime.fence.AgentResult;
import baton.runtime.fence.FenceAgent;
import baton.runtime.fence.FenceBlocks;
import baton.runtime.fence.FenceDevice;
import baton.runtime.fence.FenceMonitorRunner;
import baton.runtime.disk.DiskRefusedException;
import baton.runtime.disk.QuorumDisk;
import baton.runtime.log.KvLog;
import baton.runtime.net.HeartbeatService;
import baton.runtime.net.HeartbeatSink;
import java.io.IOException;
import java.nio.file.Files;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The node daemon: one event loop that owns the node's cores (disk liveness, membership) and
 * their state; blocking I/O on virtual threads and heartbeats on their own threads, all
 * reporting back as input records; a ticker that feeds the monotonic clock. Nothing but the
 * loop thread touches a core.
 *
 * <p>Shutdown: SIGTERM (or {@link #requestLeave}) asks the disk core to leave cleanly: it
 * writes its slot in state "left" to both copies, then the loop ends. The process's exit
 * status says why it stopped ({@link ExitStatus}).
 *
 * <p>Rejoin: when the membership core finds that this node was paused or starved for longer
 * than a peer may be silent, others may have declared it down. It stops its workloads and
 * starts over with a new incarnation: new cores, a new join, heartbeats with the new
 * incarnation. Completions of I/O issued by the old cores are recognised by their
 * generation and dropped.
 */
public final class NodeDaemon {
    /** Limit: inputs waiting for the loop. Producers block (never drop) when it is full. */
    static final int INBOX_CAPACITY = 4096;
    /** How often the status file is rewritten. */
    static final long STATUS_EVERY_NANOS = 500_000_000L;

    /** What enters the loop. */
    private sealed interface Input {
        record Tick(long nowNanos, long wallMillis) implements Input {}

        /** A disk completion of the cores of {@code generation}. */
        record Disk(int generation, DiskInput input) implements Input {}

        record Net(MembershipInput input) implements Input {}

        /** A fence agent's completion, for the cores of {@code generation}. */
        record Fence(int generation, FenceInput input) implements Input {}

        /** A lease I/O completion of the cores of {@code generation}. */
        record Lease(int generation, LeaseInput input) implements Input {}

        record Leave(long nowNanos, long wallMillis) implements Input {}

        /** A completion of the fence ledger's disk I/O, to run on the loop. */
        record Call(Runnable action) implements Input {}

        /** A read of this node's fence record for the pill watch of {@code generation}. */
        record Pill(int generation, Copy copy, long cycle, byte[] block, String error) implements Input {}

        /** A monitor call on another node's fence device, for the watch of {@code generation}. */
        record Monitor(int generation, FenceWatchInput.MonitorDone done) implements Input {}
    }

    /** How often the coordinator reads the operators' requests from the quorum disk. */
    static final long REQUEST_POLL_NANOS = 1_000_000_000L;

    private final ClusterConfig config;
    private final NodeConfig node;
    private final KvLog log;
    private final QuorumDisk disk;
    private final DiskHeader header;
    private final SlotCodec codec;
    private final ClusterKey key;
    private final WorkloadHost workloads;
    private final RunDir runDir;
    private final BlockingQueue<Input> inbox = new ArrayBlockingQueue<>(INBOX_CAPACITY);
    private final java.util.concurrent.ExecutorService statusWriter = java.util.concurrent.Executors.newSingleThreadExecutor(
            Thread.ofPlatform().daemon(true).name("baton-status").factory());
    private final java.util.concurrent.ExecutorService diskIo = java.util.concurrent.Executors.newCachedThreadPool(
            Thread.ofPlatform().daemon(true).priority(Thread.MAX_PRIORITY).name("baton-disk-io-", 0).factory());
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final DiskIoStats stats = new DiskIoStats();
    private final AtomicBoolean statusWriting = new AtomicBoolean();
    private final java.util.concurrent.atomic.AtomicLong droppedInputs = new java.util.concurrent.atomic.AtomicLong();
    private volatile boolean running = true;
    private volatile int exitStatus = ExitStatus.FAILURE;

    // Owned by the loop thread.
    private int generation;
    private long incarnation;
    private DiskLiveness diskCore;
    private Membership membership;
    private CoordinatorLease lease;
    private Fencing fencing;
    private PillWatch pillWatch;
    private FenceWatch fenceWatch;
    private final FenceAgent fenceAgent = new FenceAgent();
    private final FenceRecordCodec fenceCodec;
    private final FenceLedger ledger;
    private final FenceMonitorRunner monitorRunner;
    private long lastRequestPollNanos;
    private boolean leaving;
    /** For the supervisor: when the loop last handled a tick (or the time until which it is busy on purpose). */
    private volatile long loopBeatNanos = System.nanoTime();
    /** For the supervisor: when the disk core last issued a slot write, and how many are outstanding. */
    private volatile long lastSlotWriteNanos = System.nanoTime();
    private final java.util.concurrent.atomic.AtomicInteger slotWritesOutstanding = new java.util.concurrent.atomic.AtomicInteger();
    private Supervisor supervisor;
    /** Fenced verdicts whose record could not be written yet: retried every tick, recorded before believed. */
    private final java.util.List<FenceEffect.Fenced> unrecordedFences = new java.util.ArrayList<>();
    private boolean recordingFence;
    /** The operator request the current fencing step answers, if any. */
    private OperatorRequest answering;
    private HeartbeatService heartbeats;
    private long lastStatusNanos;
    private final OperatorSurfaces surfaces;

    private NodeDaemon(ClusterConfig config, NodeConfig node, KvLog log, QuorumDisk disk, DiskHeader header,
                       SlotCodec codec, ClusterKey key, long incarnation, RunDir runDir) {
        this.config = config;
        this.node = node;
        this.log = log;
        this.disk = disk;
        this.header = header;
        this.codec = codec;
        this.key = key;
        this.incarnation = incarnation;
        this.runDir = runDir;
        this.surfaces = new OperatorSurfaces(config, node, log);
        this.fenceCodec = new FenceRecordCodec(header.clusterId(), key);
        this.ledger = new FenceLedger(new FenceBlocks(disk, fenceCodec), node.id(), config.maxNodeId(), log,
                action -> offer(new Input.Call(action)));
        this.monitorRunner = new FenceMonitorRunner(fenceAgent, config.fenceDevices(), done -> {
            int gen = generation;
            offer(new Input.Monitor(gen, done));
        });
        newCores();
        java.nio.file.Path veDir = (runDir == null ? RunDir.of(RunDir.DEFAULT_ROOT, config.clusterName()) : runDir).dir()
                .resolve(node.name()).resolve("ve");
        int maxWorkloadId = config.workloads().stream().mapToInt(baton.runtime.config.WorkloadConfig::id).max().orElse(1);
        this.workloads = new WorkloadHost(config, node, log, action -> offer(new Input.Call(action)),
                new baton.runtime.workload.WorkloadBlocks(disk, header.clusterId(), key, maxWorkloadId), veDir, incarnation,
                new ClusterSide());
    }

    private void newCores() {
        generation++;
        diskCore = new DiskLiveness(node.id(), header, codec, config.timeouts(), incarnation, config.maxNodeId());
        membership = new Membership(node.id(), config.maxNodeId(), node.addresses().size(), config.timeouts());
        lease = new CoordinatorLease(node.id(), config.maxNodeId(), header.clusterId(), key, config.timeouts(), incarnation);
        fencing = new Fencing(config.fenceTopology(), config.fencing().timing(config.timeouts()));
        pillWatch = new PillWatch(node.id(), incarnation, config.timeouts(), fenceCodec);
        // Every configured node is watched: one without levels has no fencing path, and says so.
        java.util.Map<Integer, java.util.List<baton.core.fence.FenceLevel>> all = new java.util.TreeMap<>();
        config.nodes().forEach(n -> all.put(n.id(), config.fenceTopology().levels(n.id())));
        fenceWatch = new FenceWatch(new baton.core.fence.FenceTopology(all), node.id(), config.fencing().monitorTiming());
    }

    /**
     * Opens and checks the quorum disk and prepares the cores. Throws {@link StartFailure}
     * carrying the exit status when the node must not start.
     */
    public static NodeDaemon prepare(ClusterConfig config, NodeConfig node, ClusterKey key, KvLog log,
                                     RunDir runDir) throws StartFailure {
        QuorumDisk disk;
        QuorumDisk.Verified verified;
        try {
            disk = QuorumDisk.open(config.quorumDisk(), true);
            try {
                verified = disk.verify(config.clusterName(), key, true);
            } catch (DiskRefusedException e) {
                disk.close();
                throw e;
            }
        } catch (DiskRefusedException e) {
            int status = e.ioFailure() ? ExitStatus.JOIN_REFUSED : ExitStatus.DISK_REFUSED;
            throw new StartFailure(status, (e.ioFailure() ? "event=join-refused" : "event=disk-refused")
                    + " reason=" + KvLog.q(e.getMessage()));
        }
        for (String note : verified.notes()) {
            log.warn("event=disk-header note=" + KvLog.q(note));
        }
        for (Copy c : Copy.values()) {
            DiskCopy d = disk.copy(c);
            if (d == null) {
                continue;
            }
            if (d.direct()) {
                log.info("event=disk-open copy=" + c.label() + " path=" + KvLog.q(d.path()) + " offset=" + d.regionOffset()
                        + " io=" + d.ioMode());
            } else {
                log.warn("event=disk-open copy=" + c.label() + " path=" + KvLog.q(d.path()) + " offset=" + d.regionOffset()
                        + " io=" + KvLog.q(d.ioMode()) + " note=" + KvLog.q("direct I/O unavailable on this file system;"
                        + " every write is followed by fdatasync"));
            }
        }
        DiskHeader header = verified.header();
        SlotCodec codec = new SlotCodec(header.clusterId(), key);
        long previous = previousIncarnation(disk, codec, node.id());
        long incarnation = DiskLiveness.nextIncarnation(previous, System.currentTimeMillis());
        log.info("event=starting id=" + node.id() + " incarnation=" + incarnation + " cluster=" + config.clusterName()
                + " rings=" + node.addresses().size() + " disk-interval-ms=" + config.timeouts().diskIntervalMillis()
                + " disk-timeout-ms=" + config.timeouts().diskTimeoutMillis() + " network-timeout-ms="
                + config.timeouts().networkTimeoutMillis());
        return new NodeDaemon(config, node, log, disk, header, codec, key, incarnation, runDir);
    }

    /** The highest incarnation found in this node's slot on either copy, or 0. */
    private static long previousIncarnation(QuorumDisk disk, SlotCodec codec, int nodeId) {
        long max = 0;
        for (Copy c : Copy.values()) {
            DiskCopy d = disk.copy(c);
            if (d == null) {
                continue;
            }
            try {
                byte[] b = d.read(DiskLayout.slotOffsetBytes(nodeId), DiskLayout.BLOCK_SIZE_BYTES);
                if (codec.decode(b, 0, nodeId) instanceof SlotRead.Valid v) {
                    max = Math.max(max, v.slot().incarnation());
                }
            } catch (IOException e) {
                // The core's first cycle finds and reports the failing copy.
            }
        }
        return max;
    }

    /** Runs the event loop until the node stops; returns the process exit status. */
    public int run() {
        // The loop's clock and its disk I/O run on platform threads of their own, never on the
        // virtual-thread scheduler's few carriers, which CPU-bound work elsewhere in the daemon
        // (the API's TLS, JSON, a hook's output) can hold for a while: a late tick or a disk
        // completion queued behind it would look like a slow disk and make the node leave.
        Thread ticker = Thread.ofPlatform().daemon(true).priority(Thread.MAX_PRIORITY).name("baton-ticker").start(this::tick);
        try {
            if (runDir != null) {
                runDir.writePid(node.name(), ProcessHandle.current().pid());
            }
            if (!workloads.cleanUp()) {
                log.error("event=exit reason=workload-leftover status=" + ExitStatus.FAILURE + " detail="
                        + KvLog.q("a workload left running by an earlier daemon could not be stopped; stop it by hand"));
                return ExitStatus.FAILURE;
            }
            heartbeats = new HeartbeatService(config, node, header.clusterId(), key, incarnation, new Sink());
            heartbeats.start();
            surfaces.startApi(key, disk, header);
            supervisor = supervisor();
            loopBeatNanos = System.nanoTime();
            lastSlotWriteNanos = System.nanoTime();
            supervisor.start();
            // The loop gets a platform thread of its own name: the lab's tests freeze it by that name
            // to show a stuck loop (the JVM does not rename a launcher's main thread for the OS).
            RuntimeException[] broke = new RuntimeException[1];
            Thread loop = Thread.ofPlatform().priority(Thread.MAX_PRIORITY).name("baton-loop").start(() -> {
                try {
                    while (running) {
                        Input in = inbox.poll(1, TimeUnit.SECONDS);
                        if (in != null) {
                            handle(in);
                        }
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    running = false;
                } catch (RuntimeException e) {
                    broke[0] = e;
                }
            });
            loop.join();
            if (broke[0] != null) {
                throw broke[0];
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            log.error("event=loop-interrupted");
        } catch (IOException e) {
            log.error("event=start-failed error=" + KvLog.q(e));
            exitStatus = ExitStatus.FAILURE;
        } catch (RuntimeException e) {
            // A broken invariant: fail loudly and let the cluster treat this node as failed.
            log.error("event=invariant-broken error=" + KvLog.q(e));
            e.printStackTrace();
            exitStatus = ExitStatus.FAILURE;
        } finally {
            running = false;
            if (supervisor != null) {
                supervisor.stop();
            }
            ticker.interrupt();
            diskIo.shutdownNow(); // an I/O stuck in the kernel keeps its (daemon) thread; nothing waits for it
            statusWriter.shutdown();
            if (heartbeats != null) {
                heartbeats.close();
            }
            ledger.close();
            workloads.close();
            surfaces.close();
            disk.close();
            if (runDir != null) {
                try {
                    // A write still under way would put the file back after it is deleted.
                    statusWriter.awaitTermination(1, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                try {
                    Files.deleteIfExists(runDir.pidFile(node.name()));
                    Files.deleteIfExists(runDir.statusFile(node.name()));
                } catch (IOException ignored) {
                    // the folder is only for local commands; a stale file names a dead pid
                }
            }
            stopped.countDown();
        }
        return exitStatus;
    }

    private void handle(Input in) {
        switch (in) {
            case Input.Tick t -> {
                loopBeatNanos = Math.max(loopBeatNanos, System.nanoTime());
                diskStep(new DiskInput.Tick(t.nowNanos(), t.wallMillis()));
                membershipStep(new MembershipInput.Tick(t.nowNanos()));
                // Only a member competes for the coordinator lease.
                if (diskCore.phase() == DiskLiveness.Phase.MEMBER) {
                    leaseStep(new LeaseInput.Tick(t.nowNanos(), t.wallMillis()));
                }
                // The lease decides who may fence; a belief that ran out stops fencing at once.
                if (fencing.isCoordinator() && !lease.isCoordinator(t.nowNanos())) {
                    ceaseLedger();
                    fencingStep(new FenceInput.CoordinatorChanged(t.nowNanos(), false, lease.generation()));
                }
                fencingStep(new FenceInput.Tick(t.nowNanos()));
                if (diskCore.phase() == DiskLiveness.Phase.MEMBER && running) {
                    pillStep(pillWatch.tick(t.nowNanos()));
                    watchStep(new FenceWatchInput.Tick(t.nowNanos()));
                }
                if (t.nowNanos() - lastRequestPollNanos >= REQUEST_POLL_NANOS && diskCore.phase() == DiskLiveness.Phase.MEMBER) {
                    lastRequestPollNanos = t.nowNanos();
                    if (fencing.isCoordinator()) {
                        ledger.pollRequests(this::onRequest);
                        retryUnrecordedFences();
                    } else if (fencing.view().stream().anyMatch(FenceState.NodeView::down)) {
                        // A follower learns from the records that the coordinator fenced a node it holds down.
                        ledger.readDead(this::believeRecord);
                    }
                }
                if (running) {
                    workloads.tick(t.nowNanos());
                }
                if (t.nowNanos() - lastStatusNanos >= STATUS_EVERY_NANOS) {
                    lastStatusNanos = t.nowNanos();
                    writeStatus();
                }
            }
            case Input.Disk d -> {
                if (d.generation() != generation) {
                    return; // issued by cores this node has replaced (it rejoined)
                }
                account(d.input());
                diskStep(d.input());
                // Membership hears from the disk only once this node has joined: before that, a
                // slow first read (a JVM still starting) says nothing about the others.
                if (d.input() instanceof DiskInput.ReadDone && diskCore.phase() == DiskLiveness.Phase.MEMBER) {
                    for (DiskLiveness.NodeView v : diskCore.view()) {
                        if (v.nodeId() != node.id() && running) {
                            membershipStep(new MembershipInput.Disk(d.input().nowNanos(), v.nodeId(), v.liveness(),
                                    v.unchangedForNanos(), v.slot() == null ? 0 : v.slot().incarnation(), v.evidence()));
                        }
                    }
                }
            }
            case Input.Net n -> membershipStep(n.input());
            case Input.Fence f -> {
                if (f.generation() == generation) {
                    fencingStep(f.input());
                }
            }
            case Input.Lease l -> {
                if (l.generation() == generation) {
                    stats.record(() -> {
                        if (l.input() instanceof LeaseInput.ReadDone r && r.bytes() != null) {
                            stats.read(r.bytes().length);
                        } else if (l.input() instanceof LeaseInput.WriteDone w && w.error() == null) {
                            stats.wrote(DiskLayout.BLOCK_SIZE_BYTES);
                        }
                    });
                    leaseStep(l.input());
                }
            }
            case Input.Leave l -> {
                if (leaving) {
                    return;
                }
                leaving = true;
                log.info("event=leaving note=" + KvLog.q("stopping this node's workloads before it leaves"));
                // Its workloads stop first; only then does its slot say "left", which lets others recover them.
                workloads.leave(() -> {
                    long now = System.nanoTime();
                    leaseStep(new LeaseInput.Resign(now));
                    diskStep(new DiskInput.LeaveRequested(now, System.currentTimeMillis()));
                });
            }
            case Input.Call c -> c.action().run();
            case Input.Pill p -> {
                if (p.generation() == generation && running) {
                    pillStep(pillWatch.readDone(System.nanoTime(), p.copy(), p.cycle(), p.block(), p.error()));
                }
            }
            case Input.Monitor m -> {
                if (m.generation() == generation) {
                    watchStep(m.done());
                }
            }
        }
    }

    /** Stops every workload now, on the loop, bounded; the supervisor knows the loop is busy on purpose meanwhile. */
    private int stopAllNow(String reason) {
        loopBeatNanos = System.nanoTime() + config.fencing().workloadStopMillis() * 1_000_000L + SUPERVISOR_LIMIT_FLOOR_NANOS;
        return workloads.stopAllNow(reason);
    }

    /**
     * The least the supervisor waits for a part. A part slower than a timeout but back within
     * this is the membership core's business (a late node rejoins); the supervisor is for a part
     * that does not come back.
     */
    static final long SUPERVISOR_LIMIT_FLOOR_NANOS = 5_000_000_000L;

    /** The daemon's own parts, each with its limit (docs/failure-scenarios.md, "Baton's own parts"). */
    private Supervisor supervisor() {
        long diskLimit = Math.max(SUPERVISOR_LIMIT_FLOOR_NANOS, 4 * config.timeouts().diskTimeoutNanos());
        long netLimit = Math.max(SUPERVISOR_LIMIT_FLOOR_NANOS, 4 * config.timeouts().networkTimeoutNanos());
        HeartbeatService hb = heartbeats;
        java.util.List<Supervisor.Part> parts = java.util.List.of(
                Supervisor.progress("event-loop", diskLimit, () -> loopBeatNanos, "the event loop (which drives the disk loop)"),
                // The disk loop runs on the event loop: while the loop itself is stuck, that is what is reported.
                Supervisor.part("disk-loop", now -> slotWritesOutstanding.get() == 0 && now - lastSlotWriteNanos > diskLimit
                        && now - loopBeatNanos <= diskLimit / 2
                        ? java.util.Optional.of("no slot write issued for " + (now - lastSlotWriteNanos) / 1_000_000 + " ms (limit "
                                + diskLimit / 1_000_000 + " ms)")
                        : java.util.Optional.empty()),
                Supervisor.part("heartbeat-loop", now -> !hb.senderAlive() ? java.util.Optional.of("the heartbeat send thread is dead")
                        : now - hb.lastSendLoopNanos() > netLimit ? java.util.Optional.of("the heartbeat send thread is stuck: no"
                                + " round for " + (now - hb.lastSendLoopNanos()) / 1_000_000 + " ms (limit " + netLimit / 1_000_000 + " ms)")
                        : java.util.Optional.empty()),
                Supervisor.part("workload-monitor", workloads::stuck));
        return new Supervisor(parts, config.timeouts().diskTimeoutNanos(), Math.max(diskLimit, netLimit), this::fenceSelfFromSupervisor);
    }

    /**
     * On the supervisor's thread: a part of this node is stuck or dead. Stop what can be stopped,
     * within the workload stop time, and end the process at once (its loop may never answer):
     * its slot and heartbeats stop, the others declare it down and fence it by power.
     */
    private void fenceSelfFromSupervisor(String why) {
        log.error("event=self-fence reason=" + KvLog.q(why) + " note=" + KvLog.q("a part of this node is stuck or dead;"
                + " it stops its workloads and exits so that the cluster fences it"));
        int n = workloads.stopAllFromOutside(ExitReason.SELF_FENCE.label());
        log.error("event=workloads-stopped count=" + n + " reason=" + ExitReason.SELF_FENCE.label());
        log.error("event=exit reason=" + ExitReason.SELF_FENCE.label() + " status=" + ExitReason.SELF_FENCE.exitStatus
                + " detail=" + KvLog.q(why));
        System.err.flush();
        Runtime.getRuntime().halt(ExitReason.SELF_FENCE.exitStatus);
    }

    /** The victim's side of the poison pill: reads of this node's fence record, and the exit. */
    private void pillStep(java.util.List<PillWatch.Effect> effects) {
        int gen = generation;
        for (PillWatch.Effect e : effects) {
            switch (e) {
                case PillWatch.Effect.Read r -> read(r.copy(), "pill-read",
                        d -> d.read((long) DiskLayout.fenceRecordBlock(node.id()) * DiskLayout.BLOCK_SIZE_BYTES, DiskLayout.BLOCK_SIZE_BYTES),
                        (block, err) -> new Input.Pill(gen, r.copy(), r.cycle(), block, err));
                case PillWatch.Effect.Exit x -> {
                    ExitReason reason = x.pill() ? ExitReason.POISON_PILL : ExitReason.LOST_DISK;
                    int n = stopAllNow(reason.label());
                    log.error("event=workloads-stopped count=" + n + " reason=" + reason.label());
                    log.error("event=exit reason=" + reason.label() + " status=" + reason.exitStatus + " detail=" + KvLog.q(x.detail()));
                    exitStatus = reason.exitStatus;
                    running = false;
                }
            }
        }
    }

    /** The watch over the other nodes' power switches: monitor calls and their alarms. */
    private void watchStep(FenceWatchInput in) {
        long now = System.nanoTime();
        for (FenceWatchEffect e : fenceWatch.step(in)) {
            switch (e) {
                case FenceWatchEffect.RunMonitor r -> monitorRunner.run(r, now);
                case FenceWatchEffect.Report r -> {
                    String fields = r.event().fields();
                    if (r.event() instanceof baton.core.fence.FenceWatchEvent.NoFencingPath p) {
                        fields += " peer=" + config.node(p.nodeId()).map(NodeConfig::name).orElse("?");
                    }
                    log.line(r.event().warning() ? KvLog.Level.WARN : KvLog.Level.INFO, fields);
                }
            }
        }
    }

    /** An operator's request read from the quorum disk by this coordinator. */
    private void onRequest(OperatorRequest r) {
        if (!r.kind().fence()) {
            workloads.request(r); // a workload or node request: answered in the requester's answer sector
            return;
        }
        String from = config.node(r.requesterId()).map(NodeConfig::name).orElse("node " + r.requesterId());
        String target = config.node(r.targetId()).map(NodeConfig::name).orElse(null);
        log.warn("event=fence-request kind=" + r.kind().label + " from=" + from + " target=" + target + " seq=" + r.seq()
                + " incarnation=" + r.targetIncarnation() + " reason=" + KvLog.q(r.reason()));
        long now = System.nanoTime();
        String refusal = null;
        if (target == null) {
            refusal = "node id " + r.targetId() + " is not in the configuration";
        } else if (Math.abs(System.currentTimeMillis() - r.wallEpochMillis()) > FenceLedger.REQUEST_MAX_AGE_MILLIS) {
            refusal = "the request is older than " + FenceLedger.REQUEST_MAX_AGE_MILLIS / 1000 + " s by this node's clock";
        } else if (r.targetId() == node.id()) {
            refusal = "the coordinator does not fence itself; ask again when another node holds the role, or stop it by hand";
        }
        if (refusal != null) {
            ledger.answer(r.targetId(), r);
            ledger.record(r.targetId(), r.targetIncarnation(), FenceRecord.State.REFUSED, refusal, false, lease.generation(), null);
            return;
        }
        answering = r;
        try {
            switch (r.kind()) {
                case FENCE -> {
                    long inc = r.targetIncarnation() != 0 ? r.targetIncarnation() : membership.newestIncarnation(r.targetId());
                    fencingStep(new FenceInput.OperatorFence(now, r.targetId(), inc, from + ": " + r.reason()));
                }
                case CONFIRM -> {
                    FenceState.NodeView v = fencing.view().stream().filter(n -> n.nodeId() == r.targetId()).findFirst().orElse(null);
                    if (v != null && r.targetIncarnation() != 0 && v.incarnation() != r.targetIncarnation()) {
                        ledger.answer(r.targetId(), r);
                        ledger.record(r.targetId(), r.targetIncarnation(), FenceRecord.State.REFUSED, "incarnation "
                                + r.targetIncarnation() + " is not the one down (" + v.incarnation() + ")", false, lease.generation(), null);
                    } else {
                        fencingStep(new FenceInput.OperatorConfirm(now, r.targetId()));
                    }
                }
            }
        } finally {
            answering = null;
        }
    }

    /** No longer coordinator: nothing more goes to the ledger; a fence not yet recorded is the next coordinator's. */
    private void ceaseLedger() {
        ledger.ceased();
        unrecordedFences.clear();
    }

    /** Writes the fence record of a Fenced verdict, then lets membership believe it. */
    private void recordFence(FenceEffect.Fenced f) {
        recordingFence = true;
        FenceRecord.State state = f.how().equals("operator") ? FenceRecord.State.CONFIRMED : FenceRecord.State.FENCED;
        ledger.record(f.nodeId(), f.incarnation(), state, f.how(), false, f.generation(), errors -> {
            recordingFence = false;
            if (errors.size() >= 2) {
                log.error("event=fence-record-failed peer-id=" + f.nodeId() + " errors=" + KvLog.q(String.join("; ", errors))
                        + " note=" + KvLog.q("the fence is believed only once it is on the quorum disk; retrying"));
                unrecordedFences.add(f);
                return;
            }
            membershipStep(new MembershipInput.Fenced(System.nanoTime(), f.nodeId(), f.incarnation(), f.how()));
            retryUnrecordedFences();
        });
    }

    private void retryUnrecordedFences() {
        if (!recordingFence && !unrecordedFences.isEmpty() && fencing.isCoordinator()) {
            recordFence(unrecordedFences.removeFirst());
        }
    }

    private void diskStep(DiskInput in) {
        for (DiskEffect e : diskCore.step(in)) {
            perform(e);
        }
    }

    private void membershipStep(MembershipInput in) {
        for (MembershipEvent e : membership.step(in)) {
            if (e instanceof MembershipEvent.VerdictChanged && heartbeats != null) {
                heartbeats.setHeldDown(membership.downBitmap());
            }
            switch (e) {
                case MembershipEvent.VerdictChanged c -> {
                    long now = in.nowNanos();
                    // The verdict first, then what fencing makes of it: the log reads in cause order.
                    String name = config.node(c.peer()).map(NodeConfig::name).orElse("?");
                    String fields = c.fields().replace("node-id=" + c.peer(), "peer=" + name + " peer-id=" + c.peer());
                    boolean alarm = c.to().alarm();
                    log.line(alarm ? KvLog.Level.WARN : KvLog.Level.INFO,
                            fields + (alarm ? " alarm=" + c.to().label() : ""));
                    boolean wasDown = c.from() == Verdict.DOWN || c.from() == Verdict.FENCED;
                    boolean isDown = c.to() == Verdict.DOWN || c.to() == Verdict.FENCED;
                    if (c.to() == Verdict.DOWN && !wasDown) {
                        fencingStep(new FenceInput.VerdictDown(now, c.peer(), membership.downIncarnation(c.peer()), c.evidence()));
                    } else if (wasDown && !isDown) {
                        fencingStep(new FenceInput.VerdictBack(now, c.peer(), membership.newestIncarnation(c.peer())));
                    }
                }
                case MembershipEvent.SelfPaused p -> rejoin(p.fields());
                case MembershipEvent.DeclaredDown d -> rejoin(d.fields());
            }
        }
    }

    private void leaseStep(LeaseInput in) {
        int gen = generation;
        for (LeaseEffect e : lease.step(in)) {
            switch (e) {
                case LeaseEffect.ReadBlocks r -> read(r.copy(), "lease-read",
                        d -> d.read((long) r.firstBlock() * DiskLayout.BLOCK_SIZE_BYTES, r.blockCount() * DiskLayout.BLOCK_SIZE_BYTES),
                        (bytes, err) -> new Input.Lease(gen, new LeaseInput.ReadDone(System.nanoTime(), r.copy(), r.ioId(), bytes, err)));
                case LeaseEffect.WriteBlock w -> io(w.copy(), "lease-write",
                        d -> d.write((long) w.block() * DiskLayout.BLOCK_SIZE_BYTES, w.bytes()),
                        err -> new Input.Lease(gen, new LeaseInput.WriteDone(System.nanoTime(), w.copy(), w.ioId(), err)));
                case LeaseEffect.Report r -> log.info(r.event().fields());
                case LeaseEffect.BecameCoordinator b -> {
                    log.info("event=coordinator role=coordinator generation=" + b.generation()
                            + " note=" + KvLog.q("this node takes the cluster-wide decisions"));
                    ledger.becameCoordinator(b.generation(), this::believeRecord);
                    fencingStep(new FenceInput.CoordinatorChanged(System.nanoTime(), true, b.generation()));
                }
                case LeaseEffect.CeasedCoordinator c -> {
                    log.warn("event=coordinator role=follower generation=" + c.generation() + " reason=" + KvLog.q(c.reason()));
                    ceaseLedger();
                    fencingStep(new FenceInput.CoordinatorChanged(System.nanoTime(), false, c.generation()));
                }
            }
        }
    }

    private void fencingStep(FenceInput in) {
        int gen = generation;
        for (FenceEffect e : fencing.step(in)) {
            switch (e) {
                case FenceEffect.RunAgent r -> runAgent(gen, r);
                case FenceEffect.WritePill p -> {
                    log.warn("event=fence-pill peer-id=" + p.nodeId() + " incarnation=" + p.incarnation() + " generation=" + p.generation());
                    ledger.record(p.nodeId(), p.incarnation(), FenceRecord.State.FENCING, "poison pill", true, p.generation(), errors -> {
                        if (gen == generation) {
                            fencingStep(new FenceInput.AgentDone(System.nanoTime(), p.requestId(), p.nodeId(),
                                    baton.core.fence.FenceLevel.POISON_PILL, FenceAction.PILL, errors.isEmpty()
                                            ? AgentOutcome.SUCCESS : AgentOutcome.failed(String.join("; ", errors))));
                        }
                    });
                }
                case FenceEffect.Fenced f -> {
                    String name = config.node(f.nodeId()).map(NodeConfig::name).orElse("?");
                    log.warn("event=fenced peer=" + name + " peer-id=" + f.nodeId() + " incarnation=" + f.incarnation()
                            + " generation=" + f.generation() + " how=" + KvLog.q(f.how()));
                    recordFence(f);
                }
                case FenceEffect.Report r -> {
                    log.warn(r.event().fields() + " generation=" + r.generation());
                    ledgerEvent(r);
                }
            }
        }
    }

    /** A fence record that says an incarnation is dead: the fencing core believes it (and tells membership). */
    private void believeRecord(FenceRecord r) {
        fencingStep(new FenceInput.Recorded(System.nanoTime(), r.victimId(), r.victimIncarnation(), r.text()));
    }

    /** What the coordinator records on the quorum disk for a fencing event. */
    private void ledgerEvent(FenceEffect.Report r) {
        if (r.event() instanceof FenceEvent.AlreadyFenced a) {
            membershipStep(new MembershipInput.Fenced(System.nanoTime(), a.nodeId(), a.incarnation(), a.how()));
            return;
        }
        if (!fencing.isCoordinator() && !(r.event() instanceof FenceEvent.RequestRefused)
                && !(r.event() instanceof FenceEvent.ConfirmRefused)) {
            return;
        }
        long gen = r.generation();
        switch (r.event()) {
            case FenceEvent.OperatorRequested q -> ledger.answer(q.nodeId(), answering);
            case FenceEvent.OperatorConfirmed c -> ledger.answer(c.nodeId(), answering);
            case FenceEvent.RequestRefused q -> refuse(q.nodeId(), q.reason(), gen);
            case FenceEvent.ConfirmRefused c -> refuse(c.nodeId(), c.reason(), gen);
            case FenceEvent.Started s -> ledger.record(s.nodeId(), s.incarnation(), FenceRecord.State.FENCING, "round " + s.round()
                    + ", level " + s.level() + ": " + s.devices() + "; " + s.evidence(), false, gen, null);
            case FenceEvent.CannotDetermineState c -> ledger.record(c.nodeId(), c.incarnation(), FenceRecord.State.CANNOT_DETERMINE,
                    c.reason(), false, gen, null);
            case FenceEvent.Cancelled c -> ledger.record(c.nodeId(), c.incarnation(), FenceRecord.State.CANCELLED,
                    "a newer incarnation " + c.newIncarnation() + " joined", false, gen, null);
            default -> { }
        }
    }

    private void refuse(int nodeId, String reason, long gen) {
        if (answering != null && fencing.isCoordinator()) {
            ledger.answer(nodeId, answering);
            ledger.record(nodeId, answering.targetIncarnation(), FenceRecord.State.REFUSED, reason, false, gen, null);
        }
    }

    /** Runs one fence agent call on a virtual thread; its outcome comes back as an input. */
    private void runAgent(int gen, FenceEffect.RunAgent r) {
        FenceDevice device = config.fenceDevices().get(r.device());
        AgentAction action = switch (r.action()) {
            case OFF -> AgentAction.OFF;
            case STATUS -> AgentAction.STATUS;
            case REBOOT -> AgentAction.REBOOT;
            case PILL -> throw new IllegalStateException("a poison pill is no agent call: " + r);
        };
        log.info("event=fence-agent device=" + r.device() + " action=" + action.wireName() + " peer-id=" + r.nodeId()
                + " generation=" + r.generation() + (device == null ? "" : " params=" + KvLog.q(device.redacted())));
        Thread.ofVirtual().name("baton-fence-agent").start(() -> {
            AgentOutcome outcome;
            if (device == null) {
                outcome = AgentOutcome.failed("no fence device named '" + r.device() + "' in the configuration");
            } else {
                try {
                    long left = Math.max(1_000_000L, r.deadlineNanos() - System.nanoTime());
                    AgentResult result = fenceAgent.run(device, action, java.time.Duration.ofNanos(left));
                    log.info("event=fence-agent-done device=" + r.device() + " action=" + action.wireName()
                            + " result=" + KvLog.q(result.summary()));
                    outcome = FenceMonitorRunner.outcome(result);
                } catch (InterruptedException x) {
                    Thread.currentThread().interrupt();
                    outcome = AgentOutcome.failed("interrupted");
                }
            }
            offer(new Input.Fence(gen, new FenceInput.AgentDone(System.nanoTime(), r.requestId(), r.nodeId(), r.device(),
                    r.action(), outcome)));
        });
    }

    /** This node was silent long enough to have been declared down: start over as a new incarnation. */
    private void rejoin(String why) {
        log.warn(why + " action=rejoin note=" + KvLog.q("others may have declared this node down;"
                + " it stops its workloads and rejoins with a new incarnation"));
        int n = stopAllNow("paused past the timeouts");
        log.warn("event=workloads-stopped count=" + n + " reason=self-paused");
        incarnation = DiskLiveness.nextIncarnation(incarnation, System.currentTimeMillis());
        newCores();
        workloads.newIncarnation(incarnation);
        heartbeats.setIncarnation(incarnation);
        heartbeats.setHeldDown(0);
        log.info("event=rejoining incarnation=" + incarnation);
        diskStep(new DiskInput.Tick(System.nanoTime(), System.currentTimeMillis()));
    }

    public DiskIoStats stats() {
        return stats;
    }

    private void account(DiskInput in) {
        stats.record(() -> {
            switch (in) {
                case DiskInput.WriteDone w -> {
                    stats.completed(w.cycle(), w.nowNanos());
                    if (w.error() == null) {
                        stats.wrote(DiskLayout.BLOCK_SIZE_BYTES);
                    }
                }
                case DiskInput.ReadDone r -> {
                    stats.completed(r.cycle(), r.nowNanos());
                    if (r.area() != null) {
                        stats.read(r.area().length);
                    }
                }
                case DiskInput.Tick t -> { }
                case DiskInput.RepairDone r -> { }
                case DiskInput.LeaveRequested l -> { }
            }
        });
    }

    /** Asks the node to leave cleanly (SIGTERM, {@code baton node leave}); waits at most {@code timeoutMillis}. */
    public boolean requestLeave(long timeoutMillis) {
        if (running) {
            offer(new Input.Leave(System.nanoTime(), System.currentTimeMillis()));
        }
        try {
            return stopped.await(timeoutMillis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private void tick() {
        long tickMillis = Math.max(5, Math.min(config.timeouts().diskIntervalMillis(), config.timeouts().heartbeatIntervalMillis()) / 5);
        try {
            while (running) {
                inbox.put(new Input.Tick(System.nanoTime(), System.currentTimeMillis()));
                Thread.sleep(tickMillis);
            }
        } catch (InterruptedException e) {
            // stopping
        }
    }

    private void perform(DiskEffect e) {
        int gen = generation;
        switch (e) {
            case DiskEffect.WriteSlot w -> {
                stats.record(() -> stats.issued(w.cycle(), System.nanoTime()));
                lastSlotWriteNanos = System.nanoTime();
                slotWritesOutstanding.incrementAndGet();
                io(w.copy(), "write", d -> {
                    try {
                        d.write(DiskLayout.slotOffsetBytes(node.id()), w.block());
                    } finally {
                        slotWritesOutstanding.decrementAndGet();
                    }
                }, err -> new Input.Disk(gen, new DiskInput.WriteDone(System.nanoTime(), w.copy(), w.cycle(), err)));
            }
            case DiskEffect.ReadArea r -> {
                stats.record(() -> stats.issued(r.cycle(), System.nanoTime()));
                read(r.copy(), "read", d -> d.readReusing(0, r.bytes()),
                        (area, err) -> new Input.Disk(gen, new DiskInput.ReadDone(System.nanoTime(), r.copy(), r.cycle(), area, err)));
            }
            case DiskEffect.RepairSlot r -> {
                log.warn("event=slot-repair copy=" + r.copy().label() + " slot-of=" + r.nodeId() + " reason=" + KvLog.q(r.reason()));
                io(r.copy(), "repair", d -> d.write(DiskLayout.slotOffsetBytes(r.nodeId()), r.block()),
                        err -> new Input.Disk(gen, new DiskInput.RepairDone(System.nanoTime(), r.copy(), r.nodeId(), err)));
            }
            case DiskEffect.Report r -> report(r.event());
            case DiskEffect.Exit x -> {
                if (x.reason() != ExitReason.LEFT) {
                    int n = stopAllNow(x.reason().label());
                    log.warn("event=workloads-stopped count=" + n + " reason=" + x.reason().label());
                }
                log.line(x.reason() == ExitReason.LEFT ? KvLog.Level.INFO : KvLog.Level.ERROR,
                        "event=exit reason=" + x.reason().label() + " status=" + x.reason().exitStatus + " detail=" + KvLog.q(x.detail()));
                exitStatus = x.reason().exitStatus;
                running = false;
            }
        }
    }

    private void report(DiskEvent event) {
        boolean bad = switch (event) {
            case DiskEvent.CopyHealth h -> !h.healthy();
            case DiskEvent.RepairFailed f -> true;
            case DiskEvent.CounterRegressed c -> true;
            case DiskEvent.Leaving l -> l.reason() != ExitReason.LEFT;
            case DiskEvent.LivenessChanged c -> c.to() == Liveness.STALE || c.to() == Liveness.UNKNOWN;
            case DiskEvent.Joined j -> false;
            case DiskEvent.SlotRepaired r -> false;
        };
        String fields = event.fields();
        if (event instanceof DiskEvent.LivenessChanged c) {
            String name = config.node(c.nodeId()).map(NodeConfig::name).orElse("?");
            fields = fields.replace("node=" + c.nodeId() + " ", "peer=" + name + " peer-id=" + c.nodeId() + " ");
        }
        if (event instanceof DiskEvent.CopyHealth h && !h.healthy()) {
            fields += h.degraded() ? " alarm=degraded-quorum-disk" : " alarm=quorum-disk-lost";
        }
        log.line(bad ? KvLog.Level.WARN : KvLog.Level.INFO, fields);
    }

    /**
     * Renders the current view for the operators' surfaces (never changed after this: other
     * threads read it) and hands it to the status writer's thread, which replaces the status
     * file; one write at a time. A platform thread: local commands take a file older than 3 s
     * for a stopped daemon, so its writes must not wait for a busy virtual-thread carrier.
     */
    private void writeStatus() {
        com.fasterxml.jackson.databind.node.ObjectNode view = StatusJson.render(config, node, incarnation, diskCore, membership,
                lease.view(System.nanoTime()), heartbeats == null ? null : heartbeats.stats(), fencing, fenceWatch.view(),
                System.nanoTime(), System.currentTimeMillis(), workloads, stats);
        surfaces.status(view);
        if (runDir == null || !statusWriting.compareAndSet(false, true)) {
            return;
        }
        try {
            statusWriter.execute(() -> {
                try {
                    RunDir.replace(runDir.statusFile(node.name()), view + "\n");
                } catch (IOException e) {
                    // Status for local commands only; the next write tries again.
                } finally {
                    statusWriting.set(false);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException stopping) {
            statusWriting.set(false);
        }
    }

    private interface DiskOp {
        void run(DiskCopy d) throws IOException;
    }

    private interface DiskRead {
        byte[] run(DiskCopy d) throws IOException;
    }

    /** A write on a disk I/O thread; its error (or null) comes back to the loop as {@code done}'s input. */
    private void io(Copy c, String what, DiskOp op, java.util.function.Function<String, Input> done) {
        read(c, what, d -> {
            op.run(d);
            return null;
        }, (bytes, err) -> done.apply(err));
    }

    /**
     * A read (or any I/O) on a disk I/O thread; its bytes or its error come back to the loop as
     * {@code done}'s input. The pool grows when an I/O hangs (a dead disk holds its thread, the
     * other copy's I/O takes another), and its idle threads go after a minute.
     */
    private void read(Copy c, String what, DiskRead op, java.util.function.BiFunction<byte[], String, Input> done) {
        DiskCopy d = disk.copy(c);
        Runnable task = () -> {
            Thread.currentThread().setName("baton-disk-" + what);
            byte[] bytes = null;
            String err = null;
            if (d == null) {
                err = "copy could not be opened";
            } else {
                try {
                    bytes = op.run(d);
                } catch (IOException | RuntimeException x) {
                    err = String.valueOf(x.getMessage());
                }
            }
            offer(done.apply(bytes, err));
        };
        try {
            diskIo.execute(task);
        } catch (java.util.concurrent.RejectedExecutionException stopping) {
            // The node is stopping: nobody waits for the answer.
        }
    }

    private void offer(Input in) {
        try {
            while (running && !inbox.offer(in, 100, TimeUnit.MILLISECONDS)) {
                // The loop is behind; completions wait rather than vanish.
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * For heartbeat threads, which must never block (a blocked send thread silences this node):
     * when the inbox is full the report is dropped and counted.
     */
    private void offerNow(Input in) {
        if (!inbox.offer(in)) {
            droppedInputs.incrementAndGet();
        }
    }

    /** What the workload side reads from the cores, on the loop. */
    private final class ClusterSide implements WorkloadHost.Cluster {
        @Override
        public boolean member() {
            return running && !leaving && diskCore.phase() == DiskLiveness.Phase.MEMBER;
        }

        @Override
        public boolean coordinator(long nowNanos) {
            return fencing.isCoordinator() && lease.isCoordinator(nowNanos);
        }

        @Override
        public long leaseGeneration() {
            return lease.generation();
        }

        @Override
        public java.util.List<baton.core.workload.Placement.Node> nodes(baton.core.workload.NodeSettings settings) {
            java.util.List<baton.core.workload.Placement.Node> out = new java.util.ArrayList<>();
            for (NodeConfig n : config.nodes()) {
                if (n.id() == node.id()) {
                    out.add(new baton.core.workload.Placement.Node(n.id(), incarnation, Verdict.UP, settings.standby(n.id())));
                    continue;
                }
                Verdict v = membership.verdict(n.id());
                long inc = v == Verdict.DOWN || v == Verdict.FENCED ? membership.downIncarnation(n.id())
                        : membership.newestIncarnation(n.id());
                // Up on heartbeats alone, its slot not seen fresh yet: it may still fail to join.
                // Nothing is placed on it yet (for placement it is only suspect).
                if (v == Verdict.UP && !slotFresh(n.id())) {
                    v = Verdict.SUSPECT;
                }
                out.add(new baton.core.workload.Placement.Node(n.id(), inc, v, settings.standby(n.id())));
            }
            return out;
        }

        private boolean slotFresh(int id) {
            return diskCore.view().stream().anyMatch(v -> v.nodeId() == id && v.liveness() == Liveness.FRESH);
        }

        @Override
        public java.util.Map<Integer, baton.core.workload.OwnerTable.Published> published() {
            java.util.Map<Integer, baton.core.workload.OwnerTable.Published> out = new java.util.HashMap<>();
            for (DiskLiveness.NodeView v : diskCore.view()) {
                if (v.slot() != null && v.nodeId() != node.id()) {
                    out.put(v.nodeId(), new baton.core.workload.OwnerTable.Published(v.slot().incarnation(), v.slot().workloads()));
                }
            }
            out.put(node.id(), new baton.core.workload.OwnerTable.Published(incarnation, diskCore.declared()));
            return out;
        }

        @Override
        public void declare(baton.core.disk.SlotWorkloads w) {
            diskCore.declare(w);
        }

        @Override
        public void selfFence(String why) {
            if (!running) {
                return;
            }
            log.error("event=self-fence reason=" + KvLog.q(why) + " note=" + KvLog.q("this node exits so that its slot and"
                    + " heartbeats stop and the cluster fences it"));
            int n = stopAllNow(ExitReason.SELF_FENCE.label());
            log.error("event=workloads-stopped count=" + n + " reason=" + ExitReason.SELF_FENCE.label());
            log.error("event=exit reason=" + ExitReason.SELF_FENCE.label() + " status=" + ExitReason.SELF_FENCE.exitStatus
                    + " detail=" + KvLog.q(why));
            exitStatus = ExitReason.SELF_FENCE.exitStatus;
            running = false;
        }
    }

    /** Heartbeat threads report here; their reports become loop inputs. */
    private final class Sink implements HeartbeatSink {
        @Override
        public void heard(long nowNanos, int ring, int senderId, long senderIncarnation, long seq, int heldDown) {
            boolean saysSelfDown = (heldDown & (1 << (node.id() - 1))) != 0;
            offerNow(new Input.Net(new MembershipInput.Heard(nowNanos, ring, senderId, senderIncarnation, saysSelfDown)));
        }

        @Override
        public void selfLate(long nowNanos, long latenessNanos) {
            offerNow(new Input.Net(new MembershipInput.SelfLate(nowNanos, latenessNanos)));
        }
    }

    /** A reason not to start, with the exit status and the log line. */
    public static final class StartFailure extends Exception {
        private final int status;

        public StartFailure(int status, String fields) {
            super(fields);
            this.status = status;
        }

        public int status() {
            return status;
        }
    }
}
