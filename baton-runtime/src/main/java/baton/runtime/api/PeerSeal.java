package baton.runtime.api;

import baton.core.disk.ClusterKey;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * How one node's API proves itself to another's without trusting its certificate: both hold the
 * cluster key, so a request carries an HMAC of a fresh nonce and the reply an HMAC of that nonce
 * and the body. Nodes generate their own self-signed certificates, which their peers cannot
 * check, so TLS here gives privacy, and the seal gives authenticity: a man in the middle can
 * neither forge a reply nor replay an old one (the nonce), nor learn anything that would open
 * the API (the operators' token never travels between nodes). Messages are domain-separated
 * from the token's ({@link ApiToken}) by their prefix, so no seal is ever a token.
 */
public final class PeerSeal {
    private static final String PREFIX = "baton-api-peer-v1|";
    /** A nonce: 32 hex digits (128 random bits). */
    public static final int NONCE_HEX = 32;

    private final ClusterKey key;

    private PeerSeal(ClusterKey key) {
        this.key = key;
    }

    public static PeerSeal of(ClusterKey key) {
        return new PeerSeal(key);
    }

    /** A fresh nonce for one request. */
    public static String nonce() {
        byte[] b = new byte[NONCE_HEX / 2];
        new java.security.SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    /** Whether {@code nonce} has the form {@link #nonce()} gives (anything else is refused unread). */
    public static boolean wellFormed(String nonce) {
        return nonce != null && nonce.length() == NONCE_HEX && nonce.chars().allMatch(c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    }

    /** The seal of a request from node {@code from} with {@code nonce} for {@code path}. */
    public String request(String from, String nonce, String path) {
        return hex(PREFIX + "request|" + from + "|" + nonce + "|" + path, new byte[0]);
    }

    /** The seal of a reply with {@code body} to the request with {@code nonce}. */
    public String reply(String nonce, byte[] body) {
        return hex(PREFIX + "reply|" + nonce + "|", body);
    }

    /** Constant-time comparison of a presented seal with the expected one. */
    public static boolean matches(String expected, String presented) {
        return presented != null && MessageDigest.isEqual(expected.getBytes(StandardCharsets.US_ASCII),
                presented.trim().getBytes(StandardCharsets.US_ASCII));
    }

    private String hex(String head, byte[] body) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(head.getBytes(StandardCharsets.UTF_8));
        b.writeBytes(body);
        return HexFormat.of().formatHex(key.mac(b.toByteArray()));
    }
}
