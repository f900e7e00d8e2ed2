package baton.lab.bmc;

import baton.lab.Poll;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import baton.lab.ExecResult;
import baton.lab.Host;
import baton.lab.Lab;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real ipmi_sim BMC on lab host n1 whose machine is {@code sleep 1000}, fenced from n2 by the
 * real fence_ipmilan, as Baton's fencing will do it.
 */
class IpmiBmcTest {
    /** IPMI's UDP port; heartbeats use others. */
    private static final int PORT = 623;
    private static final String USER = "baton";
    private static final String PASSWORD = "fence-me-0";
    /** fence_ipmilan waits for the power state to change; everything here finishes in a few seconds. */
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

    private IpmiBmc startBmc() {
        Host n1 = lab.node(1);
        return IpmiBmc.start(n1, n1.address(), PORT, USER, PASSWORD, MACHINE, dir.resolve("bmc"));
    }

    /**
     * Runs fence_ipmilan on n2 with {@code options} as key=value lines on stdin, from a 0600
     * file so the password stays off every command line.
     */
    private ExecResult fence(Map<String, String> options) throws IOException {
        StringBuilder stdin = new StringBuilder();
        options.forEach((k, v) -> stdin.append(k).append('=').append(v).append('\n'));
        Path file = Files.createTempFile(dir, "fence-", ".stdin", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(file, stdin);
        ExecResult r = lab.node(2).run(AGENT_TIMEOUT, "sh", "-c", "exec fence_ipmilan < \"$0\"", file.toString());
        assertThat(r.timedOut()).as("fence_ipmilan hung: %s", r.describe()).isFalse();
        return r;
    }

    private static Map<String, String> action(IpmiBmc bmc, String action) {
        Map<String, String> options = new LinkedHashMap<>(bmc.fenceIpmilanOptions());
        options.put("action", action);
        return options;
    }

    @Test
    void fenceIpmilanFromAnotherHostSeesAndSwitchesTheMachinesPower() throws IOException {
        try (IpmiBmc bmc = startBmc()) {
            assertThat(bmc.powerStatus()).isEqualTo(PowerStatus.ON);
            assertThat(bmc.powerOffs()).isEmpty();
            long firstPid = bmc.machinePid().orElseThrow();
            assertThat(ProcessHandle.of(firstPid).flatMap(h -> h.info().command())).hasValueSatisfying(c -> assertThat(c).endsWith("/sleep"));

            ExecResult status = fence(action(bmc, "status"));
            assertThat(status.exitCode()).as(status.describe()).isZero();
            assertThat(status.stdout()).contains("Status: ON");

            ExecResult off = fence(action(bmc, "off"));
            assertThat(off.exitCode()).as(off.describe()).isZero();
            assertThat(Poll.until(BOUND, () -> ProcessHandle.of(firstPid).isEmpty())).as("machine pid %d gone after off", firstPid).isTrue();
            assertThat(bmc.machinePid()).isEmpty();
            assertThat(Poll.until(BOUND, () -> !bmc.machineCgroup().exists())).as("the machine's cgroup removed at power off").isTrue();
            assertThat(bmc.machinePids()).isEmpty();
            assertThat(bmc.powerStatus()).isEqualTo(PowerStatus.OFF);
            long nowNanos = java.time.Instant.now().getEpochSecond() * 1_000_000_000L + java.time.Instant.now().getNano();
            assertThat(bmc.powerOffs()).as("the power-off recorded as evidence").singleElement()
                    .satisfies(t -> assertThat(nowNanos - t).isBetween(0L, 30_000_000_000L));

            ExecResult offStatus = fence(action(bmc, "status"));
            assertThat(offStatus.exitCode()).as("fence agents' status exit code for off: %s", offStatus.describe()).isEqualTo(2);
            assertThat(offStatus.stdout()).contains("Status: OFF");

            ExecResult on = fence(action(bmc, "on"));
            assertThat(on.exitCode()).as(on.describe()).isZero();
            assertThat(Poll.until(BOUND, () -> bmc.machinePid().isPresent())).as("machine restarted by on").isTrue();
            long secondPid = bmc.machinePid().orElseThrow();
            assertThat(secondPid).isNotEqualTo(firstPid);
            assertThat(Poll.until(BOUND, () -> ProcessHandle.of(secondPid).flatMap(h -> h.info().command()).map(c -> c.endsWith("/sleep")).orElse(false)))
                    .as("machine runs sleep again").isTrue();
            assertThat(bmc.powerStatus()).isEqualTo(PowerStatus.ON);
        }
    }

    @Test
    void aWrongPasswordIsRefused() throws IOException {
        try (IpmiBmc bmc = startBmc()) {
            Map<String, String> options = action(bmc, "status");
            options.put("password", "not-" + PASSWORD);
            options.put("login_timeout", "2");
            options.put("power_timeout", "2");
            ExecResult r = fence(options);
            assertThat(r.exitCode()).as(r.describe()).isNotZero().isNotEqualTo(2);
            assertThat(r.stderr()).contains("Failed");
            assertThat(bmc.machinePid()).as("the machine is untouched").isPresent();
        }
    }

    @Test
    void aStoppedBmcDoesNotAnswerAndTheMachineRunsOn() throws IOException {
        long machine;
        try (IpmiBmc bmc = startBmc()) {
            machine = bmc.machinePid().orElseThrow();
            bmc.stop();
            assertThat(bmc.isRunning()).isFalse();
            assertThat(bmc.powerStatus()).isEqualTo(PowerStatus.NO_ANSWER);

            Map<String, String> options = action(bmc, "status");
            options.put("login_timeout", "2");
            options.put("power_timeout", "2");
            options.put("retry_on", "1");
            long started = System.nanoTime();
            ExecResult r = fence(options);
            Duration took = Duration.ofNanos(System.nanoTime() - started);
            assertThat(r.exitCode()).as(r.describe()).isNotZero().isNotEqualTo(2);
            assertThat(took).as("a dead BMC must fail fast").isLessThan(Duration.ofSeconds(30));
            assertThat(ProcessHandle.of(machine)).as("a dead BMC does not kill its server").isPresent();
        }
        assertThat(Poll.until(BOUND, () -> ProcessHandle.of(machine).isEmpty())).as("close() ends the machine").isTrue();
    }

    @Test
    void closeLeavesNothingBehind() {
        long sim;
        long machine;
        Path cgroup;
        try (IpmiBmc bmc = startBmc()) {
            machine = bmc.machinePid().orElseThrow();
            sim = ProcessHandle.of(machine).flatMap(ProcessHandle::parent).orElseThrow().pid();
            cgroup = bmc.machineCgroup().dir();
            assertThat(bmc.machinePids()).containsExactly(machine);
        }
        assertThat(ProcessHandle.of(machine)).isEmpty();
        assertThat(cgroup).doesNotExist();
        assertThat(Poll.until(BOUND, () -> ProcessHandle.of(sim).isEmpty())).isTrue();
        assertThat(dir.resolve("bmc/password")).doesNotExist();
        assertThat(dir.resolve("bmc/lan.conf")).doesNotExist();
    }

    @Test
    void refusesAPasswordThatWouldBreakTheConfig() {
        Host n1 = lab.node(1);
        assertThatThrownBy(() -> IpmiBmc.start(n1, n1.address(), PORT, USER, "pass word", MACHINE, dir))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("password");
        assertThatThrownBy(() -> IpmiBmc.start(n1, n1.address(), PORT, USER, "x\"y", MACHINE, dir))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
