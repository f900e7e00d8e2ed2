package baton.core.workload;

import baton.core.disk.ClusterKey;
import baton.core.disk.DiskLayout;
import baton.core.disk.SealedBlock;
import baton.core.disk.SlotRead;
import java.nio.ByteBuffer;
import java.util.UUID;

/**
 * What operators set on nodes and the coordinator keeps on the quorum disk (block
 * {@value DiskLayout#NODE_SETTINGS_BLOCK} of each copy): which nodes are in standby, where
 * placement puts nothing and from which every workload moves off. Written only by the
 * coordinator; newer by lease generation, then epoch ({@link #compareNewer}).
 *
 * @param standby bit (id - 1) set: node id is in standby
 * @param writerId the coordinator node that wrote it
 * @param switchover bit (id - 1) set: node id is in maintenance after a switchover: in standby, and its VEs move off
 *                   by migration instead of cold (docs/switchover.md)
 * @param checkpoint bit (id - 1) set: that switchover migrates through checkpoint files instead of live
 * @param switchBack bit (id - 1) set: node id was resumed with switch-back: the VEs a switchover moved off it move back
 */
public record NodeSettings(long epoch, long generation, long wallEpochMillis, int writerId, int standby, int switchover,
                           int checkpoint, int switchBack) {
    public static final NodeSettings NONE = new NodeSettings(0, 0, 0, 0, 0, 0, 0, 0);

    public NodeSettings(long epoch, long generation, long wallEpochMillis, int writerId, int standby) {
        this(epoch, generation, wallEpochMillis, writerId, standby, 0, 0, 0);
    }

    private static boolean bit(int bits, int nodeId) {
        return (bits & (1 << (nodeId - 1))) != 0;
    }

    private static int set(int bits, int nodeId, boolean on) {
        return on ? bits | (1 << (nodeId - 1)) : bits & ~(1 << (nodeId - 1));
    }

    public boolean standby(int nodeId) {
        return bit(standby, nodeId);
    }

    public boolean switchover(int nodeId) {
        return bit(switchover, nodeId);
    }

    public boolean checkpoint(int nodeId) {
        return bit(checkpoint, nodeId);
    }

    public boolean switchBack(int nodeId) {
        return bit(switchBack, nodeId);
    }

    /** Standby on or off; off also ends a switchover's maintenance (without switching back). */
    public NodeSettings withStandby(int nodeId, boolean on, long generation, long wallMillis, int writerId) {
        return new NodeSettings(epoch + 1, generation, wallMillis, writerId, set(standby, nodeId, on),
                on ? switchover : set(switchover, nodeId, false), on ? checkpoint : set(checkpoint, nodeId, false),
                set(switchBack, nodeId, false));
    }

    /** A switchover: standby, and its VEs migrate off ({@code checkpoint}: through files). */
    public NodeSettings withSwitchover(int nodeId, boolean checkpointMode, long generation, long wallMillis, int writerId) {
        return new NodeSettings(epoch + 1, generation, wallMillis, writerId, set(standby, nodeId, true), set(switchover, nodeId, true),
                set(checkpoint, nodeId, checkpointMode), set(switchBack, nodeId, false));
    }

    /** The end of maintenance: no standby; with {@code switchBack}, the VEs the switchover moved off move back live. */
    public NodeSettings withResume(int nodeId, boolean back, long generation, long wallMillis, int writerId) {
        return new NodeSettings(epoch + 1, generation, wallMillis, writerId, set(standby, nodeId, false), set(switchover, nodeId, false),
                set(checkpoint, nodeId, false), set(switchBack, nodeId, back));
    }

    public int compareNewer(NodeSettings o) {
        return generation != o.generation ? Long.compare(generation, o.generation) : Long.compare(epoch, o.epoch);
    }

    /**
     * The block's format.
     *
     * <pre>
     * offset size field
     *      0    4 magic "BNST"
     *      4    2 format version (1)
     *      6    2 the writing coordinator's node id
     *      8   16 cluster id
     *     24    8 epoch
     *     32    8 coordinator lease generation
     *     40    8 writer's wall clock, ms since the epoch
     *     48    4 standby: bit (id - 1) for node id
     *     52    4 switchover (maintenance, VEs migrate off), same bits
     *     56    4 checkpoint mode of that switchover, same bits
     *     60    4 switch back (resumed: move its VEs back), same bits
     *     64   32 HMAC-SHA-256 over bytes 0..63
     *     96    4 CRC32C of bytes 0..95
     *    100 3996 zero
     * </pre>
     */
    public static final class Codec {
        static final byte[] MAGIC = {'B', 'N', 'S', 'T'};
        static final int VERSION = 1;
        static final int MAC_OFFSET = 64;

        private final UUID clusterId;
        private final ClusterKey key;

        public Codec(UUID clusterId, ClusterKey key) {
            this.clusterId = clusterId;
            this.key = key;
        }

        public byte[] encode(NodeSettings s) {
            ByteBuffer b = SealedBlock.start(MAGIC, VERSION, s.writerId(), clusterId);
            b.putLong(s.epoch());
            b.putLong(s.generation());
            b.putLong(s.wallEpochMillis());
            b.putInt(s.standby());
            b.putInt(s.switchover());
            b.putInt(s.checkpoint());
            b.putInt(s.switchBack());
            return SealedBlock.seal(b, key, MAC_OFFSET);
        }

        /** The settings, {@link #NONE} for a never-written block, or null with the problem in {@code problem[0]}. */
        public NodeSettings decode(byte[] block, int offset, String[] problem) {
            return switch (SealedBlock.open(block, offset, key, clusterId, MAGIC, VERSION, 0, MAC_OFFSET, "node settings")) {
                case SealedBlock.Opened.Empty e -> NONE;
                case SealedBlock.Opened.Bad bad -> {
                    problem[0] = bad.problem() + ": " + bad.detail();
                    yield null;
                }
                case SealedBlock.Opened.Ok ok -> {
                    ByteBuffer b = ok.fields();
                    yield new NodeSettings(b.getLong(24), b.getLong(32), b.getLong(40), b.getShort(6) & 0xffff, b.getInt(48),
                            b.getInt(52), b.getInt(56), b.getInt(60));
                }
            };
        }
    }
}
