package baton.runtime.ve;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What a VE is, as far as QEMU is concerned: everything {@link QemuCommand} needs to build its
 * command line. Checked once here, so that a command line is never built from a bad value.
 *
 * @param name the VE's name, {@code [a-z][a-z0-9-]*}, at most {@link #MAX_NAME_CHARS}
 * @param memoryMib guest RAM, {@link #MIN_MEMORY_MIB}..{@link #MAX_MEMORY_MIB}
 * @param vcpus {@code 1..}{@link #MAX_VCPUS}
 * @param boot a kernel with initrd and command line, or a disk image
 * @param nics at most {@link #MAX_NICS}, each with its own fixed MAC address
 * @param accel how QEMU runs guest code
 */
public record VeSpec(String name, int memoryMib, int vcpus, Boot boot, List<Nic> nics, Accel accel) {
    /** A tap device name is at most 15 characters and carries a prefix of the VE's name; config names are DNS-label sized. */
    public static final int MAX_NAME_CHARS = 63;
    /** Below this not even the test guest's kernel unpacks its initramfs. */
    public static final int MIN_MEMORY_MIB = 32;
    public static final int MAX_MEMORY_MIB = 1 << 20;
    public static final int MAX_VCPUS = 64;
    public static final int MAX_NICS = 8;
    /** x86's COMMAND_LINE_SIZE: the kernel cuts a longer command line. */
    public static final int MAX_CMDLINE_CHARS = 2047;

    private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9-]*");
    private static final Pattern MAC = Pattern.compile("[0-9a-f]{2}(:[0-9a-f]{2}){5}");
    /** Linux interface names: 1..15 bytes, no '/', ':' or blanks (dev_valid_name, plus ':' for aliases). */
    private static final Pattern IFNAME = Pattern.compile("[A-Za-z0-9_.-]{1,15}");

    public VeSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(boot, "boot");
        Objects.requireNonNull(accel, "accel");
        nics = List.copyOf(nics);
        if (name.length() > MAX_NAME_CHARS || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("VE name '" + name + "' must match [a-z][a-z0-9-]* and have at most "
                    + MAX_NAME_CHARS + " characters");
        }
        if (memoryMib < MIN_MEMORY_MIB || memoryMib > MAX_MEMORY_MIB) {
            throw new IllegalArgumentException("VE " + name + ": memoryMib " + memoryMib + " outside "
                    + MIN_MEMORY_MIB + ".." + MAX_MEMORY_MIB);
        }
        if (vcpus < 1 || vcpus > MAX_VCPUS) {
            throw new IllegalArgumentException("VE " + name + ": vcpus " + vcpus + " outside 1.." + MAX_VCPUS);
        }
        if (nics.size() > MAX_NICS) {
            throw new IllegalArgumentException("VE " + name + ": " + nics.size() + " NICs, at most " + MAX_NICS);
        }
        Set<String> macs = new HashSet<>();
        for (Nic nic : nics) {
            if (!macs.add(nic.mac())) {
                throw new IllegalArgumentException("VE " + name + ": MAC address " + nic.mac() + " is used twice");
            }
        }
    }

    /** How the VE boots. */
    public sealed interface Boot {
        /**
         * Direct kernel boot (QEMU's {@code -kernel}, {@code -initrd}, {@code -append}).
         *
         * @param initrd empty for none
         * @param cmdline the kernel command line, printable ASCII
         */
        record Kernel(Path kernel, Optional<Path> initrd, String cmdline) implements Boot {
            public Kernel {
                Objects.requireNonNull(kernel, "kernel");
                Objects.requireNonNull(initrd, "initrd");
                Objects.requireNonNull(cmdline, "cmdline");
                if (cmdline.length() > MAX_CMDLINE_CHARS) {
                    throw new IllegalArgumentException("kernel command line of " + cmdline.length()
                            + " characters, the kernel keeps " + MAX_CMDLINE_CHARS);
                }
                if (!cmdline.chars().allMatch(c -> c >= 0x20 && c < 0x7f)) {
                    throw new IllegalArgumentException("kernel command line has a character outside printable ASCII: " + cmdline);
                }
            }
        }

        /** A bootable disk image, the guest's only disk, on virtio-blk. */
        record Disk(Path image, DiskFormat format) implements Boot {
            public Disk {
                Objects.requireNonNull(image, "image");
                Objects.requireNonNull(format, "format");
            }
        }
    }

    public enum DiskFormat {
        RAW, QCOW2;

        /** The name QEMU's {@code format=} takes. */
        public String qemuName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * One virtio-net NIC, attached through a tap device to a bridge of the VE's host.
     *
     * @param mac fixed, so that the VE keeps its address and neighbours' ARP entries wherever it
     *     runs: six lower-case hex octets, unicast (a multicast source MAC is dropped by every bridge)
     * @param bridge the bridge on the host (every node has one of this name)
     */
    public record Nic(String mac, String bridge) {
        public Nic {
            Objects.requireNonNull(mac, "mac");
            Objects.requireNonNull(bridge, "bridge");
            mac = mac.toLowerCase(Locale.ROOT);
            if (!MAC.matcher(mac).matches()) {
                throw new IllegalArgumentException("MAC address '" + mac + "' is not six hex octets like 52:54:00:12:34:56");
            }
            if ((Integer.parseInt(mac.substring(0, 2), 16) & 1) != 0) {
                throw new IllegalArgumentException("MAC address " + mac + " is a multicast address; the first octet must be even");
            }
            if (!IFNAME.matcher(bridge).matches()) {
                throw new IllegalArgumentException("bridge name '" + bridge + "' is not a Linux interface name (1 to 15 of A-Z a-z 0-9 _ . -)");
            }
        }
    }

    /** How QEMU runs guest code. A VE migrates only between hosts that use the same one. */
    public enum Accel {
        /** Emulation: slow, works everywhere, including inside VMs without nested virtualisation. */
        TCG,
        KVM,
        /** KVM when {@code /dev/kvm} can be opened for reading and writing, else TCG (see {@link Accel#resolve}). */
        AUTO;

        /**
         * TCG or KVM. For {@link #AUTO}, {@code kvmUsable} decides: the caller opens
         * {@code /dev/kvm} ({@link QemuVm#kvmUsable}). That cannot tell a KVM that opens but
         * fails to run guests (nested KVM on some cloud VMs hangs in the BIOS or aborts on an
         * MSR): where that is so, configure TCG.
         */
        public Accel resolve(boolean kvmUsable) {
            return switch (this) {
                case TCG, KVM -> this;
                case AUTO -> kvmUsable ? KVM : TCG;
            };
        }
    }
}
