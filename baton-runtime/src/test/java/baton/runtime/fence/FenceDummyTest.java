package baton.runtime.fence;

import static baton.runtime.fence.Agents.GENEROUS;
import static baton.runtime.fence.Agents.as;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The driver against the real fence_dummy of fence-agents. With {@code type=file} it keeps
 * the plug's power state in {@code status_file} ("on"/"off"; no file reads as off); with
 * {@code type=fail} it cannot change the power and fails after {@code power_timeout} seconds.
 */
class FenceDummyTest {
    @TempDir
    Path dir;

    final FenceAgent agent = new FenceAgent();

    FenceDevice dummy(Map<String, String> parameters) {
        return new FenceDevice("dummy", Agents.installed("fence_dummy"), parameters, Map.of());
    }

    FenceDevice fileDummy() {
        return dummy(Map.of("type", "file", "status_file", dir.resolve("power").toString()));
    }

    @Test
    void statusOnOffRebootRoundTripWithTheExitCodesOfTheApi() throws Exception {
        FenceDevice device = fileDummy();
        Path power = dir.resolve("power");

        // No status file yet: fence_dummy reads that as off, and status exits 2.
        as(AgentResult.StatusOff.class, agent.run(device, AgentAction.STATUS, GENEROUS));

        AgentResult.Success on = as(AgentResult.Success.class, agent.run(device, AgentAction.ON, GENEROUS));
        assertThat(on.output().stdout()).contains("Success: Powered ON");
        assertThat(Files.readString(power)).isEqualTo("on");
        AgentResult.StatusOn statusOn = as(AgentResult.StatusOn.class, agent.run(device, AgentAction.STATUS, GENEROUS));
        assertThat(statusOn.output().stdout()).contains("Status: ON");

        as(AgentResult.Success.class, agent.run(device, AgentAction.OFF, GENEROUS));
        assertThat(Files.readString(power)).isEqualTo("off");
        AgentResult.StatusOff statusOff = as(AgentResult.StatusOff.class, agent.run(device, AgentAction.STATUS, GENEROUS));
        assertThat(statusOff.output().stdout()).contains("Status: OFF");

        AgentResult.Success reboot = as(AgentResult.Success.class, agent.run(device, AgentAction.REBOOT, GENEROUS));
        assertThat(reboot.output().stdout()).contains("Success: Rebooted");
        as(AgentResult.StatusOn.class, agent.run(device, AgentAction.STATUS, GENEROUS));

        as(AgentResult.Success.class, agent.run(device, AgentAction.MONITOR, GENEROUS));
        as(AgentResult.Success.class, agent.run(device, AgentAction.VALIDATE_ALL, GENEROUS));
    }

    @Test
    void aDeviceThatCannotSwitchFailsWithTheAgentsLastStderrLineAsReason() throws Exception {
        // power_timeout=1: the agent gives up waiting for the power to change after 1 s, not 20.
        FenceDevice device = dummy(Map.of("type", "fail", "power_timeout", "1"));

        AgentResult.Failed failed = as(AgentResult.Failed.class, agent.run(device, AgentAction.OFF, GENEROUS));

        assertThat(failed.exitCode()).isEqualTo(1);
        // stderr: "2026-11-23 02:21:58,739 ERROR: Failed: Timed out waiting to power OFF", then blank lines.
        assertThat(failed.output().stderr()).contains("ERROR: Failed: Timed out waiting to power OFF");
        assertThat(failed.reason()).isEqualTo("ERROR: Failed: Timed out waiting to power OFF");
        assertThat(failed.summary()).isEqualTo("failed (exit 1): ERROR: Failed: Timed out waiting to power OFF");
    }

    @Test
    void anActionTheAgentDoesNotHaveFailsWithItsMessageNotTheUsageBoilerplate() throws Exception {
        // fence_dummy has no "list"; it logs the reason, then "Please use '-h' for usage".
        AgentResult.Failed failed = as(AgentResult.Failed.class, agent.run(fileDummy(), AgentAction.LIST, GENEROUS));

        assertThat(failed.output().stderr()).contains("Please use '-h' for usage");
        assertThat(failed.reason()).isEqualTo("ERROR: Failed: Unrecognised action 'list'");
    }

    @Test
    void aSecretTheAgentEchoesBackIsScrubbedFromItsOutput() throws Exception {
        // fence_dummy has no password; fencing.py then warns "Ignoring unknown option 'passwd=VALUE'"
        // on stderr, with the value. Whatever Baton keeps of the output must not hold it.
        Path secret = Agents.secretFile(dir, "pw", "hunter2-7f3a\n", "rw-------");
        FenceDevice device = new FenceDevice("dummy", Agents.installed("fence_dummy"),
                Map.of("type", "file", "status_file", dir.resolve("power").toString()), Map.of("passwd", secret));

        AgentResult result = agent.run(device, AgentAction.STATUS, GENEROUS);

        AgentResult.StatusOff off = as(AgentResult.StatusOff.class, result);
        assertThat(off.output().stderr()).contains("Ignoring unknown option 'passwd=***'");
        assertThat(off.output().stderr() + off.output().stdout() + result + result.summary())
                .doesNotContain("hunter2");
    }
}
