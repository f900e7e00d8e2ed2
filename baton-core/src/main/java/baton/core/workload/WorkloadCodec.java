package baton.core.workload;

import baton.core.disk.ClusterKey;
import baton.core.disk.SealedBlock;
import baton.core.disk.SlotRead;
import java.nio.ByteBuffer;
import java.util.UUID;

/**
 * Encodes and decodes workload records: one per 512-byte sector, eight per block, so that a torn
 * block write leaves each record whole (old or new) or failing its CRC (docs/disk-format.md).
 *
 * <pre>
 * offset size field
 *      0    4 magic "BWLD"
 *      4    2 format version (1)
 *      6    2 workload id (1..248); must equal the record's position
 *      8   16 cluster id
 *     24    8 epoch
 *     32    8 table version
 *     40    8 coordinator lease generation
 *     48    8 writer's wall clock, ms since the epoch (for humans)
 *     56    2 owner node id, 0 none
 *     58    1 desired: 1 running, 2 stopped, 3 frozen
 *     59    1 flags: bit 0 restart (stopped by an operator's restart, to run again once stopped),
 *                    bit 1 migrate (the move to the next node hands the running VE over), bit 2 checkpoint (through a file),
 *                    bit 3 migration failed (the last migration was called off after a failure)
 *     60    2 next node id (a planned move), 0 none
 *     62    2 home node id (the node a switchover moved it off), 0 none
 *     64    8 owner incarnation
 *     72    8 next node's incarnation
 *     80   66 name: 2-byte length, up to 64 bytes UTF-8, zero-padded
 *    146  202 reason: 2-byte length, up to 200 bytes UTF-8, zero-padded
 *    348    4 migration attempt (the table version that began it, low 32 bits), 0 when not migrating
 *    352   32 HMAC-SHA-256 over bytes 0..351
 *    384    4 CRC32C of bytes 0..383
 *    388  124 zero
 * </pre>
 */
public final class WorkloadCodec {
    static final byte[] MAGIC = {'B', 'W', 'L', 'D'};
    public static final int VERSION = 1;
    public static final int RECORD_BYTES = SealedBlock.SECTOR_BYTES;
    static final int MAC_OFFSET = 352;

    private final UUID clusterId;
    private final ClusterKey key;

    public WorkloadCodec(UUID clusterId, ClusterKey key) {
        this.clusterId = clusterId;
        this.key = key;
    }

    public sealed interface Read {
        record Valid(WorkloadRecord record) implements Read {}

        record Empty() implements Read {}

        record Invalid(SlotRead.Problem problem, String detail) implements Read {}
    }

    /** The record's 512 bytes. */
    public byte[] encode(WorkloadRecord r) {
        ByteBuffer b = SealedBlock.start(MAGIC, VERSION, r.id(), clusterId, RECORD_BYTES);
        b.putLong(r.epoch());
        b.putLong(r.tableVersion());
        b.putLong(r.generation());
        b.putLong(r.wallEpochMillis());
        b.putShort((short) r.ownerId());
        b.put((byte) (r.desired().ordinal() + 1));
        b.put((byte) r.flags());
        b.putShort((short) r.nextId());
        b.putShort((short) r.homeId());
        b.putLong(r.ownerIncarnation());
        b.putLong(r.nextIncarnation());
        SealedBlock.putText(b, r.name(), WorkloadRecord.MAX_NAME_BYTES);
        SealedBlock.putText(b, r.reason(), WorkloadRecord.MAX_REASON_BYTES);
        b.putInt(348, r.attempt());
        byte[] out = SealedBlock.seal(b, key, MAC_OFFSET);
        if (!(decode(out, 0, r.id()) instanceof Read.Valid v) || v.record().epoch() != r.epoch()
                || v.record().ownerId() != r.ownerId() || !r.name().startsWith(v.record().name())) {
            throw new IllegalStateException("workload record does not survive its own codec: " + r);
        }
        return out;
    }

    /** Decodes the record at {@code data[offset, offset + 512)}, expected to be workload {@code id}'s. */
    public Read decode(byte[] data, int offset, int id) {
        return switch (SealedBlock.open(data, offset, RECORD_BYTES, key, clusterId, MAGIC, VERSION, id, MAC_OFFSET, "workload record")) {
            case SealedBlock.Opened.Empty e -> new Read.Empty();
            case SealedBlock.Opened.Bad bad -> new Read.Invalid(bad.problem(), bad.detail());
            case SealedBlock.Opened.Ok ok -> {
                ByteBuffer b = ok.fields();
                int desired = b.get(58) & 0xff;
                String name = SealedBlock.getText(b, 80, WorkloadRecord.MAX_NAME_BYTES);
                String reason = SealedBlock.getText(b, 146, WorkloadRecord.MAX_REASON_BYTES);
                if (desired < 1 || desired > Placement.Desired.values().length || (b.get(59) & ~WorkloadRecord.KNOWN_FLAGS) != 0
                        || name == null || reason == null) {
                    yield new Read.Invalid(SlotRead.Problem.FORMAT, "unknown desired state or flags, or a malformed name or reason");
                }
                try {
                    yield new Read.Valid(new WorkloadRecord(b.getShort(6) & 0xffff, b.getLong(24), b.getLong(32), b.getLong(40),
                            b.getLong(48), b.getShort(56) & 0xffff, b.getLong(64), Placement.Desired.values()[desired - 1],
                            b.getShort(60) & 0xffff, b.getLong(72), name, reason, b.get(59) & 0xff, b.getInt(348),
                            b.getShort(62) & 0xffff));
                } catch (IllegalArgumentException x) {
                    yield new Read.Invalid(SlotRead.Problem.FORMAT, x.getMessage());
                }
            }
        };
    }
}
