package baton.core.workload;

import baton.core.membership.Verdict;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The coordinator's placement decisions for workloads (VEs and services): where each should run,
 * and when it may move. A pure function of the cluster as the coordinator sees it; the ownership
 * protocol that carries a decision out (owner records on the quorum disk, stop before start) is
 * not its business. Every decision carries its reason, for {@code baton status}.
 *
 * <h2>Rules</h2>
 * <ul>
 * <li><b>Eligible</b> nodes are up, not in standby, in the workload's domain when it is
 *     restricted, and not where it failed more than its restart limit within the window.</li>
 * <li><b>Best</b> eligible node: the first of its preferred nodes, else the least loaded (fewest
 *     workloads meant to run there), ties to the lowest id.</li>
 * <li>A workload without an owner that should run is <b>placed</b> on the best node.</li>
 * <li>An owner that is <b>fenced</b> (the incarnation that owned it) or <b>left</b> cleanly lets
 *     the workload be <b>recovered</b> on the best other node. An owner that is down but not fenced,
 *     network-lost, disk-lost, suspect or absent keeps it: nothing is recovered before the old
 *     node is known dead (the seed: no failover on lost heartbeats alone; the issue: not on a
 *     failed fence either).</li>
 * <li>An owner that came back as a new incarnation keeps its workload (the node takes it up
 *     again, as the same owner under a new epoch).</li>
 * <li>An up owner keeps it (<b>stickiness</b>) unless: it is in standby (move off), the workload
 *     failed there more than its restart limit within the window (relocate), or the workload fails
 *     back and a more preferred node is eligible.</li>
 * <li>A frozen or stopped workload is left alone.</li>
 * </ul>
 */
public final class Placement {
    private Placement() {}

    /** What the operator and the configuration ask of a workload. */
    public enum Desired { RUNNING, STOPPED, FROZEN }

    /**
     * A workload's placement policy.
     *
     * @param preferred   node ids in order of preference (the failover domain)
     * @param restricted  only the preferred nodes may run it
     * @param failback    move back to a more preferred node when it is eligible again (otherwise sticky)
     * @param maxRestarts restarts in place allowed within {@code restartWindowNanos} before it is relocated
     */
    public record Spec(int id, String name, List<Integer> preferred, boolean restricted, boolean failback, int maxRestarts,
                       long restartWindowNanos) {
        public Spec {
            preferred = List.copyOf(preferred);
            if (id < 1 || maxRestarts < 0 || restartWindowNanos < 0 || (restricted && preferred.isEmpty())) {
                throw new IllegalArgumentException("workload spec " + id + " " + name + ": restricted needs preferred nodes");
            }
        }
    }

    /** A node as the coordinator's membership sees it. */
    public record Node(int id, long incarnation, Verdict verdict, boolean standby) {}

    /** Where a workload is now meant to run (the owner record), or none. */
    public record Current(int workloadId, int ownerId, long ownerIncarnation, Desired desired) {}

    /** A failure of a workload reported by the node that ran it. */
    public record Failure(int workloadId, int nodeId, long atNanos) {}

    /** One decision. */
    public sealed interface Decision {
        int workloadId();

        String reason();

        /** Start it on {@code nodeId}: it has no owner. */
        record Place(int workloadId, int nodeId, long incarnation, String reason) implements Decision {}

        /** Its owner is dead (fenced or left): start it on {@code nodeId}. */
        record Recover(int workloadId, int fromNodeId, int nodeId, long incarnation, String reason) implements Decision {}

        /** Move it from a live owner: stopped there first, then started on {@code nodeId}. */
        record Move(int workloadId, int fromNodeId, int nodeId, long incarnation, String reason) implements Decision {}

        /** Its owner runs again as a new incarnation: it stays there. */
        record Adopt(int workloadId, int nodeId, long incarnation, String reason) implements Decision {}

        /** Nothing can be done now, and why (waiting for a fence, no eligible node, ...). */
        record Hold(int workloadId, String reason) implements Decision {}
    }

    /**
     * The decisions for every workload whose placement should change or cannot be carried out;
     * workloads that are fine as they are get none.
     */
    public static List<Decision> decide(long nowNanos, List<Spec> specs, List<Node> nodes, Map<Integer, Current> current,
                                        Map<Integer, Desired> desired, List<Failure> failures) {
        Map<Integer, Node> byId = new HashMap<>();
        nodes.forEach(n -> byId.put(n.id(), n));
        Map<Integer, Integer> load = new HashMap<>();
        current.values().stream().filter(c -> c.desired() == Desired.RUNNING)
                .forEach(c -> load.merge(c.ownerId(), 1, Integer::sum));
        List<Decision> out = new ArrayList<>();
        for (Spec spec : specs) {
            Desired want = desired.getOrDefault(spec.id(), Desired.RUNNING);
            Current cur = current.get(spec.id());
            if (want != Desired.RUNNING || (cur != null && cur.desired() != Desired.RUNNING)) {
                continue; // stopped or frozen: Baton leaves it alone
            }
            Optional<Decision> d = cur == null ? place(nowNanos, spec, byId, load, failures)
                    : keepOrMove(nowNanos, spec, cur, byId, load, failures);
            d.ifPresent(decision -> {
                out.add(decision);
                int to = switch (decision) {
                    case Decision.Place p -> p.nodeId();
                    case Decision.Recover r -> r.nodeId();
                    case Decision.Move m -> m.nodeId();
                    default -> 0;
                };
                if (to != 0) {
                    load.merge(to, 1, Integer::sum); // later workloads see this one's load
                    if (cur != null) {
                        load.merge(cur.ownerId(), -1, Integer::sum);
                    }
                }
            });
        }
        return out;
    }

    private static Optional<Decision> place(long now, Spec spec, Map<Integer, Node> nodes, Map<Integer, Integer> load,
                                            List<Failure> failures) {
        return Optional.of(best(now, spec, nodes, load, failures, 0)
                .<Decision>map(n -> new Decision.Place(spec.id(), n.id(), n.incarnation(), "placed on node " + n.id() + ": "
                        + why(spec, n)))
                .orElse(new Decision.Hold(spec.id(), "no eligible node: " + eligibility(now, spec, nodes, failures))));
    }

    private static Optional<Decision> keepOrMove(long now, Spec spec, Current cur, Map<Integer, Node> nodes,
                                                 Map<Integer, Integer> load, List<Failure> failures) {
        Node owner = nodes.get(cur.ownerId());
        Verdict v = owner == null ? Verdict.ABSENT : owner.verdict();
        boolean sameIncarnation = owner != null && owner.incarnation() == cur.ownerIncarnation();
        if (owner != null && !sameIncarnation && owner.incarnation() > cur.ownerIncarnation()
                && (v == Verdict.UP || v == Verdict.SUSPECT)) {
            return Optional.of(new Decision.Adopt(spec.id(), owner.id(), owner.incarnation(),
                    "its owner node " + owner.id() + " runs again as incarnation " + owner.incarnation()));
        }
        boolean dead = (v == Verdict.FENCED && sameIncarnation) || v == Verdict.LEFT;
        if (dead) {
            String was = v == Verdict.LEFT ? "left the cluster" : "was fenced";
            return Optional.of(best(now, spec, nodes, load, failures, cur.ownerId())
                    .<Decision>map(n -> new Decision.Recover(spec.id(), cur.ownerId(), n.id(), n.incarnation(),
                            "recovered on node " + n.id() + " (" + why(spec, n) + "): its owner node " + cur.ownerId() + " " + was))
                    .orElse(new Decision.Hold(spec.id(), "its owner node " + cur.ownerId() + " " + was
                            + ", but no node is eligible: " + eligibility(now, spec, nodes, failures))));
        }
        if (v != Verdict.UP) {
            return Optional.of(new Decision.Hold(spec.id(), "its owner node " + cur.ownerId() + " is " + v.label()
                    + (v == Verdict.DOWN ? "; waiting until it is fenced" : "; no failover until it is known dead")));
        }
        String moveWhy = null;
        if (owner.standby()) {
            moveWhy = "its owner node " + owner.id() + " is in standby";
        } else if (failedOut(now, spec, owner.id(), failures)) {
            moveWhy = "it failed " + failuresIn(now, spec, owner.id(), failures) + " times within "
                    + spec.restartWindowNanos() / 1_000_000_000L + " s on node " + owner.id() + " (restart limit " + spec.maxRestarts() + ")";
        } else if (spec.failback()) {
            Optional<Node> better = best(now, spec, nodes, load, failures, 0)
                    .filter(n -> rank(spec, n.id()) < rank(spec, owner.id()));
            if (better.isPresent()) {
                Node n = better.get();
                return Optional.of(new Decision.Move(spec.id(), owner.id(), n.id(), n.incarnation(),
                        "fails back to node " + n.id() + ", preferred over node " + owner.id()));
            }
        }
        if (moveWhy == null) {
            return Optional.empty(); // sticky
        }
        String because = moveWhy;
        return Optional.of(best(now, spec, nodes, load, failures, owner.id())
                .<Decision>map(n -> new Decision.Move(spec.id(), owner.id(), n.id(), n.incarnation(),
                        "moves to node " + n.id() + " (" + why(spec, n) + "): " + because))
                .orElse(new Decision.Hold(spec.id(), because + ", but no other node is eligible")));
    }

    /** The best eligible node other than {@code except}. */
    private static Optional<Node> best(long now, Spec spec, Map<Integer, Node> nodes, Map<Integer, Integer> load,
                                       List<Failure> failures, int except) {
        return nodes.values().stream()
                .filter(n -> n.id() != except && eligible(now, spec, n, failures))
                .min(Comparator.<Node>comparingInt(n -> rank(spec, n.id()))
                        .thenComparingInt(n -> load.getOrDefault(n.id(), 0))
                        .thenComparingInt(Node::id));
    }

    private static boolean eligible(long now, Spec spec, Node n, List<Failure> failures) {
        return n.verdict() == Verdict.UP && !n.standby() && (!spec.restricted() || spec.preferred().contains(n.id()))
                && !failedOut(now, spec, n.id(), failures);
    }

    /** Position in the preference list; nodes not listed come after all listed ones. */
    private static int rank(Spec spec, int nodeId) {
        int i = spec.preferred().indexOf(nodeId);
        return i < 0 ? Integer.MAX_VALUE : i;
    }

    private static int failuresIn(long now, Spec spec, int nodeId, List<Failure> failures) {
        return (int) failures.stream().filter(f -> f.workloadId() == spec.id() && f.nodeId() == nodeId
                && now - f.atNanos() <= spec.restartWindowNanos()).count();
    }

    private static boolean failedOut(long now, Spec spec, int nodeId, List<Failure> failures) {
        return failuresIn(now, spec, nodeId, failures) > spec.maxRestarts();
    }

    private static String why(Spec spec, Node n) {
        int r = rank(spec, n.id());
        return r == Integer.MAX_VALUE ? "least loaded eligible node" : "preference " + (r + 1) + " of its domain";
    }

    /**
     * A node that may take {@code spec} from {@code except}: {@code to} when it is eligible, else
     * (without {@code to}) the best eligible one.
     */
    public static Optional<Node> eligibleTarget(long now, Spec spec, List<Node> nodes, List<Failure> failures, int except,
                                                Optional<Integer> to) {
        if (to.isPresent()) {
            return nodes.stream().filter(n -> n.id() == to.get() && n.id() != except && eligible(now, spec, n, failures)).findFirst();
        }
        Map<Integer, Node> byId = new HashMap<>();
        nodes.forEach(n -> byId.put(n.id(), n));
        return best(now, spec, byId, new HashMap<>(), failures, except);
    }

    /** Why each node may or may not run {@code spec}, for a refusal. */
    public static String eligibility(long now, Spec spec, List<Node> nodes, List<Failure> failures) {
        Map<Integer, Node> byId = new HashMap<>();
        nodes.forEach(n -> byId.put(n.id(), n));
        return eligibility(now, spec, byId, failures);
    }

    private static String eligibility(long now, Spec spec, Map<Integer, Node> nodes, List<Failure> failures) {
        List<String> parts = new ArrayList<>();
        nodes.values().stream().sorted(Comparator.comparingInt(Node::id)).forEach(n -> {
            String why = n.verdict() != Verdict.UP ? n.verdict().label()
                    : n.standby() ? "standby"
                    : spec.restricted() && !spec.preferred().contains(n.id()) ? "outside its restricted domain"
                    : failedOut(now, spec, n.id(), failures) ? "failed too often" : "eligible";
            parts.add("node " + n.id() + " " + why);
        });
        return String.join(", ", parts);
    }
}
