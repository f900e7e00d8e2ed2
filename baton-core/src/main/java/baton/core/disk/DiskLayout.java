package baton.core.disk;

/**
 * Where everything lives on the quorum disk. One copy (primary or shadow) is a region of
 * {@link #REGION_BLOCKS} blocks of {@link #BLOCK_SIZE_BYTES} bytes:
 *
 * <pre>
 *   block 0          header
 *   block 1 .. 32    one slot per node id 1..32 (slot of node n is block n)
 *   block 33 .. 255  reserved, zero in format version 1 (coordinator lease, workload records)
 * </pre>
 *
 * Both copies have the same layout. In single-path mode the primary is the region at offset
 * 0 and the shadow the region right after it; in two-path mode each path holds one region at
 * offset 0. The byte-by-byte layout of header and slot is in {@link HeaderCodec},
 * {@link SlotCodec} and docs/disk-format.md.
 *
 * <p>4096-byte blocks because O_DIRECT needs I/O aligned to the logical block size of the
 * device, which is 512 or 4096 on every device Baton targets: 4096 satisfies both.
 */
public final class DiskLayout {
    private DiskLayout() {}

    public static final int FORMAT_VERSION = 1;
    public static final int BLOCK_SIZE_BYTES = 4096;
    /** Limit: Baton supports clusters of at most 32 nodes (node ids 1..32). */
    public static final int MAX_NODES = 32;
    public static final int REGION_BLOCKS = 256;
    public static final long REGION_SIZE_BYTES = (long) REGION_BLOCKS * BLOCK_SIZE_BYTES;
    /** Header plus all slots: what a reader reads every disk interval, in one I/O. */
    public static final int LIVENESS_AREA_BYTES = (1 + MAX_NODES) * BLOCK_SIZE_BYTES;

    /** Offset of node {@code nodeId}'s slot inside a copy's region. */
    public static long slotOffsetBytes(int nodeId) {
        if (nodeId < 1 || nodeId > MAX_NODES) {
            throw new IllegalArgumentException("node id " + nodeId + " outside 1.." + MAX_NODES);
        }
        return (long) nodeId * BLOCK_SIZE_BYTES;
    }
}
