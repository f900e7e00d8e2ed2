package baton.runtime.api;

import baton.core.disk.ClusterKey;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * The API's bearer token: derived from the cluster key (HMAC-SHA-256 of a fixed purpose
 * string), so every node accepts the same token and {@code baton} on a node finds it from the
 * key file it already reads. It never travels except over TLS; knowing it does not reveal the
 * key, and a new key (keygen) gives a new token.
 */
public final class ApiToken {
    private static final byte[] PURPOSE = "baton-api-token-v1".getBytes(StandardCharsets.US_ASCII);

    private final byte[] token;

    private ApiToken(byte[] token) {
        this.token = token;
    }

    public static ApiToken of(ClusterKey key) {
        return new ApiToken(HexFormat.of().formatHex(key.mac(PURPOSE)).getBytes(StandardCharsets.US_ASCII));
    }

    /** The token as operators type it: 64 hex digits. */
    public String text() {
        return new String(token, StandardCharsets.US_ASCII);
    }

    /** Constant-time comparison with what a request presented. */
    public boolean matches(String presented) {
        return presented != null && MessageDigest.isEqual(token, presented.trim().getBytes(StandardCharsets.US_ASCII));
    }
}
