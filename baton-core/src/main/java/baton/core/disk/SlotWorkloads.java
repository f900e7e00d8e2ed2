package baton.core.disk;

import java.util.BitSet;
import java.util.Collection;
import java.util.List;

/**
 * What a node declares in its slot about workloads (docs/workloads.md): the owner table it has
 * carried out, what may run on it, and what failed on it past its restart limit. The coordinator
 * reads it to finish a planned move (the old owner stopped) and to relocate a failing workload.
 *
 * @param acknowledgedTable the newest owner table version whose orders this node carried out: nothing runs here that the
 *                          records of that version do not give it; 0 for none
 * @param active            workload ids (1..{@value DiskLayout#MAX_WORKLOADS}) starting, running or stopping here
 * @param failedOut         workload ids that failed here more often than their restart limit allows within its window
 */
public record SlotWorkloads(long acknowledgedTable, BitSet active, BitSet failedOut) {
    public static final SlotWorkloads NONE = new SlotWorkloads(0, new BitSet(), new BitSet());
    /** Bits in each set on the disk: ids 1..256 as bits 0..255. */
    public static final int BITS = 256;

    public SlotWorkloads {
        active = (BitSet) active.clone();
        failedOut = (BitSet) failedOut.clone();
        if (acknowledgedTable < 0 || active.nextSetBit(0) == 0 || failedOut.nextSetBit(0) == 0
                || active.length() > DiskLayout.MAX_WORKLOADS + 1 || failedOut.length() > DiskLayout.MAX_WORKLOADS + 1) {
            throw new IllegalArgumentException("slot workloads out of range: " + acknowledgedTable + " " + active + " " + failedOut);
        }
    }

    public static SlotWorkloads of(long acknowledgedTable, Collection<Integer> active, Collection<Integer> failedOut) {
        return new SlotWorkloads(acknowledgedTable, bits(active), bits(failedOut));
    }

    private static BitSet bits(Collection<Integer> ids) {
        BitSet b = new BitSet();
        ids.forEach(b::set);
        return b;
    }

    public boolean active(int id) {
        return active.get(id);
    }

    public boolean failedOut(int id) {
        return failedOut.get(id);
    }

    public List<Integer> activeIds() {
        return active.stream().boxed().toList();
    }

    public List<Integer> failedOutIds() {
        return failedOut.stream().boxed().toList();
    }

    @Override
    public BitSet active() {
        return (BitSet) active.clone();
    }

    @Override
    public BitSet failedOut() {
        return (BitSet) failedOut.clone();
    }
}
