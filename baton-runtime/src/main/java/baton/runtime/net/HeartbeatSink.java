package baton.runtime.net;

/**
 * Where {@link HeartbeatService} reports, from its own threads: the receive thread of a ring
 * calls {@link #heard}, the send thread calls {@link #selfLate}. Times are
 * {@link System#nanoTime()} values.
 *
 * <p>Implementations must return promptly and never block (hand the report to the event
 * loop's queue with {@code offer}, and count what does not fit): a sink that blocks the send
 * thread stops this node's heartbeats, and the others would rightly start to suspect it.
 */
public interface HeartbeatSink {
    /**
     * An authentic, fresh beat from {@code senderId} arrived on {@code ring} at {@code nowNanos};
     * {@code heldDown} is the set of nodes the sender holds down (bit n-1 for node n).
     */
    void heard(long nowNanos, int ring, int senderId, long senderIncarnation, long seq, int heldDown);

    /**
     * This node's send thread woke {@code latenessNanos} after the deadline of a beat, more
     * than half the network timeout: the node was paused or starved (SIGSTOP, a long GC pause,
     * a VM descheduled). Its own view of the others' silence over that time is no evidence
     * against them, since it did not listen either (Lifeguard, Dadgar et al. 2018,
     * arXiv:1707.00788: a slow member must not accuse others).
     */
    void selfLate(long nowNanos, long latenessNanos);
}
