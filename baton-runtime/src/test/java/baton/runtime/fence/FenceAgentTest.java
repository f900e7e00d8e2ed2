package baton.runtime.fence;

import static baton.runtime.fence.Agents.GENEROUS;
import static baton.runtime.fence.Agents.as;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The driver's process handling, with fake agents: small scripts that record what they get. */
class FenceAgentTest {
    @TempDir
    Path dir;

    final FenceAgent agent = new FenceAgent();

    CompletableFuture<AgentResult> runAsync(FenceAgent runner, FenceDevice device, AgentAction action, Duration deadline) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return runner.run(device, action, deadline);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        }, Executors.newVirtualThreadPerTaskExecutor());
    }

    @Test
    void parametersAndSecretsGoToStdinAsKeyValueLinesWithTheActionLastAndNothingOnTheCommandLine() throws Exception {
        // The fake agent records its stdin, then waits until the test has looked at /proc (at most
        // a minute, so that a failing test leaves nothing behind even if its JVM dies).
        Path fake = Agents.script(dir, "fence_recorder", """
                cat > DIR/stdin.txt
                echo $$ > DIR/agent.pid
                for i in $(seq 1200); do [ -e DIR/release ] && break; sleep 0.05; done
                echo "recorded $(wc -l < DIR/stdin.txt) lines"
                cat DIR/stdin.txt >&2
                """);
        String secret = "pa=ss w0rd!";
        Path secretFile = Agents.secretFile(dir, "bmc.pw", secret + "\n", "rw-------");
        FenceDevice device = new FenceDevice("bmc-1", fake,
                Map.of("ip", "10.0.0.7", "username", "admin", "lanplus", "1"), Map.of("password", secretFile));

        CompletableFuture<AgentResult> call = runAsync(agent, device, AgentAction.STATUS, GENEROUS);
        try {
            Path pidFile = dir.resolve("agent.pid");
            Agents.await("the fake agent to record its stdin", () -> !readQuietly(pidFile).isEmpty());
            long pid = Agents.readPid(pidFile);

            // What every user of the host can see of the running agent: no parameter, no secret.
            List<String> commandLine = Agents.commandLine(pid);
            assertThat(commandLine).containsExactly("/bin/bash", fake.toString());
            assertThat(String.join(" ", commandLine)).doesNotContain("10.0.0.7").doesNotContain("pa=ss");
            assertThat(Agents.environment(pid)).doesNotContain(secret);
            // It leads its own session, so that everything it starts can be found and killed.
            assertThat(Agents.session(pid)).isEqualTo(pid);
        } finally {
            Files.createFile(dir.resolve("release"));
        }
        AgentResult result = call.get(Agents.WAIT.toSeconds(), TimeUnit.SECONDS);

        assertThat(Files.readString(dir.resolve("stdin.txt"))).isEqualTo("""
                ip=10.0.0.7
                lanplus=1
                password=pa=ss w0rd!
                username=admin
                action=status
                """);
        AgentResult.StatusOn on = as(AgentResult.StatusOn.class, result);
        assertThat(on.output().stdout()).isEqualTo("recorded 5 lines\n");
        // The agent wrote the secret back on stderr: what Baton keeps is scrubbed.
        assertThat(on.output().stderr()).contains("password=***\n").doesNotContain(secret);
        assertThat(result.toString()).doesNotContain(secret);
        assertThat(device.toString()).doesNotContain(secret);
    }

    @Test
    void aHungAgentTimesOutAndItsWholeProcessTreeIsKilled() throws Exception {
        // Like an agent whose BMC never answers: it waits forever, and so do the helpers it
        // started: a child, an orphan adopted by init (its parent exited) and a child in a
        // session of its own. It never reads its stdin either.
        Path fake = Agents.script(dir, "fence_hung", """
                sleep 300 & echo $! > DIR/child.pid
                ( sleep 300 & echo $! > DIR/orphan.pid ) ; true
                setsid sleep 300 & echo $! > DIR/escaped.pid
                echo $$ > DIR/agent.pid
                echo "connecting to a BMC that never answers" >&2
                touch DIR/ready
                sleep 300
                """);
        FenceDevice device = new FenceDevice("hung", fake, Map.of("ip", "192.0.2.1"), Map.of());
        Duration deadline = Duration.ofSeconds(5);

        long started = System.nanoTime();
        AgentResult result = agent.run(device, AgentAction.OFF, deadline);
        Duration took = Duration.ofNanos(System.nanoTime() - started);

        assertThat(dir.resolve("ready")).as("the fake agent started all its helpers within the deadline").exists();
        AgentResult.TimedOut timedOut = as(AgentResult.TimedOut.class, result);
        assertThat(timedOut.after()).isGreaterThanOrEqualTo(deadline);
        assertThat(took).isLessThan(deadline.plus(FenceAgent.KILL_CONFIRM_LIMIT).plus(Agents.WAIT));
        assertThat(timedOut.survivingPids()).isEmpty();
        assertThat(timedOut.output().stderr()).contains("connecting to a BMC that never answers");
        assertThat(timedOut.summary()).startsWith("timed out after ")
                .endsWith("and killed; last words: connecting to a BMC that never answers");
        for (String process : List.of("agent", "child", "orphan", "escaped")) {
            long pid = Agents.readPid(dir.resolve(process + ".pid"));
            assertThat(Agents.running(pid)).as(process + " " + pid + " is gone").isFalse();
        }
    }

    @Test
    void helpersLeftBehindByAnAgentThatExitedAreKilledAndDoNotHoldTheCall() throws Exception {
        // The helper inherits stdout; if it were left alone, reading the output would wait for it.
        Path fake = Agents.script(dir, "fence_leaky", """
                sleep 300 & echo $! > DIR/helper.pid
                echo "Success: Powered OFF"
                """);

        long started = System.nanoTime();
        AgentResult result = agent.run(new FenceDevice("leaky", fake, Map.of(), Map.of()), AgentAction.OFF, GENEROUS);
        Duration took = Duration.ofNanos(System.nanoTime() - started);

        AgentResult.Success success = as(AgentResult.Success.class, result);
        assertThat(success.output().stdout()).isEqualTo("Success: Powered OFF\n");
        assertThat(Agents.running(Agents.readPid(dir.resolve("helper.pid")))).isFalse();
        assertThat(took).isLessThan(Agents.WAIT);
    }

    @Test
    void outputIsBoundedToItsTailAndTheReasonIsTheLastLine() throws Exception {
        // 3 MiB on stderr, then the reason; Baton keeps 64 KiB of it.
        Path fake = Agents.script(dir, "fence_chatty", """
                head -c 3145728 /dev/zero | tr '\\0' 'x' >&2
                echo >&2
                echo "ERROR: Failed: Unable to connect/login to fencing device" >&2
                exit 1
                """);
        FenceAgent small = new FenceAgent(64 * 1024);

        AgentResult result = small.run(new FenceDevice("chatty", fake, Map.of(), Map.of()), AgentAction.OFF, GENEROUS);

        AgentResult.Failed failed = as(AgentResult.Failed.class, result);
        assertThat(failed.exitCode()).isEqualTo(1);
        assertThat(failed.reason()).isEqualTo("ERROR: Failed: Unable to connect/login to fencing device");
        assertThat(failed.output().stderrBytes()).isGreaterThan(3L * 1024 * 1024);
        assertThat(failed.output().stderrTruncated()).isTrue();
        assertThat(failed.output().stderr()).hasSizeLessThanOrEqualTo(64 * 1024)
                .isEqualTo("ERROR: Failed: Unable to connect/login to fencing device\n");
        assertThat(failed.output().stdoutTruncated()).isFalse();
    }

    @Test
    void anAgentThatSaysNothingFailsWithItsExitStatusAsReason() throws Exception {
        Path fake = Agents.script(dir, "fence_mute", "exit 3\n");

        AgentResult.Failed failed = as(AgentResult.Failed.class,
                agent.run(new FenceDevice("mute", fake, Map.of(), Map.of()), AgentAction.ON, GENEROUS));

        assertThat(failed.exitCode()).isEqualTo(3);
        assertThat(failed.reason()).isEqualTo("the agent wrote nothing and ended with status 3");
    }

    @Test
    void exitTwoIsOffOnlyForStatusAndMonitor() throws Exception {
        Path fake = Agents.script(dir, "fence_two", "exit 2\n");
        FenceDevice device = new FenceDevice("two", fake, Map.of(), Map.of());

        as(AgentResult.StatusOff.class, agent.run(device, AgentAction.STATUS, GENEROUS));
        as(AgentResult.StatusOff.class, agent.run(device, AgentAction.MONITOR, GENEROUS));
        assertThat(as(AgentResult.Failed.class, agent.run(device, AgentAction.OFF, GENEROUS)).exitCode()).isEqualTo(2);
    }

    @Test
    void anAgentThatDoesNotExistCouldNotStart() throws Exception {
        Path missing = dir.resolve("fence_nonexistent");

        AgentResult.CouldNotStart result = as(AgentResult.CouldNotStart.class,
                agent.run(new FenceDevice("gone", missing, Map.of(), Map.of()), AgentAction.STATUS, GENEROUS));

        assertThat(result.reason()).isEqualTo("fence agent " + missing + " does not exist; fix: install the package"
                + " that provides it (Debian: apt-get install fence-agents) or correct the agent's path");
    }

    @Test
    void anAgentThatIsNotExecutableCouldNotStart() throws Exception {
        Path plain = dir.resolve("fence_plain");
        Files.writeString(plain, "#!/bin/sh\nexit 0\n");

        AgentResult.CouldNotStart result = as(AgentResult.CouldNotStart.class,
                agent.run(new FenceDevice("plain", plain, Map.of(), Map.of()), AgentAction.STATUS, GENEROUS));

        assertThat(result.reason()).contains(plain + " is not executable").contains("chmod +x");
    }

    @Test
    void aSecretFileOthersCanReadIsRefusedAndTheAgentNeverRuns() throws Exception {
        Path fake = Agents.script(dir, "fence_never", "touch DIR/ran\n");
        Path exposed = Agents.secretFile(dir, "bmc.pw", "t0p-secret\n", "rw-r--r--");

        AgentResult result = agent.run(new FenceDevice("exposed", fake, Map.of(), Map.of("password", exposed)),
                AgentAction.OFF, GENEROUS);

        AgentResult.CouldNotStart refused = as(AgentResult.CouldNotStart.class, result);
        assertThat(refused.reason()).isEqualTo("secret file " + exposed + " of parameter 'password' may be accessed by"
                + " group or others; fix: chmod 600 " + exposed + ", and change the secret if others may have read it");
        assertThat(dir.resolve("ran")).doesNotExist();
    }

    @Test
    void secretFileProblemsNameTheFileButNeverTheContent() throws Exception {
        Path fake = Agents.script(dir, "fence_never", "touch DIR/ran\n");
        Path twoLines = Agents.secretFile(dir, "two-lines.pw", "first-secret\naction=reboot\n", "rw-------");
        Path missing = dir.resolve("missing.pw");
        Path empty = Agents.secretFile(dir, "empty.pw", "\n", "rw-------");

        String injected = as(AgentResult.CouldNotStart.class, agent.run(
                new FenceDevice("d", fake, Map.of(), Map.of("password", twoLines)), AgentAction.STATUS, GENEROUS)).reason();
        String absent = as(AgentResult.CouldNotStart.class, agent.run(
                new FenceDevice("d", fake, Map.of(), Map.of("password", missing)), AgentAction.STATUS, GENEROUS)).reason();
        String blank = as(AgentResult.CouldNotStart.class, agent.run(
                new FenceDevice("d", fake, Map.of(), Map.of("password", empty)), AgentAction.STATUS, GENEROUS)).reason();

        // A second line would smuggle "action=reboot" onto the agent's stdin.
        assertThat(injected).startsWith("secret file " + twoLines + " of parameter 'password' has a line break")
                .doesNotContain("first-secret").doesNotContain("reboot");
        assertThat(absent).isEqualTo("secret file " + missing + " of parameter 'password' does not exist;"
                + " fix: create it with the secret, mode 600");
        assertThat(blank).contains("is empty");
        assertThat(dir.resolve("ran")).doesNotExist();
    }

    @Test
    void aSecretFileIsReadAtEachCallSoAChangedPasswordNeedsNoRestart() throws Exception {
        Path fake = Agents.script(dir, "fence_recorder", "cat > DIR/stdin.txt\n");
        Path secretFile = Agents.secretFile(dir, "bmc.pw", "old-password\n", "rw-------");
        FenceDevice device = new FenceDevice("bmc", fake, Map.of(), Map.of("password", secretFile));

        as(AgentResult.Success.class, agent.run(device, AgentAction.OFF, GENEROUS));
        assertThat(Files.readString(dir.resolve("stdin.txt"))).isEqualTo("password=old-password\naction=off\n");
        Files.writeString(secretFile, "new-password\r\n");
        as(AgentResult.Success.class, agent.run(device, AgentAction.OFF, GENEROUS));
        assertThat(Files.readString(dir.resolve("stdin.txt"))).isEqualTo("password=new-password\naction=off\n");
    }

    @Test
    void anInterruptedCallKillsTheAgentTree() throws Exception {
        Path fake = Agents.script(dir, "fence_hung", """
                sleep 300 & echo $! > DIR/child.pid
                echo $$ > DIR/agent.pid
                sleep 300
                """);
        FenceDevice device = new FenceDevice("hung", fake, Map.of(), Map.of());
        CompletableFuture<Throwable> outcome = new CompletableFuture<>();
        Thread caller = Thread.ofVirtual().start(() -> {
            try {
                agent.run(device, AgentAction.OFF, GENEROUS);
                outcome.complete(null);
            } catch (Throwable t) {
                outcome.complete(t);
            }
        });
        Agents.await("the fake agent and its child to start",
                () -> !readQuietly(dir.resolve("agent.pid")).isEmpty() && !readQuietly(dir.resolve("child.pid")).isEmpty());

        caller.interrupt();

        assertThat(outcome.get(Agents.WAIT.toSeconds(), TimeUnit.SECONDS)).isInstanceOf(InterruptedException.class);
        assertThat(Agents.running(Agents.readPid(dir.resolve("agent.pid")))).isFalse();
        assertThat(Agents.running(Agents.readPid(dir.resolve("child.pid")))).isFalse();
    }

    private static String readQuietly(Path file) {
        try {
            return Files.readString(file).strip();
        } catch (IOException e) {
            return "";
        }
    }
}
