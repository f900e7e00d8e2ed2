package baton.core.liveness;

import baton.core.disk.Copy;

/**
 * Everything that enters the disk-liveness core. Each input carries the shell's monotonic
 * clock ({@code nowNanos}, from System.nanoTime or the simulator) at the moment it is handed
 * to the core.
 */
public sealed interface DiskInput {
    long nowNanos();

    /** Time passes. {@code wallEpochMillis} is only written into the slot for humans. */
    record Tick(long nowNanos, long wallEpochMillis) implements DiskInput {}

    /** A slot write of {@code cycle} finished; {@code error} is null on success. */
    record WriteDone(long nowNanos, Copy copy, long cycle, String error) implements DiskInput {}

    /**
     * A read of a copy's header and all slots finished. {@code area} holds
     * at least the bytes the {@link DiskEffect.ReadArea} asked for, or is null when the read
     * failed with {@code error}.
     */
    record ReadDone(long nowNanos, Copy copy, long cycle, byte[] area, String error) implements DiskInput {}

    /** A repair write finished; {@code error} is null on success. */
    record RepairDone(long nowNanos, Copy copy, int nodeId, String error) implements DiskInput {}

    /** The operator or SIGTERM asks the node to leave cleanly. */
    record LeaveRequested(long nowNanos, long wallEpochMillis) implements DiskInput {}
}
