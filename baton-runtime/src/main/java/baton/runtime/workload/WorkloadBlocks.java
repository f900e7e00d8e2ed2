package baton.runtime.workload;

import baton.core.disk.ClusterKey;
import baton.core.disk.Copy;
import baton.core.disk.DiskLayout;
import baton.core.disk.SealedBlock;
import baton.core.workload.NodeSettings;
import baton.core.workload.OperatorAnswer;
import baton.core.workload.WorkloadCodec;
import baton.core.workload.WorkloadRecord;
import baton.runtime.disk.DiskCopy;
import baton.runtime.disk.QuorumDisk;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;

/**
 * Blocking reads and writes of the quorum disk's workload blocks (docs/disk-format.md): the
 * owner records, the node settings and the operators' answers. Of two copies, readers believe
 * the newer record ({@link WorkloadRecord#compareNewer}); a copy that cannot be read, or a
 * record that does not decode, is skipped and reported. Shared by the node daemon and the
 * {@code baton} commands.
 *
 * <p>Writers write whole blocks (a sector write is not possible on every device): a block of
 * records is the last bytes read from that copy with the sectors of the records being written
 * replaced, so a record of a workload this configuration does not know is kept as it was. Only
 * the coordinator writes; one call at a time (the methods are synchronized).
 */
public final class WorkloadBlocks {
    /** What one read found. {@code problems} name the copy and record of everything skipped. */
    public record Snapshot(Map<Integer, WorkloadRecord> records, NodeSettings settings, Map<Integer, OperatorAnswer> answers,
                           List<String> problems, int copiesRead) {}

    private final QuorumDisk disk;
    private final WorkloadCodec codec;
    private final NodeSettings.Codec settingsCodec;
    private final OperatorAnswer.Codec answerCodec;
    private final int blocks;
    private final Map<Copy, byte[]> lastArea = new EnumMap<>(Copy.class);

    /** @param maxWorkloadId the highest workload id to read (the records area is read up to its block) */
    public WorkloadBlocks(QuorumDisk disk, UUID clusterId, ClusterKey key, int maxWorkloadId) {
        this.disk = disk;
        this.codec = new WorkloadCodec(clusterId, key);
        this.settingsCodec = new NodeSettings.Codec(clusterId, key);
        this.answerCodec = new OperatorAnswer.Codec(clusterId, key);
        this.blocks = Math.max(1, (Math.max(1, maxWorkloadId) - 1) / DiskLayout.WORKLOADS_PER_BLOCK + 1);
    }

    private static long blockOffset(int block) {
        return (long) block * DiskLayout.BLOCK_SIZE_BYTES;
    }

    /** Reads both copies: the records, the node settings, and (when asked) the answers. */
    public synchronized Snapshot read(Collection<Integer> ids, boolean withAnswers) {
        Map<Integer, WorkloadRecord> records = new TreeMap<>();
        NodeSettings settings = NodeSettings.NONE;
        Map<Integer, OperatorAnswer> answers = new TreeMap<>();
        List<String> problems = new ArrayList<>();
        int copiesRead = 0;
        for (Copy c : Copy.values()) {
            DiskCopy d = disk.copy(c);
            if (d == null) {
                problems.add(c.label() + ": could not be opened");
                continue;
            }
            try {
                byte[] area = d.read(blockOffset(DiskLayout.WORKLOAD_FIRST_BLOCK), blocks * DiskLayout.BLOCK_SIZE_BYTES);
                byte[] tail = d.read(blockOffset(DiskLayout.NODE_SETTINGS_BLOCK),
                        (withAnswers ? 1 + DiskLayout.ANSWER_BLOCKS : 1) * DiskLayout.BLOCK_SIZE_BYTES);
                copiesRead++;
                lastArea.put(c, area);
                for (int id : ids) {
                    switch (codec.decode(area, (id - 1) * SealedBlock.SECTOR_BYTES, id)) {
                        case WorkloadCodec.Read.Valid v -> records.merge(id, v.record(), (a, b) -> a.compareNewer(b) >= 0 ? a : b);
                        case WorkloadCodec.Read.Empty e -> { }
                        case WorkloadCodec.Read.Invalid bad -> problems.add(c.label() + ": workload record " + id + ": "
                                + bad.problem().name().toLowerCase(java.util.Locale.ROOT) + ": " + bad.detail());
                    }
                }
                String[] problem = new String[1];
                NodeSettings s = settingsCodec.decode(tail, 0, problem);
                if (s == null) {
                    problems.add(c.label() + ": node settings: " + problem[0]);
                } else if (s.compareNewer(settings) > 0) {
                    settings = s;
                }
                if (withAnswers) {
                    for (int n = 1; n <= DiskLayout.MAX_NODES; n++) {
                        OperatorAnswer a = answerCodec.decode(tail, DiskLayout.BLOCK_SIZE_BYTES + (n - 1) * SealedBlock.SECTOR_BYTES, n);
                        if (a != null) {
                            answers.merge(n, a, (x, y) -> x.seq() >= y.seq() ? x : y);
                        }
                    }
                }
            } catch (IOException | RuntimeException e) {
                problems.add(c.label() + ": " + e.getMessage());
            }
        }
        return new Snapshot(records, settings, answers, problems, copiesRead);
    }

    /**
     * Writes the records of {@code ids} (taken from {@code table}) to both copies, block by block;
     * returns the copies' errors (empty when both took every block).
     */
    public synchronized List<String> writeRecords(Map<Integer, WorkloadRecord> table, Collection<Integer> ids) {
        List<String> errors = new ArrayList<>();
        TreeSet<Integer> blocksToWrite = new TreeSet<>();
        ids.forEach(id -> blocksToWrite.add((id - 1) / DiskLayout.WORKLOADS_PER_BLOCK));
        for (Copy c : Copy.values()) {
            DiskCopy d = disk.copy(c);
            if (d == null) {
                errors.add(c.label() + ": could not be opened");
                continue;
            }
            byte[] area = lastArea.get(c);
            if (area == null) {
                errors.add(c.label() + ": not read yet");
                continue;
            }
            for (int b : blocksToWrite) {
                byte[] block = java.util.Arrays.copyOfRange(area, b * DiskLayout.BLOCK_SIZE_BYTES, (b + 1) * DiskLayout.BLOCK_SIZE_BYTES);
                for (int i = 0; i < DiskLayout.WORKLOADS_PER_BLOCK; i++) {
                    WorkloadRecord r = table.get(b * DiskLayout.WORKLOADS_PER_BLOCK + i + 1);
                    if (r != null) {
                        System.arraycopy(codec.encode(r), 0, block, i * SealedBlock.SECTOR_BYTES, SealedBlock.SECTOR_BYTES);
                    }
                }
                try {
                    d.write(blockOffset(DiskLayout.WORKLOAD_FIRST_BLOCK + b), block);
                    System.arraycopy(block, 0, area, b * DiskLayout.BLOCK_SIZE_BYTES, block.length);
                } catch (IOException | RuntimeException e) {
                    errors.add(c.label() + ": block " + (DiskLayout.WORKLOAD_FIRST_BLOCK + b) + ": " + e.getMessage());
                }
            }
        }
        return errors;
    }

    /** Writes the node settings to both copies; returns the copies' errors. */
    public synchronized List<String> writeSettings(NodeSettings s) {
        return disk.writeBoth(blockOffset(DiskLayout.NODE_SETTINGS_BLOCK), settingsCodec.encode(s));
    }

    /** Writes the block of answers holding {@code requesterId}'s, from {@code answers}; returns the copies' errors. */
    public synchronized List<String> writeAnswers(Map<Integer, OperatorAnswer> answers, int requesterId) {
        int first = (requesterId - 1) / OperatorAnswer.Codec.perBlock() * OperatorAnswer.Codec.perBlock() + 1;
        byte[] block = new byte[DiskLayout.BLOCK_SIZE_BYTES];
        for (int n = first; n < first + OperatorAnswer.Codec.perBlock(); n++) {
            OperatorAnswer a = answers.get(n);
            if (a != null) {
                System.arraycopy(answerCodec.encode(a), 0, block, (n - first) * SealedBlock.SECTOR_BYTES, SealedBlock.SECTOR_BYTES);
            }
        }
        return disk.writeBoth(DiskLayout.answerOffsetBytes(first), block);
    }

}
