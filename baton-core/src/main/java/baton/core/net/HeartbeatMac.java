package baton.core.net;

import java.security.DigestException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/**
 * HMAC-SHA-256 (RFC 2104, FIPS 198-1) that allocates nothing per message, for the heartbeat
 * send path, which must not allocate in steady state.
 *
 * <p>Why not {@code javax.crypto.Mac}: its {@code doFinal(byte[], int)} computes into a new
 * array and copies it out, and the JDK's HMAC allocates another array for the inner hash, so
 * every MAC costs garbage. This class is the textbook construction, H((K ^ opad) || H((K ^ ipad)
 * || m)), on one reused {@link MessageDigest} whose {@code digest(byte[], int, int)} writes into
 * the caller's array; the tests check it against {@code javax.crypto.Mac} and RFC 4231.
 *
 * <p>Not thread-safe: one instance per thread.
 */
final class HeartbeatMac {
    static final int MAC_BYTES = 32;
    /** SHA-256's block size; HMAC pads the key to it. */
    private static final int BLOCK_BYTES = 64;

    private final MessageDigest sha256;
    private final byte[] innerPad = new byte[BLOCK_BYTES];
    private final byte[] outerPad = new byte[BLOCK_BYTES];
    private final byte[] innerHash = new byte[MAC_BYTES];

    /** @param key at most one block (64 bytes); Baton's keys are 32 */
    HeartbeatMac(byte[] key) {
        if (key.length > BLOCK_BYTES) {
            throw new IllegalArgumentException("HMAC key of " + key.length + " bytes; this class takes at most "
                    + BLOCK_BYTES);
        }
        try {
            sha256 = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            // Every JDK ships SHA-256; its absence is a broken runtime, not an operating error.
            throw new IllegalStateException("SHA-256 unavailable", e);
        }
        byte[] padded = Arrays.copyOf(key, BLOCK_BYTES);
        for (int i = 0; i < BLOCK_BYTES; i++) {
            innerPad[i] = (byte) (padded[i] ^ 0x36);
            outerPad[i] = (byte) (padded[i] ^ 0x5c);
        }
        Arrays.fill(padded, (byte) 0);
    }

    /** Writes the 32-byte MAC of {@code data[offset, offset+length)} to {@code out[outOffset, outOffset+32)}. */
    void mac(byte[] data, int offset, int length, byte[] out, int outOffset) {
        try {
            sha256.update(innerPad);
            sha256.update(data, offset, length);
            sha256.digest(innerHash, 0, MAC_BYTES);
            sha256.update(outerPad);
            sha256.update(innerHash);
            sha256.digest(out, outOffset, MAC_BYTES);
        } catch (DigestException e) {
            // Only thrown for an output range too small, which the callers' constants exclude.
            throw new IllegalStateException("SHA-256 refused a 32-byte output range", e);
        }
    }
}
