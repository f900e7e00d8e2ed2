package baton.core.disk;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.UUID;

/**
 * Encodes and decodes the header block. All integers are big-endian.
 *
 * <pre>
 * offset size field
 *      0    8 magic "BATONQD" followed by one zero byte
 *      8    4 format version (1)
 *     12    4 copy: 0 primary, 1 shadow
 *     16   16 cluster id (UUID, most significant half first)
 *     32   64 cluster name, UTF-8, zero-padded (at most 63 bytes)
 *     96    4 block size in bytes (4096)
 *    100    4 slot count (highest node id the disk holds, 1..32)
 *    104    4 region size in blocks (256)
 *    108    4 reserved, zero
 *    112    8 creation time, milliseconds since the epoch (for humans)
 *    120    8 cluster key fingerprint
 *    128  124 reserved, zero
 *    252    4 CRC32C of bytes 0..251
 *    256 3840 zero
 * </pre>
 */
public final class HeaderCodec {
    private HeaderCodec() {}

    static final byte[] MAGIC = {'B', 'A', 'T', 'O', 'N', 'Q', 'D', 0};
    public static final int NAME_BYTES = 64;
    static final int CRC_OFFSET = 252;

    public static byte[] encode(DiskHeader h) {
        byte[] nameBytes = h.clusterName().getBytes(StandardCharsets.UTF_8);
        if (nameBytes.length >= NAME_BYTES) {
            throw new IllegalArgumentException("cluster name longer than " + (NAME_BYTES - 1) + " bytes");
        }
        ByteBuffer b = ByteBuffer.allocate(DiskLayout.BLOCK_SIZE_BYTES);
        b.put(MAGIC);
        b.putInt(h.formatVersion());
        b.putInt(h.copy().ordinal());
        b.putLong(h.clusterId().getMostSignificantBits());
        b.putLong(h.clusterId().getLeastSignificantBits());
        b.put(nameBytes);
        b.position(96);
        b.putInt(h.blockSizeBytes());
        b.putInt(h.slotCount());
        b.putInt(h.regionBlocks());
        b.putInt(0);
        b.putLong(h.createdEpochMillis());
        b.put(h.keyFingerprint());
        byte[] out = b.array();
        ByteBuffer.wrap(out).putInt(CRC_OFFSET, BlockBytes.crc32c(out, 0, CRC_OFFSET));
        // Paired assertion: what we write must decode to what we meant.
        if (!(decode(out, 0) instanceof HeaderRead.Valid v) || !v.header().equals(h)) {
            throw new IllegalStateException("header does not survive its own codec: " + h);
        }
        return out;
    }

    /** Decodes the header block at {@code data[offset, offset + 4096)}. */
    public static HeaderRead decode(byte[] data, int offset) {
        if (BlockBytes.allZero(data, offset, DiskLayout.BLOCK_SIZE_BYTES)) {
            return new HeaderRead.Blank();
        }
        ByteBuffer b = ByteBuffer.wrap(data, offset, DiskLayout.BLOCK_SIZE_BYTES).slice();
        for (int i = 0; i < MAGIC.length; i++) {
            if (b.get(i) != MAGIC[i]) {
                return new HeaderRead.NotBaton("no Baton magic at the start of the copy");
            }
        }
        int version = b.getInt(8);
        if (version != DiskLayout.FORMAT_VERSION) {
            return new HeaderRead.UnknownVersion(version);
        }
        int stored = b.getInt(CRC_OFFSET);
        int computed = BlockBytes.crc32c(data, offset, CRC_OFFSET);
        if (stored != computed) {
            return new HeaderRead.Corrupt(String.format("header checksum mismatch (stored %08x, computed %08x)", stored, computed));
        }
        int copyIndex = b.getInt(12);
        if (copyIndex != 0 && copyIndex != 1) {
            return new HeaderRead.Corrupt("copy index " + copyIndex);
        }
        UUID id = new UUID(b.getLong(16), b.getLong(24));
        int nameLength = 0;
        while (nameLength < NAME_BYTES && b.get(32 + nameLength) != 0) {
            nameLength++;
        }
        if (nameLength == 0 || nameLength == NAME_BYTES) {
            return new HeaderRead.Corrupt("cluster name field is empty or unterminated");
        }
        String name = new String(data, offset + 32, nameLength, StandardCharsets.UTF_8);
        int blockSize = b.getInt(96);
        int slotCount = b.getInt(100);
        int regionBlocks = b.getInt(104);
        if (blockSize != DiskLayout.BLOCK_SIZE_BYTES || regionBlocks != DiskLayout.REGION_BLOCKS
                || slotCount < 1 || slotCount > DiskLayout.MAX_NODES) {
            return new HeaderRead.Corrupt("geometry block=" + blockSize + " slots=" + slotCount + " region=" + regionBlocks);
        }
        long created = b.getLong(112);
        byte[] fingerprint = new byte[8];
        b.get(120, fingerprint);
        return new HeaderRead.Valid(new DiskHeader(version, Copy.values()[copyIndex], id, name, blockSize, slotCount,
                regionBlocks, created, fingerprint));
    }
}
