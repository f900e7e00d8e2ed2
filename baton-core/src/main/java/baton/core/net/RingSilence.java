package baton.core.net;

import baton.core.disk.DiskLayout;
import java.util.Arrays;

/**
 * How long each peer has been silent on each ring, by the receiver's monotonic clock: the
 * network half of the evidence the membership core weighs. Feed it every accepted beat.
 *
 * <p>A peer never heard counts as silent since this object was created, not since forever:
 * a node that has just started accuses nobody before a full network timeout has passed.
 * Not thread-safe; times are {@code System.nanoTime()} values passed in by the caller.
 */
public final class RingSilence {
    private final int ringCount;
    private final long[][] lastHeardNanos;

    public RingSilence(int ringCount, long startNanos) {
        if (ringCount < 1 || ringCount > HeartbeatCodec.MAX_RINGS) {
            throw new IllegalArgumentException("ring count " + ringCount + " outside 1.." + HeartbeatCodec.MAX_RINGS);
        }
        this.ringCount = ringCount;
        this.lastHeardNanos = new long[DiskLayout.MAX_NODES + 1][ringCount];
        for (long[] perRing : lastHeardNanos) {
            Arrays.fill(perRing, startNanos);
        }
    }

    public void heard(int peer, int ring, long nowNanos) {
        // Beats may be handed over out of order by several receive threads: keep the latest.
        if (nowNanos - lastHeardNanos[peer][ring] > 0) {
            lastHeardNanos[peer][ring] = nowNanos;
        }
    }

    /** Nanoseconds since {@code peer} was last heard on {@code ring}; 0 if heard "in the future". */
    public long silentForNanos(int peer, int ring, long nowNanos) {
        return Math.max(0, nowNanos - lastHeardNanos[peer][ring]);
    }

    /** The shortest silence of {@code peer} over all rings: silent on every ring for at least this long. */
    public long silentOnAllRingsForNanos(int peer, long nowNanos) {
        long shortest = Long.MAX_VALUE;
        for (int ring = 0; ring < ringCount; ring++) {
            shortest = Math.min(shortest, silentForNanos(peer, ring, nowNanos));
        }
        return shortest;
    }

    public int ringCount() {
        return ringCount;
    }
}
