package baton.core.lease;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import baton.core.disk.ClusterKey;
import baton.core.disk.SlotRead;
import java.util.Arrays;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The lease area's codecs against themselves and against damage: every flipped bit is detected. */
class LeaseCodecTest {
    final Bench bench = new Bench();
    final LeaseCodec codec = bench.codec;
    final LeaseBlock block = new LeaseBlock(5, 1_790_000_000_123L, 42, 7, 3 * 64 + 5, 2 * 64 + 3, new Owner(3, 99),
            LeaseState.ACCEPTED, new Owner(2, 1234), 17, 1_790_000_999_000L);

    @Test
    void aBlockSurvivesItsCodecAndLiesInTheFirstSector() {
        byte[] b = codec.encodeBlock(block);
        assertThat(b).hasSize(4096);
        assertThat(codec.decodeBlock(b, 0, 5)).isEqualTo(new BlockRead.Valid(block));
        assertThat(Arrays.copyOfRange(b, LeaseCodec.BLOCK_USED_BYTES, 4096)).containsOnly(0);
        assertThat(LeaseCodec.BLOCK_USED_BYTES).isLessThanOrEqualTo(512);
        assertThat(new String(b, 0, 4, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("BLSE");
        // Big-endian fields at the documented offsets.
        assertThat(java.nio.ByteBuffer.wrap(b).getLong(40)).isEqualTo(7);
        assertThat(java.nio.ByteBuffer.wrap(b).getShort(72)).isEqualTo((short) 3);
        assertThat(b[74]).isEqualTo((byte) LeaseState.ACCEPTED.code);
        assertThat(java.nio.ByteBuffer.wrap(b).getLong(88)).isEqualTo(17);
    }

    @Test
    void everyFlippedBitOfABlockIsDetected() {
        byte[] b = codec.encodeBlock(block);
        for (int bit = 0; bit < LeaseCodec.BLOCK_USED_BYTES * 8; bit++) {
            byte[] damaged = b.clone();
            damaged[bit / 8] ^= (byte) (1 << (bit % 8));
            assertThat(codec.decodeBlock(damaged, 0, 5)).as("bit %d", bit).isInstanceOf(BlockRead.Invalid.class);
        }
    }

    @Test
    void theLeaderRecordSurvivesItsCodecAndEveryFlippedBitIsDetected() {
        LeaderRecord r = new LeaderRecord(9, new Owner(4, 777), 1_790_000_000_000L);
        byte[] b = codec.encodeLeader(r);
        assertThat(codec.decodeLeader(b, 0)).isEqualTo(new LeaderRead.Valid(r));
        assertThat(new String(b, 0, 4, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("BLDR");
        for (int bit = 0; bit < LeaseCodec.LEADER_USED_BYTES * 8; bit++) {
            byte[] damaged = b.clone();
            damaged[bit / 8] ^= (byte) (1 << (bit % 8));
            assertThat(codec.decodeLeader(damaged, 0)).as("bit %d", bit).isInstanceOf(LeaderRead.Invalid.class);
        }
    }

    @Test
    void zerosAreEmptyAndABlockElsewhereIsMisplaced() {
        assertThat(codec.decodeBlock(new byte[4096], 0, 1)).isEqualTo(new BlockRead.Empty());
        assertThat(codec.decodeLeader(new byte[4096], 0)).isEqualTo(new LeaderRead.Empty());
        assertThat(codec.decodeBlock(codec.encodeBlock(block), 0, 6)).isInstanceOfSatisfying(BlockRead.Invalid.class,
                i -> assertThat(i.problem()).isEqualTo(SlotRead.Problem.MISPLACED));
        LeaseCodec otherCluster = new LeaseCodec(new UUID(9, 9), bench.key);
        assertThat(otherCluster.decodeBlock(codec.encodeBlock(block), 0, 5)).isInstanceOfSatisfying(BlockRead.Invalid.class,
                i -> assertThat(i.detail()).contains("of cluster"));
    }

    @Test
    void anotherKeyIsAMacProblemNotDamage() {
        byte[] k = new byte[ClusterKey.KEY_BYTES];
        k[0] = 1;
        LeaseCodec otherKey = new LeaseCodec(bench.clusterId, new ClusterKey(k));
        assertThat(otherKey.decodeBlock(codec.encodeBlock(block), 0, 5)).isInstanceOfSatisfying(BlockRead.Invalid.class,
                i -> assertThat(i.problem()).isEqualTo(SlotRead.Problem.MAC));
    }

    @Test
    void malformedBlocksAreNeverWritten() {
        assertThatThrownBy(() -> codec.encodeBlock(new LeaseBlock(5, 1, 1, 1, 64 + 4, 0, Owner.NONE, LeaseState.PREPARING,
                Owner.NONE, 0, 0))).hasMessageContaining("not one of node 5");
        assertThatThrownBy(() -> codec.encodeBlock(new LeaseBlock(5, 1, 1, 3, 69, 0, Owner.NONE, LeaseState.PREPARING,
                Owner.NONE, 0, 0))).hasMessageContaining("target");
        assertThatThrownBy(() -> codec.encodeBlock(new LeaseBlock(5, 1, 1, 1, 69, 69, new Owner(2, 1), LeaseState.OWNER,
                Owner.NONE, 0, 0))).hasMessageContaining("another owner");
        assertThatThrownBy(() -> codec.encodeBlock(block.written(0, 0))).hasMessageContaining("seq 0");
    }

    @Test
    void theLayoutStaysInTheReservedBlocks() {
        assertThat(LeaseLayout.LEADER_BLOCK).isEqualTo(64);
        assertThat(LeaseLayout.blockOfNode(1)).isEqualTo(65);
        assertThat(LeaseLayout.blockOfNode(32)).isEqualTo(96);
        assertThat(LeaseLayout.regionOffsetBytes(LeaseLayout.blockOfNode(32))).isEqualTo(96 * 4096L);
        assertThat(LeaseLayout.AREA_BYTES).isEqualTo(33 * 4096);
        assertThat(LeaseLayout.areaOffsetOfNode(3)).isEqualTo(3 * 4096);
        assertThatThrownBy(() -> LeaseLayout.blockOfNode(33)).isInstanceOf(IllegalArgumentException.class);
    }
}
