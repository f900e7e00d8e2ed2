package baton.core.disk;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.UUID;

/**
 * The envelope shared by Baton's newer on-disk records (fence records, operator requests):
 * bytes 0..3 a magic, 4..5 a format version, 6..7 the node id the block belongs to, 8..23 the
 * cluster id; then the record's own fields; an HMAC-SHA-256 with the cluster key over
 * everything before it, and a CRC32C over everything before the CRC. Everything inside the
 * first 512-byte sector, so a torn write leaves the old record whole or fails the CRC. The
 * CRC tells damage from a wrong key or a forgery (the MAC), as for slots.
 */
public final class SealedBlock {
    private SealedBlock() {}

    /** Bytes up to which a sealed record must end: one sector. */
    public static final int SECTOR_BYTES = 512;

    /** What a reader found in a block. */
    public sealed interface Opened {
        /** Never written (zeros). */
        record Empty() implements Opened {}

        record Bad(SlotRead.Problem problem, String detail) implements Opened {}

        /** Valid: {@code fields} is the block as a big-endian buffer positioned at 0. */
        record Ok(ByteBuffer fields) implements Opened {}
    }

    /**
     * Starts a block: magic, version, node id and cluster id written, the buffer positioned at
     * byte 24 for the record's own fields.
     */
    public static ByteBuffer start(byte[] magic, int version, int nodeId, UUID clusterId) {
        return start(magic, version, nodeId, clusterId, DiskLayout.BLOCK_SIZE_BYTES);
    }

    /** The same for a record of {@code size} bytes: a whole block, or one sector of a block that holds several records. */
    public static ByteBuffer start(byte[] magic, int version, int nodeId, UUID clusterId, int size) {
        if (size != DiskLayout.BLOCK_SIZE_BYTES && size != SECTOR_BYTES) {
            throw new IllegalArgumentException("a sealed record is a block or a sector, not " + size + " bytes");
        }
        ByteBuffer b = ByteBuffer.allocate(size);
        b.put(magic);
        b.putShort((short) version);
        b.putShort((short) nodeId);
        b.putLong(clusterId.getMostSignificantBits());
        b.putLong(clusterId.getLeastSignificantBits());
        return b;
    }

    /** Writes the MAC at {@code macOffset} (over 0..macOffset) and the CRC right after it; returns the block. */
    public static byte[] seal(ByteBuffer b, ClusterKey key, int macOffset) {
        int crcOffset = macOffset + ClusterKey.MAC_BYTES;
        if (b.position() > macOffset || crcOffset + 4 > SECTOR_BYTES) {
            throw new IllegalArgumentException("fields end at " + b.position() + ", MAC at " + macOffset);
        }
        byte[] out = b.array();
        System.arraycopy(key.mac(out, 0, macOffset), 0, out, macOffset, ClusterKey.MAC_BYTES);
        ByteBuffer.wrap(out).putInt(crcOffset, BlockBytes.crc32c(out, 0, crcOffset));
        return out;
    }

    /**
     * Checks the block at {@code data[offset, offset + 4096)}: zeros, CRC, magic, version, MAC,
     * cluster id and node id (in that order, so that damage is named before a wrong key);
     * {@code nodeId} 0 accepts any node id (a ring of records about many nodes).
     */
    public static Opened open(byte[] data, int offset, ClusterKey key, UUID clusterId, byte[] magic, int version,
                              int nodeId, int macOffset, String what) {
        return open(data, offset, DiskLayout.BLOCK_SIZE_BYTES, key, clusterId, magic, version, nodeId, macOffset, what);
    }

    /** The same for a record of {@code size} bytes (a block or a sector) at {@code data[offset, offset + size)}. */
    public static Opened open(byte[] data, int offset, int size, ClusterKey key, UUID clusterId, byte[] magic, int version,
                              int nodeId, int macOffset, String what) {
        int crcOffset = macOffset + ClusterKey.MAC_BYTES;
        if (BlockBytes.allZero(data, offset, crcOffset + 4)) {
            return new Opened.Empty();
        }
        ByteBuffer b = ByteBuffer.wrap(data, offset, size).slice();
        int stored = b.getInt(crcOffset);
        int computed = BlockBytes.crc32c(data, offset, crcOffset);
        if (stored != computed) {
            return new Opened.Bad(SlotRead.Problem.CHECKSUM,
                    String.format("checksum mismatch (stored %08x, computed %08x): damaged or torn write", stored, computed));
        }
        if (!Arrays.equals(data, offset, offset + magic.length, magic, 0, magic.length)) {
            return new Opened.Bad(SlotRead.Problem.FORMAT, "no " + what + " magic");
        }
        int v = b.getShort(4) & 0xffff;
        if (v != version) {
            return new Opened.Bad(SlotRead.Problem.FORMAT, "unknown " + what + " format version " + v);
        }
        byte[] mac = Arrays.copyOfRange(data, offset + macOffset, offset + macOffset + ClusterKey.MAC_BYTES);
        if (!key.verify(data, offset, macOffset, mac)) {
            return new Opened.Bad(SlotRead.Problem.MAC, "MAC mismatch: written with another cluster key, or forged");
        }
        UUID cluster = new UUID(b.getLong(8), b.getLong(16));
        if (!cluster.equals(clusterId)) {
            return new Opened.Bad(SlotRead.Problem.MISPLACED, what + " of cluster " + cluster);
        }
        int node = b.getShort(6) & 0xffff;
        if (nodeId > 0 && node != nodeId) {
            return new Opened.Bad(SlotRead.Problem.MISPLACED, what + " of node " + node + " in the place of node " + nodeId);
        }
        if (!BlockBytes.allZero(data, offset + crcOffset + 4, size - crcOffset - 4)) {
            return new Opened.Bad(SlotRead.Problem.FORMAT, "bytes after the " + what + " are not zero");
        }
        return new Opened.Ok(b);
    }

    /** Writes {@code text} as a 2-byte length and at most {@code maxBytes} UTF-8 bytes (cut at a character boundary). */
    public static void putText(ByteBuffer b, String text, int maxBytes) {
        byte[] t = text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        int n = Math.min(t.length, maxBytes);
        while (n > 0 && n < t.length && (t[n] & 0xc0) == 0x80) {
            n--; // do not cut a UTF-8 sequence
        }
        b.putShort((short) n);
        b.put(t, 0, n);
        b.position(b.position() + maxBytes - n);
    }

    /** Reads what {@link #putText} wrote; null when the length is out of range. */
    public static String getText(ByteBuffer b, int at, int maxBytes) {
        int n = b.getShort(at) & 0xffff;
        if (n > maxBytes) {
            return null;
        }
        byte[] t = new byte[n];
        b.get(at + 2, t);
        return new String(t, java.nio.charset.StandardCharsets.UTF_8);
    }
}
