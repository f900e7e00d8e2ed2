package baton.runtime.resource;

import static baton.runtime.resource.FakeAgents.GENEROUS;
import static baton.runtime.resource.FakeAgents.as;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** exec resources with a script that starts a real background service and reports on it. */
class ExecDriverTest {
    @TempDir
    Path dir;

    final ExecDriver driver = new ExecDriver();

    /** A service script in the usual init-script style: a pid file and LSB status codes. */
    ExecResource service() throws Exception {
        Path script = FakeAgents.script(dir.resolve("svc"), dir, """
                pidfile=DIR/svc.pid
                running() { [ -f $pidfile ] && kill -0 "$(cat $pidfile)" 2>/dev/null; }
                case "$1" in
                  start) running && exit 0
                         echo "$BATON_RESOURCE $BATON_ACTION port=$PORT arg=$2" > DIR/seen
                         nohup sleep 300 >/dev/null 2>&1 & echo $! > $pidfile ;;
                  stop)  running && kill "$(cat $pidfile)"; rm -f $pidfile ;;
                  status) running && exit 0; [ -f $pidfile ] && { echo "dead, pid file remains" >&2; exit 1; }; exit 3 ;;
                esac
                """);
        return new ExecResource("svc", List.of(script.toString(), "start", "a b;$(touch " + dir + "/injected)"),
                List.of(script.toString(), "stop"), List.of(script.toString(), "status"), Map.of("PORT", "8080"));
    }

    @Test
    void startStatusStopOfAServiceThatKeepsRunningAfterItsStartCommand() throws Exception {
        ExecResource svc = service();
        try {
            as(ResourceResult.NotRunning.class, driver.run(svc, ExecAction.STATUS, GENEROUS));
            as(ResourceResult.Ok.class, driver.run(svc, ExecAction.START, GENEROUS));
            long pid = FakeAgents.pid(dir.resolve("svc.pid"));
            assertThat(FakeAgents.alive(pid)).as("the service outlives its start command").isTrue();
            // An argument vector: the shell metacharacters reach the script as text and run nothing.
            assertThat(Files.readString(dir.resolve("seen"))).isEqualTo("svc start port=8080 arg=a b;$(touch "
                    + dir + "/injected)\n");
            assertThat(dir.resolve("injected")).doesNotExist();
            as(ResourceResult.Ok.class, driver.run(svc, ExecAction.STATUS, GENEROUS));
            as(ResourceResult.Ok.class, driver.run(svc, ExecAction.STOP, GENEROUS));
            FakeAgents.awaitGone(pid);
            as(ResourceResult.NotRunning.class, driver.run(svc, ExecAction.STATUS, GENEROUS));
        } finally {
            driver.run(svc, ExecAction.STOP, GENEROUS);
        }
    }

    @Test
    void aDeadServiceWithAPidFileLeftIsAFailureNotStopped() throws Exception {
        ExecResource svc = service();
        Files.writeString(dir.resolve("svc.pid"), "999999999\n");

        ResourceResult.Failed failed = as(ResourceResult.Failed.class, driver.run(svc, ExecAction.STATUS, GENEROUS));

        assertThat(failed.exitCode()).isEqualTo(1);
        assertThat(failed.reason()).isEqualTo("dead, pid file remains");
    }

    @Test
    void statusCodesAreReadStrictly() {
        record Case(int code, Class<? extends ResourceResult> type) {}
        for (Case c : List.of(new Case(0, ResourceResult.Ok.class), new Case(3, ResourceResult.NotRunning.class),
                new Case(7, ResourceResult.NotRunning.class), new Case(1, ResourceResult.Failed.class),
                new Case(2, ResourceResult.Failed.class), new Case(4, ResourceResult.Failed.class),
                new Case(5, ResourceResult.Failed.class), new Case(127, ResourceResult.Failed.class))) {
            assertThat(ExecDriver.ofStatusExit(c.code(), "", baton.runtime.proc.ProcessOutput.EMPTY))
                    .as("status " + c.code()).isInstanceOf(c.type());
        }
        assertThat(ExecDriver.ofStatusExit(4, "", baton.runtime.proc.ProcessOutput.EMPTY).summary())
                .isEqualTo("failed (exit 4, OTHER): the status command said nothing and ended with 4 (LSB: status unknown)");
    }

    @Test
    void aHungStopIsKilledAtTheDeadlineWithEveryProcessItStarted() throws Exception {
        Path script = FakeAgents.script(dir.resolve("hang"), dir, """
                sleep 300 & echo $! > DIR/child.pid
                echo $$ > DIR/command.pid
                echo "stopping, waiting for clients" >&2
                sleep 300
                """);
        ExecResource hung = new ExecResource("hung", List.of(script.toString()), List.of(script.toString()),
                List.of(script.toString()), Map.of());

        ResourceResult.TimedOut timedOut = as(ResourceResult.TimedOut.class,
                driver.run(hung, ExecAction.STOP, Duration.ofSeconds(2)));

        assertThat(timedOut.survivingPids()).isEmpty();
        assertThat(timedOut.lastWords()).isEqualTo("stopping, waiting for clients");
        assertThat(FakeAgents.alive(FakeAgents.pid(dir.resolve("command.pid")))).isFalse();
        assertThat(FakeAgents.alive(FakeAgents.pid(dir.resolve("child.pid")))).isFalse();
    }

    @Test
    void commandsMustBeAbsoluteArgumentVectorsAndAMissingProgramCouldNotStart() throws Exception {
        assertThatThrownBy(() -> new ExecResource("x", List.of("sh", "-c", "true"), List.of("/bin/true"),
                List.of("/bin/true"), Map.of())).hasMessageContaining("must be an absolute path");
        assertThatThrownBy(() -> new ExecResource("x", List.of("/bin/true"), List.of("/bin/true"),
                List.of("/bin/true"), Map.of("PATH", "/tmp"))).hasMessageContaining("cannot be set");
        ExecResource missing = new ExecResource("gone", List.of(dir.resolve("nope").toString()), List.of("/bin/true"),
                List.of("/bin/true"), Map.of());

        assertThat(as(ResourceResult.CouldNotStart.class, driver.run(missing, ExecAction.START, GENEROUS)).reason())
                .startsWith("gone start: exec command " + dir.resolve("nope") + " does not exist");
    }
}
