package baton.runtime.ve;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The {@code qemu-system-x86_64} command line of a VE: a pure function of its {@link VeSpec},
 * its {@link VeFiles} and the accelerator chosen on this host.
 *
 * <p>Choices, and why:
 * <ul>
 *   <li>{@code -nodefaults -no-user-config}: only the devices listed here, so that the machine
 *       is the same on every node (a live migration needs the same devices on both sides) and
 *       boots without the default NIC's PXE ROM.
 *   <li>{@code -display none} rather than {@code -nographic}: -nographic puts the monitor on
 *       stdio, multiplexed with the serial port; here the serial console goes to a log file
 *       and the only control channel is QMP.
 *   <li>{@code -no-reboot}: a guest that reboots (or panics with {@code panic=N}) ends QEMU,
 *       and the node sees the VE stop instead of a silent restart.
 *   <li>{@code -machine pc}: QEMU's default i440FX machine. Both ends of a live migration must
 *       run the same machine version; with one QEMU version in the cluster that holds.
 *   <li>NICs are virtio-net-pci on a pre-made persistent tap ({@code script=no}: QEMU runs no
 *       ifup scripts; {@link Tap} attaches the tap to the bridge), without an option ROM
 *       ({@code romfile=}): nothing boots from the network.
 *   <li>Disks use {@code cache=none}: the image is on shared storage, and with the host's page
 *       cache out of the way a migrated VE sees what its source wrote.
 * </ul>
 */
public final class QemuCommand {
    private QemuCommand() {}

    public static final String QEMU = "qemu-system-x86_64";
    public static final String MACHINE = "pc";
    /**
     * Under TCG a VE gets this much RAM beyond its {@code memoryMib}, so that its RAM block is
     * not a multiple of 256 KiB. Why: QEMU before 9.0 loses guest writes during a live migration
     * under TCG when it is. Its dirty-bitmap sync takes a fast path for a RAM block whose
     * length is a multiple of 64 pages, and that path clears the migration's dirty bits without
     * resetting the TCG TLB entries of those pages, so the guest's next stores through them set
     * no dirty bit and are never sent again: memory on the target is stale (QEMU commit
     * 03bfc2188f, "physmem: Fix migration dirty bitmap coherency with TCG memory access", 9.0;
     * not in Debian 12's 7.2). The other path, per page, resets the TLB for every page it
     * clears. 8 KiB is the smallest step QEMU takes {@code -m} in. Both ends of a migration
     * build the same command line, so their RAM blocks match; a node whose Baton does not pad
     * refuses the stream ("Length mismatch"), and the VE runs on at its source.
     */
    public static final int TCG_RAM_PAD_KIB = 8;
    /** Linux's IFNAMSIZ minus the terminating NUL. */
    public static final int MAX_IFNAME_CHARS = 15;

    /**
     * The command line. {@code accel} is what runs on this host: {@link VeSpec.Accel#TCG} or
     * {@link VeSpec.Accel#KVM}, already resolved from the spec's.
     */
    public static List<String> build(VeSpec spec, VeFiles files, VeSpec.Accel accel) {
        if (accel == VeSpec.Accel.AUTO) {
            throw new IllegalArgumentException("resolve AUTO to TCG or KVM before building the command line");
        }
        List<String> c = new ArrayList<>();
        c.add(QEMU);
        add(c, "-name", "guest=" + opt(spec.name()));
        add(c, "-machine", MACHINE);
        add(c, "-accel", accel == VeSpec.Accel.KVM ? "kvm" : "tcg");
        add(c, "-m", memory(spec.memoryMib(), accel));
        add(c, "-smp", Integer.toString(spec.vcpus()));
        c.add("-nodefaults");
        c.add("-no-user-config");
        add(c, "-display", "none");
        c.add("-no-reboot");
        add(c, "-chardev", "file,id=console,append=on,path=" + opt(files.consoleLog().toString()));
        add(c, "-serial", "chardev:console");
        add(c, "-qmp", "unix:" + opt(files.qmpSocket().toString()) + ",server=on,wait=off");
        add(c, "-pidfile", files.pidFile().toString());
        add(c, "-msg", "timestamp=on");
        switch (spec.boot()) {
            case VeSpec.Boot.Kernel k -> {
                add(c, "-kernel", k.kernel().toString());
                k.initrd().ifPresent(i -> add(c, "-initrd", i.toString()));
                add(c, "-append", k.cmdline());
            }
            case VeSpec.Boot.Disk d -> add(c, "-drive", "file=" + opt(d.image().toString()) + ",format="
                    + d.format().qemuName() + ",if=virtio,cache=none");
        }
        for (int i = 0; i < spec.nics().size(); i++) {
            VeSpec.Nic nic = spec.nics().get(i);
            add(c, "-netdev", "tap,id=net" + i + ",ifname=" + tapName(spec.name(), i) + ",script=no,downscript=no");
            add(c, "-device", "virtio-net-pci,netdev=net" + i + ",mac=" + nic.mac() + ",romfile=");
        }
        return List.copyOf(c);
    }

    /**
     * {@code -m}: the VE's memory; under TCG {@link #TCG_RAM_PAD_KIB} more (see there).
     */
    static String memory(int memoryMib, VeSpec.Accel accel) {
        if (accel == VeSpec.Accel.TCG) {
            return ((long) memoryMib * 1024 + TCG_RAM_PAD_KIB) + "K";
        }
        return memoryMib + "M";
    }

    /**
     * The command line of a VE that waits for its state from a live migration or a checkpoint:
     * {@link #build}'s plus {@code -incoming defer}. QEMU then runs nothing (QMP status
     * {@code inmigrate}) until {@code migrate-incoming} tells it where the state comes from;
     * deferring that to QMP lets the caller set migration capabilities first and choose the
     * address or socket per migration. {@code -mem-prealloc} faults the guest's RAM in when
     * QEMU starts, before the source pauses, instead of page by page while the state loads and
     * the guest waits: the first checkpoint load of a guest took 520-660 ms against 130-190 ms
     * for the next ones without it, and 150 ms with it (docs/benchmarks.md).
     */
    public static List<String> buildIncoming(VeSpec spec, VeFiles files, VeSpec.Accel accel) {
        List<String> c = new ArrayList<>(build(spec, files, accel));
        add(c, "-incoming", "defer");
        c.add("-mem-prealloc");
        return List.copyOf(c);
    }

    /**
     * The tap device of NIC {@code index} of VE {@code veName}: {@code NAME-INDEX} when that
     * fits in 15 characters, else the name's first 8 characters, '_', 4 hex digits of the
     * name's SHA-256 and {@code -INDEX}. VE names have no '_', so the two forms never meet.
     */
    public static String tapName(String veName, int index) {
        if (index < 0 || index >= VeSpec.MAX_NICS) {
            throw new IllegalArgumentException("NIC index " + index + " outside 0.." + (VeSpec.MAX_NICS - 1));
        }
        String suffix = "-" + index;
        if (veName.length() + suffix.length() <= MAX_IFNAME_CHARS) {
            return veName + suffix;
        }
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(veName.getBytes(StandardCharsets.UTF_8));
            return veName.substring(0, 8) + "_" + HexFormat.of().formatHex(hash, 0, 2) + suffix;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    /** A value inside a QEMU option string: a comma is written as two. */
    static String opt(String value) {
        return value.replace(",", ",,");
    }

    private static void add(List<String> c, String option, String value) {
        c.add(option);
        c.add(value);
    }
}
