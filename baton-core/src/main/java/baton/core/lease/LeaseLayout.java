package baton.core.lease;

import baton.core.disk.DiskLayout;

/**
 * Where the coordinator lease lives on the quorum disk: in blocks that format version 1
 * reserves (33..255 of each copy's region, zero until used), with the same layout in the
 * primary and the shadow copy.
 *
 * <pre>
 *   block 64         leader record: the last acquisition an owner published (for humans
 *                    and tools; the protocol never relies on it, see {@link LeaderRecord})
 *   block 64 + n     the Disk Paxos block of node id n (n = 1..32), written only by node n
 *   blocks 97..255   still reserved, zero
 * </pre>
 *
 * A node reads the whole lease area (blocks 64..96, 33 blocks = 132 KiB) of a copy in one
 * I/O, and writes only its own block and the leader record, one 4096-byte block per I/O.
 * Block 64 is chosen so that the area starts on a 256 KiB boundary of the region, well clear
 * of the slots (blocks 1..32), with room below it (33..63) for other records.
 */
public final class LeaseLayout {
    private LeaseLayout() {}

    public static final int FORMAT_VERSION = 1;
    public static final int LEADER_BLOCK = 64;
    /** The first block read by one area read: the leader record, then the node blocks. */
    public static final int AREA_FIRST_BLOCK = LEADER_BLOCK;
    /** Leader record plus one block per possible node id. */
    public static final int AREA_BLOCKS = 1 + DiskLayout.MAX_NODES;
    public static final int AREA_BYTES = AREA_BLOCKS * DiskLayout.BLOCK_SIZE_BYTES;
    /** Offset of the leader record inside an area read. */
    public static final int LEADER_AREA_OFFSET = 0;

    static {
        // The area must stay inside the blocks format version 1 reserves.
        if (AREA_FIRST_BLOCK < 1 + DiskLayout.MAX_NODES || AREA_FIRST_BLOCK + AREA_BLOCKS > DiskLayout.REGION_BLOCKS) {
            throw new ExceptionInInitializerError("lease area outside the reserved blocks");
        }
    }

    /** The block (inside a copy's region) of node {@code nodeId}'s Disk Paxos block. */
    public static int blockOfNode(int nodeId) {
        checkNode(nodeId);
        return LEADER_BLOCK + nodeId;
    }

    /** Offset of node {@code nodeId}'s block inside an area read. */
    public static int areaOffsetOfNode(int nodeId) {
        checkNode(nodeId);
        return nodeId * DiskLayout.BLOCK_SIZE_BYTES;
    }

    /** Byte offset of {@code block} inside a copy's region. */
    public static long regionOffsetBytes(int block) {
        if (block < AREA_FIRST_BLOCK || block >= AREA_FIRST_BLOCK + AREA_BLOCKS) {
            throw new IllegalArgumentException("block " + block + " outside the lease area");
        }
        return (long) block * DiskLayout.BLOCK_SIZE_BYTES;
    }

    private static void checkNode(int nodeId) {
        if (nodeId < 1 || nodeId > DiskLayout.MAX_NODES) {
            throw new IllegalArgumentException("node id " + nodeId + " outside 1.." + DiskLayout.MAX_NODES);
        }
    }
}
