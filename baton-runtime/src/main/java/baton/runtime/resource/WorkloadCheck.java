package baton.runtime.resource;

import baton.runtime.config.WorkloadConfig;
import baton.runtime.fence.ParameterProblem;
import baton.runtime.proc.ProcessCall;
import baton.runtime.ve.QemuCommand;
import baton.runtime.ve.QemuVm;
import baton.runtime.ve.VeSpec;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Whether this node can run the configured workloads: checked when the node starts, before it
 * may be given any. The configuration file is the same on every node and is checked at load
 * (WorkloadsBinding); what it names on the node's own disks is checked here, so that a missing
 * kernel or agent is found at start rather than when a failover needs the node:
 * <ul>
 *   <li>each VE's kernel, initrd and image are readable (the image also writable: QEMU opens the
 *       VE's disk for writing), {@code qemu-system-x86_64} is installed, and {@code /dev/kvm}
 *       opens where a VE asks for KVM;
 *   <li>each OCF agent is an executable under the OCF root, and its {@code meta-data} accepts the
 *       resource's parameters ({@link OcfMetadata#validate});
 *   <li>each exec command's program exists and is executable.
 * </ul>
 * The only thing run is each agent's {@code meta-data} action (once per agent), under a deadline.
 * A problem is one line naming the workload, the resource, what is wrong and the fix.
 */
public final class WorkloadCheck {
    /**
     * Per agent. The agents of resource-agents advise 5 s for meta-data; twice that leaves room
     * for a node busy starting up.
     */
    public static final Duration DEFAULT_META_DATA_DEADLINE = Duration.ofSeconds(10);

    /** Where QEMU is looked for besides the PATH: where Debian's qemu-system-x86 puts it. */
    public static final Path USR_BIN = Path.of("/usr/bin");
    public static final Path DEV_KVM = Path.of("/dev/kvm");

    private static final String INSTALL_QEMU = "install QEMU (Debian: apt-get install qemu-system-x86)";

    private final OcfDriver ocf;
    private final List<Path> programFolders;
    private final Path devKvm;
    private final Duration metaDataDeadline;

    /**
     * @param ocf runs the agents' meta-data; its OCF root is where the agents are looked for
     * @param programFolders where {@code qemu-system-x86_64} is looked for, in order
     * @param devKvm the KVM device, normally {@link #DEV_KVM}
     * @param metaDataDeadline for each agent's meta-data action
     */
    public WorkloadCheck(OcfDriver ocf, List<Path> programFolders, Path devKvm, Duration metaDataDeadline) {
        this.ocf = Objects.requireNonNull(ocf, "ocf");
        this.programFolders = List.copyOf(programFolders);
        this.devKvm = Objects.requireNonNull(devKvm, "devKvm");
        if (metaDataDeadline.isNegative() || metaDataDeadline.isZero()) {
            throw new IllegalArgumentException("metaDataDeadline " + metaDataDeadline + " must be positive");
        }
        this.metaDataDeadline = metaDataDeadline;
    }

    /** This host as the daemon runs on it: the default OCF root, QEMU looked for on {@code PATH} and in /usr/bin. */
    public static WorkloadCheck onThisHost() {
        return new WorkloadCheck(new OcfDriver(), searchPath(System.getenv("PATH")), DEV_KVM,
                DEFAULT_META_DATA_DEADLINE);
    }

    /** The absolute folders of a {@code PATH} value (null: none), then /usr/bin, each once. */
    public static List<Path> searchPath(String path) {
        Set<Path> folders = new LinkedHashSet<>();
        for (String entry : path == null ? new String[0] : path.split(":")) {
            try {
                Path folder = Path.of(entry);
                if (folder.isAbsolute()) {
                    folders.add(folder.normalize());
                }
            } catch (InvalidPathException e) {
                // Not a folder anything could be found in; QemuVm's process start would skip it too.
            }
        }
        folders.add(USR_BIN);
        return List.copyOf(folders);
    }

    /** Everything that would keep this node from running {@code workloads}, in their order; empty when nothing. */
    public List<String> problems(List<WorkloadConfig> workloads) throws InterruptedException {
        List<String> problems = new ArrayList<>();
        List<String> ves = new ArrayList<>();
        Map<OcfAgent, OcfMetadataResult> metadata = new HashMap<>();
        for (WorkloadConfig workload : workloads) {
            for (WorkloadConfig.Resource resource : workload.resources()) {
                String subject = subject(workload, resource);
                switch (resource) {
                    case WorkloadConfig.Resource.Ve ve -> {
                        ves.add(ve.spec().name());
                        checkVe(subject, ve.spec(), problems);
                    }
                    case WorkloadConfig.Resource.Ocf o -> checkOcf(subject, o.resource(), metadata, problems);
                    case WorkloadConfig.Resource.Exec e -> checkExec(subject, e.resource(), problems);
                }
            }
        }
        if (!ves.isEmpty() && qemu().isEmpty()) {
            problems.add((ves.size() == 1 ? "ve " : "ves ") + String.join(", ", ves) + ": " + QemuCommand.QEMU
                    + " is not installed (looked in " + String.join(", ", programFolders.stream().map(Path::toString)
                            .toList()) + "); fix: " + INSTALL_QEMU);
        }
        return List.copyOf(problems);
    }

    /** {@code ve web} for a VE workload, {@code service db, resource vip} for a service's resource. */
    private static String subject(WorkloadConfig workload, WorkloadConfig.Resource resource) {
        String workloadPart = workload.kind().label() + " " + workload.name();
        return workload.kind() == WorkloadConfig.Kind.VE
                ? workloadPart
                : workloadPart + ", resource " + resource.name();
    }

    /** Where QEMU is, if it is installed in one of the folders. */
    Optional<Path> qemu() {
        return programFolders.stream().map(folder -> folder.resolve(QemuCommand.QEMU))
                .filter(p -> Files.isRegularFile(p) && Files.isExecutable(p))
                .findFirst();
    }

    private void checkVe(String subject, VeSpec spec, List<String> problems) {
        switch (spec.boot()) {
            case VeSpec.Boot.Kernel k -> {
                readable(subject, "kernel", k.kernel(), problems);
                k.initrd().ifPresent(initrd -> readable(subject, "initrd", initrd, problems));
            }
            case VeSpec.Boot.Disk d -> {
                if (readable(subject, "image", d.image(), problems) && !Files.isWritable(d.image())) {
                    problems.add(subject + ": the image " + d.image() + " is not writable, and QEMU opens the VE's disk"
                            + " for writing; fix: give root write access to it (chmod u+w " + d.image() + ")");
                }
            }
        }
        if (spec.accel() == VeSpec.Accel.KVM && !QemuVm.kvmUsable(devKvm)) {
            problems.add(subject + ": accel is kvm, but " + devKvm + " cannot be opened for reading and writing here;"
                    + " fix: load KVM (modprobe kvm_intel or kvm_amd) and enable virtualisation in the firmware,"
                    + " or set accel: auto (KVM where it works, else TCG) or accel: tcg");
        }
    }

    /** Whether {@code file} is a readable file (or block device); adds a problem when not. */
    private static boolean readable(String subject, String what, Path file, List<String> problems) {
        if (!Files.exists(file)) {
            problems.add(subject + ": the " + what + " " + file + " does not exist on this node; fix: copy it to "
                    + file + " on every node (or onto storage they all mount), or correct the " + what + " path");
            return false;
        }
        if (Files.isDirectory(file)) {
            problems.add(subject + ": the " + what + " " + file + " is a folder; fix: name the " + what
                    + " file itself");
            return false;
        }
        if (!Files.isReadable(file)) {
            problems.add(subject + ": the " + what + " " + file + " is not readable; fix: give root read access"
                    + " to it and its folders");
            return false;
        }
        return true;
    }

    private void checkOcf(String subject, OcfResource resource, Map<OcfAgent, OcfMetadataResult> metadata,
            List<String> problems) throws InterruptedException {
        OcfAgent agent = resource.agent();
        Optional<String> unstartable = ProcessCall.unstartable("OCF resource agent", agent.path(ocf.ocfRoot()),
                "install the package that provides " + agent + " (Debian: apt-get install resource-agents)");
        if (unstartable.isPresent()) {
            problems.add(subject + ": " + unstartable.get());
            return;
        }
        OcfMetadataResult result = metadata.get(agent);
        if (result == null) {
            result = OcfMetadata.read(ocf, agent, metaDataDeadline);
            metadata.put(agent, result);
        }
        switch (result) {
            case OcfMetadataResult.Loaded loaded -> {
                for (ParameterProblem p : loaded.metadata().validate(resource.parameters())) {
                    problems.add(subject + ": " + p.message());
                }
            }
            case OcfMetadataResult.Unavailable u -> problems.add(subject + ": the parameters cannot be checked, the"
                    + " agent's meta-data is unavailable: " + u.reason() + "; fix: make `" + agent.path(ocf.ocfRoot())
                    + " meta-data` print its metadata");
        }
    }

    /** Each distinct program once, naming the commands that run it. */
    private static void checkExec(String subject, ExecResource resource, List<String> problems) {
        Map<String, List<String>> actionsByProgram = new LinkedHashMap<>();
        for (ExecAction action : ExecAction.values()) {
            actionsByProgram.computeIfAbsent(resource.command(action).getFirst(), p -> new ArrayList<>())
                    .add(action.name().toLowerCase(Locale.ROOT));
        }
        actionsByProgram.forEach((program, actions) -> ProcessCall.unstartable("exec command", Path.of(program),
                        "install the program")
                .ifPresent(p -> problems.add(subject + " (" + String.join(", ", actions) + "): " + p)));
    }
}
