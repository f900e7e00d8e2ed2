package baton.runtime.resource;

import static baton.runtime.resource.FakeAgents.GENEROUS;
import static org.assertj.core.api.Assertions.assertThat;

import baton.runtime.fence.ParameterProblem;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** meta-data of the real agents, parsed; DOCTYPEs; the check of a resource's parameters. */
class OcfMetadataTest {
    final OcfDriver driver = new OcfDriver();

    OcfMetadata read(String agent) throws InterruptedException {
        FakeAgents.requireResourceAgents();
        OcfMetadataResult result = OcfMetadata.read(driver, OcfAgent.parse(agent), GENEROUS);
        assertThat(result).as(result.toString()).isInstanceOf(OcfMetadataResult.Loaded.class);
        return ((OcfMetadataResult.Loaded) result).metadata();
    }

    @Test
    void dummysMetadata() throws Exception {
        OcfMetadata dummy = read("ocf:heartbeat:Dummy");

        assertThat(dummy.agentName()).isEqualTo("Dummy");
        assertThat(dummy.version()).isEqualTo("1.0");
        assertThat(dummy.shortDescription()).isEqualTo("Example stateless resource agent");
        assertThat(dummy.parameters()).extracting(OcfMetadata.Parameter::name).containsExactly("state", "fake");
        OcfMetadata.Parameter state = dummy.parameter("state").orElseThrow();
        assertThat(state.unique()).isTrue();
        assertThat(state.required()).isFalse();
        // Without an instance, the agents name their defaults after RESOURCE_ID.
        assertThat(state.defaultValue()).contains("/run/resource-agents/Dummy-RESOURCE_ID.state");
        assertThat(dummy.advisedTimeout(OcfAction.START)).contains(Duration.ofSeconds(20));
        assertThat(dummy.advisedTimeout(OcfAction.META_DATA)).contains(Duration.ofSeconds(5));
        OcfMetadata.Action monitor = dummy.actions().stream().filter(a -> a.name().equals("monitor")).findFirst().orElseThrow();
        assertThat(monitor.interval()).contains(Duration.ofSeconds(10));
        assertThat(monitor.depth()).contains(0);
        assertThat(dummy.supports(OcfAction.VALIDATE_ALL)).isTrue();
    }

    @Test
    void ipaddr2sMetadata() throws Exception {
        OcfMetadata ip = read("ocf:heartbeat:IPaddr2");

        OcfMetadata.Parameter address = ip.parameter("ip").orElseThrow();
        assertThat(address.required()).isTrue();
        assertThat(address.unique()).isTrue();
        assertThat(ip.parameter("cidr_netmask")).isPresent();
        assertThat(ip.parameter("lvs_support").orElseThrow().type()).isEqualTo("boolean");
        assertThat(ip.parameter("arp_count").orElseThrow().type()).isEqualTo("integer");
        assertThat(ip.parameter("arp_count").orElseThrow().defaultValue()).contains("5");
        assertThat(ip.parameters()).hasSizeGreaterThan(20);
        assertThat(ip.advisedTimeout(OcfAction.STOP)).contains(Duration.ofSeconds(20));
    }

    @Test
    void filesystemsMetadata() throws Exception {
        OcfMetadata fs = read("ocf:heartbeat:Filesystem");

        assertThat(fs.parameters().stream().filter(OcfMetadata.Parameter::required).map(OcfMetadata.Parameter::name))
                .containsExactly("device", "directory", "fstype");
        assertThat(fs.advisedTimeout(OcfAction.START)).contains(Duration.ofSeconds(60));
        assertThat(fs.advisedTimeout(OcfAction.MONITOR)).contains(Duration.ofSeconds(40));
    }

    @Test
    void theOcfDoctypeIsSkippedButAnyOtherIsRefused() {
        String body = "<resource-agent name=\"X\"><parameters/><actions/></resource-agent>";
        assertThat(OcfMetadata.parse("<?xml version=\"1.0\"?>\n" + OcfMetadata.OCF_DOCTYPE + "\n" + body))
                .isInstanceOf(OcfMetadataResult.Loaded.class);
        for (String doctype : List.of(
                "<!DOCTYPE resource-agent [<!ENTITY leak SYSTEM \"file:///etc/hostname\">]>",
                "<!DOCTYPE resource-agent SYSTEM \"http://198.18.0.1/ra-api-1.dtd\">",
                OcfMetadata.OCF_DOCTYPE + "<!DOCTYPE resource-agent [<!ENTITY a \"aaaa\">]>")) {
            OcfMetadataResult result = OcfMetadata.parse(doctype + body);
            assertThat(result).as(doctype).isInstanceOf(OcfMetadataResult.Unavailable.class);
            assertThat(((OcfMetadataResult.Unavailable) result).reason()).contains("DOCTYPE");
        }
        assertThat(OcfMetadata.parse("<resource-agent>")).isInstanceOf(OcfMetadataResult.Unavailable.class);
        assertThat(OcfMetadata.parse("<html name=\"x\"/>")).isInstanceOf(OcfMetadataResult.Unavailable.class);
    }

    @Test
    void timesAreReadAsPacemakerReadsThem() {
        assertThat(OcfMetadata.time("20s")).contains(Duration.ofSeconds(20));
        assertThat(OcfMetadata.time("20")).contains(Duration.ofSeconds(20));
        assertThat(OcfMetadata.time("500ms")).contains(Duration.ofMillis(500));
        assertThat(OcfMetadata.time("2min")).contains(Duration.ofMinutes(2));
        assertThat(OcfMetadata.time("1h")).contains(Duration.ofHours(1));
        assertThat(OcfMetadata.time("soon")).isEmpty();
    }

    @Test
    void validationNamesTheClosestParameterTheMissingOnesAndWrongValues() throws Exception {
        OcfMetadata ip = read("ocf:heartbeat:IPaddr2");

        List<ParameterProblem> problems = ip.validate(Map.of("cidr_netmsk", "24", "lvs_support", "maybe",
                "arp_count", "five", "CRM_meta_timeout", "1000", "colour", "blue"));

        assertThat(problems).extracting(ParameterProblem::message).containsExactly(
                "IPaddr2: parameter 'CRM_meta_timeout': is set by Baton on each call (CRM_meta_timeout is the call's"
                        + " timeout, CRM_meta_interval the monitor's interval); fix: remove it",
                "IPaddr2: parameter 'arp_count': is a whole number, and IPaddr2 cannot use 'five'; fix: write a whole"
                        + " number, e.g. 5",
                "IPaddr2: parameter 'cidr_netmsk': IPaddr2 has no such parameter; fix: did you mean 'cidr_netmask'?",
                "IPaddr2: parameter 'colour': IPaddr2 has no such parameter; fix: remove it; `IPaddr2 meta-data` lists"
                        + " the parameters it takes",
                "IPaddr2: parameter 'ip': is required by IPaddr2 and missing (IPv4 or IPv6 address); fix: add ip=VALUE"
                        + " to the resource's parameters",
                "IPaddr2: parameter 'lvs_support': is a boolean, and IPaddr2 reads 'maybe' as false; fix: write true or"
                        + " false (or yes/no, 1/0, on/off)");
        assertThat(ip.validate(Map.of("ip", "198.18.0.10", "cidr_netmask", "24", "nic", "eth0"))).isEmpty();
    }

    @Test
    void filesystemsThreeRequiredParametersAreEachReported() throws Exception {
        OcfMetadata fs = read("ocf:heartbeat:Filesystem");

        assertThat(fs.validate(Map.of("directroy", "/mnt")))
                .extracting(ParameterProblem::parameter)
                .containsExactly("device", "directory", "directroy", "fstype");
        assertThat(fs.validate(Map.of("directroy", "/mnt")).get(2).fix()).isEqualTo("did you mean 'directory'?");
    }

    @Test
    void metadataOfAnAgentThatIsMissingIsUnavailableWithTheFix() throws Exception {
        OcfMetadataResult result = OcfMetadata.read(driver, OcfAgent.parse("ocf:heartbeat:NoSuchAgent"), GENEROUS);

        assertThat(result).isInstanceOfSatisfying(OcfMetadataResult.Unavailable.class,
                u -> assertThat(u.reason()).contains("does not exist").contains("apt-get install resource-agents"));
    }
}
