package baton.core.fence;

import static org.assertj.core.api.Assertions.assertThat;

import baton.core.disk.ClusterKey;
import baton.core.disk.SlotRead;
import baton.core.fence.FenceRecordCodec.Read;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class FenceRecordCodecTest {
    static final ClusterKey KEY = new ClusterKey(new byte[32]);
    static final UUID CLUSTER = new UUID(1, 2);
    final FenceRecordCodec codec = new FenceRecordCodec(CLUSTER, KEY);
    final FenceRecord record = new FenceRecord(3, 1_700_000_000_123L, 42, 7, 1_700_000_100_000L, 1,
            FenceRecord.State.FENCED, true, 2, 99, "level 1: bmc-3 confirmed off");
    final OperatorRequest request = new OperatorRequest(2, 1_700_000_000_500L, OperatorRequest.Kind.CONFIRM, 3, 0, 1_700_000_000_500L,
            "checked the rack by hand");

    @Test
    void recordsAndRequestsRoundTrip() {
        assertThat(codec.decodeRecord(codec.encode(record), 0, 3)).isEqualTo(new Read.Valid<>(record));
        assertThat(codec.decodeRecord(codec.encode(record), 0, 0)).isEqualTo(new Read.Valid<>(record));
        assertThat(codec.decodeRequest(codec.encode(request), 0, 2)).isEqualTo(new Read.Valid<>(request));
        assertThat(codec.decodeRecord(new byte[4096], 0, 3)).isInstanceOf(Read.Empty.class);
    }

    @Test
    void everyFlippedBitOfTheUsedBytesIsDetected() {
        byte[] good = codec.encode(record);
        for (int bit = 0; bit < 276 * 8; bit++) {
            byte[] b = good.clone();
            b[bit / 8] ^= (byte) (1 << (bit % 8));
            assertThat(codec.decodeRecord(b, 0, 3)).as("bit %d", bit).isInstanceOf(Read.Invalid.class);
        }
        byte[] tail = good.clone();
        tail[4000] = 1;
        assertThat(codec.decodeRecord(tail, 0, 3)).isInstanceOf(Read.Invalid.class);
    }

    @Test
    void aWrongKeyIsAMacProblemAndAnotherNodesRecordIsMisplaced() {
        byte[] other = new byte[32];
        other[0] = 1;
        byte[] foreign = new FenceRecordCodec(CLUSTER, new ClusterKey(other)).encode(record);
        assertThat(codec.decodeRecord(foreign, 0, 3)).isEqualTo(new Read.Invalid<FenceRecord>(SlotRead.Problem.MAC,
                "MAC mismatch: written with another cluster key, or forged"));
        assertThat(codec.decodeRecord(codec.encode(record), 0, 4)).isInstanceOfSatisfying(Read.Invalid.class,
                i -> assertThat(i.problem()).isEqualTo(SlotRead.Problem.MISPLACED));
    }

    @Test
    void longTextIsCutAtACharacterBoundary() {
        String text = "ü".repeat(100); // 200 bytes of two-byte characters
        var r = new FenceRecord(3, 1, 1, 1, 1, 1, FenceRecord.State.FENCING, false, 0, 0, text);
        var read = (Read.Valid<FenceRecord>) codec.decodeRecord(codec.encode(r), 0, 3);
        assertThat(read.value().text()).isEqualTo("ü".repeat(80));
    }
}
