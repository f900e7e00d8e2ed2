package baton.core.fence;

import baton.core.disk.DiskLayout;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The cluster's fencing topology: for each node id, its levels in the order they are tried,
 * the delay before the coordinator starts fencing it, and whether power devices are asked to
 * {@code reboot} instead of {@code off}. A node absent from the map, or mapped to no levels,
 * cannot be fenced: the coordinator raises the alarm at once and waits for an operator's
 * confirmation.
 *
 * @param levelsByNode    levels per node id
 * @param delayNanosByNode how long the coordinator waits after a node is declared down before it
 *                        fences it (a static fence delay; absent means none)
 * @param reboot          ask power devices for {@code reboot} (the agent powers off, checks off, powers
 *                        on) rather than {@code off} followed by a {@code status} that must say off
 */
public record FenceTopology(Map<Integer, List<FenceLevel>> levelsByNode, Map<Integer, Long> delayNanosByNode, boolean reboot) {
    /** Pacemaker setups rarely use more than three; eight leaves room without inviting lists of guesses. */
    public static final int MAX_LEVELS = 8;
    /** A fence delay longer than this keeps workloads down for longer than any split can need. */
    public static final long MAX_DELAY_NANOS = 300_000_000_000L;

    public FenceTopology {
        var copy = new TreeMap<Integer, List<FenceLevel>>();
        for (var e : levelsByNode.entrySet()) {
            int id = checkId(e.getKey());
            if (e.getValue().size() > MAX_LEVELS) {
                throw new IllegalArgumentException("node " + id + " has " + e.getValue().size() + " fencing levels, at most " + MAX_LEVELS);
            }
            copy.put(id, List.copyOf(e.getValue()));
        }
        levelsByNode = Collections.unmodifiableMap(copy);
        var delays = new TreeMap<Integer, Long>();
        for (var e : delayNanosByNode.entrySet()) {
            int id = checkId(e.getKey());
            long d = e.getValue();
            if (d < 0 || d > MAX_DELAY_NANOS) {
                throw new IllegalArgumentException("fence delay of node " + id + ": " + d + " ns outside 0.." + MAX_DELAY_NANOS);
            }
            delays.put(id, d);
        }
        delayNanosByNode = Collections.unmodifiableMap(delays);
    }

    /** Levels only: no delays, power off. */
    public FenceTopology(Map<Integer, List<FenceLevel>> levelsByNode) {
        this(levelsByNode, Map.of(), false);
    }

    private static int checkId(int id) {
        if (id < 1 || id > DiskLayout.MAX_NODES) {
            throw new IllegalArgumentException("node id " + id + " outside 1.." + DiskLayout.MAX_NODES);
        }
        return id;
    }

    public List<FenceLevel> levels(int nodeId) {
        return levelsByNode.getOrDefault(nodeId, List.of());
    }

    public long delayNanos(int nodeId) {
        return delayNanosByNode.getOrDefault(nodeId, 0L);
    }

    /** The action a power device is asked for. */
    public FenceAction powerAction() {
        return reboot ? FenceAction.REBOOT : FenceAction.OFF;
    }
}
