package baton.core.disk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.BitSet;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** Slot format version 3: the workload declaration (acknowledged table, active and failed-out sets, migrations). */
class SlotCodecWorkloadsTest {
    static final ClusterKey KEY = new ClusterKey(new byte[32]);
    static final UUID CLUSTER = new UUID(1, 2);
    static final SlotCodec CODEC = new SlotCodec(CLUSTER, KEY);
    static final List<Integer> IDS = List.of(1, 8, 9, DiskLayout.MAX_WORKLOADS);

    static Slot slot(SlotWorkloads w) {
        return new Slot(5, 1_795_000_000_000L, 77, 1_700_000_000_000L, SlotState.MEMBER, 0, w);
    }

    @Test
    void theWorkloadDeclarationRoundTrips() {
        SlotWorkloads w = SlotWorkloads.of(Long.MAX_VALUE, IDS, IDS);
        byte[] block = CODEC.encode(slot(w));
        var read = (SlotRead.Valid) CODEC.decode(block, 0, 5);
        assertThat(read.slot()).isEqualTo(slot(w));
        assertThat(read.slot().workloads().acknowledgedTable()).isEqualTo(Long.MAX_VALUE);
        assertThat(read.slot().workloads().activeIds()).containsExactlyElementsOf(IDS);
        assertThat(read.slot().workloads().failedOutIds()).containsExactlyElementsOf(IDS);
        assertThat(read.slot().workloads().active(8)).isTrue();
        assertThat(read.slot().workloads().active(7)).isFalse();
    }

    @Test
    void theBitsLieWhereTheFormatSays() {
        // Bit (id - 1) of byte (id - 1) / 8, LSB first: the active set at 64, the failed-out set at 96.
        byte[] block = CODEC.encode(slot(SlotWorkloads.of(0x0102030405060708L, List.of(1, 9), List.of(8, 248))));
        ByteBuffer b = ByteBuffer.wrap(block);
        assertThat(b.getShort(4)).isEqualTo((short) 3);
        assertThat(b.getLong(56)).isEqualTo(0x0102030405060708L);
        assertThat(block[64]).isEqualTo((byte) 0x01);
        assertThat(block[65]).isEqualTo((byte) 0x01);
        assertThat(block[96]).isEqualTo((byte) 0x80);
        assertThat(block[96 + 30]).isEqualTo((byte) 0x80); // id 248: bit 247 = byte 30, bit 7
        assertThat(block[96 + 31]).isZero();
    }

    @Test
    void anEmptyDeclarationRoundTripsAsNone() {
        byte[] block = CODEC.encode(slot(SlotWorkloads.NONE));
        var read = (SlotRead.Valid) CODEC.decode(block, 0, 5);
        assertThat(read.slot().workloads()).isEqualTo(SlotWorkloads.NONE);
        assertThat(read.slot().workloads().activeIds()).isEmpty();
        assertThat(read.slot().workloads().failedOutIds()).isEmpty();
        assertThat(new Slot(5, 1, 2, 3, SlotState.JOINING, 0).workloads()).isEqualTo(SlotWorkloads.NONE);
        for (int i = 56; i < 192; i++) {
            assertThat(block[i]).as("byte %d", i).isZero();
        }
    }

    @Test
    void everyFlippedBitOfTheUsedBytesIsDetected() {
        byte[] good = CODEC.encode(slot(SlotWorkloads.of(42, IDS, List.of(3, 200), List.of(MIGRATION))));
        assertThat(SlotCodec.USED_BYTES).isEqualTo(228);
        for (int bit = 0; bit < SlotCodec.USED_BYTES * 8; bit++) {
            byte[] b = good.clone();
            b[bit / 8] ^= (byte) (1 << (bit % 8));
            assertThat(CODEC.decode(b, 0, 5)).as("bit %d", bit).isInstanceOfSatisfying(SlotRead.Invalid.class,
                    i -> assertThat(i.problem()).isIn(SlotRead.Problem.CHECKSUM, SlotRead.Problem.FORMAT));
        }
    }

    @Test
    void aSlotOfAnOlderFormatVersionIsNotRead() {
        for (short old : new short[] {1, 2}) {
            byte[] good = CODEC.encode(slot(SlotWorkloads.NONE));
            ByteBuffer.wrap(good).putShort(4, old);
            reseal(good);
            assertThat(CODEC.decode(good, 0, 5)).as("version %d", old).isInstanceOfSatisfying(SlotRead.Invalid.class,
                    i -> assertThat(i.problem()).isEqualTo(SlotRead.Problem.FORMAT));
        }
    }

    static final SlotWorkloads.Migration MIGRATION = new SlotWorkloads.Migration(7, 0x01020304, SlotWorkloads.Phase.SENDING,
            SlotWorkloads.Failure.NONE);

    @Test
    void migrationsRoundTripAndLieWhereTheFormatSays() {
        List<SlotWorkloads.Migration> all = new java.util.ArrayList<>();
        for (int i = 1; i <= SlotWorkloads.MAX_MIGRATIONS; i++) {
            all.add(i % 2 == 0 ? new SlotWorkloads.Migration(i, -i, SlotWorkloads.Phase.FAILED, SlotWorkloads.Failure.DEADLINE)
                    : new SlotWorkloads.Migration(i, i, SlotWorkloads.Phase.RECEIVED, SlotWorkloads.Failure.NONE));
        }
        SlotWorkloads w = SlotWorkloads.of(9, List.of(1), List.of(), all);
        var read = (SlotRead.Valid) CODEC.decode(CODEC.encode(slot(w)), 0, 5);
        assertThat(read.slot().workloads().migrations()).containsExactlyElementsOf(all);
        assertThat(read.slot().workloads().migration(2, -2)).contains(all.get(1));
        assertThat(read.slot().workloads().migration(2, 2)).isEmpty();

        ByteBuffer b = ByteBuffer.wrap(CODEC.encode(slot(SlotWorkloads.of(0, List.of(), List.of(), List.of(MIGRATION)))));
        assertThat(b.getShort(128)).isEqualTo((short) 7);
        assertThat(b.get(130)).isEqualTo((byte) SlotWorkloads.Phase.SENDING.code);
        assertThat(b.get(131)).isZero();
        assertThat(b.getInt(132)).isEqualTo(0x01020304);
        assertThat(b.getLong(136)).isZero();
    }

    @Test
    void malformedMigrationEntriesAreAFormatProblemAndCannotBeDeclared() {
        // An entry after an unused one, an unknown phase or failure: well sealed, still not a valid slot.
        int[][] edits = {{136, 0, 9}, {130, 9, 0}, {131, 99, 0}};
        for (int[] e : edits) {
            byte[] block = CODEC.encode(slot(SlotWorkloads.of(0, List.of(), List.of(), List.of(MIGRATION))));
            if (e[0] == 136) {
                ByteBuffer.wrap(block).putShort(144, (short) e[2]); // entry 3 used while entry 2 is not
            } else {
                block[e[0]] = (byte) e[1];
            }
            reseal(block);
            assertThat(CODEC.decode(block, 0, 5)).as("edit at %d", e[0]).isInstanceOfSatisfying(SlotRead.Invalid.class,
                    i -> assertThat(i.problem()).isEqualTo(SlotRead.Problem.FORMAT));
        }
        assertThatThrownBy(() -> new SlotWorkloads.Migration(1, 0, SlotWorkloads.Phase.SENDING, SlotWorkloads.Failure.NONE))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new SlotWorkloads.Migration(1, 1, SlotWorkloads.Phase.FAILED, SlotWorkloads.Failure.NONE))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new SlotWorkloads.Migration(1, 1, SlotWorkloads.Phase.SENT, SlotWorkloads.Failure.DEADLINE))
                .isInstanceOf(IllegalArgumentException.class);
        List<SlotWorkloads.Migration> nine = new java.util.ArrayList<>();
        for (int i = 1; i <= SlotWorkloads.MAX_MIGRATIONS + 1; i++) {
            nine.add(new SlotWorkloads.Migration(i, 1, SlotWorkloads.Phase.SENDING, SlotWorkloads.Failure.NONE));
        }
        assertThatThrownBy(() -> SlotWorkloads.of(0, List.of(), List.of(), nine)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> SlotWorkloads.of(0, List.of(), List.of(), List.of(MIGRATION, MIGRATION)))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void idsOutsideOneToMaxWorkloadsCannotBeDeclared() {
        for (int bad : List.of(0, DiskLayout.MAX_WORKLOADS + 1, 256)) {
            assertThatThrownBy(() -> SlotWorkloads.of(1, List.of(bad), List.of())).as("active %d", bad)
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> SlotWorkloads.of(1, List.of(), List.of(bad))).as("failed out %d", bad)
                    .isInstanceOf(IllegalArgumentException.class);
        }
        assertThatThrownBy(() -> new SlotWorkloads(-1, new BitSet(), new BitSet())).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aWellSealedSlotDeclaringIdsAbove248IsAFormatProblem() {
        // Ids 249..256 fit the on-disk bitmap but not the layout: a block carrying one, correctly
        // sealed with the cluster key, must still not read as a valid slot.
        for (int at : List.of(64, 96)) {
            byte[] good = CODEC.encode(slot(SlotWorkloads.NONE));
            good[at + 31] = (byte) 0x01; // id 249
            reseal(good);
            assertThat(CODEC.decode(good, 0, 5)).as("set at %d", at).isInstanceOfSatisfying(SlotRead.Invalid.class,
                    i -> assertThat(i.problem()).isEqualTo(SlotRead.Problem.FORMAT));
        }
    }

    @Test
    void theDeclarationIsImmutable() {
        BitSet active = new BitSet();
        active.set(3);
        SlotWorkloads w = new SlotWorkloads(1, active, new BitSet());
        active.set(4);
        w.active().set(5);
        assertThat(w.activeIds()).containsExactly(3);
    }

    /** Recomputes the MAC and the CRC of a slot block edited by a test. */
    static void reseal(byte[] block) {
        System.arraycopy(KEY.mac(block, 0, SlotCodec.MAC_OFFSET), 0, block, SlotCodec.MAC_OFFSET, ClusterKey.MAC_BYTES);
        int crcAt = SlotCodec.MAC_OFFSET + ClusterKey.MAC_BYTES;
        ByteBuffer.wrap(block).putInt(crcAt, BlockBytes.crc32c(block, 0, crcAt));
    }
}
