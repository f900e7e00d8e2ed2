package baton.core.disk;

import java.util.zip.CRC32C;

/** The two checks every on-disk record of Baton makes on its bytes: a CRC32C, and "never written". */
public final class BlockBytes {
    private BlockBytes() {}

    /** CRC32C (Castagnoli) of {@code data[offset, offset+length)}, as stored big-endian in every record. */
    public static int crc32c(byte[] data, int offset, int length) {
        CRC32C c = new CRC32C();
        c.update(data, offset, length);
        return (int) c.getValue();
    }

    /** True when {@code data[offset, offset+length)} is all zeros: a record never written. */
    public static boolean allZero(byte[] data, int offset, int length) {
        for (int i = offset; i < offset + length; i++) {
            if (data[i] != 0) {
                return false;
            }
        }
        return true;
    }
}
