package baton.lab;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A lab: hosts as network namespaces on one switch, with the processes and loop devices that
 * tests and the demo put in them.
 *
 * <pre>
 *   netns ...-sw:      br0 ── n1 ── n2 ── ... ── client      (bridge and its ports)
 *                             │     │             │          (veth pairs)
 *   netns ...-n1:     eth0 198.18.S.1/24, lo
 *   netns ...-n2:     eth0 198.18.S.2/24, lo
 *   netns ...-client: eth0 198.18.S.250/24, lo
 * </pre>
 *
 * Nothing is created in the root namespace: {@code ip -n SW link add ... peer ... netns HOST}
 * makes both ends of each wire where they belong. The lab's subnet S (see {@link LabTag})
 * differs from every other live lab's on the machine.
 *
 * <p>{@link #close()} tears down the BMCs' machines (their {@link MachineCgroup}s), processes,
 * then namespaces, then loop devices. It is
 * idempotent and also runs from a shutdown hook if the JVM exits first; a JVM killed outright
 * leaves its lab to the {@link Sweeper} of the next lab created on the machine.
 */
public final class Lab implements AutoCloseable {
    /** Node hosts are numbered from 1 and own addresses .1 to .N, so N is bounded below the client's .250. */
    public static final int MAX_NODE_HOSTS = 200;
    static final int CLIENT_HOST_NUMBER = 250;

    private static final Set<Lab> OPEN = Collections.synchronizedSet(new HashSet<>());

    static {
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("baton-lab-cleanup").unstarted(Lab::closeAllAtExit));
    }

    private final LabTag tag;
    private final List<String> namespaces = new ArrayList<>();
    private final List<Host> nodes = new ArrayList<>();
    private Host client;
    private final List<LabProcess> processes = new ArrayList<>();
    private final List<LoopDevice> loopDevices = new ArrayList<>();
    private boolean closed;

    private Lab(LabTag tag) {
        this.tag = tag;
    }

    /**
     * Sweeps leftovers of dead labs, then builds a lab with {@code nodeHosts} node hosts
     * (n1..nN) and, if asked, a client host.
     */
    public static Lab create(int nodeHosts, boolean clientHost) {
        if (nodeHosts < 0 || nodeHosts > MAX_NODE_HOSTS) {
            throw new IllegalArgumentException("nodeHosts " + nodeHosts + " is outside 0.." + MAX_NODE_HOSTS);
        }
        Lab lab = RunDir.locked(() -> {
            Sweeper.sweepLocked();
            // The switch namespace, named after the subnet, is the claim on it: it is created
            // under the lock, and every later allocation under the lock sees it.
            Lab claimed = new Lab(LabTag.own(freeSubnet()));
            claimed.addNamespace("sw");
            OPEN.add(claimed);
            return claimed;
        });
        // Holding the lab's monitor keeps the shutdown hook's close() from running on a half-built lab.
        synchronized (lab) {
            try {
                lab.build(nodeHosts, clientHost);
                return lab;
            } catch (RuntimeException e) {
                try {
                    lab.close();
                } catch (RuntimeException cleanup) {
                    e.addSuppressed(cleanup);
                }
                throw e;
            }
        }
    }

    private void build(int nodeHosts, boolean clientHost) {
        Netns.ip(switchNetns(), "link", "set", "lo", "up");
        Netns.ip(switchNetns(), "link", "add", "br0", "type", "bridge");
        Netns.ip(switchNetns(), "link", "set", "br0", "up");
        for (int i = 1; i <= nodeHosts; i++) {
            nodes.add(addHost("n" + i, i));
        }
        if (clientHost) {
            client = addHost("client", CLIENT_HOST_NUMBER);
        }
    }

    /** The lowest subnet no live lab uses; the caller holds the lab lock and has swept. */
    private static int freeSubnet() {
        Set<Integer> used = new HashSet<>();
        Netns.names().forEach(n -> LabTag.parse(n).ifPresent(t -> used.add(t.subnet())));
        RunDir.loopRecords().forEach(r -> LabTag.parse(r.getFileName().toString()).ifPresent(t -> used.add(t.subnet())));
        for (int s = 0; s < LabTag.SUBNETS; s++) {
            if (!used.contains(s)) {
                return s;
            }
        }
        throw new IllegalStateException("all " + LabTag.SUBNETS + " lab subnets are in use by live labs");
    }

    private String addNamespace(String role) {
        String name = tag.netns(role);
        Netns.add(name);
        namespaces.add(name);
        return name;
    }

    private Host addHost(String name, int number) {
        String netns = addNamespace(name);
        String sw = switchNetns();
        // The switch-side end is named after the host: names are per namespace, so no lab can clash with another.
        Netns.ip(sw, "link", "add", name, "type", "veth", "peer", "name", "eth0", "netns", netns);
        Netns.ip(sw, "link", "set", name, "master", "br0");
        Netns.ip(sw, "link", "set", name, "up");
        String address = tag.address(number);
        Netns.ip(netns, "link", "set", "lo", "up");
        Netns.ip(netns, "addr", "add", address + "/24", "dev", "eth0");
        Netns.ip(netns, "link", "set", "eth0", "up");
        try {
            return new Host(this, name, netns, InetAddress.getByName(address), name);
        } catch (UnknownHostException e) {
            throw new IllegalStateException("not an IPv4 literal: " + address, e);
        }
    }

    public LabTag tag() {
        return tag;
    }

    /** The switch's namespace, holding the bridge br0 and one port per host, named like the host. */
    public String switchNetns() {
        return tag.netns("sw");
    }

    public List<Host> nodes() {
        return List.copyOf(nodes);
    }

    /** Node host {@code number}, counting from 1 like the names n1, n2, .... */
    public Host node(int number) {
        if (number < 1 || number > nodes.size()) {
            throw new IllegalArgumentException("no node host " + number + ": this lab has n1..n" + nodes.size());
        }
        return nodes.get(number - 1);
    }

    public Host client() {
        if (client == null) {
            throw new IllegalStateException("this lab was created without a client host");
        }
        return client;
    }

    /** Every host: the nodes, then the client if there is one. */
    public List<Host> hosts() {
        List<Host> all = new ArrayList<>(nodes);
        if (client != null) {
            all.add(client);
        }
        return all;
    }

    /**
     * Attaches a loop device that this lab detaches when it closes. It is recorded under
     * /run/baton-lab first thing after attaching, so that a sweeper can detach it if this JVM dies.
     */
    public synchronized LoopDevice loopDevice(Path backingFile, boolean directIo) {
        checkOpen();
        LoopDevice device = LoopDevice.attach(backingFile, directIo);
        loopDevices.add(device);
        RunDir.recordLoop(tag, device.path(), device.backingFile());
        return device;
    }

    /** Starts a process and registers it in one step, so that close() cannot miss it. */
    synchronized LabProcess track(ProcessStart start) throws IOException {
        checkOpen();
        LabProcess p = start.start();
        processes.add(p);
        return p;
    }

    interface ProcessStart {
        LabProcess start() throws IOException;
    }

    synchronized void checkOpen() {
        if (closed) {
            throw new IllegalStateException("lab " + tag.id() + " is closed");
        }
    }

    /**
     * Kills every process in the lab's hosts (first the machines' cgroups), deletes its namespaces and detaches its loop
     * devices. Idempotent. Every step is tried even when an earlier one fails; the failures are
     * thrown together at the end.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<RuntimeException> failures = new ArrayList<>();
        for (Host h : hosts()) {
            attempt(failures, h::dropImpairment);
        }
        // Machines first, whole: a frozen machine's processes die only when their cgroup thaws, so killAll alone would wait in vain.
        attempt(failures, () -> MachineCgroup.destroyAll(tag::equals));
        for (LabProcess p : processes) {
            attempt(failures, p::kill9);
        }
        // Also whatever those processes forked and whatever timed-out run() left behind.
        for (String ns : namespaces) {
            attempt(failures, () -> Netns.killAll(ns));
        }
        for (String ns : namespaces.reversed()) {
            attempt(failures, () -> Netns.delete(ns));
        }
        for (LoopDevice d : loopDevices) {
            attempt(failures, d::close);
        }
        if (failures.isEmpty()) {
            attempt(failures, () -> RunDir.deleteLoopRecord(tag));
        }
        OPEN.remove(this);
        if (!failures.isEmpty()) {
            IllegalStateException e = new IllegalStateException("closing lab " + tag.id() + " failed " + failures.size() + " time(s); the next lab's sweeper retries");
            failures.forEach(e::addSuppressed);
            throw e;
        }
    }

    private static void attempt(List<RuntimeException> failures, Runnable step) {
        try {
            step.run();
        } catch (RuntimeException e) {
            failures.add(e);
        }
    }

    private static void closeAllAtExit() {
        List<Lab> open;
        synchronized (OPEN) {
            open = List.copyOf(OPEN);
        }
        for (Lab lab : open) {
            try {
                lab.close();
            } catch (RuntimeException e) {
                // Nobody is left to handle it; stderr is where a dying JVM's last words go.
                System.err.println("baton-lab: " + e.getMessage());
                e.printStackTrace();
            }
        }
    }

    @Override
    public String toString() {
        return "lab " + tag.id() + " " + hosts();
    }
}
