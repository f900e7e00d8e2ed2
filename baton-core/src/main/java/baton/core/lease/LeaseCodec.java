package baton.core.lease;

import baton.core.disk.BlockBytes;
import baton.core.disk.SealedBlock;
import baton.core.disk.ClusterKey;
import baton.core.disk.DiskLayout;
import baton.core.disk.SlotRead;
import java.nio.ByteBuffer;
import java.util.UUID;

/**
 * Encodes and decodes the blocks of the lease area. All integers are big-endian. What matters
 * lies in the first {@value #BLOCK_USED_BYTES} bytes, inside one 512-byte sector, so a torn
 * write of the 4096-byte block either leaves the old record whole or fails the checksum.
 *
 * <pre>
 * Disk Paxos block of node n (block 64 + n)
 * offset size field
 *      0    4 magic "BLSE"
 *      4    2 lease format version (1)
 *      6    2 node id (1..32); must equal the block's position
 *      8   16 cluster id; must equal the disk header's
 *     24    8 incarnation of the writer
 *     32    8 seq: counts the writer's writes within its incarnation
 *     40    8 generation (lease version) the block is about
 *     48    8 ballot (Disk Paxos mbal)
 *     56    8 accepted ballot (bal)
 *     64    8 value: incarnation of the accepted owner (inp)
 *     72    2 value: node id of the accepted owner, 0 = none
 *     74    1 state: 1 idle, 2 preparing, 3 accepted, 4 committed, 5 owner, 6 released
 *     75    1 reserved, zero
 *     76    2 target: node id of the owner of generation - 1, 0 = none
 *     78    2 reserved, zero
 *     80    8 target: its incarnation
 *     88    8 target seq (0xffffffffffffffff = unknown)
 *     96    8 writer's wall clock, ms since the epoch (for humans)
 *    104   24 reserved, zero
 *    128   32 HMAC-SHA-256 with the cluster key over bytes 0..127
 *    160    4 CRC32C of bytes 0..159
 *    164 3932 zero
 *
 * Leader record (block 64)
 *      0    4 magic "BLDR"
 *      4    2 lease format version (1)
 *      6    2 owner node id (1..32)
 *      8   16 cluster id
 *     24    8 generation (at least 1)
 *     32    8 owner incarnation
 *     40    8 owner's wall clock when it acquired the generation, ms since the epoch (for humans)
 *     48   16 reserved, zero
 *     64   32 HMAC-SHA-256 over bytes 0..63
 *     96    4 CRC32C of bytes 0..95
 *    100 3996 zero
 * </pre>
 *
 * As with slots, the CRC tells damage (a flipped bit, a torn write) from a wrong key or a
 * forgery (the MAC). Every encode is checked by decoding its own output (paired assertion).
 */
public final class LeaseCodec {
    static final byte[] BLOCK_MAGIC = {'B', 'L', 'S', 'E'};
    static final byte[] LEADER_MAGIC = {'B', 'L', 'D', 'R'};
    public static final int BLOCK_MAC_OFFSET = 128;
    public static final int BLOCK_USED_BYTES = 164;
    public static final int LEADER_MAC_OFFSET = 64;
    public static final int LEADER_USED_BYTES = 100;

    private final UUID clusterId;
    private final ClusterKey key;

    public LeaseCodec(UUID clusterId, ClusterKey key) {
        this.clusterId = clusterId;
        this.key = key;
    }

    public UUID clusterId() {
        return clusterId;
    }

    public byte[] encodeBlock(LeaseBlock b) {
        String problem = b.problem();
        if (problem != null || b.seq() < 1) {
            throw new IllegalArgumentException("refusing to write a malformed lease block (" + problem + ", seq "
                    + b.seq() + "): " + b);
        }
        ByteBuffer buf = SealedBlock.start(BLOCK_MAGIC, LeaseLayout.FORMAT_VERSION, b.nodeId(), clusterId);
        buf.putLong(b.incarnation());
        buf.putLong(b.seq());
        buf.putLong(b.generation());
        buf.putLong(b.ballot());
        buf.putLong(b.acceptedBallot());
        buf.putLong(b.value().incarnation());
        buf.putShort((short) b.value().nodeId());
        buf.put((byte) b.state().code);
        buf.put((byte) 0);
        buf.putShort((short) b.target().nodeId());
        buf.putShort((short) 0);
        buf.putLong(b.target().incarnation());
        buf.putLong(b.targetSeq());
        buf.putLong(b.wallEpochMillis());
        byte[] out = SealedBlock.seal(buf, key, BLOCK_MAC_OFFSET);
        if (!(decodeBlock(out, 0, b.nodeId()) instanceof BlockRead.Valid v) || !v.block().equals(b)) {
            throw new IllegalStateException("lease block does not survive its own codec: " + b);
        }
        return out;
    }

    /** Decodes the block at {@code data[offset, offset + 4096)}, expected to be node {@code nodeId}'s. */
    public BlockRead decodeBlock(byte[] data, int offset, int nodeId) {
        ByteBuffer b;
        switch (SealedBlock.open(data, offset, key, clusterId, BLOCK_MAGIC, LeaseLayout.FORMAT_VERSION, nodeId, BLOCK_MAC_OFFSET,
                "lease block")) {
            case SealedBlock.Opened.Empty e -> {
                return new BlockRead.Empty();
            }
            case SealedBlock.Opened.Bad bad -> {
                return new BlockRead.Invalid(bad.problem(), bad.detail());
            }
            case SealedBlock.Opened.Ok ok -> b = ok.fields();
        }
        int node = b.getShort(6) & 0xffff;
        if (b.get(75) != 0 || b.getShort(78) != 0 || !BlockBytes.allZero(data, offset + 104, 24)) {
            return new BlockRead.Invalid(SlotRead.Problem.FORMAT, "reserved bytes are not zero");
        }
        LeaseState state = LeaseState.ofCode(b.get(74) & 0xff);
        if (state == null) {
            return new BlockRead.Invalid(SlotRead.Problem.FORMAT, "unknown lease state " + (b.get(74) & 0xff));
        }
        Owner value;
        Owner target;
        try {
            value = owner(b.getShort(72) & 0xffff, b.getLong(64));
            target = owner(b.getShort(76) & 0xffff, b.getLong(80));
        } catch (IllegalArgumentException e) {
            return new BlockRead.Invalid(SlotRead.Problem.FORMAT, e.getMessage());
        }
        LeaseBlock block = new LeaseBlock(node, b.getLong(24), b.getLong(32), b.getLong(40), b.getLong(48), b.getLong(56),
                value, state, target, b.getLong(88), b.getLong(96));
        String problem = block.problem();
        if (problem != null || block.seq() < 1) {
            return new BlockRead.Invalid(SlotRead.Problem.FORMAT, problem != null ? problem : "seq " + block.seq());
        }
        return new BlockRead.Valid(block);
    }

    public byte[] encodeLeader(LeaderRecord r) {
        ByteBuffer buf = SealedBlock.start(LEADER_MAGIC, LeaseLayout.FORMAT_VERSION, r.owner().nodeId(), clusterId);
        buf.putLong(r.generation());
        buf.putLong(r.owner().incarnation());
        buf.putLong(r.acquiredEpochMillis());
        byte[] out = SealedBlock.seal(buf, key, LEADER_MAC_OFFSET);
        if (!(decodeLeader(out, 0) instanceof LeaderRead.Valid v) || !v.record().equals(r)) {
            throw new IllegalStateException("leader record does not survive its own codec: " + r);
        }
        return out;
    }

    public LeaderRead decodeLeader(byte[] data, int offset) {
        ByteBuffer b;
        // The owner's node id takes the envelope's node id place: any node's record may stand here.
        switch (SealedBlock.open(data, offset, key, clusterId, LEADER_MAGIC, LeaseLayout.FORMAT_VERSION, 0, LEADER_MAC_OFFSET,
                "leader record")) {
            case SealedBlock.Opened.Empty e -> {
                return new LeaderRead.Empty();
            }
            case SealedBlock.Opened.Bad bad -> {
                return new LeaderRead.Invalid(bad.problem(), bad.detail());
            }
            case SealedBlock.Opened.Ok ok -> b = ok.fields();
        }
        if (!BlockBytes.allZero(data, offset + 48, 16)) {
            return new LeaderRead.Invalid(SlotRead.Problem.FORMAT, "reserved bytes are not zero");
        }
        try {
            Owner owner = owner(b.getShort(6) & 0xffff, b.getLong(32));
            return new LeaderRead.Valid(new LeaderRecord(b.getLong(24), owner, b.getLong(40)));
        } catch (IllegalArgumentException e) {
            return new LeaderRead.Invalid(SlotRead.Problem.FORMAT, e.getMessage());
        }
    }

    private static Owner owner(int node, long incarnation) {
        if (node > DiskLayout.MAX_NODES) {
            throw new IllegalArgumentException("owner node id " + node);
        }
        return new Owner(node, incarnation);
    }
}
