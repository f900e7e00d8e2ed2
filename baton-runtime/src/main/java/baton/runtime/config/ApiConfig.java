package baton.runtime.config;

import java.nio.file.Path;
import java.util.Optional;

/**
 * The operators' API and dashboard every node serves (the configuration's {@code api:} section,
 * docs/api.md).
 *
 * @param enabled     whether the node serves it at all
 * @param port        the TCP port, on the node's first address and on 127.0.0.1
 * @param certificate a PEM certificate (chain) to serve; with {@code privateKey}. Without one, the node
 *                    generates a self-signed certificate on first start and keeps it in {@code tlsDir}
 * @param privateKey  the PEM (PKCS#8) private key of {@code certificate}
 * @param tlsDir      where generated certificates are kept, one pair per node ({@code NODE.crt}, {@code NODE.key})
 */
public record ApiConfig(boolean enabled, int port, Optional<Path> certificate, Optional<Path> privateKey, Path tlsDir) {
    public static final int DEFAULT_PORT = 7480;

    public ApiConfig {
        if (port < 1 || port > 65535 || certificate.isPresent() != privateKey.isPresent() || tlsDir == null) {
            throw new IllegalArgumentException("api settings out of range: " + port + " " + certificate + " " + privateKey);
        }
    }

    /** The defaults for a cluster whose key file is {@code keyFile}: generated certificates beside it, in {@code api/}. */
    public static ApiConfig defaults(Path keyFile) {
        return new ApiConfig(true, DEFAULT_PORT, Optional.empty(), Optional.empty(), keyFile.toAbsolutePath().getParent().resolve("api"));
    }

    /** Where {@code node} serves the API: its first address. */
    public java.net.InetSocketAddress address(NodeConfig node) {
        return new java.net.InetSocketAddress(node.addresses().getFirst(), port);
    }

    /** {@code HOST:PORT} of an address, with an IPv6 host in brackets. */
    public static String hostPort(java.net.InetSocketAddress a) {
        String host = a.getAddress().getHostAddress();
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort();
    }

    /** The dashboard's (and the API's base) address on {@code node}. */
    public String url(NodeConfig node) {
        return "https://" + hostPort(address(node)) + "/";
    }

    /** The certificate a node serves: the configured one, else its generated one. */
    public Path certificateOf(String node) {
        return certificate.orElse(tlsDir.resolve(node + ".crt"));
    }

    public Path privateKeyOf(String node) {
        return privateKey.orElse(tlsDir.resolve(node + ".key"));
    }
}
