package baton.runtime.config;

import static baton.runtime.config.ConfigProblemsTest.FILE;
import static baton.runtime.config.ConfigProblemsTest.assertProblem;
import static org.assertj.core.api.Assertions.assertThat;

import baton.runtime.config.WorkloadConfig.Resource;
import baton.runtime.config.WorkloadConfig.Timing;
import baton.runtime.resource.ExecResource;
import baton.runtime.resource.OcfAgent;
import baton.runtime.resource.OcfResource;
import baton.runtime.ve.VeSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * The {@code ves:} and {@code services:} sections: a full valid example binds to the expected
 * records, and every kind of problem is reported with its line, key and fix, all in one pass.
 */
class WorkloadConfigTest {
    /** Line numbers of this text are used throughout; keep it unchanged. */
    static final String VALID = """
            cluster:
              name: demo
              keyFile: cluster.key
            nodes:
              - {id: 1, name: node-1, addresses: [198.18.0.1]}
              - {id: 2, name: node-2, addresses: [198.18.0.2]}
            quorumDisk:
              primary: quorum.img
            ves:
              - id: 1
                name: web
                memoryMib: 256
                vcpus: 2
                kernel: /var/cache/baton/guest/vmlinux
                initrd: guest/initramfs.cpio.gz
                cmdline: "console=ttyS0 baton.ip=198.18.0.100/24"
                nics: [{mac: "52:54:00:00:00:01", bridge: br0}]
                accel: tcg
                preferred: [node-2, node-1]
                restricted: true
                failback: true
                maxRestarts: 5
                restartWindowSeconds: 600
                startTimeoutSeconds: 90
                monitorIntervalMillis: 1000
              - id: 2
                name: files
                image: /srv/ve/files.img
                format: raw
            services:
              - id: 10
                name: db
                preferred: [node-1]
                resources:
                  - name: vip
                    ocf: heartbeat:IPaddr2
                    params: {ip: 198.18.0.50, cidr_netmask: "24"}
                  - name: app
                    exec:
                      start: [/usr/bin/app, start]
                      stop: [/usr/bin/app, stop]
                      status: [/usr/bin/app, status]
                    environment: {PORT: 8080}
                    stopTimeoutSeconds: 60
                  - name: vm1
                    ve: {memoryMib: 64, kernel: /var/cache/baton/guest/vmlinux, nics: [{mac: "52:54:00:00:00:02", bridge: br1}], accel: kvm}
                  - name: legacy
                    ocf: ocf:pacemaker:Dummy
            """;

    static final Path KERNEL = Path.of("/var/cache/baton/guest/vmlinux");

    /** VALID with one line replaced (1-based), or removed when {@code text} is null. */
    static String validWithLine(int line, String text) {
        List<String> lines = new ArrayList<>(VALID.lines().toList());
        if (text == null) {
            lines.remove(line - 1);
        } else {
            lines.set(line - 1, text);
        }
        return String.join("\n", lines) + "\n";
    }

    /** VALID up to {@code services:} (line 30), then {@code text} in place of the services section. */
    static String validWithServices(String text) {
        return VALID.substring(0, VALID.indexOf("services:")) + text;
    }

    static Problem onlyProblemIn(String yaml) {
        return ConfigProblemsTest.onlyProblemIn(yaml);
    }

    static List<Problem> problemsIn(String yaml) {
        return ConfigProblemsTest.problemsIn(yaml);
    }

    @Nested
    class AValidFile {
        final ClusterConfig config = load();

        static ClusterConfig load() {
            try {
                return ConfigLoader.parse(FILE, VALID);
            } catch (ConfigException e) {
                throw new AssertionError(e.getMessage(), e);
            }
        }

        @Test
        void bindsVesFirstThenServicesInFileOrder() {
            assertThat(config.workloads()).extracting(WorkloadConfig::name).containsExactly("web", "files", "db");
            assertThat(config.workloads()).extracting(WorkloadConfig::id).containsExactly(1, 2, 10);
            assertThat(config.workloads()).extracting(WorkloadConfig::kind).containsExactly(
                    WorkloadConfig.Kind.VE, WorkloadConfig.Kind.VE, WorkloadConfig.Kind.SERVICE);
        }

        @Test
        void aVeWithEveryKey() {
            WorkloadConfig web = config.workload("web").orElseThrow();

            // Node names resolve to node ids, in the order written.
            assertThat(web.preferred()).containsExactly(2, 1);
            assertThat(web.restricted()).isTrue();
            assertThat(web.failback()).isTrue();
            assertThat(web.maxRestarts()).isEqualTo(5);
            assertThat(web.restartWindowMillis()).isEqualTo(600_000);
            // A relative path resolves against the configuration file's folder.
            assertThat(web.ve()).isEqualTo(new VeSpec("web", 256, 2,
                    new VeSpec.Boot.Kernel(KERNEL, Optional.of(Path.of("/etc/baton/guest/initramfs.cpio.gz")),
                            "console=ttyS0 baton.ip=198.18.0.100/24"),
                    List.of(new VeSpec.Nic("52:54:00:00:00:01", "br0")), VeSpec.Accel.TCG));
            // Timing keys left out keep the VE defaults.
            Timing d = Timing.VE_DEFAULTS;
            assertThat(web.resources().getFirst().timing())
                    .isEqualTo(new Timing(90_000, d.stopTimeoutMillis(), 1_000, d.monitorTimeoutMillis()));
        }

        @Test
        void aVeWithDefaultsBootsAnImage() {
            WorkloadConfig files = config.workload(2).orElseThrow();

            assertThat(files.ve()).isEqualTo(new VeSpec("files", WorkloadsBinding.DEFAULT_MEMORY_MIB,
                    WorkloadsBinding.DEFAULT_VCPUS, new VeSpec.Boot.Disk(Path.of("/srv/ve/files.img"),
                            VeSpec.DiskFormat.RAW), List.of(), VeSpec.Accel.AUTO));
            assertThat(files.resources().getFirst().timing()).isEqualTo(Timing.VE_DEFAULTS);
            assertThat(files.preferred()).isEmpty();
            assertThat(files.restricted()).isFalse();
            assertThat(files.failback()).isFalse();
            assertThat(files.maxRestarts()).isEqualTo(WorkloadConfig.DEFAULT_MAX_RESTARTS);
            assertThat(files.restartWindowMillis()).isEqualTo(WorkloadConfig.DEFAULT_RESTART_WINDOW_MILLIS);
        }

        @Test
        void aServiceKeepsItsResourcesInStartOrder() {
            WorkloadConfig db = config.workload("db").orElseThrow();

            assertThat(db.preferred()).containsExactly(1);
            assertThat(db.resources()).extracting(Resource::name).containsExactly("vip", "app", "vm1", "legacy");
            Timing exec = Timing.EXEC_DEFAULTS;
            // Scalars are passed as their text: cidr_netmask "24", PORT 8080.
            assertThat(db.resources().get(0)).isEqualTo(new Resource.Ocf(new OcfResource("vip",
                    new OcfAgent("heartbeat", "IPaddr2"), Map.of("ip", "198.18.0.50", "cidr_netmask", "24")), exec));
            assertThat(db.resources().get(1)).isEqualTo(new Resource.Exec(new ExecResource("app",
                    List.of("/usr/bin/app", "start"), List.of("/usr/bin/app", "stop"), List.of("/usr/bin/app", "status"),
                    Map.of("PORT", "8080")), new Timing(exec.startTimeoutMillis(), 60_000, exec.monitorIntervalMillis(),
                    exec.monitorTimeoutMillis())));
            // A VE resource is named by the resource and has the VE timing defaults.
            assertThat(db.resources().get(2)).isEqualTo(new Resource.Ve(new VeSpec("vm1", 64, 1,
                    new VeSpec.Boot.Kernel(KERNEL, Optional.empty(), ""),
                    List.of(new VeSpec.Nic("52:54:00:00:00:02", "br1")), VeSpec.Accel.KVM), Timing.VE_DEFAULTS));
            // The ocf: class prefix is optional.
            assertThat(((Resource.Ocf) db.resources().get(3)).resource().agent())
                    .isEqualTo(new OcfAgent("pacemaker", "Dummy"));
        }

        @Test
        void aFileWithoutWorkloadsHasNone() throws Exception {
            assertThat(ConfigLoader.parse(FILE, ConfigProblemsTest.VALID).workloads()).isEmpty();
        }

        @Test
        void emptyListsAreNoWorkloads() throws Exception {
            assertThat(ConfigLoader.parse(FILE, ConfigProblemsTest.VALID + "ves: []\nservices:\n").workloads())
                    .isEmpty();
        }
    }

    @Nested
    class IdsAndNames {
        @Test
        void aMissingId() {
            assertProblem(onlyProblemIn(validWithLine(26, "  - vcpus: 1")), 26, "ves[1].id", "required key is missing",
                    "add 'id: 1' under ves[1]");
        }

        @Test
        void aMissingName() {
            assertProblem(onlyProblemIn(validWithLine(32, "    failback: false")), 31, "services[0].name",
                    "required key is missing", "add 'name: db' under services[0]");
        }

        @Test
        void anIdOutOfRange() {
            assertProblem(onlyProblemIn(validWithLine(31, "  - id: 249")), 31, "services[0].id",
                    "must be between 1 and 248, is 249", "use a value from 1 to 248");
        }

        @Test
        void anIdUsedTwiceAcrossVesAndServices() {
            assertProblem(onlyProblemIn(validWithLine(31, "  - id: 1")), 31, "services[0].id",
                    "duplicate workload id 1, already used by ves[0].id at line 10", "e.g. 3 is free");
        }

        @Test
        void aNameUsedTwiceAcrossVesAndServices() {
            assertProblem(onlyProblemIn(validWithLine(32, "    name: web")), 32, "services[0].name",
                    "duplicate workload name 'web', already used by ves[0].name at line 11",
                    "give each VE and service its own name");
        }

        @Test
        void aVeNameFollowsTheNameRule() {
            assertProblem(onlyProblemIn(validWithLine(11, "    name: Web_1")), 11, "ves[0].name",
                    "may contain only lowercase letters, digits and '-'", "use a name like 'web-1'");
        }

        @Test
        void aServiceNameFollowsTheResourceNameRule() {
            assertProblem(onlyProblemIn(validWithLine(32, "    name: my db")), 32, "services[0].name",
                    "'my db' is not a valid name", "use a name like 'my-db'");
        }

        @Test
        void aVeResourceNeedsAVeName() {
            assertProblem(onlyProblemIn(validWithLine(45, "      - name: VM.1")), 45, "services[0].resources[2].name",
                    "may contain only lowercase letters, digits and '-'", "use a name like 'vm-1'");
        }

        @Test
        void aVeResourceMayNotShareItsNameWithAnotherVe() {
            assertProblem(onlyProblemIn(validWithLine(45, "      - name: web")), 45, "services[0].resources[2].name",
                    "duplicate VE name 'web', already used by ves[0].name at line 11", "give each VE its own name");
        }

        @Test
        void resourceNamesAreUniqueWithinAService() {
            assertProblem(onlyProblemIn(validWithLine(38, "      - name: vip")), 38, "services[0].resources[1].name",
                    "duplicate resource name 'vip' in this service, already used by services[0].resources[0].name"
                            + " at line 35", "give each resource of a service its own name");
        }

        @Test
        void anUnknownKeyIsATypo() {
            assertProblem(onlyProblemIn(validWithLine(29, "    fromat: raw")), 29, "ves[1].fromat",
                    "unknown key 'fromat'", "did you mean 'format'?");
        }

        @Test
        void anUnknownKeyOfAResource() {
            assertProblem(onlyProblemIn(validWithLine(44, "        colour: blue")), 44,
                    "services[0].resources[1].colour", "unknown key 'colour'",
                    "knows only name, ocf, params, exec, environment, ve");
        }

        @Test
        void vesMustBeAList() {
            assertProblem(onlyProblemIn(ConfigProblemsTest.VALID + "ves: {web: {id: 1}}\n"), 15, "ves",
                    "expected a list of VEs, found a mapping", "write each as - {id: 1, name: web");
        }
    }

    @Nested
    class Ves {
        @Test
        void bothKernelAndImage() {
            assertProblem(onlyProblemIn(validWithLine(29, "    kernel: /boot/vmlinuz")), 28, "ves[1].image",
                    "both kernel (line 29) and image are given", "remove image to boot the kernel, or remove kernel");
        }

        @Test
        void neitherKernelNorImage() {
            String yaml = validWithLine(28, "    vcpus: 2").replace("    format: raw\n", "");
            assertProblem(onlyProblemIn(yaml), 26, "ves[1]", "neither kernel nor image is given",
                    "add 'kernel: /var/cache/baton/guest/vmlinux' to boot a kernel directly, or 'image:");
        }

        @Test
        void aVeResourceWithoutKernelOrImage() {
            assertProblem(onlyProblemIn(validWithLine(46, "        ve: {memoryMib: 64}")), 46,
                    "services[0].resources[2].ve", "neither kernel nor image is given", "add 'kernel:");
        }

        @Test
        void kernelSettingsWithAnImage() {
            assertProblem(onlyProblemIn(validWithLine(29, "    cmdline: quiet")), 29, "ves[1].cmdline",
                    "cmdline belongs to a kernel boot", "remove cmdline");
        }

        @Test
        void aFormatWithAKernel() {
            assertProblem(onlyProblemIn(validWithLine(18, "    format: raw")), 18, "ves[0].format",
                    "format is a disk image's", "remove format");
        }

        @Test
        void anUnknownFormat() {
            assertProblem(onlyProblemIn(validWithLine(29, "    format: vmdk")), 29, "ves[1].format",
                    "unknown image format 'vmdk'", "format: qcow2 (the default) or format: raw");
        }

        @Test
        void anUnknownAccelerator() {
            assertProblem(onlyProblemIn(validWithLine(18, "    accel: hvf")), 18, "ves[0].accel",
                    "unknown accelerator 'hvf'", "accel: tcg");
        }

        @Test
        void aMacOfFiveOctets() {
            assertProblem(onlyProblemIn(validWithLine(17, "    nics: [{mac: \"52:54:00:00:01\", bridge: br0}]")), 17,
                    "ves[0].nics[0].mac", "'52:54:00:00:01' is not a MAC address of six hex octets",
                    "mac: \"52:54:00:12:34:56\"");
        }

        @Test
        void aMulticastMacOfTheSecondNic() {
            assertProblem(onlyProblemIn(validWithLine(17, "    nics: [{mac: \"52:54:00:00:00:01\", bridge: br0},"
                    + " {mac: \"01:00:5E:00:00:01\", bridge: br1}]")), 17, "ves[0].nics[1].mac",
                    "'01:00:5e:00:00:01' is a multicast address", "e.g. 00:00:5e:00:00:01");
        }

        @Test
        void aMacUsedByTwoVes() {
            // vm1 (line 46) takes web's MAC (line 17): 52:54:00:00:00:02 is then free.
            Problem p = onlyProblemIn(VALID.replace("52:54:00:00:00:02", "52:54:00:00:00:01"));

            assertProblem(p, 46, "services[0].resources[2].ve.nics[0].mac",
                    "duplicate MAC address 52:54:00:00:00:01, already used by ves[0].nics[0].mac at line 17",
                    "e.g. 52:54:00:00:00:02; two VEs with one MAC would answer from two hosts");
        }

        @Test
        void aMacUsedTwiceInOneVeWhateverItsCase() {
            assertProblem(onlyProblemIn(validWithLine(17, "    nics: [{mac: \"52:54:00:00:00:01\", bridge: br0},"
                    + " {mac: \"52:54:00:00:00:0A\", bridge: br1}, {mac: \"52:54:00:00:00:0a\", bridge: br1}]")), 17,
                    "ves[0].nics[2].mac", "already used by ves[0].nics[1].mac", "e.g. 52:54:00:00:00:0b");
        }

        @Test
        void aBridgeThatIsNoInterfaceName() {
            assertProblem(onlyProblemIn(validWithLine(17, "    nics: [{mac: \"52:54:00:00:00:01\","
                    + " bridge: bridge-of-the-lab}]")), 17, "ves[0].nics[0].bridge",
                    "'bridge-of-the-lab' is not a Linux interface name", "bridge: br0");
        }

        @Test
        void aNicWithoutBridge() {
            assertProblem(onlyProblemIn(validWithLine(17, "    nics: [{mac: \"52:54:00:00:00:01\"}]")), 17,
                    "ves[0].nics[0].bridge", "required key is missing", "add 'bridge: br0' under ves[0].nics[0]");
        }

        @Test
        void memoryOutOfRange() {
            assertProblem(onlyProblemIn(validWithLine(12, "    memoryMib: 16")), 12, "ves[0].memoryMib",
                    "must be between 32 and 1048576, is 16", "use a value from 32 to 1048576");
        }

        @Test
        void vcpusOutOfRange() {
            assertProblem(onlyProblemIn(validWithLine(13, "    vcpus: 65")), 13, "ves[0].vcpus",
                    "must be between 1 and 64, is 65", "use a value from 1 to 64");
        }

        @Test
        void aCmdlineTooLong() {
            assertProblem(onlyProblemIn(validWithLine(16, "    cmdline: " + "x".repeat(2048))), 16, "ves[0].cmdline",
                    "has 2048 characters, the kernel keeps at most 2047", "shorten it");
        }

        @Test
        void aCmdlineThatIsNotPrintableAscii() {
            assertProblem(onlyProblemIn(validWithLine(16, "    cmdline: \"console=ttyS0\\tquiet\"")), 16,
                    "ves[0].cmdline", "the character U+0009 at position 13, outside printable ASCII",
                    "printable ASCII");
        }
    }

    @Nested
    class Placement {
        @Test
        void restrictedWithoutPreferred() {
            assertProblem(onlyProblemIn(validWithLine(33, "    restricted: true")), 33, "services[0].restricted",
                    "restricted is true but no preferred nodes are listed", "e.g. preferred: [node-1, node-2]");
        }

        @Test
        void anUnknownNodeNamesTheKnownOnes() {
            assertProblem(onlyProblemIn(validWithLine(33, "    preferred: [node-3]")), 33, "services[0].preferred[0]",
                    "node 'node-3' is not one of the nodes (node-1, node-2)", "did you mean 'node-1'?");
            assertProblem(onlyProblemIn(validWithLine(33, "    preferred: [storage]")), 33,
                    "services[0].preferred[0]", "is not one of the nodes", "use one of node-1, node-2");
        }

        @Test
        void aNodeWithAProblemOfItsOwnIsNotReportedAgain() {
            assertProblem(onlyProblemIn(validWithLine(6, "  - {id: 2, name: Node_2, addresses: [198.18.0.2]}")
                    .replace("[node-2, node-1]", "[Node_2, node-1]")), 6, "nodes[1].name", "may contain only", "");
        }

        @Test
        void aNodeListedTwice() {
            assertProblem(onlyProblemIn(validWithLine(19, "    preferred: [node-2, node-2]")), 19,
                    "ves[0].preferred[1]", "node 'node-2' is listed twice (first as ves[0].preferred[0])",
                    "remove one of the two");
        }

        @Test
        void aNodeIdWhereItsNameBelongs() {
            assertProblem(onlyProblemIn(validWithLine(19, "    preferred: [2, node-1]")), 19, "ves[0].preferred[0]",
                    "expected a node name, found the number 2", "write node-2");
        }

        @Test
        void preferredMustBeAList() {
            assertProblem(onlyProblemIn(validWithLine(33, "    preferred: node-1")), 33, "services[0].preferred",
                    "expected a list of node names", "preferred: [node-1]");
        }

        @Test
        void restrictedMustBeABoolean() {
            assertProblem(onlyProblemIn(validWithLine(20, "    restricted: \"yes\"")), 20, "ves[0].restricted",
                    "expected true or false, found the text 'yes'", "restricted: true or restricted: false");
        }

        @Test
        void restartsOutOfRange() {
            assertProblem(onlyProblemIn(validWithLine(22, "    maxRestarts: -1")), 22, "ves[0].maxRestarts",
                    "must be between 0 and 100", "use a value from 0 to 100");
        }
    }

    @Nested
    class Services {
        @Test
        void noResources() {
            assertProblem(onlyProblemIn(validWithServices("""
                    services:
                      - {id: 10, name: db, resources: []}
                    """)), 31, "services[0].resources", "lists 0 resources, a service needs 1 to 16",
                    "add the resources it is made of");
        }

        @Test
        void tooManyResources() {
            StringBuilder resources = new StringBuilder();
            for (int i = 0; i < 17; i++) {
                resources.append("      - {name: r").append(i).append(", ocf: heartbeat:Dummy}\n");
            }
            assertProblem(onlyProblemIn(validWithServices("services:\n  - id: 10\n    name: db\n    resources:\n"
                    + resources)), 33, "services[0].resources", "lists 17 resources", "keep at most 16");
        }

        @Test
        void missingResources() {
            assertProblem(onlyProblemIn(validWithServices("services:\n  - {id: 10, name: db}\n")), 31,
                    "services[0].resources", "required key is missing", "add '- {name: vip, ocf: heartbeat:IPaddr2");
        }

        @Test
        void anExecWithoutStatus() {
            assertProblem(onlyProblemIn(validWithLine(42, null)), 39, "services[0].resources[1].exec.status",
                    "required key is missing", "add 'status: [/usr/bin/app, status]' under services[0].resources[1].exec");
        }

        @Test
        void anExecWithARelativeProgram() {
            assertProblem(onlyProblemIn(validWithLine(40, "          start: [bin/app, start]")), 40,
                    "services[0].resources[1].exec.start[0]", "the program 'bin/app' is not an absolute path",
                    "e.g. /usr/bin/app; Baton runs commands without a PATH lookup");
        }

        @Test
        void anExecCommandAsOneLine() {
            assertProblem(onlyProblemIn(validWithLine(41, "          stop: /usr/bin/app stop")), 41,
                    "services[0].resources[1].exec.stop", "expected a list of program and arguments, found the text",
                    "stop: [/usr/bin/app, stop]; it runs without a shell");
        }

        @Test
        void anOcfAgentNotOfTheFormProviderType() {
            assertProblem(onlyProblemIn(validWithLine(36, "        ocf: IPaddr2")), 36, "services[0].resources[0].ocf",
                    "'IPaddr2' is not an OCF agent name of the form provider:type", "ocf: heartbeat:IPaddr2");
            assertProblem(onlyProblemIn(validWithLine(48, "        ocf: lsb:pacemaker:Dummy")), 48,
                    "services[0].resources[3].ocf", "not an OCF agent name", "ocf: heartbeat:IPaddr2");
        }

        @Test
        void environmentOnAnOcfResource() {
            assertProblem(onlyProblemIn(validWithLine(37, "        environment: {PORT: 8080}")), 37,
                    "services[0].resources[0].environment", "environment is for the commands of an exec resource",
                    "pass the agent's settings under params:");
        }

        @Test
        void environmentOnAVeResource() {
            String ve = VALID.replace("      - name: legacy\n        ocf: ocf:pacemaker:Dummy\n",
                    "      - name: vm2\n        ve: {image: /srv/ve/vm2.qcow2}\n        environment: {A: b}\n");
            assertProblem(onlyProblemIn(ve), 49, "services[0].resources[3].environment", "of kind ve",
                    "remove it");
        }

        @Test
        void paramsOnAnExecResource() {
            assertProblem(onlyProblemIn(validWithLine(43, "        params: {port: 8080}")), 43,
                    "services[0].resources[1].params", "params are an OCF agent's", "as arguments or under environment:");
        }

        @Test
        void aResourceWithoutKind() {
            assertProblem(onlyProblemIn(validWithLine(48, "        startTimeoutSeconds: 5")), 47,
                    "services[0].resources[3]", "the resource has no kind", "add ocf: heartbeat:IPaddr2");
        }

        @Test
        void aResourceOfTwoKinds() {
            assertProblem(onlyProblemIn(validWithLine(37, "        exec: {start: [/a], stop: [/a], status: [/a]}")), 37,
                    "services[0].resources[0].exec", "already of kind ocf", "make it a resource of its own");
        }

        @Test
        void aReservedEnvironmentVariable() {
            assertProblem(onlyProblemIn(validWithLine(43, "        environment: {PATH: /opt/bin}")), 43,
                    "services[0].resources[1].environment.PATH", "PATH is set by Baton for every command",
                    "remove it");
        }

        @Test
        void aReservedOcfParameter() {
            assertProblem(onlyProblemIn(validWithLine(37, "        params: {ip: 198.18.0.50, CRM_meta_timeout: 5}")),
                    37, "services[0].resources[0].params.CRM_meta_timeout", "is set by Baton on each call",
                    "remove it");
        }
    }

    @Nested
    class Timings {
        @Test
        void aTimeoutOfZero() {
            assertProblem(onlyProblemIn(validWithLine(44, "        stopTimeoutSeconds: 0")), 44,
                    "services[0].resources[1].stopTimeoutSeconds", "must be between 1 and 3600, is 0",
                    "use a value from 1 to 3600");
        }

        @Test
        void aMonitorIntervalTooShort() {
            assertProblem(onlyProblemIn(validWithLine(25, "    monitorIntervalMillis: 50")), 25,
                    "ves[0].monitorIntervalMillis", "must be between 100 and 3600000, is 50",
                    "use a value from 100 to 3600000");
        }

        @Test
        void aTimeoutWithAUnit() {
            assertProblem(onlyProblemIn(validWithLine(24, "    startTimeoutSeconds: 90s")), 24,
                    "ves[0].startTimeoutSeconds", "expected a whole number, found the text '90s'",
                    "startTimeoutSeconds: 90");
        }
    }

    @Test
    void severalProblemsAreReportedAtOnceInLineOrder() {
        List<Problem> problems = problemsIn("""
                cluster:
                  name: demo
                  keyFile: cluster.key
                nodes:
                  - {id: 1, name: node-1, addresses: [198.18.0.1]}
                quorumDisk:
                  primary: quorum.img
                ves:
                  - id: 0
                    name: web
                    kernel: /boot/vmlinuz
                    image: /srv/web.img
                    nics: [{mac: "52:54:00:00:00:01", bridge: br0}, {mac: "52:54:00:00:00:01", bridge: br0}]
                    preferred: [node-9]
                services:
                  - id: 10
                    name: web
                    restricted: true
                    resources:
                      - name: app
                        exec: {start: [app], stop: [/bin/true]}
                        params: {x: 1}
                        monitorTimeoutSeconds: 0
                """);

        assertThat(problems).extracting(Problem::line).containsExactly(9, 12, 13, 14, 17, 18, 21, 21, 22, 23);
        assertThat(problems).extracting(Problem::key).containsExactly("ves[0].id", "ves[0].image",
                "ves[0].nics[1].mac", "ves[0].preferred[0]", "services[0].name", "services[0].restricted",
                "services[0].resources[0].exec.start[0]", "services[0].resources[0].exec.status",
                "services[0].resources[0].params",
                "services[0].resources[0].monitorTimeoutSeconds");
    }
}
