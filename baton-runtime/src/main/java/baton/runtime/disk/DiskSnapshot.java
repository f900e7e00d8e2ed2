package baton.runtime.disk;

import baton.core.disk.Copy;
import baton.core.disk.DiskLayout;
import baton.core.disk.HeaderCodec;
import baton.core.disk.HeaderRead;
import baton.core.disk.Reconcile;
import baton.core.disk.SlotCodec;
import baton.core.disk.SlotRead;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * One read of both copies of the quorum disk, decoded: what {@code baton disk inspect},
 * {@code disk check} and {@code status} show. Reading only; repairs are the node daemons' job.
 *
 * @param issuedNanos    monotonic time when the reads were issued
 * @param completedNanos monotonic time when both had completed
 */
public record DiskSnapshot(HeaderRead primaryHeader, HeaderRead shadowHeader, List<SlotPair> slots,
                           long issuedNanos, long completedNanos) {

    /** Both copies of one node's slot and what a reader makes of them. */
    public record SlotPair(int nodeId, SlotRead primary, SlotRead shadow, Reconcile.Result reconciled) {}

    public HeaderRead header(Copy c) {
        return c == Copy.PRIMARY ? primaryHeader : shadowHeader;
    }

    /** Reads the header and slots 1..{@code slotCount} of both copies. */
    public static DiskSnapshot take(QuorumDisk disk, SlotCodec codec, int slotCount) {
        long issued = System.nanoTime();
        byte[][] areas = new byte[2][];
        String[] errors = new String[2];
        for (Copy c : Copy.values()) {
            DiskCopy d = disk.copy(c);
            if (d == null) {
                errors[c.ordinal()] = "could not be opened";
                continue;
            }
            try {
                areas[c.ordinal()] = d.read(0, DiskLayout.LIVENESS_AREA_BYTES);
            } catch (IOException e) {
                errors[c.ordinal()] = e.getMessage();
            }
        }
        long completed = System.nanoTime();
        HeaderRead[] headers = new HeaderRead[2];
        for (Copy c : Copy.values()) {
            byte[] a = areas[c.ordinal()];
            headers[c.ordinal()] = a == null ? new HeaderRead.Unreadable(errors[c.ordinal()]) : HeaderCodec.decode(a, 0);
        }
        List<SlotPair> slots = new ArrayList<>();
        for (int id = 1; id <= slotCount; id++) {
            SlotRead[] r = new SlotRead[2];
            for (Copy c : Copy.values()) {
                byte[] a = areas[c.ordinal()];
                if (a == null) {
                    r[c.ordinal()] = new SlotRead.Unreadable(errors[c.ordinal()]);
                } else if (!(headers[c.ordinal()] instanceof HeaderRead.Valid)) {
                    r[c.ordinal()] = new SlotRead.Unreadable("header " + headers[c.ordinal()].describe());
                } else {
                    r[c.ordinal()] = codec.decode(a, (int) DiskLayout.slotOffsetBytes(id), id);
                }
            }
            slots.add(new SlotPair(id, r[0], r[1], Reconcile.slot(r[0], r[1])));
        }
        return new DiskSnapshot(headers[0], headers[1], slots, issued, completed);
    }
}
