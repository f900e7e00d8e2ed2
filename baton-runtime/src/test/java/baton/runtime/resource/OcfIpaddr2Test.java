package baton.runtime.resource;

import static baton.runtime.resource.FakeAgents.GENEROUS;
import static baton.runtime.resource.FakeAgents.as;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The real ocf:heartbeat:IPaddr2 adding and removing an address, inside a network namespace
 * of the test's own (a veth pair, an address from 198.18.0.0/15), run there with
 * {@code ip netns exec} as the driver's launcher.
 */
class OcfIpaddr2Test {
    static final String IP = "/usr/sbin/ip";

    final String namespace = "baton-res-" + ProcessHandle.current().pid() + "-"
            + Integer.toHexString(ThreadLocalRandom.current().nextInt(1 << 20));

    @BeforeEach
    void createNamespace() throws Exception {
        FakeAgents.requireResourceAgents();
        ip("netns", "add", namespace);
        ip("-n", namespace, "link", "add", "rveth0", "type", "veth", "peer", "name", "rveth1");
        ip("-n", namespace, "link", "set", "lo", "up");
        ip("-n", namespace, "link", "set", "rveth0", "up");
        ip("-n", namespace, "link", "set", "rveth1", "up");
    }

    @AfterEach
    void deleteNamespace() throws Exception {
        // Runs after a failed test too; deleting the namespace deletes its interfaces.
        ip("netns", "del", namespace);
    }

    @Test
    void ipaddr2AddsMonitorsAndRemovesTheAddressInTheNamespace() throws Exception {
        OcfDriver driver = new OcfDriver(OcfDriver.DEFAULT_OCF_ROOT, List.of(IP, "netns", "exec", namespace),
                OcfDriver.DEFAULT_OUTPUT_LIMIT_BYTES);
        OcfResource vip = new OcfResource("vip-" + namespace, OcfAgent.parse("ocf:heartbeat:IPaddr2"),
                Map.of("ip", "198.18.231.10", "cidr_netmask", "24", "nic", "rveth0"));

        as(ResourceResult.Ok.class, driver.run(vip, OcfAction.VALIDATE_ALL, GENEROUS));
        as(ResourceResult.NotRunning.class, driver.run(vip, OcfAction.MONITOR, GENEROUS));
        as(ResourceResult.Ok.class, driver.run(vip, OcfAction.START, GENEROUS));
        assertThat(ip("-n", namespace, "-4", "addr", "show", "dev", "rveth0")).contains("inet 198.18.231.10/24");
        as(ResourceResult.Ok.class, driver.run(vip, OcfAction.MONITOR, GENEROUS));
        as(ResourceResult.Ok.class, driver.run(vip, OcfAction.STOP, GENEROUS));
        assertThat(ip("-n", namespace, "-4", "addr", "show", "dev", "rveth0")).doesNotContain("198.18.231.10");
        as(ResourceResult.NotRunning.class, driver.run(vip, OcfAction.MONITOR, GENEROUS));
    }

    @Test
    void ipaddr2WithoutItsAddressIsNotConfiguredWithItsReason() throws Exception {
        OcfDriver driver = new OcfDriver(OcfDriver.DEFAULT_OCF_ROOT, List.of(IP, "netns", "exec", namespace),
                OcfDriver.DEFAULT_OUTPUT_LIMIT_BYTES);
        OcfResource vip = new OcfResource("vip-bad", OcfAgent.parse("ocf:heartbeat:IPaddr2"), Map.of("nic", "rveth0"));

        ResourceResult.Failed failed = as(ResourceResult.Failed.class, driver.run(vip, OcfAction.START, GENEROUS));

        assertThat(failed.error()).isEqualTo(OcfError.NOT_CONFIGURED);
        assertThat(failed.reason()).isEqualTo("IP address (the ip parameter) is mandatory");
    }

    /** Runs ip with {@code args}; its output, or the test fails with it. */
    static String ip(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(IP));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
            process.destroyForcibly();
            fail(String.join(" ", command) + " failed: " + output);
        }
        return output;
    }
}
