package baton.core.disk;

/**
 * Where everything lives on the quorum disk. One copy (primary or shadow) is a region of
 * {@link #REGION_BLOCKS} blocks of {@link #BLOCK_SIZE_BYTES} bytes:
 *
 * <pre>
 *   block 0          header
 *   block 1 .. 32    one slot per node id 1..32 (slot of node n is block n)
 *   block 33 .. 63   workload records: eight per block, one per 512-byte sector (workload id 1..248)
 *   block 64 .. 96   coordinator lease (LeaseLayout)
 *   block 97 .. 128  fence record of node n in block 96 + n, written by the coordinator
 *   block 129 .. 160 operator request from node n in block 128 + n, written by baton on node n
 *   block 161 .. 224 fence history: a ring of 64 fence records, written by the coordinator
 *   block 225        node settings (standby), written by the coordinator
 *   block 226 .. 229 operators' answers, one sector per requesting node
 *   block 230 .. 255 reserved, zero
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

    public static final int WORKLOAD_FIRST_BLOCK = 33;
    public static final int WORKLOAD_BLOCKS = 31;
    public static final int WORKLOADS_PER_BLOCK = BLOCK_SIZE_BYTES / 512;
    /** Limit: the workload records fill blocks 33..63. */
    public static final int MAX_WORKLOADS = WORKLOAD_BLOCKS * WORKLOADS_PER_BLOCK;

    /** Offset of workload {@code id}'s record (one sector) inside a copy's region. */
    public static long workloadOffsetBytes(int id) {
        if (id < 1 || id > MAX_WORKLOADS) {
            throw new IllegalArgumentException("workload id " + id + " outside 1.." + MAX_WORKLOADS);
        }
        return (long) WORKLOAD_FIRST_BLOCK * BLOCK_SIZE_BYTES + (long) (id - 1) * 512;
    }

    public static final int FENCE_RECORD_BASE_BLOCK = 96;
    public static final int REQUEST_BASE_BLOCK = 128;
    public static final int HISTORY_FIRST_BLOCK = 161;
    public static final int HISTORY_BLOCKS = 64;
    /** The coordinator's settings of the nodes (standby), written like the owner records. */
    public static final int NODE_SETTINGS_BLOCK = 225;
    /** The coordinator's answers to operators' workload and node requests: one sector per requesting node, blocks 226..229. */
    public static final int ANSWER_FIRST_BLOCK = 226;
    public static final int ANSWER_BLOCKS = MAX_NODES / 8;

    /** Offset of the answer sector for requests of node {@code nodeId}. */
    public static long answerOffsetBytes(int nodeId) {
        checkNode(nodeId);
        return (long) ANSWER_FIRST_BLOCK * BLOCK_SIZE_BYTES + (long) (nodeId - 1) * 512;
    }

    /** Block of the fence record about node {@code nodeId}. */
    public static int fenceRecordBlock(int nodeId) {
        checkNode(nodeId);
        return FENCE_RECORD_BASE_BLOCK + nodeId;
    }

    /** Block of the operator request written on node {@code nodeId}. */
    public static int requestBlock(int nodeId) {
        checkNode(nodeId);
        return REQUEST_BASE_BLOCK + nodeId;
    }

    /** Block of fence history entry {@code seq} (a ring). */
    public static int historyBlock(long seq) {
        return HISTORY_FIRST_BLOCK + (int) Math.floorMod(seq, (long) HISTORY_BLOCKS);
    }

    private static void checkNode(int nodeId) {
        if (nodeId < 1 || nodeId > MAX_NODES) {
            throw new IllegalArgumentException("node id " + nodeId + " outside 1.." + MAX_NODES);
        }
    }

    /** Offset of node {@code nodeId}'s slot inside a copy's region. */
    public static long slotOffsetBytes(int nodeId) {
        if (nodeId < 1 || nodeId > MAX_NODES) {
            throw new IllegalArgumentException("node id " + nodeId + " outside 1.." + MAX_NODES);
        }
        return (long) nodeId * BLOCK_SIZE_BYTES;
    }
}
