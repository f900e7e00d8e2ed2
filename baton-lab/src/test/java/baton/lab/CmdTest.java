package baton.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class CmdTest {
    private static final Duration BOUND = Duration.ofSeconds(10);

    @Test
    void checkReturnsStdout() {
        assertThat(Cmd.check(BOUND, "printf", "a\\nb")).isEqualTo("a\nb");
    }

    @Test
    void aFailureNamesTheCommandItsStatusAndStderr() {
        assertThatThrownBy(() -> Cmd.check(BOUND, "ls", "/no/such/path"))
                .isInstanceOf(CommandFailedException.class)
                .hasMessageContaining("`ls /no/such/path` exited 2")
                .hasMessageContaining("No such file or directory");
    }

    @Test
    void aMissingProgramIsASetupError() {
        assertThatThrownBy(() -> Cmd.run(BOUND, "no-such-program-baton")).hasMessageContaining("cannot run `no-such-program-baton`");
    }

    @Test
    void aTimeoutKillsTheCommandAndSaysSo() {
        long start = System.nanoTime();
        ExecResult r = Cmd.run(Duration.ofMillis(200), "sleep", "600");
        assertThat(r.timedOut()).isTrue();
        assertThat(r.exitCode()).isEqualTo(-1);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(BOUND);
        assertThatThrownBy(r::orThrow).hasMessageContaining("`sleep 600` timed out");
    }
}
