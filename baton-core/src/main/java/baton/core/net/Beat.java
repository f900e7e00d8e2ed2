package baton.core.net;

import baton.core.disk.DiskLayout;

/**
 * One heartbeat as its sender sent it: "node {@code senderId}, in its incarnation
 * {@code incarnation}, was alive when it sent beat number {@code seq} on {@code ring}".
 *
 * @param ring 0..{@link HeartbeatCodec#MAX_RINGS}-1: the network (every node's ring-th address)
 * @param senderId 1..{@value DiskLayout#MAX_NODES}
 * @param incarnation at least 1; a node that rejoins sends with a higher one
 * @param seq at least 1; counts the sender's ticks in this incarnation, the same on every ring
 * @param heldDown bit n-1 set when the sender holds node n down
 */
public record Beat(int ring, int senderId, long incarnation, long seq, int heldDown) {
    public Beat(int ring, int senderId, long incarnation, long seq) {
        this(ring, senderId, incarnation, seq, 0);
    }

    /** Whether the sender holds node {@code nodeId} down. */
    public boolean holdsDown(int nodeId) {
        return (heldDown & (1 << (nodeId - 1))) != 0;
    }

    public Beat {
        if (ring < 0 || ring >= HeartbeatCodec.MAX_RINGS) {
            throw new IllegalArgumentException("ring " + ring + " outside 0.." + (HeartbeatCodec.MAX_RINGS - 1));
        }
        if (senderId < 1 || senderId > DiskLayout.MAX_NODES) {
            throw new IllegalArgumentException("sender id " + senderId + " outside 1.." + DiskLayout.MAX_NODES);
        }
        if (incarnation < 1 || seq < 1) {
            throw new IllegalArgumentException("incarnation " + incarnation + " and seq " + seq + " must be >= 1");
        }
    }
}
