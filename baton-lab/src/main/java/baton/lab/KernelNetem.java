package baton.lab;

import java.util.ArrayList;
import java.util.List;

/**
 * The kernel's netem qdisc on a host's eth0: the real thing, used where the kernel has it
 * (CONFIG_NET_SCH_NETEM). Kernels without it are common in minimal VMs; there the lab falls
 * back to {@link SwitchPortLoss} and {@link DelayLine}.
 */
final class KernelNetem implements Impairment {
    /** What tc says when the qdisc is not in the kernel (and cannot be loaded). */
    private static final String UNKNOWN_QDISC = "Specified qdisc kind is unknown";

    /** Learnt at the first netem of this JVM: null until then. */
    private static volatile Boolean available;

    private final String netns;

    private KernelNetem(String netns) {
        this.netns = netns;
    }

    /** Installs netem with {@code args} on eth0 in {@code netns}, or returns null when the kernel has no netem. */
    static KernelNetem install(String netns, String args) {
        if (Boolean.FALSE.equals(available)) {
            return null;
        }
        List<String> tc = new ArrayList<>(List.of("tc", "qdisc", "replace", "dev", "eth0", "root", "netem"));
        tc.addAll(List.of(args.strip().split("\\s+")));
        ExecResult r = Cmd.run(Netns.COMMAND_TIMEOUT, Netns.exec(netns, tc));
        if (!r.ok() && r.stderr().contains(UNKNOWN_QDISC)) {
            available = false;
            return null;
        }
        r.orThrow();
        available = true;
        return new KernelNetem(netns);
    }

    @Override
    public void remove() {
        Cmd.check(Netns.COMMAND_TIMEOUT, Netns.exec(netns, List.of("tc", "qdisc", "del", "dev", "eth0", "root")));
    }
}
