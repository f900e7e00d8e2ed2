package baton.runtime.resource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;

/** Fake OCF roots and commands as shell scripts, and looking at processes through /proc. */
final class FakeAgents {
    private FakeAgents() {}

    /** Deadline of calls expected to end by themselves: the tests assert what agents do, never how fast. */
    static final Duration GENEROUS = Duration.ofSeconds(120);

    /** An executable bash script at {@code file}; {@code DIR} in the body becomes {@code dir}. */
    static Path script(Path file, Path dir, String body) throws IOException {
        Files.createDirectories(file.getParent());
        Files.writeString(file, "#!/bin/bash\n" + body.replace("DIR", dir.toString()), StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwx------"));
        return file;
    }

    /** A fake agent {@code ocf:fake:TYPE} under the OCF root {@code root}. */
    static OcfAgent fakeAgent(Path root, String type, String body) throws IOException {
        OcfAgent agent = new OcfAgent("fake", type);
        script(agent.path(root), root, body);
        return agent;
    }

    /** The real agents: their absence is a broken test setup, not a reason to skip. */
    static void requireResourceAgents() {
        if (!Files.isExecutable(new OcfAgent("heartbeat", "Dummy").path(OcfDriver.DEFAULT_OCF_ROOT))) {
            fail("/usr/lib/ocf/resource.d/heartbeat/Dummy is missing: run scripts/install-test-deps as root"
                    + " (it installs the Debian package resource-agents)");
        }
    }

    /** Whether {@code pid} runs (a zombie does not), by field 3 of /proc/PID/stat. */
    static boolean alive(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"), StandardCharsets.ISO_8859_1);
            return "ZX".indexOf(stat.charAt(stat.lastIndexOf(')') + 2)) < 0;
        } catch (IOException e) {
            return false;
        }
    }

    /** Waits, at most a minute, for {@code pid} to end. */
    static void awaitGone(long pid) throws InterruptedException {
        long until = System.nanoTime() + Duration.ofMinutes(1).toNanos();
        while (alive(pid)) {
            if (System.nanoTime() - until > 0) {
                fail("process " + pid + " still runs after a minute");
            }
            Thread.sleep(20);
        }
    }

    static long pid(Path file) throws IOException {
        return Long.parseLong(Files.readString(file).strip());
    }

    static <T extends ResourceResult> T as(Class<T> type, ResourceResult result) {
        assertThat(result).as(result.summary()).isInstanceOf(type);
        return type.cast(result);
    }
}
