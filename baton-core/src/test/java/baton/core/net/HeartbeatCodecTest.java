package baton.core.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import baton.core.disk.ClusterKey;
import baton.core.net.HeartbeatCodec.Decoded;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Set;
import java.util.UUID;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** The wire format byte by byte, the round trip, and every reason the codec drops a datagram for. */
class HeartbeatCodecTest {
    static final byte[] KEY_BYTES = HexFormat.of().parseHex(
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    static final ClusterKey KEY = new ClusterKey(KEY_BYTES);
    static final UUID CLUSTER = UUID.fromString("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
    static final Set<Integer> NODES = Set.of(1, 2, 3);

    /** Node {@code id} of a 3-node, 2-ring cluster. */
    static HeartbeatCodec node(int id) {
        return new HeartbeatCodec(CLUSTER, KEY, id, 2, NODES);
    }

    static byte[] beat(HeartbeatCodec sender, int ring, long incarnation, long seq) {
        byte[] out = new byte[HeartbeatCodec.PACKET_BYTES];
        sender.encode(out, ring, incarnation, seq);
        return out;
    }

    static DropReason rejection(Decoded decoded) {
        assertThat(decoded).isInstanceOf(Decoded.Rejected.class);
        return ((Decoded.Rejected) decoded).reason();
    }

    @Test
    void aBeatRoundTrips() {
        byte[] packet = beat(node(1), 1, 1_795_396_172_330L, 42);

        assertThat(node(2).decode(packet, packet.length, 1, 1))
                .isEqualTo(new Decoded.Authentic(new Beat(1, 1, 1_795_396_172_330L, 42)));
    }

    @Test
    void theBytesAreTheDocumentedFormat() throws Exception {
        byte[] p = beat(node(3), 1, 0x0102030405060708L, 0x1112131415161718L);

        assertThat(p).hasSize(60);
        ByteBuffer b = ByteBuffer.wrap(p); // big-endian
        assertThat(Arrays.copyOfRange(p, 0, 4)).isEqualTo("BHBT".getBytes(StandardCharsets.US_ASCII));
        assertThat(b.getShort(4)).isEqualTo((short) 1);
        assertThat(p[6]).isEqualTo((byte) 1);
        assertThat(p[7]).isEqualTo((byte) 3);
        assertThat(new UUID(b.getLong(8), b.getLong(16))).isEqualTo(CLUSTER);
        assertThat(p[8]).isEqualTo((byte) 0x0f); // most significant byte of the UUID first
        assertThat(b.getLong(24)).isEqualTo(0x0102030405060708L);
        assertThat(p[24]).isEqualTo((byte) 0x01);
        assertThat(b.getLong(32)).isEqualTo(0x1112131415161718L);

        // The MAC, computed independently with the JDK's HMAC: HKDF-Expand of the cluster key
        // gives the heartbeat key, whose HMAC over bytes 0..39 is truncated to 16 bytes.
        Mac hkdf = Mac.getInstance("HmacSHA256");
        hkdf.init(new SecretKeySpec(KEY_BYTES, "HmacSHA256"));
        hkdf.update("baton heartbeat v1".getBytes(StandardCharsets.US_ASCII));
        hkdf.update((byte) 1);
        byte[] heartbeatKey = hkdf.doFinal();
        assertThat(HeartbeatCodec.heartbeatKey(KEY)).isEqualTo(heartbeatKey);
        assertThat(heartbeatKey).isNotEqualTo(KEY_BYTES);
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(heartbeatKey, "HmacSHA256"));
        mac.update(p, 0, 44);
        assertThat(Arrays.copyOfRange(p, 44, 60)).isEqualTo(Arrays.copyOf(mac.doFinal(), 16));
    }

    @Test
    void aFixedBeatHasFixedBytes() {
        // A golden packet: any change to the format must change this test (and the version).
        byte[] p = beat(node(1), 0, 1, 1);
        assertThat(HexFormat.of().formatHex(p, 0, 44)).isEqualTo("42484254" + "0001" + "00" + "01"
                + "0f1e2d3c4b5a69788796a5b4c3d2e1f0" + "0000000000000001" + "0000000000000001" + "00000000");
    }

    @Test
    void theHeldDownSetTravelsUnderTheMac() {
        byte[] out = new byte[HeartbeatCodec.PACKET_BYTES];
        node(1).encode(out, 0, 7, 3, 0b110);
        assertThat(node(2).decode(out, out.length, 0, 1)).isEqualTo(new Decoded.Authentic(new Beat(0, 1, 7, 3, 0b110)));
        assertThat(new Beat(0, 1, 7, 3, 0b110).holdsDown(2)).isTrue();
        assertThat(new Beat(0, 1, 7, 3, 0b110).holdsDown(1)).isFalse();
        out[43] ^= 1; // someone clears or sets a bit on the way
        assertThat(node(2).decode(out, out.length, 0, 1)).isInstanceOf(Decoded.Rejected.class);
    }

    @Test
    void encodingReusesItsStateAndAllocatesNothing() {
        HeartbeatCodec codec = node(1);
        byte[] out = new byte[HeartbeatCodec.PACKET_BYTES];
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        for (int i = 1; i <= 20_000; i++) { // warm up: class loading, the JIT's first compilations
            codec.encode(out, i & 1, 7, i);
        }
        long before = threads.getCurrentThreadAllocatedBytes();
        int beats = 100_000;
        for (int i = 1; i <= beats; i++) {
            codec.encode(out, i & 1, 7, i);
        }
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;

        // Not exactly 0: the measurement itself may allocate a few bytes.
        assertThat(allocated).as("bytes allocated by %d encodes", beats).isLessThan(1024);
        assertThat(node(2).decode(out, out.length, beats & 1, 1))
                .isEqualTo(new Decoded.Authentic(new Beat(beats & 1, 1, 7, beats)));
    }

    @Test
    void encodingRefusesWhatNoReceiverWouldAccept() {
        byte[] out = new byte[HeartbeatCodec.PACKET_BYTES];
        assertThatThrownBy(() -> node(1).encode(out, 2, 1, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> node(1).encode(out, 0, 0, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> node(1).encode(out, 0, 1, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> node(1).encode(new byte[59], 0, 1, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new HeartbeatCodec(CLUSTER, KEY, 4, 1, NODES))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new HeartbeatCodec(CLUSTER, KEY, 1, 5, NODES))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Nested
    class Malformed {
        final byte[] good = beat(node(1), 0, 5, 9);

        @Test
        void wrongSizes() {
            HeartbeatCodec receiver = node(2);
            byte[] longer = Arrays.copyOf(good, 61);
            assertThat(rejection(receiver.decode(longer, 61, 0, 1))).isEqualTo(DropReason.WRONG_SIZE);
            assertThat(rejection(receiver.decode(good, 59, 0, 1))).isEqualTo(DropReason.WRONG_SIZE);
            assertThat(rejection(receiver.decode(good, 0, 0, 1))).isEqualTo(DropReason.WRONG_SIZE);
            assertThat(rejection(receiver.decode(new byte[10], 56, 0, 1))).isEqualTo(DropReason.WRONG_SIZE);
        }

        @Test
        void badMagic() {
            byte[] p = good.clone();
            p[3] = 'X';
            assertThat(rejection(node(2).decode(p, 60, 0, 1))).isEqualTo(DropReason.BAD_MAGIC);
        }

        @Test
        void badVersion() {
            byte[] p = good.clone();
            p[5] = 2;
            assertThat(rejection(node(2).decode(p, 60, 0, 1))).isEqualTo(DropReason.BAD_VERSION);
        }

        @Test
        void aRingTheClusterDoesNotHaveOrAnotherRingsSocket() {
            byte[] p = good.clone();
            p[6] = 2; // the cluster has rings 0 and 1
            assertThat(rejection(node(2).decode(p, 60, 2, 1))).isEqualTo(DropReason.WRONG_RING);
            // A genuine beat for ring 0 that arrived on ring 1's socket.
            assertThat(rejection(node(2).decode(good, 60, 1, 1))).isEqualTo(DropReason.WRONG_RING);
        }

        @Test
        void senderIdsOutside1To32() {
            for (int id : new int[] {0, 33, 255}) {
                byte[] p = good.clone();
                p[7] = (byte) id;
                assertThat(rejection(node(2).decode(p, 60, 0, id))).as("sender %d", id)
                        .isEqualTo(DropReason.BAD_SENDER_ID);
            }
        }

        @Test
        void fromOurselves() {
            byte[] p = beat(node(2), 0, 5, 9);
            assertThat(rejection(node(2).decode(p, 60, 0, 2))).isEqualTo(DropReason.FROM_SELF);
        }

        @Test
        void aSenderThatIsNotConfigured() {
            // Node 4 has the key (say, a node removed from the configuration but still running).
            HeartbeatCodec four = new HeartbeatCodec(CLUSTER, KEY, 4, 2, Set.of(1, 2, 3, 4));
            assertThat(rejection(node(2).decode(beat(four, 0, 5, 9), 60, 0, 4))).isEqualTo(DropReason.UNKNOWN_SENDER);
        }

        @Test
        void numbersBelowOne() {
            byte[] p = good.clone();
            Arrays.fill(p, 24, 32, (byte) 0);
            assertThat(rejection(node(2).decode(p, 60, 0, 1))).isEqualTo(DropReason.BAD_NUMBERS);
            byte[] q = good.clone();
            Arrays.fill(q, 32, 40, (byte) 0xff); // -1
            assertThat(rejection(node(2).decode(q, 60, 0, 1))).isEqualTo(DropReason.BAD_NUMBERS);
        }

        @Test
        void theWrongSourceAddress() {
            // Node 3's address sent a beat signed as node 1 (or no configured node's address did).
            assertThat(rejection(node(2).decode(good, 60, 0, 3))).isEqualTo(DropReason.WRONG_SOURCE);
            assertThat(rejection(node(2).decode(good, 60, 0, 0))).isEqualTo(DropReason.WRONG_SOURCE);
        }
    }

    @Test
    void aForeignClusterIsReportedAsSuchWithOurKeyOrAnother() {
        HeartbeatCodec foreign = new HeartbeatCodec(UUID.randomUUID(), KEY, 1, 2, NODES);
        byte[] otherKey = KEY_BYTES.clone();
        otherKey[0] ^= 1;
        HeartbeatCodec foreignWithItsKey = new HeartbeatCodec(UUID.randomUUID(), new ClusterKey(otherKey), 1, 2, NODES);

        assertThat(rejection(node(2).decode(beat(foreign, 0, 5, 9), 60, 0, 1))).isEqualTo(DropReason.FOREIGN_CLUSTER);
        assertThat(rejection(node(2).decode(beat(foreignWithItsKey, 0, 5, 9), 60, 0, 1)))
                .isEqualTo(DropReason.FOREIGN_CLUSTER);
    }

    @Test
    void anotherKeyIsForged() {
        byte[] otherKey = KEY_BYTES.clone();
        otherKey[31] ^= 1;
        HeartbeatCodec impostor = new HeartbeatCodec(CLUSTER, new ClusterKey(otherKey), 1, 2, NODES);

        assertThat(rejection(node(2).decode(beat(impostor, 0, 5, 9), 60, 0, 1))).isEqualTo(DropReason.FORGED);
    }

    @Test
    void everyFlippedBitIsDetected() {
        byte[] good = beat(node(1), 1, 5, 9);
        HeartbeatCodec receiver = node(2);
        for (int i = 0; i < HeartbeatCodec.PACKET_BYTES; i++) {
            for (int bit = 0; bit < 8; bit++) {
                byte[] p = good.clone();
                p[i] ^= (byte) (1 << bit);
                assertThat(receiver.decode(p, 60, 1, 1)).as("byte %d bit %d", i, bit)
                        .isInstanceOf(Decoded.Rejected.class);
            }
        }
        // A change of incarnation, sequence number or MAC can only be caught by the MAC.
        for (int i : new int[] {24, 31, 32, 39, 40, 43, 44, 59}) {
            byte[] p = good.clone();
            p[i] ^= 0x10;
            assertThat(rejection(receiver.decode(p, 60, 1, 1))).as("byte %d", i).isEqualTo(DropReason.FORGED);
        }
    }

    @Test
    void everyReasonHasAKindAndALabel() {
        assertThat(DropReason.OLD_INCARNATION.label()).isEqualTo("old-incarnation");
        assertThat(DropReason.WRONG_SOURCE.kind()).isEqualTo(DropReason.Kind.MALFORMED);
        assertThat(DropReason.TOO_OLD.kind()).isEqualTo(DropReason.Kind.REPLAYED);
        assertThat(DropReason.FORGED.kind()).isEqualTo(DropReason.Kind.FORGED);
        assertThat(DropReason.FOREIGN_CLUSTER.kind()).isEqualTo(DropReason.Kind.FOREIGN_CLUSTER);
    }
}
