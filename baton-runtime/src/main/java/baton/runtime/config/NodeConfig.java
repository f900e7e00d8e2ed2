package baton.runtime.config;

import baton.core.disk.DiskLayout;
import java.net.InetAddress;
import java.util.List;
import java.util.Objects;

/**
 * One node of the cluster.
 *
 * @param id 1..{@value DiskLayout#MAX_NODES}; also the node's slot on the quorum disk
 * @param name unique in the cluster, see {@link Names}
 * @param addresses 1..{@value #MAX_ADDRESSES} IP addresses the node is reached at, in order of preference
 */
public record NodeConfig(int id, String name, List<InetAddress> addresses) {
    /** Limit: enough for a dual-stack node on two networks. */
    public static final int MAX_ADDRESSES = 4;

    public NodeConfig {
        // ConfigLoader reports all of these with a fix; here they are invariants (programmer errors).
        if (id < 1 || id > DiskLayout.MAX_NODES) {
            throw new IllegalArgumentException("node id " + id + " outside 1.." + DiskLayout.MAX_NODES);
        }
        Objects.requireNonNull(name, "name");
        addresses = List.copyOf(addresses);
        if (addresses.isEmpty() || addresses.size() > MAX_ADDRESSES) {
            throw new IllegalArgumentException("node " + name + " has " + addresses.size() + " addresses, needs 1.."
                    + MAX_ADDRESSES);
        }
    }
}
