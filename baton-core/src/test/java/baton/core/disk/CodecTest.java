package baton.core.disk;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.UUID;
import org.junit.jupiter.api.Test;

class CodecTest {
    static final ClusterKey KEY = new ClusterKey(new byte[32]);
    static final UUID CLUSTER = new UUID(1, 2);
    static final SlotCodec CODEC = new SlotCodec(CLUSTER, KEY);
    static final DiskHeader HEADER = new DiskHeader(1, Copy.SHADOW, CLUSTER, "prod-a", 4096, 32, 256, 1_700_000_000_000L, KEY.fingerprint());

    @Test
    void slotRoundTrips() {
        Slot s = new Slot(7, 1234, -1, 99, SlotState.MEMBER, Slot.FLAG_DEGRADED_DISK);
        assertThat(CODEC.decode(CODEC.encode(s), 0, 7)).isEqualTo(new SlotRead.Valid(s));
    }

    @Test
    void everyFlippedBitOfTheUsedBytesIsDetected() {
        byte[] block = CODEC.encode(new Slot(3, 5, 6, 7, SlotState.JOINING, 0));
        for (int i = 0; i < SlotCodec.USED_BYTES; i++) {
            for (int bit = 0; bit < 8; bit++) {
                byte[] b = block.clone();
                b[i] ^= (byte) (1 << bit);
                assertThat(CODEC.decode(b, 0, 3)).as("byte %d bit %d", i, bit).isInstanceOf(SlotRead.Invalid.class);
            }
        }
    }

    @Test
    void aSlotWrittenWithAnotherKeyFailsTheMacNotTheChecksum() {
        byte[] other = new byte[32];
        other[0] = 1;
        byte[] block = new SlotCodec(CLUSTER, new ClusterKey(other)).encode(new Slot(3, 5, 6, 7, SlotState.MEMBER, 0));
        assertThat(CODEC.decode(block, 0, 3)).isInstanceOfSatisfying(SlotRead.Invalid.class,
                i -> assertThat(i.problem()).isEqualTo(SlotRead.Problem.MAC));
    }

    @Test
    void aSlotInTheWrongPlaceOrOfAnotherClusterIsMisplaced() {
        byte[] block = CODEC.encode(new Slot(3, 5, 6, 7, SlotState.MEMBER, 0));
        assertThat(CODEC.decode(block, 0, 4)).isInstanceOfSatisfying(SlotRead.Invalid.class,
                i -> assertThat(i.problem()).isEqualTo(SlotRead.Problem.MISPLACED));
        assertThat(new SlotCodec(new UUID(9, 9), KEY).decode(block, 0, 3)).isInstanceOfSatisfying(SlotRead.Invalid.class,
                i -> assertThat(i.problem()).isEqualTo(SlotRead.Problem.MISPLACED));
    }

    @Test
    void zerosAreAnEmptySlot() {
        assertThat(CODEC.decode(new byte[4096], 0, 1)).isInstanceOf(SlotRead.Empty.class);
    }

    @Test
    void aTornWriteFailsTheChecksum() {
        byte[] oldBlock = CODEC.encode(new Slot(3, 5, 6, 7, SlotState.MEMBER, 0));
        byte[] newBlock = CODEC.encode(new Slot(3, 5, 7, 8, SlotState.MEMBER, 0));
        byte[] torn = oldBlock.clone();
        System.arraycopy(newBlock, 0, torn, 0, 40); // the first part of the write landed, the rest did not
        assertThat(CODEC.decode(torn, 0, 3)).isInstanceOfSatisfying(SlotRead.Invalid.class,
                i -> assertThat(i.problem()).isEqualTo(SlotRead.Problem.CHECKSUM));
    }

    @Test
    void headerRoundTripsAndEveryFlippedByteIsDetected() {
        byte[] block = HeaderCodec.encode(HEADER);
        assertThat(HeaderCodec.decode(block, 0)).isEqualTo(new HeaderRead.Valid(HEADER));
        for (int i = 0; i < 256; i++) {
            byte[] b = block.clone();
            b[i] ^= 0x01;
            assertThat(HeaderCodec.decode(b, 0)).as("byte %d", i).isNotInstanceOf(HeaderRead.Valid.class);
        }
    }

    @Test
    void headerVerdictsNameWhatWasFound() {
        assertThat(HeaderCodec.decode(new byte[4096], 0)).isInstanceOf(HeaderRead.Blank.class);
        byte[] ext4 = new byte[4096];
        ext4[1080 % 4096] = 0x53;
        assertThat(HeaderCodec.decode(ext4, 0)).isInstanceOf(HeaderRead.NotBaton.class);
        byte[] future = HeaderCodec.encode(HEADER);
        future[11] = 9;
        assertThat(HeaderCodec.decode(future, 0)).isEqualTo(new HeaderRead.UnknownVersion(9));
        byte[] corrupt = HeaderCodec.encode(HEADER);
        corrupt[40] ^= 1;
        assertThat(HeaderCodec.decode(corrupt, 0)).isInstanceOf(HeaderRead.Corrupt.class);
    }

    @Test
    void theTwoCopiesOfAHeaderDescribeTheSameDisk() {
        assertThat(HEADER.forCopy(Copy.PRIMARY).sameDisk(HEADER)).isTrue();
        assertThat(HEADER.forCopy(Copy.PRIMARY)).isNotEqualTo(HEADER);
    }
}
