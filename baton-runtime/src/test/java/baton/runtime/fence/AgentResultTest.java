package baton.runtime.fence;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The pure parts: exit statuses to results, and the reason from what an agent wrote. */
class AgentResultTest {
    static AgentOutput stderr(String text) {
        return new AgentOutput("", text, 0, text.length(), false, false);
    }

    @Test
    void exitStatusesMeanWhatTheApiSays() {
        AgentOutput none = AgentOutput.EMPTY;
        assertThat(AgentResult.ofExit(AgentAction.STATUS, 0, none)).isInstanceOf(AgentResult.StatusOn.class);
        assertThat(AgentResult.ofExit(AgentAction.STATUS, 2, none)).isInstanceOf(AgentResult.StatusOff.class);
        assertThat(AgentResult.ofExit(AgentAction.STATUS, 1, none)).isInstanceOf(AgentResult.Failed.class);
        assertThat(AgentResult.ofExit(AgentAction.MONITOR, 0, none)).isInstanceOf(AgentResult.Success.class);
        assertThat(AgentResult.ofExit(AgentAction.MONITOR, 2, none)).isInstanceOf(AgentResult.StatusOff.class);
        for (AgentAction action : List.of(AgentAction.ON, AgentAction.OFF, AgentAction.REBOOT, AgentAction.LIST,
                AgentAction.METADATA, AgentAction.VALIDATE_ALL)) {
            assertThat(AgentResult.ofExit(action, 0, none)).isInstanceOf(AgentResult.Success.class);
            assertThat(AgentResult.ofExit(action, 2, none)).isInstanceOf(AgentResult.Failed.class);
        }
    }

    @Test
    void theReasonIsTheLastMeaningfulLineOfStderrWithoutTheAgentsTimestamp() {
        String stderr = """
                /usr/sbin/fence_ipmilan:5: DeprecationWarning: 'pipes' is deprecated and slated for removal in Python 3.13
                  from pipes import quote
                2026-11-23 02:25:21,560 ERROR: Failed: You have to enter fence address

                2026-11-23 02:25:21,560 ERROR: validate-all failed

                2026-11-23 02:25:21,560 ERROR: Please use '-h' for usage

                """;

        assertThat(((AgentResult.Failed) AgentResult.ofExit(AgentAction.VALIDATE_ALL, 1, stderr(stderr))).reason())
                .isEqualTo("ERROR: Failed: You have to enter fence address");
    }

    @Test
    void aPythonTracebackGivesItsException() {
        String stderr = """
                Traceback (most recent call last):
                  File "/usr/sbin/fence_dummy", line 32, in set_power_status_file
                FileNotFoundError: [Errno 2] No such file or directory: '/nonexistent/x'
                """;

        assertThat(((AgentResult.Failed) AgentResult.ofExit(AgentAction.ON, 1, stderr(stderr))).reason())
                .isEqualTo("FileNotFoundError: [Errno 2] No such file or directory: '/nonexistent/x'");
    }

    @Test
    void aDeathBySignalSaysSo() {
        assertThat(((AgentResult.Failed) AgentResult.ofExit(AgentAction.OFF, 137, AgentOutput.EMPTY)).reason())
                .isEqualTo("the agent wrote nothing and ended with status 137 (killed by signal 9?)");
    }

    @Test
    void longReasonsAreCut() {
        String reason = ((AgentResult.Failed) AgentResult.ofExit(AgentAction.OFF, 1, stderr("x".repeat(10_000)))).reason();

        assertThat(reason).hasSize(AgentOutput.MAX_REASON_CHARS).endsWith("...");
    }

    @Test
    void summaries() {
        assertThat(new AgentResult.TimedOut(Duration.ofMillis(20_040), AgentOutput.EMPTY, List.of()).summary())
                .isEqualTo("timed out after 20.0 s and killed");
        assertThat(new AgentResult.TimedOut(Duration.ofMillis(20_040), AgentOutput.EMPTY, List.of(42L)).summary())
                .isEqualTo("timed out after 20.0 s and killed; processes [42] survived the kill");
        assertThat(new AgentResult.CouldNotStart("x").summary()).isEqualTo("could not start: x");
    }

    @Test
    void scrubbingReplacesEverySecret() {
        assertThat(FenceAgent.scrub("passwd=abc and abc again; xyz", List.of("abc", "xyz", "")))
                .isEqualTo("passwd=*** and *** again; ***");
    }
}
