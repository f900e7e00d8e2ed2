package baton.core.net;

import baton.core.disk.ClusterKey;
import baton.core.disk.DiskLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;

/**
 * The heartbeat datagram: encodes what this node sends, and decodes and authenticates what
 * it receives. Whether a beat is fresh is {@link ReplayGuard}'s question, asked after this one.
 *
 * <h2>Wire format, version 1</h2>
 * One UDP datagram of exactly {@value #PACKET_BYTES} bytes, all integers big-endian:
 *
 * <pre>
 * offset size field
 *      0    4 magic "BHBT" (0x42 0x48 0x42 0x54)
 *      4    2 format version (1)
 *      6    1 ring index (0..3): the network this beat was sent on
 *      7    1 sender node id (1..32)
 *      8   16 cluster id: the UUID in the quorum disk header, most significant 8 bytes first
 *     24    8 sender incarnation (at least 1; a rejoining node sends with a higher one)
 *     32    8 sequence number (at least 1; starts at 1 in each incarnation, +1 per tick,
 *            the same on every ring)
 *     40    4 held down: bit n-1 set when the sender holds node n "down" (membership); a
 *            node that finds its own bit set knows it must rejoin with a new incarnation
 *     44   16 MAC: the first 16 bytes of HMAC-SHA-256 over bytes 0..43, keyed with the
 *            heartbeat key (below)
 *     60      end
 * </pre>
 *
 * <h2>Why these choices</h2>
 * <ul>
 * <li><b>Fixed size, no options</b>: a receiver checks the length before it reads a field, and
 *     nothing in the packet sizes anything else.</li>
 * <li><b>Ring in the packet</b>, under the MAC: a beat captured on one network and replayed
 *     on another is dropped, so each ring proves its own path.</li>
 * <li><b>MAC truncated to 128 bits</b>, as RFC 2104 section 5 and NIST SP 800-107 allow (at
 *     least half the hash, at least 80 bits): forging one beat still takes about 2^127 guesses,
 *     each of them a datagram the receiver counts, and the whole packet stays within one cache
 *     line. Heartbeats need integrity, not secrecy, so nothing is encrypted.</li>
 * <li><b>Heartbeat key</b> = HKDF-Expand(cluster key, "baton heartbeat v1", 32) (RFC 5869;
 *     the cluster key is 32 random bytes, so it serves as the pseudorandom key without the
 *     Extract step). Keys are separated by purpose: a MAC from a disk slot can never pass as
 *     one of a heartbeat, or back.</li>
 * <li><b>Sequence number per incarnation</b>: receivers keep a sliding window per sender and
 *     ring (IPsec, RFC 4303 section 3.4.3; DTLS, RFC 6347 section 4.1.2.6), so every beat is
 *     accepted at most once; an incarnation older than the newest seen from that sender is a
 *     replay.</li>
 * </ul>
 * What a MAC and a window cannot stop: an attacker on the path can delay genuine beats it
 * captured and deliver them later (never more of them than the sender sent). The membership
 * therefore never trusts heartbeats alone: a node is declared failed from the disk and the
 * network together.
 *
 * <h2>Order of the checks</h2>
 * Size, magic, version, ring, sender id, numbers, source address, cluster id, MAC: cheap
 * structural checks first; the cluster id before the MAC so that a second cluster on the same
 * port (most likely with another key) is reported as foreign rather than as forged. Nothing
 * before the MAC changes any state, so the order decides only which reason is counted.
 *
 * <p>Not thread-safe (it holds the MAC's scratch state): one instance per thread.
 * {@link #encode} allocates nothing.
 */
public final class HeartbeatCodec {
    public static final int PACKET_BYTES = 60;
    /** Limit: rings per cluster, the most addresses a node may list. */
    public static final int MAX_RINGS = 4;
    public static final int VERSION = 1;
    static final byte[] MAGIC = {'B', 'H', 'B', 'T'};
    static final int VERSION_OFFSET = 4;
    static final int RING_OFFSET = 6;
    static final int SENDER_OFFSET = 7;
    static final int CLUSTER_OFFSET = 8;
    static final int INCARNATION_OFFSET = 24;
    static final int SEQ_OFFSET = 32;
    static final int HELD_DOWN_OFFSET = 40;
    static final int MAC_OFFSET = 44;
    public static final int MAC_BYTES = 16;
    static final String KEY_INFO = "baton heartbeat v1";

    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle SHORT = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.BIG_ENDIAN);

    /** What decoding found: an authentic beat (not yet checked for freshness) or a reason to drop it. */
    public sealed interface Decoded {
        record Authentic(Beat beat) implements Decoded {
            public Authentic {
                Objects.requireNonNull(beat, "beat");
            }
        }

        record Rejected(DropReason reason) implements Decoded {
            public Rejected {
                Objects.requireNonNull(reason, "reason");
            }
        }
    }

    /** One per reason, so that a flood of bad packets costs no garbage. */
    private static final Decoded.Rejected[] REJECTED = Arrays.stream(DropReason.values())
            .map(Decoded.Rejected::new).toArray(Decoded.Rejected[]::new);

    private final long clusterMost;
    private final long clusterLeast;
    private final int selfId;
    private final int ringCount;
    private final boolean[] configured = new boolean[DiskLayout.MAX_NODES + 1];
    private final HeartbeatMac mac;
    private final byte[] fullMac = new byte[HeartbeatMac.MAC_BYTES];

    /**
     * @param clusterId from the quorum disk header
     * @param selfId this node: the sender of what it encodes; beats claiming it are dropped
     * @param ringCount how many rings the cluster has (1..{@value #MAX_RINGS})
     * @param nodeIds every node of the configuration, this one included
     */
    public HeartbeatCodec(UUID clusterId, ClusterKey key, int selfId, int ringCount, Set<Integer> nodeIds) {
        if (ringCount < 1 || ringCount > MAX_RINGS) {
            throw new IllegalArgumentException("ring count " + ringCount + " outside 1.." + MAX_RINGS);
        }
        if (!nodeIds.contains(selfId)) {
            throw new IllegalArgumentException("node " + selfId + " is not among the configured " + nodeIds);
        }
        for (int id : nodeIds) {
            if (id < 1 || id > DiskLayout.MAX_NODES) {
                throw new IllegalArgumentException("node id " + id + " outside 1.." + DiskLayout.MAX_NODES);
            }
            configured[id] = true;
        }
        this.clusterMost = clusterId.getMostSignificantBits();
        this.clusterLeast = clusterId.getLeastSignificantBits();
        this.selfId = selfId;
        this.ringCount = ringCount;
        this.mac = new HeartbeatMac(heartbeatKey(key));
    }

    /** HKDF-Expand(cluster key, info, 32) = HMAC(cluster key, info || 0x01), RFC 5869 section 2.3. */
    static byte[] heartbeatKey(ClusterKey key) {
        byte[] info = KEY_INFO.getBytes(StandardCharsets.US_ASCII);
        byte[] input = Arrays.copyOf(info, info.length + 1);
        input[info.length] = 1;
        return key.mac(input);
    }

    public int selfId() {
        return selfId;
    }

    public int ringCount() {
        return ringCount;
    }

    /**
     * Writes this node's beat number {@code seq} of {@code incarnation} for {@code ring} to
     * {@code out[0, PACKET_BYTES)}. Allocates nothing.
     */
    public void encode(byte[] out, int ring, long incarnation, long seq) {
        encode(out, ring, incarnation, seq, 0);
    }

    /** As {@link #encode(byte[], int, long, long)}, with the bitmap of the nodes this node holds down. */
    public void encode(byte[] out, int ring, long incarnation, long seq, int heldDown) {
        if (ring < 0 || ring >= ringCount || incarnation < 1 || seq < 1 || out.length < PACKET_BYTES) {
            throw new IllegalArgumentException("cannot encode ring " + ring + " incarnation " + incarnation + " seq "
                    + seq + " into " + out.length + " bytes");
        }
        System.arraycopy(MAGIC, 0, out, 0, MAGIC.length);
        SHORT.set(out, VERSION_OFFSET, (short) VERSION);
        out[RING_OFFSET] = (byte) ring;
        out[SENDER_OFFSET] = (byte) selfId;
        LONG.set(out, CLUSTER_OFFSET, clusterMost);
        LONG.set(out, CLUSTER_OFFSET + 8, clusterLeast);
        LONG.set(out, INCARNATION_OFFSET, incarnation);
        LONG.set(out, SEQ_OFFSET, seq);
        INT.set(out, HELD_DOWN_OFFSET, heldDown);
        mac.mac(out, 0, MAC_OFFSET, fullMac, 0);
        System.arraycopy(fullMac, 0, out, MAC_OFFSET, MAC_BYTES);
    }

    /**
     * Decodes and authenticates the datagram {@code in[0, length)}.
     *
     * @param arrivedOnRing the ring whose socket received it
     * @param sourceNodeId the node configured at the datagram's source address and port on that
     *     ring, or 0 when none is (the shell looks it up: addresses are not the core's business)
     */
    public Decoded decode(byte[] in, int length, int arrivedOnRing, int sourceNodeId) {
        if (length != PACKET_BYTES || in.length < PACKET_BYTES) {
            return rejected(DropReason.WRONG_SIZE);
        }
        if (!Arrays.equals(in, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
            return rejected(DropReason.BAD_MAGIC);
        }
        if (((short) SHORT.get(in, VERSION_OFFSET) & 0xffff) != VERSION) {
            return rejected(DropReason.BAD_VERSION);
        }
        int ring = in[RING_OFFSET] & 0xff;
        if (ring >= ringCount || ring != arrivedOnRing) {
            return rejected(DropReason.WRONG_RING);
        }
        int sender = in[SENDER_OFFSET] & 0xff;
        if (sender < 1 || sender > DiskLayout.MAX_NODES) {
            return rejected(DropReason.BAD_SENDER_ID);
        }
        if (sender == selfId) {
            return rejected(DropReason.FROM_SELF);
        }
        if (!configured[sender]) {
            return rejected(DropReason.UNKNOWN_SENDER);
        }
        long incarnation = (long) LONG.get(in, INCARNATION_OFFSET);
        long seq = (long) LONG.get(in, SEQ_OFFSET);
        if (incarnation < 1 || seq < 1) {
            return rejected(DropReason.BAD_NUMBERS);
        }
        if (sender != sourceNodeId) {
            return rejected(DropReason.WRONG_SOURCE);
        }
        if ((long) LONG.get(in, CLUSTER_OFFSET) != clusterMost || (long) LONG.get(in, CLUSTER_OFFSET + 8) != clusterLeast) {
            return rejected(DropReason.FOREIGN_CLUSTER);
        }
        mac.mac(in, 0, MAC_OFFSET, fullMac, 0);
        if (!equalInConstantTime(fullMac, in, MAC_OFFSET, MAC_BYTES)) {
            return rejected(DropReason.FORGED);
        }
        return new Decoded.Authentic(new Beat(ring, sender, incarnation, seq, (int) INT.get(in, HELD_DOWN_OFFSET)));
    }

    /**
     * Compares all bytes whatever the first difference, so that the time taken does not tell
     * an attacker how many leading bytes of a guessed MAC were right.
     */
    private static boolean equalInConstantTime(byte[] expected, byte[] actual, int offset, int length) {
        int difference = 0;
        for (int i = 0; i < length; i++) {
            difference |= expected[i] ^ actual[offset + i];
        }
        return difference == 0;
    }

    private static Decoded.Rejected rejected(DropReason reason) {
        return REJECTED[reason.ordinal()];
    }
}
