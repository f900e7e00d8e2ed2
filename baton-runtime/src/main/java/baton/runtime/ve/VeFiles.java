package baton.runtime.ve;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Where one QEMU of a VE keeps its files on its host: one folder per VE.
 *
 * @param dir the VE's folder
 * @param qmpSocket QMP's unix socket, which QEMU creates and removes
 * @param pidFile QEMU's pid, written by QEMU itself ({@code -pidfile}, locked while it runs)
 * @param consoleLog the guest's serial console, appended to across runs
 * @param qemuLog QEMU's own stdout and stderr, appended to across runs
 */
public record VeFiles(Path dir, Path qmpSocket, Path pidFile, Path consoleLog, Path qemuLog) {
    /** sun_path holds 108 bytes with the terminating NUL. */
    public static final int MAX_SOCKET_PATH_BYTES = 107;

    public VeFiles {
        Objects.requireNonNull(dir, "dir");
        Objects.requireNonNull(qmpSocket, "qmpSocket");
        Objects.requireNonNull(pidFile, "pidFile");
        Objects.requireNonNull(consoleLog, "consoleLog");
        Objects.requireNonNull(qemuLog, "qemuLog");
        int socketBytes = qmpSocket.toString().getBytes(StandardCharsets.UTF_8).length;
        if (socketBytes > MAX_SOCKET_PATH_BYTES) {
            throw new IllegalArgumentException("QMP socket path " + qmpSocket + " has " + socketBytes
                    + " bytes, a unix socket path at most " + MAX_SOCKET_PATH_BYTES + "; use a shorter run folder");
        }
    }

    /** The files of VE {@code veName} in {@code runDir/veName/}. */
    public static VeFiles under(Path runDir, String veName) {
        Path dir = runDir.resolve(veName).toAbsolutePath().normalize();
        return new VeFiles(dir, dir.resolve("qmp.sock"), dir.resolve("qemu.pid"), dir.resolve("console.log"),
                dir.resolve("qemu.log"));
    }
}
