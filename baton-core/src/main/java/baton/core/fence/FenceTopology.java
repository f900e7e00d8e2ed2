package baton.core.fence;

import baton.core.disk.DiskLayout;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The cluster's fencing topology: for each node id, its levels in the order they are tried.
 * A node absent from the map, or mapped to no levels, cannot be fenced by power: the
 * coordinator raises the alarm at once and waits for an operator's confirmation.
 */
public record FenceTopology(Map<Integer, List<FenceLevel>> levelsByNode) {
    /** Pacemaker setups rarely use more than three; eight leaves room without inviting lists of guesses. */
    public static final int MAX_LEVELS = 8;

    public FenceTopology {
        var copy = new TreeMap<Integer, List<FenceLevel>>();
        for (var e : levelsByNode.entrySet()) {
            int id = e.getKey();
            if (id < 1 || id > DiskLayout.MAX_NODES) {
                throw new IllegalArgumentException("node id " + id + " outside 1.." + DiskLayout.MAX_NODES);
            }
            if (e.getValue().size() > MAX_LEVELS) {
                throw new IllegalArgumentException("node " + id + " has " + e.getValue().size() + " fencing levels, at most " + MAX_LEVELS);
            }
            copy.put(id, List.copyOf(e.getValue()));
        }
        levelsByNode = java.util.Collections.unmodifiableMap(copy);
    }

    public List<FenceLevel> levels(int nodeId) {
        return levelsByNode.getOrDefault(nodeId, List.of());
    }
}
