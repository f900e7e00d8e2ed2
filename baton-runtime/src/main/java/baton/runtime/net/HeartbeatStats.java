package baton.runtime.net;

import baton.core.net.DropReason;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Counters of a {@link HeartbeatService} since it started, for metrics, status and tests. A
 * snapshot: each counter is read atomically, the set of them is not.
 *
 * @param rings one entry per ring, in ring order
 * @param ticks the send thread's punctuality
 * @param failure set when a heartbeat thread died of a broken invariant (it is also printed):
 *     the node is then deaf or mute on the rings concerned
 */
public record HeartbeatStats(List<Ring> rings, Ticks ticks, Optional<String> failure) {
    public HeartbeatStats {
        rings = List.copyOf(rings);
        Objects.requireNonNull(ticks, "ticks");
        Objects.requireNonNull(failure, "failure");
    }

    /**
     * One ring. {@code received} counts every datagram read from the ring's socket; each was
     * either accepted or dropped for one reason, so received = accepted + dropped.
     *
     * @param address this node's ring address and port, as bound
     * @param sent datagrams handed to the kernel (one per peer per tick)
     * @param sendErrors datagrams the kernel refused or could not take without blocking
     * @param lastSendError the last send error's message, for operators
     * @param receiveErrors failed reads of the socket (not datagrams: those are received)
     * @param peers one entry per other node, in configuration order: what this ring heard from it
     */
    public record Ring(int ring, String address, long sent, long sendErrors, Optional<String> lastSendError,
            long received, long receiveErrors, long accepted, Map<DropReason, Long> dropped, List<Peer> peers) {
        public Ring {
            dropped = Map.copyOf(dropped);
            peers = List.copyOf(peers);
        }

        public long dropped(DropReason reason) {
            return dropped.getOrDefault(reason, 0L);
        }

        public long droppedTotal() {
            return dropped.values().stream().mapToLong(Long::longValue).sum();
        }
    }

    /**
     * What one ring heard from one peer. A peer numbers its beats 1, 2, 3, ... per incarnation,
     * one per heartbeat interval (a deadline its send thread overslept is skipped, not numbered),
     * so a gap in the numbers it was heard with is beats that were lost on the way or dropped
     * here: {@code missed}. The first beat heard of an incarnation starts the count afresh; a beat
     * that arrives after a later one (reordered, still inside the replay window) is taken back
     * out of {@code missed}.
     *
     * @param accepted beats of this peer accepted on this ring
     * @param missed beats of this peer that never arrived here (as far as the numbers tell)
     * @param lastHeardNanos {@link System#nanoTime()} of the last accepted beat; meaningful only when {@link #heard()}
     */
    public record Peer(int nodeId, long accepted, long missed, long lastHeardNanos) {
        public boolean heard() {
            return accepted > 0;
        }
    }

    /**
     * The send thread's wake-ups: how long after each deadline it ran. Percentiles are upper
     * bounds of histogram buckets (at most 25 % high), never above {@code maxNanos}.
     *
     * @param ticks deadlines the thread woke for and sent on
     * @param lateTicks ticks later than {@code lateThresholdNanos}, each reported to the sink
     * @param skippedTicks deadlines that passed entirely during a late wake-up and were not sent
     *     for (the beats go on from the next deadline, not in a burst)
     */
    public record Ticks(long ticks, long lateTicks, long skippedTicks, long lateThresholdNanos, long p50Nanos,
            long p99Nanos, long maxNanos) {}

    public long sent() {
        return rings.stream().mapToLong(Ring::sent).sum();
    }

    public long sendErrors() {
        return rings.stream().mapToLong(Ring::sendErrors).sum();
    }

    public long received() {
        return rings.stream().mapToLong(Ring::received).sum();
    }

    public long accepted() {
        return rings.stream().mapToLong(Ring::accepted).sum();
    }

    public long dropped(DropReason reason) {
        return rings.stream().mapToLong(r -> r.dropped(reason)).sum();
    }

    /** Drops over all rings, by reason; reasons never seen are absent. */
    public Map<DropReason, Long> droppedByReason() {
        Map<DropReason, Long> all = new EnumMap<>(DropReason.class);
        for (Ring r : rings) {
            r.dropped().forEach((reason, n) -> all.merge(reason, n, Long::sum));
        }
        return all;
    }
}
