package baton.runtime.fence;

import baton.core.disk.Copy;
import baton.core.disk.DiskLayout;
import baton.core.fence.FenceRecord;
import baton.core.fence.FenceRecordCodec;
import baton.core.fence.OperatorRequest;
import baton.runtime.disk.DiskCopy;
import baton.runtime.disk.QuorumDisk;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Blocking reads and writes of the quorum disk's fencing blocks (fence records, operator
 * requests, the history ring; docs/disk-format.md), shared by the node daemon and the
 * {@code baton fence} commands. Of two copies, readers believe the record with the higher
 * sequence number; a copy that cannot be read or decoded is skipped.
 */
public final class FenceBlocks {
    private final QuorumDisk disk;
    private final FenceRecordCodec codec;

    public FenceBlocks(QuorumDisk disk, FenceRecordCodec codec) {
        this.disk = disk;
        this.codec = codec;
    }

    public FenceRecordCodec codec() {
        return codec;
    }

    private static long offset(int block) {
        return (long) block * DiskLayout.BLOCK_SIZE_BYTES;
    }

    /** Writes {@code block} to both copies; returns the copies' errors (empty when both were written). */
    public List<String> writeBoth(int block, byte[] bytes) {
        return disk.writeBoth(offset(block), bytes);
    }

    /** The latest fence record about {@code victimId} on either copy. */
    public Optional<FenceRecord> record(int victimId) {
        return newest(readBlocks(DiskLayout.fenceRecordBlock(victimId), 1), 0, victimId);
    }

    /** The latest fence record of every node 1..maxNodeId that has one, by node id. */
    public Map<Integer, FenceRecord> records(int maxNodeId) {
        List<byte[]> areas = readBlocks(DiskLayout.fenceRecordBlock(1), maxNodeId);
        Map<Integer, FenceRecord> out = new TreeMap<>();
        for (int id = 1; id <= maxNodeId; id++) {
            int node = id;
            newest(areas, id - 1, node).ifPresent(r -> out.put(node, r));
        }
        return out;
    }

    /** Every valid entry of the history ring, oldest first. */
    public List<FenceRecord> history() {
        List<byte[]> areas = readBlocks(DiskLayout.HISTORY_FIRST_BLOCK, DiskLayout.HISTORY_BLOCKS);
        Map<Long, FenceRecord> bySeq = new TreeMap<>();
        for (int i = 0; i < DiskLayout.HISTORY_BLOCKS; i++) {
            for (byte[] area : areas) {
                if (codec.decodeRecord(area, i * DiskLayout.BLOCK_SIZE_BYTES, 0) instanceof FenceRecordCodec.Read.Valid<FenceRecord> v
                        && DiskLayout.historyBlock(v.value().seq()) == DiskLayout.HISTORY_FIRST_BLOCK + i) {
                    bySeq.putIfAbsent(v.value().seq(), v.value());
                }
            }
        }
        return List.copyOf(bySeq.values());
    }

    /** The newest request of every node 1..maxNodeId that has one, by requester id. */
    public Map<Integer, OperatorRequest> requests(int maxNodeId) {
        List<byte[]> areas = readBlocks(DiskLayout.requestBlock(1), maxNodeId);
        Map<Integer, OperatorRequest> out = new TreeMap<>();
        for (int id = 1; id <= maxNodeId; id++) {
            for (byte[] area : areas) {
                if (codec.decodeRequest(area, (id - 1) * DiskLayout.BLOCK_SIZE_BYTES, id) instanceof FenceRecordCodec.Read.Valid<OperatorRequest> v) {
                    out.merge(id, v.value(), (a, b) -> a.seq() >= b.seq() ? a : b);
                }
            }
        }
        return out;
    }

    /** Reads {@code count} blocks from {@code first} of each readable copy. */
    private List<byte[]> readBlocks(int first, int count) {
        List<byte[]> out = new ArrayList<>();
        for (Copy c : Copy.values()) {
            DiskCopy d = disk.copy(c);
            if (d == null) {
                continue;
            }
            try {
                out.add(d.read(offset(first), count * DiskLayout.BLOCK_SIZE_BYTES));
            } catch (IOException | RuntimeException e) {
                // the other copy may do
            }
        }
        return out;
    }

    private Optional<FenceRecord> newest(List<byte[]> areas, int index, int victimId) {
        return areas.stream()
                .map(a -> codec.decodeRecord(a, index * DiskLayout.BLOCK_SIZE_BYTES, victimId))
                .filter(r -> r instanceof FenceRecordCodec.Read.Valid<FenceRecord>)
                .map(r -> ((FenceRecordCodec.Read.Valid<FenceRecord>) r).value())
                .max(Comparator.comparingLong(FenceRecord::seq));
    }
}
