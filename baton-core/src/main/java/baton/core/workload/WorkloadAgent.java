package baton.core.workload;

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
 * </ul>
 */
public final class WorkloadAgent {
    /** Where a workload stands on this node. */
    public enum Local { STOPPED, STARTING, RUNNING, STOPPING }

    /** What the shell must do. */
    public sealed interface Effect {
        record Start(int id, long epoch) implements Effect {}

        record Stop(int id, String reason) implements Effect {}
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
        return drive();
    }

    public List<Effect> stopped(int id) {
        local.put(id, Local.STOPPED);
        return drive();
    }

    /** Stop everything and start nothing more (leaving, or exiting on a lost disk or a pill). */
    public List<Effect> stopAll(String reason) {
        stopping = true;
        List<Effect> out = new ArrayList<>();
        for (var e : local.entrySet()) {
            if (e.getValue() == Local.RUNNING || e.getValue() == Local.STARTING) {
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
        for (WorkloadRecord r : records.values()) {
            Local l = local.getOrDefault(r.id(), Local.STOPPED);
            boolean mine = r.runsOn(selfId, incarnation);
            if (mine && l == Local.STOPPED && !failedOut(r.id())) {
                local.put(r.id(), Local.STARTING);
                out.add(new Effect.Start(r.id(), r.epoch()));
            }
        }
        for (var e : local.entrySet()) {
            WorkloadRecord r = records.get(e.getKey());
            if (frozen(r)) {
                continue; // Baton does not manage it: it keeps running (or not) as it is
            }
            boolean mine = r != null && r.runsOn(selfId, incarnation);
            if (!mine && (e.getValue() == Local.RUNNING || e.getValue() == Local.STARTING)) {
                e.setValue(Local.STOPPING);
                out.add(new Effect.Stop(e.getKey(), r == null ? "no record names this node" : why(r)));
            }
        }
        return out;
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
            boolean mine = r != null && r.runsOn(selfId, incarnation);
            if (!mine && !frozen(r) && e.getValue() != Local.STOPPED) {
                return 0;
            }
        }
        return readTable;
    }

    /** The workloads that run or may run here (starting, running or stopping): what the slot must declare. */
    public List<Integer> active() {
        return local.entrySet().stream().filter(e -> e.getValue() != Local.STOPPED).map(Map.Entry::getKey).toList();
    }

    public Local local(int id) {
        return local.getOrDefault(id, Local.STOPPED);
    }

    public int failures(int id) {
        return failures.getOrDefault(id, 0);
    }
}
