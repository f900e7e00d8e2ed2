package baton.core.lease;

import baton.core.disk.Copy;
import java.util.Arrays;

/**
 * What one node knows about the block of the owner of the latest decided generation, and the
 * takeover rule built on it. Per copy, the watch keeps the block's bytes and when they were
 * first seen; the owner's writes always change the bytes (its {@code seq} grows), and nobody
 * else writes its block, so:
 *
 * <blockquote>bytes first seen by a read that completed at {@code seen}, and shown again by a
 * read issued at {@code issued}, prove that no write of the owner reached that copy between
 * {@code seen} and {@code issued}.</blockquote>
 *
 * The owner is <em>quiet for q</em> when that holds on both copies with {@code issued - seen >= q}.
 * A damaged block is watched by its bytes too: damage the owner does not overwrite is no sign
 * of life. A block written by a newer incarnation of the owner's node is one value,
 * "superseded", however often the new daemon writes: the old owner is gone, and the rule
 * still waits the full lease timeout, in case it was only paused.
 *
 * <p>The owner is <em>released</em> when its own incarnation wrote that it gave the generation up
 * (state released, or a block about a later generation): it wrote so only after it had stopped
 * believing, and it never believes in that generation again, so nobody needs to wait.
 */
public final class OwnerWatch {
    private static final byte[] SUPERSEDED = {'S'};

    private Owner target = Owner.NONE;
    private long generation;
    private final byte[][] value = new byte[2][];
    private final long[] firstSeenNanos = new long[2];
    private final long[] confirmedIssueNanos = new long[2];
    private final long[] seqOnCopy = {LeaseBlock.UNKNOWN_SEQ, LeaseBlock.UNKNOWN_SEQ};
    private boolean released;

    /** Starts watching {@code owner}, the holder of {@code gen}; forgets everything about the previous one. */
    public void reset(Owner owner, long gen) {
        target = owner;
        generation = gen;
        Arrays.fill(value, null);
        Arrays.fill(seqOnCopy, LeaseBlock.UNKNOWN_SEQ);
        released = false;
    }

    public boolean isFor(Owner owner, long gen) {
        return target.equals(owner) && generation == gen;
    }

    public Owner target() {
        return target;
    }

    /**
     * One read of {@code copy}: the owner's block as raw bytes at {@code area[offset...]} and
     * decoded, the read issued at {@code issuedNanos} and completed at {@code doneNanos}.
     */
    public void observe(Copy copy, byte[] area, int offset, BlockRead read, long issuedNanos, long doneNanos) {
        if (target.isNone()) {
            return;
        }
        int c = copy.ordinal();
        byte[] v;
        long seq = LeaseBlock.UNKNOWN_SEQ;
        if (read instanceof BlockRead.Valid ok && ok.block().incarnation() == target.incarnation()) {
            LeaseBlock b = ok.block();
            if (b.generation() > generation || (b.generation() == generation && b.state() == LeaseState.RELEASED)) {
                released = true;
            }
            v = Arrays.copyOfRange(area, offset, offset + LeaseCodec.BLOCK_USED_BYTES);
            seq = b.seq();
        } else if (read instanceof BlockRead.Valid ok && ok.block().incarnation() > target.incarnation()) {
            v = SUPERSEDED;
        } else {
            v = Arrays.copyOfRange(area, offset, offset + LeaseCodec.BLOCK_USED_BYTES);
        }
        if (value[c] == null || !Arrays.equals(value[c], v)) {
            value[c] = v;
            firstSeenNanos[c] = doneNanos;
            confirmedIssueNanos[c] = issuedNanos;
            seqOnCopy[c] = seq;
        } else if (issuedNanos - confirmedIssueNanos[c] > 0) {
            confirmedIssueNanos[c] = issuedNanos;
        }
    }

    public boolean released() {
        return released;
    }

    /**
     * How long the owner has provably written nothing to either copy, as this node's clock
     * measures it; negative while a copy has not been seen unchanged by a later read.
     */
    public long quietNanos() {
        if (value[0] == null || value[1] == null) {
            return -1;
        }
        return Math.min(confirmedIssueNanos[0] - firstSeenNanos[0], confirmedIssueNanos[1] - firstSeenNanos[1]);
    }

    /**
     * The seq to name in a takeover block: the highest seq of the owner's own incarnation
     * among the values watched now, or {@link LeaseBlock#UNKNOWN_SEQ} when none is readable.
     */
    public long targetSeq() {
        long best = LeaseBlock.UNKNOWN_SEQ;
        for (long s : seqOnCopy) {
            if (s != LeaseBlock.UNKNOWN_SEQ && (best == LeaseBlock.UNKNOWN_SEQ || s > best)) {
                best = s;
            }
        }
        return best;
    }

    public String describe() {
        if (target.isNone()) {
            return "no owner";
        }
        if (released) {
            return "released by its owner";
        }
        long q = quietNanos();
        return q < 0 ? "written recently" : "unchanged on both copies for " + q / 1_000_000 + " ms";
    }
}
