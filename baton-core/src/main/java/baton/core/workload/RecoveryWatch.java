package baton.core.workload;

import baton.core.membership.Verdict;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Whether a recovery is coming, so that a node reads the owner records at every tick of its loop
 * instead of every disk interval (docs/workloads.md): some workload's recorded owner, another
 * node, is {@code down} or {@code fenced} in this node's view, and was first seen so less than
 * the window ago. The coordinator then writes the recovery within a tick of the fence, and the
 * new owner starts within a tick of the write. The window bounds the extra reads: a node whose
 * fencing keeps failing does not keep the disk busy.
 *
 * <p>Pure: the caller passes its clock. Not thread-safe; one per loop.
 */
public final class RecoveryWatch {
    private final int self;
    private final long windowNanos;
    /** Owners seen down or fenced, since when. */
    private final Map<Integer, Long> downSince = new HashMap<>();

    /**
     * @param self        this node's id: its own records never make a recovery pending here
     * @param windowNanos how long after an owner is first seen down the answer may be yes
     */
    public RecoveryWatch(int self, long windowNanos) {
        if (windowNanos < 0) {
            throw new IllegalArgumentException("window " + windowNanos + " ns is negative");
        }
        this.self = self;
        this.windowNanos = windowNanos;
    }

    /** At {@code now}: whether a recovery is pending, given the newest records and every node's verdict. */
    public boolean pending(long now, Collection<WorkloadRecord> records, Collection<Placement.Node> nodes) {
        Set<Integer> owners = new TreeSet<>();
        for (WorkloadRecord r : records) {
            if (r.ownerId() != 0 && r.ownerId() != self) {
                owners.add(r.ownerId());
            }
        }
        boolean pending = false;
        for (Placement.Node n : nodes) {
            boolean down = owners.contains(n.id()) && (n.verdict() == Verdict.DOWN || n.verdict() == Verdict.FENCED);
            if (!down) {
                downSince.remove(n.id());
                continue;
            }
            long since = downSince.computeIfAbsent(n.id(), id -> now);
            pending |= now - since < windowNanos;
        }
        return pending;
    }
}
