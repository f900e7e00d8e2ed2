package baton.runtime.fence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FenceDeviceTest {
    static final Path IPMILAN = Path.of("/usr/sbin/fence_ipmilan");

    @Test
    void redactedShowsPlainValuesAndWhereSecretsComeFromSortedByName() {
        FenceDevice device = new FenceDevice("bmc-node-2", IPMILAN,
                Map.of("username", "admin", "ip", "10.0.0.7", "lanplus", "1"),
                Map.of("password", Path.of("/etc/baton/bmc-node-2.pw")));

        assertThat(device.redacted())
                .isEqualTo("ip=10.0.0.7 lanplus=1 password=<secret file /etc/baton/bmc-node-2.pw> username=admin");
        assertThat(device.toString()).isEqualTo("FenceDevice[bmc-node-2 /usr/sbin/fence_ipmilan ip=10.0.0.7 lanplus=1"
                + " password=<secret file /etc/baton/bmc-node-2.pw> username=admin]");
        assertThat(device.agentName()).isEqualTo("fence_ipmilan");
    }

    @Test
    void credentialsAreRefusedInlineWithoutRepeatingThem() {
        for (String name : new String[] {"password", "passwd", "Password", "snmp_priv_passwd", "community", "hexadecimal_kg"}) {
            assertThatThrownBy(() -> new FenceDevice("bmc", IPMILAN, Map.of(name, "hunter2"), Map.of()))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("'" + name + "' holds a credential and must come from a secret file")
                    .message().doesNotContain("hunter2");
        }
        // A script that prints the password is a command, not a secret.
        new FenceDevice("bmc", IPMILAN, Map.of("password_script", "/usr/local/bin/bmc-pw"), Map.of());
    }

    @Test
    void aValueWithALineBreakCannotSmuggleAnotherParameterOntoStdin() {
        assertThatThrownBy(() -> new FenceDevice("bmc", IPMILAN, Map.of("ip", "10.0.0.7\naction=reboot"), Map.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("fence device 'bmc': parameter 'ip' has a line break or NUL character at position 9,"
                        + " which would end the parameter's line on the agent's stdin");
    }

    @Test
    void valuesTheAgentsWouldChangeAreRefused() {
        assertThatThrownBy(() -> new FenceDevice("bmc", IPMILAN, Map.of("username", "admin "), Map.of()))
                .hasMessageContaining("starts or ends with blanks");
        assertThatThrownBy(() -> new FenceDevice("bmc", IPMILAN, Map.of("username", "\"admin\""), Map.of()))
                .hasMessageContaining("double quotes");
    }

    @Test
    void actionAndTheParametersThatFakeSuccessAreNotTheDevicesToGive() {
        for (String name : new String[] {"action", "option", "help", "version"}) {
            assertThatThrownBy(() -> new FenceDevice("bmc", IPMILAN, Map.of(name, "1"), Map.of()))
                    .hasMessageContaining("parameter '" + name + "'");
        }
    }

    @Test
    void aParameterCannotBeBothInlineAndSecret() {
        assertThatThrownBy(() -> new FenceDevice("bmc", IPMILAN, Map.of("username", "admin"),
                Map.of("username", Path.of("/etc/baton/user"))))
                .hasMessageContaining("'username' is given both inline and as a secret file");
    }

    @Test
    void theAgentIsAnAbsolutePath() {
        assertThatThrownBy(() -> new FenceDevice("bmc", Path.of("fence_ipmilan"), Map.of(), Map.of()))
                .hasMessageContaining("is not an absolute path");
        assertThat(FenceDevice.agentPath("fence_ipmilan")).isEqualTo(IPMILAN);
        assertThatThrownBy(() -> FenceDevice.agentPath("../bin/sh")).isInstanceOf(IllegalArgumentException.class);
    }
}
