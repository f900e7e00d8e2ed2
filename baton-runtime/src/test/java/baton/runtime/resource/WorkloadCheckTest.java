package baton.runtime.resource;

import static org.assertj.core.api.Assertions.assertThat;

import baton.runtime.config.WorkloadConfig;
import baton.runtime.config.WorkloadConfig.Resource;
import baton.runtime.config.WorkloadConfig.Timing;
import baton.runtime.ve.QemuCommand;
import baton.runtime.ve.VeSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The start-time check of a node's workloads: real files in a temporary folder, the real Dummy
 * agent of resource-agents, and fake agents in an OCF root of their own.
 */
class WorkloadCheckTest {
    static final Duration DEADLINE = FakeAgents.GENEROUS;

    @TempDir
    Path dir;
    Path bin;
    Path kernel;
    WorkloadCheck check;

    @BeforeEach
    void host() throws IOException {
        FakeAgents.requireResourceAgents();
        bin = dir.resolve("bin");
        FakeAgents.script(bin.resolve(QemuCommand.QEMU), dir, "exit 0\n");
        kernel = Files.writeString(dir.resolve("vmlinux"), "kernel");
        check = new WorkloadCheck(new OcfDriver(), List.of(bin), dir.resolve("no-kvm"), DEADLINE);
    }

    static WorkloadConfig ve(int id, String name, VeSpec.Boot boot, VeSpec.Accel accel) {
        return new WorkloadConfig(id, name, WorkloadConfig.Kind.VE,
                List.of(new Resource.Ve(new VeSpec(name, 64, 1, boot, List.of(), accel), Timing.VE_DEFAULTS)),
                List.of(), false, false, 2, 300_000);
    }

    static WorkloadConfig service(int id, String name, Resource... resources) {
        return new WorkloadConfig(id, name, WorkloadConfig.Kind.SERVICE, List.of(resources), List.of(), false, false,
                2, 300_000);
    }

    static Resource ocf(String name, String agent, Map<String, String> params) {
        return new Resource.Ocf(new OcfResource(name, OcfAgent.parse(agent), params), Timing.EXEC_DEFAULTS);
    }

    static Resource exec(String name, String start, String stop, String status) {
        return new Resource.Exec(new ExecResource(name, List.of(start, "start"), List.of(stop, "stop"),
                List.of(status, "status"), Map.of()), Timing.EXEC_DEFAULTS);
    }

    @Test
    void whatThisNodeHasPasses() throws Exception {
        Path initrd = Files.writeString(dir.resolve("initrd"), "initrd");
        Path image = Files.writeString(dir.resolve("web.qcow2"), "image");
        Path app = FakeAgents.script(dir.resolve("app"), dir, "exit 0\n");

        List<String> problems = check.problems(List.of(
                ve(1, "web", new VeSpec.Boot.Kernel(kernel, Optional.of(initrd), "console=ttyS0"), VeSpec.Accel.TCG),
                ve(2, "files", new VeSpec.Boot.Disk(image, VeSpec.DiskFormat.QCOW2), VeSpec.Accel.AUTO),
                service(10, "db", ocf("dummy", "ocf:heartbeat:Dummy", Map.of("state", dir.resolve("s").toString())),
                        exec("app", app.toString(), app.toString(), "/bin/true"))));

        assertThat(problems).isEmpty();
    }

    @Test
    void missingVeFilesAreNamedWithTheirVe() throws Exception {
        List<String> problems = check.problems(List.of(
                ve(1, "web", new VeSpec.Boot.Kernel(kernel, Optional.of(dir.resolve("initrd")), ""), VeSpec.Accel.TCG),
                ve(2, "files", new VeSpec.Boot.Disk(dir, VeSpec.DiskFormat.RAW), VeSpec.Accel.TCG)));

        assertThat(problems).containsExactly(
                "ve web: the initrd " + dir.resolve("initrd") + " does not exist on this node; fix: copy it to "
                        + dir.resolve("initrd") + " on every node (or onto storage they all mount), or correct the"
                        + " initrd path",
                "ve files: the image " + dir + " is a folder; fix: name the image file itself");
    }

    @Test
    void aVeResourceOfAServiceIsNamedWithItsService() throws Exception {
        Resource vm = new Resource.Ve(new VeSpec("vm1", 64, 1, new VeSpec.Boot.Kernel(dir.resolve("nope"),
                Optional.empty(), ""), List.of(), VeSpec.Accel.TCG), Timing.VE_DEFAULTS);

        assertThat(check.problems(List.of(service(10, "db", vm))))
                .singleElement().asString().startsWith("service db, resource vm1: the kernel " + dir.resolve("nope")
                        + " does not exist on this node");
    }

    @Test
    void qemuMustBeInstalledWhenThereAreVes() throws Exception {
        WorkloadCheck noQemu = new WorkloadCheck(new OcfDriver(), List.of(dir.resolve("empty"), dir),
                dir.resolve("no-kvm"), DEADLINE);
        WorkloadConfig web = ve(1, "web", new VeSpec.Boot.Kernel(kernel, Optional.empty(), ""), VeSpec.Accel.TCG);
        WorkloadConfig files = ve(2, "files", new VeSpec.Boot.Kernel(kernel, Optional.empty(), ""), VeSpec.Accel.TCG);

        assertThat(noQemu.problems(List.of(web, files))).containsExactly("ves web, files: qemu-system-x86_64 is not"
                + " installed (looked in " + dir.resolve("empty") + ", " + dir + "); fix: install QEMU (Debian:"
                + " apt-get install qemu-system-x86)");
        // Without VEs, QEMU is not needed.
        assertThat(noQemu.problems(List.of(service(10, "db", exec("app", "/bin/true", "/bin/true", "/bin/true")))))
                .isEmpty();
    }

    @Test
    void kvmMustOpenWhereAVeAsksForIt() throws Exception {
        List<String> problems = check.problems(List.of(
                ve(1, "web", new VeSpec.Boot.Kernel(kernel, Optional.empty(), ""), VeSpec.Accel.KVM),
                ve(2, "auto", new VeSpec.Boot.Kernel(kernel, Optional.empty(), ""), VeSpec.Accel.AUTO)));

        assertThat(problems).singleElement().asString().startsWith("ve web: accel is kvm, but " + dir.resolve("no-kvm")
                + " cannot be opened").contains("fix:", "accel: auto");
    }

    @Test
    void theSearchPathIsThePathsAbsoluteFoldersThenUsrBin() {
        assertThat(WorkloadCheck.searchPath("/usr/local/bin:bin::/usr/bin:/opt/x/"))
                .containsExactly(Path.of("/usr/local/bin"), Path.of("/usr/bin"), Path.of("/opt/x"));
        assertThat(WorkloadCheck.searchPath(null)).containsExactly(WorkloadCheck.USR_BIN);
    }

    @Test
    void anOcfAgentThatIsNotInstalled() throws Exception {
        assertThat(check.problems(List.of(service(10, "db", ocf("vip", "ocf:heartbeat:NoSuchAgent", Map.of())))))
                .singleElement().asString()
                .startsWith("service db, resource vip: OCF resource agent /usr/lib/ocf/resource.d/heartbeat/NoSuchAgent"
                        + " does not exist; fix: install the package that provides ocf:heartbeat:NoSuchAgent");
    }

    @Test
    void ocfParametersAreCheckedAgainstTheAgentsMetaData() throws Exception {
        List<String> problems = check.problems(List.of(service(10, "db",
                ocf("d1", "ocf:heartbeat:Dummy", Map.of("stat", "/tmp/x")),
                ocf("d2", "ocf:heartbeat:Dummy", Map.of("fake", "x", "state", "/tmp/y")))));

        assertThat(problems).containsExactly(
                "service db, resource d1: Dummy: parameter 'stat': Dummy has no such parameter; fix: did you mean"
                        + " 'state'?");
    }

    @Test
    void theMetaDataOfAnAgentIsReadOnceAndItsFailureReported() throws Exception {
        Path root = dir.resolve("ocf");
        FakeAgents.fakeAgent(root, "Counted", """
                echo "$1" >> DIR/calls
                cat <<'XML'
                <?xml version="1.0"?>
                <!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">
                <resource-agent name="Counted" version="1.0">
                <parameters><parameter name="port" required="1"><content type="integer"/></parameter></parameters>
                <actions><action name="start" timeout="20s"/></actions>
                </resource-agent>
                XML
                """);
        FakeAgents.fakeAgent(root, "Broken", "echo 'no metadata here' >&2; exit 1\n");
        WorkloadCheck fake = new WorkloadCheck(new OcfDriver(root, List.of(), OcfDriver.DEFAULT_OUTPUT_LIMIT_BYTES),
                List.of(bin), dir.resolve("no-kvm"), DEADLINE);

        List<String> problems = fake.problems(List.of(
                service(10, "a", ocf("c1", "ocf:fake:Counted", Map.of("port", "ten"))),
                service(11, "b", ocf("c2", "ocf:fake:Counted", Map.of("port", "10")), ocf("x", "ocf:fake:Broken",
                        Map.of()))));

        assertThat(Files.readAllLines(root.resolve("calls"))).containsExactly("meta-data");
        assertThat(problems).hasSize(2);
        assertThat(problems.get(0)).startsWith("service a, resource c1: Counted: parameter 'port': is a whole number");
        assertThat(problems.get(1)).startsWith("service b, resource x: the parameters cannot be checked, the agent's"
                + " meta-data is unavailable: ocf:fake:Broken meta-data:").contains("no metadata here",
                "fix: make `" + root.resolve("resource.d/fake/Broken") + " meta-data` print its metadata");
    }

    @Test
    void execProgramsMustExistAndBeExecutable() throws Exception {
        Path notExecutable = Files.writeString(dir.resolve("app"), "#!/bin/sh\n");
        Files.setPosixFilePermissions(notExecutable, PosixFilePermissions.fromString("rw-r--r--"));
        Path missing = dir.resolve("missing");

        List<String> problems = check.problems(List.of(service(10, "db",
                exec("app", notExecutable.toString(), notExecutable.toString(), missing.toString()))));

        assertThat(problems).containsExactly(
                "service db, resource app (start, stop): exec command " + notExecutable + " is not executable; fix:"
                        + " chmod +x " + notExecutable + " or correct the command's path",
                "service db, resource app (status): exec command " + missing + " does not exist; fix: install the"
                        + " program or correct the command's path");
    }
}
