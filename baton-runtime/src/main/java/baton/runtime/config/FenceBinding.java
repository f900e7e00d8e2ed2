package baton.runtime.config;

import baton.core.disk.DiskLayout;
import baton.core.fence.FenceLevel;
import baton.core.fence.FenceTopology;
import baton.runtime.fence.FenceDevice;
import baton.runtime.config.YamlNode.Entry;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Binds the fencing part of the configuration: the cluster's {@code fenceDevices:} and each
 * node's {@code fence:} levels. Everything is checked that can be checked without running an
 * agent: names, reserved and credential parameters, that secret files exist and are private,
 * that the agent is an executable file. Whether the agent knows the parameters needs its
 * metadata, which running it gives; that is the {@code baton fence check} command's job, not
 * the loader's, so that loading stays fast and free of side effects.
 */
final class FenceBinding {
    private FenceBinding() {}

    static final List<String> DEVICE_KEYS = List.of("agent", "parameters", "secretFiles");

    /**
     * Limit: two PDU outlets and a BMC for each of 32 nodes is 96; more is a generated file gone
     * wrong, and every device is a file check at load.
     */
    static final int MAX_FENCE_DEVICES = 128;

    private static final String DEVICE_EXAMPLE = "bmc-1: {agent: fence_ipmilan, parameters: {ip: 198.18.0.1}}";
    private static final String LEVELS_EXAMPLE = "fence: [[bmc-1], [pdu-a-7, pdu-b-7]]";

    /** The stdin protocol's parameter names (ParameterRules in the fence package, which is not public). */
    private static final Pattern PARAMETER_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]{0,63}");

    /** Set by Baton on each call, or making the agent exit 0 without acting (docs/fencing.md). */
    private static final Set<String> RESERVED = Set.of("action", "option", "help", "version");

    /**
     * Names whose value is a credential (the list of the fence package's ParameterRules, whose
     * FenceDevice refuses them too; checked here first for a message with a fix).
     */
    private static final Set<String> SECRET_NAMES = Set.of("password", "passwd", "snmp_priv_passwd",
            "community", "hexadecimal_kg", "secret_key", "access_key", "apikey", "token");

    private static final Set<PosixFilePermission> GROUP_OR_OTHERS = EnumSet.of(
            PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE,
            PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE);

    /**
     * What was written under {@code fenceDevices:}: the names (for the levels' check, also those
     * of devices with problems, so that one problem is not reported twice) and the devices that
     * could be built.
     */
    record Devices(Set<String> names, Map<String, FenceDevice> built) {
        static final Devices NONE = new Devices(Set.of(), Map.of());
    }

    static Devices devices(YamlNode value, String path, Path folder, Problems problems) {
        if (!(value instanceof YamlNode.Mapping mapping)) {
            problems.add(value.line(), path, "expected a mapping of device names to devices, found "
                    + value.describe(), "write each device under its name, e.g. " + DEVICE_EXAMPLE);
            return Devices.NONE;
        }
        if (mapping.entries().size() > MAX_FENCE_DEVICES) {
            problems.add(value.line(), path, "defines " + mapping.entries().size() + " devices, at most "
                    + MAX_FENCE_DEVICES + " are supported", "remove the devices no node uses");
        }
        Set<String> names = new HashSet<>();
        Map<String, FenceDevice> built = new TreeMap<>();
        for (Entry entry : mapping.entries()) {
            String name = entry.key();
            names.add(name);
            String devicePath = path + "." + YamlNode.shown(name);
            boolean nameOk = deviceNameProblem(name).map(p -> {
                problems.add(entry.line(), devicePath, p, "use a name like '" + deviceNameSuggestion(name) + "'");
                return false;
            }).orElse(true);
            if (name.equals(FenceLevel.POISON_PILL)) {
                problems.add(entry.line(), devicePath, "'" + FenceLevel.POISON_PILL + "' is Baton's disk-based fencing level,"
                        + " not a name for a device", "name the device otherwise, e.g. 'pdu-1'");
                nameOk = false;
            }
            boolean usable = nameOk;
            device(name, entry.value(), devicePath, entry.line(), folder, problems)
                    .filter(d -> usable)
                    .ifPresent(d -> built.put(name, d));
        }
        return new Devices(names, built);
    }

    private static Optional<FenceDevice> device(String name, YamlNode value, String path, int line, Path folder,
            Problems problems) {
        Optional<Section> section = Section.of(value, path, line, problems, DEVICE_KEYS,
                "agent: fence_ipmilan, with parameters: and secretFiles: below it");
        if (section.isEmpty()) {
            return Optional.empty();
        }
        Section s = section.get();
        int before = problems.count();
        Optional<Path> agent = s.required("agent", "agent: fence_ipmilan")
                .flatMap(v -> agent(v, s.path("agent"), problems));
        Map<String, String> parameters = s.optional("parameters")
                .map(v -> parameters(v, s.path("parameters"), problems))
                .orElse(Map.of());
        Map<String, Path> secretFiles = s.optional("secretFiles")
                .map(v -> secretFiles(v, s.path("secretFiles"), folder, parameters, problems))
                .orElse(Map.of());
        if (problems.count() != before || agent.isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.of(new FenceDevice(name, agent.get(), parameters, secretFiles));
        } catch (IllegalArgumentException e) {
            // The value shapes of the agents' stdin protocol (no line break, no surrounding blanks or
            // quotes, lengths) are FenceDevice's own rules; its message names no value, so it is
            // shown as it is rather than the rules being copied here.
            problems.add(line, path, e.getMessage(), "write each parameter value as plain text on one line,"
                    + " without surrounding blanks or double quotes (docs/fencing.md)");
            return Optional.empty();
        }
    }

    /** An agent name under /usr/sbin, or an absolute path; either way an executable file now. */
    private static Optional<Path> agent(YamlNode value, String path, Problems problems) {
        Optional<String> text = Scalars.text(value, path, problems, "agent: fence_ipmilan");
        if (text.isEmpty()) {
            return Optional.empty();
        }
        String shown = YamlNode.shown(text.get());
        Path agent;
        if (text.get().startsWith("/")) {
            agent = Path.of(text.get()).normalize();
        } else {
            try {
                agent = FenceDevice.agentPath(text.get());
            } catch (IllegalArgumentException e) {
                problems.add(value.line(), path, "'" + shown + "' is neither the name of a fence agent (fence_"
                        + " followed by lowercase letters, digits or '_') nor an absolute path",
                        "write the agent's name, e.g. agent: fence_ipmilan, or its absolute path");
                return Optional.empty();
            }
        }
        String install = "install the fence agents (apt-get install fence-agents)";
        if (!Files.exists(agent)) {
            problems.add(value.line(), path, "the agent " + agent + " does not exist",
                    install + ", or correct the agent's name or path");
            return Optional.empty();
        }
        if (!Files.isRegularFile(agent) || !Files.isExecutable(agent)) {
            problems.add(value.line(), path, "the agent " + agent + " is not an executable file",
                    install + ", or make it executable: chmod 755 " + agent);
            return Optional.empty();
        }
        return Optional.of(agent);
    }

    /** The plain parameters, in file order; those with problems are left out (and reported). */
    private static Map<String, String> parameters(YamlNode value, String path, Problems problems) {
        if (!(value instanceof YamlNode.Mapping mapping)) {
            problems.add(value.line(), path, "expected a mapping of parameter names to values, found "
                    + value.describe(), "write it as parameters: {ip: 198.18.0.1, username: admin}");
            return Map.of();
        }
        Map<String, String> parameters = new LinkedHashMap<>();
        for (Entry entry : mapping.entries()) {
            String key = entry.key();
            String keyPath = path + "." + YamlNode.shown(key);
            if (!nameOk(key, keyPath, entry.line(), problems)) {
                continue;
            }
            if (isSecretName(key)) {
                problems.add(entry.line(), keyPath, "parameter '" + key + "' holds a credential, which must never be"
                        + " written into the configuration (it is shared, logged and shown by the CLI)",
                        "put the value in a file readable only by root (chmod 600) and name it under secretFiles:,"
                                + " e.g. secretFiles: {" + key + ": /etc/baton/" + key + "}");
                continue;
            }
            parameterValue(entry.value(), keyPath, problems).ifPresent(v -> parameters.put(key, v));
        }
        return parameters;
    }

    /** A scalar's text as written: {@code lanplus: 1} and {@code lanplus: "1"} both send {@code lanplus=1}. */
    private static Optional<String> parameterValue(YamlNode value, String path, Problems problems) {
        return Scalars.asText(value, path, problems, "parameter", "write its value, or remove the parameter to use the agent's default",
                "write it as key: value; agents take one value per parameter");
    }

    private static Map<String, Path> secretFiles(YamlNode value, String path, Path folder,
            Map<String, String> parameters, Problems problems) {
        if (!(value instanceof YamlNode.Mapping mapping)) {
            problems.add(value.line(), path, "expected a mapping of parameter names to files, found "
                    + value.describe(), "write it as secretFiles: {password: /etc/baton/bmc-1.password}");
            return Map.of();
        }
        Map<String, Path> files = new LinkedHashMap<>();
        for (Entry entry : mapping.entries()) {
            String key = entry.key();
            String keyPath = path + "." + YamlNode.shown(key);
            if (!nameOk(key, keyPath, entry.line(), problems)) {
                continue;
            }
            if (parameters.containsKey(key)) {
                problems.add(entry.line(), keyPath, "parameter '" + key + "' is also given under parameters:",
                        "keep only one of the two");
                continue;
            }
            String example = key + ": /etc/baton/" + key;
            Scalars.path(entry.value(), keyPath, folder, problems, example)
                    .filter(file -> secretFileOk(key, file, entry.value().line(), keyPath, problems))
                    .ifPresent(file -> files.put(key, file));
        }
        return files;
    }

    /**
     * The file exists, is a regular file and is private; its content is read at every call
     * (a rotated password needs no restart), not here.
     */
    private static boolean secretFileOk(String parameter, Path file, int line, String path, Problems problems) {
        PosixFileAttributes attributes;
        try {
            attributes = Files.readAttributes(file, PosixFileAttributes.class);
        } catch (NoSuchFileException e) {
            problems.add(line, path, "the secret file " + file + " does not exist",
                    "write the " + parameter + " into it on every node, readable only by root: chmod 600 " + file);
            return false;
        } catch (AccessDeniedException e) {
            problems.add(line, path, "the secret file " + file + " cannot be examined: permission denied",
                    "run as the user that runs Baton (root), or check the folder's permissions");
            return false;
        } catch (IOException | UnsupportedOperationException e) {
            problems.add(line, path, "the secret file " + file + " cannot be examined: " + e.getClass().getSimpleName(),
                    "check that it is a file on a POSIX file system");
            return false;
        }
        if (!attributes.isRegularFile()) {
            problems.add(line, path, "the secret file " + file + " is not a regular file",
                    "point it at a file holding only the " + parameter);
            return false;
        }
        Set<PosixFilePermission> exposed = EnumSet.copyOf(attributes.permissions());
        exposed.retainAll(GROUP_OR_OTHERS);
        if (!exposed.isEmpty()) {
            problems.add(line, path, "the secret file " + file + " may be accessed by group or others (mode "
                    + mode(attributes.permissions()) + ")",
                    "chmod 600 " + file + ", and change the secret if others may have read it");
            return false;
        }
        return true;
    }

    /** Parameter name checks shared by parameters: and secretFiles:; reports and returns false on a problem. */
    private static boolean nameOk(String key, String path, int line, Problems problems) {
        if (!PARAMETER_NAME.matcher(key).matches()) {
            problems.add(line, path, "'" + YamlNode.shown(key) + "' is not a parameter name",
                    "use the name the agent's metadata gives (1 to 64 letters, digits, '_' or '-'),"
                            + " see fence_AGENT -o metadata");
            return false;
        }
        String folded = folded(key);
        if (RESERVED.contains(folded)) {
            String why = folded.equals("action") || folded.equals("option")
                    ? "is set by Baton on each call (off, status, ...); without it an agent reboots"
                    : "makes the agent print text and exit 0 without acting, which would read as success";
            problems.add(line, path, "parameter '" + key + "' is reserved: it " + why, "remove it");
            return false;
        }
        return true;
    }

    private static String folded(String name) {
        return name.replace('-', '_').toLowerCase(Locale.ROOT);
    }

    private static boolean isSecretName(String name) {
        String folded = folded(name);
        return SECRET_NAMES.contains(folded) || folded.contains("passw") && !folded.endsWith("_script");
    }

    private static String mode(Set<PosixFilePermission> permissions) {
        int mode = 0;
        for (PosixFilePermission p : permissions) {
            mode |= 1 << (8 - p.ordinal()); // OWNER_READ first: ordinal 0 is 0400
        }
        return String.format("%03o", mode);
    }

    /** FenceLevel's rule for device names, as a message. */
    static Optional<String> deviceNameProblem(String name) {
        if (name.isEmpty() || name.length() > FenceLevel.MAX_DEVICE_NAME_CHARS) {
            return Optional.of("device name '" + YamlNode.shown(name) + "' is " + name.length()
                    + " characters long, it needs 1 to " + FenceLevel.MAX_DEVICE_NAME_CHARS);
        }
        if (!name.chars().allMatch(c -> c > ' ' && c < 127 && c != '"')) {
            return Optional.of("device name '" + YamlNode.shown(name) + "' may contain only printable ASCII"
                    + " characters, no blanks or double quotes");
        }
        return Optional.empty();
    }

    private static String deviceNameSuggestion(String name) {
        String s = name.replaceAll("[^\\x21-\\x7e]|\"", "-");
        if (s.length() > FenceLevel.MAX_DEVICE_NAME_CHARS) {
            s = s.substring(0, FenceLevel.MAX_DEVICE_NAME_CHARS);
        }
        return deviceNameProblem(s).isEmpty() ? s : "bmc-1";
    }

    /**
     * The fencing topology from each node's {@code fence:} list, or empty after a problem. Reads
     * the nodes list that NodesBinding binds (and reports problems of); here only the
     * {@code fence} key and the node's {@code id} are looked at.
     */
    static Optional<FenceTopology> topology(YamlNode nodesValue, String path, Devices devices, boolean reboot,
                                            Problems problems) {
        if (!(nodesValue instanceof YamlNode.Sequence list)) {
            return Optional.empty(); // reported by NodesBinding
        }
        int before = problems.count();
        Map<Integer, List<FenceLevel>> levelsByNode = new TreeMap<>();
        Map<Integer, Long> delays = new TreeMap<>();
        for (int i = 0; i < list.items().size(); i++) {
            if (!(list.items().get(i) instanceof YamlNode.Mapping node)) {
                continue;
            }
            OptionalLong id = entry(node, "id").map(Entry::value)
                    .filter(v -> v instanceof YamlNode.WholeNumber)
                    .map(v -> parseId(((YamlNode.WholeNumber) v).source()))
                    .orElse(OptionalLong.empty());
            Optional<Entry> delay = entry(node, "fenceDelayMillis");
            if (delay.isPresent()) {
                OptionalLong ms = Scalars.whole(delay.get().value(), path + "[" + i + "].fenceDelayMillis", problems, 0,
                        FenceTopology.MAX_DELAY_NANOS / 1_000_000L, "fenceDelayMillis: 5000");
                if (ms.isPresent() && id.isPresent()) {
                    delays.put((int) id.getAsLong(), ms.getAsLong() * 1_000_000L);
                }
            }
            Optional<Entry> fence = entry(node, "fence");
            if (fence.isEmpty() || fence.get().value() instanceof YamlNode.Null) {
                continue; // no levels: this node cannot be fenced by power (FenceTopology)
            }
            String fencePath = path + "[" + i + "].fence";
            List<FenceLevel> levels = levels(fence.get(), fencePath, devices, problems);
            if (id.isPresent() && !levels.isEmpty()) {
                levelsByNode.put((int) id.getAsLong(), levels);
            }
        }
        return problems.count() == before ? Optional.of(new FenceTopology(levelsByNode, delays, reboot)) : Optional.empty();
    }

    static final List<String> SETTINGS_KEYS = List.of("action", "monitorIntervalMillis", "monitorTimeoutMillis",
            "watchdogTimeoutMillis", "workloadStopMillis");
    private static final String SETTINGS_EXAMPLE = "fencing: {action: off, monitorIntervalMillis: 30000}";

    /** The {@code fencing:} section; any key left out keeps its default. */
    static Optional<FencingConfig> settings(YamlNode value, String path, int line, Problems problems) {
        Optional<Section> section = Section.of(value, path, line, problems, SETTINGS_KEYS, SETTINGS_EXAMPLE);
        if (section.isEmpty()) {
            return Optional.empty();
        }
        Section s = section.get();
        FencingConfig d = FencingConfig.DEFAULTS;
        int before = problems.count();
        boolean reboot = d.reboot();
        Optional<YamlNode> action = s.optional("action");
        if (action.isPresent()) {
            Optional<String> a = Scalars.text(action.get(), s.path("action"), problems, "action: off");
            if (a.isPresent() && !a.get().equals("off") && !a.get().equals("reboot")) {
                problems.add(action.get().line(), s.path("action"), "unknown fence action '" + YamlNode.shown(a.get()) + "'",
                        "write 'off' (power off and check it is off; the default) or 'reboot' (the agent powers off and on)");
            }
            reboot = a.map("reboot"::equals).orElse(false);
        }
        long interval = millis(s, "monitorIntervalMillis", d.monitorIntervalMillis(), FencingConfig.MIN_MONITOR_INTERVAL_MILLIS,
                FencingConfig.MAX_MONITOR_INTERVAL_MILLIS, problems);
        long timeout = millis(s, "monitorTimeoutMillis", Math.min(d.monitorTimeoutMillis(), interval - 1), 1,
                FencingConfig.MAX_MILLIS, problems);
        long watchdog = millis(s, "watchdogTimeoutMillis", d.watchdogTimeoutMillis(), 0, FencingConfig.MAX_MILLIS, problems);
        long stop = millis(s, "workloadStopMillis", d.workloadStopMillis(), 0, FencingConfig.MAX_MILLIS, problems);
        if (problems.count() == before && timeout >= interval) {
            problems.add(s.lineOf("monitorTimeoutMillis"), s.path("monitorTimeoutMillis"), "the monitor timeout " + timeout
                    + " ms is not shorter than the monitor interval " + interval + " ms",
                    "make monitorTimeoutMillis shorter than monitorIntervalMillis, e.g. 20000 with 30000");
        }
        return problems.count() == before
                ? Optional.of(new FencingConfig(reboot, interval, timeout, watchdog, stop))
                : Optional.empty();
    }

    /** An optional whole number of a section: {@code fallback} when absent, or after a (reported) problem. */
    static long millis(Section s, String key, long fallback, long min, long max, Problems problems) {
        return s.optional(key).map(v -> Scalars.whole(v, s.path(key), problems, min, max, key + ": " + fallback).orElse(fallback))
                .orElse(fallback);
    }

    private static OptionalLong parseId(String source) {
        try {
            long id = Long.parseLong(source);
            return id >= 1 && id <= DiskLayout.MAX_NODES ? OptionalLong.of(id) : OptionalLong.empty();
        } catch (NumberFormatException e) {
            return OptionalLong.empty(); // reported by NodesBinding
        }
    }

    private static List<FenceLevel> levels(Entry fence, String path, Devices devices, Problems problems) {
        if (!(fence.value() instanceof YamlNode.Sequence list)) {
            problems.add(fence.value().line(), path, "expected a list of levels, found " + fence.value().describe(),
                    "write the levels in the order they are tried, each a list of devices, e.g. " + LEVELS_EXAMPLE);
            return List.of();
        }
        if (list.items().size() > FenceTopology.MAX_LEVELS) {
            problems.add(fence.line(), path, "lists " + list.items().size() + " levels, at most "
                    + FenceTopology.MAX_LEVELS + " are supported", "keep at most " + FenceTopology.MAX_LEVELS
                            + " levels; each level is tried in turn while the node's services wait");
            return List.of();
        }
        List<FenceLevel> levels = new ArrayList<>();
        for (int i = 0; i < list.items().size(); i++) {
            level(list.items().get(i), path + "[" + i + "]", devices, problems).ifPresent(levels::add);
        }
        return levels.size() == list.items().size() ? levels : List.of();
    }

    private static Optional<FenceLevel> level(YamlNode value, String path, Devices devices, Problems problems) {
        if (!(value instanceof YamlNode.Sequence list)) {
            String fix = value instanceof YamlNode.Text t
                    ? "write the level as a list, even of one device: - [" + YamlNode.shown(t.value()) + "]"
                    : "write the level as a list of device names, e.g. - [bmc-1]";
            problems.add(value.line(), path, "expected a list of device names, found " + value.describe(), fix);
            return Optional.empty();
        }
        if (list.items().isEmpty() || list.items().size() > FenceLevel.MAX_DEVICES) {
            problems.add(value.line(), path, "lists " + list.items().size() + " devices, a level needs 1 to "
                    + FenceLevel.MAX_DEVICES, list.items().isEmpty()
                            ? "name the devices that must all power the node off, e.g. - [bmc-1], or remove the level"
                            : "keep at most " + FenceLevel.MAX_DEVICES + " devices in a level");
            return Optional.empty();
        }
        List<String> names = new ArrayList<>();
        Map<String, String> firstPath = new LinkedHashMap<>();
        for (int i = 0; i < list.items().size(); i++) {
            YamlNode item = list.items().get(i);
            String itemPath = path + "[" + i + "]";
            Optional<String> name = Scalars.text(item, itemPath, problems, "- [bmc-1]");
            if (name.isEmpty()) {
                continue;
            }
            Optional<String> problem = deviceNameProblem(name.get());
            if (problem.isPresent()) {
                problems.add(item.line(), itemPath, problem.get(),
                        "use a name like '" + deviceNameSuggestion(name.get()) + "'");
                continue;
            }
            if (name.get().equals(FenceLevel.POISON_PILL) && list.items().size() > 1) {
                problems.add(item.line(), itemPath, FenceLevel.POISON_PILL + " shares a level with other devices",
                        "give the poison pill a level of its own, normally the last: - [" + FenceLevel.POISON_PILL + "]");
                continue;
            }
            if (!name.get().equals(FenceLevel.POISON_PILL) && !devices.names().contains(name.get())) {
                problems.add(item.line(), itemPath, "device '" + YamlNode.shown(name.get())
                        + "' is not defined under fenceDevices", devices.names().isEmpty()
                                ? "define it: fenceDevices: {" + YamlNode.shown(name.get())
                                        + ": {agent: fence_ipmilan, ...}}"
                                : Section.closest(name.get(), devices.names().stream().sorted().toList())
                                        .map(known -> "did you mean '" + known + "'?")
                                        .orElse("define it under fenceDevices, or use one of "
                                                + String.join(", ", devices.names().stream().sorted().toList())));
                continue;
            }
            String earlier = firstPath.putIfAbsent(name.get(), itemPath);
            if (earlier != null) {
                problems.add(item.line(), itemPath, "device '" + name.get() + "' appears twice in one level (first as "
                        + earlier + ")", "remove one of the two");
                continue;
            }
            names.add(name.get());
        }
        return names.size() == list.items().size() ? Optional.of(new FenceLevel(names)) : Optional.empty();
    }

    private static Optional<Entry> entry(YamlNode.Mapping mapping, String key) {
        return mapping.entries().stream().filter(e -> e.key().equals(key)).findFirst();
    }
}
