package baton.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Labs leave nothing behind: not when a test throws, not when the JVM exits or is killed. */
@ExtendWith(NetnsUnchanged.class)
class LabLifecycleTest {
    private static final Duration BOUND = Duration.ofSeconds(20);

    @TempDir
    Path dir;

    private Path backingFile(String name) throws IOException {
        Path file = dir.resolve(name);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(1), 1024 * 1024 - 1);
        }
        return file;
    }

    private static List<String> namespacesOf(LabTag tag) {
        return Netns.names().stream().filter(n -> n.startsWith(tag.id() + "-")).toList();
    }

    @Test
    void closeRemovesNamespacesAndProcessesEvenWhenTheBodyThrows() {
        List<LabTag> tags = new ArrayList<>();
        List<LabProcess> started = new ArrayList<>();
        assertThatThrownBy(() -> {
            try (Lab lab = Lab.create(2, true)) {
                tags.add(lab.tag());
                assertThat(namespacesOf(lab.tag())).hasSize(4);
                started.add(lab.node(1).start(List.of("sleep", "600"), dir.resolve("a.log"), Map.of()));
                // A grandchild the lab never heard of, and a process stopped with SIGSTOP.
                started.add(lab.node(2).start(List.of("sh", "-c", "sleep 600 & wait"), dir.resolve("b.log"), Map.of()));
                LabProcess frozen = lab.client().start(List.of("sleep", "600"), dir.resolve("c.log"), Map.of());
                frozen.sigstop();
                started.add(frozen);
                assertThat(Netns.pids(lab.node(2).netns())).hasSize(2);
                throw new IllegalStateException("the test body failed");
            }
        }).hasMessage("the test body failed");
        assertThat(namespacesOf(tags.getFirst())).isEmpty();
        for (LabProcess p : started) {
            assertThat(p.isAlive()).as("%s", p).isFalse();
        }
        assertThat(processesRunning("sleep 600")).isEmpty();
    }

    /** Pids of this JVM's descendants whose command line contains {@code text}. */
    private static List<Long> processesRunning(String text) {
        return ProcessHandle.current().descendants()
                .filter(h -> h.info().commandLine().map(c -> c.contains(text)).orElse(false))
                .map(ProcessHandle::pid).toList();
    }

    @Test
    void closeIsIdempotentAndAClosedLabRefusesWork() {
        Lab lab = Lab.create(1, false);
        lab.close();
        lab.close();
        assertThat(namespacesOf(lab.tag())).isEmpty();
        assertThatThrownBy(() -> lab.node(1).run(BOUND, "true")).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("closed");
    }

    @Test
    void concurrentLabsGetDistinctSubnets() {
        try (Lab a = Lab.create(1, false); Lab b = Lab.create(1, false)) {
            assertThat(a.tag().subnet()).isNotEqualTo(b.tag().subnet());
            assertThat(a.node(1).address()).isNotEqualTo(b.node(1).address());
            // Separate switches: even a host of the other lab is unreachable.
            assertThat(a.node(1).run(BOUND, "ping", "-c", "1", "-W", "1", b.node(1).address().getHostAddress()).ok()).isFalse();
        }
    }

    @Test
    void theSweeperRemovesLeftoversOfADeadProcessAndSparesLiveLabs() throws Exception {
        LabTag dead = deadTag();
        String leftover = dead.netns("n1");
        Process inside = null;
        try (Lab live = Lab.create(1, false)) {
            Netns.add(leftover);
            inside = new ProcessBuilder(Netns.exec(leftover, List.of("sleep", "600"))).start();
            Process p = inside;
            assertThat(Poll.until(BOUND, () -> Netns.pids(leftover).contains(p.pid()))).isTrue();
            LoopDevice loop = LoopDevice.attach(backingFile("leftover.img"), false);
            RunDir.recordLoop(dead, loop.path(), loop.backingFile());

            Sweeper.Swept swept = Sweeper.sweep();

            assertThat(swept.namespaces()).containsExactly(leftover);
            assertThat(swept.loopDevices()).containsExactly(loop.path());
            assertThat(Netns.exists(leftover)).isFalse();
            assertThat(inside.waitFor(BOUND.toSeconds(), TimeUnit.SECONDS)).isTrue();
            assertThat(LoopDeviceTest.attachedTo(loop.path())).isNotEqualTo(loop.backingFile().toString());
            assertThat(RunDir.loopRecord(dead)).doesNotExist();
            assertThat(namespacesOf(live.tag())).as("the live lab").hasSize(2);
            assertThat(live.node(1).run(BOUND, "true").ok()).isTrue();
        } finally {
            if (inside != null) {
                inside.destroyForcibly();
            }
            if (Netns.exists(leftover)) {
                Netns.killAll(leftover);
                Netns.delete(leftover);
            }
        }
    }

    /** A tag whose creator certainly is dead: a process of ours that has exited and been reaped. */
    private static LabTag deadTag() throws Exception {
        Process p = new ProcessBuilder("true").start();
        long pid = p.pid();
        assertThat(p.waitFor(BOUND.toSeconds(), TimeUnit.SECONDS)).isTrue();
        return new LabTag(LabTag.SUBNETS - 1, pid, 12345);
    }

    @Test
    void aJvmThatExitsWithoutClosingCleansUpInItsShutdownHook() throws Exception {
        Child child = Child.start("exit", dir, backingFile("exit.img"));
        assertThat(child.process.waitFor(BOUND.toSeconds(), TimeUnit.SECONDS)).isTrue();
        assertThat(child.process.exitValue()).as(child.output()).isZero();
        assertThat(namespacesOf(child.tag())).isEmpty();
        assertThat(processesRunning("sleep 600")).isEmpty();
        assertThat(RunDir.loopRecord(child.tag())).doesNotExist();
        assertThat(attachedLoops(dir.resolve("exit.img"))).isEmpty();
    }

    @Test
    void aJvmKilledOutrightLeavesItsLabToTheNextSweeper() throws Exception {
        Child child = Child.start("hang", dir, backingFile("hang.img"));
        assertThat(namespacesOf(child.tag())).hasSize(2);
        assertThat(attachedLoops(dir.resolve("hang.img"))).hasSize(1);
        child.process.destroyForcibly();
        assertThat(child.process.waitFor(BOUND.toSeconds(), TimeUnit.SECONDS)).isTrue();
        assertThat(namespacesOf(child.tag())).as("no hook runs after SIGKILL").hasSize(2);

        Sweeper.Swept swept = Sweeper.sweep();

        assertThat(swept.namespaces()).containsExactlyInAnyOrderElementsOf(
                List.of(child.tag().netns("sw"), child.tag().netns("n1")));
        assertThat(namespacesOf(child.tag())).isEmpty();
        assertThat(attachedLoops(dir.resolve("hang.img"))).isEmpty();
        assertThat(Poll.until(BOUND, () -> processesRunning("sleep 600").isEmpty())).isTrue();
    }

    private static List<String> attachedLoops(Path backingFile) {
        return Cmd.check(BOUND, "losetup", "--noheadings", "--raw", "--output", "NAME", "--associated", backingFile.toString())
                .lines().filter(l -> !l.isBlank()).toList();
    }

    /** A separate JVM running {@link LabChild}. */
    private record Child(Process process, Path out) {
        static Child start(String mode, Path dir, Path backingFile) throws Exception {
            String java = ProcessHandle.current().info().command().orElseThrow();
            Path out = dir.resolve(mode + ".out");
            Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), LabChild.class.getName(),
                    mode, dir.resolve(mode + ".log").toString(), backingFile.toString())
                    .redirectErrorStream(true).redirectOutput(out.toFile()).start();
            Child c = new Child(p, out);
            assertThat(Poll.until(BOUND, () -> c.output().contains("lab ready") || !p.isAlive())).isTrue();
            assertThat(c.output()).contains("lab ready");
            return c;
        }

        String output() {
            try {
                return Files.readString(out);
            } catch (IOException e) {
                return "";
            }
        }

        LabTag tag() {
            String id = output().lines().filter(l -> l.startsWith("lab ready ")).findFirst().orElseThrow().substring("lab ready ".length());
            return LabTag.parse(id + "-sw").orElseThrow();
        }
    }
}
