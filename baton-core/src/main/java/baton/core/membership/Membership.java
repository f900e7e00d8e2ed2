package baton.core.membership;

import baton.core.liveness.Liveness;
import baton.core.timing.Timeouts;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Membership: one verdict per peer from two independent channels, the quorum disk (from the
 * disk-liveness core) and the heartbeat rings. A pure state machine.
 *
 * <h2>The failure rule (the mission's seed, exactly)</h2>
 * A peer is {@link Verdict#DOWN} only when its slot has been stale for the disk timeout
 * <em>and</em> it answered no heartbeat on any ring for the network timeout. Either channel
 * alone is an alarm, never a failover: silent network with a fresh slot is
 * {@link Verdict#NETWORK_LOST} (a partition), a stale slot with working heartbeats is
 * {@link Verdict#DISK_LOST}. A peer whose slot cannot be read at all (both copies bad) is
 * never proven stopped. A slot in state "left" is a clean leave.
 *
 * <h2>Not accusing on one's own lateness (Lifeguard, arXiv 1707.00788)</h2>
 * Network silence is measured from the later of the last heartbeat heard and the last time
 * this node found its own ticks late: a node that was paused or starved has not been
 * listening, so the silence it measured is no evidence. Disk staleness is already judged at
 * read time by the disk-liveness core and is immune to the reader's pauses.
 *
 * <h2>Invariants</h2>
 * A verdict of DOWN is sticky for the incarnation it was given to: the same incarnation
 * showing signs of life again (it was hung and resumed) stays DOWN, since others may already
 * act on the verdict; only a new incarnation (it restarted and rejoined) lifts it.
 */
public final class Membership {
    private final int selfId;
    private final int nodes;
    private final int rings;
    private final Timeouts timeouts;

    private boolean started;
    private long startNanos;
    private boolean selfLate;
    private boolean declaredDown;
    private long lastEvaluatedNanos;
    private long selfLateAtNanos;

    private final long[][] heardNanos;
    private final boolean[][] heard;
    private final long[] heardIncarnation;
    private final Liveness[] disk;
    private final long[] diskUnchangedNanos;
    private final long[] diskIncarnation;
    private final Verdict[] verdict;
    private final long[] downIncarnation;
    private final String[] fencedHow;
    /**
     * An incarnation fenced before membership declared it down (an operator's manual fence of a
     * running node): when it goes down, it is fenced at once.
     */
    private final long[] fencedEarlyIncarnation;

    public Membership(int selfId, int nodes, int rings, Timeouts timeouts) {
        if (selfId < 1 || selfId > nodes || rings < 1) {
            throw new IllegalArgumentException("self " + selfId + " of " + nodes + " nodes, " + rings + " rings");
        }
        this.selfId = selfId;
        this.nodes = nodes;
        this.rings = rings;
        this.timeouts = timeouts;
        heardNanos = new long[nodes + 1][rings];
        heard = new boolean[nodes + 1][rings];
        heardIncarnation = new long[nodes + 1];
        disk = new Liveness[nodes + 1];
        diskUnchangedNanos = new long[nodes + 1];
        diskIncarnation = new long[nodes + 1];
        verdict = new Verdict[nodes + 1];
        downIncarnation = new long[nodes + 1];
        fencedHow = new String[nodes + 1];
        fencedEarlyIncarnation = new long[nodes + 1];
        for (int i = 1; i <= nodes; i++) {
            disk[i] = Liveness.PENDING;
            verdict[i] = i == selfId ? Verdict.UP : Verdict.ABSENT;
        }
    }

    public List<MembershipEvent> step(MembershipInput in) {
        List<MembershipEvent> out = new ArrayList<>();
        long now = in.nowNanos();
        if (!started) {
            started = true;
            startNanos = now;
        }
        switch (in) {
            case MembershipInput.Tick t -> evaluateAll(now, out);
            case MembershipInput.Heard h -> {
                if (h.peer() < 1 || h.peer() > nodes || h.ring() < 0 || h.ring() >= rings) {
                    throw new IllegalArgumentException("heartbeat from peer " + h.peer() + " on ring " + h.ring());
                }
                heard[h.peer()][h.ring()] = true;
                heardNanos[h.peer()][h.ring()] = now;
                heardIncarnation[h.peer()] = Math.max(heardIncarnation[h.peer()], h.incarnation());
                evaluate(h.peer(), now, out);
                // A peer that holds us down saw this incarnation silent on both channels; it
                // may already act on that. Heartbeats sent before our rejoin still carry the
                // old verdict for a while, hence the grace period after (re)joining.
                if (h.saysSelfDown() && !declaredDown && now - startNanos >= rejoinGraceNanos()) {
                    declaredDown = true;
                    out.add(new MembershipEvent.DeclaredDown(h.peer()));
                }
            }
            case MembershipInput.SelfLate l -> {
                selfLate = true;
                selfLateAtNanos = now;
                if (l.latenessNanos() >= Math.min(timeouts.diskTimeoutNanos(), timeouts.networkTimeoutNanos())) {
                    out.add(new MembershipEvent.SelfPaused(l.latenessNanos()));
                }
                evaluateAll(now, out);
            }
            case MembershipInput.Fenced f -> {
                if (verdict[f.peer()] == Verdict.DOWN && downIncarnation[f.peer()] == f.incarnation()) {
                    fencedHow[f.peer()] = f.how();
                    out.add(new MembershipEvent.VerdictChanged(f.peer(), Verdict.DOWN, Verdict.FENCED,
                            "fenced (" + f.how() + ") at incarnation " + f.incarnation()));
                    verdict[f.peer()] = Verdict.FENCED;
                } else if (verdict[f.peer()] != Verdict.FENCED
                        && f.incarnation() >= Math.max(heardIncarnation[f.peer()], diskIncarnation[f.peer()])) {
                    // Fenced on an operator's word while it still looked alive: its slot and
                    // heartbeats stop now, and the down verdict that follows is already fenced.
                    fencedEarlyIncarnation[f.peer()] = f.incarnation();
                    fencedHow[f.peer()] = f.how();
                }
            }
            case MembershipInput.Disk d -> {
                disk[d.peer()] = d.liveness();
                diskUnchangedNanos[d.peer()] = d.unchangedNanos();
                diskIncarnation[d.peer()] = Math.max(diskIncarnation[d.peer()], d.incarnation());
                evaluate(d.peer(), now, out);
            }
        }
        return out;
    }

    /** How long after (re)joining "you are down" from a peer is not acted on: older heartbeats are still in flight. */
    long rejoinGraceNanos() {
        return timeouts.networkTimeoutNanos() + timeouts.diskTimeoutNanos() + 2 * timeouts.heartbeatIntervalNanos();
    }

    /** The peers this node holds down, as a bitmap (bit n-1 for node n): sent in every heartbeat. */
    public int downBitmap() {
        int b = 0;
        for (int i = 1; i <= nodes; i++) {
            if (verdict[i] == Verdict.DOWN || verdict[i] == Verdict.FENCED) {
                b |= 1 << (i - 1);
            }
        }
        return b;
    }

    /** The incarnation {@code peer} was declared down in (meaningful while it is down or fenced). */
    public long downIncarnation(int peer) {
        return downIncarnation[peer];
    }

    /** The newest incarnation of {@code peer} seen on either channel. */
    public long newestIncarnation(int peer) {
        return Math.max(heardIncarnation[peer], diskIncarnation[peer]);
    }

    public Verdict verdict(int peer) {
        return verdict[peer];
    }

    /** The evidence for {@code peer}'s current verdict, as of the last input. */
    public String evidence(int peer) {
        return describe(peer, lastEvaluatedNanos);
    }

    /** Every node's verdict and evidence, index 1..nodes. */
    public List<PeerView> view() {
        List<PeerView> v = new ArrayList<>();
        for (int i = 1; i <= nodes; i++) {
            v.add(new PeerView(i, verdict[i], evidence(i)));
        }
        return v;
    }

    public record PeerView(int nodeId, Verdict verdict, String evidence) {}

    private void evaluateAll(long now, List<MembershipEvent> out) {
        for (int p = 1; p <= nodes; p++) {
            evaluate(p, now, out);
        }
    }

    /** Network silence of {@code p} at {@code now}: since the last beat on any ring, counted only while this node listened. */
    private long silence(int p, long now) {
        // Silence counts only from when this node was last known to be listening.
        long baseline = selfLate ? Math.max(startNanos, selfLateAtNanos) : startNanos;
        long silence = Long.MAX_VALUE;
        for (int r = 0; r < rings; r++) {
            silence = Math.min(silence, now - Math.max(heard[p][r] ? heardNanos[p][r] : baseline, baseline));
        }
        return silence;
    }

    private boolean onTime(long now) {
        return !selfLate || now - selfLateAtNanos >= timeouts.networkTimeoutNanos();
    }

    /**
     * Applies the failure rule to {@code p}. Runs on every tick and heartbeat, so it only
     * compares numbers; the evidence text is built when the verdict changes or someone asks.
     */
    private void evaluate(int p, long now, List<MembershipEvent> out) {
        if (p == selfId) {
            return;
        }
        lastEvaluatedNanos = now;
        long silence = silence(p, now);
        boolean everHeard = false;
        for (int r = 0; r < rings; r++) {
            everHeard |= heard[p][r];
        }
        boolean netSilent = silence >= timeouts.networkTimeoutNanos();
        boolean netQuiet = silence >= timeouts.networkTimeoutNanos() / 2;
        Liveness d = disk[p];
        long newestIncarnation = Math.max(heardIncarnation[p], diskIncarnation[p]);
        Verdict v;
        if ((verdict[p] == Verdict.DOWN || verdict[p] == Verdict.FENCED) && newestIncarnation <= downIncarnation[p]) {
            v = verdict[p]; // sticky for this incarnation
        } else if (d == Liveness.LEFT && heardIncarnation[p] <= diskIncarnation[p]) {
            v = Verdict.LEFT;
        } else if (!everHeard && (d == Liveness.EMPTY || (d == Liveness.PENDING && diskIncarnation[p] == 0))) {
            v = Verdict.ABSENT;
        } else if (d == Liveness.STALE && netSilent) {
            // Both channels past their timeouts. Our own lateness restarted the network silence
            // clock, so netSilent already implies we listened for the whole network timeout.
            v = onTime(now) ? Verdict.DOWN : Verdict.SUSPECT;
        } else if (netSilent) {
            v = Verdict.NETWORK_LOST;
        } else if (d == Liveness.STALE || d == Liveness.UNKNOWN) {
            v = Verdict.DISK_LOST;
        } else if (netQuiet || (d == Liveness.FRESH && diskUnchangedNanos[p] >= timeouts.diskTimeoutNanos() / 2)) {
            v = Verdict.SUSPECT;
        } else {
            v = Verdict.UP;
        }
        if (v == Verdict.DOWN && verdict[p] != Verdict.DOWN) {
            downIncarnation[p] = newestIncarnation;
        }
        if (v != verdict[p]) {
            Verdict from = verdict[p];
            String why = describe(p, now); // before the change: the evidence that led to it
            verdict[p] = v;
            out.add(new MembershipEvent.VerdictChanged(p, from, v, why));
        }
        if (v == Verdict.DOWN && fencedEarlyIncarnation[p] != 0 && fencedEarlyIncarnation[p] == downIncarnation[p]) {
            fencedEarlyIncarnation[p] = 0;
            verdict[p] = Verdict.FENCED;
            out.add(new MembershipEvent.VerdictChanged(p, Verdict.DOWN, Verdict.FENCED,
                    "fenced (" + fencedHow[p] + ") at incarnation " + downIncarnation[p] + ", before it was declared down"));
        }
    }

    /** The evidence for {@code p}'s verdict at {@code now}, as operators read it. */
    private String describe(int p, long now) {
        if (p == selfId) {
            return "this node";
        }
        long silence = silence(p, now);
        StringBuilder rings = new StringBuilder();
        for (int r = 0; r < this.rings; r++) {
            if (r > 0) {
                rings.append(", ");
            }
            rings.append("ring").append(r).append(heard[p][r] ? " " + seconds(now - heardNanos[p][r]) + " ago" : " never");
        }
        String diskText = switch (disk[p]) {
            case FRESH -> "slot fresh";
            case STALE -> "slot stale " + seconds(diskUnchangedNanos[p]);
            case UNKNOWN -> "slot unknown (no valid copy)";
            case PENDING -> "slot not judged yet";
            case EMPTY -> "slot never written";
            case LEFT -> "slot says left";
        };
        String netText = silence >= timeouts.networkTimeoutNanos()
                ? "no heartbeat on any ring for " + seconds(silence) + " (" + rings + ")"
                : "heartbeats: " + rings;
        String why = diskText + ", " + netText + ", own ticks "
                + (onTime(now) ? "on time" : "late " + seconds(now - selfLateAtNanos) + " ago");
        return switch (verdict[p]) {
            case DOWN -> "declared down at incarnation " + downIncarnation[p] + "; " + why;
            case FENCED -> "fenced (" + fencedHow[p] + ") at incarnation " + downIncarnation[p] + "; " + why;
            case UP, SUSPECT, NETWORK_LOST, DISK_LOST, LEFT, ABSENT -> why;
        };
    }

    private static String seconds(long nanos) {
        return String.format(Locale.ROOT, "%.1f s", nanos / 1e9);
    }
}
