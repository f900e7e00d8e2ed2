package baton.core.fence;

import baton.core.disk.DiskLayout;
import baton.core.fence.FenceWatchEffect.Report;
import baton.core.fence.FenceWatchEffect.RunMonitor;
import baton.core.fence.FenceWatchInput.MonitorDone;
import baton.core.fence.FenceWatchInput.Tick;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The watch over the other nodes' power switches (the seed's "Überwachung des anderen
 * Stromschalters"): every node runs {@code monitor} on the fence devices of the other nodes,
 * and raises an alarm for a node that could not be fenced right now. A pure state machine;
 * it only reports. Losing contact with a switch never causes a failover by itself, and
 * nothing here feeds the fencing decision ({@link Fencing} tries every level anyway).
 *
 * <h2>Source</h2>
 * Pacemaker runs a recurring {@code monitor} operation on every fence device (pcs adds
 * {@code op monitor interval=60s} to a stonith resource); a failed monitor shows as a failed
 * action in {@code crm_mon} and never fences anything. The ClusterLabs agents implement
 * {@code monitor} (fencing.py) as: log in, read the plug's power state, exit 0 whether it is on
 * or off; exit 1 when the device does not answer or gives no valid state. Exit 2 ("answered, the
 * single plug is off", doc/FenceAgentAPI.md) does not occur with fencing.py's agents but is an
 * answer too; Pacemaker also counts 2 from a monitor as success.
 *
 * <h2>Which devices</h2>
 * Every device in a level of any node other than this one, each once however many nodes it
 * serves (a PDU feeding several servers). A device that only appears in this node's own levels
 * is not watched here: this node never fences itself, so its own switch matters only to the
 * others, and every other node watches it. A device in this node's levels <em>and</em> another
 * node's is watched for the other's sake. The disk-based level ({@link FenceLevel#POISON_PILL})
 * has no agent: it is never monitored and counts as a working path, since it needs only the
 * quorum disk, whose health the disk liveness core reports.
 *
 * <h2>Algorithm</h2>
 * <ul>
 * <li>The first round starts at the first {@link Tick}: the n devices (in name order) are spread
 *     over the first interval, device i due at start + i * interval / n, so 32 BMCs behind one
 *     management switch are not all asked at once, and the spread is the same on every run.</li>
 * <li>A device is monitored again one interval after its previous call <b>ended</b>, never
 *     while a call for it is in flight, so a slow device is never asked twice at once and ticks
 *     that come late never cause a burst of catch-up calls.</li>
 * <li>Each call has the deadline of {@link Timing}; the shell kills the agent then and reports a
 *     timeout. A call still unreported at deadline + grace counts as failed here (a lost report
 *     must not stop the watch of that device), and its report, should it come later, is ignored.</li>
 * <li>A device is UNKNOWN until its first result, then OK (it answered) or FAILED (with why),
 *     with the time of its last result, how long that call took, and how many calls in a row failed.</li>
 * <li>A level of a node is <b>ok</b> when all its devices are OK, <b>failed</b> when one of them is
 *     FAILED, <b>unknown</b> otherwise. A node's path is PATH_OK when some level is ok, NO_PATH when
 *     every level failed or it has no levels at all ("no fencing levels configured", from the start),
 *     UNKNOWN otherwise (some level still waits for its first results).</li>
 * <li>Events come once per transition: a device's state change; a node entering NO_PATH (the
 *     alarm); a node going from NO_PATH to PATH_OK. A different reason within the same state is
 *     shown in {@link #view()}, not reported again.</li>
 * </ul>
 *
 * <h2>Timeline with the defaults</h2>
 * A switch dies just after it answered at t. Its next monitor starts at t + 30 s, the shell kills
 * it at t + 50 s and reports: the device is FAILED, and the alarm rings if it was the last working
 * path. A lost report makes that t + 55 s. Add at most one tick for the shell's tick period.
 *
 * <h2>Invariants</h2>
 * At most one call in flight per device. No call is in flight after the first step whose time is
 * at or past its deadline plus the grace. Only watched devices are monitored. Every node's path
 * state is the function above of its devices' states after every step (checked at the end of each
 * step; a violation is a programming error and throws).
 */
public final class FenceWatch {
    private static final long MS = 1_000_000L;
    private static final long S = 1_000_000_000L;

    /** Agent reasons (the last line of stderr) are kept to this length in reasons and events. */
    public static final int MAX_AGENT_REASON_CHARS = 200;

    /** A device's health as far as its monitor tells. */
    public enum DeviceState {
        /** No monitor result yet. */
        UNKNOWN,
        /** The last monitor answered. */
        OK,
        /** The last monitor failed, timed out, or was never reported. */
        FAILED;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** Whether fencing a node would work now, as far as the monitors tell. */
    public enum PathState {
        /** Some level still waits for its first results, and no level is known to work. */
        UNKNOWN,
        /** Some level has every device answering. */
        PATH_OK,
        /** No level has every device answering, or the node has no levels: fencing it would fail. */
        NO_PATH;

        public String label() {
            return switch (this) {
                case UNKNOWN -> "unknown";
                case PATH_OK -> "ok";
                case NO_PATH -> "no-path";
            };
        }
    }

    /**
     * The time limits of the watch.
     *
     * @param intervalNanos        the pause between the end of one monitor of a device and the start of the next
     * @param deadlineNanos        how long one monitor may run; the shell kills the agent then
     * @param completionGraceNanos how long after the deadline the core waits for the shell's report before it
     *                             counts the call as failed itself
     */
    public record Timing(long intervalNanos, long deadlineNanos, long completionGraceNanos) {
        /** A switch watched less often than this is hardly watched; also keeps deadlines within the agent driver's limit. */
        public static final long MAX_INTERVAL_NANOS = 600 * S;

        /**
         * Every 30 s: the alarm comes within a minute of a switch dying (see the timeline above), while
         * a BMC, which many setups share with other monitoring, sees two logins a minute at most. Deadline
         * 20 s: fence_ipmilan's monitor is one "chassis power status" through ipmitool, a second or two
         * against a healthy BMC, but ipmitool's own retries against a silent one take some 15 s; a BMC that
         * answers only after 20 s would make fencing slow too, and deserves the warning. Grace 5 s covers the
         * shell's kill-and-sweep of the agent's session, as for {@link FenceTiming}.
         */
        public static final Timing DEFAULTS = new Timing(30 * S, 20 * S, 5 * S);

        /**
         * Why deadline &lt; interval: not for "one call per device" (the next call starts only after the
         * previous one ended, whatever the numbers), but so that the interval stays what it says. A result
         * is then never older than interval + deadline + grace; a deadline longer than the interval would
         * let one hung BMC go unjudged for longer than the period the operator chose.
         */
        public Timing {
            if (intervalNanos <= 0 || intervalNanos > MAX_INTERVAL_NANOS || deadlineNanos <= 0 || deadlineNanos >= intervalNanos
                    || completionGraceNanos < 0 || completionGraceNanos > intervalNanos) {
                throw new IllegalArgumentException("fence watch timing interval=" + intervalNanos + " deadline=" + deadlineNanos
                        + " grace=" + completionGraceNanos + " ns: need 0 < deadline < interval <= " + MAX_INTERVAL_NANOS
                        + " and 0 <= grace <= interval");
            }
        }
    }

    /**
     * One watched device for status.
     *
     * @param lastResultNanos     when its last call ended (0 while UNKNOWN)
     * @param lastDurationNanos   how long its last call ran, up to when it ended or was given up (0 while UNKNOWN)
     * @param consecutiveFailures calls failed in a row since it last answered
     * @param nodes               the nodes (never this one) it serves, ascending
     * @param inFlight            a monitor of it runs now
     * @param nextDueNanos        when its next monitor starts, if none is in flight (0 before the first tick)
     */
    public record DeviceView(String device, DeviceState state, String reason, long lastResultNanos, long lastDurationNanos,
            int consecutiveFailures, List<Integer> nodes, boolean inFlight, long nextDueNanos) {}

    /** One watched node for status: whether fencing it would work now, and why. */
    public record NodeView(int nodeId, PathState path, String reason) {}

    /** Devices by name, nodes by id. */
    public record View(List<DeviceView> devices, List<NodeView> nodes) {}

    private record Call(long requestId, long issuedNanos, long deadlineNanos) {}

    private static final class Device {
        final String name;
        final List<Integer> nodes;
        DeviceState state = DeviceState.UNKNOWN;
        String reason = "no monitor result yet";
        long lastResultNanos;
        long lastDurationNanos;
        int consecutiveFailures;
        long dueNanos;
        Call call;

        Device(String name, List<Integer> nodes) {
            this.name = name;
            this.nodes = nodes;
        }
    }

    private static final class Node {
        final int id;
        final List<FenceLevel> levels;
        PathState path = PathState.UNKNOWN;
        String reason = "";
        /** The state last announced by an event; UNKNOWN before the first step. */
        PathState announced = PathState.UNKNOWN;

        Node(int id, List<FenceLevel> levels) {
            this.id = id;
            this.levels = levels;
        }
    }

    private record Verdict(PathState path, String reason) {}

    private final int selfId;
    private final Timing timing;
    private final Map<String, Device> devices = new TreeMap<>();
    private final List<Node> nodes = new ArrayList<>();
    private final Map<Long, Device> inFlight = new HashMap<>();
    private boolean started;
    private long clockNanos;
    private long nextRequestId = 1;

    /**
     * @param topology the cluster's fencing topology; its node ids other than {@code selfId} are the nodes watched
     *                 (a node meant to be watched but without levels must appear with an empty list)
     * @param selfId   this node's id: its own levels are not watched
     */
    public FenceWatch(FenceTopology topology, int selfId, Timing timing) {
        if (selfId < 1 || selfId > DiskLayout.MAX_NODES) {
            throw new IllegalArgumentException("node id " + selfId + " outside 1.." + DiskLayout.MAX_NODES);
        }
        this.selfId = selfId;
        this.timing = timing;
        Map<String, TreeSet<Integer>> served = new TreeMap<>();
        for (var e : topology.levelsByNode().entrySet()) {
            if (e.getKey() == selfId) {
                continue;
            }
            nodes.add(new Node(e.getKey(), e.getValue()));
            for (FenceLevel level : e.getValue()) {
                if (level.isPoisonPill()) {
                    continue;
                }
                for (String d : level.devices()) {
                    served.computeIfAbsent(d, k -> new TreeSet<>()).add(e.getKey());
                }
            }
        }
        served.forEach((name, ids) -> devices.put(name, new Device(name, List.copyOf(ids))));
        for (Node n : nodes) {
            Verdict v = verdict(n);
            n.path = v.path();
            n.reason = v.reason();
        }
    }

    public List<FenceWatchEffect> step(FenceWatchInput in) {
        List<FenceWatchEffect> out = new ArrayList<>();
        // Inputs are stamped on the threads that made them and queued; one made a little earlier may
        // be handled a little later. The watch's clock never goes back.
        long now = in.nowNanos() - clockNanos > 0 || !started ? in.nowNanos() : clockNanos;
        clockNanos = now;
        expire(now, out); // first: a report that comes at or after deadline + grace is too late
        switch (in) {
            case Tick t -> {
                if (!started) {
                    start(now);
                }
            }
            case MonitorDone d -> onDone(d, now, out);
        }
        updatePaths(out);
        if (started) {
            issueDue(now, out);
        }
        checkInvariants(now);
        return out;
    }

    public View view() {
        List<DeviceView> dv = new ArrayList<>();
        for (Device d : devices.values()) {
            dv.add(new DeviceView(d.name, d.state, d.reason, d.lastResultNanos, d.lastDurationNanos, d.consecutiveFailures,
                    d.nodes, d.call != null, d.call == null ? d.dueNanos : 0));
        }
        List<NodeView> nv = new ArrayList<>();
        for (Node n : nodes) {
            nv.add(new NodeView(n.id, n.path, n.reason));
        }
        return new View(List.copyOf(dv), List.copyOf(nv));
    }

    public int selfId() {
        return selfId;
    }

    public Timing timing() {
        return timing;
    }

    private void start(long now) {
        started = true;
        int n = devices.size();
        int i = 0;
        for (Device d : devices.values()) {
            // i < n <= MAX_NODES * MAX_LEVELS * MAX_DEVICES and interval <= 600 s: the product fits a long.
            d.dueNanos = now + i * timing.intervalNanos() / n;
            i++;
        }
    }

    private void issueDue(long now, List<FenceWatchEffect> out) {
        for (Device d : devices.values()) {
            if (d.call == null && now - d.dueNanos >= 0) {
                Call call = new Call(nextRequestId++, now, now + timing.deadlineNanos());
                d.call = call;
                inFlight.put(call.requestId(), d);
                out.add(new RunMonitor(call.requestId(), d.name, call.deadlineNanos()));
            }
        }
    }

    private void expire(long now, List<FenceWatchEffect> out) {
        for (Device d : devices.values()) {
            if (d.call != null && now - d.call.deadlineNanos() >= timing.completionGraceNanos()) {
                end(d, false, "no report of the monitor " + timing.completionGraceNanos() / MS + " ms after its deadline",
                        now, out);
            }
        }
    }

    private void onDone(MonitorDone done, long now, List<FenceWatchEffect> out) {
        Device d = inFlight.get(done.requestId());
        if (d == null) {
            return; // given up on already (deadline + grace passed): the result is too old to count
        }
        if (!d.name.equals(done.device())) {
            throw new IllegalStateException("monitor report " + done + " does not match request " + done.requestId()
                    + " for " + d.name);
        }
        String reason = switch (done.outcome()) {
            case AgentOutcome.Success s -> "answered";
            case AgentOutcome.StatusOn s -> "answered; plug on";
            case AgentOutcome.StatusOff s -> "answered; plug off";
            case AgentOutcome.Failed f -> "monitor failed: " + bounded(f.reason());
            case AgentOutcome.TimedOut t -> "monitor timed out after " + timing.deadlineNanos() / MS + " ms";
        };
        boolean answered = switch (done.outcome()) {
            case AgentOutcome.Success s -> true;
            case AgentOutcome.StatusOn s -> true;
            case AgentOutcome.StatusOff s -> true;
            case AgentOutcome.Failed f -> false;
            case AgentOutcome.TimedOut t -> false;
        };
        end(d, answered, reason, now, out);
    }

    /** The call of {@code d} ended: the device answered, or not, and why. */
    private void end(Device d, boolean answered, String reason, long now, List<FenceWatchEffect> out) {
        Call call = d.call;
        inFlight.remove(call.requestId());
        d.call = null;
        d.lastResultNanos = now;
        d.lastDurationNanos = now - call.issuedNanos();
        d.dueNanos = now + timing.intervalNanos();
        DeviceState to = answered ? DeviceState.OK : DeviceState.FAILED;
        d.reason = reason;
        d.consecutiveFailures = answered ? 0 : d.consecutiveFailures == Integer.MAX_VALUE ? d.consecutiveFailures
                : d.consecutiveFailures + 1;
        if (to != d.state) {
            out.add(new Report(new FenceWatchEvent.DeviceChanged(d.name, d.state, to, d.reason)));
            d.state = to;
        }
    }

    private void updatePaths(List<FenceWatchEffect> out) {
        for (Node n : nodes) {
            Verdict v = verdict(n);
            n.path = v.path();
            n.reason = v.reason();
            if (n.path == n.announced) {
                continue;
            }
            switch (n.path) {
                case NO_PATH -> out.add(new Report(new FenceWatchEvent.NoFencingPath(n.id, n.reason)));
                case PATH_OK -> {
                    if (n.announced == PathState.NO_PATH) {
                        out.add(new Report(new FenceWatchEvent.PathRestored(n.id, n.reason)));
                    }
                }
                case UNKNOWN -> throw new IllegalStateException("node " + n.id + " went back to an unknown fencing path");
            }
            n.announced = n.path;
        }
    }

    /** The node's path from its devices' states: the rule of the class comment. */
    private Verdict verdict(Node n) {
        if (n.levels.isEmpty()) {
            return new Verdict(PathState.NO_PATH, "no fencing levels configured");
        }
        List<String> failed = new ArrayList<>();
        String waiting = null;
        for (int i = 0; i < n.levels.size(); i++) {
            FenceLevel level = n.levels.get(i);
            String name = "level " + (i + 1) + " (" + level.label() + ")";
            if (level.isPoisonPill()) {
                return new Verdict(PathState.PATH_OK, name + " is disk-based, not monitored here");
            }
            List<String> failures = new ArrayList<>();
            boolean allOk = true;
            for (String dn : level.devices()) {
                Device d = devices.get(dn);
                if (d.state == DeviceState.FAILED) {
                    failures.add(dn + " " + d.reason);
                }
                allOk &= d.state == DeviceState.OK;
            }
            if (allOk) {
                return new Verdict(PathState.PATH_OK, name + " answers");
            }
            if (failures.isEmpty()) {
                waiting = waiting != null ? waiting : name;
            } else {
                failed.add(name + ": " + String.join(", ", failures));
            }
        }
        if (waiting != null) {
            return new Verdict(PathState.UNKNOWN, "waiting for the first monitor results of " + waiting);
        }
        return new Verdict(PathState.NO_PATH, String.join("; ", failed));
    }

    private static String bounded(String agentReason) {
        return agentReason.length() <= MAX_AGENT_REASON_CHARS ? agentReason
                : agentReason.substring(0, MAX_AGENT_REASON_CHARS - 3) + "...";
    }

    private void checkInvariants(long now) {
        int calls = 0;
        for (Device d : devices.values()) {
            if (d.call != null) {
                calls++;
                if (inFlight.get(d.call.requestId()) != d) {
                    throw new IllegalStateException("call " + d.call.requestId() + " of " + d.name + " not registered");
                }
                if (now - d.call.deadlineNanos() >= timing.completionGraceNanos()) {
                    throw new IllegalStateException("call " + d.call.requestId() + " of " + d.name + " outlived its deadline");
                }
            }
            if ((d.state == DeviceState.FAILED) != (d.consecutiveFailures > 0)) {
                throw new IllegalStateException("device " + d.name + " " + d.state + " after " + d.consecutiveFailures
                        + " failures in a row");
            }
        }
        if (calls != inFlight.size()) {
            throw new IllegalStateException(inFlight.size() + " calls registered, " + calls + " held by devices");
        }
        for (Node n : nodes) {
            if (n.path != verdict(n).path() || n.path != n.announced) {
                throw new IllegalStateException("node " + n.id + " path " + n.path + " announced " + n.announced);
            }
        }
    }
}
