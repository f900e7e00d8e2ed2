package baton.runtime.hooks;

import baton.runtime.events.Event;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which hook events a node's log line stands for (docs/hooks.md has the table). A state machine
 * without I/O: it is fed every event of one node's journal, in order, and returns the hook events
 * of each.
 *
 * <h2>Who reports what</h2>
 * Each cluster event is reported by the node that decides it, so that an operator's hook runs
 * once per cluster event and not once per node:
 * <ul>
 *   <li>The <b>coordinator</b> decides that a down node is fenced and what becomes of workloads,
 *       so it alone reports {@code node-down}, {@code node-fenced}, {@code fence-failed},
 *       {@code workload-recovered}, {@code migration-done}, {@code migration-failed} and
 *       {@code switchover-done}; {@code coordinator-changed} comes from the new coordinator.
 *       Every node's membership reaches the verdict {@code down} by itself, so a verdict counts
 *       only while this node is coordinator; a node that becomes coordinator reports the nodes
 *       already down when it takes over (it fences them now), right after
 *       {@code coordinator-changed}. The other lines used are logged by the coordinator only.
 *   <li>What only one node can see is reported by that node: {@code workload-failed} (the node
 *       that ran it), {@code disk-degraded} (the node that lost a copy),
 *       {@code fence-device-unhealthy} (each node that watches the device: every node watches the
 *       others' switches).
 * </ul>
 *
 * <h2>Invariants</h2>
 * Lines of the hooks themselves ({@code event=hook-*}) never map to a hook event, so a hook's
 * run cannot cause another. The role is known only from this node's own lines: it is follower
 * until {@code event=coordinator role=coordinator}, and again after {@code role=follower} or a
 * rejoin (new cores, no lease).
 */
public final class HookEvents {
    private boolean coordinator;
    /** The newest verdict line of each peer whose verdict is down now, by name: reported when this node takes over. */
    private final Map<String, Event> down = new LinkedHashMap<>();
    /** Node names by id, learned from verdict lines (fence lines name a node by id only). */
    private final Map<String, String> names = new HashMap<>();

    /** The hook events of {@code e}, the next line of this node's log; usually none. */
    public List<HookEvent> step(Event e) {
        if (e.type().startsWith("hook-")) {
            return List.of();
        }
        return switch (e.type()) {
            case "verdict" -> verdict(e);
            case "coordinator" -> role(e);
            case "rejoining" -> {
                coordinator = false;
                down.clear();
                yield List.of();
            }
            // Two lines say "fenced" on the coordinator: the decision (with peer=NAME) and the
            // fencing core's report of it (node-id only); one hook event.
            case "fenced" -> e.fields().containsKey("peer") ? one("node-fenced", e.field("peer"), e) : List.of();
            case "fence-alarm" -> one("fence-failed", nameOf(e.field("node-id")), e);
            case "workload-owner" -> switch (e.field("change")) {
                case "recover" -> one("workload-recovered", e.field("workload"), e);
                case "migrate_finish" -> one("migration-done", e.field("workload"), e);
                case "migrate_cancel" -> one("migration-failed", e.field("workload"), e);
                default -> List.of();
            };
            case "switchover-done" -> one("switchover-done", e.field("node"), e);
            case "workload-failed", "workload-start-failed" -> one("workload-failed", e.field("workload"), e);
            case "disk-copy" -> "false".equals(e.field("healthy")) ? one("disk-degraded", e.field("copy"), e) : List.of();
            case "fence-device-changed" -> "failed".equals(e.field("to")) ? one("fence-device-unhealthy", e.field("device"), e)
                    : List.of();
            default -> List.of();
        };
    }

    /** Whether this node is coordinator, as its own lines said. */
    public boolean coordinator() {
        return coordinator;
    }

    private List<HookEvent> verdict(Event e) {
        String peer = e.field("peer");
        if (!e.field("peer-id").isEmpty() && !peer.isEmpty()) {
            names.put(e.field("peer-id"), peer);
        }
        if (!"down".equals(e.field("to"))) {
            down.remove(peer);
            return List.of();
        }
        down.put(peer, e);
        return coordinator ? one("node-down", peer, e) : List.of();
    }

    private List<HookEvent> role(Event e) {
        boolean was = coordinator;
        coordinator = "coordinator".equals(e.field("role"));
        if (!coordinator || was) {
            return List.of();
        }
        List<HookEvent> out = new ArrayList<>();
        out.add(new HookEvent("coordinator-changed", e.node(), e));
        // Nodes already down: the previous coordinator may not have lived to fence them (it may be
        // one of them), and this one fences them now. Reported with their own verdict line.
        down.forEach((peer, verdict) -> out.add(new HookEvent("node-down", peer, verdict)));
        return out;
    }

    private String nameOf(String id) {
        return names.getOrDefault(id, id);
    }

    private static List<HookEvent> one(String name, String subject, Event e) {
        return List.of(new HookEvent(name, subject, e));
    }
}
