package baton.lab;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * One machine of the lab: a network namespace whose only interfaces are lo and eth0, wired to
 * the lab's switch. Processes started here see only this host's network.
 */
public final class Host {
    private final Lab lab;
    private final String name;
    private final String netns;
    private final InetAddress address;
    /** This host's end of the wire in the switch namespace, a bridge port. */
    private final String switchPort;
    private Impairment impairment;

    Host(Lab lab, String name, String netns, InetAddress address, String switchPort) {
        this.lab = lab;
        this.name = name;
        this.netns = netns;
        this.address = address;
        this.switchPort = switchPort;
    }

    /** The host's name in the lab: n1, n2, ... or client. */
    public String name() {
        return name;
    }

    /** The name of the host's network namespace, for {@code ip netns exec}. */
    public String netns() {
        return netns;
    }

    /** eth0's address, in the lab's /24. */
    public InetAddress address() {
        return address;
    }

    /**
     * Starts {@code command} inside this host, appending its stdout and stderr to {@code logFile}
     * (created with its parent folders if missing). The process inherits this JVM's environment
     * plus {@code extraEnv}; the lab kills it, if still running, when it closes.
     */
    public LabProcess start(List<String> command, Path logFile, Map<String, String> extraEnv) {
        if (command.isEmpty()) {
            throw new IllegalArgumentException("empty command");
        }
        try {
            Path parent = logFile.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            long logStart = Files.exists(logFile) ? Files.size(logFile) : 0;
            ProcessBuilder pb = new ProcessBuilder(Netns.exec(netns, command))
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
            pb.environment().putAll(extraEnv);
            return lab.track(() -> new LabProcess(name, command, pb.start(), logFile, logStart));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start `" + String.join(" ", command) + "` on " + name, e);
        }
    }

    /** Runs {@code command} inside this host to completion, killing it at {@code timeout}. */
    public ExecResult run(Duration timeout, String... command) {
        lab.checkOpen();
        return Cmd.run(timeout, Netns.exec(netns, List.of(command)));
    }

    /**
     * The uplink eth0 moves into a new bridge {@code bridge} (with eth0's MAC, no forwarding
     * delay), which takes over the host's address: a VE's tap in that bridge is then on the lab
     * switch, reachable through this host's port only.
     */
    public void bridgeUplink(String bridge) {
        Duration limit = Duration.ofSeconds(30);
        String address = address().getHostAddress() + "/24";
        String mac = run(limit, "cat", "/sys/class/net/eth0/address").orThrow().stdout().strip();
        run(limit, "ip", "link", "add", bridge, "address", mac, "type", "bridge", "forward_delay", "0").orThrow();
        run(limit, "ip", "addr", "flush", "dev", "eth0").orThrow();
        run(limit, "ip", "link", "set", "eth0", "master", bridge).orThrow();
        run(limit, "ip", "addr", "add", address, "dev", bridge).orThrow();
        run(limit, "ip", "link", "set", bridge, "up").orThrow();
    }

    /** Pulls the host's cable: its switch port goes down, and with it eth0's carrier. */
    public void linkDown() {
        Netns.ip(lab.switchNetns(), "link", "set", switchPort, "down");
    }

    public void linkUp() {
        Netns.ip(lab.switchNetns(), "link", "set", switchPort, "up");
    }

    /**
     * Impairs everything this host sends, like {@code tc qdisc replace dev eth0 root netem ARGS}:
     * e.g. {@code netem("loss 5% delay 20ms")}. Replaces any earlier impairment.
     *
     * <p>Where the kernel has netem, that is exactly what runs, with any netem arguments. Where
     * it has not, the lab emulates {@code loss} and {@code delay [jitter]} on the host's switch
     * port (see {@link SwitchPortLoss} and {@link DelayLine}) and refuses other arguments.
     */
    public void netem(String args) {
        // Outside this host's monitor: Lab.close() takes the lab's monitor and then this one.
        lab.checkOpen();
        synchronized (this) {
            clearNetem();
            KernelNetem kernel = KernelNetem.install(netns, args);
            if (kernel != null) {
                impairment = kernel;
                return;
            }
            NetemSpec spec = NetemSpec.parse(args);
            if (spec.none()) {
                return;
            }
            impairment = spec.delay().isZero()
                    ? SwitchPortLoss.install(lab.switchNetns(), switchPort, spec.lossPercent())
                    : DelayLine.install(lab.switchNetns(), switchPort, spec);
        }
    }

    /** Removes what {@link #netem} installed; does nothing when nothing is installed. */
    public synchronized void clearNetem() {
        if (impairment != null) {
            Impairment current = impairment;
            impairment = null;
            current.remove();
        }
    }

    /** Called by the lab before it deletes the namespaces: an impairment may hold resources of this JVM. */
    synchronized void dropImpairment() {
        if (impairment instanceof DelayLine line) {
            line.remove();
        }
        impairment = null;
    }

    @Override
    public String toString() {
        return name + " (" + address.getHostAddress() + ", netns " + netns + ")";
    }
}
