package baton.runtime.node;

import baton.core.disk.SlotWorkloads;
import baton.core.fence.OperatorRequest;
import baton.core.workload.NodeSettings;
import baton.core.workload.OperatorAnswer;
import baton.core.workload.OwnerTable;
import baton.core.workload.Placement;
import baton.core.workload.RecoveryWatch;
import baton.core.workload.WorkloadAgent;
import baton.core.workload.WorkloadRecord;
import baton.runtime.config.ClusterConfig;
import baton.runtime.config.NodeConfig;
import baton.runtime.config.WorkloadConfig;
import baton.runtime.log.KvLog;
import baton.runtime.workload.WorkloadBlocks;
import baton.runtime.workload.WorkloadRunner;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;

/**
 * The node's side of its workloads, on the daemon's event loop (docs/workloads.md): every disk
 * interval it reads the owner records and hands them to the {@link WorkloadAgent}, whose orders
 * the {@link WorkloadRunner} carries out; it declares in the node's slot what the agent
 * acknowledged. On the coordinator it also plans ({@link OwnerTable}) and writes the records,
 * and carries out the operators' workload and node requests.
 *
 * <p>Disk I/O runs on one worker thread, one operation at a time; completions come back to the
 * loop. Nothing here touches a core off the loop.
 */
final class WorkloadHost implements AutoCloseable {
    /** What the host needs from the daemon, read on the loop. */
    interface Cluster {
        boolean member();

        /** Holds the coordinator lease now (and the fencing core agrees). */
        boolean coordinator(long nowNanos);

        long leaseGeneration();

        /** Every configured node as placement sees it (this node up), standby from {@code settings}. */
        List<Placement.Node> nodes(NodeSettings settings);

        /** Every node's newest slot declaration; this node's own as it is now. */
        Map<Integer, OwnerTable.Published> published();

        void declare(SlotWorkloads workloads);

        /** A workload cannot be stopped: the node must exit and be fenced. */
        void selfFence(String why);
    }

    private final ClusterConfig config;
    private final NodeConfig node;
    private final KvLog log;
    private final Consumer<Runnable> loop;
    private final WorkloadBlocks blocks;
    private final WorkloadRunner runner;
    private final Cluster cluster;
    private final List<Placement.Spec> specs;
    private final java.util.Set<Integer> migratable;
    private final long readEveryNanos;
    /** A platform thread: disk writes must not wait for a virtual-thread carrier (see NodeDaemon's ticker). */
    private final ExecutorService worker = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().daemon(true).priority(Thread.MAX_PRIORITY).name("baton-workload-disk").factory());

    // Loop state.
    private WorkloadAgent agent;
    private long tag;
    private final Map<Integer, WorkloadRecord> table = new TreeMap<>();
    private NodeSettings settings = NodeSettings.NONE;
    private final Map<Integer, OperatorAnswer> answers = new TreeMap<>();
    private boolean answersKnown;
    private long answersGeneration;
    private boolean reading;
    private boolean writing;
    private long lastReadNanos;
    private boolean tableRead;
    private final ArrayDeque<OperatorRequest> requests = new ArrayDeque<>();
    private final Map<Integer, String> holds = new TreeMap<>();
    private final Map<Integer, String> problems = new TreeMap<>();
    private Runnable whenLeft;
    private long coordinatorSinceNanos;
    private long coordinatorGeneration;
    /** How long after an owner is seen down the table is read at every tick ({@link RecoveryWatch}), in disk timeouts. */
    static final int RECOVERY_WINDOW_DISK_TIMEOUTS = 8;
    private final RecoveryWatch recoveryWatch;
    /** {@link #settling}: the join timeout plus the network timeout. */
    private final long settleNanos;
    /** Switched-over nodes this coordinator saw with work left to move: {@code event=switchover-done} once each has none. */
    private final java.util.Set<Integer> switchovers = new java.util.TreeSet<>();

    WorkloadHost(ClusterConfig config, NodeConfig node, KvLog log, Consumer<Runnable> loop, WorkloadBlocks blocks,
                 java.nio.file.Path veRunDir, long incarnation, Cluster cluster) {
        this.config = config;
        this.node = node;
        this.log = log;
        this.loop = loop;
        this.blocks = blocks;
        this.cluster = cluster;
        this.specs = config.workloads().stream().map(WorkloadConfig::placement).toList();
        this.migratable = config.workloads().stream().filter(w -> w.kind() == WorkloadConfig.Kind.VE).map(WorkloadConfig::id)
                .collect(java.util.stream.Collectors.toUnmodifiableSet());
        this.readEveryNanos = config.timeouts().diskIntervalMillis() * 1_000_000L;
        this.settleNanos = config.timeouts().joinTimeoutNanos() + config.timeouts().networkTimeoutNanos();
        this.recoveryWatch = new RecoveryWatch(node.id(), RECOVERY_WINDOW_DISK_TIMEOUTS * config.timeouts().diskTimeoutNanos());
        this.runner = new WorkloadRunner(config.workloads(), node.name(), veRunDir, new Answers(), log);
        newIncarnation(incarnation);
    }

    /** Before the node takes part: stops whatever a previous daemon left running. False when something could not be stopped. */
    boolean cleanUp() {
        try {
            List<String> stopped = runner.cleanUp();
            if (!stopped.isEmpty()) {
                log.warn("event=workload-leftovers-stopped workloads=" + KvLog.q(String.join(",", stopped)));
            }
            return true;
        } catch (java.io.IOException e) {
            log.error("event=workload-leftover-stop-failed reason=" + KvLog.q(e.getMessage()));
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** A new incarnation (start, rejoin): a new agent; answers for the old one are dropped. */
    void newIncarnation(long incarnation) {
        tag++;
        agent = new WorkloadAgent(node.id(), incarnation, id -> config.workload(id)
                .map(w -> new WorkloadAgent.RestartLimit(w.maxRestarts(), w.restartWindowMillis() * 1_000_000L))
                .orElse(WorkloadAgent.RestartLimit.UNLIMITED));
        agent.peers(this::mayRun);
        declare();
    }

    /**
     * For a source whose handover was called off: whether {@code nodeId} in {@code incarnation}
     * may still run workload {@code id}. Not once it is fenced, has left, runs another
     * incarnation, or its slot of that incarnation acknowledged table {@code since} without the
     * workload active and without a migration of it.
     */
    private boolean mayRun(int nodeId, long incarnation, int id, long since) {
        Optional<Placement.Node> n = cluster.nodes(settings).stream().filter(x -> x.id() == nodeId).findFirst();
        if (n.isEmpty() || n.get().incarnation() != incarnation || n.get().verdict() == baton.core.membership.Verdict.FENCED
                || n.get().verdict() == baton.core.membership.Verdict.LEFT) {
            return false;
        }
        OwnerTable.Published p = cluster.published().get(nodeId);
        return p == null || p.incarnation() != incarnation || p.declared().acknowledgedTable() < since || p.declared().active(id)
                || p.declared().migrations().stream().anyMatch(m -> m.workloadId() == id);
    }

    boolean configured() {
        return !config.workloads().isEmpty();
    }

    /** Loop: every tick. */
    void tick(long now) {
        if (!configured() || !cluster.member()) {
            return;
        }
        apply(agent.tick(now));
        // While a recovery is coming, every tick: the coordinator writes it within a tick of the
        // fence, the new owner starts within a tick of the write.
        boolean soon = !table.isEmpty() && recoveryWatch.pending(now, table.values(), cluster.nodes(settings));
        if (!reading && now - lastReadNanos >= (soon ? 0 : readEveryNanos)) {
            reading = true;
            lastReadNanos = now;
            boolean coordinator = cluster.coordinator(now);
            boolean withAnswers = coordinator && (!answersKnown || answersGeneration != cluster.leaseGeneration());
            long gen = cluster.leaseGeneration();
            List<Integer> ids = config.workloads().stream().map(WorkloadConfig::id).toList();
            worker.execute(() -> {
                WorkloadBlocks.Snapshot s = blocks.read(ids, withAnswers);
                loop.accept(() -> readDone(s, withAnswers, gen));
            });
        }
    }

    private void readDone(WorkloadBlocks.Snapshot s, boolean withAnswers, long gen) {
        reading = false;
        if (s.copiesRead() == 0) {
            log.warn("event=workload-table-unreadable problems=" + KvLog.q(String.join("; ", s.problems())));
            return;
        }
        for (String p : s.problems()) {
            log.warn("event=workload-record-skipped problem=" + KvLog.q(p));
        }
        for (WorkloadRecord r : s.records().values()) {
            Optional<WorkloadConfig> w = config.workload(r.id());
            if (w.isEmpty() || !w.get().name().equals(r.name())) {
                problems.put(r.id(), "the record of id " + r.id() + " names '" + r.name() + "', not a workload of this configuration");
                continue;
            }
            problems.remove(r.id());
            // Newest wins, and never goes back: a deposed coordinator's late write is not believed.
            table.merge(r.id(), r, (old, fresh) -> fresh.compareNewer(old) > 0 ? fresh : old);
        }
        if (s.settings().compareNewer(settings) > 0) {
            settings = s.settings();
        }
        if (withAnswers && gen == cluster.leaseGeneration()) {
            s.answers().forEach((n, a) -> answers.merge(n, a, (x, y) -> x.seq() >= y.seq() ? x : y));
            answersKnown = true;
            answersGeneration = gen;
        }
        tableRead = true;
        table.values().forEach(r -> runner.frozen(r.id(), r.desired() == Placement.Desired.FROZEN));
        apply(agent.recordsRead(Map.copyOf(table)));
        coordinate(System.nanoTime());
    }

    /** Loop: the coordinator's planning and the operators' requests, once per table read, one write at a time. */
    private void coordinate(long now) {
        if (writing || !cluster.coordinator(now) || !answersKnown || answersGeneration != cluster.leaseGeneration()) {
            return;
        }
        switchoverProgress();
        OwnerTable.Context ctx = context(now);
        OperatorRequest r = requests.poll();
        if (r != null) {
            answer(ctx, r);
            return;
        }
        if (settling(now, ctx)) {
            return;
        }
        OwnerTable.Plan plan = OwnerTable.plan(ctx);
        Map<Integer, String> newHolds = new TreeMap<>();
        plan.holds().forEach(h -> newHolds.put(h.workloadId(), h.reason()));
        newHolds.forEach((id, why) -> {
            if (!why.equals(holds.get(id))) {
                log.warn("event=workload-held workload=" + name(id) + " reason=" + KvLog.q(why));
            }
        });
        holds.clear();
        holds.putAll(newHolds);
        if (!plan.writes().isEmpty()) {
            write(plan.writes(), null);
        }
    }

    /**
     * Logs {@code event=switchover-done} (for hooks, docs/hooks.md) once a switched-over node has
     * nothing left to move: none of its workloads migrating or moving, none running there except
     * VEs whose migration failed ({@code stayed}), as {@code baton node switchover} waits for.
     */
    private void switchoverProgress() {
        for (NodeConfig n : config.nodes()) {
            if (!settings.switchover(n.id())) {
                switchovers.remove(n.id());
                continue;
            }
            List<WorkloadRecord> on = table.values().stream().filter(r -> r.ownerId() == n.id()).toList();
            boolean busy = on.stream().anyMatch(r -> r.migrating() || r.nextId() != 0
                    || (r.desired() == Placement.Desired.RUNNING && !r.migrationFailed()));
            if (busy) {
                switchovers.add(n.id());
            } else if (switchovers.remove(n.id())) {
                List<String> stayed = on.stream().filter(r -> r.desired() == Placement.Desired.RUNNING).map(WorkloadRecord::name).toList();
                log.line(stayed.isEmpty() ? KvLog.Level.INFO : KvLog.Level.WARN, "event=switchover-done node=" + n.name()
                        + " stayed=" + KvLog.q(String.join(",", stayed)));
            }
        }
    }

    /**
     * A new coordinator places nothing for a short while when some configured node has never been
     * seen or is still joining (heard on the network, its slot not yet seen fresh: placement sees it
     * suspect). In a cluster that is just starting its nodes join within moments of each other, and
     * the first placement should follow the preferences instead of whichever node joined first.
     * Only workloads without an owner wait; nothing needs moving in a running cluster.
     */
    private boolean settling(long now, OwnerTable.Context ctx) {
        if (coordinatorSinceNanos == 0 || coordinatorGeneration != cluster.leaseGeneration()) {
            coordinatorSinceNanos = now;
            coordinatorGeneration = cluster.leaseGeneration();
        }
        boolean someComing = ctx.nodes().stream().anyMatch(n -> n.verdict() == baton.core.membership.Verdict.ABSENT
                || n.verdict() == baton.core.membership.Verdict.SUSPECT);
        boolean allOwned = config.workloads().stream().allMatch(w -> table.containsKey(w.id()) && table.get(w.id()).ownerId() != 0);
        return someComing && !allOwned && now - coordinatorSinceNanos < settleNanos;
    }

    private OwnerTable.Context context(long now) {
        return new OwnerTable.Context(now, cluster.leaseGeneration(), System.currentTimeMillis(), specs, cluster.nodes(settings),
                cluster.published(), table, List.of(), false, new OwnerTable.Migrations(migratable, settings,
                        config.migration().maxParallel()));
    }

    /** Writes records (then the answer, if any) on the worker; the table takes them once a copy has them. */
    private void write(List<OwnerTable.Write> writes, OperatorAnswer answer) {
        writing = true;
        long gen = cluster.leaseGeneration();
        Map<Integer, WorkloadRecord> next = new TreeMap<>(table);
        writes.forEach(w -> next.put(w.record().id(), w.record()));
        List<Integer> ids = writes.stream().map(w -> w.record().id()).toList();
        worker.execute(() -> {
            List<String> errors = blocks.writeRecords(next, ids);
            loop.accept(() -> {
                writing = false;
                boolean landed = errors.stream().map(e -> e.substring(0, e.indexOf(':'))).distinct().count() < 2;
                if (!landed) {
                    log.error("event=workload-write-failed errors=" + KvLog.q(String.join("; ", errors)));
                    if (answer != null) {
                        sendAnswer(new OperatorAnswer(answer.requesterId(), answer.seq(), false, gen, System.currentTimeMillis(),
                                "the quorum disk did not take the record: " + String.join("; ", errors)));
                    }
                    return;
                }
                if (!errors.isEmpty()) {
                    log.warn("event=workload-write-degraded errors=" + KvLog.q(String.join("; ", errors)));
                }
                for (OwnerTable.Write w : writes) {
                    table.merge(w.record().id(), w.record(), (old, fresh) -> fresh.compareNewer(old) > 0 ? fresh : old);
                    WorkloadRecord r = w.record();
                    log.line(w.change() == OwnerTable.Change.RECOVER ? KvLog.Level.WARN : KvLog.Level.INFO,
                            "event=workload-owner workload=" + r.name() + " change=" + w.change().name().toLowerCase(java.util.Locale.ROOT)
                                    + " owner=" + nodeName(r.ownerId()) + " owner-incarnation=" + r.ownerIncarnation()
                                    + (r.nextId() != 0 ? " next=" + nodeName(r.nextId()) : "") + " desired="
                                    + r.desired().name().toLowerCase(java.util.Locale.ROOT) + " epoch=" + r.epoch() + " table=" + r.tableVersion()
                                    + " generation=" + r.generation() + " reason=" + KvLog.q(r.reason()));
                }
                if (answer != null) {
                    sendAnswer(answer);
                }
                apply(agent.recordsRead(Map.copyOf(table)));
            });
        });
    }

    // ---------------------------------------------------------------- operators' requests

    /** Loop: a workload or node request read by the coordinator; carried out after the next table read. */
    void request(OperatorRequest r) {
        OperatorAnswer done = answers.get(r.requesterId());
        if (done != null && done.seq() >= r.seq()) {
            return; // answered already (by this coordinator or one before it)
        }
        if (requests.stream().noneMatch(q -> q.requesterId() == r.requesterId() && q.seq() == r.seq())) {
            requests.add(r);
        }
    }

    private void answer(OwnerTable.Context ctx, OperatorRequest r) {
        String who = "operator on " + nodeName(r.requesterId());
        log.warn("event=operator-request kind=" + r.kind().label + " from=" + nodeName(r.requesterId()) + " seq=" + r.seq()
                + (r.workloadId() != 0 ? " workload=" + name(r.workloadId()) : "") + (r.targetId() != 0 ? " node=" + nodeName(r.targetId()) : ""));
        long gen = cluster.leaseGeneration();
        if (Math.abs(System.currentTimeMillis() - r.wallEpochMillis()) > FenceLedger.REQUEST_MAX_AGE_MILLIS) {
            sendAnswer(refusal(r, gen, "the request is older than " + FenceLedger.REQUEST_MAX_AGE_MILLIS / 1000 + " s"));
            return;
        }
        if (!r.kind().workload() && !r.kind().fence()) {
            nodeRequest(r, who, gen);
            return;
        }
        Optional<WorkloadConfig> w = config.workload(r.workloadId());
        if (w.isEmpty()) {
            sendAnswer(refusal(r, gen, "workload id " + r.workloadId() + " is not in the coordinator's configuration"));
            return;
        }
        Placement.Spec spec = w.get().placement();
        Optional<Integer> to = r.targetId() == 0 ? Optional.empty() : Optional.of(r.targetId());
        OwnerTable.Answer a = switch (r.kind()) {
            case START -> {
                WorkloadRecord cur = table.get(spec.id());
                if (to.isPresent() && (cur == null || cur.desired() != Placement.Desired.RUNNING)) {
                    // Start it on a chosen node: it becomes the owner right away (nothing runs it now).
                    yield startOn(ctx, spec, to.get(), who);
                }
                yield OwnerTable.setDesired(ctx, spec, Placement.Desired.RUNNING, who);
            }
            case STOP -> OwnerTable.setDesired(ctx, spec, Placement.Desired.STOPPED, who);
            case FREEZE -> OwnerTable.setDesired(ctx, spec, Placement.Desired.FROZEN, who);
            case UNFREEZE -> {
                WorkloadRecord cur = table.get(spec.id());
                yield cur == null || cur.desired() != Placement.Desired.FROZEN
                        ? new OwnerTable.Answer.Refused(spec.name() + " is not frozen")
                        : OwnerTable.setDesired(ctx, spec, Placement.Desired.RUNNING, who);
            }
            case RESTART -> OwnerTable.restart(ctx, spec, who);
            case RELOCATE -> OwnerTable.relocate(ctx, spec, to, who);
            case MIGRATE, MIGRATE_CHECKPOINT -> {
                boolean checkpoint = r.kind() == OperatorRequest.Kind.MIGRATE_CHECKPOINT;
                yield checkpoint && config.migration().checkpointDir().isEmpty()
                        ? new OwnerTable.Answer.Refused("checkpoint mode needs migration.checkpointDir (a folder on storage every node"
                                + " mounts) in the configuration; or migrate live")
                        : OwnerTable.migrate(ctx, spec, to, checkpoint, who);
            }
            default -> new OwnerTable.Answer.Refused("not a workload request: " + r.kind().label);
        };
        switch (a) {
            case OwnerTable.Answer.Refused f -> sendAnswer(refusal(r, gen, f.reason()));
            case OwnerTable.Answer.Done d -> write(List.of(d.write()), new OperatorAnswer(r.requesterId(), r.seq(), true, gen,
                    System.currentTimeMillis(), describe(d.write().record())));
        }
    }

    /** Standby, unstandby, switchover, resume: the node settings on the disk. */
    private void nodeRequest(OperatorRequest r, String who, long gen) {
        int target = r.targetId();
        if (config.node(target).isEmpty()) {
            sendAnswer(refusal(r, gen, "node id " + target + " is not in the configuration"));
            return;
        }
        long wall = System.currentTimeMillis();
        String name = nodeName(target);
        NodeSettings next;
        String done;
        switch (r.kind()) {
            case STANDBY, UNSTANDBY -> {
                boolean on = r.kind() == OperatorRequest.Kind.STANDBY;
                if (settings.standby(target) == on) {
                    sendAnswer(refusal(r, gen, name + " is " + (on ? "already" : "not") + " in standby"));
                    return;
                }
                next = settings.withStandby(target, on, gen, wall, node.id());
                done = name + (on ? " is in standby: its workloads move off" : " takes workloads again");
            }
            case SWITCHOVER, SWITCHOVER_CHECKPOINT -> {
                boolean checkpoint = r.kind() == OperatorRequest.Kind.SWITCHOVER_CHECKPOINT;
                if (checkpoint && config.migration().checkpointDir().isEmpty()) {
                    sendAnswer(refusal(r, gen, "checkpoint mode needs migration.checkpointDir (a folder on storage every node"
                            + " mounts) in the configuration; or switch over live"));
                    return;
                }
                if (settings.switchover(target) && settings.checkpoint(target) == checkpoint) {
                    sendAnswer(refusal(r, gen, name + " is switched over already"));
                    return;
                }
                next = settings.withSwitchover(target, checkpoint, gen, wall, node.id());
                done = name + " is in maintenance: its VEs migrate off " + (checkpoint ? "through checkpoints" : "live")
                        + " (at most " + config.migration().maxParallel() + " at once), its services move cold";
            }
            case RESUME, RESUME_SWITCH_BACK -> {
                boolean back = r.kind() == OperatorRequest.Kind.RESUME_SWITCH_BACK;
                if (!settings.standby(target) && !back) {
                    sendAnswer(refusal(r, gen, name + " is not in maintenance or standby"));
                    return;
                }
                next = settings.withResume(target, back, gen, wall, node.id());
                done = name + " takes workloads again" + (back ? "; the VEs its switchover moved off migrate back live" : "");
            }
            default -> {
                sendAnswer(refusal(r, gen, "not a node request: " + r.kind().label));
                return;
            }
        }
        writing = true;
        worker.execute(() -> {
            List<String> errors = blocks.writeSettings(next);
            loop.accept(() -> {
                writing = false;
                if (errors.size() >= 2) {
                    sendAnswer(refusal(r, gen, "the quorum disk did not take the settings: " + String.join("; ", errors)));
                    return;
                }
                settings = next;
                if (next.switchover(target)) {
                    switchovers.add(target); // a node with nothing to move is done at the next table read
                }
                log.warn("event=node-settings node=" + name + " request=" + KvLog.q(r.kind().label) + " standby=" + next.standby(target)
                        + " switchover=" + next.switchover(target) + " by=" + KvLog.q(who));
                sendAnswer(new OperatorAnswer(r.requesterId(), r.seq(), true, gen, System.currentTimeMillis(), done));
            });
        });
    }

    /** A stopped workload started on a chosen node, which must be eligible. */
    private OwnerTable.Answer startOn(OwnerTable.Context ctx, Placement.Spec spec, int to, String who) {
        Optional<Placement.Node> target = Placement.eligibleTarget(ctx.nowNanos(), spec, ctx.nodes(), List.of(), 0, Optional.of(to));
        if (target.isEmpty()) {
            return new OwnerTable.Answer.Refused(nodeName(to) + " cannot take " + spec.name() + ": "
                    + Placement.eligibility(ctx.nowNanos(), spec, ctx.nodes(), List.of()));
        }
        return OwnerTable.startOn(ctx, spec, target.get(), who);
    }

    private static OperatorAnswer refusal(OperatorRequest r, long gen, String why) {
        return new OperatorAnswer(r.requesterId(), r.seq(), false, gen, System.currentTimeMillis(), why);
    }

    private void sendAnswer(OperatorAnswer a) {
        answers.put(a.requesterId(), a);
        log.line(a.done() ? KvLog.Level.INFO : KvLog.Level.WARN, "event=operator-answer to=" + nodeName(a.requesterId())
                + " seq=" + a.seq() + " done=" + a.done() + " text=" + KvLog.q(a.text()));
        Map<Integer, OperatorAnswer> all = new TreeMap<>(answers);
        worker.execute(() -> {
            List<String> errors = blocks.writeAnswers(all, a.requesterId());
            if (errors.size() >= 2) {
                log.error("event=operator-answer-write-failed errors=" + KvLog.q(String.join("; ", errors)));
            }
        });
    }

    private String describe(WorkloadRecord r) {
        return r.name() + ": " + r.desired().name().toLowerCase(java.util.Locale.ROOT)
                + (r.ownerId() != 0 ? ", owner " + nodeName(r.ownerId()) : "") + (r.nextId() != 0 ? ", moving to " + nodeName(r.nextId()) : "")
                + " (" + r.reason() + ")";
    }

    // ---------------------------------------------------------------- the agent's orders

    private void apply(List<WorkloadAgent.Effect> effects) {
        for (WorkloadAgent.Effect e : effects) {
            switch (e) {
                case WorkloadAgent.Effect.Start s -> runner.start(tag, s.id());
                case WorkloadAgent.Effect.Stop s -> runner.stop(tag, s.id(), s.reason());
                case WorkloadAgent.Effect.Send s -> move(s.id(), s.attempt(), s.targetId(), s.checkpoint(), true);
                case WorkloadAgent.Effect.Receive rc -> move(rc.id(), rc.attempt(), rc.sourceId(), rc.checkpoint(), false);
                case WorkloadAgent.Effect.Resume rs -> runner.resume(tag, rs.id());
                case WorkloadAgent.Effect.Discard d -> runner.discard(tag, d.id(), d.reason());
            }
        }
        declare();
        if (whenLeft != null && agent.active().isEmpty()) {
            Runnable r = whenLeft;
            whenLeft = null;
            r.run();
        }
    }

    /** Hands a migration order to the workload's lane: as source, the target's address; as target, this node's. */
    private void move(int id, int attempt, int peerId, boolean checkpoint, boolean source) {
        baton.runtime.config.MigrationConfig m = config.migration();
        String name = name(id);
        Optional<java.nio.file.Path> file = checkpoint ? m.checkpointFile(name, attempt) : Optional.empty();
        if (checkpoint && file.isEmpty()) {
            String why = "checkpoint mode needs migration.checkpointDir in this node's configuration";
            log.error("event=migration-refused workload=" + name + " reason=" + KvLog.q(why));
            apply(source ? agent.sendFailed(id, attempt, SlotWorkloads.Failure.CHECKPOINT_FILE)
                    : agent.receiveFailed(id, attempt, SlotWorkloads.Failure.CHECKPOINT_FILE));
            return;
        }
        NodeConfig address = source ? config.node(peerId).orElse(node) : node;
        baton.runtime.ve.MigrationSettings settings = new baton.runtime.ve.MigrationSettings(Duration.ofMillis(m.downtimeLimitMillis()),
                m.maxBandwidthBytesPerSecond(), m.autoConverge(), m.deadline());
        WorkloadRunner.Move move = new WorkloadRunner.Move(attempt, nodeName(peerId), address.addresses().getFirst().getHostAddress(),
                m.port(id), file, settings, m.deadline());
        if (source) {
            runner.send(tag, id, move);
        } else {
            runner.receive(tag, id, move);
        }
    }

    /** What a migration's failure text says went wrong, for the slot (the text itself goes to the log). */
    static SlotWorkloads.Failure failureOf(String reason, boolean source) {
        String r = reason.toLowerCase(java.util.Locale.ROOT);
        if (r.contains("deadline")) {
            return SlotWorkloads.Failure.DEADLINE;
        }
        if (r.contains("checkpoint") || r.contains("file") || r.contains("space")) {
            return SlotWorkloads.Failure.CHECKPOINT_FILE;
        }
        if (r.contains("refused") || r.contains("unreachable") || r.contains("no route")) {
            return SlotWorkloads.Failure.TARGET_UNREACHABLE;
        }
        if (r.contains("connection") || r.contains("reset") || r.contains("broken pipe") || r.contains("lost")) {
            return SlotWorkloads.Failure.CONNECTION_LOST;
        }
        if (r.contains("target")) {
            return SlotWorkloads.Failure.TARGET_FAILED;
        }
        return source ? SlotWorkloads.Failure.SOURCE_FAILED : SlotWorkloads.Failure.TARGET_FAILED;
    }

    private void declare() {
        cluster.declare(SlotWorkloads.of(agent.acknowledgedTable(), agent.active(), agent.failedOut(), agent.migrations()));
    }

    /** Loop: a clean leave. Stops every workload through the agent; {@code then} runs once nothing runs here. */
    void leave(Runnable then) {
        whenLeft = then;
        apply(agent.stopAll("this node leaves the cluster"));
    }

    /** Loop: the node must exit now (lost disk, poison pill, duplicate, rejoin): stop everything, bounded. */
    int stopAllNow(String reason) {
        if (!configured()) {
            return 0;
        }
        agent.stopAll(reason);
        int n = runner.stopAll(reason, Duration.ofMillis(config.fencing().workloadStopMillis()));
        declare();
        return n;
    }

    /**
     * Off the loop (the supervisor's thread, when the loop is stuck): stops every workload through
     * the runner alone, bounded. The process ends right after.
     */
    int stopAllFromOutside(String reason) {
        return configured() ? runner.stopAll(reason, Duration.ofMillis(config.fencing().workloadStopMillis())) : 0;
    }

    /** For the supervisor (any thread): a workload lane that is dead or stuck. */
    Optional<String> stuck(long nowNanos) {
        return runner.stuck(nowNanos);
    }

    private final class Answers implements WorkloadRunner.Listener {
        @Override
        public void started(long t, int id) {
            loop.accept(() -> {
                if (t == tag) {
                    apply(agent.started(id));
                }
            });
        }

        @Override
        public void failed(long t, int id, String reason) {
            loop.accept(() -> {
                if (t == tag) {
                    apply(agent.failed(id, System.nanoTime()));
                    if (agent.failedOut(id)) {
                        log.warn("event=workload-failed-out workload=" + name(id) + " note=" + KvLog.q("failed more often than its"
                                + " restart limit allows; the coordinator relocates it"));
                    }
                }
            });
        }

        @Override
        public void stopped(long t, int id) {
            loop.accept(() -> {
                if (t == tag) {
                    apply(agent.stopped(id));
                }
            });
        }

        @Override
        public void sent(long t, int id, int attempt, baton.runtime.ve.MigrationResult result) {
            loop.accept(() -> {
                if (t == tag) {
                    apply(agent.sent(id, attempt));
                }
            });
        }

        @Override
        public void sendFailed(long t, int id, int attempt, String reason) {
            loop.accept(() -> {
                if (t == tag) {
                    apply(agent.sendFailed(id, attempt, failureOf(reason, true)));
                }
            });
        }

        @Override
        public void received(long t, int id, int attempt, baton.runtime.ve.MigrationResult result) {
            loop.accept(() -> {
                if (t == tag) {
                    apply(agent.received(id, attempt));
                }
            });
        }

        @Override
        public void receiveFailed(long t, int id, int attempt, String reason) {
            loop.accept(() -> {
                if (t == tag) {
                    apply(agent.receiveFailed(id, attempt, failureOf(reason, false)));
                }
            });
        }

        @Override
        public void resumed(long t, int id) {
            loop.accept(() -> {
                if (t == tag) {
                    apply(agent.resumed(id));
                }
            });
        }

        @Override
        public void stopFailed(long t, int id, String reason) {
            loop.accept(() -> cluster.selfFence("workload " + name(id) + " could not be stopped: " + reason));
        }
    }

    // ---------------------------------------------------------------- status

    private String name(int id) {
        return config.workload(id).map(WorkloadConfig::name).orElse("#" + id);
    }

    private String nodeName(int id) {
        return id == 0 ? "none" : config.node(id).map(NodeConfig::name).orElse("node " + id);
    }

    /** The workloads for the status file: record, local state, hold. */
    void status(ObjectNode root) {
        ArrayNode out = root.putArray("workloads");
        for (WorkloadConfig w : config.workloads()) {
            ObjectNode o = out.addObject();
            o.put("id", w.id());
            o.put("name", w.name());
            o.put("kind", w.kind().label());
            WorkloadRecord r = table.get(w.id());
            if (r != null) {
                o.put("owner", r.ownerId() == 0 ? null : nodeName(r.ownerId()));
                o.put("ownerIncarnation", r.ownerIncarnation());
                o.put("desired", r.desired().name().toLowerCase(java.util.Locale.ROOT));
                if (r.nextId() != 0) {
                    o.put("next", nodeName(r.nextId()));
                }
                o.put("epoch", r.epoch());
                o.put("table", r.tableVersion());
                o.put("reason", r.reason());
                o.put("restarting", r.restarting());
                if (r.migrating()) {
                    o.put("migrating", r.checkpoint() ? "checkpoint" : "live");
                }
                if (r.homeId() != 0) {
                    o.put("home", nodeName(r.homeId()));
                }
            } else {
                o.putNull("owner");
                o.put("desired", tableRead ? "unplaced" : "unknown");
            }
            o.put("here", runner.state(w.id()).name().toLowerCase(java.util.Locale.ROOT));
            o.put("failuresHere", agent.failures(w.id()));
            o.put("failedOutHere", agent.failedOut(w.id()));
            runner.lastFailure(w.id()).ifPresent(f -> o.put("lastFailureHere", f));
            runner.progress(w.id()).ifPresent(p -> {
                ObjectNode m = o.putObject("migrationHere");
                m.put("role", p.role());
                m.put("peer", p.peer());
                m.put("mode", p.checkpoint() ? "checkpoint" : "live");
                m.put("elapsedMillis", (System.nanoTime() - p.sinceNanos()) / 1_000_000);
                if (p.last() != null) {
                    m.put("phase", p.last().phase());
                    m.put("transferredBytes", p.last().transferredBytes());
                    m.put("remainingBytes", p.last().remainingBytes());
                    m.put("totalBytes", p.last().totalBytes());
                    m.put("bytesPerSecond", p.last().bytesPerSecond());
                }
            });
            if (holds.containsKey(w.id())) {
                o.put("hold", holds.get(w.id()));
            }
            if (problems.containsKey(w.id())) {
                o.put("problem", problems.get(w.id()));
            }
        }
        ArrayNode standby = root.putArray("standby");
        config.nodes().stream().filter(n -> settings.standby(n.id())).forEach(n -> standby.add(n.name()));
        ArrayNode maintenance = root.putArray("maintenance");
        config.nodes().stream().filter(n -> settings.switchover(n.id())).forEach(n -> maintenance.add(n.name()));
        root.put("workloadTableRead", tableRead);
        root.put("acknowledgedTable", agent.acknowledgedTable());
    }

    @Override
    public void close() {
        runner.close();
        worker.shutdownNow();
    }
}
