package baton.runtime.ve;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * The end of one migration, as the side that ran it saw it.
 *
 * @param completed the VE's state reached the target (live: the source QEMU reports the
 *     migration completed; target: the VE runs there) or the file (checkpoint: written, synced,
 *     its size checked, its metadata next to it)
 * @param failure why it did not, naming the cause ("target refused the connection ...",
 *     "connection lost: ...", "deadline of N s passed ...", "cannot write FILE: No space left
 *     on device", "checkpoint FILE: checksum mismatch ...", "target QEMU exited with status
 *     N: ..."); present exactly when not completed
 * @param took from the call to its result
 * @param downtimeMillis how long the guest did not run: QEMU's reported downtime (live source),
 *     the time from the source's pause to running again (a checkpoint that failed, and one
 *     loaded: from its metadata's pause instant, by the wall clocks of two hosts); -1 unknown
 * @param transferredBytes what was sent (live: QEMU's count), written (checkpoint saved: the
 *     file's size) or loaded (checkpoint: the file's size); 0 where this side cannot know it
 *     (the target of a live migration)
 * @param sourceRunning the source VE runs after this: true after every failure on the source
 *     side that left its QEMU alive, false after a completed migration (the source is paused
 *     for good, QEMU status {@code postmigrate}); always false on the target side, which does not
 *     know the source
 */
public record MigrationResult(boolean completed, Optional<String> failure, Duration took, long downtimeMillis, long transferredBytes,
                              boolean sourceRunning) {
    public MigrationResult {
        Objects.requireNonNull(failure, "failure");
        Objects.requireNonNull(took, "took");
        if (completed == failure.isPresent()) {
            throw new IllegalArgumentException(completed ? "a completed migration has no failure, got " + failure.get()
                    : "a migration that did not complete says why");
        }
    }

    @Override
    public String toString() {
        return (completed ? "completed" : "failed: " + failure.orElseThrow()) + " after " + took.toMillis() + " ms, downtime "
                + (downtimeMillis < 0 ? "unknown" : downtimeMillis + " ms") + ", " + transferredBytes + " bytes, source "
                + (sourceRunning ? "running" : "not running");
    }
}
