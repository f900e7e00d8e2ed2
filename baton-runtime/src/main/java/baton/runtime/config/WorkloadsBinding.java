package baton.runtime.config;

import baton.core.disk.DiskLayout;
import baton.runtime.config.WorkloadConfig.Resource;
import baton.runtime.config.WorkloadConfig.Timing;
import baton.runtime.config.YamlNode.Entry;
import baton.runtime.resource.ExecResource;
import baton.runtime.resource.OcfAgent;
import baton.runtime.resource.OcfResource;
import baton.runtime.ve.VeSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Binds the {@code ves:} and {@code services:} lists to {@link WorkloadConfig}s: each workload
 * on its own, then what must hold across all of them. Ids and names are unique across both
 * lists (an id is the workload's owner record on the quorum disk); VE names and MAC addresses
 * are unique across every VE of the file, the VE resources of services included (a VE's name
 * names its folder and tap devices on the host, and two VEs with one MAC would answer from two
 * hosts). A duplicate is reported at its later occurrence, naming the earlier one.
 *
 * <p>Only what the file says is checked here. Whether the kernels, images, agents and
 * programs it names exist is {@link baton.runtime.resource.WorkloadCheck}'s job, at each
 * node's start: the file is the same on every node, the nodes' disks may not be.
 *
 * <p>The records' constructors (VeSpec, ExecResource, OcfResource, WorkloadConfig) enforce
 * the same rules as invariants; every rule is checked here first, with a message and a fix,
 * and a record is built only when its part of the file had no problem.
 */
final class WorkloadsBinding {
    private WorkloadsBinding() {}

    static final List<String> POLICY_KEYS =
            List.of("preferred", "restricted", "failback", "maxRestarts", "restartWindowSeconds");
    static final List<String> TIMING_KEYS =
            List.of("startTimeoutSeconds", "stopTimeoutSeconds", "monitorIntervalMillis", "monitorTimeoutSeconds");
    /** What a VE is to QEMU: the keys of a VE workload and of a service's {@code ve:} resource. */
    static final List<String> VE_SPEC_KEYS =
            List.of("memoryMib", "vcpus", "kernel", "initrd", "cmdline", "image", "format", "nics", "accel");
    static final List<String> VE_KEYS = concat(List.of("id", "name"), VE_SPEC_KEYS, POLICY_KEYS, TIMING_KEYS);
    static final List<String> SERVICE_KEYS =
            concat(List.of("id", "name"), POLICY_KEYS, List.of("resources"), List.of());
    static final List<String> RESOURCE_KEYS =
            concat(List.of("name", "ocf", "params", "exec", "environment", "ve"), TIMING_KEYS, List.of(), List.of());
    static final List<String> EXEC_KEYS = List.of("start", "stop", "status");
    static final List<String> NIC_KEYS = List.of("mac", "bridge");

    /** Enough for the small guests Baton's tests boot; a real VE says what it needs. */
    static final int DEFAULT_MEMORY_MIB = 128;
    static final int DEFAULT_VCPUS = 1;
    /**
     * Limit: a workload that fails this often within one window is crash-looping; relocating it
     * (or giving up) is the answer, not another restart.
     */
    static final int MAX_RESTARTS = 100;
    /** Limit: a day. Failures further apart than that are not one incident. */
    static final long MAX_RESTART_WINDOW_SECONDS = 86_400;
    static final long MAX_TIMEOUT_SECONDS = Timing.MAX_MILLIS / 1000;

    // Examples for fixes, in flow style so that each fits on the one line of a problem.
    static final String VE_EXAMPLE = "- {id: 1, name: web, kernel: /var/cache/baton/guest/vmlinux}";
    static final String SERVICE_EXAMPLE = "- {id: 10, name: db, resources: [{name: vip, ocf: heartbeat:IPaddr2,"
            + " params: {ip: 198.18.0.50}}]}";
    static final String RESOURCE_EXAMPLE = "- {name: vip, ocf: heartbeat:IPaddr2, params: {ip: 198.18.0.50}}";
    static final String EXEC_EXAMPLE =
            "exec: {start: [/usr/bin/app, start], stop: [/usr/bin/app, stop], status: [/usr/bin/app, status]}";
    static final String NIC_EXAMPLE = "{mac: \"52:54:00:12:34:56\", bridge: br0}";
    static final String KERNEL_EXAMPLE = "kernel: /var/cache/baton/guest/vmlinux";
    static final String IMAGE_EXAMPLE = "image: /srv/ve/web.qcow2";

    /** ExecResource's and OcfResource's rule for names (their patterns are private to them). */
    private static final Pattern RESOURCE_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}");
    /** OcfAgent's rule for the provider and the type: each one file name under OCF_ROOT/resource.d. */
    private static final Pattern OCF_COMPONENT = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}");
    /** OcfResource's rule: a name the agent's shell reads as {@code $OCF_RESKEY_name}. */
    private static final Pattern OCF_PARAMETER = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,63}");
    /** ExecResource's rule for environment variable names. */
    private static final Pattern VARIABLE = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,63}");
    /** Set by ExecDriver in every command's environment (its FIXED_ENVIRONMENT, not public). */
    private static final Set<String> FIXED_ENVIRONMENT = Set.of("PATH", "LC_ALL", "BATON_RESOURCE", "BATON_ACTION");
    private static final Pattern MAC = Pattern.compile("[0-9a-f]{2}(:[0-9a-f]{2}){5}");
    /** VeSpec.Nic's rule for bridge names: Linux interface names. */
    private static final Pattern IFNAME = Pattern.compile("[A-Za-z0-9_.-]{1,15}");

    /** A value and where it was written, so that a duplicate can name the first occurrence. */
    private record At<T>(T value, String path, int line) {}

    /** What could be bound of one workload; the record is present only when it had no problem. */
    private record Draft(Optional<At<Integer>> id, Optional<At<String>> name, Optional<WorkloadConfig> built) {
        static final Draft NONE = new Draft(Optional.empty(), Optional.empty(), Optional.empty());
    }

    /** What must be unique across all VEs, collected while binding them. */
    private record Seen(List<At<String>> macs, List<At<String>> veResourceNames) {
        Seen() {
            this(new ArrayList<>(), new ArrayList<>());
        }
    }

    /**
     * The nodes that {@code preferred} may name. {@code written} also holds the names of nodes
     * that had a problem (reported already), so that a domain naming one is not reported again;
     * {@code readable} is false when the nodes list itself is missing or not a list.
     */
    private record Nodes(Map<String, Integer> ids, Set<String> written, boolean readable) {
        static Nodes of(List<NodeConfig> bound, Optional<YamlNode> raw) {
            Map<String, Integer> ids = new LinkedHashMap<>();
            bound.forEach(n -> ids.put(n.name(), n.id()));
            Set<String> written = new HashSet<>();
            if (raw.orElse(null) instanceof YamlNode.Sequence list) {
                for (YamlNode item : list.items()) {
                    if (item instanceof YamlNode.Mapping m) {
                        m.entries().stream()
                                .filter(e -> e.key().equals("name") && e.value() instanceof YamlNode.Text)
                                .forEach(e -> written.add(((YamlNode.Text) e.value()).value()));
                    }
                }
            }
            return new Nodes(ids, written, raw.orElse(null) instanceof YamlNode.Sequence);
        }

        String known() {
            return ids.isEmpty() ? "none" : String.join(", ", ids.keySet());
        }
    }

    /**
     * The workloads, VEs first, each list in file order: all of them when no problem was
     * reported (the caller builds a configuration only then).
     *
     * @param top the configuration's top-level section, holding {@code ves}, {@code services} and {@code nodes}
     * @param nodes the nodes that could be bound
     */
    static List<WorkloadConfig> bind(Section top, List<NodeConfig> nodes, Path folder, Problems problems) {
        Nodes known = Nodes.of(nodes, top.optional("nodes"));
        Seen seen = new Seen();
        List<Draft> drafts = new ArrayList<>();
        int count = 0;
        Optional<YamlNode> ves = top.optional("ves");
        if (ves.isPresent()) {
            List<YamlNode> items = items(ves.get(), "ves", "a list of VEs", VE_EXAMPLE, problems);
            count += items.size();
            for (int i = 0; i < items.size(); i++) {
                drafts.add(ve(items.get(i), "ves[" + i + "]", known, folder, seen, problems));
            }
        }
        Optional<YamlNode> services = top.optional("services");
        if (services.isPresent()) {
            List<YamlNode> items = items(services.get(), "services", "a list of services", SERVICE_EXAMPLE, problems);
            count += items.size();
            for (int i = 0; i < items.size(); i++) {
                drafts.add(service(items.get(i), "services[" + i + "]", known, folder, seen, problems));
            }
        }
        if (count > DiskLayout.MAX_WORKLOADS) {
            String key = services.isPresent() ? "services" : "ves";
            problems.add(top.lineOf(key), key, "the file defines " + count + " workloads (VEs and services), at most "
                    + DiskLayout.MAX_WORKLOADS + " fit the quorum disk", "remove workloads until at most "
                            + DiskLayout.MAX_WORKLOADS + " remain");
        }
        reportDuplicateIds(drafts, problems);
        reportDuplicates(drafts.stream().flatMap(d -> d.name().stream()).toList(), problems,
                name -> "workload name '" + name + "'", at -> "give each VE and service its own name");
        reportDuplicateVeNames(drafts, seen, problems);
        Set<String> allMacs = new HashSet<>();
        seen.macs().forEach(m -> allMacs.add(m.value()));
        reportDuplicates(seen.macs(), problems, mac -> "MAC address " + mac,
                at -> "give each NIC of every VE its own MAC, e.g. " + freeMac(at.value(), allMacs)
                        + "; two VEs with one MAC would answer from two hosts");
        return drafts.stream().flatMap(d -> d.built().stream()).toList();
    }

    private static List<YamlNode> items(YamlNode value, String path, String expected, String example,
            Problems problems) {
        if (!(value instanceof YamlNode.Sequence list)) {
            problems.add(value.line(), path, "expected " + expected + ", found " + value.describe(),
                    "write each as " + example);
            return List.of();
        }
        return list.items();
    }

    private static Draft ve(YamlNode value, String path, Nodes nodes, Path folder, Seen seen, Problems problems) {
        Optional<Section> section = Section.of(value, path, value.line(), problems, VE_KEYS, VE_EXAMPLE);
        if (section.isEmpty()) {
            return Draft.NONE;
        }
        Section s = section.get();
        int before = problems.count();
        Optional<At<Integer>> id = id(s, "id: 1", problems);
        Optional<At<String>> name = s.required("name", "name: web").flatMap(v -> veName(v, s.path("name"), problems));
        Optional<VeSpec> spec = veSpec(s, name.map(At::value), folder, seen, problems);
        Optional<Policy> policy = policy(s, nodes, problems);
        Optional<Timing> timing = timing(s, Timing.VE_DEFAULTS, problems);
        if (problems.count() != before || id.isEmpty() || name.isEmpty() || spec.isEmpty() || policy.isEmpty()
                || timing.isEmpty()) {
            return new Draft(id, name, Optional.empty());
        }
        Policy p = policy.get();
        return new Draft(id, name, Optional.of(new WorkloadConfig(id.get().value(), name.get().value(),
                WorkloadConfig.Kind.VE, List.of(new Resource.Ve(spec.get(), timing.get())), p.preferred(),
                p.restricted(), p.failback(), p.maxRestarts(), p.restartWindowMillis())));
    }

    private static Draft service(YamlNode value, String path, Nodes nodes, Path folder, Seen seen,
            Problems problems) {
        Optional<Section> section = Section.of(value, path, value.line(), problems, SERVICE_KEYS, SERVICE_EXAMPLE);
        if (section.isEmpty()) {
            return Draft.NONE;
        }
        Section s = section.get();
        int before = problems.count();
        Optional<At<Integer>> id = id(s, "id: 10", problems);
        Optional<At<String>> name = s.required("name", "name: db")
                .flatMap(v -> resourceName(v, s.path("name"), "db", problems));
        Optional<Policy> policy = policy(s, nodes, problems);
        Optional<List<Resource>> resources = s.required("resources", RESOURCE_EXAMPLE)
                .flatMap(v -> resources(v, s.path("resources"), s.lineOf("resources"), folder, seen, problems));
        if (problems.count() != before || id.isEmpty() || name.isEmpty() || policy.isEmpty()
                || resources.isEmpty()) {
            return new Draft(id, name, Optional.empty());
        }
        Policy p = policy.get();
        return new Draft(id, name, Optional.of(new WorkloadConfig(id.get().value(), name.get().value(),
                WorkloadConfig.Kind.SERVICE, resources.get(), p.preferred(), p.restricted(), p.failback(),
                p.maxRestarts(), p.restartWindowMillis())));
    }

    private static Optional<At<Integer>> id(Section s, String example, Problems problems) {
        return s.required("id", example).flatMap(v -> {
            OptionalLong id = Scalars.whole(v, s.path("id"), problems, 1, DiskLayout.MAX_WORKLOADS, example);
            return id.isPresent()
                    ? Optional.of(new At<>((int) id.getAsLong(), s.path("id"), v.line()))
                    : Optional.empty();
        });
    }

    /** A VE's name, VeSpec's rule, which is the cluster and node name rule with a letter first. */
    private static Optional<At<String>> veName(YamlNode value, String path, Problems problems) {
        Optional<String> text = Scalars.text(value, path, problems, "name: web");
        Optional<String> problem = text.flatMap(t -> Names.problem(t, true));
        if (problem.isPresent()) {
            problems.add(value.line(), path, problem.get(), "use a name like '"
                    + Names.suggestion(text.get(), true, "web")
                    + "'; a VE's name also names its folder and tap devices");
            return Optional.empty();
        }
        return text.map(t -> new At<>(t, path, value.line()));
    }

    /** A service's or an exec or OCF resource's name: ExecResource's and OcfResource's rule. */
    private static Optional<At<String>> resourceName(YamlNode value, String path, String fallback, Problems problems) {
        Optional<String> text = Scalars.text(value, path, problems, "name: " + fallback);
        if (text.isPresent() && !RESOURCE_NAME.matcher(text.get()).matches()) {
            String shown = YamlNode.shown(text.get());
            String suggestion = text.get().replaceAll("[^A-Za-z0-9_.:-]", "-").replaceFirst("^[^A-Za-z0-9]+", "");
            suggestion = suggestion.length() > 63 ? suggestion.substring(0, 63) : suggestion;
            problems.add(value.line(), path, "'" + shown + "' is not a valid name: 1 to 63 letters, digits, '_', '.',"
                    + " ':' or '-', starting with a letter or digit", "use a name like '"
                            + (RESOURCE_NAME.matcher(suggestion).matches() ? suggestion : fallback) + "'");
            return Optional.empty();
        }
        return text.map(t -> new At<>(t, path, value.line()));
    }

    /** Placement and restart policy: the same keys for VEs and services. */
    private record Policy(List<Integer> preferred, boolean restricted, boolean failback, int maxRestarts,
            long restartWindowMillis) {}

    private static Optional<Policy> policy(Section s, Nodes nodes, Problems problems) {
        int before = problems.count();
        Optional<List<Integer>> preferred = s.optional("preferred")
                .map(v -> preferred(v, s.path("preferred"), nodes, problems))
                .orElse(Optional.of(List.of()));
        boolean restricted = flag(s, "restricted", problems);
        boolean failback = flag(s, "failback", problems);
        long maxRestarts = whole(s, "maxRestarts", 0, MAX_RESTARTS, WorkloadConfig.DEFAULT_MAX_RESTARTS, problems);
        long windowSeconds = whole(s, "restartWindowSeconds", 0, MAX_RESTART_WINDOW_SECONDS,
                WorkloadConfig.DEFAULT_RESTART_WINDOW_MILLIS / 1000, problems);
        // A domain with problems is about to be edited; whether it ends up empty is not known.
        if (restricted && preferred.isPresent() && preferred.get().isEmpty()) {
            problems.add(s.lineOf("restricted"), s.path("restricted"), "restricted is true but no preferred nodes"
                    + " are listed, so no node could run it", "list the nodes it may run on, e.g. preferred: ["
                            + (nodes.ids().isEmpty() ? "node-1" : String.join(", ", nodes.ids().keySet()))
                            + "], or remove restricted");
        }
        if (problems.count() != before || preferred.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new Policy(preferred.get(), restricted, failback, (int) maxRestarts, windowSeconds * 1000));
    }

    /** Node names in order of preference, resolved to node ids; empty after a problem. */
    private static Optional<List<Integer>> preferred(YamlNode value, String path, Nodes nodes, Problems problems) {
        String example = "preferred: [" + (nodes.ids().isEmpty() ? "node-1, node-2"
                : String.join(", ", nodes.ids().keySet().stream().limit(2).toList())) + "]";
        if (!(value instanceof YamlNode.Sequence list)) {
            String fix = value instanceof YamlNode.Text t
                    ? "write it as a list, even of one node: preferred: [" + YamlNode.shown(t.value()) + "]"
                    : "write the node names in order of preference, e.g. " + example;
            problems.add(value.line(), path, "expected a list of node names, found " + value.describe(), fix);
            return Optional.empty();
        }
        List<Integer> ids = new ArrayList<>();
        Map<String, String> firstPath = new HashMap<>();
        boolean complete = true;
        for (int i = 0; i < list.items().size(); i++) {
            YamlNode item = list.items().get(i);
            String itemPath = path + "[" + i + "]";
            if (item instanceof YamlNode.WholeNumber n) {
                // A node id where its name belongs; name the node when there is one with that id.
                String name = nodes.ids().entrySet().stream().filter(e -> e.getValue().toString().equals(n.source()))
                        .map(Map.Entry::getKey).findFirst().orElse("node-1");
                problems.add(item.line(), itemPath, "expected a node name, found the number "
                        + YamlNode.shown(n.source()), "preferred lists node names, not ids: write " + name);
                complete = false;
                continue;
            }
            Optional<String> name = Scalars.text(item, itemPath, problems, example);
            if (name.isEmpty()) {
                complete = false;
                continue;
            }
            Integer id = nodes.ids().get(name.get());
            if (id == null) {
                complete = false;
                if (nodes.readable() && !nodes.written().contains(name.get())) {
                    List<String> known = List.copyOf(nodes.ids().keySet());
                    problems.add(item.line(), itemPath, "node '" + YamlNode.shown(name.get())
                            + "' is not one of the nodes (" + nodes.known() + ")", Section.closest(name.get(), known)
                                    .map(k -> "did you mean '" + k + "'?")
                                    .orElse("use one of " + nodes.known() + ", or add the node under nodes"));
                }
                continue;
            }
            String earlier = firstPath.putIfAbsent(name.get(), itemPath);
            if (earlier != null) {
                problems.add(item.line(), itemPath, "node '" + name.get() + "' is listed twice (first as " + earlier
                        + ")", "remove one of the two; the list is an order of preference");
                complete = false;
                continue;
            }
            ids.add(id);
        }
        return complete ? Optional.of(ids) : Optional.empty();
    }

    private static Optional<List<Resource>> resources(YamlNode value, String path, int line, Path folder, Seen seen,
            Problems problems) {
        if (!(value instanceof YamlNode.Sequence list)) {
            problems.add(value.line(), path, "expected a list of resources, found " + value.describe(),
                    "write each resource as " + RESOURCE_EXAMPLE);
            return Optional.empty();
        }
        if (list.items().isEmpty() || list.items().size() > WorkloadConfig.MAX_RESOURCES) {
            problems.add(line, path, "lists " + list.items().size() + " resources, a service needs 1 to "
                    + WorkloadConfig.MAX_RESOURCES, list.items().isEmpty()
                            ? "add the resources it is made of, in start order, e.g. " + RESOURCE_EXAMPLE
                            : "keep at most " + WorkloadConfig.MAX_RESOURCES
                                    + " resources, or split it into services placed together");
            return Optional.empty();
        }
        int before = problems.count();
        List<Optional<Resource>> resources = new ArrayList<>();
        List<At<String>> names = new ArrayList<>();
        for (int i = 0; i < list.items().size(); i++) {
            resources.add(resource(list.items().get(i), path + "[" + i + "]", folder, seen, names, problems));
        }
        reportDuplicates(names, problems, name -> "resource name '" + name + "' in this service",
                at -> "give each resource of a service its own name");
        if (problems.count() != before || resources.stream().anyMatch(Optional::isEmpty)) {
            return Optional.empty();
        }
        return Optional.of(resources.stream().map(Optional::orElseThrow).toList());
    }

    private enum Kind { OCF, EXEC, VE }

    private static Optional<Resource> resource(YamlNode value, String path, Path folder, Seen seen,
            List<At<String>> names, Problems problems) {
        Optional<Section> section = Section.of(value, path, value.line(), problems, RESOURCE_KEYS, RESOURCE_EXAMPLE);
        if (section.isEmpty()) {
            return Optional.empty();
        }
        Section s = section.get();
        int before = problems.count();
        List<String> kinds = Stream.of("ocf", "exec", "ve").filter(k -> s.optional(k).isPresent()).toList();
        if (kinds.isEmpty()) {
            problems.add(s.line(), path, "the resource has no kind: it needs one of ocf, exec or ve",
                    "add ocf: heartbeat:IPaddr2 (an OCF agent), " + EXEC_EXAMPLE
                            + " (three commands) or ve: {kernel: ...} (a VE)");
        }
        for (String other : kinds.subList(Math.min(1, kinds.size()), kinds.size())) {
            problems.add(s.lineOf(other), s.path(other), "the resource is already of kind " + kinds.getFirst()
                    + "; a resource has exactly one of ocf, exec and ve",
                    "make it a resource of its own, with its own name, or remove " + other);
        }
        Optional<Kind> kind = kinds.size() == 1
                ? Optional.of(Kind.valueOf(kinds.getFirst().toUpperCase(Locale.ROOT)))
                : Optional.empty();
        boolean isVe = kind.equals(Optional.of(Kind.VE));
        Optional<At<String>> name = s.required("name", "name: app")
                .flatMap(v -> isVe ? veName(v, s.path("name"), problems)
                        : resourceName(v, s.path("name"), "app", problems));
        name.ifPresent(names::add);
        if (isVe) {
            name.ifPresent(seen.veResourceNames()::add);
        }
        kind.ifPresent(k -> {
            if (k != Kind.OCF && s.optional("params").isPresent()) {
                problems.add(s.lineOf("params"), s.path("params"), "params are an OCF agent's, and this resource is"
                        + " of kind " + kinds.getFirst(), k == Kind.EXEC
                                ? "pass settings to the commands as arguments or under environment:"
                                : "remove it; a VE's settings are the keys under ve:");
            }
            if (k != Kind.EXEC && s.optional("environment").isPresent()) {
                problems.add(s.lineOf("environment"), s.path("environment"), "environment is for the commands of an"
                        + " exec resource, and this resource is of kind " + kinds.getFirst(), k == Kind.OCF
                                ? "pass the agent's settings under params:, e.g. params: {ip: 198.18.0.50}"
                                : "remove it; a VE's guest takes settings through its cmdline or image");
            }
        });
        Optional<OcfAgent> agent = s.optional("ocf").flatMap(v -> ocfAgent(v, s.path("ocf"), problems));
        Map<String, String> params = kinds.contains("ocf")
                ? s.optional("params").map(v -> ocfParams(v, s.path("params"), problems)).orElse(Map.of())
                : Map.of();
        Optional<List<List<String>>> commands = s.optional("exec")
                .flatMap(v -> exec(v, s.path("exec"), s.lineOf("exec"), problems));
        Map<String, String> environment = kinds.contains("exec")
                ? s.optional("environment").map(v -> environment(v, s.path("environment"), problems)).orElse(Map.of())
                : Map.of();
        Optional<VeSpec> spec = s.optional("ve").flatMap(v -> Section.of(v, s.path("ve"), s.lineOf("ve"), problems,
                        VE_SPEC_KEYS, "ve: {memoryMib: 128, " + KERNEL_EXAMPLE + "}"))
                .flatMap(ve -> veSpec(ve, isVe ? name.map(At::value) : Optional.empty(), folder, seen, problems));
        Optional<Timing> timing = timing(s, isVe ? Timing.VE_DEFAULTS : Timing.EXEC_DEFAULTS, problems);
        if (problems.count() != before || kind.isEmpty() || name.isEmpty() || timing.isEmpty()) {
            return Optional.empty();
        }
        String n = name.get().value();
        return switch (kind.get()) {
            case OCF -> agent.map(a -> new Resource.Ocf(new OcfResource(n, a, params), timing.get()));
            case EXEC -> commands.map(c -> new Resource.Exec(
                    new ExecResource(n, c.get(0), c.get(1), c.get(2), environment), timing.get()));
            case VE -> spec.map(v -> new Resource.Ve(v, timing.get()));
        };
    }

    /** {@code provider:type} or {@code ocf:provider:type}. */
    private static Optional<OcfAgent> ocfAgent(YamlNode value, String path, Problems problems) {
        Optional<String> text = Scalars.text(value, path, problems, "ocf: heartbeat:IPaddr2");
        if (text.isEmpty()) {
            return Optional.empty();
        }
        String[] parts = text.get().split(":", -1);
        if (parts.length == 3 && parts[0].equals("ocf")) {
            parts = new String[] {parts[1], parts[2]};
        }
        if (parts.length != 2 || !OCF_COMPONENT.matcher(parts[0]).matches()
                || !OCF_COMPONENT.matcher(parts[1]).matches()) {
            problems.add(value.line(), path, "'" + YamlNode.shown(text.get()) + "' is not an OCF agent name of the"
                    + " form provider:type (each 1 to 64 letters, digits, '_', '.', '+' or '-')",
                    "name the agent as Pacemaker does, e.g. ocf: heartbeat:IPaddr2 (the agent"
                            + " /usr/lib/ocf/resource.d/heartbeat/IPaddr2)");
            return Optional.empty();
        }
        return Optional.of(new OcfAgent(parts[0], parts[1]));
    }

    /**
     * The agent's parameters, each a scalar's text as written. Whether the agent knows them is
     * checked against its meta-data on each node (WorkloadCheck): the agent runs there.
     */
    private static Map<String, String> ocfParams(YamlNode value, String path, Problems problems) {
        if (!(value instanceof YamlNode.Mapping mapping)) {
            problems.add(value.line(), path, "expected a mapping of parameter names to values, found "
                    + value.describe(), "write it as params: {ip: 198.18.0.50, cidr_netmask: \"24\"}");
            return Map.of();
        }
        if (mapping.entries().size() > OcfResource.MAX_PARAMETERS) {
            problems.add(value.line(), path, "gives " + mapping.entries().size() + " parameters, at most "
                    + OcfResource.MAX_PARAMETERS, "keep only the parameters that differ from the agent's defaults");
        }
        Map<String, String> params = new LinkedHashMap<>();
        for (Entry entry : mapping.entries()) {
            String key = entry.key();
            String keyPath = path + "." + YamlNode.shown(key);
            if (!OCF_PARAMETER.matcher(key).matches()) {
                problems.add(entry.line(), keyPath, "'" + YamlNode.shown(key) + "' is not an OCF parameter name: 1 to"
                        + " 64 letters, digits or '_', not starting with a digit (it becomes OCF_RESKEY_NAME)",
                        "write the name as the agent's meta-data spells it");
                continue;
            }
            if (key.startsWith("CRM_meta_")) {
                problems.add(entry.line(), keyPath, "'" + key + "' is set by Baton on each call (the call's timeout"
                        + " and the monitor's interval)", "remove it; set the timeouts with startTimeoutSeconds and"
                                + " the like on the resource");
                continue;
            }
            scalar(entry.value(), keyPath, "parameter", problems)
                    .filter(v -> valueOk(v, OcfResource.MAX_VALUE_CHARS, entry.value().line(), keyPath, problems))
                    .ifPresent(v -> params.put(key, v));
        }
        return params;
    }

    /** The start, stop and status commands, in that order; empty after a problem. */
    private static Optional<List<List<String>>> exec(YamlNode value, String path, int line, Problems problems) {
        Optional<Section> section = Section.of(value, path, line, problems, EXEC_KEYS, EXEC_EXAMPLE);
        if (section.isEmpty()) {
            return Optional.empty();
        }
        Section s = section.get();
        List<Optional<List<String>>> commands = new ArrayList<>();
        for (String action : EXEC_KEYS) {
            String example = action + ": [/usr/bin/app, " + action + "]";
            commands.add(s.required(action, example).flatMap(v -> argv(v, s.path(action), example, problems)));
        }
        return commands.stream().allMatch(Optional::isPresent)
                ? Optional.of(commands.stream().map(Optional::orElseThrow).toList())
                : Optional.empty();
    }

    /** One argument vector, run as is: the program is an absolute path, nothing goes through a shell. */
    private static Optional<List<String>> argv(YamlNode value, String path, String example, Problems problems) {
        if (!(value instanceof YamlNode.Sequence list)) {
            String fix = value instanceof YamlNode.Text t
                    ? "write the program and its arguments as a list: " + path.substring(path.lastIndexOf('.') + 1)
                            + ": [" + String.join(", ", t.value().strip().split("\\s+")) + "]; it runs without a shell"
                    : "write the program and its arguments as a list, e.g. " + example;
            problems.add(value.line(), path, "expected a list of program and arguments, found " + value.describe(),
                    fix);
            return Optional.empty();
        }
        if (list.items().isEmpty() || list.items().size() > ExecResource.MAX_ARGUMENTS) {
            problems.add(value.line(), path, "has " + list.items().size() + " arguments, a command needs 1 to "
                    + ExecResource.MAX_ARGUMENTS, list.items().isEmpty()
                            ? "write the program and its arguments, e.g. " + example
                            : "keep at most " + ExecResource.MAX_ARGUMENTS + " arguments, or put them in a script");
            return Optional.empty();
        }
        List<String> argv = new ArrayList<>();
        for (int i = 0; i < list.items().size(); i++) {
            YamlNode item = list.items().get(i);
            String itemPath = path + "[" + i + "]";
            Optional<String> argument = scalar(item, itemPath, "argument", problems)
                    .filter(a -> valueOk(a, ExecResource.MAX_ARGUMENT_CHARS, item.line(), itemPath, problems));
            if (argument.isEmpty()) {
                continue;
            }
            if (i == 0 && !argument.get().startsWith("/")) {
                problems.add(item.line(), itemPath, "the program '" + YamlNode.shown(argument.get())
                        + "' is not an absolute path", "write its full path, e.g. /usr/bin/"
                                + programName(argument.get())
                                + "; Baton runs commands without a PATH lookup, so that what runs does not depend"
                                + " on one");
                continue;
            }
            argv.add(argument.get());
        }
        return argv.size() == list.items().size() ? Optional.of(argv) : Optional.empty();
    }

    private static Map<String, String> environment(YamlNode value, String path, Problems problems) {
        if (!(value instanceof YamlNode.Mapping mapping)) {
            problems.add(value.line(), path, "expected a mapping of variable names to values, found "
                    + value.describe(), "write it as environment: {PORT: \"8080\"}");
            return Map.of();
        }
        Map<String, String> environment = new LinkedHashMap<>();
        for (Entry entry : mapping.entries()) {
            String key = entry.key();
            String keyPath = path + "." + YamlNode.shown(key);
            if (!VARIABLE.matcher(key).matches()) {
                problems.add(entry.line(), keyPath, "'" + YamlNode.shown(key) + "' is not a variable name: 1 to 64"
                        + " letters, digits or '_', not starting with a digit", "write it like PORT or APP_HOME");
                continue;
            }
            if (FIXED_ENVIRONMENT.contains(key)) {
                problems.add(entry.line(), keyPath, key + " is set by Baton for every command ("
                        + String.join(", ", new TreeSet<>(FIXED_ENVIRONMENT)) + ")",
                        "remove it; a command that needs another PATH can set it itself, e.g. [/usr/bin/env,"
                                + " PATH=/opt/app/bin, /opt/app/bin/app, start]");
                continue;
            }
            scalar(entry.value(), keyPath, "variable", problems)
                    .filter(v -> valueOk(v, ExecResource.MAX_ARGUMENT_CHARS, entry.value().line(), keyPath, problems))
                    .ifPresent(v -> environment.put(key, v));
        }
        return environment;
    }

    /**
     * What QEMU runs, from the keys of {@code s}; empty after a problem, and when {@code name}
     * is (its own problem was reported by the caller) or a MAC is given twice (reported when
     * MACs are compared across all VEs).
     */
    private static Optional<VeSpec> veSpec(Section s, Optional<String> name, Path folder, Seen seen,
            Problems problems) {
        int before = problems.count();
        long memoryMib = whole(s, "memoryMib", VeSpec.MIN_MEMORY_MIB, VeSpec.MAX_MEMORY_MIB, DEFAULT_MEMORY_MIB,
                problems);
        long vcpus = whole(s, "vcpus", 1, VeSpec.MAX_VCPUS, DEFAULT_VCPUS, problems);
        Optional<VeSpec.Boot> boot = boot(s, folder, problems);
        Optional<List<VeSpec.Nic>> nics = s.optional("nics")
                .map(v -> nics(v, s.path("nics"), s.lineOf("nics"), seen, problems))
                .orElse(Optional.of(List.of()));
        VeSpec.Accel accel = s.optional("accel").flatMap(v -> accel(v, s.path("accel"), problems))
                .orElse(VeSpec.Accel.AUTO);
        if (problems.count() != before || name.isEmpty() || boot.isEmpty() || nics.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new VeSpec(name.get(), (int) memoryMib, (int) vcpus, boot.get(), nics.get(), accel));
    }

    /** Exactly one of kernel (with initrd and cmdline) and image (with format). */
    private static Optional<VeSpec.Boot> boot(Section s, Path folder, Problems problems) {
        Optional<YamlNode> kernel = s.optional("kernel");
        Optional<YamlNode> image = s.optional("image");
        int before = problems.count();
        if (kernel.isPresent() && image.isPresent()) {
            problems.add(s.lineOf("image"), s.path("image"), "both kernel (line " + s.lineOf("kernel")
                    + ") and image are given; a VE boots either a kernel or a disk image",
                    "remove image to boot the kernel, or remove kernel (with initrd and cmdline) to boot the image");
        }
        if (kernel.isEmpty() && image.isEmpty()) {
            problems.add(s.line(), Section.displayPath(s.path()), "neither kernel nor image is given, so the VE has"
                    + " nothing to boot", "add '" + KERNEL_EXAMPLE + "' to boot a kernel directly, or '"
                            + IMAGE_EXAMPLE + "' to boot a disk image");
        }
        Optional<Path> kernelPath = kernel.flatMap(v -> Scalars.path(v, s.path("kernel"), folder, problems,
                KERNEL_EXAMPLE));
        Optional<Path> initrd = s.optional("initrd").flatMap(v -> Scalars.path(v, s.path("initrd"), folder, problems,
                "initrd: /var/cache/baton/guest/initramfs.cpio.gz"));
        Optional<String> cmdline = s.optional("cmdline").flatMap(v -> cmdline(v, s.path("cmdline"), problems));
        Optional<Path> imagePath = image.flatMap(v -> Scalars.path(v, s.path("image"), folder, problems,
                IMAGE_EXAMPLE));
        Optional<VeSpec.DiskFormat> format = s.optional("format").flatMap(v -> format(v, s.path("format"), problems));
        if (image.isPresent() && kernel.isEmpty()) {
            for (String key : List.of("initrd", "cmdline")) {
                if (s.optional(key).isPresent()) {
                    problems.add(s.lineOf(key), s.path(key), key + " belongs to a kernel boot, and this VE boots"
                            + " the image", "remove " + key + ", or boot a kernel: replace image with kernel");
                }
            }
        }
        if (kernel.isPresent() && image.isEmpty() && s.optional("format").isPresent()) {
            problems.add(s.lineOf("format"), s.path("format"), "format is a disk image's, and this VE boots a kernel",
                    "remove format, or boot a disk image: replace kernel with image");
        }
        if (problems.count() != before) {
            return Optional.empty();
        }
        return kernelPath.isPresent()
                ? Optional.of(new VeSpec.Boot.Kernel(kernelPath.get(), initrd, cmdline.orElse("")))
                : imagePath.map(i -> new VeSpec.Boot.Disk(i, format.orElse(VeSpec.DiskFormat.QCOW2)));
    }

    private static Optional<String> cmdline(YamlNode value, String path, Problems problems) {
        Optional<String> text = Scalars.text(value, path, problems, "cmdline: \"console=ttyS0\"");
        if (text.isEmpty()) {
            return Optional.empty();
        }
        String cmdline = text.get();
        if (cmdline.length() > VeSpec.MAX_CMDLINE_CHARS) {
            problems.add(value.line(), path, "the kernel command line has " + cmdline.length()
                    + " characters, the kernel keeps at most " + VeSpec.MAX_CMDLINE_CHARS + " and cuts the rest",
                    "shorten it; settings for the guest's programs can go into its initrd or image");
            return Optional.empty();
        }
        for (int i = 0; i < cmdline.length(); i++) {
            char c = cmdline.charAt(i);
            if (c < 0x20 || c >= 0x7f) {
                problems.add(value.line(), path, "the kernel command line has the character "
                        + String.format("U+%04X", (int) c) + " at position " + i + ", outside printable ASCII",
                        "write it on one line in printable ASCII, without tabs or line breaks");
                return Optional.empty();
            }
        }
        return text;
    }

    private static Optional<VeSpec.DiskFormat> format(YamlNode value, String path, Problems problems) {
        Optional<String> text = Scalars.text(value, path, problems, "format: qcow2");
        return text.flatMap(t -> switch (t) {
            case "qcow2" -> Optional.of(VeSpec.DiskFormat.QCOW2);
            case "raw" -> Optional.of(VeSpec.DiskFormat.RAW);
            default -> {
                problems.add(value.line(), path, "unknown image format '" + YamlNode.shown(t) + "'",
                        "write format: qcow2 (the default) or format: raw");
                yield Optional.empty();
            }
        });
    }

    private static Optional<VeSpec.Accel> accel(YamlNode value, String path, Problems problems) {
        Optional<String> text = Scalars.text(value, path, problems, "accel: tcg");
        return text.flatMap(t -> switch (t) {
            case "tcg" -> Optional.of(VeSpec.Accel.TCG);
            case "kvm" -> Optional.of(VeSpec.Accel.KVM);
            case "auto" -> Optional.of(VeSpec.Accel.AUTO);
            default -> {
                problems.add(value.line(), path, "unknown accelerator '" + YamlNode.shown(t) + "'",
                        "write accel: tcg (emulation, works everywhere), accel: kvm, or accel: auto (kvm where"
                                + " /dev/kvm opens, else tcg; the default)");
                yield Optional.empty();
            }
        });
    }

    /** The NICs; empty after a problem or when a MAC is given twice (reported across all VEs). */
    private static Optional<List<VeSpec.Nic>> nics(YamlNode value, String path, int line, Seen seen,
            Problems problems) {
        if (!(value instanceof YamlNode.Sequence list)) {
            problems.add(value.line(), path, "expected a list of NICs, found " + value.describe(),
                    "write it as nics: [" + NIC_EXAMPLE + "]");
            return Optional.empty();
        }
        if (list.items().size() > VeSpec.MAX_NICS) {
            problems.add(line, path, "lists " + list.items().size() + " NICs, at most " + VeSpec.MAX_NICS
                    + " are supported", "keep at most " + VeSpec.MAX_NICS + " NICs");
            return Optional.empty();
        }
        List<VeSpec.Nic> nics = new ArrayList<>();
        Set<String> macs = new HashSet<>();
        boolean complete = true;
        for (int i = 0; i < list.items().size(); i++) {
            YamlNode item = list.items().get(i);
            String itemPath = path + "[" + i + "]";
            Optional<Section> section = Section.of(item, itemPath, item.line(), problems, NIC_KEYS, NIC_EXAMPLE);
            if (section.isEmpty()) {
                complete = false;
                continue;
            }
            Section s = section.get();
            Optional<String> mac = s.required("mac", "mac: \"52:54:00:12:34:56\"")
                    .flatMap(v -> mac(v, s.path("mac"), problems));
            mac.ifPresent(m -> seen.macs().add(new At<>(m, s.path("mac"), s.lineOf("mac"))));
            Optional<String> bridge = s.required("bridge", "bridge: br0")
                    .flatMap(v -> bridge(v, s.path("bridge"), problems));
            if (mac.isEmpty() || bridge.isEmpty() || !macs.add(mac.get())) {
                complete = false;
                continue;
            }
            nics.add(new VeSpec.Nic(mac.get(), bridge.get()));
        }
        return complete ? Optional.of(nics) : Optional.empty();
    }

    /** Six hex octets, unicast; lower case, as VeSpec.Nic keeps it. */
    private static Optional<String> mac(YamlNode value, String path, Problems problems) {
        Optional<String> text = Scalars.text(value, path, problems, "mac: \"52:54:00:12:34:56\"");
        if (text.isEmpty()) {
            return Optional.empty();
        }
        String mac = text.get().toLowerCase(Locale.ROOT);
        if (!MAC.matcher(mac).matches()) {
            problems.add(value.line(), path, "'" + YamlNode.shown(text.get()) + "' is not a MAC address of six hex"
                    + " octets separated by ':'", "write it like mac: \"52:54:00:12:34:56\" (52:54:00 is QEMU's"
                            + " prefix; quoted, so that YAML reads it as text)");
            return Optional.empty();
        }
        int first = Integer.parseInt(mac.substring(0, 2), 16);
        if ((first & 1) != 0) {
            problems.add(value.line(), path, "'" + mac + "' is a multicast address (its first octet is odd), which"
                    + " every bridge drops as a source", "use a unicast address, with an even first octet, e.g. "
                            + String.format("%02x", first & 0xfe) + mac.substring(2));
            return Optional.empty();
        }
        if (mac.equals("00:00:00:00:00:00")) {
            problems.add(value.line(), path, "'" + mac + "' is the all-zero address, which no NIC may have",
                    "use an address of its own, e.g. 52:54:00:12:34:56");
            return Optional.empty();
        }
        return Optional.of(mac);
    }

    private static Optional<String> bridge(YamlNode value, String path, Problems problems) {
        Optional<String> text = Scalars.text(value, path, problems, "bridge: br0");
        if (text.isPresent() && !IFNAME.matcher(text.get()).matches()) {
            problems.add(value.line(), path, "'" + YamlNode.shown(text.get()) + "' is not a Linux interface name"
                    + " (1 to 15 of A-Z a-z 0-9 _ . -)", "write the bridge's name as `ip link` shows it on every"
                            + " node, e.g. bridge: br0");
            return Optional.empty();
        }
        return text;
    }

    /** A resource's deadlines; any key left out keeps {@code defaults}'. */
    private static Optional<Timing> timing(Section s, Timing defaults, Problems problems) {
        int before = problems.count();
        long start = seconds(s, "startTimeoutSeconds", defaults.startTimeoutMillis(), problems);
        long stop = seconds(s, "stopTimeoutSeconds", defaults.stopTimeoutMillis(), problems);
        long interval = whole(s, "monitorIntervalMillis", Timing.MIN_MONITOR_INTERVAL_MILLIS, Timing.MAX_MILLIS,
                defaults.monitorIntervalMillis(), problems);
        long monitor = seconds(s, "monitorTimeoutSeconds", defaults.monitorTimeoutMillis(), problems);
        return problems.count() == before ? Optional.of(new Timing(start, stop, interval, monitor)) : Optional.empty();
    }

    /** An optional timeout in whole seconds, returned in milliseconds. */
    private static long seconds(Section s, String key, long defaultMillis, Problems problems) {
        return whole(s, key, 1, MAX_TIMEOUT_SECONDS, defaultMillis / 1000, problems) * 1000;
    }

    /** An optional whole number: its value, its default when absent, or the default after a (reported) problem. */
    private static long whole(Section s, String key, long min, long max, long fallback, Problems problems) {
        return FenceBinding.millis(s, key, fallback, min, max, problems);
    }

    /** An optional true or false; false when absent. */
    private static boolean flag(Section s, String key, Problems problems) {
        return flag(s, key, false, problems);
    }

    /** An optional true or false; {@code fallback} when absent. */
    static boolean flag(Section s, String key, boolean fallback, Problems problems) {
        Optional<YamlNode> value = s.optional(key);
        if (value.isEmpty()) {
            return fallback;
        }
        if (value.get() instanceof YamlNode.Bool b) {
            return b.value();
        }
        problems.add(value.get().line(), s.path(key), "expected true or false, found " + value.get().describe(),
                "write " + key + ": true or " + key + ": false, without quotes");
        return false;
    }

    /** A scalar's text as written: {@code PORT: 8080} and {@code PORT: "8080"} both give {@code 8080}. */
    private static Optional<String> scalar(YamlNode value, String path, String what, Problems problems) {
        return Scalars.asText(value, path, problems, what, "write its value, or \"\" for an empty one", "write one value as text");
    }

    /** The last component of a relative program path, for the example of its fix. */
    private static String programName(String program) {
        String last = program.substring(program.lastIndexOf('/') + 1);
        return last.isEmpty() || last.equals(".") || last.equals("..") ? "app" : YamlNode.shown(last);
    }

    /** What an environment variable can carry: at most {@code maxChars}, no NUL. */
    private static boolean valueOk(String value, int maxChars, int line, String path, Problems problems) {
        if (value.length() > maxChars || value.indexOf('\0') >= 0) {
            problems.add(line, path, "the value has " + value.length() + " characters" + (value.indexOf('\0') >= 0
                    ? " and a NUL character" : "") + "; at most " + maxChars + ", without NUL, can be passed",
                    "shorten it, or put it in a file and pass the file's path");
            return false;
        }
        return true;
    }

    /** Duplicate ids get a fix naming an id that is still free. */
    private static void reportDuplicateIds(List<Draft> drafts, Problems problems) {
        Set<Integer> used = new HashSet<>();
        drafts.forEach(d -> d.id().ifPresent(id -> used.add(id.value())));
        Optional<Integer> free = Stream.iterate(1, id -> id <= DiskLayout.MAX_WORKLOADS, id -> id + 1)
                .filter(id -> !used.contains(id)).findFirst();
        String fix = "give each VE and service its own id" + free.map(id -> ", e.g. " + id + " is free").orElse("")
                + "; the id is the workload's record on the quorum disk, so keep it once the cluster runs";
        reportDuplicates(drafts.stream().flatMap(d -> d.id().stream()).toList(), problems,
                id -> "workload id " + id, at -> fix);
    }

    /**
     * VE names name folders and tap devices on the host, so the VE resources of services need
     * names of their own too. VE workloads among themselves are covered by the workload names.
     */
    private static void reportDuplicateVeNames(List<Draft> drafts, Seen seen, Problems problems) {
        Map<String, At<String>> first = new HashMap<>();
        drafts.stream()
                .filter(d -> d.name().isPresent() && d.name().get().path().startsWith("ves["))
                .forEach(d -> first.putIfAbsent(d.name().get().value(), d.name().get()));
        for (At<String> at : seen.veResourceNames()) {
            At<String> earlier = first.putIfAbsent(at.value(), at);
            if (earlier != null) {
                problems.add(at.line(), at.path(), "duplicate VE name '" + at.value() + "', already used by "
                        + earlier.path() + " at line " + earlier.line() + "; a VE's name names its folder and tap"
                        + " devices on the host", "give each VE its own name");
            }
        }
    }

    private static <T> void reportDuplicates(List<At<T>> values, Problems problems, Function<T, String> what,
            Function<At<T>, String> fix) {
        Map<T, At<T>> first = new HashMap<>();
        for (At<T> at : values) {
            At<T> earlier = first.putIfAbsent(at.value(), at);
            if (earlier != null) {
                problems.add(at.line(), at.path(), "duplicate " + what.apply(at.value()) + ", already used by "
                        + earlier.path() + " at line " + earlier.line(), fix.apply(at));
            }
        }
    }

    /** The next MAC after {@code mac} (in its last three octets) that no VE uses. */
    private static String freeMac(String mac, Set<String> used) {
        HexFormat hex = HexFormat.ofDelimiter(":");
        byte[] octets = hex.parseHex(mac);
        int low = ((octets[3] & 0xff) << 16) | ((octets[4] & 0xff) << 8) | (octets[5] & 0xff);
        for (int step = 1; step <= used.size() + 1; step++) {
            int next = (low + step) & 0xffffff;
            octets[3] = (byte) (next >> 16);
            octets[4] = (byte) (next >> 8);
            octets[5] = (byte) next;
            String candidate = hex.formatHex(octets);
            if (!used.contains(candidate)) {
                return candidate;
            }
        }
        throw new IllegalStateException("more MACs in use than were counted: " + used.size());
    }

    private static List<String> concat(List<String> a, List<String> b, List<String> c, List<String> d) {
        return Stream.of(a, b, c, d).flatMap(List::stream).toList();
    }
}
