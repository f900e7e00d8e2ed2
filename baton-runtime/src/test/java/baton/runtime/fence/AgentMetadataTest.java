package baton.runtime.fence;

import static baton.runtime.fence.Agents.GENEROUS;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Metadata of the real agents, and parameters checked against it. */
class AgentMetadataTest {
    static AgentMetadata dummy;
    static AgentMetadata ipmilan;
    static AgentMetadata apcSnmp;
    static AgentMetadata redfish;

    @TempDir
    Path dir;

    @BeforeAll
    static void readMetadata() throws Exception {
        dummy = load("fence_dummy");
        ipmilan = load("fence_ipmilan");
        apcSnmp = load("fence_apc_snmp");
        redfish = load("fence_redfish");
    }

    static AgentMetadata load(String agentName) throws Exception {
        MetadataResult result = AgentMetadata.read(new FenceAgent(), Agents.installed(agentName), GENEROUS);
        assertThat(result).as(result.toString()).isInstanceOf(MetadataResult.Loaded.class);
        return ((MetadataResult.Loaded) result).metadata();
    }

    @Test
    void fenceDummy() {
        assertThat(dummy.agentName()).isEqualTo("fence_dummy");
        assertThat(dummy.shortDescription()).isEqualTo("Dummy fence agent");
        assertThat(dummy.parameter("status_file")).hasValueSatisfying(p -> {
            assertThat(p.required()).isFalse();
            assertThat(p.type()).isEqualTo("string");
            assertThat(p.defaultValue()).contains("/tmp/fence_dummy.status");
            assertThat(p.description()).isEqualTo("File with status");
        });
        assertThat(dummy.parameter("type").flatMap(AgentMetadata.Parameter::defaultValue)).contains("file");
        assertThat(dummy.parameter("debug")).hasValueSatisfying(p -> assertThat(p.deprecated()).isTrue());
        assertThat(dummy.parameter("debug_file").flatMap(AgentMetadata.Parameter::obsoletes)).contains("debug");
        assertThat(dummy.parameter("power_timeout")).hasValueSatisfying(p -> {
            assertThat(p.type()).isEqualTo("second");
            assertThat(p.defaultValue()).contains("20");
        });
        // The parser of the agents takes '-' for '_'.
        assertThat(dummy.parameter("status-file")).isEqualTo(dummy.parameter("status_file"));
        assertThat(dummy.actions()).contains("on", "off", "reboot", "status", "monitor", "metadata", "validate-all")
                .doesNotContain("list");
        assertThat(dummy.supports(AgentAction.OFF)).isTrue();
        assertThat(dummy.supports(AgentAction.LIST)).isFalse();
    }

    @Test
    void fenceIpmilan() {
        assertThat(ipmilan.agentName()).isEqualTo("fence_ipmilan");
        assertThat(ipmilan.parameter("ip")).hasValueSatisfying(p -> {
            assertThat(p.obsoletes()).contains("ipaddr");
            assertThat(p.deprecated()).isFalse();
        });
        assertThat(ipmilan.parameter("ipaddr").map(AgentMetadata.Parameter::deprecated)).contains(true);
        assertThat(ipmilan.parameter("username").flatMap(AgentMetadata.Parameter::obsoletes)).contains("login");
        assertThat(ipmilan.parameter("password").flatMap(AgentMetadata.Parameter::obsoletes)).contains("passwd");
        assertThat(ipmilan.parameter("lanplus").map(AgentMetadata.Parameter::type)).contains("boolean");
        assertThat(ipmilan.parameter("method")).hasValueSatisfying(p -> {
            assertThat(p.type()).isEqualTo("select");
            assertThat(p.choices()).containsExactly("onoff", "cycle");
        });
        assertThat(ipmilan.actions()).contains("diag");
    }

    @Test
    void aCompleteIpmiDeviceIsValid() {
        assertThat(ipmilan.validate(Map.of("ip", "10.0.0.7", "username", "admin", "lanplus", "1", "cipher", "3"),
                Set.of("password"))).isEmpty();
    }

    @Test
    void deprecatedNamesAreAcceptedAsAliases() {
        assertThat(ipmilan.validate(Map.of("ipaddr", "10.0.0.7", "login", "admin"), Set.of("passwd"))).isEmpty();
        assertThat(apcSnmp.validate(Map.of("ipaddr", "10.0.0.8", "port", "3"), Set.of("community"))).isEmpty();
        assertThat(apcSnmp.validate(Map.of("ip", "10.0.0.8", "plug", "3"), Set.of())).isEmpty();
        assertThat(dummy.validate(Map.of("debug", "/tmp/d", "status-file", "/tmp/s"), Set.of())).isEmpty();
    }

    @Test
    void anUnknownParameterIsReportedWithTheClosestName() {
        List<ParameterProblem> problems = ipmilan.validate(Map.of("ip", "10.0.0.7", "usernme", "admin"), Set.of("password"));

        assertThat(problems).extracting(ParameterProblem::message).containsExactly(
                "fence_ipmilan: parameter 'usernme': fence_ipmilan has no such parameter; fix: did you mean 'username'?");
    }

    @Test
    void aMisspelledSecretIsSuggestedItsNewNameNotTheDeprecatedOne() {
        // "passwrd" is one edit from both "passwd" (deprecated) and "password".
        assertThat(ipmilan.validate(Map.of("ip", "10.0.0.7"), Set.of("passwrd")))
                .extracting(ParameterProblem::fix).containsExactly("did you mean 'password'?");
    }

    @Test
    void anUnknownParameterFarFromAnyNameIsToldWhereToLook() {
        assertThat(dummy.validate(Map.of("frobnicate", "1"), Set.of())).extracting(ParameterProblem::message)
                .containsExactly("fence_dummy: parameter 'frobnicate': fence_dummy has no such parameter;"
                        + " fix: remove it; `fence_dummy -o metadata` lists the parameters it takes");
    }

    @Test
    void aMissingRequiredParameterIsReportedUnderItsCurrentName() {
        List<ParameterProblem> problems = apcSnmp.validate(Map.of("ip", "10.0.0.8"), Set.of());

        // fence_apc_snmp marks plug and port (its old name) required: one of them is meant.
        assertThat(problems).extracting(ParameterProblem::message).containsExactly(
                "fence_apc_snmp: parameter 'plug': is required by fence_apc_snmp and missing (also accepted as 'port');"
                        + " fix: add plug=VALUE to the device's parameters");
    }

    @Test
    void aMissingRequiredSecretSaysToGiveASecretFile() {
        assertThat(redfish.validate(Map.of("ip", "10.0.0.9", "username", "admin"), Set.of())).isEmpty();
        List<ParameterProblem> problems = redfish.validate(Map.of("ip", "10.0.0.9"), Set.of("password"));

        assertThat(problems).extracting(ParameterProblem::message).containsExactly(
                "fence_redfish: parameter 'username': is required by fence_redfish and missing (also accepted as 'login');"
                        + " fix: add username=VALUE to the device's parameters");
    }

    @Test
    void oneParameterUnderTwoNamesIsAnError() {
        assertThat(ipmilan.validate(Map.of("ip", "10.0.0.7", "ipaddr", "10.0.0.8"), Set.of()))
                .extracting(ParameterProblem::message).containsExactly(
                        "fence_ipmilan: parameter 'ipaddr': is the same parameter as 'ip' ('ip', 'ipaddr' are names of"
                                + " one parameter); fix: keep only 'ip'");
    }

    @Test
    void parametersThatWouldFakeASuccessAreRefused() {
        // version=1 or help=1 make the agent print text and exit 0 without powering anything off.
        assertThat(ipmilan.validate(Map.of("ip", "10.0.0.7", "version", "1", "action", "off"), Set.of()))
                .extracting(ParameterProblem::message).containsExactly(
                        "fence_ipmilan: parameter 'action': is set by Baton on each call (off, status, monitor, ...);"
                                + " fix: remove it",
                        "fence_ipmilan: parameter 'version': makes the agent print text and exit 0 without acting,"
                                + " which would read as success; fix: remove it");
    }

    @Test
    void aPasswordGivenInlineIsAnError() {
        assertThat(ipmilan.validate(Map.of("ip", "10.0.0.7", "password", "hunter2"), Set.of()))
                .extracting(ParameterProblem::message).containsExactly(
                        "fence_ipmilan: parameter 'password': holds a credential but is given inline;"
                                + " fix: put the secret alone in a file of mode 600 and give that file for 'password'")
                .noneMatch(m -> m.contains("hunter2"));
    }

    @Test
    void valuesTheAgentWouldIgnoreOrRefuseAreErrors() {
        List<ParameterProblem> problems = ipmilan.validate(
                Map.of("ip", "10.0.0.7", "lanplus", "maybe", "power_timeout", "ten", "method", "bounce"), Set.of());

        assertThat(problems).extracting(ParameterProblem::message).containsExactly(
                "fence_ipmilan: parameter 'lanplus': is a boolean, and fence_ipmilan ignores the value 'maybe';"
                        + " fix: write 1 or 0 (or yes/no, on/off, true/false)",
                "fence_ipmilan: parameter 'method': is one of [onoff, cycle], and fence_ipmilan refuses 'bounce';"
                        + " fix: write one of [onoff, cycle]",
                "fence_ipmilan: parameter 'power_timeout': is a whole number of seconds, and fence_ipmilan refuses 'ten';"
                        + " fix: write a whole number, e.g. 20");
        assertThat(ipmilan.validate(Map.of("ip", "10.0.0.7", "lanplus", "TRUE", "method", "CYCLE", "power_timeout", "30"),
                Set.of())).isEmpty();
    }

    @Test
    void anUnreadableAgentHasNoMetadata() throws Exception {
        MetadataResult result = AgentMetadata.read(new FenceAgent(), dir.resolve("fence_nonexistent"), GENEROUS);

        assertThat(result).isInstanceOfSatisfying(MetadataResult.Unavailable.class,
                u -> assertThat(u.reason()).contains("fence_nonexistent does not exist"));
    }

    @Test
    void anAgentPrintingGarbageHasNoMetadata() throws Exception {
        Path fake = Agents.script(dir, "fence_garbage", "echo 'Usage: fence_garbage [options]'\n");

        MetadataResult result = AgentMetadata.read(new FenceAgent(), fake, GENEROUS);

        assertThat(result).isInstanceOfSatisfying(MetadataResult.Unavailable.class,
                u -> assertThat(u.reason()).startsWith("metadata is not well-formed XML"));
    }

    @Test
    void externalEntitiesAreNeverResolved() {
        String xxe = """
                <?xml version="1.0"?>
                <!DOCTYPE resource-agent [<!ENTITY leak SYSTEM "file:///etc/hostname">]>
                <resource-agent name="fence_evil" shortdesc="&leak;"><parameters/><actions/></resource-agent>
                """;

        assertThat(AgentMetadata.parse(xxe)).isInstanceOfSatisfying(MetadataResult.Unavailable.class,
                u -> assertThat(u.reason()).contains("DOCTYPE"));
    }

    @Test
    void aMinimalDocumentParses() {
        String xml = """
                <resource-agent name="fence_min" shortdesc="Minimal">
                  <parameters>
                    <parameter name="ip" required="1" obsoletes="ipaddr"><content type="string"/></parameter>
                    <parameter name="ipaddr" required="1" deprecated="1"><content type="string"/></parameter>
                  </parameters>
                  <actions><action name="off"/><action name="status"/></actions>
                </resource-agent>
                """;

        MetadataResult result = AgentMetadata.parse(xml);

        assertThat(result).isInstanceOfSatisfying(MetadataResult.Loaded.class, loaded -> {
            AgentMetadata metadata = loaded.metadata();
            assertThat(metadata.parameters()).extracting(AgentMetadata.Parameter::name).containsExactly("ip", "ipaddr");
            assertThat(metadata.parameter("ip").flatMap(AgentMetadata.Parameter::defaultValue)).isEqualTo(Optional.empty());
            assertThat(metadata.actions()).containsExactly("off", "status");
            assertThat(metadata.validate(Map.of(), Set.of())).extracting(ParameterProblem::parameter).containsExactly("ip");
        });
    }
}
