package baton.lab.bmc;

import baton.lab.MachineCgroup;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The power of a lab BMC's machine: on is a running process, started from {@code machine.sh} in
 * the BMC's folder; off is that process and everything it started gone. Used by
 * {@link RedfishServer} inside the node host, so the machine is a process of that host, in its
 * network namespace; {@link RedfishBmc} writes the script and reads the pid it records.
 *
 * <p><b>Power off</b> is a power cut (SIGKILL to the machine and everything it started, what
 * fencing's ForceOff does: the node gets no chance to leave cleanly), or, gracefully, SIGTERM
 * first and SIGKILL {@link #KILL_WAIT} later; then waiting until the machine has exited. {@link #off()} returns only
 * then: a BMC that answers Off while the machine still runs would let a cluster recover a
 * workload that is still running, which is exactly what fencing must prevent. Processes the
 * machine started die with it even if the machine itself exits at SIGTERM: a real power cut
 * leaves nothing running.
 *
 * <p><b>The machine</b> is every process in its {@link MachineCgroup}, however it daemonized:
 * the script creates the cgroup and joins it before it execs the command. Power is on while the
 * command runs or anything it started still does; power off destroys the cgroup. The cgroup's path
 * (through the lab JVM's root, see {@link MachineCgroup#dirForOtherNamespaces()}) is in
 * {@code machine.cgroup}, which {@link RedfishBmc} writes with the script.
 *
 * <p>Not thread-safe: the server drives it from its one request thread.
 */
final class MachinePower {
    /** After SIGTERM, how long the machine has before SIGKILL: a lab machine that ignores SIGTERM is off 2 s later. */
    static final Duration KILL_WAIT = Duration.ofSeconds(2);

    /** How long killed processes may take to disappear: longer means one is stuck in the kernel. */
    static final Duration KILL_TIMEOUT = Duration.ofSeconds(10);

    static final String SCRIPT = "machine.sh";
    static final String PID_FILE = "machine.pid";
    static final String LOG_FILE = "machine.log";
    static final String CGROUP_FILE = "machine.cgroup";

    private final Path dir;
    private final MachineCgroup cgroup;
    private Process machine;

    MachinePower(Path dir) {
        this.dir = dir;
        this.cgroup = MachineCgroup.at(readCgroup(dir));
    }

    /** On while the command runs or anything it started does: a server whose daemon crashed still runs its VMs. */
    boolean isOn() {
        return machine != null && (machine.isAlive() || !cgroup.pids().isEmpty());
    }

    /** The pid of the machine's command, the last one started; only while {@link #isOn()}. */
    long pid() {
        if (!isOn()) {
            throw new IllegalStateException("the machine is off");
        }
        return machine.pid();
    }

    /** Starts the machine unless it runs; returns whether it started one. */
    boolean on() {
        if (isOn()) {
            return false;
        }
        try {
            Files.deleteIfExists(dir.resolve(PID_FILE));
            // A machine whose command exited on its own leaves an empty cgroup, which the script reuses.
            Process p = new ProcessBuilder(dir.resolve(SCRIPT).toString())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(LOG_FILE).toFile()))
                    .start();
            machine = p;
            return true;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + dir.resolve(SCRIPT), e);
        }
    }

    /**
     * Ends the machine unless it is off, at once ({@code hard}: a power cut) or after SIGTERM;
     * returns how: {@code "off already"}, {@code "cut"}, {@code "exited at SIGTERM"} or {@code "killed"}. Throws {@link IllegalStateException} if it, or a process it
     * started, outlives SIGKILL by {@link #KILL_TIMEOUT}; the power then stays on.
     */
    String off(boolean hard) {
        if (!isOn()) {
            return "off already";
        }
        boolean exited = !machine.isAlive();
        if (!hard && !exited) {
            machine.destroy();
            exited = waitFor(machine, KILL_WAIT);
        }
        // The command first: it may not have joined its cgroup yet, and once dead it cannot.
        machine.destroyForcibly();
        List<Long> killed;
        try {
            killed = cgroup.destroy();
        } catch (RuntimeException e) {
            throw new IllegalStateException("machine pid " + machine.pid() + ": a process it started outlived SIGKILL: " + e.getMessage(), e);
        }
        if (!waitFor(machine, KILL_TIMEOUT)) {
            throw new IllegalStateException("machine pid " + machine.pid() + " outlived SIGKILL by " + KILL_TIMEOUT);
        }
        try {
            Files.deleteIfExists(dir.resolve(PID_FILE));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + dir.resolve(PID_FILE), e);
        }
        PowerLog.append(dir);
        String others = killed.stream().filter(pid -> pid != machine.pid()).count() + " other process(es) killed";
        return (hard ? "cut" : exited ? "exited at SIGTERM" : "killed") + ", " + others;
    }

    /**
     * Writes {@code dir/machine.sh}, which creates the machine's cgroup at {@code cgroup} (a path
     * the server's mount namespace can reach) and joins it, records its pid in {@code machine.pid}
     * and then execs {@code command} with its output appended to {@code machine.log}: the exec
     * keeps the pid, so the recorded pid is the machine's, and the cgroup, so everything it starts
     * is in it. If it cannot join the cgroup it refuses to start. Also writes the cgroup's path to
     * {@code machine.cgroup} for {@link MachinePower}.
     */
    static void writeScript(Path dir, Path cgroup, List<String> command) throws IOException {
        StringBuilder exec = new StringBuilder("exec");
        for (String arg : command) {
            exec.append(' ').append(shellQuote(arg));
        }
        String c = shellQuote(cgroup.toString());
        String script = "#!/bin/sh\n"
                + "# Written by baton.lab.bmc.RedfishBmc: the machine behind the BMC's power.\n"
                + "# The machine is every process in this freezer cgroup (see baton.lab.MachineCgroup).\n"
                + "mkdir -p " + c + " && echo $$ > " + c + "/cgroup.procs || exit 1\n"
                + "echo $$ > " + shellQuote(dir.resolve(PID_FILE).toString()) + "\n"
                + exec + " >> " + shellQuote(dir.resolve(LOG_FILE).toString()) + " 2>&1 < /dev/null\n";
        Path file = dir.resolve(SCRIPT);
        Files.deleteIfExists(file);
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Files.writeString(file, script, StandardCharsets.UTF_8);
        Files.writeString(dir.resolve(CGROUP_FILE), cgroup + "\n", StandardCharsets.UTF_8);
    }

    private static Path readCgroup(Path dir) {
        Path file = dir.resolve(CGROUP_FILE);
        try {
            return Path.of(Files.readString(file, StandardCharsets.UTF_8).strip());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the machine's cgroup from " + file, e);
        }
    }

    /** The running machine of the BMC whose folder is {@code dir}, found by the pid its script recorded. */
    static Optional<ProcessHandle> running(Path dir) {
        Path file = dir.resolve(PID_FILE);
        String text;
        try {
            text = Files.readString(file, StandardCharsets.US_ASCII).strip();
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
        if (!text.matches("[0-9]{1,10}")) {
            return Optional.empty(); // Being written right now: the machine is only just starting.
        }
        // Before its exec the pid is the script's shell, which becomes the machine: the same process.
        return ProcessHandle.of(Long.parseLong(text)).filter(ProcessHandle::isAlive);
    }

    private static String shellQuote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }

    private static boolean waitFor(Process p, Duration timeout) {
        try {
            return p.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for machine pid " + p.pid(), e);
        }
    }
}
