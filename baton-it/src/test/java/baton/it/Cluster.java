package baton.it;

import static org.assertj.core.api.Assertions.assertThat;

import baton.core.disk.ClusterKey;
import baton.lab.ExecResult;
import baton.lab.Host;
import baton.lab.Lab;
import baton.lab.LabProcess;
import baton.runtime.config.KeyFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A Baton cluster in the lab: one host (network namespace) per node, a work folder with the
 * key and one configuration file per node, and real {@code baton node run} processes. The
 * configuration files differ only in where each node finds the quorum disk (a per-host device
 * path, like a multipath name), which lets a test break one node's path to the disk alone.
 */
final class Cluster implements AutoCloseable {
    static final Duration WAIT = Duration.ofSeconds(20);

    final Lab lab;
    final Path dir;
    final Path keyFile;
    final int size;
    private final Map<Integer, Path> configs = new HashMap<>();
    private final Map<Integer, LabProcess> daemons = new HashMap<>();

    Cluster(int size) throws Exception {
        this.size = size;
        // /var/tmp: a disk file system, so the quorum disk gets O_DIRECT as in production.
        this.dir = Files.createTempDirectory(Path.of("/var/tmp"), "baton-it-");
        Lab l = null;
        try {
            l = Lab.create(size, false);
            this.keyFile = dir.resolve("cluster.key");
            KeyFile.generate(keyFile, false);
        } catch (Exception | Error e) {
            if (l != null) l.close();
            throw e;
        }
        this.lab = l;
    }

    ClusterKey key() throws Exception {
        return KeyFile.read(keyFile);
    }

    /** Writes node {@code id}'s configuration with these quorum disk paths (shadow may be null). */
    Path configure(int id, String primary, String shadow) throws Exception {
        StringBuilder y = new StringBuilder("cluster:\n  name: lab\n  keyFile: ").append(keyFile).append("\nnodes:\n");
        for (int i = 1; i <= size; i++) {
            y.append("  - id: ").append(i).append("\n    name: node-").append(i).append("\n    addresses: [")
                    .append(lab.node(i).address().getHostAddress()).append("]\n");
        }
        y.append("quorumDisk:\n  primary: ").append(primary).append('\n');
        if (shadow != null) {
            y.append("  shadow: ").append(shadow).append('\n');
        }
        Path file = dir.resolve("node-" + id + ".yaml");
        Files.writeString(file, y);
        configs.put(id, file);
        return file;
    }

    void configureAll(String primary, String shadow) throws Exception {
        for (int i = 1; i <= size; i++) {
            configure(i, primary, shadow);
        }
    }

    Path config(int id) {
        return configs.get(id);
    }

    Host host(int id) {
        return lab.node(id);
    }

    /** Starts node {@code id}'s daemon inside its host. */
    LabProcess start(int id) {
        LabProcess p = host(id).start(java("node", "run", "--config", config(id).toString(), "--node", "node-" + id),
                dir.resolve("node-" + id + ".log"), Map.of());
        daemons.put(id, p);
        return p;
    }

    LabProcess daemon(int id) {
        return daemons.get(id);
    }

    void startAllAndAwaitJoin() {
        for (int i = 1; i <= size; i++) {
            start(i);
        }
        for (int i = 1; i <= size; i++) {
            assertThat(daemon(i).awaitLog("event=joined", WAIT)).as("node-%d joined; log:\n%s", i, daemon(i).log()).isTrue();
        }
    }

    /** Runs a {@code baton} command to completion inside node {@code id}'s host. */
    ExecResult baton(int id, String... args) {
        List<String> cmd = java(args);
        return host(id).run(Duration.ofSeconds(60), cmd.toArray(String[]::new));
    }

    /** The command line of this test JVM's Java running Baton's CLI with this JVM's class path. */
    static List<String> java(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElseThrow());
        cmd.add("-XX:TieredStopAtLevel=1"); // short-lived CLI processes: start fast
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("baton.cli.Main");
        cmd.addAll(List.of(args));
        return cmd;
    }

    @Override
    public void close() throws java.io.IOException {
        try {
            lab.close();
        } finally {
            try (var s = Files.walk(dir)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
