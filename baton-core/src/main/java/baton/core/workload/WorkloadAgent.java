package baton.core.workload;

import baton.core.disk.SlotWorkloads;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A node's side of workload ownership: from the owner records it read on the quorum disk and
 * what its drivers report, which workloads to start and stop. A pure state machine.
 *
 * <h2>Rules</h2>
 * <ul>
 * <li>A node runs a workload only while its record names this node and incarnation as owner, it
 *     should run, and no planned move takes it away ({@link WorkloadRecord#runsOn}). It starts it
 *     then, and stops it as soon as a record read says otherwise; one operation per workload at a
 *     time.</li>
 * <li>A workload that fails while it should run here is started again (restart in place) until it
 *     failed more often than its restart limit allows within its window; then it stays stopped
 *     here, the node declares it failed out in its slot, and the coordinator relocates it.</li>
 * <li>{@link #acknowledgedTable()}: the newest table version whose orders this node has carried
 *     out; every workload it must not run is stopped. The node publishes it (with what it runs)
 *     so that the coordinator starts a planned move's next owner only after the old one stopped.</li>
 * <li>A frozen workload is not managed: neither started nor stopped, whatever it does.</li>
 * <li>{@link #stopAll}: before a node leaves, or when it must exit, it stops everything.</li>
 * <li><b>Migration</b> (docs/switchover.md). The owner named by a migrate record keeps the VE
 *     running and hands it over ({@link Effect.Send}); the next node receives it
 *     ({@link Effect.Receive}). Each declares the attempt's phase in its slot
 *     ({@link #migrations()}). Once a source has handed the VE over (sent), the VE is paused
 *     there for good: it is stopped when the record names the next node, and resumed
 *     ({@link Effect.Resume}) only when the record gives it back to this node <em>and</em> the
 *     next node can no longer run it (it acknowledged the record without the VE, or is gone). A
 *     target whose attempt was called off discards what it received ({@link Effect.Discard}).</li>
 * </ul>
 */
public final class WorkloadAgent {
    /** Where a workload stands on this node. */
    public enum Local { STOPPED, STARTING, RUNNING, STOPPING, RECEIVING }

    /** What the shell must do. */
    public sealed interface Effect {
        record Start(int id, long epoch) implements Effect {}

        record Stop(int id, String reason) implements Effect {}

        /** Source: hand the running VE over to {@code targetId} (live, or through a checkpoint file). */
        record Send(int id, int attempt, int targetId, boolean checkpoint) implements Effect {}

        /** Target: start a QEMU that waits for the VE from {@code sourceId}, and run it once it arrived. */
        record Receive(int id, int attempt, int sourceId, boolean checkpoint) implements Effect {}

        /** Source: the handover was called off and the next node cannot run it: run the paused VE again. */
        record Resume(int id) implements Effect {}

        /** Target: the attempt was called off: end the QEMU that waited for (or received) the VE. */
        record Discard(int id, String reason) implements Effect {}
    }

    /**
     * What the node knows of another node, for a source that handed a VE over: whether
     * {@code node} in {@code incarnation} may still run workload {@code id}, i.e. it has not
     * acknowledged table version {@code since} without it, and is not fenced, gone or restarted.
     */
    public interface Peers {
        Peers NONE = (node, incarnation, id, since) -> true;

        boolean mayRun(int node, long incarnation, int id, long since);
    }

    /** One migration this node takes part in: its slot entry, and the other node. */
    private record Taking(SlotWorkloads.Migration entry, int otherId, long otherIncarnation, boolean source) {
        Taking with(SlotWorkloads.Phase phase, SlotWorkloads.Failure failure) {
            return new Taking(new SlotWorkloads.Migration(entry.workloadId(), entry.attempt(), phase, failure), otherId, otherIncarnation,
                    source);
        }
    }

    /** A workload's restart policy: at most {@code maxRestarts} failures within {@code windowNanos}, then it gives up here. */
    public record RestartLimit(int maxRestarts, long windowNanos) {
        public static final RestartLimit UNLIMITED = new RestartLimit(Integer.MAX_VALUE, 0);
    }

    private final int selfId;
    private final long incarnation;
    private final java.util.function.IntFunction<RestartLimit> limits;
    private final Map<Integer, java.util.ArrayDeque<Long>> failureTimes = new TreeMap<>();
    private long now;
    private final Map<Integer, Local> local = new TreeMap<>();
    private final Map<Integer, WorkloadRecord> records = new TreeMap<>();
    private final Map<Integer, Integer> failures = new TreeMap<>();
    private long readTable;
    private boolean stopping;
    private final Map<Integer, Taking> taking = new TreeMap<>();
    private final java.util.Set<Integer> resuming = new java.util.TreeSet<>();
    private Peers peers = Peers.NONE;

    /** Restarts in place without limit (the coordinator's limit alone relocates). */
    public WorkloadAgent(int selfId, long incarnation) {
        this(selfId, incarnation, id -> RestartLimit.UNLIMITED);
    }

    /**
     * @param limits each workload's restart policy: past it, the node stops restarting the workload in place and
     *               declares it failed out ({@link #failedOut}), so that the coordinator relocates it
     */
    public WorkloadAgent(int selfId, long incarnation, java.util.function.IntFunction<RestartLimit> limits) {
        this.selfId = selfId;
        this.incarnation = incarnation;
        this.limits = limits;
    }

    /** How this node sees the others' slots and verdicts (for resuming a VE whose handover was called off). */
    public void peers(Peers p) {
        this.peers = p;
    }

    /** The clock advanced: a workload whose failures left its window may be started here again. */
    public List<Effect> tick(long nowNanos) {
        this.now = nowNanos;
        return drive();
    }

    /** {@link #failed(int)} at {@code nowNanos}. */
    public List<Effect> failed(int id, long nowNanos) {
        this.now = nowNanos;
        return failed(id);
    }

    /** Whether {@code id} failed here more often within its window than its restart limit allows. */
    public boolean failedOut(int id) {
        RestartLimit limit = limits.apply(id);
        java.util.ArrayDeque<Long> times = failureTimes.get(id);
        if (times == null || limit == null || limit.maxRestarts() == Integer.MAX_VALUE) {
            return false;
        }
        while (!times.isEmpty() && now - times.peekFirst() > limit.windowNanos()) {
            times.removeFirst();
        }
        return times.size() > limit.maxRestarts();
    }

    /** The workloads this node has given up on ({@link #failedOut(int)}): what its slot declares. */
    public List<Integer> failedOut() {
        return failureTimes.keySet().stream().filter(this::failedOut).toList();
    }

    /** The records read from the disk (every workload record, as the newest of the two copies). */
    public List<Effect> recordsRead(Map<Integer, WorkloadRecord> read) {
        records.clear();
        records.putAll(read);
        for (WorkloadRecord r : read.values()) {
            readTable = Math.max(readTable, r.tableVersion());
        }
        return drive();
    }

    public List<Effect> started(int id) {
        if (local.get(id) == Local.STARTING) {
            local.put(id, Local.RUNNING);
        }
        return drive();
    }

    /** A start failed, or a running workload failed (its monitor said so, or it exited). */
    public List<Effect> failed(int id) {
        failures.merge(id, 1, Integer::sum);
        failureTimes.computeIfAbsent(id, k -> new java.util.ArrayDeque<>()).addLast(now);
        if (local.get(id) == Local.STARTING || local.get(id) == Local.RUNNING) {
            local.put(id, Local.STOPPED);
        }
        Taking t = taking.get(id);
        if (t != null && !t.source() && t.entry().phase() != SlotWorkloads.Phase.FAILED) {
            // The VE died on the target: the attempt failed with it.
            taking.put(id, t.with(SlotWorkloads.Phase.FAILED, SlotWorkloads.Failure.TARGET_FAILED));
        }
        // On the source the attempt's phase is the Send's to say: while it sends, the state may already have
        // gone over (the Send then reports sent, else failed); once sent, the VE lives on the target, and only
        // the paused copy died here. Declaring such an attempt failed would let the coordinator give the VE back
        // to this node, which would start it afresh while the target runs it.
        return drive();
    }

    /** Source: the whole state went over (or into the file); the VE is paused here for good. */
    public List<Effect> sent(int id, int attempt) {
        Taking t = taking.get(id);
        if (t != null && t.source() && t.entry().attempt() == attempt && t.entry().phase() == SlotWorkloads.Phase.SENDING) {
            taking.put(id, t.with(SlotWorkloads.Phase.SENT, SlotWorkloads.Failure.NONE));
        }
        return drive();
    }

    /** Source: the handover failed; the VE runs here as before. */
    public List<Effect> sendFailed(int id, int attempt, SlotWorkloads.Failure why) {
        Taking t = taking.get(id);
        if (t != null && t.source() && t.entry().attempt() == attempt && t.entry().phase() == SlotWorkloads.Phase.SENDING) {
            taking.put(id, t.with(SlotWorkloads.Phase.FAILED, why)); // never after sent: the VE is the target's then
        }
        return drive();
    }

    /** Target: the VE arrived and runs here. */
    public List<Effect> received(int id, int attempt) {
        Taking t = taking.get(id);
        if (t != null && !t.source() && t.entry().attempt() == attempt && local.get(id) == Local.RECEIVING) {
            taking.put(id, t.with(SlotWorkloads.Phase.RECEIVED, SlotWorkloads.Failure.NONE));
            local.put(id, Local.RUNNING);
        }
        return drive();
    }

    /** Target: nothing arrived (or the QEMU failed); nothing of it runs here any more. */
    public List<Effect> receiveFailed(int id, int attempt, SlotWorkloads.Failure why) {
        Taking t = taking.get(id);
        if (t != null && !t.source() && t.entry().attempt() == attempt) {
            taking.put(id, t.with(SlotWorkloads.Phase.FAILED, why));
        }
        if (local.get(id) == Local.RECEIVING) {
            local.put(id, Local.STOPPED);
        }
        return drive();
    }

    /** Source: the paused VE runs again after a handover was called off. */
    public List<Effect> resumed(int id) {
        resuming.remove(id);
        Taking t = taking.get(id);
        if (t != null && t.source() && t.entry().phase() == SlotWorkloads.Phase.SENT) {
            taking.remove(id);
        }
        return drive();
    }

    public List<Effect> stopped(int id) {
        local.put(id, Local.STOPPED);
        Taking t = taking.get(id);
        WorkloadRecord r = records.get(id);
        if (t != null && (r == null || !r.migrating() || r.attempt() != t.entry().attempt())) {
            taking.remove(id); // the source stopped after its handover, or the target discarded the attempt
        }
        return drive();
    }

    /** Stop everything and start nothing more (leaving, or exiting on a lost disk or a pill). */
    public List<Effect> stopAll(String reason) {
        stopping = true;
        List<Effect> out = new ArrayList<>();
        for (var e : local.entrySet()) {
            if (e.getValue() == Local.RUNNING || e.getValue() == Local.STARTING || e.getValue() == Local.RECEIVING) {
                e.setValue(Local.STOPPING);
                out.add(new Effect.Stop(e.getKey(), reason));
            }
        }
        return out;
    }

    private List<Effect> drive() {
        List<Effect> out = new ArrayList<>();
        if (stopping) {
            return out;
        }
        migrationsDrive(out);
        for (WorkloadRecord r : records.values()) {
            Local l = local.getOrDefault(r.id(), Local.STOPPED);
            boolean mine = r.runsOn(selfId, incarnation);
            if (mine && l == Local.STOPPED && !failedOut(r.id()) && !taking.containsKey(r.id())) {
                local.put(r.id(), Local.STARTING);
                out.add(new Effect.Start(r.id(), r.epoch()));
            }
        }
        for (var e : local.entrySet()) {
            WorkloadRecord r = records.get(e.getKey());
            if (frozen(r)) {
                continue; // Baton does not manage it: it keeps running (or not) as it is
            }
            if (!allowed(r) && (e.getValue() == Local.RUNNING || e.getValue() == Local.STARTING)) {
                Taking t = taking.get(e.getKey());
                if (t != null && t.source() && t.entry().phase() == SlotWorkloads.Phase.SENDING) {
                    continue; // the handover is under way: its end decides (sent: stop it; failed: it runs on)
                }
                e.setValue(Local.STOPPING);
                out.add(new Effect.Stop(e.getKey(), r == null ? "no record names this node" : why(r)));
            }
        }
        return out;
    }

    /** Whether the records let {@code r}'s workload be active here: it runs here, or migrates off or onto this node. */
    private boolean allowed(WorkloadRecord r) {
        return r != null && (r.runsOn(selfId, incarnation) || r.migratesFrom(selfId, incarnation) || r.migratesTo(selfId, incarnation));
    }

    /** Begins, ends and forgets this node's part in migrations, as the records say. */
    private void migrationsDrive(List<Effect> out) {
        for (WorkloadRecord r : records.values()) {
            Local l = local.getOrDefault(r.id(), Local.STOPPED);
            Taking t = taking.get(r.id());
            if (t != null && t.entry().attempt() == r.attempt()) {
                continue; // under way (or failed, until the coordinator calls it off)
            }
            if (r.migratesFrom(selfId, incarnation) && l == Local.RUNNING && t == null) {
                taking.put(r.id(), new Taking(new SlotWorkloads.Migration(r.id(), r.attempt(), SlotWorkloads.Phase.SENDING,
                        SlotWorkloads.Failure.NONE), r.nextId(), r.nextIncarnation(), true));
                out.add(new Effect.Send(r.id(), r.attempt(), r.nextId(), r.checkpoint()));
            } else if (r.migratesTo(selfId, incarnation) && l == Local.STOPPED && t == null && !failedOut(r.id())) {
                taking.put(r.id(), new Taking(new SlotWorkloads.Migration(r.id(), r.attempt(), SlotWorkloads.Phase.RECEIVING,
                        SlotWorkloads.Failure.NONE), r.ownerId(), r.ownerIncarnation(), false));
                local.put(r.id(), Local.RECEIVING);
                out.add(new Effect.Receive(r.id(), r.attempt(), r.ownerId(), r.checkpoint()));
            }
        }
        for (var e : List.copyOf(taking.entrySet())) {
            int id = e.getKey();
            Taking t = e.getValue();
            WorkloadRecord r = records.get(id);
            if (r != null && r.migrating() && r.attempt() == t.entry().attempt()) {
                continue; // the attempt goes on
            }
            // The record no longer carries this attempt: finished, called off, or overtaken.
            Local l = local.getOrDefault(id, Local.STOPPED);
            if (t.source()) {
                switch (t.entry().phase()) {
                    case SENDING -> { } // wait for the handover's end
                    case SENT -> {
                        if (r != null && r.runsOn(selfId, incarnation)) {
                            if (peers.mayRun(t.otherId(), t.otherIncarnation(), id, r.tableVersion())) {
                                continue; // the next node may run it: the paused VE waits
                            }
                            if (l == Local.RUNNING && resuming.add(id)) {
                                out.add(new Effect.Resume(id));
                            } else if (l == Local.STOPPED) {
                                taking.remove(id); // the paused copy died meanwhile: the start rule starts it afresh
                            }
                        } else if (l == Local.STOPPED) {
                            taking.remove(id);
                        } else if (l == Local.RUNNING && r != null && r.migratesTo(selfId, incarnation)) {
                            // It comes back by another attempt (a switch-back): the paused copy is of no use any more,
                            // and the receive waits for it to go. The stop rule would keep it, as the record lets the VE be here.
                            local.put(id, Local.STOPPING);
                            out.add(new Effect.Stop(id, "handed over to node " + t.otherId() + ", which migrates it back"));
                        } // else the stop rule stops the paused VE
                    }
                    default -> taking.remove(id);
                }
            } else if (l == Local.RECEIVING) {
                local.put(id, Local.STOPPING);
                out.add(new Effect.Discard(id, r == null ? "no record names this node" : "the migration was called off"));
            } else if (l != Local.STOPPING) {
                taking.remove(id); // received and now simply running here (or stopped by the usual rules)
            }
        }
    }

    private static boolean frozen(WorkloadRecord r) {
        return r != null && r.desired() == Placement.Desired.FROZEN;
    }

    private String why(WorkloadRecord r) {
        if (r.desired() != Placement.Desired.RUNNING) {
            return "it should be " + r.desired().name().toLowerCase(java.util.Locale.ROOT);
        }
        if (r.nextId() != 0) {
            return "it moves to node " + r.nextId();
        }
        return r.ownerId() == selfId ? "the record names another incarnation of this node" : "node " + r.ownerId() + " owns it";
    }

    /** The newest table version whose orders are carried out: nothing runs or is stopping here that must not run. */
    public long acknowledgedTable() {
        for (var e : local.entrySet()) {
            WorkloadRecord r = records.get(e.getKey());
            if (!allowed(r) && !frozen(r) && e.getValue() != Local.STOPPED) {
                return 0;
            }
        }
        return readTable;
    }

    /**
     * The workloads that run or may run here (starting, running or stopping): what the slot must
     * declare. A target still waiting for a VE does not run it (its entry says receiving).
     */
    public List<Integer> active() {
        return local.entrySet().stream().filter(e -> e.getValue() != Local.STOPPED && e.getValue() != Local.RECEIVING)
                .map(Map.Entry::getKey).toList();
    }

    /** This node's part in migrations: what its slot declares. */
    public List<SlotWorkloads.Migration> migrations() {
        return taking.values().stream().map(Taking::entry).toList();
    }

    public Local local(int id) {
        return local.getOrDefault(id, Local.STOPPED);
    }

    public int failures(int id) {
        return failures.getOrDefault(id, 0);
    }
}
