package baton.lab;

import java.util.List;

/**
 * Random packet loss on the way from a host to the switch, with nftables, for kernels without
 * netem. The rule sits on the ingress hook of the host's port in the switch namespace, that
 * is on the far end of the wire: a packet dropped there is lost silently, as on a real
 * network. Dropping on the host's own eth0 (the egress hook) would not do: the sender's
 * {@code sendmsg} would fail with ENOBUFS, and ping, for one, retries such packets.
 */
final class SwitchPortLoss implements Impairment {
    private final String switchNetns;
    private final String table;

    private SwitchPortLoss(String switchNetns, String table) {
        this.switchNetns = switchNetns;
        this.table = table;
    }

    static SwitchPortLoss install(String switchNetns, String port, double lossPercent) {
        String table = "baton_loss_" + port;
        // numgen counts in basis points so that fractional percentages like 0.5% work; 100% is a plain drop.
        long basisPoints = Math.round(lossPercent * 100);
        String verdict = basisPoints >= 10_000 ? "drop" : "numgen random mod 10000 < " + basisPoints + " drop";
        // One nft invocation is one transaction: the table appears with its rule or not at all.
        nft(switchNetns, "add table netdev " + table + "; "
                + "add chain netdev " + table + " ingress { type filter hook ingress device \"" + port + "\" priority 0; policy accept; }; "
                + "add rule netdev " + table + " ingress " + verdict);
        return new SwitchPortLoss(switchNetns, table);
    }

    @Override
    public void remove() {
        nft(switchNetns, "delete table netdev " + table);
    }

    private static void nft(String netns, String script) {
        Cmd.check(Netns.COMMAND_TIMEOUT, Netns.exec(netns, List.of("nft", script)));
    }
}
