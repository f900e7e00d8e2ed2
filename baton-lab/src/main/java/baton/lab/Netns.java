package baton.lab;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** Named network namespaces as {@code ip netns} keeps them: a bind mount under /run/netns per name. */
final class Netns {
    /** Where iproute2 keeps its namespace names (NETNS_RUN_DIR; /var/run is a link to /run). */
    static final Path RUN_DIR = Path.of("/run/netns");

    /** Bound on one plumbing command (ip, tc, nft, losetup): they finish in milliseconds unless the machine is broken. */
    static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(10);

    /** How long a SIGKILLed process may take to disappear: longer means it is stuck in the kernel. */
    static final Duration KILL_TIMEOUT = Duration.ofSeconds(10);

    private Netns() {}

    static void add(String name) {
        Cmd.check(COMMAND_TIMEOUT, "ip", "netns", "add", name);
    }

    /** Runs {@code ip ARGS} inside namespace {@code name}. */
    static void ip(String name, String... args) {
        List<String> command = new ArrayList<>(List.of("ip", "-n", name));
        command.addAll(List.of(args));
        Cmd.check(COMMAND_TIMEOUT, command);
    }

    /** The command line that runs {@code command} inside namespace {@code name}; ip execs it, so its pid is the command's. */
    static List<String> exec(String name, List<String> command) {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", name));
        full.addAll(command);
        return full;
    }

    static List<String> names() {
        if (!Files.isDirectory(RUN_DIR)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(RUN_DIR)) {
            return files.map(f -> f.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + RUN_DIR, e);
        }
    }

    static boolean exists(String name) {
        return Files.exists(RUN_DIR.resolve(name));
    }

    /** The pids of every process whose network namespace is {@code name}. */
    static List<Long> pids(String name) {
        String out = Cmd.check(COMMAND_TIMEOUT, "ip", "netns", "pids", name);
        return out.lines().map(String::strip).filter(l -> !l.isEmpty()).map(Long::parseLong).toList();
    }

    /**
     * SIGKILLs every process in the namespace and waits until they are gone. Deleting a
     * namespace only removes its name: processes inside would keep it, and its veth ends,
     * alive, so they must die first.
     */
    static void killAll(String name) {
        long deadline = System.nanoTime() + KILL_TIMEOUT.toNanos();
        // Repeat: a process may fork while we kill its siblings.
        while (true) {
            List<Long> pids = pids(name).stream().filter(Netns::running).toList();
            if (pids.isEmpty()) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new LabTimeoutException("processes " + pids + " in namespace " + name + " survive SIGKILL after " + KILL_TIMEOUT);
            }
            pids.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
            Poll.pause();
        }
    }

    /** A zombie has released everything but its pid; only its parent can reap it, so it counts as gone. */
    private static boolean running(long pid) {
        return ProcStat.read(pid).map(s -> s.state() != 'Z').orElse(false);
    }

    /** Removes the name; the namespace itself, with its interfaces, goes when its last process has. */
    static void delete(String name) {
        if (exists(name)) {
            Cmd.check(COMMAND_TIMEOUT, "ip", "netns", "delete", name);
        }
    }
}
