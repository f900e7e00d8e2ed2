package baton.runtime.ve;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Objects;

/**
 * One sample of a migration's progress: from QEMU's {@code query-migrate}, or from the stream
 * of a checkpoint being loaded.
 *
 * @param phase QEMU's migration status ({@code setup}, {@code active}, {@code completed},
 *     {@code failed}, {@code cancelling}, {@code cancelled}, ...), {@code none} before any
 *     migration; Baton's own for a checkpoint: {@code saving}, {@code loading}, and
 *     {@code listening} for a target that waits for its source
 * @param transferredBytes sent so far (QEMU counts RAM pages and their headers; a checkpoint's
 *     load counts the file's bytes)
 * @param remainingBytes dirty memory still to send, as of QEMU's last sync
 * @param totalBytes the guest's RAM (or the checkpoint file's size)
 * @param bytesPerSecond the current rate
 * @param dirtySyncCount how many times QEMU synced the dirty bitmap: the round it is in
 * @param expectedDowntimeMillis QEMU's estimate of the final pause at the current rate, -1 if unknown
 */
public record MigrationProgress(String phase, long transferredBytes, long remainingBytes, long totalBytes, long bytesPerSecond,
                                long dirtySyncCount, long expectedDowntimeMillis) {
    public MigrationProgress {
        Objects.requireNonNull(phase, "phase");
    }

    /**
     * Reads the return value of {@code query-migrate}: {@code status}, and while a migration
     * is active or after it completed, {@code ram.transferred}, {@code ram.remaining},
     * {@code ram.total}, {@code ram.mbps} (megabits per second, a fraction),
     * {@code ram.dirty-sync-count} and {@code expected-downtime}. Missing numbers are 0
     * ({@code expected-downtime}: -1); an answer without {@code status} (no migration yet, or a
     * target before its source connected) is phase {@code none}.
     */
    public static MigrationProgress fromQueryMigrate(JsonNode info) {
        JsonNode ram = info.path("ram");
        double mbps = ram.path("mbps").asDouble(0);
        long bytesPerSecond = Double.isFinite(mbps) && mbps > 0 ? Math.round(mbps * 1_000_000 / 8) : 0;
        return new MigrationProgress(
                info.path("status").asText("none"),
                ram.path("transferred").asLong(0),
                ram.path("remaining").asLong(0),
                ram.path("total").asLong(0),
                bytesPerSecond,
                ram.path("dirty-sync-count").asLong(0),
                info.has("expected-downtime") ? info.path("expected-downtime").asLong(-1) : -1);
    }

    public MigrationProgress withPhase(String newPhase) {
        return new MigrationProgress(newPhase, transferredBytes, remainingBytes, totalBytes, bytesPerSecond, dirtySyncCount,
                expectedDowntimeMillis);
    }

    @Override
    public String toString() {
        return phase + " " + (transferredBytes >> 20) + " MiB sent, " + (remainingBytes >> 20) + " of " + (totalBytes >> 20)
                + " MiB left, " + (bytesPerSecond >> 20) + " MiB/s, round " + dirtySyncCount
                + (expectedDowntimeMillis >= 0 ? ", expected downtime " + expectedDowntimeMillis + " ms" : "");
    }
}
