package baton.runtime.node;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Where a running node daemon leaves what local commands read: its pid ({@code NODE.pid}, so
 * that {@code baton node leave} can signal it) and its current view of the cluster
 * ({@code NODE.json}, rewritten atomically every half second, read by {@code baton status}).
 * One folder per cluster: {@code /run/baton/CLUSTER/} by default.
 */
public record RunDir(Path dir) {
    public static final Path DEFAULT_ROOT = Path.of("/run/baton");

    public static RunDir of(Path root, String clusterName) {
        return new RunDir(root.resolve(clusterName));
    }

    public Path pidFile(String node) {
        return dir.resolve(node + ".pid");
    }

    public Path statusFile(String node) {
        return dir.resolve(node + ".json");
    }

    public void writePid(String node, long pid) throws IOException {
        Files.createDirectories(dir);
        replace(pidFile(node), pid + "\n");
    }

    /** Replaces {@code file} atomically, so a reader never sees half of it. */
    public static void replace(Path file, String content) throws IOException {
        Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
        Files.writeString(tmp, content, StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
}
