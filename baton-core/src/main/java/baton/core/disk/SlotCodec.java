package baton.core.disk;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.UUID;

/**
 * Encodes and decodes one slot block. All integers are big-endian. Everything that matters
 * lies in the first 100 bytes, inside one 512-byte sector, so a torn write of the 4096-byte
 * block either leaves the old slot intact or fails the checksum.
 *
 * <pre>
 * offset size field
 *      0    4 magic "BSLT"
 *      4    2 slot format version (1)
 *      6    2 node id (1..32); must equal the slot's position
 *      8   16 cluster id; must equal the header's
 *     24    8 incarnation
 *     32    8 counter
 *     40    8 writer's wall clock, ms since the epoch
 *     48    1 state (1 joining, 2 member, 3 leaving, 4 left)
 *     49    1 flags (bit 0: the writer's quorum disk is degraded)
 *     50   14 reserved, zero
 *     64   32 HMAC-SHA-256 with the cluster key over bytes 0..63
 *     96    4 CRC32C of bytes 0..95
 *    100 3996 zero
 * </pre>
 *
 * The CRC tells a damaged block (bit flip, torn write) from a wrong key or a forgery (the MAC):
 * operators need to know which.
 */
public final class SlotCodec {
    static final byte[] MAGIC = {'B', 'S', 'L', 'T'};
    static final int VERSION = 1;
    static final int MAC_OFFSET = 64;
    static final int CRC_OFFSET = 96;
    static final int USED_BYTES = 100;

    private final UUID clusterId;
    private final ClusterKey key;

    public SlotCodec(UUID clusterId, ClusterKey key) {
        this.clusterId = clusterId;
        this.key = key;
    }

    public byte[] encode(Slot s) {
        ByteBuffer b = ByteBuffer.allocate(DiskLayout.BLOCK_SIZE_BYTES);
        b.put(MAGIC);
        b.putShort((short) VERSION);
        b.putShort((short) s.nodeId());
        b.putLong(clusterId.getMostSignificantBits());
        b.putLong(clusterId.getLeastSignificantBits());
        b.putLong(s.incarnation());
        b.putLong(s.counter());
        b.putLong(s.wallEpochMillis());
        b.put((byte) s.state().code);
        b.put((byte) s.flags());
        byte[] out = b.array();
        System.arraycopy(key.mac(out, 0, MAC_OFFSET), 0, out, MAC_OFFSET, ClusterKey.MAC_BYTES);
        ByteBuffer.wrap(out).putInt(CRC_OFFSET, BlockBytes.crc32c(out, 0, CRC_OFFSET));
        // Paired assertion: the block we hand to the disk must read back as this slot.
        if (!(decode(out, 0, s.nodeId()) instanceof SlotRead.Valid v) || !v.slot().equals(s)) {
            throw new IllegalStateException("slot does not survive its own codec: " + s);
        }
        return out;
    }

    /** Decodes the slot block at {@code data[offset, offset+4096)}, expected to belong to {@code nodeId}. */
    public SlotRead decode(byte[] data, int offset, int nodeId) {
        if (BlockBytes.allZero(data, offset, USED_BYTES)) {
            return new SlotRead.Empty();
        }
        ByteBuffer b = ByteBuffer.wrap(data, offset, DiskLayout.BLOCK_SIZE_BYTES).slice();
        int stored = b.getInt(CRC_OFFSET);
        int computed = BlockBytes.crc32c(data, offset, CRC_OFFSET);
        if (stored != computed) {
            return new SlotRead.Invalid(SlotRead.Problem.CHECKSUM,
                    String.format("checksum mismatch (stored %08x, computed %08x): damaged or torn write", stored, computed));
        }
        if (!Arrays.equals(data, offset, offset + 4, MAGIC, 0, 4)) {
            return new SlotRead.Invalid(SlotRead.Problem.FORMAT, "no slot magic");
        }
        int version = b.getShort(4) & 0xffff;
        if (version != VERSION) {
            return new SlotRead.Invalid(SlotRead.Problem.FORMAT, "unknown slot format version " + version);
        }
        byte[] mac = Arrays.copyOfRange(data, offset + MAC_OFFSET, offset + MAC_OFFSET + ClusterKey.MAC_BYTES);
        if (!key.verify(data, offset, MAC_OFFSET, mac)) {
            return new SlotRead.Invalid(SlotRead.Problem.MAC, "MAC mismatch: written with another cluster key, or forged");
        }
        int slotNode = b.getShort(6) & 0xffff;
        UUID slotCluster = new UUID(b.getLong(8), b.getLong(16));
        if (!slotCluster.equals(clusterId)) {
            return new SlotRead.Invalid(SlotRead.Problem.MISPLACED, "slot of cluster " + slotCluster);
        }
        if (slotNode != nodeId) {
            return new SlotRead.Invalid(SlotRead.Problem.MISPLACED, "slot of node " + slotNode + " in the place of node " + nodeId);
        }
        SlotState state = SlotState.ofCode(b.get(48) & 0xff);
        if (state == null) {
            return new SlotRead.Invalid(SlotRead.Problem.FORMAT, "unknown state " + (b.get(48) & 0xff));
        }
        return new SlotRead.Valid(new Slot(slotNode, b.getLong(24), b.getLong(32), b.getLong(40), state, b.get(49) & 0xff));
    }
}
