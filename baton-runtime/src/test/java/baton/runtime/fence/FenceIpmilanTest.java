package baton.runtime.fence;

import static baton.runtime.fence.Agents.GENEROUS;
import static baton.runtime.fence.Agents.as;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real fence_ipmilan (which runs the real ipmitool) against a BMC that never answers: a
 * UDP socket on loopback that swallows every packet. fence_ipmilan would give up by itself
 * after some 20 s; Baton's deadline comes first and must take ipmitool down with the agent.
 */
class FenceIpmilanTest {
    @TempDir
    Path dir;

    final FenceAgent agent = new FenceAgent();

    @Test
    void aBmcThatNeverAnswersTimesOutAndIpmitoolDiesWithTheAgent() throws Exception {
        Path ipmilan = Agents.installed("fence_ipmilan");
        Agents.requireExecutable(Path.of("/usr/bin/ipmitool"), "ipmitool");
        try (DatagramSocket silentBmc = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            String port = Integer.toString(silentBmc.getLocalPort());
            Path password = Agents.secretFile(dir, "bmc.pw", "bmc-secret-91\n", "rw-------");
            FenceDevice device = new FenceDevice("bmc-node-2", ipmilan,
                    Map.of("ip", "127.0.0.1", "ipport", port, "username", "admin", "lanplus", "1"),
                    Map.of("password", password));
            Duration deadline = Duration.ofSeconds(8);

            CompletableFuture<AgentResult> call = CompletableFuture.supplyAsync(() -> {
                try {
                    return agent.run(device, AgentAction.STATUS, deadline);
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }, Executors.newVirtualThreadPerTaskExecutor());
            // Watch for the ipmitool the agent starts ("ipmitool -I lanplus -H 127.0.0.1 -p PORT ...").
            List<Long> ipmitools = new ArrayList<>();
            while (!call.isDone() && ipmitools.isEmpty()) {
                ipmitools.addAll(Agents.runningWithCommandLine("ipmitool", "-p " + port));
                Thread.sleep(20);
            }
            AgentResult result = call.get(Agents.WAIT.toSeconds() + deadline.toSeconds(), TimeUnit.SECONDS);

            AgentResult.TimedOut timedOut = as(AgentResult.TimedOut.class, result);
            assertThat(timedOut.after()).isGreaterThanOrEqualTo(deadline);
            assertThat(timedOut.survivingPids()).isEmpty();
            assertThat(ipmitools).as("fence_ipmilan had started ipmitool before the deadline").isNotEmpty();
            for (long pid : ipmitools) {
                assertThat(Agents.running(pid)).as("ipmitool " + pid).isFalse();
            }
            assertThat(Agents.runningWithCommandLine("ipmitool", "-p " + port)).isEmpty();
        }
    }

    @Test
    void validateAllCatchesWhatTheMetadataDoesNotSay() throws Exception {
        // fence_ipmilan's metadata marks ip optional, but the agent refuses to run without it.
        Path password = Agents.secretFile(dir, "bmc.pw", "bmc-secret-91\n", "rw-------");
        FenceDevice noAddress = new FenceDevice("bmc", Agents.installed("fence_ipmilan"),
                Map.of("username", "admin", "lanplus", "1"), Map.of("password", password));

        AgentResult.Failed failed = as(AgentResult.Failed.class, agent.run(noAddress, AgentAction.VALIDATE_ALL, GENEROUS));

        // stderr ends "Failed: You have to enter fence address", "validate-all failed", "Please use '-h' for usage".
        assertThat(failed.reason()).isEqualTo("ERROR: Failed: You have to enter fence address");
    }
}
