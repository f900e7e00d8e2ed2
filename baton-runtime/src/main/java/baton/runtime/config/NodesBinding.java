package baton.runtime.config;

import baton.core.disk.DiskLayout;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Binds the {@code nodes:} list: each node on its own, then what must hold across nodes
 * (unique ids, names and addresses; the same number of addresses, one per heartbeat ring).
 * A duplicate is reported at its later occurrence, naming the earlier one.
 */
final class NodesBinding {
    private NodesBinding() {}

    /** {@code fence} and {@code fenceDelayMillis} are bound by FenceBinding, which needs the devices. */
    static final List<String> NODE_KEYS = List.of("id", "name", "addresses", "fence", "fenceDelayMillis");

    private static final String NODE_EXAMPLE = "'- id: 1' with 'name: node-1' and 'addresses: [198.18.0.1]' below it";

    /**
     * Dotted quads only, without leading zeros: the JDK would also read "10.1" as 10.0.0.1,
     * and some tools read "010" as octal; both are more likely typos than intent.
     */
    private static final Pattern DOTTED_QUAD = Pattern.compile("(0|[1-9][0-9]{0,2})(\\.(0|[1-9][0-9]{0,2})){3}");

    /** Looks like a DNS name: letters, digits, dots and dashes, with at least one letter. */
    private static final Pattern HOST_NAME = Pattern.compile("[A-Za-z0-9.-]*[A-Za-z][A-Za-z0-9.-]*");

    /** A value and where it was written, so that a duplicate can name the first occurrence. */
    private record At<T>(T value, String path, int line) {}

    /**
     * What could be bound of one node; a part is empty when it had a problem (reported already).
     * {@code path} and {@code addressesLine} say where the node's address list is written.
     */
    private record Draft(String path, int addressesLine, Optional<At<Integer>> id, Optional<At<String>> name,
            Optional<List<At<InetAddress>>> addresses) {
        Optional<NodeConfig> node() {
            if (id.isEmpty() || name.isEmpty() || addresses.isEmpty()) {
                return Optional.empty();
            }
            return Optional.of(new NodeConfig(id.get().value(), name.get().value(),
                    addresses.get().stream().map(At::value).toList()));
        }
    }

    /**
     * The nodes that could be bound: all of them, in file order, when no problem was reported
     * (the caller builds a configuration only then). {@code line} is the {@code nodes:} key's.
     */
    static List<NodeConfig> bind(YamlNode value, String path, int line, Problems problems) {
        if (!(value instanceof YamlNode.Sequence list)) {
            problems.add(value.line(), path, "expected a list of nodes, found " + value.describe(),
                    "write each node as " + NODE_EXAMPLE);
            return List.of();
        }
        if (list.items().isEmpty()) {
            problems.add(line, path, "the list of nodes is empty", "add at least one node: " + NODE_EXAMPLE);
            return List.of();
        }
        if (list.items().size() > DiskLayout.MAX_NODES) {
            problems.add(line, path, "lists " + list.items().size() + " nodes, at most " + DiskLayout.MAX_NODES
                    + " are supported", "remove nodes until at most " + DiskLayout.MAX_NODES + " remain");
        }
        int problemsBefore = problems.count();
        List<Draft> drafts = new ArrayList<>();
        for (int i = 0; i < list.items().size(); i++) {
            drafts.add(node(list.items().get(i), path + "[" + i + "]", problems));
        }
        reportDuplicateIds(drafts, problems);
        reportDuplicates(drafts.stream().flatMap(d -> d.name().stream()).toList(), problems, name -> "node name '"
                + name + "'", "give each node its own name");
        reportDuplicates(drafts.stream().flatMap(d -> d.addresses().stream()).flatMap(List::stream).toList(), problems,
                address -> "address " + address.getHostAddress(),
                "an address identifies one node: remove it here or correct it");
        // Like the timeouts' rules that span several keys, the rule across all address lists is
        // checked once every list is valid on its own: a list with a bad or duplicated address
        // is about to be edited, and a count taken from it would point at the wrong fix.
        if (problems.count() == problemsBefore) {
            reportUnequalRings(drafts, problems);
            reportMixedFamilies(drafts, problems);
        }
        return drafts.stream().map(Draft::node).flatMap(Optional::stream).toList();
    }

    /**
     * Ring i of the cluster is the i-th address of every node (UDP heartbeats on ring i go from
     * each node's i-th address to every other node's i-th address), so all nodes must list the
     * same number of addresses, in the same network order. The count most nodes have is taken
     * as intended (ties: the earliest node's), and every node that differs is reported.
     */
    private static void reportUnequalRings(List<Draft> drafts, Problems problems) {
        Map<Integer, Integer> nodesWithCount = new HashMap<>();
        for (Draft d : drafts) {
            d.addresses().ifPresent(a -> nodesWithCount.merge(a.size(), 1, Integer::sum));
        }
        Draft reference = null;
        for (Draft d : drafts) {
            if (d.addresses().isPresent() && (reference == null
                    || nodesWithCount.get(d.addresses().get().size())
                            > nodesWithCount.get(reference.addresses().get().size()))) {
                reference = d;
            }
        }
        if (reference == null) {
            return;
        }
        int rings = reference.addresses().get().size();
        String referenceName = reference.name().map(At::value).orElse(reference.path());
        for (Draft d : drafts) {
            if (d.addresses().isEmpty() || d.addresses().get().size() == rings) {
                continue;
            }
            int count = d.addresses().get().size();
            String fix = count < rings
                    ? "add this node's address on each missing ring, in the same network order as " + referenceName
                            + "'s addresses"
                    : "keep one address per ring (" + rings + ", like " + referenceName
                            + "), or add the extra rings to every other node";
            problems.add(d.addressesLine(), d.path() + ".addresses", "lists " + count + " address"
                    + (count == 1 ? "" : "es") + " but " + referenceName + " (" + reference.path() + ") lists " + rings
                    + "; heartbeat ring i is every node's i-th address, so all nodes need the same number", fix);
        }
    }

    /**
     * A ring's heartbeat socket speaks one address family, so the i-th addresses of all nodes
     * are all IPv4 or all IPv6. The family most nodes use on a ring is taken as intended (ties:
     * the earliest node's), and every address of the other family is reported.
     */
    private static void reportMixedFamilies(List<Draft> drafts, Problems problems) {
        List<List<At<InetAddress>>> lists = drafts.stream().flatMap(d -> d.addresses().stream()).toList();
        int rings = lists.stream().mapToInt(List::size).min().orElse(0);
        for (int ring = 0; ring < rings; ring++) {
            int v4 = 0;
            for (List<At<InetAddress>> list : lists) {
                v4 += list.get(ring).value() instanceof Inet4Address ? 1 : 0;
            }
            int v6 = lists.size() - v4;
            boolean intendedV4 = v4 > v6 || v4 == v6 && lists.getFirst().get(ring).value() instanceof Inet4Address;
            At<InetAddress> example = null;
            for (List<At<InetAddress>> list : lists) {
                if (list.get(ring).value() instanceof Inet4Address == intendedV4) {
                    example = list.get(ring);
                    break;
                }
            }
            for (List<At<InetAddress>> list : lists) {
                At<InetAddress> at = list.get(ring);
                if (at.value() instanceof Inet4Address != intendedV4) {
                    String family = intendedV4 ? "IPv4" : "IPv6";
                    problems.add(at.line(), at.path(), "is " + (intendedV4 ? "IPv6" : "IPv4") + " but ring " + ring
                            + " is " + family + " (e.g. " + example.path() + " = " + example.value().getHostAddress()
                            + "); one heartbeat socket speaks one address family",
                            "write this node's " + family + " address on that network here, or change ring " + ring
                                    + " to " + (intendedV4 ? "IPv6" : "IPv4") + " on every node");
                }
            }
        }
    }

    private static Draft node(YamlNode value, String path, Problems problems) {
        Optional<Section> section = Section.of(value, path, value.line(), problems, NODE_KEYS, NODE_EXAMPLE);
        if (section.isEmpty()) {
            return new Draft(path, value.line(), Optional.empty(), Optional.empty(), Optional.empty());
        }
        Section s = section.get();
        Optional<At<Integer>> id = s.required("id", "id: 1").flatMap(v -> id(v, s.path("id"), problems));
        Optional<At<String>> name = s.required("name", "name: node-1").flatMap(v -> name(v, s.path("name"), problems));
        Optional<List<At<InetAddress>>> addresses = s.required("addresses", "addresses: [198.18.0.1]")
                .flatMap(v -> addresses(v, s.path("addresses"), s.lineOf("addresses"), problems));
        return new Draft(path, s.lineOf("addresses"), id, name, addresses);
    }

    private static Optional<At<Integer>> id(YamlNode value, String path, Problems problems) {
        OptionalLong id = Scalars.whole(value, path, problems, 1, DiskLayout.MAX_NODES, "id: 1");
        return id.isPresent() ? Optional.of(new At<>((int) id.getAsLong(), path, value.line())) : Optional.empty();
    }

    private static Optional<At<String>> name(YamlNode value, String path, Problems problems) {
        Optional<String> text = Scalars.text(value, path, problems, "name: node-1");
        if (text.isEmpty()) {
            return Optional.empty();
        }
        Optional<String> problem = Names.problem(text.get(), false);
        if (problem.isPresent()) {
            problems.add(value.line(), path, problem.get(),
                    "use a name like '" + Names.suggestion(text.get(), false, "node-1") + "'");
            return Optional.empty();
        }
        return Optional.of(new At<>(text.get(), path, value.line()));
    }

    /** All addresses of one node, or empty when any of them had a problem. */
    private static Optional<List<At<InetAddress>>> addresses(YamlNode value, String path, int line,
            Problems problems) {
        if (!(value instanceof YamlNode.Sequence list)) {
            String fix = value instanceof YamlNode.Text t
                    ? "write it as a list: addresses: [" + YamlNode.shown(t.value()) + "]"
                    : "write a list of IP addresses, e.g. addresses: [198.18.0.1]";
            problems.add(value.line(), path, "expected a list of IP addresses, found " + value.describe(), fix);
            return Optional.empty();
        }
        if (list.items().isEmpty() || list.items().size() > NodeConfig.MAX_ADDRESSES) {
            problems.add(line, path, "lists " + list.items().size() + " addresses, a node needs 1 to "
                    + NodeConfig.MAX_ADDRESSES, list.items().isEmpty()
                            ? "write the node's address, e.g. addresses: [198.18.0.1]"
                            : "keep at most " + NodeConfig.MAX_ADDRESSES + " addresses");
            return Optional.empty();
        }
        List<At<InetAddress>> addresses = new ArrayList<>();
        for (int i = 0; i < list.items().size(); i++) {
            YamlNode item = list.items().get(i);
            String itemPath = path + "[" + i + "]";
            Scalars.text(item, itemPath, problems, "addresses: [198.18.0.1]")
                    .flatMap(text -> ipLiteral(text, item.line(), itemPath, problems))
                    .ifPresent(address -> addresses.add(new At<>(address, itemPath, item.line())));
        }
        return addresses.size() == list.items().size() ? Optional.of(addresses) : Optional.empty();
    }

    /**
     * Parses an IP literal without any name lookup: the cluster's view of who is who must not
     * depend on DNS, which may be down exactly when the cluster needs to act.
     */
    static Optional<InetAddress> ipLiteral(String text, int line, String path, Problems problems) {
        String shown = YamlNode.shown(text);
        boolean v6 = text.contains(":");
        if (!v6 && !DOTTED_QUAD.matcher(text).matches()) {
            String problem = HOST_NAME.matcher(text).matches()
                    ? "'" + shown + "' is a host name, not an IP address"
                    : "'" + shown + "' is not an IP address";
            problems.add(line, path, problem, "write the node's IP address, e.g. 198.18.0.1 or fd00::1;"
                    + " Baton does not look up names, so that DNS cannot change who is who in the cluster");
            return Optional.empty();
        }
        InetAddress address;
        try {
            address = InetAddress.ofLiteral(text);
        } catch (IllegalArgumentException e) {
            problems.add(line, path, "'" + shown + "' is not a valid IP" + (v6 ? "v6" : "v4") + " address",
                    v6 ? "write an IPv6 address such as fd00::1" : "write four numbers from 0 to 255, e.g. 198.18.0.1");
            return Optional.empty();
        }
        if (address.isAnyLocalAddress() || address.isMulticastAddress()) {
            problems.add(line, path, "'" + shown + "' is a " + (address.isAnyLocalAddress() ? "wildcard" : "multicast")
                    + " address, which does not identify one node", "write an address assigned to this node");
            return Optional.empty();
        }
        return Optional.of(address);
    }

    /** Duplicate ids get a fix naming an id that is still free. */
    private static void reportDuplicateIds(List<Draft> drafts, Problems problems) {
        Set<Integer> free = new TreeSet<>();
        for (int id = 1; id <= DiskLayout.MAX_NODES; id++) {
            free.add(id);
        }
        drafts.forEach(d -> d.id().ifPresent(id -> free.remove(id.value())));
        String fix = free.isEmpty()
                ? "give each node its own id"
                : "give each node its own id, e.g. " + free.iterator().next() + " is free";
        reportDuplicates(drafts.stream().flatMap(d -> d.id().stream()).toList(), problems, id -> "node id " + id, fix);
    }

    private static <T> void reportDuplicates(List<At<T>> values, Problems problems, Function<T, String> what,
            String fix) {
        Map<T, At<T>> first = new HashMap<>();
        for (At<T> at : values) {
            At<T> earlier = first.putIfAbsent(at.value(), at);
            if (earlier != null) {
                problems.add(at.line(), at.path(), "duplicate " + what.apply(at.value()) + ", already used by "
                        + earlier.path() + " at line " + earlier.line(), fix);
            }
        }
    }
}
