package baton.cli;

import baton.lab.ExecResult;
import baton.lab.Host;
import baton.lab.Lab;
import baton.lab.LabProcess;
import baton.runtime.config.KeyFile;
import baton.runtime.config.KeyFileException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A Baton cluster in the lab: one host (network namespace) per node, a work folder with the
 * key and one configuration file per node, and real {@code baton node run} processes started
 * with this JVM's Java and class path. Used by the demo, the benchmarks and the integration
 * tests. The configuration files may differ only in where each node finds the quorum disk (a
 * per-host device path, like a multipath name), which lets a test break one node's path alone.
 */
public final class LabCluster implements AutoCloseable {
    public static final Duration WAIT = Duration.ofSeconds(20);

    /**
     * How a node daemon's JVM runs (the launcher, ./baton, uses the same for {@code node run}):
     * Java thread priorities mapped to the OS (as root), so that the heartbeat send thread's
     * maximum priority means something on a loaded machine; a small heap with the serial
     * collector, whose pauses on a heap this size are a few milliseconds.
     */
    public static final List<String> DAEMON_JVM_OPTIONS = List.of("-XX:ThreadPriorityPolicy=1", "-Xms32m", "-Xmx128m",
            "-XX:+UseSerialGC");

    private final Lab lab;
    private final Path dir;
    private final Path keyFile;
    private final int size;
    private final String clusterName;
    private final Map<Integer, Path> configs = new HashMap<>();
    private final Map<Integer, LabProcess> daemons = new HashMap<>();
    private String extraConfig = "";
    private List<String> daemonJavaOptions = List.of();
    private java.util.function.IntFunction<String> nodeExtraConfig = id -> "";

    /** Creates the lab hosts and the cluster key in {@code dir} (created if missing); nothing runs yet. */
    public LabCluster(Path dir, String clusterName, int size, boolean clientHost) {
        this.dir = dir;
        this.size = size;
        this.clusterName = clusterName;
        try {
            Files.createDirectories(dir);
            this.keyFile = dir.resolve("cluster.key");
            KeyFile.generate(keyFile, false);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (KeyFileException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
        this.lab = Lab.create(size, clientHost);
    }

    public Lab lab() {
        return lab;
    }

    public Path dir() {
        return dir;
    }

    public Path keyFile() {
        return keyFile;
    }

    public int size() {
        return size;
    }

    /** YAML lines added under each node's entry (indented 4 spaces), e.g. its {@code fence:} levels. */
    public void nodeExtraConfig(java.util.function.IntFunction<String> yaml) {
        this.nodeExtraConfig = yaml;
    }

    /** JVM options for the node daemons started afterwards (e.g. a small heap for GC pressure). */
    public void daemonJavaOptions(List<String> options) {
        this.daemonJavaOptions = List.copyOf(options);
    }

    /** YAML appended to every configuration written afterwards (e.g. a {@code timeouts:} section). */
    public void extraConfig(String yaml) {
        this.extraConfig = yaml;
    }

    /**
     * Gives every node host a bridge named {@code bridge} that holds its uplink, as a node's
     * network is set up for VEs: a VE's tap joins that bridge, so the VE sits behind its node's
     * cable (pulling the cable cuts it off too) and reappears on another host's switch port when
     * it moves. Call before the daemons (and BMCs) start: the node's address moves onto the bridge.
     */
    public void bridgeUplinks(String bridge) {
        for (int i = 1; i <= size; i++) {
            bridgeUplink(i, bridge);
        }
    }

    /**
     * Node {@code id}'s uplink eth0 moves into a new bridge {@code bridge} (with eth0's MAC, no
     * forwarding delay), which takes over the host's address. See {@link #bridgeUplinks}.
     */
    public void bridgeUplink(int id, String bridge) {
        host(id).bridgeUplink(bridge);
    }

    /** Writes node {@code id}'s configuration with these quorum disk paths (shadow may be null). */
    public Path configure(int id, String primary, String shadow) {
        StringBuilder y = new StringBuilder("cluster:\n  name: ").append(clusterName).append("\n  keyFile: ").append(keyFile)
                .append("\nnodes:\n");
        for (int i = 1; i <= size; i++) {
            y.append("  - id: ").append(i).append("\n    name: node-").append(i).append("\n    addresses: [")
                    .append(lab.node(i).address().getHostAddress()).append("]\n").append(nodeExtraConfig.apply(i));
        }
        y.append("quorumDisk:\n  primary: ").append(primary).append('\n');
        if (shadow != null) {
            y.append("  shadow: ").append(shadow).append('\n');
        }
        y.append(extraConfig);
        Path file = dir.resolve("node-" + id + ".yaml");
        try {
            Files.writeString(file, y);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        configs.put(id, file);
        return file;
    }

    public void configureAll(String primary, String shadow) {
        for (int i = 1; i <= size; i++) {
            configure(i, primary, shadow);
        }
    }

    public Path config(int id) {
        return configs.get(id);
    }

    public Host host(int id) {
        return lab.node(id);
    }

    /** The run folder the daemons use for pid and status files. */
    public Path runDir() {
        return dir.resolve("run");
    }

    /** Starts node {@code id}'s daemon inside its host; its log is {@code dir/node-ID.log}. */
    public LabProcess start(int id) {
        LabProcess p = host(id).start(daemonCommand(id), dir.resolve("node-" + id + ".log"), Map.of());
        daemons.put(id, p);
        return p;
    }

    /** The command line of node {@code id}'s daemon (what {@link #start} runs, or a BMC powers on). */
    public List<String> daemonCommand(int id) {
        List<String> cmd = new ArrayList<>(java("node", "run", "--config", config(id).toString(), "--node", "node-" + id,
                "--run-dir", runDir().toString()));
        cmd.addAll(1, daemonJavaOptions);
        cmd.addAll(1, DAEMON_JVM_OPTIONS);
        return cmd;
    }

    public LabProcess daemon(int id) {
        return daemons.get(id);
    }

    /** Starts every node and waits until each has joined; throws naming the node that did not. */
    public void startAllAndAwaitJoin() {
        for (int i = 1; i <= size; i++) {
            start(i);
        }
        for (int i = 1; i <= size; i++) {
            if (!daemon(i).awaitLog("event=joined", WAIT)) {
                throw new IllegalStateException("node-" + i + " did not join; its log:\n" + daemon(i).log());
            }
        }
    }

    /** Runs a {@code baton} command to completion inside node {@code id}'s host. */
    public ExecResult baton(int id, String... args) {
        return host(id).run(Duration.ofSeconds(60), java(args).toArray(String[]::new));
    }

    /** The command line of this JVM's Java running Baton's CLI with this JVM's class path. */
    public static List<String> java(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.add("-XX:TieredStopAtLevel=1"); // short-lived CLI processes and small daemons: start fast
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("baton.cli.Main");
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** Stops every process, removes the hosts; the work folder stays. */
    @Override
    public void close() {
        lab.close();
    }
}
