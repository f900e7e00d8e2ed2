package baton.runtime.config;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Where the two copies of the quorum disk live (layout in baton.core.disk.DiskLayout).
 *
 * @param primary file or block device holding the primary copy
 * @param shadow file or block device holding the shadow copy, or {@code null} in single-path
 *     mode, where the shadow is the region right after the primary's on the same path
 */
public record QuorumDiskConfig(Path primary, Path shadow) {
    public QuorumDiskConfig {
        Objects.requireNonNull(primary, "primary");
        if (primary.equals(shadow)) {
            throw new IllegalArgumentException("shadow is the primary path " + primary);
        }
    }

    /** Both copies on one path: survives a corrupted copy, not the loss of the disk. */
    public boolean singlePath() {
        return shadow == null;
    }
}
