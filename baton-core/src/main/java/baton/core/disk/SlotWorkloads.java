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
 * @param migrations        the migrations this node takes part in, as source or target, and how far each has come
 */
public record SlotWorkloads(long acknowledgedTable, BitSet active, BitSet failedOut, List<Migration> migrations) {
    public static final SlotWorkloads NONE = new SlotWorkloads(0, new BitSet(), new BitSet(), List.of());
    /** Bits in each set on the disk: ids 1..256 as bits 0..255. */
    public static final int BITS = 256;
    /** At most this many migrations per node at once, as source and target together (the slot's table). */
    public static final int MAX_MIGRATIONS = 8;

    /** How far a migration has come on one of its two nodes (docs/switchover.md). */
    public enum Phase {
        /** Source: the transfer runs; the VE still runs here. */
        SENDING(1),
        /** Source: the whole state went to the target (or the checkpoint file); the VE is paused here for good. */
        SENT(2),
        /** Target: a QEMU waits for the state. */
        RECEIVING(3),
        /** Target: the state arrived and the VE runs here. */
        RECEIVED(4),
        /** Either side: this attempt failed (see the failure); a source runs the VE again. */
        FAILED(5);

        public final int code;

        Phase(int code) {
            this.code = code;
        }

        public static Phase ofCode(int code) {
            for (Phase p : values()) {
                if (p.code == code) {
                    return p;
                }
            }
            return null;
        }
    }

    /** Why an attempt failed, for the owner record's reason; the node's log has the details. */
    public enum Failure {
        NONE(0, "none"),
        TARGET_UNREACHABLE(1, "the target did not accept the connection"),
        CONNECTION_LOST(2, "the connection between the nodes was lost"),
        DEADLINE(3, "the deadline passed"),
        CHECKPOINT_FILE(4, "the checkpoint file could not be written or read"),
        TARGET_FAILED(5, "the target QEMU failed"),
        SOURCE_FAILED(6, "the source QEMU failed"),
        CANCELLED(7, "it was called off");

        public final int code;
        public final String label;

        Failure(int code, String label) {
            this.code = code;
            this.label = label;
        }

        public static Failure ofCode(int code) {
            for (Failure f : values()) {
                if (f.code == code) {
                    return f;
                }
            }
            return null;
        }
    }

    /** One migration on this node: the workload, the attempt (the owner record's), where it stands, and why it failed. */
    public record Migration(int workloadId, int attempt, Phase phase, Failure failure) {
        public Migration {
            if (workloadId < 1 || workloadId > DiskLayout.MAX_WORKLOADS || attempt == 0 || phase == null || failure == null
                    || (phase == Phase.FAILED) == (failure == Failure.NONE)) {
                throw new IllegalArgumentException("malformed migration entry: workload " + workloadId + ", attempt " + attempt
                        + ", " + phase + ", " + failure);
            }
        }
    }

    public SlotWorkloads {
        active = (BitSet) active.clone();
        failedOut = (BitSet) failedOut.clone();
        migrations = List.copyOf(migrations);
        if (acknowledgedTable < 0 || active.nextSetBit(0) == 0 || failedOut.nextSetBit(0) == 0
                || active.length() > DiskLayout.MAX_WORKLOADS + 1 || failedOut.length() > DiskLayout.MAX_WORKLOADS + 1
                || migrations.size() > MAX_MIGRATIONS
                || migrations.stream().map(Migration::workloadId).distinct().count() != migrations.size()) {
            throw new IllegalArgumentException("slot workloads out of range: " + acknowledgedTable + " " + active + " " + failedOut
                    + " " + migrations);
        }
    }

    public SlotWorkloads(long acknowledgedTable, BitSet active, BitSet failedOut) {
        this(acknowledgedTable, active, failedOut, List.of());
    }

    public static SlotWorkloads of(long acknowledgedTable, Collection<Integer> active, Collection<Integer> failedOut) {
        return new SlotWorkloads(acknowledgedTable, bits(active), bits(failedOut));
    }

    public static SlotWorkloads of(long acknowledgedTable, Collection<Integer> active, Collection<Integer> failedOut,
                                   List<Migration> migrations) {
        return new SlotWorkloads(acknowledgedTable, bits(active), bits(failedOut), migrations);
    }

    /** This node's entry for {@code workloadId}'s migration attempt {@code attempt}, if it declares one. */
    public java.util.Optional<Migration> migration(int workloadId, int attempt) {
        return migrations.stream().filter(m -> m.workloadId() == workloadId && m.attempt() == attempt).findFirst();
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
