package baton.lab;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A lab machine as the kernel sees it: one cgroup v1 freezer cgroup,
 * {@code FREEZER/baton-lab/NETNS-mSEQ}, holding every process the machine started, however it
 * daemonized (setsid, double fork: a child is born in its parent's cgroup and cannot leave it
 * unless it writes to a cgroup.procs file, which lab workloads do not). So a power cut kills them
 * all, as a real power cut does, and a system hang stops them all.
 *
 * <p><b>Who does what.</b> The BMC's machine script creates the cgroup at power on and its shell
 * joins it before it execs the machine's command, so nothing the machine runs exists outside it.
 * {@link #destroy()} is the power cut: freeze (nothing forks while we look), SIGKILL every task,
 * thaw (a frozen task dies only once thawed), repeat until no task is left (bounded by
 * {@link #KILL_TIMEOUT}, reporting a stuck one), rmdir. {@link #freeze()} and {@link #thaw()}
 * are the whole-machine hang.
 *
 * <p><b>Paths.</b> Processes started with {@code ip netns exec} (ipmi_sim, the Redfish server,
 * their machine scripts) live in a mount namespace whose fresh sysfs has no cgroup hierarchies.
 * They reach the cgroup through this JVM's root instead, {@code /proc/PID/root/...}
 * ({@link #dirForOtherNamespaces()}), which works for root as long as this JVM runs; once it has
 * died the lab is a leftover anyway, and a machine script that cannot join its cgroup refuses to
 * start.
 *
 * <p><b>Names.</b> The host's namespace name carries the lab's {@link LabTag}, so {@link Lab#close()}
 * removes its own machines' cgroups and the {@link Sweeper} those of dead labs, never another live
 * lab's. The parent {@code baton-lab} is shared by all labs and stays: removing it would race with
 * another lab's machine script creating its cgroup.
 */
public final class MachineCgroup {
    /** The folder under the freezer hierarchy's root that holds every lab machine's cgroup. */
    public static final String PARENT = "baton-lab";

    /** How long freezing may take: tasks freeze at their next return to user space, within milliseconds unless stuck in the kernel. */
    static final Duration FREEZE_TIMEOUT = Duration.ofSeconds(5);

    /** How long killed tasks may take to leave the cgroup: longer means one is stuck in the kernel. */
    static final Duration KILL_TIMEOUT = Duration.ofSeconds(10);

    private static final Path MOUNTS = Path.of("/proc/self/mounts");

    /** {@code NETNS-mSEQ}, where NETNS is a lab host's namespace name and so carries its lab's tag. */
    private static final Pattern NAME = Pattern.compile("(baton-lab-[0-9]{1,3}-[0-9]{1,10}-[0-9]{1,20}-[a-z0-9]+)-m[0-9]{1,19}");

    private static final AtomicLong SEQUENCE = new AtomicLong();

    private final Path dir;

    private MachineCgroup(Path dir) {
        this.dir = dir;
    }

    /**
     * The cgroup for a new machine on {@code host}, not created yet (the machine script creates it
     * at power on, see {@link #create()}). Throws if the machine has no cgroup v1 freezer hierarchy.
     */
    public static MachineCgroup forHost(Host host) {
        Path root = freezerRoot().orElseThrow(() -> new IllegalStateException(
                "no cgroup v1 freezer hierarchy is mounted (looked in " + MOUNTS + "); lab machines need one: "
                        + "mkdir -p /sys/fs/cgroup/freezer && mount -t cgroup -o freezer freezer /sys/fs/cgroup/freezer"));
        String name = host.netns() + "-m" + SEQUENCE.incrementAndGet();
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("host " + host.name() + " is not in a lab namespace: " + host.netns());
        }
        return new MachineCgroup(root.resolve(PARENT).resolve(name));
    }

    /** The cgroup whose directory, as this process sees it, is {@code dir}: e.g. a {@link #dirForOtherNamespaces()} handed to another process. */
    public static MachineCgroup at(Path dir) {
        return new MachineCgroup(dir);
    }

    /** The cgroup's directory as this process sees it. */
    public Path dir() {
        return dir;
    }

    public String name() {
        return dir.getFileName().toString();
    }

    /**
     * The cgroup's directory through this process's root, {@code /proc/PID/root/...}: the path
     * for processes in other mount namespaces (see the class comment), valid while this process runs.
     */
    public Path dirForOtherNamespaces() {
        return Path.of("/proc", Long.toString(ProcessHandle.current().pid()), "root").resolve(dir.toString().substring(1));
    }

    /** Creates the cgroup (and the shared parent) unless it exists. */
    public void create() {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the machine cgroup " + dir, e);
        }
    }

    public boolean exists() {
        return Files.isDirectory(dir);
    }

    /** The pids of every process in the cgroup (thread group ids, sorted); empty if it does not exist (the machine is off). */
    public List<Long> pids() {
        return pids(dir);
    }

    /** The freezer state: THAWED, FREEZING or FROZEN; empty if the cgroup does not exist. */
    public Optional<String> state() {
        try {
            return Optional.of(Files.readString(dir.resolve("freezer.state"), StandardCharsets.US_ASCII).strip());
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + dir.resolve("freezer.state"), e);
        }
    }

    /**
     * The whole machine hangs: every task stops where it is (state D in /proc) until {@link #thaw()}.
     * Returns once the freezer reports FROZEN; throws if it does not within {@link #FREEZE_TIMEOUT}
     * or if the machine is off.
     */
    public void freeze() {
        requireExists("freeze");
        writeState(dir, "FROZEN");
        if (!Poll.until(FREEZE_TIMEOUT, () -> state().map("FROZEN"::equals).orElse(true))) {
            throw new LabTimeoutException("machine cgroup " + dir + " is still " + state().orElse("gone") + " after " + FREEZE_TIMEOUT
                    + "; its tasks: " + describe(pids()));
        }
        requireExists("freeze");
    }

    /**
     * Moves one thread (task id) of a process into this cgroup, leaving the process's other
     * threads where they are: with {@link #freeze()}, one part of a program hangs while the rest
     * runs (the tests of a daemon's supervisor). The cgroup must exist ({@link #create()}).
     */
    public void addThread(long tid) {
        requireExists("add a thread to");
        try {
            Files.writeString(dir.resolve("tasks"), Long.toString(tid), StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot move thread " + tid + " into " + dir, e);
        }
    }

    /**
     * The task ids of {@code pid}'s threads whose name is {@code name} (as the kernel keeps it: at
     * most 15 characters, /proc/PID/task/TID/comm).
     */
    public static List<Long> threadsNamed(long pid, String name) {
        String comm = name.length() > 15 ? name.substring(0, 15) : name;
        List<Long> out = new java.util.ArrayList<>();
        try (var tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path t : (Iterable<Path>) tasks::iterator) {
                try {
                    if (Files.readString(t.resolve("comm"), StandardCharsets.US_ASCII).strip().equals(comm)) {
                        out.add(Long.parseLong(t.getFileName().toString()));
                    }
                } catch (IOException e) {
                    // the thread ended meanwhile
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list the threads of " + pid, e);
        }
        java.util.Collections.sort(out);
        return out;
    }

    /**
     * Whether the frozen thread {@code tid} stopped inside a system call (it waits in the kernel:
     * a futex, a sleep, a read), rather than while running in user space (/proc/TID/syscall says -1).
     */
    public static boolean frozenInSystemCall(long tid) {
        try {
            String s = Files.readString(Path.of("/proc", Long.toString(tid), "syscall"), StandardCharsets.US_ASCII).strip();
            return !s.startsWith("-1") && !s.startsWith("running");
        } catch (IOException e) {
            return false;
        }
    }

    /** How often thread {@code tid} gave up the CPU by itself (it slept or waited): -1 when it is gone. */
    public static long contextSwitches(long tid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(tid), "status"), StandardCharsets.US_ASCII)) {
                if (line.startsWith("voluntary_ctxt_switches:")) {
                    return Long.parseLong(line.substring(line.indexOf(':') + 1).strip());
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    /** Ends the hang: every task runs on. Throws if the machine is off. */
    public void thaw() {
        requireExists("thaw");
        writeState(dir, "THAWED");
    }

    /**
     * The power cut: freeze, SIGKILL every task, thaw, repeat until none is left, rmdir. Returns
     * the pids it killed; nothing if the cgroup does not exist. Throws {@link LabTimeoutException}
     * naming the survivors if tasks remain after {@link #KILL_TIMEOUT}, leaving the cgroup thawed
     * and in place so a later destroy (or the sweeper) can try again. Idempotent, and safe to race
     * with the machine script's own cut: both only kill and remove.
     */
    public List<Long> destroy() {
        return destroy(dir);
    }

    private static List<Long> destroy(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        List<Long> killed = new ArrayList<>();
        // Frozen, nothing forks between reading the list and killing it. A freeze that does not
        // complete (a task stuck in the kernel) is no reason to stop: kill what we can and report below.
        if (writeState(dir, "FROZEN")) {
            Poll.until(FREEZE_TIMEOUT, () -> !"FREEZING".equals(readState(dir)));
        }
        killAll(dir, killed);
        writeState(dir, "THAWED");
        long deadline = System.nanoTime() + KILL_TIMEOUT.toNanos();
        while (true) {
            List<Long> left = pids(dir);
            if (left.isEmpty()) {
                break;
            }
            if (System.nanoTime() - deadline >= 0) {
                throw new LabTimeoutException("machine cgroup " + dir + " still holds " + describe(left) + " after SIGKILL and " + KILL_TIMEOUT);
            }
            killAll(dir, killed);
            Poll.pause();
        }
        // Empty but possibly still busy for a moment while the last exits finish.
        while (true) {
            try {
                Files.deleteIfExists(dir);
                return List.copyOf(killed);
            } catch (FileSystemException e) {
                if (System.nanoTime() - deadline >= 0) {
                    throw new UncheckedIOException("cannot remove the empty machine cgroup " + dir, e);
                }
                Poll.pause();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot remove the machine cgroup " + dir, e);
            }
        }
    }

    /**
     * Destroys every machine cgroup whose lab tag {@code labs} accepts, and returns their names;
     * nothing if there is no freezer hierarchy. Every cgroup is tried even if one fails; the
     * failures are thrown together at the end.
     */
    public static List<String> destroyAll(Predicate<LabTag> labs) {
        Optional<Path> root = freezerRoot();
        if (root.isEmpty() || !Files.isDirectory(root.get().resolve(PARENT))) {
            return List.of();
        }
        List<Path> chosen;
        try (Stream<Path> dirs = Files.list(root.get().resolve(PARENT))) {
            chosen = dirs.filter(d -> labTag(d.getFileName().toString()).filter(labs).isPresent()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + root.get().resolve(PARENT), e);
        }
        List<String> destroyed = new ArrayList<>();
        List<RuntimeException> failures = new ArrayList<>();
        for (Path d : chosen) {
            try {
                destroy(d);
                destroyed.add(d.getFileName().toString());
            } catch (RuntimeException e) {
                failures.add(e);
            }
        }
        if (!failures.isEmpty()) {
            IllegalStateException e = new IllegalStateException("could not destroy " + failures.size() + " machine cgroup(s)");
            failures.forEach(e::addSuppressed);
            throw e;
        }
        return List.copyOf(destroyed);
    }

    /** The lab tag in a machine cgroup's name, or empty for any other name. */
    static Optional<LabTag> labTag(String name) {
        Matcher m = NAME.matcher(name);
        return m.matches() ? LabTag.parse(m.group(1)) : Optional.empty();
    }

    /** Where the freezer hierarchy is mounted in this process's mount namespace, from /proc/self/mounts. */
    static Optional<Path> freezerRoot() {
        List<String> lines;
        try {
            lines = Files.readAllLines(MOUNTS, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + MOUNTS, e);
        }
        for (String line : lines) {
            String[] f = line.split(" ");
            if (f.length >= 4 && f[2].equals("cgroup") && List.of(f[3].split(",")).contains("freezer")) {
                // Mount points with blanks are octal-escaped; the lab's hierarchy is never one.
                return Optional.of(Path.of(f[1]));
            }
        }
        return Optional.empty();
    }

    private void requireExists(String what) {
        if (!exists()) {
            throw new IllegalStateException("cannot " + what + " machine cgroup " + dir + ": it does not exist (the machine is off)");
        }
    }

    private static List<Long> pids(Path dir) {
        try {
            return Files.readAllLines(dir.resolve("cgroup.procs"), StandardCharsets.US_ASCII).stream()
                    .map(String::strip).filter(l -> !l.isEmpty()).map(Long::parseLong).sorted().toList();
        } catch (NoSuchFileException e) {
            return List.of();
        } catch (IOException e) {
            // A cgroup removed while its list is read (the machine script's own cut, racing this)
            // answers ENODEV: it has no tasks any more.
            if (!Files.isDirectory(dir) || "No such device".equals(e.getMessage())) {
                return List.of();
            }
            throw new UncheckedIOException("cannot read " + dir.resolve("cgroup.procs"), e);
        }
    }

    private static void killAll(Path dir, List<Long> killed) {
        for (long pid : pids(dir)) {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            if (!killed.contains(pid)) {
                killed.add(pid);
            }
        }
    }

    /** Writes the freezer state; false if the cgroup is gone meanwhile. */
    private static boolean writeState(Path dir, String state) {
        try {
            Files.writeString(dir.resolve("freezer.state"), state, StandardCharsets.US_ASCII, StandardOpenOption.WRITE);
            return true;
        } catch (NoSuchFileException e) {
            return false;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + state + " to " + dir.resolve("freezer.state"), e);
        }
    }

    private static String readState(Path dir) {
        try {
            return Files.readString(dir.resolve("freezer.state"), StandardCharsets.US_ASCII).strip();
        } catch (NoSuchFileException e) {
            return "gone";
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + dir.resolve("freezer.state"), e);
        }
    }

    /** Pids with their /proc state and command, for reports of stuck tasks. */
    private static String describe(List<Long> pids) {
        return pids.stream().map(pid -> pid + " (" + ProcStat.read(pid).map(s -> "state " + s.state()).orElse("gone")
                + ProcessHandle.of(pid).flatMap(h -> h.info().command()).map(c -> ", " + c).orElse("") + ")").toList().toString();
    }

    @Override
    public String toString() {
        return "machine cgroup " + dir;
    }
}
