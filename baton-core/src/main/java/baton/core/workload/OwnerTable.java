package baton.core.workload;

import baton.core.disk.SlotWorkloads;
import baton.core.membership.Verdict;
import baton.core.workload.Placement.Decision;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The coordinator's side of workload ownership: from the owner records on the quorum disk, the
 * cluster's membership and what every node declares in its slot, the records to write. A pure
 * function; the coordinator writes each returned record to both copies.
 *
 * <h2>Protocol (docs/workloads.md)</h2>
 * <ul>
 * <li><b>Place, adopt, recover</b> ({@link Placement}): one write names the new owner (node and
 *     incarnation). Recovery only ever follows a fenced or departed owner, so nothing else can
 *     still run the workload.</li>
 * <li><b>Planned move</b>, in two writes. Phase 1 names the next node and leaves the owner in
 *     place: the owner stops the workload (the record no longer lets it run) and acknowledges
 *     the table version in its slot. Phase 2, only once the owner's slot shows that version
 *     acknowledged and the workload not active, names the next node as owner. Until then nobody
 *     else may start it. If the target goes away meanwhile, the move is re-targeted or cancelled.</li>
 * <li><b>Restart</b> by an operator: the record says stopped with the restart flag; once the owner
 *     shows it stopped, the record says running again.</li>
 * <li>A record written under an older lease generation is written again under this one, so that
 *     every record a node reads carries the current coordinator's generation.</li>
 * <li><b>Migration</b> of a VE (docs/switchover.md), in two writes. Begin names the next node with
 *     the migrate flag and an attempt number; the owner keeps running the VE while it hands it
 *     over, the next node receives it. Both declare in their slots how far the attempt has come.
 *     Finish (the next node becomes owner) once the next node declares it received and running.
 *     Cancel (the owner keeps it, and resumes it if it had paused it) once either side declares
 *     the attempt failed, or the next node is gone (fenced, left, restarted). A next node that is
 *     merely not up may already run the VE (the transfer may complete after the owner's slot was
 *     read), so nothing else happens to it until a side declares the attempt's end or the next
 *     node is fenced: the owner's transfer ends by its deadline, sent or failed. Operators cannot
 *     stop or restart a migrating VE either.</li>
 * </ul>
 */
public final class OwnerTable {
    private OwnerTable() {}

    /** What a node's newest slot says: its incarnation and its workload declaration. */
    public record Published(long incarnation, SlotWorkloads declared) {}

    public enum Change {
        PLACE, ADOPT, RECOVER, MOVE_BEGIN, MOVE_RETARGET, MOVE_CANCEL, MOVE_FINISH, RESTART_RUN, REFRESH, OPERATOR,
        MIGRATE_BEGIN, MIGRATE_FINISH, MIGRATE_CANCEL
    }

    /**
     * What the coordinator knows about migrations.
     *
     * @param migratable  the workloads that can migrate (VEs)
     * @param settings    the node settings: which nodes are switched over (their VEs migrate off) and in which mode,
     *                    which were resumed with switch-back
     * @param maxParallel at most this many migrations off one node at once
     */
    public record Migrations(java.util.Set<Integer> migratable, NodeSettings settings, int maxParallel) {
        public static final Migrations NONE = new Migrations(java.util.Set.of(), NodeSettings.NONE, 1);

        public Migrations {
            migratable = java.util.Set.copyOf(migratable);
            if (maxParallel < 1 || maxParallel > SlotWorkloads.MAX_MIGRATIONS) {
                throw new IllegalArgumentException("at most 1.." + SlotWorkloads.MAX_MIGRATIONS + " migrations at once, not " + maxParallel);
            }
        }
    }

    /** One record to write, why, and the record it replaces (null for a new one). */
    public record Write(WorkloadRecord record, Change change, WorkloadRecord previous) {}

    /** The writes, and the decisions that could not be carried out (with their reasons). */
    public record Plan(List<Write> writes, List<Decision.Hold> holds) {}

    /**
     * Everything the coordinator knows at one moment.
     *
     * @param generation         the coordinator lease generation this coordinator holds
     * @param records            the newest valid record of each workload id
     * @param published          each node's newest slot, by node id
     * @param failures           failures known besides the nodes' failed-out declarations (the simulator's)
     * @param unsafeSkipStopWait testing the checkers only: finish a move without waiting for the old owner to stop
     */
    public record Context(long nowNanos, long generation, long wallMillis, List<Placement.Spec> specs, List<Placement.Node> nodes,
                          Map<Integer, Published> published, Map<Integer, WorkloadRecord> records,
                          List<Placement.Failure> failures, boolean unsafeSkipStopWait, Migrations migrations) {
        public Context {
            specs = List.copyOf(specs);
            nodes = List.copyOf(nodes);
            published = Map.copyOf(published);
            records = Map.copyOf(records);
            failures = List.copyOf(failures);
        }

        public Context(long nowNanos, long generation, long wallMillis, List<Placement.Spec> specs, List<Placement.Node> nodes,
                       Map<Integer, Published> published, Map<Integer, WorkloadRecord> records,
                       List<Placement.Failure> failures, boolean unsafeSkipStopWait) {
            this(nowNanos, generation, wallMillis, specs, nodes, published, records, failures, unsafeSkipStopWait, Migrations.NONE);
        }

        public Context(long nowNanos, long generation, long wallMillis, List<Placement.Spec> specs, List<Placement.Node> nodes,
                       Map<Integer, Published> published, Map<Integer, WorkloadRecord> records) {
            this(nowNanos, generation, wallMillis, specs, nodes, published, records, List.of(), false);
        }

        /** {@code node}'s declaration of {@code r}'s migration attempt, if {@code node} in {@code incarnation} published one. */
        Optional<SlotWorkloads.Migration> entry(WorkloadRecord r, int node, long incarnation) {
            Published p = published.get(node);
            return p == null || p.incarnation() != incarnation ? Optional.empty() : p.declared().migration(r.id(), r.attempt());
        }

        /** Whether {@code node} published a slot of {@code incarnation} that shows {@code id} active. */
        boolean activeOn(int id, int node, long incarnation) {
            Published p = published.get(node);
            return p != null && p.incarnation() == incarnation && p.declared().active(id);
        }

        /** Whether {@code node} in {@code incarnation} can no longer run anything: fenced, left, restarted or gone from the view. */
        boolean gone(int node, long incarnation) {
            Optional<Placement.Node> n = node(node);
            return n.isEmpty() || n.get().incarnation() != incarnation || n.get().verdict() == Verdict.FENCED
                    || n.get().verdict() == Verdict.LEFT;
        }

        Optional<Placement.Node> node(int id) {
            return nodes.stream().filter(n -> n.id() == id).findFirst();
        }

        Optional<Placement.Spec> spec(int id) {
            return specs.stream().filter(s -> s.id() == id).findFirst();
        }

        /** Whether {@code node}'s slot shows {@code r}'s version carried out by the owning incarnation and {@code r} not active there. */
        boolean stoppedBy(WorkloadRecord r, int node, long incarnation) {
            Published p = published.get(node);
            return p != null && p.incarnation() == incarnation && p.declared().acknowledgedTable() >= r.tableVersion()
                    && !p.declared().active(r.id());
        }

        /** All known failures: the given ones, and a workload failed out on a node counts as past its limit there. */
        List<Placement.Failure> allFailures() {
            List<Placement.Failure> all = new ArrayList<>(failures);
            for (Placement.Node n : nodes) {
                Published p = published.get(n.id());
                if (p == null || p.incarnation() != n.incarnation()) {
                    continue;
                }
                for (int id : p.declared().failedOutIds()) {
                    int count = spec(id).map(s -> s.maxRestarts() + 1).orElse(0);
                    for (int i = 0; i < count; i++) {
                        all.add(new Placement.Failure(id, n.id(), nowNanos));
                    }
                }
            }
            return all;
        }
    }

    /** Writes that share one growing table version. */
    private static final class Writer {
        final Context c;
        final List<Write> out = new ArrayList<>();
        final Map<Integer, WorkloadRecord> table;
        long version;

        Writer(Context c) {
            this.c = c;
            this.table = new TreeMap<>(c.records());
            this.version = c.records().values().stream().mapToLong(WorkloadRecord::tableVersion).max().orElse(0);
        }

        void write(Change change, int id, String name, int owner, long ownerInc, Placement.Desired desired, int next,
                   long nextInc, String reason, int flags) {
            WorkloadRecord old = table.get(id);
            write(change, id, name, owner, ownerInc, desired, next, nextInc, reason, flags, 0, old == null ? 0 : old.homeId());
        }

        void write(Change change, int id, String name, int owner, long ownerInc, Placement.Desired desired, int next,
                   long nextInc, String reason, int flags, int attempt, int home) {
            WorkloadRecord old = table.get(id);
            long epoch = old == null ? 1 : old.epoch() + 1;
            ++version;
            // The attempt of a migration is the table version that began it (low 32 bits, never 0).
            int a = (flags & WorkloadRecord.MIGRATE) == 0 ? 0 : attempt != 0 ? attempt : (int) version != 0 ? (int) version : 1;
            WorkloadRecord r = new WorkloadRecord(id, epoch, version, c.generation(), c.wallMillis(), owner, ownerInc, desired,
                    next, nextInc, name, clip(reason), flags, a, home);
            table.put(id, r);
            out.add(new Write(r, change, old));
        }

        /** Begins migrating {@code r} (running, owned, not moving) to {@code target}. */
        void migrate(WorkloadRecord r, Placement.Node target, boolean checkpoint, int home, String reason) {
            write(Change.MIGRATE_BEGIN, r.id(), r.name(), r.ownerId(), r.ownerIncarnation(), r.desired(), target.id(),
                    target.incarnation(), reason, WorkloadRecord.MIGRATE | (checkpoint ? WorkloadRecord.CHECKPOINT : 0), 0, home);
        }

        /** The migrations off {@code node} in flight in the table being written. */
        long migrationsFrom(int node) {
            return table.values().stream().filter(x -> x.migrating() && x.ownerId() == node).count();
        }

        void own(Change change, Placement.Spec spec, int node, long inc, String reason) {
            WorkloadRecord old = table.get(spec.id());
            write(change, spec.id(), spec.name(), node, inc, old == null ? Placement.Desired.RUNNING : old.desired(), 0, 0, reason, 0,
                    0, 0);
        }

        void next(Change change, WorkloadRecord r, int next, long nextInc, String reason) {
            write(change, r.id(), r.name(), r.ownerId(), r.ownerIncarnation(), r.desired(), next, nextInc, reason,
                    r.flags() & ~(WorkloadRecord.MIGRATE | WorkloadRecord.CHECKPOINT), 0, r.homeId());
        }
    }

    private static String clip(String reason) {
        // The record holds 200 bytes of UTF-8; reasons are ASCII, cut with a mark.
        return reason.length() <= WorkloadRecord.MAX_REASON_BYTES ? reason
                : reason.substring(0, WorkloadRecord.MAX_REASON_BYTES - 3) + "...";
    }

    /** What the coordinator writes now. */
    public static Plan plan(Context c) {
        Writer w = new Writer(c);
        List<Decision.Hold> holds = new ArrayList<>();
        Map<Integer, Placement.Current> current = new HashMap<>();
        Map<Integer, Placement.Desired> desired = new HashMap<>();
        for (WorkloadRecord r : c.records().values()) {
            desired.put(r.id(), r.desired());
            if (r.ownerId() != 0) {
                current.put(r.id(), new Placement.Current(r.id(), r.ownerId(), r.ownerIncarnation(), r.desired()));
            }
        }
        List<Decision> decisions = Placement.decide(c.nowNanos(), c.specs(), c.nodes(), current, desired, c.allFailures());
        Map<Integer, Decision> byWorkload = new LinkedHashMap<>();
        decisions.forEach(d -> byWorkload.put(d.workloadId(), d));
        java.util.Set<Integer> migrationsDecided = new java.util.HashSet<>();
        for (Decision d : decisions) {
            Placement.Spec spec = c.spec(d.workloadId()).orElseThrow();
            WorkloadRecord r = w.table.get(d.workloadId());
            if (r != null && r.migrating() && !(d instanceof Decision.Hold)) {
                // The owner failed mid-migration (or a move is asked for): the next node may hold the VE.
                migratingOwnerGone(c, w, r, d, holds);
                migrationsDecided.add(r.id());
                continue;
            }
            switch (d) {
                case Decision.Place p -> w.own(Change.PLACE, spec, p.nodeId(), p.incarnation(), p.reason());
                case Decision.Adopt a -> w.own(Change.ADOPT, spec, a.nodeId(), a.incarnation(), a.reason());
                case Decision.Recover rc -> w.own(Change.RECOVER, spec, rc.nodeId(), rc.incarnation(), rc.reason());
                case Decision.Move m -> {
                    if (r.nextId() == 0 && switchedOver(c, r)) {
                        // A switchover moves VEs live (or through a checkpoint), a bounded number at once; one whose
                        // migration failed stays until the operator migrates or relocates it.
                        if (r.migrationFailed()) {
                            holds.add(new Decision.Hold(r.id(), r.reason() + "; migrate or relocate it by hand"));
                        } else if (w.migrationsFrom(r.ownerId()) < c.migrations().maxParallel()) {
                            w.migrate(r, c.node(m.nodeId()).orElseThrow(), c.migrations().settings().checkpoint(r.ownerId()), r.ownerId(),
                                    "switchover of node " + r.ownerId() + ": migrate to node " + m.nodeId());
                        }
                    } else if (r.nextId() == 0) {
                        w.next(Change.MOVE_BEGIN, r, m.nodeId(), m.incarnation(), m.reason());
                    } else if (!targetOk(c, r) && m.nodeId() != r.nextId()) {
                        w.next(Change.MOVE_RETARGET, r, m.nodeId(), m.incarnation(), m.reason());
                    }
                }
                case Decision.Hold h -> holds.add(h);
            }
        }
        for (WorkloadRecord r : List.copyOf(w.table.values())) {
            if (w.out.stream().anyMatch(x -> x.record().id() == r.id())) {
                continue; // decided above
            }
            if (r.migrating()) {
                int before = w.out.size();
                if (!migrationsDecided.contains(r.id())) {
                    migration(c, w, r, holds);
                }
                if (w.out.size() == before && r.generation() < c.generation()) {
                    // In flight under this coordinator too: as every record, carried over to its generation.
                    w.write(Change.REFRESH, r.id(), r.name(), r.ownerId(), r.ownerIncarnation(), r.desired(), r.nextId(),
                            r.nextIncarnation(), r.reason(), r.flags(), r.attempt(), r.homeId());
                }
                continue;
            }
            if (r.nextId() != 0 && r.desired() == Placement.Desired.RUNNING) {
                boolean ownerUp = c.node(r.ownerId()).filter(n -> n.verdict() == Verdict.UP && n.incarnation() == r.ownerIncarnation())
                        .isPresent();
                if (!targetOk(c, r)) {
                    if (ownerUp) {
                        w.next(Change.MOVE_CANCEL, r, 0, 0, "move to node " + r.nextId() + " cancelled: that node is no longer"
                                + " eligible; stays on node " + r.ownerId());
                    }
                    continue;
                }
                if (c.stoppedBy(r, r.ownerId(), r.ownerIncarnation()) || c.unsafeSkipStopWait()) {
                    w.write(Change.MOVE_FINISH, r.id(), r.name(), r.nextId(), r.nextIncarnation(), r.desired(), 0, 0,
                            "moved from node " + r.ownerId() + ": " + r.reason(), 0);
                }
                continue;
            }
            if (r.restarting() && r.desired() == Placement.Desired.STOPPED) {
                Optional<Placement.Node> owner = c.node(r.ownerId());
                boolean gone = owner.isEmpty() || owner.get().incarnation() != r.ownerIncarnation()
                        || owner.get().verdict() == Verdict.FENCED || owner.get().verdict() == Verdict.LEFT;
                if (r.ownerId() == 0 || gone || c.stoppedBy(r, r.ownerId(), r.ownerIncarnation())) {
                    w.write(Change.RESTART_RUN, r.id(), r.name(), r.ownerId(), r.ownerIncarnation(), Placement.Desired.RUNNING, 0, 0,
                            "restarted by an operator", 0);
                }
                continue;
            }
            if (switchBack(c, r) && w.migrationsFrom(r.ownerId()) < c.migrations().maxParallel()) {
                Placement.Node home = c.node(r.homeId()).orElseThrow();
                w.write(Change.MIGRATE_BEGIN, r.id(), r.name(), r.ownerId(), r.ownerIncarnation(), r.desired(), home.id(),
                        home.incarnation(), "switch back to node " + home.id(), WorkloadRecord.MIGRATE, 0, 0);
                continue;
            }
            if (r.generation() < c.generation()) {
                w.write(Change.REFRESH, r.id(), r.name(), r.ownerId(), r.ownerIncarnation(), r.desired(), r.nextId(),
                        r.nextIncarnation(), r.reason(), r.flags(), r.attempt(), r.homeId());
            }
        }
        return new Plan(List.copyOf(w.out), List.copyOf(holds));
    }

    /** Whether {@code r}, running on a switched-over node, moves off it by migration. */
    private static boolean switchedOver(Context c, WorkloadRecord r) {
        return c.migrations().migratable().contains(r.id()) && c.migrations().settings().switchover(r.ownerId())
                && r.desired() == Placement.Desired.RUNNING;
    }

    /** Whether {@code r} goes back to the node a switchover moved it off, now resumed with switch-back. */
    private static boolean switchBack(Context c, WorkloadRecord r) {
        if (r.homeId() == 0 || r.homeId() == r.ownerId() || r.nextId() != 0 || r.desired() != Placement.Desired.RUNNING
                || !c.migrations().settings().switchBack(r.homeId()) || !c.migrations().migratable().contains(r.id())) {
            return false;
        }
        boolean ownerUp = c.node(r.ownerId()).filter(n -> n.verdict() == Verdict.UP && n.incarnation() == r.ownerIncarnation()).isPresent();
        boolean homeUp = c.node(r.homeId()).filter(n -> n.verdict() == Verdict.UP && !n.standby()).isPresent();
        return ownerUp && homeUp;
    }

    /** A migration in flight whose owner still counts: finish, cancel, or wait. */
    private static void migration(Context c, Writer w, WorkloadRecord r, List<Decision.Hold> holds) {
        Optional<SlotWorkloads.Migration> src = c.entry(r, r.ownerId(), r.ownerIncarnation());
        Optional<SlotWorkloads.Migration> tgt = c.entry(r, r.nextId(), r.nextIncarnation());
        String mode = r.checkpoint() ? "through a checkpoint" : "live";
        if (tgt.filter(m -> m.phase() == SlotWorkloads.Phase.RECEIVED).isPresent() && c.activeOn(r.id(), r.nextId(), r.nextIncarnation())) {
            w.write(Change.MIGRATE_FINISH, r.id(), r.name(), r.nextId(), r.nextIncarnation(), r.desired(), 0, 0,
                    "migrated " + mode + " from node " + r.ownerId() + " (" + r.reason() + ")", 0, 0, r.homeId());
            return;
        }
        Optional<SlotWorkloads.Migration> failed = src.filter(m -> m.phase() == SlotWorkloads.Phase.FAILED)
                .or(() -> tgt.filter(m -> m.phase() == SlotWorkloads.Phase.FAILED));
        boolean handedOver = src.filter(m -> m.phase() == SlotWorkloads.Phase.SENT).isPresent();
        if (failed.isPresent()) {
            String side = src.filter(m -> m.phase() == SlotWorkloads.Phase.FAILED).isPresent() ? "node " + r.ownerId() : "node " + r.nextId();
            cancel(w, r, "migration to node " + r.nextId() + " failed (" + side + ": " + failed.get().failure().label + "); stays on node "
                    + r.ownerId(), WorkloadRecord.MIGRATION_FAILED);
            return;
        }
        boolean targetUp = c.node(r.nextId()).filter(t -> t.verdict() == Verdict.UP && t.incarnation() == r.nextIncarnation()).isPresent();
        if (targetUp) {
            return; // in flight
        }
        if (c.gone(r.nextId(), r.nextIncarnation())) {
            cancel(w, r, "migration to node " + r.nextId() + " called off: that node is gone"
                    + (handedOver ? " after the handover" : "") + "; stays on node " + r.ownerId(), WorkloadRecord.MIGRATION_FAILED);
            return;
        }
        // Not up, but maybe alive: the owner's slot may not show yet that the state went over, and a transfer under
        // way may still complete. Calling it off now would leave a record that gives the VE to the owner alone while
        // the next node runs it (the owner's restart, or its recovery once fenced, would start a second copy). The
        // owner's transfer ends by its deadline, sent or failed, and the owner declares which; or the next node is fenced.
        String verdict = c.node(r.nextId()).map(n -> n.verdict().name().toLowerCase(java.util.Locale.ROOT)).orElse("unknown");
        holds.add(new Decision.Hold(r.id(), handedOver
                ? "handed over to node " + r.nextId() + ", which is " + verdict + ": waits until it is fenced or declares the VE"
                : "migrating to node " + r.nextId() + ", which is " + verdict + ": waits until node " + r.ownerId()
                        + " declares the transfer's end or node " + r.nextId() + " is fenced"));
    }

    /**
     * A migrating VE got a placement decision: a move (its owner is in standby, or switched over),
     * which the migration decides first; or its owner is dead (fenced or left: recover) or runs
     * again as another incarnation (adopt), and the next node may hold the VE.
     */
    private static void migratingOwnerGone(Context c, Writer w, WorkloadRecord r, Decision d, List<Decision.Hold> holds) {
        Change change;
        int node;
        long inc;
        String reason;
        String how;
        switch (d) {
            case Decision.Recover rc -> {
                change = Change.RECOVER;
                node = rc.nodeId();
                inc = rc.incarnation();
                reason = rc.reason();
                how = "failed";
            }
            case Decision.Adopt a -> {
                change = Change.ADOPT;
                node = a.nodeId();
                inc = a.incarnation();
                reason = a.reason();
                how = "restarted";
            }
            default -> {
                migration(c, w, r, holds); // a move or placement while the migration runs: the migration decides first
                return;
            }
        }
        Optional<SlotWorkloads.Migration> tgt = c.entry(r, r.nextId(), r.nextIncarnation());
        boolean targetUp = c.node(r.nextId()).filter(t -> t.verdict() == Verdict.UP && t.incarnation() == r.nextIncarnation()).isPresent();
        if (targetUp && tgt.filter(m -> m.phase() == SlotWorkloads.Phase.RECEIVED).isPresent()
                && c.activeOn(r.id(), r.nextId(), r.nextIncarnation())) {
            w.write(Change.MIGRATE_FINISH, r.id(), r.name(), r.nextId(), r.nextIncarnation(), r.desired(), 0, 0,
                    "migrated from node " + r.ownerId() + ", which " + how + " after the handover", 0, 0, r.homeId());
            return;
        }
        // Only once the next node cannot hold it: it declared the attempt failed, or acknowledged it without running it, or is gone.
        Published p = c.published().get(r.nextId());
        boolean released = tgt.filter(m -> m.phase() == SlotWorkloads.Phase.FAILED).isPresent()
                || (p != null && p.incarnation() == r.nextIncarnation() && p.declared().acknowledgedTable() >= r.tableVersion()
                        && !p.declared().active(r.id()) && tgt.isEmpty());
        if (!released && !c.gone(r.nextId(), r.nextIncarnation())) {
            holds.add(new Decision.Hold(r.id(), "its owner node " + r.ownerId() + " " + how + " while migrating it to node "
                    + r.nextId() + ", which may hold it: waits until that node declares it or is fenced"));
            return;
        }
        Placement.Spec spec = c.spec(r.id()).orElseThrow();
        w.own(change, spec, node, inc, reason);
    }

    private static void cancel(Writer w, WorkloadRecord r, String reason, int flags) {
        w.write(Change.MIGRATE_CANCEL, r.id(), r.name(), r.ownerId(), r.ownerIncarnation(), r.desired(), 0, 0, reason, flags, 0, 0);
    }

    private static boolean targetOk(Context c, WorkloadRecord r) {
        return c.node(r.nextId()).filter(t -> t.verdict() == Verdict.UP && t.incarnation() == r.nextIncarnation() && !t.standby())
                .isPresent();
    }

    // ---------------------------------------------------------------- operators' requests

    /** An operator's request carried out (the write), or refused (why). */
    public sealed interface Answer {
        record Done(Write write) implements Answer {}

        record Refused(String reason) implements Answer {}
    }

    /** Start, stop or freeze (Baton stops managing it), unfreeze (it is managed again, as running). */
    public static Answer setDesired(Context c, Placement.Spec spec, Placement.Desired want, String who) {
        Writer w = new Writer(c);
        WorkloadRecord r = w.table.get(spec.id());
        if (r != null && r.desired() == want && !r.restarting()) {
            return new Answer.Refused(spec.name() + " is already " + label(want));
        }
        if (r != null && r.migrating()) {
            // The record would no longer name the next node, which may run the VE already: its owner could
            // then start it again (or another node, once the owner stopped) while the next node still runs it.
            return new Answer.Refused(spec.name() + " is migrating to node " + r.nextId() + "; wait until that ends");
        }
        int owner = r == null ? 0 : r.ownerId();
        long inc = r == null ? 0 : r.ownerIncarnation();
        // A move in progress ends with the new desire: the owner keeps it (stopped or frozen), or runs it again.
        w.write(Change.OPERATOR, spec.id(), spec.name(), owner, inc, want, 0, 0, who + ": " + label(want), 0);
        return new Answer.Done(w.out.getFirst());
    }

    /**
     * Start a workload that does not run (stopped, or never placed) on {@code target}, which the
     * caller found eligible. Refused while its last owner, alive, may still be stopping it.
     */
    public static Answer startOn(Context c, Placement.Spec spec, Placement.Node target, String who) {
        Writer w = new Writer(c);
        WorkloadRecord r = w.table.get(spec.id());
        if (r != null && r.desired() == Placement.Desired.RUNNING) {
            return new Answer.Refused(spec.name() + " runs already; relocate it instead");
        }
        if (r != null && r.ownerId() != 0 && r.ownerId() != target.id()) {
            Optional<Placement.Node> owner = c.node(r.ownerId());
            boolean gone = owner.isEmpty() || owner.get().incarnation() != r.ownerIncarnation()
                    || owner.get().verdict() == Verdict.FENCED || owner.get().verdict() == Verdict.LEFT;
            if (!gone && !c.stoppedBy(r, r.ownerId(), r.ownerIncarnation())) {
                return new Answer.Refused(spec.name() + " may still be stopping on node " + r.ownerId() + " (it has not"
                        + " acknowledged the stop yet); try again in a moment");
            }
        }
        w.write(Change.OPERATOR, spec.id(), spec.name(), target.id(), target.incarnation(), Placement.Desired.RUNNING, 0, 0,
                who + ": start on node " + target.id(), 0);
        return new Answer.Done(w.out.getFirst());
    }

    /** Stop it where it runs, then run it again there (the same owner). */
    public static Answer restart(Context c, Placement.Spec spec, String who) {
        Writer w = new Writer(c);
        WorkloadRecord r = w.table.get(spec.id());
        if (r == null || r.desired() != Placement.Desired.RUNNING || r.ownerId() == 0) {
            return new Answer.Refused(spec.name() + " is not running" + (r == null ? "" : " (" + label(r.desired()) + ")")
                    + "; start it instead");
        }
        if (r.migrating()) {
            return new Answer.Refused(spec.name() + " is migrating to node " + r.nextId() + "; wait until that ends");
        }
        w.write(Change.OPERATOR, r.id(), r.name(), r.ownerId(), r.ownerIncarnation(), Placement.Desired.STOPPED, 0, 0,
                who + ": restart", WorkloadRecord.RESTART);
        return new Answer.Done(w.out.getFirst());
    }

    /** Move it to {@code to} (or the best other eligible node): a planned move, stopped before it starts there. */
    public static Answer relocate(Context c, Placement.Spec spec, Optional<Integer> to, String who) {
        Writer w = new Writer(c);
        WorkloadRecord r = w.table.get(spec.id());
        if (r == null || r.desired() != Placement.Desired.RUNNING || r.ownerId() == 0) {
            return new Answer.Refused(spec.name() + " is not running; start it with --to instead");
        }
        Optional<Placement.Node> owner = c.node(r.ownerId());
        if (owner.isEmpty() || owner.get().verdict() != Verdict.UP || owner.get().incarnation() != r.ownerIncarnation()) {
            return new Answer.Refused("its owner node " + r.ownerId() + " is not up; a workload of a failed node is recovered"
                    + " after its owner is fenced");
        }
        if (to.isPresent() && to.get() == r.ownerId() && r.nextId() == 0) {
            return new Answer.Refused(spec.name() + " already runs on node " + r.ownerId());
        }
        if (r.migrating()) {
            return new Answer.Refused(spec.name() + " is migrating to node " + r.nextId() + "; wait until that ends");
        }
        Optional<Placement.Node> target = Placement.eligibleTarget(c.nowNanos(), spec, c.nodes(), c.allFailures(), r.ownerId(), to);
        if (target.isEmpty()) {
            return new Answer.Refused(to.map(t -> "node " + t + " cannot take " + spec.name() + ": ").orElse("no other node can take "
                    + spec.name() + ": ") + Placement.eligibility(c.nowNanos(), spec, c.nodes(), c.allFailures()));
        }
        Placement.Node t = target.get();
        w.next(Change.MOVE_BEGIN, r, t.id(), t.incarnation(), who + ": relocate to node " + t.id());
        return new Answer.Done(w.out.getFirst());
    }

    /**
     * Migrate a running VE to {@code to} (or the best other eligible node) without stopping it:
     * live, or through a checkpoint file.
     */
    public static Answer migrate(Context c, Placement.Spec spec, Optional<Integer> to, boolean checkpoint, String who) {
        Writer w = new Writer(c);
        WorkloadRecord r = w.table.get(spec.id());
        if (!c.migrations().migratable().contains(spec.id())) {
            return new Answer.Refused(spec.name() + " is not a VE: services move by relocate (stop, then start elsewhere)");
        }
        if (r == null || r.desired() != Placement.Desired.RUNNING || r.ownerId() == 0) {
            return new Answer.Refused(spec.name() + " is not running; start it with --to instead");
        }
        if (r.migrating()) {
            return new Answer.Refused(spec.name() + " is migrating to node " + r.nextId() + " already");
        }
        if (r.nextId() != 0) {
            return new Answer.Refused(spec.name() + " is moving to node " + r.nextId() + " already");
        }
        Optional<Placement.Node> owner = c.node(r.ownerId());
        if (owner.isEmpty() || owner.get().verdict() != Verdict.UP || owner.get().incarnation() != r.ownerIncarnation()) {
            return new Answer.Refused("its owner node " + r.ownerId() + " is not up: only a running VE can migrate");
        }
        if (to.isPresent() && to.get() == r.ownerId()) {
            return new Answer.Refused(spec.name() + " already runs on node " + r.ownerId());
        }
        if (c.published().get(r.ownerId()) != null
                && c.published().get(r.ownerId()).declared().migrations().size() >= SlotWorkloads.MAX_MIGRATIONS) {
            return new Answer.Refused("node " + r.ownerId() + " takes part in " + SlotWorkloads.MAX_MIGRATIONS
                    + " migrations already; try again when one ended");
        }
        Optional<Placement.Node> target = Placement.eligibleTarget(c.nowNanos(), spec, c.nodes(), c.allFailures(), r.ownerId(), to);
        if (target.isEmpty()) {
            return new Answer.Refused(to.map(t -> "node " + t + " cannot take " + spec.name() + ": ").orElse("no other node can take "
                    + spec.name() + ": ") + Placement.eligibility(c.nowNanos(), spec, c.nodes(), c.allFailures()));
        }
        w.migrate(r, target.get(), checkpoint, 0, who + ": migrate " + (checkpoint ? "through a checkpoint" : "live") + " to node "
                + target.get().id());
        return new Answer.Done(w.out.getFirst());
    }

    private static String label(Placement.Desired d) {
        return d.name().toLowerCase(java.util.Locale.ROOT);
    }
}
