package baton.core.lease;

import baton.core.disk.Copy;

/**
 * Everything that enters the coordinator-lease core. Each input carries the shell's monotonic
 * clock ({@code nowNanos}: System.nanoTime, or the simulator's per-node clock) at the moment it
 * is handed to the core.
 */
public sealed interface LeaseInput {
    long nowNanos();

    /**
     * Time passes. The shell ticks at least every tenth of the disk interval, so that I/O
     * timeouts and the lease's expiry are noticed promptly. {@code wallEpochMillis} is only
     * written into blocks for humans.
     */
    record Tick(long nowNanos, long wallEpochMillis) implements LeaseInput {}

    /**
     * A {@link LeaseEffect.ReadBlocks} finished: {@code bytes} holds the blocks read, or is
     * null when the read failed with {@code error}.
     */
    record ReadDone(long nowNanos, Copy copy, long ioId, byte[] bytes, String error) implements LeaseInput {}

    /** A {@link LeaseEffect.WriteBlock} finished; {@code error} is null on success. */
    record WriteDone(long nowNanos, Copy copy, long ioId, String error) implements LeaseInput {}

    /** The operator (or a clean shutdown) asks this node to give the lease up. */
    record Resign(long nowNanos) implements LeaseInput {}
}
