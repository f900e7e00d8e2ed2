package baton.core.workload;

import baton.core.disk.ClusterKey;
import baton.core.disk.DiskLayout;
import baton.core.disk.SealedBlock;
import java.nio.ByteBuffer;
import java.util.UUID;

/**
 * The coordinator's answer to the newest workload or node request of node {@code requesterId}
 * (docs/disk-format.md): written by the coordinator into that node's answer sector, read by the
 * {@code baton} command that waits for it, and by a new coordinator so that it does not carry
 * out a request twice.
 *
 * @param seq the request's seq
 * @param done carried out (the owner record or the node settings are written); false: refused, {@code text} says why
 */
public record OperatorAnswer(int requesterId, long seq, boolean done, long generation, long wallEpochMillis, String text) {
    public static final int MAX_TEXT_BYTES = 300;

    /**
     * One sector.
     *
     * <pre>
     * offset size field
     *      0    4 magic "BANS"
     *      4    2 format version (1)
     *      6    2 requester node id; must equal the sector's position
     *      8   16 cluster id
     *     24    8 request seq
     *     32    1 1 done, 2 refused
     *     33    7 reserved, zero
     *     40    8 coordinator lease generation
     *     48    8 writer's wall clock, ms since the epoch
     *     56  302 text: 2-byte length, up to 300 bytes UTF-8, zero-padded
     *    358    2 reserved, zero
     *    360   32 HMAC-SHA-256 over bytes 0..359
     *    392    4 CRC32C of bytes 0..391
     *    396  116 zero
     * </pre>
     */
    public static final class Codec {
        static final byte[] MAGIC = {'B', 'A', 'N', 'S'};
        static final int VERSION = 1;
        static final int MAC_OFFSET = 360;

        private final UUID clusterId;
        private final ClusterKey key;

        public Codec(UUID clusterId, ClusterKey key) {
            this.clusterId = clusterId;
            this.key = key;
        }

        public byte[] encode(OperatorAnswer a) {
            ByteBuffer b = SealedBlock.start(MAGIC, VERSION, a.requesterId(), clusterId, SealedBlock.SECTOR_BYTES);
            b.putLong(a.seq());
            b.put((byte) (a.done() ? 1 : 2));
            b.position(40);
            b.putLong(a.generation());
            b.putLong(a.wallEpochMillis());
            SealedBlock.putText(b, a.text(), MAX_TEXT_BYTES);
            return SealedBlock.seal(b, key, MAC_OFFSET);
        }

        /** The answer in the sector at {@code data[offset, offset + 512)}, or null when it is empty or invalid. */
        public OperatorAnswer decode(byte[] data, int offset, int requesterId) {
            if (!(SealedBlock.open(data, offset, SealedBlock.SECTOR_BYTES, key, clusterId, MAGIC, VERSION, requesterId, MAC_OFFSET,
                    "operator answer") instanceof SealedBlock.Opened.Ok ok)) {
                return null;
            }
            ByteBuffer b = ok.fields();
            int outcome = b.get(32) & 0xff;
            String text = SealedBlock.getText(b, 56, MAX_TEXT_BYTES);
            boolean reservedZero = b.get(33) == 0 && b.getShort(34) == 0 && b.getInt(36) == 0 && b.getShort(358) == 0;
            if ((outcome != 1 && outcome != 2) || text == null || !reservedZero) {
                return null;
            }
            return new OperatorAnswer(requesterId, b.getLong(24), outcome == 1, b.getLong(40), b.getLong(48), text);
        }

        /** Sectors per block of answers. */
        public static int perBlock() {
            return DiskLayout.BLOCK_SIZE_BYTES / SealedBlock.SECTOR_BYTES;
        }
    }
}
