package baton.runtime.ve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class QemuCommandTest {
    static final VeSpec.Boot GUEST = new VeSpec.Boot.Kernel(Path.of("/var/cache/baton/guest/vmlinux"),
            Optional.of(Path.of("/var/cache/baton/guest/initramfs.cpio.gz")), "console=ttyS0 baton.ip=198.18.5.10/24");

    static VeSpec spec(String name, VeSpec.Boot boot, List<VeSpec.Nic> nics) {
        return new VeSpec(name, 256, 1, boot, nics, VeSpec.Accel.TCG);
    }

    @Test
    void aKernelBootedVeWithOneNicGetsExactlyThisCommandLine() {
        VeSpec spec = spec("web", GUEST, List.of(new VeSpec.Nic("52:54:00:AB:CD:01", "br0")));
        VeFiles files = VeFiles.under(Path.of("/run/baton/ve"), "web");

        assertThat(QemuCommand.build(spec, files, VeSpec.Accel.TCG)).containsExactly(
                "qemu-system-x86_64",
                "-name", "guest=web",
                "-machine", "pc",
                "-accel", "tcg",
                "-m", "262152K", // 256 MiB + 8 KiB: TCG_RAM_PAD_KIB
                "-smp", "1",
                "-nodefaults",
                "-no-user-config",
                "-display", "none",
                "-no-reboot",
                "-chardev", "file,id=console,append=on,path=/run/baton/ve/web/console.log",
                "-serial", "chardev:console",
                "-qmp", "unix:/run/baton/ve/web/qmp.sock,server=on,wait=off",
                "-pidfile", "/run/baton/ve/web/qemu.pid",
                "-msg", "timestamp=on",
                "-kernel", "/var/cache/baton/guest/vmlinux",
                "-initrd", "/var/cache/baton/guest/initramfs.cpio.gz",
                "-append", "console=ttyS0 baton.ip=198.18.5.10/24",
                "-netdev", "tap,id=net0,ifname=web-0,script=no,downscript=no",
                "-device", "virtio-net-pci,netdev=net0,mac=52:54:00:ab:cd:01,romfile=");
    }

    @Test
    void aDiskBootedVeUsesVirtioBlkWithoutHostCacheAndKvmWhenResolvedSo() {
        VeSpec spec = new VeSpec("db", 1024, 2, new VeSpec.Boot.Disk(Path.of("/shared/db.qcow2"), VeSpec.DiskFormat.QCOW2),
                List.of(), VeSpec.Accel.AUTO);
        List<String> c = QemuCommand.build(spec, VeFiles.under(Path.of("/run/baton/ve"), "db"), spec.accel().resolve(true));

        assertThat(c).containsSequence("-accel", "kvm").containsSequence("-m", "1024M").containsSequence("-smp", "2")
                .containsSequence("-drive", "file=/shared/db.qcow2,format=qcow2,if=virtio,cache=none")
                .doesNotContain("-kernel", "-netdev");
    }

    @Test
    void underTcgTheRamIsNotAMultipleOf256KibSoThatQemuSyncsItsDirtyBitmapPagewise() {
        // QEMU < 9.0 loses guest writes in a live migration under TCG when pc.ram is a multiple of 64 pages.
        for (int mib : new int[] {128, 512, 1024, 4096}) {
            String m = QemuCommand.memory(mib, VeSpec.Accel.TCG);
            long bytes = Long.parseLong(m.substring(0, m.length() - 1)) * 1024;
            assertThat(m).endsWith("K");
            assertThat(bytes).isEqualTo(((long) mib << 20) + (8 << 10));
            assertThat(bytes % (256 << 10)).isNotZero();
            assertThat(bytes % 8192).isZero(); // QEMU takes -m in 8 KiB steps
        }
        assertThat(QemuCommand.memory(1024, VeSpec.Accel.KVM)).isEqualTo("1024M");
    }

    @Test
    void commasInPathsAreDoubledInsideOptionStrings() {
        VeSpec spec = spec("a", new VeSpec.Boot.Disk(Path.of("/img/a,b.raw"), VeSpec.DiskFormat.RAW), List.of());
        List<String> c = QemuCommand.build(spec, VeFiles.under(Path.of("/run/x,y"), "a"), VeSpec.Accel.TCG);

        assertThat(c).contains("file=/img/a,,b.raw,format=raw,if=virtio,cache=none",
                "unix:/run/x,,y/a/qmp.sock,server=on,wait=off",
                "file,id=console,append=on,path=/run/x,,y/a/console.log");
    }

    @Test
    void autoMustBeResolvedFirstAndResolvesByKvmUsability() {
        VeSpec spec = spec("a", GUEST, List.of());
        assertThatThrownBy(() -> QemuCommand.build(spec, VeFiles.under(Path.of("/run"), "a"), VeSpec.Accel.AUTO))
                .hasMessageContaining("resolve AUTO");
        assertThat(VeSpec.Accel.AUTO.resolve(false)).isEqualTo(VeSpec.Accel.TCG);
        assertThat(VeSpec.Accel.AUTO.resolve(true)).isEqualTo(VeSpec.Accel.KVM);
        assertThat(VeSpec.Accel.TCG.resolve(true)).isEqualTo(VeSpec.Accel.TCG);
        assertThat(VeSpec.Accel.KVM.resolve(false)).isEqualTo(VeSpec.Accel.KVM);
    }

    @Test
    void tapNamesFitInFifteenCharactersAndLongNamesCarryAHash() {
        assertThat(QemuCommand.tapName("web", 0)).isEqualTo("web-0");
        assertThat(QemuCommand.tapName("abcdefghijklm", 7)).isEqualTo("abcdefghijklm-7");
        String a = QemuCommand.tapName("accounting-db-primary", 1);
        String b = QemuCommand.tapName("accounting-db-replica", 1);
        assertThat(a).hasSize(15).startsWith("accounti_").endsWith("-1").isNotEqualTo(b);
        assertThat(b).hasSize(15);
        assertThatThrownBy(() -> QemuCommand.tapName("web", VeSpec.MAX_NICS)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aSpecIsCheckedWhenMade() {
        VeSpec.Nic nic = new VeSpec.Nic("52:54:00:00:00:01", "br0");
        assertThatThrownBy(() -> spec("Web", GUEST, List.of())).hasMessageContaining("[a-z][a-z0-9-]*");
        assertThatThrownBy(() -> spec("a".repeat(64), GUEST, List.of())).hasMessageContaining("at most 63");
        assertThatThrownBy(() -> new VeSpec("a", 16, 1, GUEST, List.of(), VeSpec.Accel.TCG)).hasMessageContaining("memoryMib 16");
        assertThatThrownBy(() -> new VeSpec("a", 256, 0, GUEST, List.of(), VeSpec.Accel.TCG)).hasMessageContaining("vcpus 0");
        assertThatThrownBy(() -> spec("a", GUEST, List.of(nic, new VeSpec.Nic("52:54:00:00:00:01", "br1"))))
                .hasMessageContaining("52:54:00:00:00:01 is used twice");
        assertThatThrownBy(() -> new VeSpec.Nic("52:54:00:00:01", "br0")).hasMessageContaining("six hex octets");
        assertThatThrownBy(() -> new VeSpec.Nic("01:00:5e:00:00:01", "br0")).hasMessageContaining("multicast");
        assertThatThrownBy(() -> new VeSpec.Nic("52:54:00:00:00:02", "bridge-with-a-long-name"))
                .hasMessageContaining("not a Linux interface name");
        assertThatThrownBy(() -> new VeSpec.Boot.Kernel(Path.of("k"), Optional.empty(), "x".repeat(2048)))
                .hasMessageContaining("the kernel keeps 2047");
        assertThatThrownBy(() -> new VeSpec.Boot.Kernel(Path.of("k"), Optional.empty(), "a\nb"))
                .hasMessageContaining("printable ASCII");
    }

    @Test
    void aQmpSocketPathMustFitInSunPath() {
        assertThatThrownBy(() -> VeFiles.under(Path.of("/" + "d".repeat(100)), "web"))
                .hasMessageContaining("at most 107").hasMessageContaining("shorter run folder");
    }

    @Test
    void aHostPrefixIsPrependedToEveryCommand() {
        assertThat(CommandPrefix.netns("lab-n1").apply(List.of("ip", "link"))).containsExactly("ip", "netns", "exec", "lab-n1", "ip", "link");
        assertThat(CommandPrefix.none().apply(List.of("true"))).containsExactly("true");
        assertThatThrownBy(() -> CommandPrefix.netns("../x")).isInstanceOf(IllegalArgumentException.class);
    }
}
