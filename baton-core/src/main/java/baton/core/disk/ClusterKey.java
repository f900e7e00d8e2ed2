package baton.core.disk;

import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The cluster key: 32 random bytes shared by all nodes. It authenticates what nodes write
 * to the quorum disk (HMAC-SHA-256 in every slot) and, in later protocols, what they send.
 * Pure computation; reading the key file is the shell's job.
 */
public final class ClusterKey {
    public static final int KEY_BYTES = 32;
    public static final int MAC_BYTES = 32;

    private final byte[] key;
    private final byte[] fingerprint;

    public ClusterKey(byte[] key) {
        if (key.length != KEY_BYTES) {
            throw new IllegalArgumentException("cluster key must be " + KEY_BYTES + " bytes, got " + key.length);
        }
        this.key = key.clone();
        this.fingerprint = Arrays.copyOf(mac("baton-key-fingerprint".getBytes(java.nio.charset.StandardCharsets.US_ASCII)), 8);
    }

    /** HMAC-SHA-256 of {@code data[offset, offset+length)}. */
    public byte[] mac(byte[] data, int offset, int length) {
        try {
            Mac m = Mac.getInstance("HmacSHA256");
            m.init(new SecretKeySpec(key, "HmacSHA256"));
            m.update(data, offset, length);
            return m.doFinal();
        } catch (GeneralSecurityException e) {
            // Every JDK ships HmacSHA256; its absence is a broken runtime, not an operating error.
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }

    public byte[] mac(byte[] data) {
        return mac(data, 0, data.length);
    }

    /** Constant-time comparison of a MAC over {@code data[offset,offset+length)} with {@code expected}. */
    public boolean verify(byte[] data, int offset, int length, byte[] expected) {
        return MessageDigest.isEqual(mac(data, offset, length), expected);
    }

    /** 8 bytes that identify the key without revealing it; stored in the disk header. */
    public byte[] fingerprint() {
        return fingerprint.clone();
    }

    public String fingerprintHex() {
        return HexFormat.of().formatHex(fingerprint);
    }

    @Override
    public String toString() {
        return "ClusterKey[fingerprint=" + fingerprintHex() + "]";
    }
}
