package baton.core.lease;

import baton.core.disk.Copy;

/**
 * What the coordinator-lease core asks its shell to do, in order. The shell performs each
 * I/O asynchronously and reports its completion as a {@link LeaseInput} with the same
 * {@code ioId}.
 *
 * <p>Two rules for the shell, both needed for safety: an I/O that the core declared failed
 * after the I/O timeout may still be running, and the core then issues no other I/O of the
 * same kind to that copy until its completion arrives, so the shell must deliver every
 * completion, however late; and a restarted daemon must not write before every write of its
 * predecessor has completed or been abandoned by the kernel (a killed process is not reaped
 * while it has direct I/O in flight, so a supervisor that waits for the old process suffices).
 */
public sealed interface LeaseEffect {
    /** Read {@code blockCount} blocks from block {@code firstBlock} of {@code copy}'s region. */
    record ReadBlocks(Copy copy, int firstBlock, int blockCount, long ioId) implements LeaseEffect {}

    /** Write one 4096-byte block at {@code block} of {@code copy}'s region. */
    record WriteBlock(Copy copy, int block, byte[] bytes, long ioId) implements LeaseEffect {}

    /** Something an operator should see: log it (one key=value line) and count it. */
    record Report(LeaseEvent event) implements LeaseEffect {}

    /**
     * This node now holds {@code generation}, until {@code validUntilNanos} unless renewed.
     * Informational: before every action the shell asks {@link CoordinatorLease#isCoordinator}.
     */
    record BecameCoordinator(long generation, long validUntilNanos) implements LeaseEffect {}

    /**
     * This node no longer holds {@code generation}. Emitted with the first input after the
     * fact, which may be a tick later than the expiry itself: {@link CoordinatorLease#isCoordinator}
     * is exact, this effect is for logs and for stopping work promptly.
     */
    record CeasedCoordinator(long generation, String reason) implements LeaseEffect {}
}
