package baton.core.workload;

import static org.assertj.core.api.Assertions.assertThat;

import baton.core.disk.ClusterKey;
import baton.core.disk.DiskLayout;
import baton.core.disk.SlotRead;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class WorkloadCodecTest {
    static final UUID CLUSTER = new UUID(1, 2);
    final WorkloadCodec codec = new WorkloadCodec(CLUSTER, new ClusterKey(new byte[32]));
    final WorkloadRecord record = new WorkloadRecord(9, 4, 17, 3, 1_700_000_000_000L, 2, 1_795_000_000_000L,
            Placement.Desired.RUNNING, 0, 0, "web", "recovered on node 2 (preference 1 of its domain): its owner node 1 was fenced");

    @Test
    void aRecordRoundTripsInOneSector() {
        byte[] sector = codec.encode(record);
        assertThat(sector).hasSize(512);
        assertThat(codec.decode(sector, 0, 9)).isEqualTo(new WorkloadCodec.Read.Valid(record));
        assertThat(codec.decode(new byte[512], 0, 9)).isInstanceOf(WorkloadCodec.Read.Empty.class);
        assertThat(record.runsOn(2, 1_795_000_000_000L)).isTrue();
        assertThat(record.runsOn(2, 1)).as("another incarnation of the owner").isFalse();
    }

    @Test
    void everyFlippedBitIsDetectedAndARecordInTheWrongSectorIsMisplaced() {
        byte[] good = codec.encode(record);
        for (int bit = 0; bit < 512 * 8; bit++) {
            byte[] b = good.clone();
            b[bit / 8] ^= (byte) (1 << (bit % 8));
            assertThat(codec.decode(b, 0, 9)).as("bit %d", bit).isInstanceOf(WorkloadCodec.Read.Invalid.class);
        }
        assertThat(codec.decode(good, 0, 10)).isInstanceOfSatisfying(WorkloadCodec.Read.Invalid.class,
                i -> assertThat(i.problem()).isEqualTo(SlotRead.Problem.MISPLACED));
    }

    @Test
    void eightRecordsShareABlockAndATornBlockLeavesEachWholeOrDetected() {
        assertThat(DiskLayout.workloadOffsetBytes(1)).isEqualTo(33L * 4096);
        assertThat(DiskLayout.workloadOffsetBytes(9)).isEqualTo(34L * 4096);
        assertThat(DiskLayout.workloadOffsetBytes(DiskLayout.MAX_WORKLOADS)).isEqualTo(63L * 4096 + 7 * 512);
        byte[] block = new byte[4096];
        byte[] older = new byte[4096];
        for (int i = 0; i < 8; i++) {
            var r = new WorkloadRecord(9 + i, 5, 18, 3, 0, 1, 7, Placement.Desired.RUNNING, 0, 0, "w" + i, "");
            System.arraycopy(codec.encode(r), 0, block, i * 512, 512);
            var old = new WorkloadRecord(9 + i, 4, 17, 3, 0, 2, 7, Placement.Desired.RUNNING, 0, 0, "w" + i, "");
            System.arraycopy(codec.encode(old), 0, older, i * 512, 512);
        }
        // A write torn after three sectors: the first three records new, the rest old; each valid.
        byte[] torn = older.clone();
        System.arraycopy(block, 0, torn, 0, 3 * 512);
        for (int i = 0; i < 8; i++) {
            var read = (WorkloadCodec.Read.Valid) codec.decode(torn, i * 512, 9 + i);
            assertThat(read.record().epoch()).isEqualTo(i < 3 ? 5 : 4);
        }
    }
}
