package baton.core.liveness;

import baton.core.disk.Copy;
import baton.core.disk.DiskHeader;
import baton.core.disk.DiskLayout;
import baton.core.disk.HeaderCodec;
import baton.core.disk.HeaderRead;
import baton.core.disk.Reconcile;
import baton.core.disk.Slot;
import baton.core.disk.SlotCodec;
import baton.core.disk.SlotRead;
import baton.core.disk.SlotState;
import baton.core.timing.Timeouts;
import java.util.ArrayList;
import java.util.List;

/**
 * Disk liveness: one node's side of the quorum disk, as a state machine that does no I/O.
 *
 * <h2>Algorithm</h2>
 * Every disk interval the node advances its counter and writes its slot to both copies, and
 * reads the header and all slots of both copies. For each slot the two copies are reconciled
 * ({@link Reconcile}); a bad copy is rewritten from the good one. A reader judges a slot
 * <em>stale</em> with its own monotonic clock only: the value it holds was first seen by a read
 * that completed at {@code seen}; a later read issued at {@code issued} that still shows the
 * same value proves that the owner wrote nothing in between, so the slot has been stale for at
 * least {@code issued - seen}. Judging at read time (never at tick time) means a reader that was
 * paused does not accuse others: its first read after the pause shows their progress. This is
 * the "delta lease" idea of sanlock and of Chockler and Malkhi's "Light-Weight Leases" (2005).
 *
 * <h2>The rules of the seed</h2>
 * <ul>
 * <li>Join: a node that cannot prove, within the join timeout, that it can write and read back
 *     its slot on at least one copy exits with {@link ExitReason#JOIN_REFUSED}.</li>
 * <li>Leave: a member that could write neither copy for the disk timeout exits with
 *     {@link ExitReason#LOST_DISK}; with one copy writable it stays and reports "degraded".</li>
 * </ul>
 *
 * <h2>Invariants</h2>
 * At most one write and one read per copy are outstanding (a hung I/O is a failure after the
 * I/O timeout, never a queue). The counter a reader believes for one node never goes
 * backwards. A slot with both copies bad is never "fresh".
 */
public final class DiskLiveness {
    public enum Phase { JOINING, MEMBER, LEAVING, STOPPED }

    /** One node as this reader sees it, for status displays. */
    public record NodeView(int nodeId, Liveness liveness, Slot slot, long unchangedForNanos, String evidence,
                           Reconcile.Verdict verdict, String primary, String shadow) {}

    /** Counters since start, for metrics and tests. */
    public record Stats(long cycles, long writeFailures, long readFailures, long repairs, long repairFailures,
                        long counterRegressions, boolean primaryHealthy, boolean shadowHealthy) {}

    private static final class CopyState {
        long writeCycle = -1;          // cycle of the outstanding write, -1 when none
        long writeIssuedNanos;
        long writeCounter;
        boolean everWritten;
        long lastWriteOkCounter;
        String writeError;             // null while the last write succeeded
        long lastWritableNanos;        // last successful write while the header was ours
        long readCycle = -1;           // cycle of the outstanding read, -1 when none
        String readError;              // null while the last read succeeded
        String headerError;            // null while the last header read was ours
        boolean reportedHealthy = true;
        boolean proven;
        boolean leftIssued;            // the final slot, in state LEFT, was handed to this copy
        boolean confirmedBeforeRead;   // a write had completed successfully when this cycle's read was issued
        long confirmedCounter;         // ... and this was its counter
        final boolean[] repairOutstanding = new boolean[DiskLayout.MAX_NODES + 1];

        String problem() {
            if (writeError != null) return "write: " + writeError;
            if (headerError != null) return "header: " + headerError;
            if (readError != null) return "read: " + readError;
            return null;
        }

        boolean writable() {
            return writeError == null && headerError == null && everWritten;
        }
    }

    private final int selfId;
    private final DiskHeader expected;
    private final SlotCodec codec;
    private final Timeouts timeouts;
    private final long incarnation;

    private Phase phase = Phase.JOINING;
    private boolean started;
    private long startNanos;
    private long nextCycleNanos;
    private long cycle;
    private long counter;
    private baton.core.disk.SlotWorkloads declared = baton.core.disk.SlotWorkloads.NONE;
    private long wallMillis;
    private final CopyState[] copies = {new CopyState(), new CopyState()};
    private final SlotWatch[] peers;

    // The read cycle being collected.
    private long readCycle = -1;
    private long readIssuedNanos;
    private final byte[][] areas = new byte[2][];
    private final String[] readErrors = new String[2];
    private final boolean[] resolved = {true, true};

    private long leaveNanos;
    private long cycles, writeFailures, readFailures, repairs, repairFailures, regressions;

    /**
     * @param watchedSlots slots 1..watchedSlots are judged (the configured node ids); the disk
     *                     may hold more for nodes added later
     */
    public DiskLiveness(int selfId, DiskHeader expected, SlotCodec codec, Timeouts timeouts, long incarnation, int watchedSlots) {
        if (watchedSlots < 1 || watchedSlots > expected.slotCount()) {
            throw new IllegalArgumentException(watchedSlots + " watched slots on a disk of " + expected.slotCount() + " slots");
        }
        if (selfId < 1 || selfId > watchedSlots) {
            throw new IllegalArgumentException("node id " + selfId + " outside the watched slots 1.." + watchedSlots);
        }
        this.selfId = selfId;
        this.expected = expected;
        this.codec = codec;
        this.timeouts = timeouts;
        this.incarnation = incarnation;
        this.peers = new SlotWatch[watchedSlots + 1];
        for (int i = 1; i < peers.length; i++) {
            peers[i] = new SlotWatch();
        }
    }

    /** A new incarnation: larger than the previous one and, when the disk held none, the wall clock. */
    public static long nextIncarnation(long previous, long wallEpochMillis) {
        return Math.max(previous + 1, wallEpochMillis);
    }

    public long incarnation() {
        return incarnation;
    }

    public Phase phase() {
        return phase;
    }

    public List<DiskEffect> step(DiskInput input) {
        List<DiskEffect> out = new ArrayList<>();
        if (phase == Phase.STOPPED) {
            return out;
        }
        switch (input) {
            case DiskInput.Tick t -> onTick(t, out);
            case DiskInput.WriteDone w -> onWriteDone(w, out);
            case DiskInput.ReadDone r -> onReadDone(r, out);
            case DiskInput.RepairDone r -> onRepairDone(r, out);
            case DiskInput.LeaveRequested l -> onLeaveRequested(l, out);
        }
        return out;
    }

    private void onTick(DiskInput.Tick t, List<DiskEffect> out) {
        long now = t.nowNanos();
        wallMillis = t.wallEpochMillis();
        if (!started) {
            started = true;
            startNanos = now;
            nextCycleNanos = now;
        }
        for (Copy c : Copy.values()) {
            CopyState s = copies[c.ordinal()];
            if (s.writeCycle >= 0 && now - s.writeIssuedNanos >= timeouts.ioTimeoutNanos() && s.writeError == null) {
                s.writeError = "write outstanding for more than " + timeouts.ioTimeoutMillis() + " ms";
                writeFailures++;
            }
            if (readCycle >= 0 && !resolved[c.ordinal()] && now - readIssuedNanos >= timeouts.ioTimeoutNanos()) {
                resolveRead(c, null, "read outstanding for more than " + timeouts.ioTimeoutMillis() + " ms", now, out);
            }
        }
        if (phase == Phase.STOPPED) {
            return;
        }
        if (phase != Phase.LEAVING && now - nextCycleNanos >= 0) {
            startCycle(now, out);
            // A late tick (the process was paused) starts one cycle, not a burst of them.
            nextCycleNanos = Math.max(nextCycleNanos + timeouts.diskIntervalNanos(), now + 1);
        }
        afterChange(now, out);
    }

    private void startCycle(long now, List<DiskEffect> out) {
        cycles++;
        cycle++;
        counter++;
        for (Copy c : Copy.values()) {
            writeSlot(c, now, out);
        }
        if (phase == Phase.LEAVING) {
            return;
        }
        // A read of the previous cycle that is late but within the I/O timeout is waited for:
        // skip this cycle's reads (a slow read is no failure; the tick fails it at the timeout).
        if (!resolved[0] || !resolved[1]) {
            return;
        }
        readCycle = cycle;
        readIssuedNanos = now;
        for (Copy c : Copy.values()) {
            CopyState s = copies[c.ordinal()];
            areas[c.ordinal()] = null;
            readErrors[c.ordinal()] = null;
            s.confirmedBeforeRead = s.everWritten && s.writeError == null;
            s.confirmedCounter = s.lastWriteOkCounter;
            if (s.readCycle >= 0) {
                resolved[c.ordinal()] = true;
                readErrors[c.ordinal()] = "an earlier read is still outstanding";
                readFailures++;
            } else {
                resolved[c.ordinal()] = false;
                s.readCycle = cycle;
                out.add(new DiskEffect.ReadArea(c, cycle, areaBytes()));
            }
        }
    }

    /**
     * What the next slot writes declare about this node's workloads; the shell calls it whenever
     * that changes. A declaration reaches the disk with the next write of each copy.
     */
    public void declare(baton.core.disk.SlotWorkloads workloads) {
        declared = java.util.Objects.requireNonNull(workloads, "workloads");
    }

    public baton.core.disk.SlotWorkloads declared() {
        return declared;
    }

    /** Writes the current slot to {@code c} unless a write is outstanding there (one at a time per copy). */
    private void writeSlot(Copy c, long now, List<DiskEffect> out) {
        CopyState s = copies[c.ordinal()];
        if (s.writeCycle >= 0) {
            return;
        }
        SlotState state = switch (phase) {
            case JOINING -> SlotState.JOINING;
            case MEMBER -> SlotState.MEMBER;
            case LEAVING, STOPPED -> SlotState.LEFT;
        };
        int flags = degraded() ? Slot.FLAG_DEGRADED_DISK : 0;
        s.writeCycle = cycle;
        s.writeIssuedNanos = now;
        s.writeCounter = counter;
        s.leftIssued = phase == Phase.LEAVING;
        out.add(new DiskEffect.WriteSlot(c, cycle, codec.encode(new Slot(selfId, incarnation, counter, wallMillis, state, flags, declared))));
    }

    private void onWriteDone(DiskInput.WriteDone w, List<DiskEffect> out) {
        CopyState s = copies[w.copy().ordinal()];
        if (w.cycle() != s.writeCycle) {
            return; // not ours to track (cannot happen with one write outstanding per copy)
        }
        s.writeCycle = -1;
        if (w.error() == null) {
            s.everWritten = true;
            s.lastWriteOkCounter = s.writeCounter;
            s.writeError = null;
            if (s.headerError == null) {
                s.lastWritableNanos = w.nowNanos();
            }
        } else {
            if (s.writeError == null) {
                writeFailures++;
            }
            s.writeError = w.error();
        }
        afterChange(w.nowNanos(), out);
    }

    private void onReadDone(DiskInput.ReadDone r, List<DiskEffect> out) {
        CopyState s = copies[r.copy().ordinal()];
        if (s.readCycle == r.cycle()) {
            s.readCycle = -1;
        }
        if (r.cycle() == readCycle && !resolved[r.copy().ordinal()]) {
            resolveRead(r.copy(), r.area(), r.error(), r.nowNanos(), out);
        }
        afterChange(r.nowNanos(), out);
    }

    private void onRepairDone(DiskInput.RepairDone r, List<DiskEffect> out) {
        copies[r.copy().ordinal()].repairOutstanding[r.nodeId()] = false;
        if (r.error() == null) {
            repairs++;
            out.add(new DiskEffect.Report(new DiskEvent.SlotRepaired(r.copy(), r.nodeId(), "rewritten from the " + r.copy().other().label())));
        } else {
            repairFailures++;
            out.add(new DiskEffect.Report(new DiskEvent.RepairFailed(r.copy(), r.nodeId(), r.error())));
        }
    }

    private void onLeaveRequested(DiskInput.LeaveRequested l, List<DiskEffect> out) {
        if (phase == Phase.LEAVING) {
            return;
        }
        wallMillis = l.wallEpochMillis();
        phase = Phase.LEAVING;
        leaveNanos = l.nowNanos();
        out.add(new DiskEffect.Report(new DiskEvent.Leaving(ExitReason.LEFT, "leave requested")));
        startCycle(l.nowNanos(), out);
        afterChange(l.nowNanos(), out);
    }

    private void resolveRead(Copy c, byte[] area, String error, long now, List<DiskEffect> out) {
        int i = c.ordinal();
        resolved[i] = true;
        areas[i] = area;
        readErrors[i] = error;
        if (area == null) {
            readFailures++;
        }
        if (resolved[0] && resolved[1]) {
            processReadCycle(now, out);
        }
    }

    /** Both copies of the current read cycle are in (or failed): reconcile every slot. */
    private void processReadCycle(long now, List<DiskEffect> out) {
        String[] copyProblem = new String[2];
        for (Copy c : Copy.values()) {
            int i = c.ordinal();
            CopyState s = copies[i];
            if (areas[i] == null) {
                s.readError = readErrors[i] == null ? "read failed" : readErrors[i];
                copyProblem[i] = "unreadable (" + s.readError + ")";
                continue;
            }
            if (areas[i].length < areaBytes()) {
                throw new IllegalArgumentException("read area of " + areas[i].length + " bytes");
            }
            s.readError = null;
            HeaderRead h = HeaderCodec.decode(areas[i], 0);
            if (h instanceof HeaderRead.Valid v && v.header().sameDisk(expected) && v.header().copy() == c) {
                s.headerError = null;
            } else {
                s.headerError = h instanceof HeaderRead.Valid v
                        ? "header of another disk or copy (" + v.header() + ")"
                        : h.describe();
                copyProblem[i] = "header " + s.headerError;
                areas[i] = null;
            }
        }
        if (areas[0] == null && areas[1] == null) {
            for (int id = 1; id < peers.length; id++) {
                report(id, peers[id].blind("this node reads neither copy: primary " + copyProblem[0]
                        + ", shadow " + copyProblem[1]), out);
            }
            return;
        }
        for (int id = 1; id < peers.length; id++) {
            SlotRead p = decode(Copy.PRIMARY, id, copyProblem);
            SlotRead sh = decode(Copy.SHADOW, id, copyProblem);
            Reconcile.Result r = Reconcile.slot(p, sh);
            if (id == selfId) {
                checkOwnSlot(p, sh, r, out);
                if (phase == Phase.STOPPED) {
                    return;
                }
            } else if (r.repairTarget() != null) {
                repair(r, id, r.repairTarget() == Copy.PRIMARY ? p : sh, out);
            }
            report(id, peers[id].observe(r, p.describe(), sh.describe(), readIssuedNanos, now, timeouts.diskTimeoutNanos()), out);
        }
    }

    private void report(int id, SlotWatch.Observation o, List<DiskEffect> out) {
        if (o.regressed()) {
            regressions++;
            out.add(new DiskEffect.Report(new DiskEvent.CounterRegressed(id, o.regressedTo().incarnation(),
                    o.regressedTo().counter(), peers[id].slot().counter())));
        }
        if (o.changed()) {
            out.add(new DiskEffect.Report(new DiskEvent.LivenessChanged(id, o.from(), o.to(), o.evidence())));
        }
    }

    private SlotRead decode(Copy c, int nodeId, String[] copyProblem) {
        byte[] area = areas[c.ordinal()];
        if (area == null) {
            return new SlotRead.Unreadable(copyProblem[c.ordinal()]);
        }
        return codec.decode(area, (int) DiskLayout.slotOffsetBytes(nodeId), nodeId);
    }

    private void repair(Reconcile.Result r, int nodeId, SlotRead bad, List<DiskEffect> out) {
        CopyState target = copies[r.repairTarget().ordinal()];
        if (target.repairOutstanding[nodeId]) {
            return;
        }
        target.repairOutstanding[nodeId] = true;
        out.add(new DiskEffect.RepairSlot(r.repairTarget(), nodeId, codec.encode(r.slot()),
                r.repairTarget().label() + " slot " + bad.describe()));
    }

    /** Join proof per copy, and the check that no other daemon writes this node's slot. */
    private void checkOwnSlot(SlotRead p, SlotRead s, Reconcile.Result r, List<DiskEffect> out) {
        SlotRead[] reads = {p, s};
        for (Copy c : Copy.values()) {
            CopyState cs = copies[c.ordinal()];
            // Proof of a copy: a write had completed when this read was issued, and the read
            // shows that write (or a later one) of this incarnation.
            if (cs.proven || !cs.confirmedBeforeRead || cs.writeError != null) {
                continue;
            }
            if (reads[c.ordinal()] instanceof SlotRead.Valid v && v.slot().incarnation() == incarnation
                    && v.slot().counter() - cs.confirmedCounter >= 0) {
                cs.proven = true;
            }
        }
        if (r.slot() != null && Long.compareUnsigned(r.slot().incarnation(), incarnation) > 0) {
            String detail = "slot of node " + selfId + " is written by incarnation " + r.slot().incarnation()
                    + ", newer than this daemon's " + incarnation + ": another daemon runs with this node id";
            stop(ExitReason.DUPLICATE_NODE, detail, out);
        }
    }

    /** After every input: health alarms, the join rule, the leave rule. */
    private void afterChange(long now, List<DiskEffect> out) {
        if (phase == Phase.STOPPED) {
            return;
        }
        for (Copy c : Copy.values()) {
            CopyState s = copies[c.ordinal()];
            boolean healthy = s.problem() == null;
            // While joining, the join's own outcome reports the copies (a refusal names both).
            if (healthy != s.reportedHealthy && phase == Phase.MEMBER) {
                s.reportedHealthy = healthy;
                out.add(new DiskEffect.Report(new DiskEvent.CopyHealth(c, healthy,
                        healthy ? "working again" : s.problem(), degraded())));
            }
        }
        switch (phase) {
            case JOINING -> {
                if (copies[0].proven || copies[1].proven) {
                    phase = Phase.MEMBER;
                    String proven = (copies[0].proven ? "primary" : "") + (copies[0].proven && copies[1].proven ? "," : "")
                            + (copies[1].proven ? "shadow" : "");
                    out.add(new DiskEffect.Report(new DiskEvent.Joined(incarnation, proven)));
                } else if (now - startNanos >= timeouts.joinTimeoutNanos()) {
                    stop(ExitReason.JOIN_REFUSED, "could not write and read back its slot on either copy within "
                            + timeouts.joinTimeoutMillis() + " ms: primary " + describe(Copy.PRIMARY)
                            + "; shadow " + describe(Copy.SHADOW), out);
                }
            }
            case MEMBER -> {
                CopyState p = copies[0], s = copies[1];
                if (!p.writable() && !s.writable()) {
                    long lastWritable = Math.max(p.lastWritableNanos, s.lastWritableNanos);
                    if (now - lastWritable >= timeouts.diskTimeoutNanos()) {
                        stop(ExitReason.LOST_DISK, "could write neither copy for " + millis(now - lastWritable)
                                + " ms (disk timeout " + timeouts.diskTimeoutMillis() + " ms): primary "
                                + describe(Copy.PRIMARY) + "; shadow " + describe(Copy.SHADOW), out);
                    }
                }
            }
            case LEAVING -> {
                // The final write of the slot in state LEFT goes to each copy as soon as its
                // outstanding write (if any) is done; then the node may exit.
                for (Copy c : Copy.values()) {
                    if (!copies[c.ordinal()].leftIssued) {
                        writeSlot(c, now, out);
                    }
                }
                boolean written = copies[0].leftIssued && copies[1].leftIssued
                        && copies[0].writeCycle < 0 && copies[1].writeCycle < 0;
                if (written) {
                    stop(ExitReason.LEFT, "left cleanly", out);
                } else if (now - leaveNanos >= timeouts.ioTimeoutNanos()) {
                    stop(ExitReason.LEFT, "left; the final slot write did not complete on every copy", out);
                }
            }
            case STOPPED -> { }
        }
    }

    private String describe(Copy c) {
        String p = copies[c.ordinal()].problem();
        return p == null ? "ok" : p;
    }

    private void stop(ExitReason reason, String detail, List<DiskEffect> out) {
        if (reason != ExitReason.LEFT) {
            out.add(new DiskEffect.Report(new DiskEvent.Leaving(reason, detail)));
        }
        out.add(new DiskEffect.Exit(reason, detail));
        phase = Phase.STOPPED;
    }

    /** The header and the watched slots: one read per copy per interval, only as large as the cluster. */
    private int areaBytes() {
        return (peers.length) * DiskLayout.BLOCK_SIZE_BYTES;
    }

    private boolean degraded() {
        return (copies[0].problem() == null) != (copies[1].problem() == null);
    }

    private static long millis(long nanos) {
        return nanos / 1_000_000L;
    }

    public List<NodeView> view() {
        List<NodeView> v = new ArrayList<>();
        for (int id = 1; id < peers.length; id++) {
            SlotWatch p = peers[id];
            v.add(new NodeView(id, p.liveness(), p.slot(), p.unchangedNanos(), p.evidence(), p.verdict(), p.primary(), p.shadow()));
        }
        return v;
    }

    public Stats stats() {
        return new Stats(cycles, writeFailures, readFailures, repairs, repairFailures, regressions,
                copies[0].problem() == null, copies[1].problem() == null);
    }
}
