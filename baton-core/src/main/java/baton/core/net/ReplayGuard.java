package baton.core.net;

import baton.core.disk.DiskLayout;
import java.util.Arrays;

/**
 * Freshness of authentic beats at one receiving node: each beat is accepted at most once, and
 * never from an incarnation older than the newest heard from its sender.
 *
 * <p>State: per sender the newest incarnation heard on any ring, and per (sender, ring) a
 * {@link ReplayWindow} over the sequence numbers of the incarnation that window last saw. The
 * window is per ring because a sender puts the same number on every ring in a tick; the
 * incarnation is per sender because a node that rejoined is new everywhere, even on a ring
 * that has not heard it since. A newer incarnation on a ring resets that ring's window.
 *
 * <p>Only authentic beats change the state ({@link HeartbeatCodec} has checked the MAC):
 * otherwise a forged beat with a huge incarnation would lock the real sender out.
 *
 * <p>Invariant: for every (sender, ring), {@code windowIncarnation <= newestIncarnation}.
 * Not thread-safe: the shell calls it from one thread at a time.
 */
public final class ReplayGuard {
    private final int ringCount;
    private final long[] newestIncarnation = new long[DiskLayout.MAX_NODES + 1];
    private final long[][] windowIncarnation;
    private final ReplayWindow[][] windows;

    /** One per reason, so that a flood of bad packets or replays costs no garbage. */
    private static final BeatVerdict.Dropped[] DROPPED = Arrays.stream(DropReason.values())
            .map(BeatVerdict.Dropped::new).toArray(BeatVerdict.Dropped[]::new);

    public ReplayGuard(int ringCount) {
        if (ringCount < 1 || ringCount > HeartbeatCodec.MAX_RINGS) {
            throw new IllegalArgumentException("ring count " + ringCount + " outside 1.." + HeartbeatCodec.MAX_RINGS);
        }
        this.ringCount = ringCount;
        this.windowIncarnation = new long[DiskLayout.MAX_NODES + 1][ringCount];
        this.windows = new ReplayWindow[DiskLayout.MAX_NODES + 1][ringCount];
        for (ReplayWindow[] perRing : windows) {
            for (int r = 0; r < ringCount; r++) {
                perRing[r] = new ReplayWindow();
            }
        }
    }

    /** The verdict on what {@link HeartbeatCodec#decode} found; a rejection passes through. */
    public BeatVerdict admit(HeartbeatCodec.Decoded decoded) {
        return switch (decoded) {
            case HeartbeatCodec.Decoded.Rejected r -> dropped(r.reason());
            case HeartbeatCodec.Decoded.Authentic a -> admit(a.beat());
        };
    }

    private BeatVerdict admit(Beat beat) {
        int sender = beat.senderId();
        int ring = beat.ring();
        if (ring >= ringCount) {
            throw new IllegalArgumentException("beat on ring " + ring + " of " + ringCount + ": " + beat);
        }
        if (beat.incarnation() < newestIncarnation[sender]) {
            return dropped(DropReason.OLD_INCARNATION);
        }
        newestIncarnation[sender] = beat.incarnation();
        if (beat.incarnation() > windowIncarnation[sender][ring]) {
            windowIncarnation[sender][ring] = beat.incarnation();
            windows[sender][ring].reset();
        }
        return switch (windows[sender][ring].offer(beat.seq())) {
            case FRESH -> new BeatVerdict.Accepted(beat);
            case SEEN -> dropped(DropReason.REPLAYED);
            case TOO_OLD -> dropped(DropReason.TOO_OLD);
        };
    }

    private static BeatVerdict.Dropped dropped(DropReason reason) {
        return DROPPED[reason.ordinal()];
    }

    /** The newest incarnation heard from {@code senderId} on any ring, 0 when none. */
    public long newestIncarnation(int senderId) {
        return newestIncarnation[senderId];
    }
}
