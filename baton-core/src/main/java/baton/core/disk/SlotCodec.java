package baton.core.disk;

import java.nio.ByteBuffer;
import java.util.UUID;

/**
 * Encodes and decodes one slot block. All integers are big-endian. Everything that matters
 * lies in the first 228 bytes, inside one 512-byte sector, so a torn write of the 4096-byte
 * block either leaves the old slot intact or fails the checksum.
 *
 * <pre>
 * offset size field
 *      0    4 magic "BSLT"
 *      4    2 slot format version (3)
 *      6    2 node id (1..32); must equal the slot's position
 *      8   16 cluster id; must equal the header's
 *     24    8 incarnation
 *     32    8 counter
 *     40    8 writer's wall clock, ms since the epoch
 *     48    1 state (1 joining, 2 member, 3 leaving, 4 left)
 *     49    1 flags (bit 0: the writer's quorum disk is degraded)
 *     50    6 reserved, zero
 *     56    8 acknowledged workload table version (0 none)
 *     64   32 active workloads: bit (id - 1) of byte (id - 1) / 8, LSB first
 *     96   32 workloads failed out here past their restart limit, same bit order
 *    128   64 migrations: 8 entries of 8 bytes (workload id u16, 0 for an unused entry; phase u8; failure u8;
 *                attempt u32), used entries first
 *    192   32 HMAC-SHA-256 with the cluster key over bytes 0..191
 *    224    4 CRC32C of bytes 0..223
 *    228 3868 zero
 * </pre>
 *
 * The CRC tells a damaged block (bit flip, torn write) from a wrong key or a forgery (the MAC):
 * operators need to know which.
 */
public final class SlotCodec {
    static final byte[] MAGIC = {'B', 'S', 'L', 'T'};
    static final int VERSION = 3;
    static final int MIGRATIONS_OFFSET = 128;
    static final int MAC_OFFSET = 192;
    static final int USED_BYTES = 228;
    private static final int SET_BYTES = SlotWorkloads.BITS / 8;

    private final UUID clusterId;
    private final ClusterKey key;

    public SlotCodec(UUID clusterId, ClusterKey key) {
        this.clusterId = clusterId;
        this.key = key;
    }

    public byte[] encode(Slot s) {
        ByteBuffer b = SealedBlock.start(MAGIC, VERSION, s.nodeId(), clusterId);
        b.putLong(s.incarnation());
        b.putLong(s.counter());
        b.putLong(s.wallEpochMillis());
        b.put((byte) s.state().code);
        b.put((byte) s.flags());
        b.position(56);
        b.putLong(s.workloads().acknowledgedTable());
        putSet(b, s.workloads().active());
        putSet(b, s.workloads().failedOut());
        for (SlotWorkloads.Migration m : s.workloads().migrations()) {
            b.putShort((short) m.workloadId());
            b.put((byte) m.phase().code);
            b.put((byte) m.failure().code);
            b.putInt(m.attempt());
        }
        byte[] out = SealedBlock.seal(b, key, MAC_OFFSET);
        // Paired assertion: the block we hand to the disk must read back as this slot.
        if (!(decode(out, 0, s.nodeId()) instanceof SlotRead.Valid v) || !v.slot().equals(s)) {
            throw new IllegalStateException("slot does not survive its own codec: " + s);
        }
        return out;
    }

    /** Decodes the slot block at {@code data[offset, offset+4096)}, expected to belong to {@code nodeId}. */
    public SlotRead decode(byte[] data, int offset, int nodeId) {
        return switch (SealedBlock.open(data, offset, key, clusterId, MAGIC, VERSION, nodeId, MAC_OFFSET, "slot")) {
            case SealedBlock.Opened.Empty e -> new SlotRead.Empty();
            case SealedBlock.Opened.Bad bad -> new SlotRead.Invalid(bad.problem(), bad.detail());
            case SealedBlock.Opened.Ok ok -> {
                ByteBuffer b = ok.fields();
                SlotState state = SlotState.ofCode(b.get(48) & 0xff);
                if (b.getInt(50) != 0 || b.getShort(54) != 0) {
                    yield new SlotRead.Invalid(SlotRead.Problem.FORMAT, "reserved bytes not zero");
                }
                yield state == null
                        ? new SlotRead.Invalid(SlotRead.Problem.FORMAT, "unknown state " + (b.get(48) & 0xff))
                        : workloads(b).<SlotRead>map(w -> new SlotRead.Valid(new Slot(b.getShort(6) & 0xffff, b.getLong(24),
                                b.getLong(32), b.getLong(40), state, b.get(49) & 0xff, w)))
                        .orElse(new SlotRead.Invalid(SlotRead.Problem.FORMAT, "workload fields out of range"));
            }
        };
    }

    private static void putSet(java.nio.ByteBuffer b, java.util.BitSet set) {
        // The set's bit i is workload i (bit 0 unused); on the disk bit (id - 1) is the id's.
        b.put(java.util.Arrays.copyOf(set.get(1, SlotWorkloads.BITS + 1).toByteArray(), SET_BYTES));
    }

    private static java.util.BitSet getSet(java.nio.ByteBuffer b, int at) {
        byte[] bytes = new byte[SET_BYTES];
        b.get(at, bytes);
        java.util.BitSet shifted = new java.util.BitSet();
        java.util.BitSet.valueOf(bytes).stream().forEach(i -> shifted.set(i + 1));
        return shifted;
    }

    private static java.util.Optional<SlotWorkloads> workloads(java.nio.ByteBuffer b) {
        try {
            java.util.List<SlotWorkloads.Migration> migrations = new java.util.ArrayList<>();
            boolean ended = false;
            for (int i = 0; i < SlotWorkloads.MAX_MIGRATIONS; i++) {
                int at = MIGRATIONS_OFFSET + 8 * i;
                int id = b.getShort(at) & 0xffff;
                if (id == 0) {
                    ended = true;
                    if (b.getLong(at) != 0) {
                        return java.util.Optional.empty();
                    }
                    continue;
                }
                SlotWorkloads.Phase phase = SlotWorkloads.Phase.ofCode(b.get(at + 2) & 0xff);
                SlotWorkloads.Failure failure = SlotWorkloads.Failure.ofCode(b.get(at + 3) & 0xff);
                if (ended || phase == null || failure == null) {
                    return java.util.Optional.empty();
                }
                migrations.add(new SlotWorkloads.Migration(id, b.getInt(at + 4), phase, failure));
            }
            return java.util.Optional.of(new SlotWorkloads(b.getLong(56), getSet(b, 64), getSet(b, 96), migrations));
        } catch (IllegalArgumentException e) {
            return java.util.Optional.empty();
        }
    }
}
