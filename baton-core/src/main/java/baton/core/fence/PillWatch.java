package baton.core.fence;

import baton.core.disk.Copy;
import baton.core.timing.Timeouts;
import java.util.ArrayList;
import java.util.List;

/**
 * The victim's side of disk-based fencing: every disk interval, read this node's fence record
 * from both copies; a record with the poison pill for this incarnation means stop everything
 * and exit now. A pure state machine.
 *
 * <h2>The read rule</h2>
 * A node that cannot read its fence record cannot see a pill, so it must not run for long
 * either: when a read cycle issued T (the disk timeout) or more after the last good read
 * yields no good read from either copy, it exits. Judged at issue time, like staleness
 * (docs/timeouts.md): after a pause, the first cycle issued reads fresh, so a pause alone
 * never triggers it (a pause is membership's business). Together with the issue interval I
 * and the I/O timeout 2I, a live victim is gone T + 3I after its last good read at the
 * latest, or 3I after a pill was written; {@link FenceTiming#pillWaitNanos} builds on this.
 * A record that fails its checks on both copies counts as no good read: a pill could hide in it.
 */
public final class PillWatch {
    /** What the shell must do. */
    public sealed interface Effect {
        /** Read this node's fence record block from {@code copy}; report {@link #readDone} with {@code cycle}. */
        record Read(Copy copy, long cycle) implements Effect {}

        /** Stop the workloads and exit at once, with the poison-pill or the lost-disk status. */
        record Exit(boolean pill, String detail) implements Effect {}
    }

    private final int selfId;
    private final long incarnation;
    private final Timeouts timeouts;
    private final FenceRecordCodec codec;

    private long cycle;
    private long issuedNanos;
    private long lastIssueNanos;
    private boolean started;
    private final boolean[] outstanding = new boolean[2];
    private final boolean[] resolved = new boolean[2];
    private boolean goodThisCycle;
    private String lastProblem = "";
    private long lastGoodNanos;
    private boolean exited;

    public PillWatch(int selfId, long incarnation, Timeouts timeouts, FenceRecordCodec codec) {
        this.selfId = selfId;
        this.incarnation = incarnation;
        this.timeouts = timeouts;
        this.codec = codec;
    }

    /** Starts a read cycle every disk interval; a read outstanding past the I/O timeout fails its copy. */
    public List<Effect> tick(long now) {
        List<Effect> out = new ArrayList<>();
        if (exited) {
            return out;
        }
        if (!started) {
            started = true;
            lastGoodNanos = now; // the join proved the disk a moment ago
            lastIssueNanos = now - timeouts.diskIntervalNanos();
        }
        if (cycle > 0) {
            for (Copy c : Copy.values()) {
                if (!resolved[c.ordinal()] && now - issuedNanos >= timeouts.ioTimeoutNanos()) {
                    resolve(c, false, c.label() + ": read outstanding for more than " + timeouts.ioTimeoutMillis() + " ms", out);
                }
            }
        }
        if (now - lastIssueNanos >= timeouts.diskIntervalNanos() && allResolved()) {
            cycle++;
            issuedNanos = now;
            lastIssueNanos = now;
            goodThisCycle = false;
            for (Copy c : Copy.values()) {
                resolved[c.ordinal()] = false;
                if (outstanding[c.ordinal()]) {
                    // A read of an earlier cycle still hangs: this copy fails this cycle too.
                    resolve(c, false, c.label() + ": an earlier read still hangs", out);
                } else {
                    outstanding[c.ordinal()] = true;
                    out.add(new Effect.Read(c, cycle));
                }
            }
        }
        return out;
    }

    /** A read completed: {@code block} is the 4096 bytes read, or null with {@code error}. */
    public List<Effect> readDone(long now, Copy copy, long readCycle, byte[] block, String error) {
        List<Effect> out = new ArrayList<>();
        outstanding[copy.ordinal()] = false;
        if (exited || readCycle != cycle || resolved[copy.ordinal()]) {
            return out; // late: already failed by the timeout
        }
        if (block == null) {
            resolve(copy, false, copy.label() + ": " + error, out);
            return out;
        }
        switch (codec.decodeRecord(block, 0, selfId)) {
            case FenceRecordCodec.Read.Valid<FenceRecord> v -> {
                FenceRecord r = v.value();
                if (r.pill() && r.victimIncarnation() == incarnation) {
                    exited = true;
                    out.add(new Effect.Exit(true, "poison pill for incarnation " + incarnation + " from node " + r.coordinatorId()
                            + " (lease generation " + r.generation() + ") on the " + copy.label() + " copy: " + r.text()));
                    return out;
                }
                lastGoodNanos = now;
                resolve(copy, true, "", out);
            }
            case FenceRecordCodec.Read.Empty<FenceRecord> e -> {
                lastGoodNanos = now;
                resolve(copy, true, "", out);
            }
            case FenceRecordCodec.Read.Invalid<FenceRecord> i -> resolve(copy, false, copy.label() + ": " + i.detail(), out);
        }
        return out;
    }

    private boolean allResolved() {
        return cycle == 0 || (resolved[0] && resolved[1]);
    }

    private void resolve(Copy c, boolean good, String problem, List<Effect> out) {
        resolved[c.ordinal()] = true;
        goodThisCycle |= good;
        if (!good) {
            lastProblem = problem;
        }
        if (resolved[0] && resolved[1] && !goodThisCycle && !exited && issuedNanos - lastGoodNanos >= timeouts.diskTimeoutNanos()) {
            exited = true;
            out.add(new Effect.Exit(false, "could not read its fence record from either copy for "
                    + (issuedNanos - lastGoodNanos) / 1_000_000L + " ms (a poison pill could not reach it); last: " + lastProblem));
        }
    }
}
