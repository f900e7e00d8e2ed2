package baton.runtime.fence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

/** Real agents, fake agents as shell scripts, secret files, and looking at processes through /proc. */
final class Agents {
    private Agents() {}

    /**
     * Deadline of calls that are expected to finish by themselves. Generous: the tests assert
     * what the agents do, never how fast (the machine may be busy with benchmarks).
     */
    static final Duration GENEROUS = Duration.ofSeconds(120);

    /** Limit of every wait for something a process does. */
    static final Duration WAIT = Duration.ofSeconds(60);

    /** An agent of the fence-agents package; its absence is a broken test setup, not a reason to skip. */
    static Path installed(String agentName) {
        Path agent = FenceDevice.agentPath(agentName);
        if (!Files.isExecutable(agent)) {
            fail(agent + " is missing: run scripts/install-test-deps as root (it installs the Debian package fence-agents)");
        }
        return agent;
    }

    static void requireExecutable(Path tool, String debianPackage) {
        if (!Files.isExecutable(tool)) {
            fail(tool + " is missing: run scripts/install-test-deps as root (it installs the Debian package "
                    + debianPackage + ")");
        }
    }

    /** An executable shell script named {@code name} in {@code dir}; {@code DIR} in the body becomes {@code dir}. */
    static Path script(Path dir, String name, String body) throws IOException {
        Path script = dir.resolve(name);
        Files.writeString(script, "#!/bin/bash\n" + body.replace("DIR", dir.toString()), StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
        return script;
    }

    static Path secretFile(Path dir, String name, String content, String mode) throws IOException {
        Path file = dir.resolve(name);
        Files.writeString(file, content, StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(mode));
        return file;
    }

    /** Whether {@code pid} is a running (not zombie) process, by its /proc entry: independent of the code under test. */
    static boolean running(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.ISO_8859_1);
            char state = stat.substring(stat.lastIndexOf(')') + 2).charAt(0);
            return state != 'Z' && state != 'X';
        } catch (IOException e) {
            return false;
        }
    }

    /** Field 6 of /proc/PID/stat. */
    static long session(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.ISO_8859_1);
        return Long.parseLong(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[3]);
    }

    /** The arguments of a process, as anybody on the host can read them. */
    static List<String> commandLine(long pid) throws IOException {
        String raw = new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline")), StandardCharsets.UTF_8);
        List<String> arguments = new ArrayList<>(List.of(raw.split("\0")));
        arguments.removeIf(String::isEmpty);
        return arguments;
    }

    static String environment(long pid) throws IOException {
        return new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), "environ")), StandardCharsets.UTF_8);
    }

    /** Running processes whose command line contains every one of {@code parts}. */
    static List<Long> runningWithCommandLine(String... parts) throws IOException {
        List<Long> found = new ArrayList<>();
        try (Stream<Path> entries = Files.list(Path.of("/proc"))) {
            for (Path entry : entries.toList()) {
                String name = entry.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                long pid = Long.parseLong(name);
                try {
                    String line = String.join(" ", commandLine(pid));
                    if (Stream.of(parts).allMatch(line::contains) && running(pid)) {
                        found.add(pid);
                    }
                } catch (IOException e) {
                    // Gone meanwhile.
                }
            }
        }
        return found;
    }

    static long readPid(Path file) throws IOException {
        return Long.parseLong(Files.readString(file).strip());
    }

    /** Waits, bounded by {@link #WAIT}, until the condition holds; fails with {@code what} otherwise. */
    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long until = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - until > 0) {
                fail("waited " + WAIT.toSeconds() + " s for " + what);
            }
            Thread.sleep(20);
        }
    }

    static <T extends AgentResult> T as(Class<T> type, AgentResult result) {
        assertThat(result).as(result.summary()).isInstanceOf(type);
        return type.cast(result);
    }
}
