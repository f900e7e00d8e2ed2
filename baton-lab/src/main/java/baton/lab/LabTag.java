package baton.lab;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Names one lab: its subnet and the process that created it.
 *
 * <p>Every namespace of a lab is called {@code baton-lab-SUBNET-PID-START-ROLE}. The subnet
 * number makes the names of concurrent labs distinct and picks their addresses; the creator's
 * pid and start time (clock ticks since boot, from {@code /proc/PID/stat}) tell a later sweeper
 * whether the creator still runs. The start time is there because pids are reused: a pid alone
 * could make a dead lab look alive forever, or (worse) a live lab look dead.
 *
 * @param subnet 0 to {@value #SUBNETS}-1, the lab's /24 inside 198.18.0.0/15
 */
public record LabTag(int subnet, long pid, long startTicks) {
    /** 198.18.0.0/15 holds 512 /24 networks, so at most 512 labs run at once on one machine. */
    public static final int SUBNETS = 512;

    static final String PREFIX = "baton-lab-";
    private static final Pattern NAME = Pattern.compile("baton-lab-(\\d{1,3})-(\\d{1,10})-(\\d{1,20})(?:-([a-z0-9]+)|\\.loops)");

    public LabTag {
        if (subnet < 0 || subnet >= SUBNETS) {
            throw new IllegalArgumentException("subnet " + subnet + " is outside 0.." + (SUBNETS - 1));
        }
    }

    /** A tag for a lab of this process. */
    static LabTag own(int subnet) {
        ProcStat self = ProcStat.self();
        return new LabTag(subnet, self.pid(), self.startTicks());
    }

    /** The tag in a lab namespace name or loop record file name, or empty for any other name. */
    public static Optional<LabTag> parse(String name) {
        Matcher m = NAME.matcher(name);
        if (!m.matches()) {
            return Optional.empty();
        }
        int subnet = Integer.parseInt(m.group(1));
        if (subnet >= SUBNETS) {
            return Optional.empty();
        }
        return Optional.of(new LabTag(subnet, Long.parseLong(m.group(2)), Long.parseLong(m.group(3))));
    }

    /** {@code baton-lab-SUBNET-PID-START}, the common start of this lab's names. */
    public String id() {
        return PREFIX + subnet + "-" + pid + "-" + startTicks;
    }

    /** The name of this lab's namespace for {@code role} (sw, n1, n2, ..., client). */
    public String netns(String role) {
        return id() + "-" + role;
    }

    /** True while the process that created the lab runs (a zombie has stopped running). */
    public boolean ownerAlive() {
        return ProcStat.read(pid).map(s -> s.startTicks() == startTicks && s.state() != 'Z').orElse(false);
    }

    /** The IPv4 address of host number {@code hostNumber} (1..254) in this lab's /24. */
    public String address(int hostNumber) {
        if (hostNumber < 1 || hostNumber > 254) {
            throw new IllegalArgumentException("host number " + hostNumber + " is outside 1..254");
        }
        return "198." + (18 + subnet / 256) + "." + (subnet % 256) + "." + hostNumber;
    }
}
