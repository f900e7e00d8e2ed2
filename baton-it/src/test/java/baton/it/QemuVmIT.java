package baton.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import baton.lab.Cmd;
import baton.lab.ExecResult;
import baton.lab.Host;
import baton.lab.Lab;
import baton.runtime.ve.CommandPrefix;
import baton.runtime.ve.QemuVm;
import baton.runtime.ve.VeSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A real VE in the lab: the test guest from {@code scripts/build-guest}, booted under TCG by
 * {@link QemuVm} inside a node host, reached over the lab's switch from the client host.
 *
 * <pre>
 *   netns ...-sw:      br0 ── n1 ─────────────── client
 *                             │ (veth)            │
 *   netns ...-n1:     br0 [eth0, ve1-0]          eth0 198.18.S.250/24   (netns ...-client)
 *                     198.18.S.1/24 on br0
 *                          │ (tap ve1-0)
 *   QEMU (in n1):      ve1: virtio-net 52:54:00:..., eth0 198.18.S.100/24
 * </pre>
 *
 * The node host gets a bridge of its own with its uplink eth0 enslaved and its address moved
 * onto the bridge, as a real node's network is set up for VMs. The VE's tap joins that bridge,
 * so the VE sits behind its node's cable like a VM behind its hypervisor: pulling n1's cable
 * cuts the VE off too (what the failure scenarios need), and a VE that moves to another node
 * host reappears on that host's switch port, which the lab switch learns from the guest's
 * announcement. Attaching the tap to the lab switch's bridge directly would keep the VE
 * reachable after its node's cable is cut, which no real cluster does.
 */
class QemuVmIT {
    static final Duration BUILD_LIMIT = Duration.ofMinutes(40);
    static final Duration BOOT_LIMIT = Duration.ofSeconds(60);
    static final int VE_HOST_NUMBER = 100;
    static final int FILE_MIB = 64;
    static final Pattern READY = Pattern.compile("baton-guest: ready ip=(\\S+) .* sha256=([0-9a-f]{64}) uptime=([0-9.]+)");

    static Path guestDir;

    /** Builds the guest (or finds it up to date); a guest that cannot be built fails the test with the builder's reason. */
    @BeforeAll
    static void buildGuest() {
        guestDir = Path.of(System.getProperty("baton.guest.dir", "/var/cache/baton/guest"));
        Path builder = repoRoot().resolve("scripts/build-guest");
        long t0 = System.nanoTime();
        ExecResult r = Cmd.run(BUILD_LIMIT, builder.toString(), guestDir.toString());
        assertThat(r.exitCode()).as("scripts/build-guest failed:\n" + r.describe()).isZero();
        System.out.printf("QemuVmIT: build-guest took %d ms: %s%n", (System.nanoTime() - t0) / 1_000_000, r.stderr().strip());
    }

    static Path repoRoot() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isExecutable(p.resolve("scripts/build-guest"))) {
                return p;
            }
        }
        throw new IllegalStateException("no scripts/build-guest above " + Path.of("").toAbsolutePath());
    }

    /** The node host's uplink moves into a bridge named {@code bridge}, which takes over its address. */
    static void bridgeUplink(Host host, String bridge) {
        host.bridgeUplink(bridge);
    }

    static ExecResult run(Host host, String... command) {
        return host.run(Duration.ofSeconds(30), command).orThrow();
    }

    @Test
    void aVeBootsInANodeHostServesItsFileAndUptimeToTheClientAndPowersDownCleanly() throws Exception {
        Path runDir = Files.createTempDirectory(Path.of("/var/tmp"), "baton-ve-it-");
        try (Lab lab = Lab.create(1, true)) {
            Host n1 = lab.node(1);
            Host client = lab.client();
            bridgeUplink(n1, "br0");
            String ip = lab.tag().address(VE_HOST_NUMBER);
            String cmdline = "console=ttyS0 panic=1 quiet baton.ip=" + ip + "/24 baton.gw=" + n1.address().getHostAddress()
                    + " baton.file_mib=" + FILE_MIB + " baton.name=ve1";
            VeSpec spec = new VeSpec("ve1", 256, 1,
                    new VeSpec.Boot.Kernel(guestDir.resolve("vmlinux"), Optional.of(guestDir.resolve("initramfs.cpio.gz")), cmdline),
                    List.of(new VeSpec.Nic("52:54:00:b7:00:01", "br0")), VeSpec.Accel.TCG);

            long t0 = System.nanoTime();
            try (QemuVm vm = QemuVm.start(spec, runDir, CommandPrefix.netns(n1.netns()), Duration.ofSeconds(20))) {
                long qmpUp = System.nanoTime();
                assertThat(vm.accel()).isEqualTo(VeSpec.Accel.TCG);
                assertThat(vm.status()).isEqualTo(new QemuVm.Status("running", true));
                assertThat(run(n1, "ip", "-o", "link", "show", "ve1-0").stdout()).contains("master br0").contains("UP");

                if (!vm.awaitConsole("baton-guest: ready", BOOT_LIMIT)) {
                    fail("the guest did not get ready within " + BOOT_LIMIT.toSeconds() + " s; console:\n" + vm.console()
                            + "\nQEMU log " + vm.files().qemuLog() + ":\n" + Files.readString(vm.files().qemuLog()));
                }
                long ready = System.nanoTime();
                Matcher m = READY.matcher(vm.console());
                assertThat(m.find()).as(vm.console()).isTrue();
                assertThat(m.group(1)).isEqualTo(ip + "/24");
                String announcedSha = m.group(2);
                System.out.printf("QemuVmIT: QMP up after %d ms, guest ready after %d ms (guest uptime %s s, %d MiB file)%n",
                        (qmpUp - t0) / 1_000_000, (ready - t0) / 1_000_000, m.group(3), FILE_MIB);

                // From the client host, across the lab switch and n1's bridge.
                double up1 = uptime(client, ip, "/cgi-bin/uptime");
                double up2 = uptime(client, ip, "/uptime");
                assertThat(up1).isPositive();
                assertThat(up2).isGreaterThan(0);
                Path file = runDir.resolve("data.bin");
                long f0 = System.nanoTime();
                run(client, "curl", "-sS", "--fail", "--max-time", "30", "-o", file.toString(), "http://" + ip + "/data.bin");
                long f1 = System.nanoTime();
                assertThat(Files.size(file)).isEqualTo(FILE_MIB << 20);
                String sha = sha256(file);
                assertThat(sha).isEqualTo(announcedSha);
                assertThat(curl(client, ip, "/data.bin.sha256")).startsWith(sha + "  data.bin");
                assertThat(curl(client, ip, "/name").strip()).isEqualTo("ve1");
                double up3 = uptime(client, ip, "/cgi-bin/uptime");
                assertThat(up3).isGreaterThan(up1);
                System.out.printf("QemuVmIT: fetched %d MiB in %d ms, sha256 %s%n", FILE_MIB, (f1 - f0) / 1_000_000, sha);

                assertThat(vm.status()).isEqualTo(new QemuVm.Status("running", true));
                QemuVm.Stopped stopped = vm.stop(Duration.ofSeconds(20), Duration.ofSeconds(5));
                System.out.printf("QemuVmIT: stopped %s in %d ms%n", stopped, stopped.took().toMillis());
                assertThat(stopped.how()).as(stopped.toString()).isEqualTo(QemuVm.How.POWERED_DOWN);
                assertThat(stopped.exitCode()).hasValue(0);
                assertThat(stopped.shutdownReason()).contains("guest-shutdown");
                assertThat(stopped.notes()).isEmpty();
                assertThat(vm.console()).contains("baton-guest: power button pressed, powering off");
                assertThat(n1.run(Duration.ofSeconds(10), "ip", "link", "show", "ve1-0").exitCode())
                        .as("the tap is deleted").isNotZero();
                assertThat(Files.exists(vm.files().pidFile())).as("QEMU removed its pidfile").isFalse();
            }
        } finally {
            try (var s = Files.walk(runDir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    void aVeThatCannotStartSaysWhyAndLeavesNoTapOrProcessBehind() throws Exception {
        Path runDir = Files.createTempDirectory(Path.of("/var/tmp"), "baton-ve-it-");
        try (Lab lab = Lab.create(1, false)) {
            Host n1 = lab.node(1);
            CommandPrefix onN1 = CommandPrefix.netns(n1.netns());
            VeSpec.Boot boot = new VeSpec.Boot.Kernel(guestDir.resolve("vmlinux"), Optional.of(guestDir.resolve("initramfs.cpio.gz")), "");

            VeSpec noBridge = new VeSpec("ve2", 128, 1, boot, List.of(new VeSpec.Nic("52:54:00:b7:00:02", "br9")), VeSpec.Accel.TCG);
            assertThatThrownBy(() -> QemuVm.start(noBridge, runDir, onN1, Duration.ofSeconds(20)))
                    .hasMessageContaining("ip link set dev ve2-0 master br9 up")
                    .hasMessageContaining("br9")
                    .satisfies(e -> System.out.println("QemuVmIT: no bridge: " + e.getMessage()));

            VeSpec noKernel = new VeSpec("ve3", 128, 1, new VeSpec.Boot.Kernel(runDir.resolve("missing-vmlinuz"), Optional.empty(), ""),
                    List.of(new VeSpec.Nic("52:54:00:b7:00:03", "br0")), VeSpec.Accel.TCG);
            bridgeUplink(n1, "br0");
            assertThatThrownBy(() -> QemuVm.start(noKernel, runDir, onN1, Duration.ofSeconds(20)))
                    .hasMessageContaining("QEMU of VE ve3 exited with status 1 before QMP came up")
                    .hasMessageContaining("missing-vmlinuz")
                    .satisfies(e -> System.out.println("QemuVmIT: no kernel: " + e.getMessage()));

            String links = run(n1, "ip", "-o", "link").stdout();
            assertThat(links).doesNotContain("ve2-0").doesNotContain("ve3-0");
            assertThat(Cmd.run(Duration.ofSeconds(5), "pgrep", "-f", runDir.toString()).exitCode())
                    .as("no QEMU is left").isEqualTo(1);
        } finally {
            try (var s = Files.walk(runDir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    static String curl(Host client, String ip, String path) {
        return run(client, "curl", "-sS", "--fail", "--max-time", "10", "http://" + ip + path).stdout();
    }

    static double uptime(Host client, String ip, String path) {
        String text = curl(client, ip, path).strip();
        return Double.parseDouble(text.split("\\s+")[0]);
    }

    static String sha256(Path file) throws Exception {
        MessageDigest d = MessageDigest.getInstance("SHA-256");
        try (var in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) > 0) {
                d.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(d.digest());
    }
}
