package baton.core.liveness;

import baton.core.disk.Copy;

/**
 * What the disk-liveness core asks its shell to do, in order. The shell performs I/O
 * asynchronously and reports each completion back as a {@link DiskInput}.
 */
public sealed interface DiskEffect {
    /** Write {@code block} (4096 bytes) to this node's slot on {@code copy}. */
    record WriteSlot(Copy copy, long cycle, byte[] block) implements DiskEffect {}

    /** Read the first {@code bytes} of {@code copy}: the header and the watched slots. */
    record ReadArea(Copy copy, long cycle, int bytes) implements DiskEffect {}

    /** Rewrite {@code nodeId}'s slot on {@code copy} with {@code block}, taken from the other copy. */
    record RepairSlot(Copy copy, int nodeId, byte[] block, String reason) implements DiskEffect {}

    /** Something an operator should see: log it (one key=value line) and count it. */
    record Report(DiskEvent event) implements DiskEffect {}

    /** Stop the node: the core has decided it must not stay a member. */
    record Exit(ExitReason reason, String detail) implements DiskEffect {}
}
