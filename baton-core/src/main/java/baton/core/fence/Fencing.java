package baton.core.fence;

import baton.core.disk.DiskLayout;
import baton.core.fence.FenceEffect.Report;
import baton.core.fence.FenceEffect.RunAgent;
import baton.core.fence.FenceInput.AgentDone;
import baton.core.fence.FenceInput.CoordinatorChanged;
import baton.core.fence.FenceInput.OperatorConfirm;
import baton.core.fence.FenceInput.OperatorFence;
import baton.core.fence.FenceInput.Tick;
import baton.core.fence.FenceInput.VerdictBack;
import baton.core.fence.FenceInput.VerdictDown;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The coordinator's fencing decisions: which agent calls to run against a node membership
 * declared down, and when that node counts as <b>fenced</b>. A pure state machine.
 *
 * <h2>Source</h2>
 * Pacemaker's fencer (stonith-ng) and its fencing topology: ordered levels per node, a level
 * succeeding only when every device in it succeeds; "off" confirmed by a following "status"
 * as in the ClusterLabs fence agents' own {@code --action=off} loop (fencing.py checks the
 * power state after the off command). The seed's rule for the case that nothing works:
 * no failover, say loudly that the node's state cannot be determined, let an operator confirm.
 *
 * <h2>Algorithm</h2>
 * <ul>
 * <li>Every node remembers the last incarnation declared down, coordinator or not, so that a
 *     node that becomes coordinator starts fencing nodes already down.</li>
 * <li>While coordinator, a down node without work in flight starts <b>round</b> 1 at level 1:
 *     each device of the level runs {@code off}; a device whose off succeeded runs
 *     {@code status}; a status that says off confirms that device. All devices of a level run
 *     in parallel. When every device of the level is confirmed, the node is fenced.</li>
 * <li>A device fails on a failed or timed-out call, a status that still says on, or an answer
 *     that does not fit the action. The level then fails: its other devices get no further
 *     calls, and when none of its calls is in flight any more the next level starts. After the
 *     last level the alarm is raised and the next round waits base * 2^(round-1), at most the
 *     cap, then starts again at level 1; forever, since giving up would mean either recovering
 *     workloads of a node that may still run them, or never recovering them without saying so.</li>
 * <li>A node with no levels raises the alarm at once and waits for {@code baton fence confirm}.</li>
 * <li>Losing the role (or a new generation) abandons every operation: no more calls, no
 *     {@code Fenced} from calls issued before; the next coordinator starts over.</li>
 * </ul>
 *
 * <h2>Invariants</h2>
 * {@code Fenced} is emitted only by the coordinator, for the incarnation currently down, and
 * only after all devices of one level were confirmed off in the current operation, or after an
 * operator's confirmation; at most once per incarnation. At most one operation per node: every
 * agent call in flight for a node belongs to one level of one round, and a new operation does
 * not start while a call of an earlier one (abandoned, cancelled, or confirmed by hand) is
 * still in flight. A call in flight longer than its deadline plus the grace counts as timed
 * out, so fencing never hangs on a lost completion.
 */
public final class Fencing {
    private enum Phase { IDLE, DELAY_WAIT, FENCING, RETRY_WAIT, FENCED, UNFENCEABLE }

    private enum DeviceStage { OFF_RUNNING, STATUS_RUNNING, PILL_WAIT, CONFIRMED, FAILED, NOT_STARTED }

    /** An agent call in flight; {@code live} is false once its operation is over (an orphan). */
    private static final class Call {
        final long requestId;
        final String device;
        final FenceAction action;
        final long deadlineNanos;
        boolean live = true;

        Call(long requestId, String device, FenceAction action, long deadlineNanos) {
            this.requestId = requestId;
            this.device = device;
            this.action = action;
            this.deadlineNanos = deadlineNanos;
        }
    }

    private static final class Node {
        final int id;
        final List<FenceLevel> levels;
        long incarnation;
        String evidence = "";
        boolean down;
        Phase phase = Phase.IDLE;
        int round;
        int level; // 0-based while FENCING
        long sinceNanos;
        long untilNanos;
        String how = "";
        String problem = "";
        boolean levelFailed;
        /** An operator asked for this fence: no delay. */
        boolean manual;
        /** The newest incarnation the quorum disk records as dead, and how. */
        long recordedDead;
        String recordedHow = "";
        /** The pill level's deadline, while its device is in PILL_WAIT. */
        long pillUntilNanos;
        final Map<String, DeviceStage> devices = new LinkedHashMap<>();
        final Map<Long, Call> calls = new LinkedHashMap<>();

        Node(int id, List<FenceLevel> levels) {
            this.id = id;
            this.levels = levels;
        }
    }

    private final FenceTopology topology;
    private final FenceTiming timing;
    private final Node[] nodes = new Node[DiskLayout.MAX_NODES + 1];
    private boolean coordinator;
    private long generation;
    private long nextRequestId = 1;

    public Fencing(FenceTopology topology, FenceTiming timing) {
        this.topology = topology;
        this.timing = timing;
        for (int id : topology.levelsByNode().keySet()) {
            nodes[id] = new Node(id, topology.levels(id));
        }
    }

    public List<FenceEffect> step(FenceInput in) {
        List<FenceEffect> out = new ArrayList<>();
        long now = in.nowNanos();
        switch (in) {
            case Tick t -> {
                expireCalls(now, out);
                endPillWaits(now, out);
            }
            case VerdictDown v -> onDown(v, out);
            case VerdictBack b -> onBack(b, out);
            case CoordinatorChanged c -> onRole(c, out);
            case AgentDone d -> onDone(d, out);
            case OperatorConfirm c -> onConfirm(c, out);
            case OperatorFence f -> onOperatorFence(f, out);
            case FenceInput.Recorded r -> onRecorded(r, out);
        }
        drive(now, out);
        checkInvariants();
        return out;
    }

    public boolean isCoordinator() {
        return coordinator;
    }

    /** Every node known to the topology or declared down, by id. */
    public List<FenceState.NodeView> view() {
        List<FenceState.NodeView> v = new ArrayList<>();
        for (Node n : nodes) {
            if (n != null) {
                v.add(new FenceState.NodeView(n.id, n.incarnation, n.down, stateOf(n), n.problem));
            }
        }
        return v;
    }

    public FenceState state(int nodeId) {
        Node n = nodeId >= 1 && nodeId <= DiskLayout.MAX_NODES ? nodes[nodeId] : null;
        return n == null ? new FenceState.Idle() : stateOf(n);
    }

    /** Calls in flight for {@code nodeId}, orphans included; for tests and status. */
    public int callsInFlight(int nodeId) {
        Node n = nodes[nodeId];
        return n == null ? 0 : n.calls.size();
    }

    private FenceState stateOf(Node n) {
        return switch (n.phase) {
            case IDLE -> new FenceState.Idle();
            case DELAY_WAIT -> new FenceState.Delayed(n.untilNanos);
            case FENCING -> new FenceState.Fencing(n.round, n.level + 1, n.sinceNanos);
            case RETRY_WAIT -> new FenceState.RetryWait(n.round, n.untilNanos);
            case FENCED -> new FenceState.Fenced(n.how);
            case UNFENCEABLE -> new FenceState.Unfenceable(n.problem);
        };
    }

    private Node node(int id) {
        if (id < 1 || id > DiskLayout.MAX_NODES) {
            throw new IllegalArgumentException("node id " + id + " outside 1.." + DiskLayout.MAX_NODES);
        }
        if (nodes[id] == null) {
            nodes[id] = new Node(id, topology.levels(id));
        }
        return nodes[id];
    }

    private void report(List<FenceEffect> out, FenceEvent e) {
        out.add(new Report(e, generation));
    }

    private void onDown(VerdictDown v, List<FenceEffect> out) {
        if (v.incarnation() <= 0) {
            throw new IllegalArgumentException("incarnation " + v.incarnation());
        }
        Node n = node(v.nodeId());
        boolean sameAgain = v.incarnation() == n.incarnation && (n.down || n.phase == Phase.FENCED);
        if (v.incarnation() < n.incarnation || sameAgain) {
            return; // the same verdict again, or news about an older incarnation
        }
        if (n.down) {
            cancel(n, v.incarnation(), out); // it came back and went down again before we heard it was back
        }
        n.incarnation = v.incarnation();
        n.evidence = v.evidence();
        n.down = true;
        n.manual = false;
        n.phase = Phase.IDLE;
        n.round = 0;
        n.problem = "";
        believeRecord(n, out);
    }

    private void onRecorded(FenceInput.Recorded r, List<FenceEffect> out) {
        Node n = node(r.nodeId());
        if (r.incarnation() > n.recordedDead) {
            n.recordedDead = r.incarnation();
            n.recordedHow = r.how();
        }
        believeRecord(n, out);
    }

    /** A down incarnation the disk records as dead is fenced already: no operation, no second recovery. */
    private void believeRecord(Node n, List<FenceEffect> out) {
        if (n.down && n.recordedDead == n.incarnation && n.phase != Phase.FENCED) {
            orphan(n);
            n.down = false;
            n.phase = Phase.FENCED;
            n.how = n.recordedHow;
            report(out, new FenceEvent.AlreadyFenced(n.id, n.incarnation, n.recordedHow));
        }
    }

    private void onOperatorFence(OperatorFence f, List<FenceEffect> out) {
        if (f.nodeId() < 1 || f.nodeId() > DiskLayout.MAX_NODES || f.incarnation() <= 0) {
            report(out, new FenceEvent.RequestRefused(f.nodeId(), "no such node or incarnation"));
            return;
        }
        Node n = node(f.nodeId());
        String refusal = null;
        if (!coordinator) {
            refusal = "this node is not the coordinator";
        } else if (f.incarnation() < n.incarnation) {
            refusal = "incarnation " + f.incarnation() + " is over; the node runs as " + n.incarnation + " now";
        } else if (f.incarnation() == n.incarnation && n.phase == Phase.FENCED) {
            refusal = "already fenced";
        } else if (f.incarnation() == n.incarnation && n.down && n.phase != Phase.IDLE && n.phase != Phase.DELAY_WAIT) {
            refusal = "already being fenced";
        }
        if (refusal != null) {
            report(out, new FenceEvent.RequestRefused(f.nodeId(), refusal));
            return;
        }
        if (n.down && f.incarnation() > n.incarnation) {
            cancel(n, f.incarnation(), out);
        }
        report(out, new FenceEvent.OperatorRequested(n.id, f.incarnation(), f.reason()));
        if (n.phase == Phase.DELAY_WAIT) {
            n.phase = Phase.IDLE; // the operator does not wait for the delay
        }
        n.incarnation = f.incarnation();
        n.evidence = "operator: " + f.reason();
        n.down = true;
        n.manual = true;
        if (n.phase != Phase.IDLE) {
            n.phase = Phase.IDLE;
            n.round = 0;
        }
        n.problem = "";
    }

    private void onBack(VerdictBack b, List<FenceEffect> out) {
        Node n = node(b.nodeId());
        if (b.incarnation() <= n.incarnation) {
            return; // the incarnation we fence (or fenced) does not come back: only a new one can
        }
        if (n.down) {
            cancel(n, b.incarnation(), out);
        }
        n.incarnation = b.incarnation();
        n.down = false;
        n.manual = false;
        n.phase = Phase.IDLE;
        n.round = 0;
        n.evidence = "";
        n.problem = "";
    }

    private void cancel(Node n, long newIncarnation, List<FenceEffect> out) {
        if (n.phase != Phase.IDLE || coordinator) {
            report(out, new FenceEvent.Cancelled(n.id, n.incarnation, newIncarnation));
        }
        orphan(n);
        n.down = false;
    }

    private void onRole(CoordinatorChanged c, List<FenceEffect> out) {
        boolean sameTerm = c.isCoordinator() && coordinator && c.generation() == generation;
        if (sameTerm) {
            return;
        }
        if (coordinator) {
            String reason = c.isCoordinator() ? "lease generation changed to " + c.generation() : "lost the coordinator role";
            for (Node n : nodes) {
                if (n != null && n.down) {
                    if (n.phase != Phase.IDLE) {
                        report(out, new FenceEvent.Abandoned(n.id, n.incarnation, reason));
                    }
                    orphan(n);
                    n.phase = Phase.IDLE;
                    n.round = 0;
                }
            }
        }
        if (c.isCoordinator() && c.generation() < generation) {
            throw new IllegalStateException("lease generation went back from " + generation + " to " + c.generation());
        }
        coordinator = c.isCoordinator();
        if (c.isCoordinator()) {
            generation = c.generation();
        }
    }

    private void onConfirm(OperatorConfirm c, List<FenceEffect> out) {
        Node n = c.nodeId() >= 1 && c.nodeId() <= DiskLayout.MAX_NODES ? nodes[c.nodeId()] : null;
        if (!coordinator) {
            report(out, new FenceEvent.ConfirmRefused(c.nodeId(), "this node is not the coordinator"));
        } else if (n == null || !n.down) {
            String why = n != null && n.phase == Phase.FENCED ? "already fenced" : "membership has not declared it down";
            report(out, new FenceEvent.ConfirmRefused(c.nodeId(), why));
        } else {
            report(out, new FenceEvent.OperatorConfirmed(n.id, n.incarnation));
            orphan(n);
            fenced(n, "operator", out);
        }
    }

    private void onDone(AgentDone d, List<FenceEffect> out) {
        Node n = d.nodeId() >= 1 && d.nodeId() <= DiskLayout.MAX_NODES ? nodes[d.nodeId()] : null;
        Call call = n == null ? null : n.calls.remove(d.requestId());
        if (call == null) {
            return; // already counted as timed out by the core: the shell was late
        }
        if (!call.device.equals(d.device()) || call.action != d.action()) {
            throw new IllegalStateException("completion " + d + " does not match request " + call.requestId + " "
                    + call.device + " " + call.action);
        }
        if (call.live) {
            advance(n, call, d.outcome(), d.nowNanos(), out);
        }
    }

    private void expireCalls(long now, List<FenceEffect> out) {
        for (Node n : nodes) {
            if (n == null) {
                continue;
            }
            for (Call call : List.copyOf(n.calls.values())) {
                if (now - call.deadlineNanos >= timing.completionGraceNanos()) {
                    n.calls.remove(call.requestId);
                    if (call.live) {
                        advance(n, call, new AgentOutcome.Failed("no completion " + (timing.completionGraceNanos() / 1_000_000L)
                                + " ms after the deadline"), now, out);
                    }
                }
            }
        }
    }

    /** One device's call ended: move that device on, and settle the level when it can be. */
    private void advance(Node n, Call call, AgentOutcome outcome, long now, List<FenceEffect> out) {
        boolean isStatus = call.action == FenceAction.STATUS;
        String failure = switch (outcome) {
            case AgentOutcome.Success s -> isStatus ? "status answered like an " + FenceAction.OFF.label() : null;
            case AgentOutcome.StatusOff s -> isStatus ? null : call.action.label() + " answered like a status";
            case AgentOutcome.StatusOn s -> isStatus ? "power still on after off" : call.action.label() + " answered like a status";
            case AgentOutcome.Failed f -> call.action.label() + " failed: " + f.reason();
            case AgentOutcome.TimedOut t -> call.action.label() + " timed out after "
                    + timing.agentDeadlineNanos() / 1_000_000L + " ms";
        };
        if (failure != null) {
            n.devices.put(call.device, DeviceStage.FAILED);
            n.problem = call.device + ": " + failure;
            if (!n.levelFailed) {
                n.levelFailed = true;
                report(out, new FenceEvent.LevelFailed(n.id, n.incarnation, n.round, n.level + 1, call.device, failure));
            }
        } else if (call.action == FenceAction.OFF) {
            if (n.levelFailed) {
                n.devices.put(call.device, DeviceStage.NOT_STARTED); // the level is lost: no more calls for it
            } else {
                n.devices.put(call.device, DeviceStage.STATUS_RUNNING);
                run(n, call.device, FenceAction.STATUS, now, out);
            }
        } else if (call.action == FenceAction.PILL) {
            // The pill is on both copies: the victim is dead once the pill deadline passed.
            n.devices.put(call.device, DeviceStage.PILL_WAIT);
            n.pillUntilNanos = now + timing.pillWaitNanos();
            report(out, new FenceEvent.PillWritten(n.id, n.incarnation, timing.pillWaitNanos()));
        } else {
            // A status that said off, or a reboot, which the agent itself does as off, check off, on.
            n.devices.put(call.device, DeviceStage.CONFIRMED);
        }
        settle(n, now, out);
    }

    /** Pill levels whose deadline passed count as confirmed. */
    private void endPillWaits(long now, List<FenceEffect> out) {
        for (Node n : nodes) {
            if (n != null && n.phase == Phase.FENCING && n.devices.get(FenceLevel.POISON_PILL) == DeviceStage.PILL_WAIT
                    && now - n.pillUntilNanos >= 0) {
                n.devices.put(FenceLevel.POISON_PILL, DeviceStage.CONFIRMED);
                settle(n, now, out);
            }
        }
    }

    /** The level is fenced when every device confirmed; it moves on when it failed and nothing is in flight. */
    private void settle(Node n, long now, List<FenceEffect> out) {
        if (!n.levelFailed && n.devices.values().stream().allMatch(s -> s == DeviceStage.CONFIRMED)) {
            FenceLevel l = n.levels.get(n.level);
            String what = l.isPoisonPill() ? "poison pill deadline passed"
                    : topology.reboot() ? "rebooted (off confirmed by the agent)" : "confirmed off";
            fenced(n, "level " + (n.level + 1) + ": " + l.label() + " " + what, out);
        } else if (n.levelFailed && n.calls.isEmpty()) {
            nextLevel(n, now, out);
        }
    }

    private void nextLevel(Node n, long now, List<FenceEffect> out) {
        if (n.level + 1 < n.levels.size()) {
            startLevel(n, n.level + 1, now, out);
            return;
        }
        report(out, new FenceEvent.CannotDetermineState(n.id, n.incarnation, n.round,
                "all " + n.levels.size() + " fencing levels failed; last: " + n.problem));
        long wait = timing.backoffNanos(n.round);
        n.phase = Phase.RETRY_WAIT;
        n.untilNanos = now + wait;
        n.devices.clear();
        report(out, new FenceEvent.RetryScheduled(n.id, n.incarnation, n.round + 1, n.untilNanos, wait));
    }

    /** Start what can start: new operations for down nodes, rounds whose wait is over. */
    private void drive(long now, List<FenceEffect> out) {
        if (!coordinator) {
            return;
        }
        for (Node n : nodes) {
            if (n == null || !n.down) {
                continue;
            }
            switch (n.phase) {
                case IDLE -> {
                    if (!n.calls.isEmpty()) {
                        continue; // an earlier operation's call is still out: one operation per node
                    }
                    long delay = topology.delayNanos(n.id);
                    if (delay > 0 && !n.manual && n.round == 0) {
                        n.phase = Phase.DELAY_WAIT;
                        n.untilNanos = now + delay;
                        report(out, new FenceEvent.Delayed(n.id, n.incarnation, delay));
                    } else {
                        begin(n, now, out);
                    }
                }
                case DELAY_WAIT -> {
                    if (now - n.untilNanos >= 0) {
                        begin(n, now, out);
                    }
                }
                case RETRY_WAIT -> {
                    if (now - n.untilNanos >= 0 && n.calls.isEmpty()) {
                        n.round++;
                        startLevel(n, 0, now, out);
                    }
                }
                case FENCING, FENCED, UNFENCEABLE -> {}
            }
        }
    }

    /** The first round, or the alarm when there is nothing to fence with. */
    private void begin(Node n, long now, List<FenceEffect> out) {
        if (n.levels.isEmpty()) {
            n.phase = Phase.UNFENCEABLE;
            n.problem = "no fencing levels configured";
            report(out, new FenceEvent.CannotDetermineState(n.id, n.incarnation, 0, n.problem));
        } else {
            n.round = 1;
            startLevel(n, 0, now, out);
        }
    }

    private void startLevel(Node n, int level, long now, List<FenceEffect> out) {
        n.phase = Phase.FENCING;
        n.level = level;
        n.sinceNanos = now;
        n.levelFailed = false;
        n.devices.clear();
        FenceLevel l = n.levels.get(level);
        report(out, new FenceEvent.Started(n.id, n.incarnation, n.round, level + 1, l.label(), n.evidence));
        for (String d : l.devices()) {
            n.devices.put(d, DeviceStage.OFF_RUNNING);
            run(n, d, l.isPoisonPill() ? FenceAction.PILL : topology.powerAction(), now, out);
        }
    }

    private void run(Node n, String device, FenceAction action, long now, List<FenceEffect> out) {
        long id = nextRequestId++;
        Call call = new Call(id, device, action, now + timing.agentDeadlineNanos());
        n.calls.put(id, call);
        if (action == FenceAction.PILL) {
            out.add(new FenceEffect.WritePill(id, n.id, n.incarnation, call.deadlineNanos, generation));
        } else {
            out.add(new RunAgent(id, n.id, device, action, call.deadlineNanos, generation));
        }
    }

    private void fenced(Node n, String how, List<FenceEffect> out) {
        if (!coordinator || !n.down) {
            throw new IllegalStateException("fenced " + n.id + " while coordinator=" + coordinator + " down=" + n.down);
        }
        orphan(n);
        n.down = false;
        n.phase = Phase.FENCED;
        n.how = how;
        n.devices.clear();
        out.add(new FenceEffect.Fenced(n.id, n.incarnation, generation, how));
        report(out, new FenceEvent.Fenced(n.id, n.incarnation, how));
    }

    /** The node's operation is over: calls still out become orphans whose completions change nothing. */
    private static void orphan(Node n) {
        for (Call c : n.calls.values()) {
            c.live = false;
        }
        n.devices.clear();
        n.levelFailed = false;
    }

    private void checkInvariants() {
        for (Node n : nodes) {
            if (n == null) {
                continue;
            }
            boolean active = n.phase == Phase.FENCING || n.phase == Phase.RETRY_WAIT || n.phase == Phase.UNFENCEABLE
                    || n.phase == Phase.DELAY_WAIT;
            if (active && (!coordinator || !n.down)) {
                throw new IllegalStateException("node " + n.id + " in " + n.phase + " while coordinator=" + coordinator
                        + " down=" + n.down);
            }
            for (Call c : n.calls.values()) {
                if (c.live && (n.phase != Phase.FENCING || !n.levels.get(n.level).devices().contains(c.device))) {
                    throw new IllegalStateException("live call " + c.requestId + " for " + c.device + " outside level "
                            + (n.level + 1) + " of node " + n.id);
                }
            }
            if (n.phase == Phase.FENCING && n.calls.values().stream().anyMatch(c -> !c.live)) {
                throw new IllegalStateException("node " + n.id + " fencing while an orphan call is out");
            }
        }
    }
}
