package baton.it;

import baton.cli.LabCluster;
import baton.core.disk.ClusterKey;
import baton.lab.ExecResult;
import baton.lab.Host;
import baton.lab.Lab;
import baton.lab.LabProcess;
import baton.runtime.config.KeyFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The integration tests' cluster: a {@link LabCluster} in a fresh folder under /var/tmp (a disk
 * file system, so the quorum disk gets O_DIRECT as in production), removed afterwards.
 */
final class Cluster implements AutoCloseable {
    static final Duration WAIT = LabCluster.WAIT;

    final LabCluster cluster;
    final Lab lab;
    final Path dir;
    final int size;

    Cluster(int size) throws Exception {
        this.size = size;
        this.dir = Files.createTempDirectory(Path.of("/var/tmp"), "baton-it-");
        this.cluster = new LabCluster(dir, "lab", size, false);
        this.lab = cluster.lab();
    }

    ClusterKey key() throws Exception {
        return KeyFile.read(cluster.keyFile());
    }

    Path configure(int id, String primary, String shadow) {
        return cluster.configure(id, primary, shadow);
    }

    void configureAll(String primary, String shadow) {
        cluster.configureAll(primary, shadow);
    }

    Path config(int id) {
        return cluster.config(id);
    }

    Host host(int id) {
        return cluster.host(id);
    }

    Path runDir() {
        return cluster.runDir();
    }

    LabProcess start(int id) {
        return cluster.start(id);
    }

    LabProcess daemon(int id) {
        return cluster.daemon(id);
    }

    void startAllAndAwaitJoin() {
        cluster.startAllAndAwaitJoin();
    }

    ExecResult baton(int id, String... args) {
        return cluster.baton(id, args);
    }

    /** Waits until node {@code id}'s log has a line matching {@code regex}. */
    boolean awaitPattern(int id, String regex) {
        java.util.regex.Pattern p = java.util.regex.Pattern.compile(regex);
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            if (p.matcher(daemon(id).log()).find()) {
                return true;
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return false;
    }

    static List<String> java(String... args) {
        return LabCluster.java(args);
    }

    @Override
    public void close() throws java.io.IOException {
        try {
            cluster.close();
        } finally {
            try (var s = Files.walk(dir)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
