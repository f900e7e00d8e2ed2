package baton.lab.bmc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import baton.lab.ExecResult;
import baton.lab.Host;
import baton.lab.Lab;
import baton.lab.Poll;
import baton.lab.ProcStat;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Redfish BMC simulator on lab host n1 whose machine is {@code sleep 1000}, fenced from n2 by
 * the real fence_redfish, as Baton's fencing will do it; and the HTTP answers a Redfish client
 * relies on, asked with curl.
 */
class RedfishBmcTest {
    /** HTTPS's port, as a real BMC's web interface. */
    private static final int PORT = 443;
    private static final String USER = "baton";
    private static final String PASSWORD = "fence-me-0";
    /** fence_redfish waits for the power state to change; everything here finishes in a few seconds. */
    private static final Duration AGENT_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration BOUND = Duration.ofSeconds(10);
    private static final List<String> MACHINE = List.of("sleep", "1000");

    private static Lab lab;

    @TempDir
    Path dir;

    @BeforeAll
    static void createLab() {
        lab = Lab.create(2, false);
    }

    @AfterAll
    static void closeLab() {
        if (lab != null) {
            lab.close();
        }
    }

    private RedfishBmc startBmc() {
        Host n1 = lab.node(1);
        return RedfishBmc.start(n1, n1.address(), PORT, USER, PASSWORD, MACHINE, dir.resolve("bmc"));
    }

    /**
     * Runs fence_redfish on n2 with {@code options} as key=value lines on stdin, from a 0600
     * file so the password stays off every command line, and prints how long it took.
     */
    private ExecResult fence(Map<String, String> options) throws IOException {
        StringBuilder stdin = new StringBuilder();
        options.forEach((k, v) -> stdin.append(k).append('=').append(v).append('\n'));
        Path file = Files.createTempFile(dir, "fence-", ".stdin", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(file, stdin);
        long started = System.nanoTime();
        ExecResult r = lab.node(2).run(AGENT_TIMEOUT, "sh", "-c", "exec fence_redfish < \"$0\"", file.toString());
        System.out.printf("fence_redfish action=%s: exit %d after %d ms%n", options.get("action"), r.exitCode(), (System.nanoTime() - started) / 1_000_000);
        assertThat(r.timedOut()).as("fence_redfish hung: %s", r.describe()).isFalse();
        return r;
    }

    private static Map<String, String> action(RedfishBmc bmc, String action) {
        Map<String, String> options = new LinkedHashMap<>(bmc.fenceRedfishOptions());
        options.put("action", action);
        return options;
    }

    private static boolean runsSleep(long pid) {
        return ProcessHandle.of(pid).flatMap(h -> h.info().command()).map(c -> c.endsWith("/sleep")).orElse(false);
    }

    @Test
    void fenceRedfishFromAnotherHostSeesAndSwitchesTheMachinesPower() throws IOException {
        try (RedfishBmc bmc = startBmc()) {
            assertThat(bmc.powerStatus()).isEqualTo(PowerStatus.ON);
            assertThat(Poll.until(BOUND, () -> bmc.machinePid().isPresent() && runsSleep(bmc.machinePid().getAsLong()))).isTrue();
            long firstPid = bmc.machinePid().orElseThrow();

            ExecResult status = fence(action(bmc, "status"));
            assertThat(status.exitCode()).as(status.describe()).isZero();
            assertThat(status.stdout()).contains("Status: ON");

            ExecResult off = fence(action(bmc, "off"));
            assertThat(off.exitCode()).as(off.describe()).isZero();
            assertThat(off.stdout()).contains("Success: Powered OFF");
            // The BMC answers the off only once the machine is gone: no waiting here.
            assertThat(ProcessHandle.of(firstPid)).as("machine pid %d gone when off returns", firstPid).isEmpty();
            assertThat(bmc.machinePid()).isEmpty();
            assertThat(bmc.powerStatus()).isEqualTo(PowerStatus.OFF);

            ExecResult offStatus = fence(action(bmc, "status"));
            assertThat(offStatus.exitCode()).as("fence agents' status exit code for off: %s", offStatus.describe()).isEqualTo(2);
            assertThat(offStatus.stdout()).contains("Status: OFF");

            ExecResult on = fence(action(bmc, "on"));
            assertThat(on.exitCode()).as(on.describe()).isZero();
            assertThat(Poll.until(BOUND, () -> bmc.machinePid().isPresent() && runsSleep(bmc.machinePid().getAsLong())))
                    .as("machine runs sleep again").isTrue();
            long secondPid = bmc.machinePid().orElseThrow();
            assertThat(secondPid).isNotEqualTo(firstPid);
            assertThat(bmc.powerStatus()).isEqualTo(PowerStatus.ON);

            // fence_redfish's reboot is off, then on, each confirmed by a status.
            ExecResult reboot = fence(action(bmc, "reboot"));
            assertThat(reboot.exitCode()).as(reboot.describe()).isZero();
            assertThat(reboot.stdout()).contains("Success: Rebooted");
            assertThat(ProcessHandle.of(secondPid)).as("the machine before the reboot is gone").isEmpty();
            assertThat(Poll.until(BOUND, () -> bmc.machinePid().isPresent() && runsSleep(bmc.machinePid().getAsLong())))
                    .as("machine runs sleep after the reboot").isTrue();
            assertThat(bmc.machinePid().orElseThrow()).isNotIn(firstPid, secondPid);
        }
    }

    @Test
    void fenceRedfishFindsTheSystemWithoutSystemsUri() throws IOException {
        try (RedfishBmc bmc = startBmc()) {
            Map<String, String> options = action(bmc, "status");
            options.remove("systems_uri");
            ExecResult status = fence(options);
            assertThat(status.exitCode()).as(status.describe()).isZero();
            assertThat(status.stdout()).contains("Status: ON");
            assertThat(bmc.workDir().resolve("redfish.log")).content()
                    .contains("GET /redfish/v1 from", "GET /redfish/v1/Systems from", "GET /redfish/v1/Systems/1 from");
        }
    }

    @Test
    void aWrongPasswordIsRefused() throws IOException {
        try (RedfishBmc bmc = startBmc()) {
            Map<String, String> options = action(bmc, "off");
            options.put("password", "not-" + PASSWORD);
            ExecResult r = fence(options);
            assertThat(r.exitCode()).as(r.describe()).isNotZero().isNotEqualTo(2);
            // fence_redfish ignores HTTP status codes: it finds no PowerState in the 401's error object.
            assertThat(r.stderr()).contains("Unable to get PowerState");
            assertThat(bmc.workDir().resolve("redfish.log")).content().contains("-> 401 (Missing or wrong user name or password");
            assertThat(bmc.machinePid()).as("the machine is untouched").isPresent();
            assertThat(bmc.powerStatus()).isEqualTo(PowerStatus.ON);
        }
    }

    @Test
    void theBmcAnswersWithRedfishStatusCodes() throws IOException {
        try (RedfishBmc bmc = startBmc()) {
            Optional<Path> own = Optional.of(bmc.curlConfig());
            Path wrongFile = dir.resolve("wrong.conf");
            Files.writeString(wrongFile, "user = \"" + USER + ":not-" + PASSWORD + "\"\n");
            Optional<Path> wrong = Optional.of(wrongFile);
            String system = bmc.systemUri();
            String reset = system + "/Actions/ComputerSystem.Reset";

            // The standard keeps the service root open, so a client can find its way before it logs in.
            RedfishBmc.Answer root = bmc.request("GET", "/redfish/v1/", null, Optional.empty()).orElseThrow();
            assertThat(root.status()).isEqualTo(200);
            assertThat(root.body()).contains("\"Systems\": {\"@odata.id\": \"/redfish/v1/Systems\"}");

            assertThat(bmc.request("GET", system, null, Optional.empty()).orElseThrow().status()).isEqualTo(401);
            RedfishBmc.Answer refused = bmc.request("GET", system, null, wrong).orElseThrow();
            assertThat(refused.status()).isEqualTo(401);
            assertThat(refused.body()).contains("Base.1.8.AccessDenied").doesNotContain("PowerState");
            assertThat(bmc.request("POST", reset, "{\"ResetType\": \"ForceOff\"}", wrong).orElseThrow().status()).isEqualTo(401);
            assertThat(bmc.machinePid()).as("a refused off does nothing").isPresent();

            RedfishBmc.Answer systemAnswer = bmc.request("GET", system, null, own).orElseThrow();
            assertThat(systemAnswer.status()).isEqualTo(200);
            assertThat(systemAnswer.body()).contains("\"PowerState\": \"On\"", "\"target\": \"" + reset + "\"");
            assertThat(bmc.request("GET", "/redfish/v1/Systems/2", null, own).orElseThrow().status()).isEqualTo(404);
            assertThat(bmc.request("GET", "/redfish/v1/Managers", null, own).orElseThrow().status()).isEqualTo(404);
            assertThat(bmc.request("GET", reset, null, own).orElseThrow().status()).isEqualTo(405);
            assertThat(bmc.request("POST", system, "{}", own).orElseThrow().status()).isEqualTo(405);

            RedfishBmc.Answer nmi = bmc.request("POST", reset, "{\"ResetType\": \"Nmi\"}", own).orElseThrow();
            assertThat(nmi.status()).isEqualTo(400);
            assertThat(nmi.body()).contains("Base.1.8.ActionParameterValueNotInList");
            assertThat(bmc.request("POST", reset, "{\"ResetType\": ", own).orElseThrow().status()).isEqualTo(400);
            assertThat(bmc.request("POST", reset, "{\"ResetType\": 1}", own).orElseThrow().status()).isEqualTo(400);
            assertThat(bmc.request("POST", reset, "{}", own).orElseThrow().body()).contains("ActionParameterMissing");
            assertThat(bmc.request("POST", reset, "{\"ResetType\": \"On\", \"Delay\": \"5\"}", own).orElseThrow().body())
                    .contains("ActionParameterNotSupported");
            assertThat(bmc.powerStatus()).as("no refused request touched the power").isEqualTo(PowerStatus.ON);

            // What fence_redfish sends for method=cycle: off and on again in one request.
            long before = bmc.machinePid().orElseThrow();
            assertThat(bmc.request("POST", reset, "{\"ResetType\": \"ForceRestart\"}", own).orElseThrow().status()).isEqualTo(204);
            assertThat(ProcessHandle.of(before)).isEmpty();
            assertThat(Poll.until(BOUND, () -> bmc.machinePid().isPresent())).isTrue();
            assertThat(bmc.machinePid().orElseThrow()).isNotEqualTo(before);
            // On while on, off while off: nothing to do, and success.
            assertThat(bmc.request("POST", reset, "{\"ResetType\": \"On\"}", own).orElseThrow().status()).isEqualTo(204);
            assertThat(bmc.request("POST", reset, "{\"ResetType\":\"GracefulShutdown\"}", own).orElseThrow().status()).isEqualTo(204);
            assertThat(bmc.machinePid()).isEmpty();
            assertThat(bmc.request("POST", reset, "{\"ResetType\":\"ForceOff\"}", own).orElseThrow().status()).isEqualTo(204);
            assertThat(bmc.powerStatus()).isEqualTo(PowerStatus.OFF);
        }
    }

    @Test
    void aMachineThatIgnoresSigtermIsKilledWithWhatItStartedBeforeOffReturns() throws IOException {
        Host n1 = lab.node(1);
        // A shell that ignores SIGTERM, waiting on a child: only SIGKILL ends it, and the child must die too.
        List<String> stubborn = List.of("sh", "-c", "trap '' TERM; sleep 1000 & wait");
        try (RedfishBmc bmc = RedfishBmc.start(n1, n1.address(), PORT, USER, PASSWORD, stubborn, dir.resolve("bmc"))) {
            long shell = bmc.machinePid().orElseThrow();
            assertThat(Poll.until(BOUND, () -> ProcessHandle.of(shell).map(h -> h.children().findAny().isPresent()).orElse(false))).isTrue();
            long child = ProcessHandle.of(shell).orElseThrow().children().findFirst().orElseThrow().pid();

            long started = System.nanoTime();
            ExecResult off = fence(action(bmc, "off"));
            Duration took = Duration.ofNanos(System.nanoTime() - started);
            assertThat(off.exitCode()).as(off.describe()).isZero();
            assertThat(took).as("fencing's ForceOff is a power cut: no SIGTERM grace").isLessThan(MachinePower.KILL_WAIT);
            assertThat(ProcessHandle.of(shell)).isEmpty();
            // An orphan may wait as a zombie until init reaps it, but it runs no code.
            assertThat(ProcStat.read(child).filter(st -> st.state() != 'Z')).as("what the machine started dies with it").isEmpty();
            assertThat(bmc.workDir().resolve("redfish.log")).content().contains("ForceOff off: cut");
            assertThat(bmc.powerOffs()).as("the power-off recorded as evidence").hasSize(1);
        }
    }

    @Test
    void aStoppedBmcDoesNotAnswerAndTheMachineRunsOn() throws IOException {
        long machine;
        try (RedfishBmc bmc = startBmc()) {
            machine = bmc.machinePid().orElseThrow();
            bmc.stop();
            assertThat(bmc.isRunning()).isFalse();
            assertThat(bmc.powerStatus()).isEqualTo(PowerStatus.NO_ANSWER);

            long started = System.nanoTime();
            ExecResult r = fence(action(bmc, "status"));
            Duration took = Duration.ofNanos(System.nanoTime() - started);
            assertThat(r.exitCode()).as(r.describe()).isNotZero().isNotEqualTo(2);
            assertThat(r.stderr()).contains("Failed: send_get_request");
            // The port is closed, so the connection is refused at once (fence_redfish sets no HTTP timeout of its own).
            assertThat(took).as("a dead BMC must fail fast").isLessThan(Duration.ofSeconds(10));
            assertThat(ProcessHandle.of(machine)).as("a dead BMC does not kill its server").isPresent();
        }
        assertThat(Poll.until(BOUND, () -> ProcessHandle.of(machine).isEmpty())).as("close() ends the machine").isTrue();
    }

    @Test
    void closeLeavesNothingBehind() {
        long server;
        long machine;
        try (RedfishBmc bmc = startBmc()) {
            machine = bmc.machinePid().orElseThrow();
            server = ProcessHandle.of(machine).flatMap(ProcessHandle::parent).orElseThrow().pid();
            assertThat(ProcessHandle.of(server).flatMap(h -> h.info().command())).hasValueSatisfying(c -> assertThat(c).endsWith("/java"));
            assertThat(dir.resolve("bmc/bmc.p12")).exists();
        }
        assertThat(ProcessHandle.of(machine)).isEmpty();
        assertThat(Poll.until(BOUND, () -> ProcessHandle.of(server).isEmpty())).isTrue();
        assertThat(dir.resolve("bmc/password")).doesNotExist();
        assertThat(dir.resolve("bmc/curl.conf")).doesNotExist();
        assertThat(dir.resolve("bmc/bmc.p12")).doesNotExist();
    }

    @Test
    void refusesUsersAndPasswordsThatWouldBreakTheConfig() {
        Host n1 = lab.node(1);
        assertThatThrownBy(() -> RedfishBmc.start(n1, n1.address(), PORT, USER, "pass word", MACHINE, dir))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("password");
        assertThatThrownBy(() -> RedfishBmc.start(n1, n1.address(), PORT, USER, "x\"y", MACHINE, dir))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> RedfishBmc.start(n1, n1.address(), PORT, "a:b", PASSWORD, MACHINE, dir))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Basic");
    }
}
