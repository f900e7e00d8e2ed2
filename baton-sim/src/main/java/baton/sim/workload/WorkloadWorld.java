package baton.sim.workload;

import baton.core.membership.Verdict;
import baton.core.workload.Placement;
import baton.core.workload.WorkloadAgent;
import baton.core.workload.WorkloadRecord;
import baton.core.workload.OwnerTable;
import baton.core.disk.SlotWorkloads;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A small deterministic world of workload ownership: nodes running the real {@link WorkloadAgent},
 * a coordinator running the real {@link Placement} and carrying out its decisions on a simulated
 * shared table of {@link WorkloadRecord}s (the quorum disk), with simulated driver latencies,
 * random read delays, crashes, hangs, network cuts, fencing, standby, workload failures and
 * operator actions. Seeded, simulated time in nanos, no threads.
 *
 * <p>The checker runs after every step: never two nodes running the same workload at once (a
 * workload runs on a node from the moment its Start is issued until its Stop completes, it fails,
 * or the node is powered off; a hung node's workloads keep running), and a recovered workload's
 * previous owner incarnation is powered off at the moment of recovery.
 */
public final class WorkloadWorld {
    public static final long MS = 1_000_000L;

    /** A violation of the world's invariants, with the trace. */
    public static final class Violation extends AssertionError {
        Violation(String message) {
            super(message);
        }
    }

    /** A recovery the coordinator carried out. */
    public record Recovered(int workloadId, int fromNode, long fromIncarnation, int toNode, long atNanos) {}

    /** Moves: phase 1 (next written) and phase 2 (owner written). */
    public record MovePhase(int workloadId, int phase, int fromNode, int toNode, long atNanos) {}

    enum Power { ON, OFF }

    final class Node {
        final int id;
        long incarnation = 1;
        WorkloadAgent agent;
        Power power = Power.ON;
        boolean hung;
        boolean cut;
        boolean standby;
        /** Seen as suspect from the fault until this, then down; Long.MAX_VALUE when healthy. */
        long detectAt = Long.MAX_VALUE;
        /** When the pending fence powers it off; Long.MAX_VALUE when none. */
        long fenceAt = Long.MAX_VALUE;
        /** Fenced (this incarnation, until it restarts). */
        boolean fenced;
        /** The fence still fires if it resumes after it was declared down. */
        boolean fenceDespiteResume;
        /** Leaving cleanly (stopping everything), then left. */
        boolean leaving;
        boolean left;
        boolean readInFlight;
        final Set<Integer> running = new TreeSet<>();
        final Map<Integer, ArrayList<Op>> ops = new TreeMap<>();
        final List<Runnable> deferred = new ArrayList<>();
        /** Its published slot: incarnation, acknowledged table, active workloads. */
        long pubInc;
        long pubAck;
        List<Integer> pubActive = List.of();

        Node(int id) {
            this.id = id;
            this.agent = new WorkloadAgent(id, incarnation);
            publish();
        }

        boolean alive() {
            return power == Power.ON && !hung;
        }

        void publish() {
            pubInc = incarnation;
            pubAck = agent.acknowledgedTable();
            pubActive = List.copyOf(agent.active());
        }
    }

    record Op(boolean start, long epoch) {}

    private record Ev(long at, long seq, int node, long incarnation, Runnable action) {}

    private final long seed;
    private final Random rnd;
    private final List<Node> nodes = new ArrayList<>();
    private final List<Placement.Spec> specs = new ArrayList<>();
    private final Map<Integer, WorkloadRecord> table = new TreeMap<>();
    private final List<Placement.Failure> failures = new ArrayList<>();
    private final PriorityQueue<Ev> queue = new PriorityQueue<>((a, b) -> a.at != b.at ? Long.compare(a.at, b.at)
            : Long.compare(a.seq, b.seq));
    private final List<String> trace = new ArrayList<>();
    private final List<Recovered> recovered = new ArrayList<>();
    private final List<MovePhase> moves = new ArrayList<>();
    private long seq;
    private long now;
    private long steps;

    // timing (nanos)
    public long detectNanos = 1500 * MS;
    public long fenceMinNanos = 500 * MS;
    public long fenceMaxNanos = 3000 * MS;
    public long readPeriodNanos = 200 * MS;
    public long readDelayMaxNanos = 300 * MS;
    public long driverMinNanos = 10 * MS;
    public long driverMaxNanos = 600 * MS;
    public long coordinatorPeriodNanos = 300 * MS;
    public double startFailure = 0.0;
    /**
     * Test of the checker only: the coordinator writes a planned move's second phase without waiting
     * for the old owner to acknowledge that it stopped the workload (a deliberately broken protocol).
     */
    public boolean brokenMoveSkipsStopWait;
    /** Fenced nodes restart by themselves (random runs). */
    public boolean autoRestart;

    public WorkloadWorld(long seed, int nodeCount, List<Placement.Spec> specs) {
        this.seed = seed;
        this.rnd = new Random(seed);
        for (int i = 1; i <= nodeCount; i++) {
            Node n = new Node(i);
            n.fenceDespiteResume = rnd.nextBoolean();
            nodes.add(n);
        }
        this.specs.addAll(specs);
        for (Node n : nodes) {
            scheduleRead(n, rnd.nextLong(readPeriodNanos));
        }
        schedule(coordinatorPeriodNanos, 0, 0, this::coordinatorTick);
    }

    /** A simple spec: no preference, restart limit {@code maxRestarts} within 60 s. */
    public static Placement.Spec spec(int id, int maxRestarts) {
        return new Placement.Spec(id, "w" + id, List.of(), false, false, maxRestarts, 60_000 * MS);
    }

    // ---------------------------------------------------------------- running

    public void runMillis(long ms) {
        runUntil(now + ms * MS);
    }

    public void runUntil(long t) {
        while (!queue.isEmpty() && queue.peek().at <= t) {
            Ev e = queue.poll();
            now = e.at;
            step(e);
            steps++;
            check();
        }
        now = Math.max(now, t);
    }

    private void step(Ev e) {
        if (e.node == 0) {
            e.action.run();
            return;
        }
        Node n = node(e.node);
        if (n.incarnation != e.incarnation || n.power == Power.OFF) {
            return; // that incarnation is gone
        }
        if (n.hung) {
            n.deferred.add(e.action); // frozen: it acts on nothing until it resumes
            return;
        }
        e.action.run();
    }

    private void schedule(long delay, int node, long inc, Runnable r) {
        queue.add(new Ev(now + delay, seq++, node, inc, r));
    }

    private long between(long min, long max) {
        return min + (max > min ? (long) (rnd.nextDouble() * (max - min)) : 0);
    }

    // ---------------------------------------------------------------- nodes

    private void scheduleRead(Node n, long delay) {
        long inc = n.incarnation;
        schedule(delay, n.id, inc, () -> issueRead(n, inc));
    }

    private void issueRead(Node n, long inc) {
        Map<Integer, WorkloadRecord> snapshot = new TreeMap<>(table);
        n.readInFlight = true;
        schedule(between(MS, readDelayMaxNanos), n.id, inc, () -> {
            n.readInFlight = false;
            trace("node " + n.id + "/" + inc + " acts on table read (versions up to " + maxVersion(snapshot) + ")");
            apply(n, n.agent.recordsRead(snapshot));
            scheduleRead(n, between(readPeriodNanos / 2, readPeriodNanos * 3 / 2));
        });
    }

    private static long maxVersion(Map<Integer, WorkloadRecord> t) {
        return t.values().stream().mapToLong(WorkloadRecord::tableVersion).max().orElse(0);
    }

    private void apply(Node n, List<WorkloadAgent.Effect> effects) {
        for (WorkloadAgent.Effect e : effects) {
            switch (e) {
                case WorkloadAgent.Effect.Start s -> {
                    trace("node " + n.id + "/" + n.incarnation + " starts w" + s.id() + " (epoch " + s.epoch() + ")");
                    n.running.add(s.id()); // running from the moment its Start is issued
                    enqueueOp(n, s.id(), new Op(true, s.epoch()));
                }
                case WorkloadAgent.Effect.Stop s -> {
                    trace("node " + n.id + "/" + n.incarnation + " stops w" + s.id() + ": " + s.reason());
                    enqueueOp(n, s.id(), new Op(false, 0));
                }
                // This world has no VEs (its coordinator's context names none migratable), so no record ever migrates;
                // migrations are modelled in baton-core's OwnerTableTest.
                default -> throw new IllegalStateException("no migrations in this world: " + e);
            }
        }
        n.publish();
        if (n.leaving && !n.left && n.agent.active().isEmpty()) {
            n.left = true;
            trace("node " + n.id + "/" + n.incarnation + " stopped everything and left (powered down)");
            powerOff(n);
            if (autoRestart) {
                long inc = n.incarnation;
                schedule(between(500, 5000) * MS, 0, 0, () -> {
                    if (n.incarnation == inc && n.left) {
                        restart(n);
                    }
                });
            }
        }
    }

    /** The node leaves cleanly: it stops everything, then is seen as left. */
    public void leave(int id) {
        Node n = node(id);
        if (!n.alive() || n.leaving || n.fenceAt != Long.MAX_VALUE) {
            return;
        }
        trace("OPERATOR node " + id + "/" + n.incarnation + " leaves");
        n.leaving = true;
        apply(n, n.agent.stopAll("leaving"));
    }

    /** Driver operations on one workload run one at a time, in order. */
    private void enqueueOp(Node n, int w, Op op) {
        ArrayList<Op> q = n.ops.computeIfAbsent(w, k -> new ArrayList<>());
        q.add(op);
        if (q.size() == 1) {
            runOp(n, w);
        }
    }

    private void runOp(Node n, int w) {
        Op op = n.ops.get(w).getFirst();
        long inc = n.incarnation;
        schedule(between(driverMinNanos, driverMaxNanos), n.id, inc, () -> {
            n.ops.get(w).removeFirst();
            List<WorkloadAgent.Effect> out;
            if (op.start) {
                if (rnd.nextDouble() < startFailure) {
                    trace("node " + n.id + "/" + inc + " w" + w + " failed to start");
                    n.running.remove(w);
                    failures.add(new Placement.Failure(w, n.id, now));
                    out = n.agent.failed(w);
                } else {
                    trace("node " + n.id + "/" + inc + " w" + w + " started");
                    out = n.agent.started(w);
                }
            } else {
                trace("node " + n.id + "/" + inc + " w" + w + " stopped");
                n.running.remove(w);
                out = n.agent.stopped(w);
            }
            if (!n.ops.get(w).isEmpty()) {
                runOp(n, w);
            }
            apply(n, out);
        });
    }

    // ---------------------------------------------------------------- faults

    /** Power off now; fenced after detection plus the fence delay; restarts later as a new incarnation if asked. */
    public void crash(int id, long restartAfterFenceMs) {
        Node n = node(id);
        if (n.power == Power.OFF || n.hung || n.cut) {
            return;
        }
        trace("FAULT node " + id + "/" + n.incarnation + " crashes (powered off)");
        powerOff(n);
        startFencing(n);
        long inc = n.incarnation;
        if (restartAfterFenceMs >= 0) {
            schedule(n.fenceAt - now + restartAfterFenceMs * MS, 0, 0, () -> {
                if (n.incarnation == inc && n.power == Power.OFF) {
                    restart(n);
                }
            });
        }
    }

    /** The node freezes: its workloads keep running, it acts on nothing. */
    public void hang(int id) {
        Node n = node(id);
        if (n.power == Power.OFF || n.hung || n.cut) {
            return;
        }
        trace("FAULT node " + id + "/" + n.incarnation + " hangs");
        n.hung = true;
        startFencing(n);
    }

    /** A hung node resumes, unless it was fenced meanwhile (then it is powered off and never resumes as itself). */
    public void resume(int id) {
        Node n = node(id);
        if (!n.hung) {
            return;
        }
        if (n.power == Power.OFF) {
            trace("node " + id + "/" + n.incarnation + " would resume, but it was fenced: it stays off");
            return;
        }
        n.hung = false;
        boolean declaredDown = now >= n.detectAt;
        if (!declaredDown || !n.fenceDespiteResume) {
            n.detectAt = Long.MAX_VALUE;
            n.fenceAt = Long.MAX_VALUE;
        }
        trace("node " + id + "/" + n.incarnation + " resumes" + (n.fenceAt != Long.MAX_VALUE ? " (its fence is still under way)" : ""));
        List<Runnable> d = new ArrayList<>(n.deferred);
        n.deferred.clear();
        d.forEach(Runnable::run); // what it had pending: reads taken before it hung, driver results
    }

    public void cut(int id) {
        Node n = node(id);
        if (n.power == Power.OFF || n.hung) {
            return;
        }
        trace("FAULT node " + id + " network cut");
        n.cut = true;
    }

    public void heal(int id) {
        Node n = node(id);
        if (n.cut) {
            trace("node " + id + " network healed");
            n.cut = false;
        }
    }

    public void standby(int id, boolean on) {
        Node n = node(id);
        trace("OPERATOR node " + id + " standby " + on);
        n.standby = on;
    }

    /** The workload, running on {@code node}, fails (its monitor says so). False if it does not run there now. */
    public boolean fail(int w, int id) {
        Node n = node(id);
        if (!n.alive() || n.agent.local(w) != WorkloadAgent.Local.RUNNING || !n.ops.getOrDefault(w, new ArrayList<>()).isEmpty()) {
            return false;
        }
        trace("FAULT w" + w + " fails on node " + id + "/" + n.incarnation);
        n.running.remove(w);
        failures.add(new Placement.Failure(w, id, now));
        apply(n, n.agent.failed(w));
        return true;
    }

    private void startFencing(Node n) {
        n.detectAt = now + detectNanos;
        n.fenceAt = n.detectAt + between(fenceMinNanos, fenceMaxNanos);
        long inc = n.incarnation;
        schedule(n.fenceAt - now, 0, 0, () -> {
            if (n.incarnation == inc && n.fenceAt <= now && !n.fenced) {
                trace("FENCE node " + n.id + "/" + inc + " powered off by its fence");
                powerOff(n);
                n.fenced = true;
                if (autoRestart) {
                    schedule(between(0, 3000) * MS, 0, 0, () -> {
                        if (n.incarnation == inc && n.power == Power.OFF) {
                            restart(n);
                        }
                    });
                }
            }
        });
    }

    private void powerOff(Node n) {
        n.power = Power.OFF;
        n.running.clear();
        n.ops.clear();
        n.deferred.clear();
        n.readInFlight = false;
    }

    private void restart(Node n) {
        n.incarnation++;
        n.power = Power.ON;
        n.hung = false;
        n.cut = false;
        n.fenced = false;
        n.leaving = false;
        n.left = false;
        n.standby = false;
        n.detectAt = Long.MAX_VALUE;
        n.fenceAt = Long.MAX_VALUE;
        n.agent = new WorkloadAgent(n.id, n.incarnation);
        n.publish();
        trace("node " + n.id + " restarts as incarnation " + n.incarnation);
        scheduleRead(n, between(MS, readPeriodNanos));
    }

    // ---------------------------------------------------------------- coordinator

    /** The verdict the cluster's membership would give for the true state of {@code n}. */
    Verdict verdict(Node n) {
        if (n.fenced) {
            return Verdict.FENCED;
        }
        if (n.left) {
            return Verdict.LEFT;
        }
        if (n.power == Power.OFF || n.hung) {
            return now >= n.detectAt ? Verdict.DOWN : Verdict.SUSPECT;
        }
        if (n.fenceAt != Long.MAX_VALUE) {
            return Verdict.DOWN; // it resumed, but it was declared down and its fence is under way
        }
        return n.cut ? Verdict.NETWORK_LOST : Verdict.UP;
    }

    private Node coordinatorNode() {
        return nodes.stream().filter(Node::alive).findFirst().orElse(null);
    }

    private void coordinatorTick() {
        schedule(coordinatorPeriodNanos, 0, 0, this::coordinatorTick);
        Node c = coordinatorNode();
        if (c == null) {
            return;
        }
        List<Placement.Node> view = nodes.stream().map(n -> new Placement.Node(n.id, n.incarnation, verdict(n), n.standby)).toList();
        Map<Integer, OwnerTable.Published> published = new HashMap<>();
        for (Node n : nodes) {
            published.put(n.id, new OwnerTable.Published(n.pubInc, SlotWorkloads.of(n.pubAck, n.pubActive, List.of())));
        }
        OwnerTable.Plan plan = OwnerTable.plan(new OwnerTable.Context(now, 1, 0, specs, view, published, table, failures,
                brokenMoveSkipsStopWait));
        for (OwnerTable.Write w : plan.writes()) {
            WorkloadRecord r = w.record();
            WorkloadRecord old = w.previous();
            switch (w.change()) {
                case RECOVER -> {
                    Node from = node(old.ownerId());
                    boolean off = from.power == Power.OFF || from.incarnation != old.ownerIncarnation();
                    if (!off) {
                        violation("w" + r.id() + " recovered on node " + r.ownerId() + " while its previous owner node "
                                + old.ownerId() + "/" + old.ownerIncarnation() + " is powered on");
                    }
                    recovered.add(new Recovered(r.id(), old.ownerId(), old.ownerIncarnation(), r.ownerId(), now));
                }
                case MOVE_BEGIN -> moves.add(new MovePhase(r.id(), 1, r.ownerId(), r.nextId(), now));
                case MOVE_FINISH -> moves.add(new MovePhase(r.id(), 2, old.ownerId(), r.ownerId(), now));
                default -> { }
            }
            trace("COORD w" + r.id() + " " + w.change() + ": owner = node " + r.ownerId() + "/" + r.ownerIncarnation()
                    + (r.nextId() != 0 ? ", next = node " + r.nextId() : "") + " " + r.desired() + " (" + r.reason() + ")");
            put(r);
        }
    }

    /** Operator: set what the workload should be (frozen, stopped, running). */
    public void operator(int w, Placement.Desired d) {
        if (!table.containsKey(w)) {
            return;
        }
        trace("OPERATOR w" + w + " " + d);
        OwnerTable.Context ctx = new OwnerTable.Context(now, 1, 0, specs, List.of(), Map.of(), table);
        Placement.Spec spec = specs.stream().filter(s -> s.id() == w).findFirst().orElseThrow();
        if (OwnerTable.setDesired(ctx, spec, d, "operator") instanceof OwnerTable.Answer.Done done) {
            put(done.write().record());
        }
    }

    private void put(WorkloadRecord r) {
        table.put(r.id(), r);
    }

    // ---------------------------------------------------------------- checker

    private void check() {
        Map<Integer, List<String>> runners = new TreeMap<>();
        for (Node n : nodes) {
            if (n.power == Power.OFF) {
                continue;
            }
            for (int w : n.running) {
                runners.computeIfAbsent(w, k -> new ArrayList<>()).add(n.id + "/" + n.incarnation + (n.hung ? "(hung)" : ""));
            }
        }
        runners.forEach((w, on) -> {
            if (on.size() > 1) {
                violation("TWO OWNERS: w" + w + " runs on nodes " + on);
            }
        });
    }

    private void violation(String what) {
        trace("VIOLATION " + what);
        throw new Violation("seed " + seed + " at " + now / MS + " ms: " + what + "\n" + traceTail(80));
    }

    private void trace(String s) {
        trace.add(String.format("%8d ms %s", now / MS, s));
    }

    // ---------------------------------------------------------------- random faults

    /** Random faults for {@code ms} of simulated time, then a quiet period in which every fault heals. */
    public void runRandom(long ms) {
        long end = now + ms * MS;
        scheduleRandomFault(end);
        runUntil(end);
    }

    private void scheduleRandomFault(long end) {
        schedule(between(100 * MS, 800 * MS), 0, 0, () -> {
            if (now < end) {
                randomFault();
                scheduleRandomFault(end);
            }
        });
    }

    private void randomFault() {
        Node n = nodes.get(rnd.nextInt(nodes.size()));
        int kind = rnd.nextInt(100);
        int id = n.id;
        if (kind < 8) {
            crash(id, -1);
        } else if (kind < 16) {
            hang(id);
            long after = between(100, 7000);
            schedule(after * MS, 0, 0, () -> resume(id));
        } else if (kind < 24) {
            cut(id);
            schedule(between(100, 6000) * MS, 0, 0, () -> heal(id));
        } else if (kind < 36) {
            standby(id, !n.standby);
        } else if (kind < 60) {
            List<Integer> mine = new ArrayList<>(n.running);
            if (!mine.isEmpty()) {
                fail(mine.get(rnd.nextInt(mine.size())), id);
            }
        } else if (kind < 70) {
            leave(id);
        } else if (kind < 76 && !table.isEmpty()) {
            List<Integer> ws = new ArrayList<>(table.keySet());
            int w = ws.get(rnd.nextInt(ws.size()));
            Placement.Desired d = Placement.Desired.values()[rnd.nextInt(3)];
            operator(w, d);
        }
    }

    /** Heal everything that can heal: resume/restart nodes, clear standby, cut and operator states. */
    public void healAll() {
        for (Node n : nodes) {
            if (n.hung) {
                resume(n.id);
            }
            heal(n.id);
            if (n.standby) {
                standby(n.id, false);
            }
        }
        for (int w : List.copyOf(table.keySet())) {
            if (table.get(w).desired() != Placement.Desired.RUNNING) {
                operator(w, Placement.Desired.RUNNING);
            }
        }
    }

    /** After everything healed: each workload that should run runs exactly on its owner; problems, if any. */
    public List<String> unsettled() {
        List<String> out = new ArrayList<>();
        for (Placement.Spec s : specs) {
            WorkloadRecord r = table.get(s.id());
            if (r == null) {
                out.add("w" + s.id() + " has no record");
            } else if (r.desired() == Placement.Desired.RUNNING
                    && (r.nextId() != 0 || !runners(s.id()).equals(List.of(r.ownerId())))) {
                out.add("w" + s.id() + " record " + r + " runs on " + runners(s.id()));
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- queries

    public Node node(int id) {
        return nodes.get(id - 1);
    }

    public int size() {
        return nodes.size();
    }

    public long now() {
        return now;
    }

    public long seed() {
        return seed;
    }

    public long steps() {
        return steps;
    }

    public WorkloadRecord record(int w) {
        return table.get(w);
    }

    public List<Recovered> recovered() {
        return List.copyOf(recovered);
    }

    public List<MovePhase> moves() {
        return List.copyOf(moves);
    }

    /** The nodes (powered on) running {@code w} now. */
    public List<Integer> runners(int w) {
        return nodes.stream().filter(n -> n.power == Power.ON && n.running.contains(w)).map(n -> n.id).toList();
    }

    public long incarnation(int id) {
        return node(id).incarnation;
    }

    public boolean poweredOn(int id) {
        return node(id).power == Power.ON;
    }

    public boolean hung(int id) {
        return node(id).hung;
    }

    public WorkloadAgent agent(int id) {
        return node(id).agent;
    }

    public Verdict verdictOf(int id) {
        return verdict(node(id));
    }

    public List<String> trace() {
        return List.copyOf(trace);
    }

    public String traceTail(int lines) {
        return String.join("\n", trace.subList(Math.max(0, trace.size() - lines), trace.size()));
    }
}
