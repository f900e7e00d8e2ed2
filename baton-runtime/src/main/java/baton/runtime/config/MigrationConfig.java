package baton.runtime.config;

import baton.core.disk.DiskLayout;
import baton.core.disk.SlotWorkloads;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * How VEs migrate between nodes (the configuration's {@code migration:} section,
 * docs/switchover.md).
 *
 * @param portBase            a target listens for VE {@code id} on TCP port {@code portBase + id}, on its first address
 * @param downtimeLimitMillis the longest pause QEMU may plan for the last copy of a live migration
 * @param maxBandwidthBytesPerSecond what one migration may send per second, 0 for no limit
 * @param autoConverge        QEMU slows a guest's vCPUs down when it dirties memory faster than it can be sent
 * @param deadlineMillis      how long one migration may take before it is called off (the VE runs on where it was)
 * @param maxParallel         at most this many VEs migrate off one node at once in a switchover
 * @param checkpointDir       where checkpoint files go: a folder on storage every node mounts at the same path; without
 *                            one, checkpoint mode is refused
 */
public record MigrationConfig(int portBase, long downtimeLimitMillis, long maxBandwidthBytesPerSecond, boolean autoConverge,
                              long deadlineMillis, int maxParallel, Optional<Path> checkpointDir) {
    public static final int DEFAULT_PORT_BASE = 7500;
    public static final MigrationConfig DEFAULTS = new MigrationConfig(DEFAULT_PORT_BASE,
            baton.runtime.ve.MigrationSettings.DEFAULT_DOWNTIME_LIMIT.toMillis(), 0, true, 120_000, 2, Optional.empty());
    public static final int MIN_PORT_BASE = 1024;
    public static final int MAX_PORT_BASE = 65535 - DiskLayout.MAX_WORKLOADS;
    public static final long MAX_MILLIS = 3_600_000;

    public MigrationConfig {
        if (portBase < MIN_PORT_BASE || portBase > MAX_PORT_BASE || downtimeLimitMillis < 1 || downtimeLimitMillis > 60_000
                || maxBandwidthBytesPerSecond < 0 || deadlineMillis < 1_000 || deadlineMillis > MAX_MILLIS || maxParallel < 1
                || maxParallel > SlotWorkloads.MAX_MIGRATIONS || checkpointDir == null) {
            throw new IllegalArgumentException("migration settings out of range: " + this);
        }
    }

    /** The TCP port a target listens on for workload {@code id}. */
    public int port(int id) {
        return portBase + id;
    }

    public Duration deadline() {
        return Duration.ofMillis(deadlineMillis);
    }

    /** The checkpoint file of one attempt of VE {@code name} (its metadata lies beside it). */
    public Optional<Path> checkpointFile(String name, int attempt) {
        return checkpointDir.map(d -> d.resolve(name + "-" + Integer.toUnsignedString(attempt) + ".state"));
    }
}
