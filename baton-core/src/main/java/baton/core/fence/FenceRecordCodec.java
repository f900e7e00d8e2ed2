package baton.core.fence;

import baton.core.disk.ClusterKey;
import baton.core.disk.SealedBlock;
import baton.core.disk.SlotRead;
import java.nio.ByteBuffer;
import java.util.UUID;

/**
 * Encodes and decodes fence records and operator requests (docs/disk-format.md). All integers
 * big-endian, everything inside the first sector ({@link SealedBlock}).
 *
 * <pre>
 * Fence record (block 96 + n for node n; history ring blocks 161..224)
 * offset size field
 *      0    4 magic "BFNC"
 *      4    2 format version (1)
 *      6    2 victim node id
 *      8   16 cluster id
 *     24    8 victim incarnation
 *     32    8 seq (history order, at least 1)
 *     40    8 coordinator lease generation
 *     48    8 writer's wall clock, ms since the epoch (for humans)
 *     56    2 coordinator node id
 *     58    1 state: 1 fencing, 2 fenced, 3 confirmed, 4 cannot-determine, 5 cancelled, 6 refused
 *     59    1 flags: bit 0 poison pill for the victim incarnation
 *     60    2 requester node id of the operator request answered, 0 none
 *     62    2 reserved, zero
 *     64    8 that request's seq
 *     72  162 text: 2-byte length, up to 160 bytes UTF-8, zero-padded
 *    234    6 reserved, zero
 *    240   32 HMAC-SHA-256 over bytes 0..239
 *    272    4 CRC32C of bytes 0..271
 *
 * Operator request (block 128 + n, written on node n)
 *      0    4 magic "BREQ"
 *      4    2 format version (1)
 *      6    2 requester node id
 *      8   16 cluster id
 *     24    8 seq
 *     32    1 kind: 1 fence, 2 confirm, 3 start, 4 stop, 5 restart, 6 relocate, 7 freeze, 8 unfreeze,
 *                9 standby, 10 unstandby
 *     33    1 reserved, zero
 *     34    2 target node id (0: any, for workload requests)
 *     36    8 target incarnation (0: whichever is down)
 *     44    8 writer's wall clock, ms since the epoch
 *     52  130 reason: 2-byte length, up to 128 bytes UTF-8, zero-padded
 *    182    2 workload id (workload requests), 0 otherwise
 *    184   32 HMAC-SHA-256 over bytes 0..183
 *    216    4 CRC32C of bytes 0..215
 * </pre>
 */
public final class FenceRecordCodec {
    static final byte[] RECORD_MAGIC = {'B', 'F', 'N', 'C'};
    static final byte[] REQUEST_MAGIC = {'B', 'R', 'E', 'Q'};
    public static final int VERSION = 1;
    static final int RECORD_MAC_OFFSET = 240;
    static final int REQUEST_MAC_OFFSET = 184;

    private final UUID clusterId;
    private final ClusterKey key;

    public FenceRecordCodec(UUID clusterId, ClusterKey key) {
        this.clusterId = clusterId;
        this.key = key;
    }

    /** What a reader found in a fence record or request block. */
    public sealed interface Read<T> {
        record Valid<T>(T value) implements Read<T> {}

        record Empty<T>() implements Read<T> {}

        record Invalid<T>(SlotRead.Problem problem, String detail) implements Read<T> {}
    }

    public byte[] encode(FenceRecord r) {
        ByteBuffer b = SealedBlock.start(RECORD_MAGIC, VERSION, r.victimId(), clusterId);
        b.putLong(r.victimIncarnation());
        b.putLong(r.seq());
        b.putLong(r.generation());
        b.putLong(r.wallEpochMillis());
        b.putShort((short) r.coordinatorId());
        b.put((byte) r.state().code);
        b.put((byte) (r.pill() ? 1 : 0));
        b.putShort((short) r.requesterId());
        b.putShort((short) 0);
        b.putLong(r.requestSeq());
        SealedBlock.putText(b, r.text(), FenceRecord.MAX_TEXT_BYTES);
        byte[] out = SealedBlock.seal(b, key, RECORD_MAC_OFFSET);
        // Paired assertion: what goes to disk reads back as this record (with its text as cut).
        if (!(decodeRecord(out, 0, r.victimId()) instanceof Read.Valid<FenceRecord> v) || !same(v.value(), r)) {
            throw new IllegalStateException("fence record does not survive its own codec: " + r);
        }
        return out;
    }

    /** Decodes the record at {@code data[offset, offset + 4096)} about {@code victimId} (0: any, for the history ring). */
    public Read<FenceRecord> decodeRecord(byte[] data, int offset, int victimId) {
        return switch (SealedBlock.open(data, offset, key, clusterId, RECORD_MAGIC, VERSION, victimId, RECORD_MAC_OFFSET, "fence record")) {
            case SealedBlock.Opened.Empty e -> new Read.Empty<>();
            case SealedBlock.Opened.Bad bad -> new Read.Invalid<>(bad.problem(), bad.detail());
            case SealedBlock.Opened.Ok ok -> {
                ByteBuffer b = ok.fields();
                FenceRecord.State state = FenceRecord.State.ofCode(b.get(58) & 0xff);
                int flags = b.get(59) & 0xff;
                String text = SealedBlock.getText(b, 72, FenceRecord.MAX_TEXT_BYTES);
                if (state == null || (flags & ~1) != 0 || b.getShort(62) != 0 || text == null || !zero(b, 234, 6)) {
                    yield new Read.Invalid<>(SlotRead.Problem.FORMAT, "unknown state or flags, or reserved bytes not zero");
                }
                try {
                    yield new Read.Valid<>(new FenceRecord(b.getShort(6) & 0xffff, b.getLong(24), b.getLong(32), b.getLong(40),
                            b.getLong(48), b.getShort(56) & 0xffff, state, flags == 1, b.getShort(60) & 0xffff, b.getLong(64), text));
                } catch (IllegalArgumentException x) {
                    yield new Read.Invalid<>(SlotRead.Problem.FORMAT, x.getMessage());
                }
            }
        };
    }

    public byte[] encode(OperatorRequest r) {
        ByteBuffer b = SealedBlock.start(REQUEST_MAGIC, VERSION, r.requesterId(), clusterId);
        b.putLong(r.seq());
        b.put((byte) r.kind().code);
        b.put((byte) 0);
        b.putShort((short) r.targetId());
        b.putLong(r.targetIncarnation());
        b.putLong(r.wallEpochMillis());
        SealedBlock.putText(b, r.reason(), OperatorRequest.MAX_REASON_BYTES);
        b.putShort((short) r.workloadId());
        byte[] out = SealedBlock.seal(b, key, REQUEST_MAC_OFFSET);
        if (!(decodeRequest(out, 0, r.requesterId()) instanceof Read.Valid<OperatorRequest> v)
                || v.value().seq() != r.seq() || v.value().targetId() != r.targetId()) {
            throw new IllegalStateException("operator request does not survive its own codec: " + r);
        }
        return out;
    }

    public Read<OperatorRequest> decodeRequest(byte[] data, int offset, int requesterId) {
        return switch (SealedBlock.open(data, offset, key, clusterId, REQUEST_MAGIC, VERSION, requesterId, REQUEST_MAC_OFFSET,
                "operator request")) {
            case SealedBlock.Opened.Empty e -> new Read.Empty<>();
            case SealedBlock.Opened.Bad bad -> new Read.Invalid<>(bad.problem(), bad.detail());
            case SealedBlock.Opened.Ok ok -> {
                ByteBuffer b = ok.fields();
                OperatorRequest.Kind kind = OperatorRequest.Kind.ofCode(b.get(32) & 0xff);
                String reason = SealedBlock.getText(b, 52, OperatorRequest.MAX_REASON_BYTES);
                if (kind == null || b.get(33) != 0 || reason == null) {
                    yield new Read.Invalid<>(SlotRead.Problem.FORMAT, "unknown kind, or reserved bytes not zero");
                }
                try {
                    yield new Read.Valid<>(new OperatorRequest(b.getShort(6) & 0xffff, b.getLong(24), kind, b.getShort(34) & 0xffff,
                            b.getLong(36), b.getLong(44), reason, b.getShort(182) & 0xffff));
                } catch (IllegalArgumentException x) {
                    yield new Read.Invalid<>(SlotRead.Problem.FORMAT, x.getMessage());
                }
            }
        };
    }

    private static boolean zero(ByteBuffer b, int at, int n) {
        for (int i = at; i < at + n; i++) {
            if (b.get(i) != 0) {
                return false;
            }
        }
        return true;
    }

    private static boolean same(FenceRecord a, FenceRecord b) {
        return a.equals(new FenceRecord(b.victimId(), b.victimIncarnation(), b.seq(), b.generation(), b.wallEpochMillis(),
                b.coordinatorId(), b.state(), b.pill(), b.requesterId(), b.requestSeq(), a.text())) && b.text().startsWith(a.text());
    }
}
