package baton.core.disk;

import java.nio.ByteBuffer;
import java.util.UUID;

/**
 * Encodes and decodes one slot block. All integers are big-endian. Everything that matters
 * lies in the first 164 bytes, inside one 512-byte sector, so a torn write of the 4096-byte
 * block either leaves the old slot intact or fails the checksum.
 *
 * <pre>
 * offset size field
 *      0    4 magic "BSLT"
 *      4    2 slot format version (2)
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
 *    128   32 HMAC-SHA-256 with the cluster key over bytes 0..127
 *    160    4 CRC32C of bytes 0..159
 *    164 3932 zero
 * </pre>
 *
 * The CRC tells a damaged block (bit flip, torn write) from a wrong key or a forgery (the MAC):
 * operators need to know which.
 */
public final class SlotCodec {
    static final byte[] MAGIC = {'B', 'S', 'L', 'T'};
    static final int VERSION = 2;
    static final int MAC_OFFSET = 128;
    static final int USED_BYTES = 164;
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
            return java.util.Optional.of(new SlotWorkloads(b.getLong(56), getSet(b, 64), getSet(b, 96)));
        } catch (IllegalArgumentException e) {
            return java.util.Optional.empty();
        }
    }
}
