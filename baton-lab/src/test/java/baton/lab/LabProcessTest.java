package baton.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Real processes in a host: signals as /proc shows them, exit statuses, logs. */
@ExtendWith(NetnsUnchanged.class)
class LabProcessTest {
    private static final Duration BOUND = Duration.ofSeconds(10);
    private static Lab lab;

    @TempDir
    Path dir;

    @BeforeAll
    static void createLab() {
        lab = Lab.create(1, false);
    }

    @AfterAll
    static void closeLab() {
        lab.close();
    }

    private LabProcess sleeper() {
        return lab.node(1).start(List.of("sleep", "600"), dir.resolve("sleep.log"), Map.of());
    }

    private static char state(LabProcess p) {
        return p.stat().orElseThrow().state();
    }

    @Test
    void thePidIsTheCommandsNotIps() {
        LabProcess p = sleeper();
        try {
            assertThat(Poll.until(BOUND, () -> ProcessHandle.of(p.pid()).flatMap(h -> h.info().command())
                    .map(c -> c.endsWith("/sleep")).orElse(false))).isTrue();
        } finally {
            p.kill9();
        }
    }

    @Test
    void sigstopStopsAndSigcontResumes() {
        LabProcess p = sleeper();
        try {
            assertThat(Poll.until(BOUND, () -> state(p) == 'S')).isTrue();
            p.sigstop();
            assertThat(Poll.until(BOUND, () -> state(p) == 'T')).as("state after SIGSTOP").isTrue();
            assertThat(p.isAlive()).as("a stopped process is alive").isTrue();
            p.sigcont();
            assertThat(Poll.until(BOUND, () -> state(p) == 'S')).as("state after SIGCONT").isTrue();
        } finally {
            p.kill9();
        }
    }

    @Test
    void kill9EndsTheProcessWithStatus137() {
        LabProcess p = sleeper();
        p.kill9();
        assertThat(p.waitFor(BOUND)).isEqualTo(128 + 9);
        assertThat(p.isAlive()).isFalse();
        assertThat(Poll.until(BOUND, () -> p.stat().isEmpty())).as("/proc/%d gone", p.pid()).isTrue();
    }

    @Test
    void kill9WorksOnAStoppedProcess() {
        LabProcess p = sleeper();
        p.sigstop();
        assertThat(Poll.until(BOUND, () -> state(p) == 'T')).isTrue();
        p.kill9();
        assertThat(p.waitFor(BOUND)).isEqualTo(137);
    }

    @Test
    void sigtermEndsTheProcessWithStatus143() {
        LabProcess p = sleeper();
        p.sigterm();
        assertThat(p.waitFor(BOUND)).isEqualTo(128 + 15);
    }

    @Test
    void waitForReportsATimeout() {
        LabProcess p = sleeper();
        try {
            assertThatThrownBy(() -> p.waitFor(Duration.ofMillis(100)))
                    .isInstanceOf(LabTimeoutException.class)
                    .hasMessageContaining("still running after PT0.1S")
                    .hasMessageContaining("sleep 600");
        } finally {
            p.kill9();
        }
    }

    @Test
    void stdoutStderrAndExtraEnvironmentGoToTheLog() {
        Path log = dir.resolve("logs/node.log");
        LabProcess p = lab.node(1).start(List.of("sh", "-c", "echo out $BATON_TEST_VALUE; echo err >&2"), log, Map.of("BATON_TEST_VALUE", "xyzzy"));
        assertThat(p.waitFor(BOUND)).isZero();
        assertThat(p.logFile()).isEqualTo(log);
        assertThat(p.log()).contains("out xyzzy").contains("err");
    }

    @Test
    void awaitLogSeesLinesAsTheyAreWritten() {
        LabProcess p = lab.node(1).start(List.of("sh", "-c", "echo starting; sleep 0.3; echo node ready; exec sleep 600"),
                dir.resolve("n.log"), Map.of());
        try {
            assertThat(p.awaitLog("node ready", BOUND)).isTrue();
            assertThat(p.awaitLog("never printed", Duration.ofMillis(100))).isFalse();
        } finally {
            p.kill9();
        }
    }

    @Test
    void awaitLogIgnoresEarlierRunsAndReturnsWhenTheProcessExits() throws Exception {
        Path log = dir.resolve("restart.log");
        Files.writeString(log, "node ready (previous run)\n");
        LabProcess p = lab.node(1).start(List.of("sh", "-c", "echo crashed; exit 3"), log, Map.of());
        long start = System.nanoTime();
        assertThat(p.awaitLog("node ready", Duration.ofSeconds(30))).isFalse();
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(BOUND);
        assertThat(p.waitFor(BOUND)).isEqualTo(3);
        assertThat(p.log()).contains("previous run").contains("crashed");
    }

    @Test
    void runCapturesOutputAndExitStatus() {
        ExecResult r = lab.node(1).run(BOUND, "sh", "-c", "echo hello; echo oops >&2; exit 4");
        assertThat(r.exitCode()).isEqualTo(4);
        assertThat(r.stdout()).isEqualTo("hello\n");
        assertThat(r.stderr()).isEqualTo("oops\n");
        assertThat(r.ok()).isFalse();
        assertThatThrownBy(r::orThrow).isInstanceOf(CommandFailedException.class)
                .hasMessageContaining("exited 4").hasMessageContaining("oops");
    }

    @Test
    void runKillsACommandAtItsTimeout() {
        long start = System.nanoTime();
        // A child that keeps the output open must not hold run() past its timeout either.
        ExecResult r = lab.node(1).run(Duration.ofMillis(300), "sh", "-c", "sleep 600 & sleep 600");
        assertThat(r.timedOut()).isTrue();
        assertThat(r.ok()).isFalse();
        assertThat(r.describe()).contains("timed out");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(BOUND);
    }
}
