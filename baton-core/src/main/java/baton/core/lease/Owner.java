package baton.core.lease;

import baton.core.disk.DiskLayout;

/**
 * Who may hold the lease: a node id and the incarnation of its daemon. A restarted daemon has
 * a new incarnation and is a different owner: it never inherits its predecessor's lease.
 * {@link #NONE} (node 0) stands for "no value" in Disk Paxos blocks.
 */
public record Owner(int nodeId, long incarnation) {
    public static final Owner NONE = new Owner(0, 0);

    public Owner {
        if (nodeId < 0 || nodeId > DiskLayout.MAX_NODES) {
            throw new IllegalArgumentException("node id " + nodeId);
        }
        if (nodeId == 0 && incarnation != 0) {
            throw new IllegalArgumentException("no owner with incarnation " + incarnation);
        }
    }

    public boolean isNone() {
        return nodeId == 0;
    }

    @Override
    public String toString() {
        return isNone() ? "none" : "node " + nodeId + " (incarnation " + incarnation + ")";
    }
}
