package baton.runtime.net;

import static baton.runtime.net.Loopback.CLUSTER;
import static baton.runtime.net.Loopback.KEY;
import static baton.runtime.net.Loopback.assertCountsAddUp;
import static baton.runtime.net.Loopback.await;
import static baton.runtime.net.Loopback.ip;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import baton.core.disk.ClusterKey;
import baton.core.net.Beat;
import baton.core.net.DropReason;
import baton.core.net.HeartbeatCodec;
import baton.core.timing.Timeouts;
import baton.runtime.config.ClusterConfig;
import baton.runtime.config.NodeConfig;
import baton.runtime.net.Loopback.Heard;
import baton.runtime.net.Loopback.Pair;
import baton.runtime.net.Loopback.RecordingSink;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * Real sockets on loopback: two services hear each other on both rings; an impostor's
 * packets are counted and never reported; the send path allocates nothing; a late send thread
 * says so; close ends every thread and frees every socket. Waits are bounded by
 * {@link Loopback#WAIT_MILLIS} and assert what happens, never how fast.
 */
class HeartbeatServiceTest {
    /** The fastest interval the configuration allows, so that tests see many beats soon. */
    static final Timeouts FAST = new Timeouts(200, 4, 10, 8);

    @Test
    void twoNodesHearEachOtherOnBothRings() throws Exception {
        try (Pair pair = Pair.start(Timeouts.DEFAULTS, null, 1_000)) {
            await("node 1 and node 2 to hear each other on both rings", () ->
                    pair.oneHeard().heardOnRing(2, 0) && pair.oneHeard().heardOnRing(2, 1)
                            && pair.twoHeard().heardOnRing(1, 0) && pair.twoHeard().heardOnRing(1, 1));

            for (int ring = 0; ring < 2; ring++) {
                List<Heard> atTwo = pair.twoHeard().onRing(ring);
                assertThat(atTwo).allSatisfy(h -> {
                    assertThat(h.senderId()).isEqualTo(1);
                    assertThat(h.incarnation()).isEqualTo(1_000);
                });
                // One number per tick, the same on every ring; each accepted once.
                assertThat(atTwo).extracting(Heard::seq).doesNotHaveDuplicates().isSorted();
                assertThat(pair.oneHeard().onRing(ring)).extracting(Heard::incarnation).containsOnly(2_000L);
            }
            HeartbeatStats one = pair.one().stats();
            assertThat(one.rings()).extracting(HeartbeatStats.Ring::address)
                    .containsExactly("127.0.0.1:" + pair.port(), "127.0.0.3:" + pair.port());
            assertThat(one.rings()).allSatisfy(r -> {
                assertThat(r.sent()).isPositive();
                assertThat(r.accepted()).isPositive();
                assertThat(r.droppedTotal()).isZero();
            });
            assertThat(one.failure()).isEmpty();
            assertCountsAddUp(one);
        }
    }

    /**
     * Node 3 is configured but does not run; an impostor with the cluster key binds its
     * addresses and sends every kind of packet to node 1, among its two real peers.
     */
    @Test
    void forgedReplayedAndMalformedPacketsAreCountedAndNeverReported() throws Exception {
        try (Pair pair = Pair.start(Timeouts.DEFAULTS, null, 1_000);
                DatagramChannel ring0 = DatagramChannel.open();
                DatagramChannel ring1 = DatagramChannel.open();
                DatagramChannel elsewhere = DatagramChannel.open()) {
            int port = pair.port();
            ring0.bind(new InetSocketAddress(ip("127.0.0.5"), port));
            ring1.bind(new InetSocketAddress(ip("127.0.0.6"), port));
            elsewhere.bind(new InetSocketAddress(ip("127.0.0.7"), port));
            InetSocketAddress oneRing0 = new InetSocketAddress(ip("127.0.0.1"), port);
            InetSocketAddress oneRing1 = new InetSocketAddress(ip("127.0.0.3"), port);
            HeartbeatCodec three = new HeartbeatCodec(CLUSTER, KEY, 3, 2, Set.of(1, 2, 3));
            byte[] otherKey = new byte[32];
            otherKey[0] = 9;
            HeartbeatCodec forger = new HeartbeatCodec(CLUSTER, new ClusterKey(otherKey), 3, 2, Set.of(1, 2, 3));
            HeartbeatCodec foreign = new HeartbeatCodec(UUID.randomUUID(), KEY, 3, 2, Set.of(1, 2, 3));

            byte[] first = beat(three, 0, 5, 10);
            send(ring0, first, oneRing0);                        // accepted
            send(ring0, first, oneRing0);                        // replayed
            send(ring0, beat(three, 0, 5, 12), oneRing0);        // accepted
            send(ring0, beat(three, 0, 5, 11), oneRing0);        // late, within the window: accepted
            send(ring0, beat(three, 0, 5, 11), oneRing0);        // ... once
            send(ring0, beat(three, 0, 5, 100), oneRing0);       // accepted
            send(ring0, beat(three, 0, 5, 20), oneRing0);        // too old
            send(ring0, beat(forger, 0, 5, 101), oneRing0);      // forged
            send(ring0, beat(foreign, 0, 5, 102), oneRing0);     // foreign cluster
            send(ring0, new byte[10], oneRing0);                 // wrong size
            send(ring0, beat(three, 0, 6, 1), oneRing0);         // a new incarnation: accepted
            send(ring0, beat(three, 0, 5, 103), oneRing0);       // the old one is now a replay
            // Ring 1 has its own receive thread; had it seen incarnation 6 first, ring 0 would
            // (rightly) drop all of incarnation 5 above as replays.
            await(() -> "ring 0 to take in the impostor's packets; counted " + pair.one().stats(),
                    () -> fromThree(pair.oneHeard()).size() >= 5
                            && pair.one().stats().rings().getFirst().droppedTotal() >= 7);
            send(ring1, beat(three, 0, 6, 2), oneRing1);         // a ring-0 beat on ring 1
            send(ring1, beat(three, 1, 6, 1), oneRing1);         // accepted: ring 1 has its own window
            send(elsewhere, beat(three, 0, 6, 3), oneRing0);     // not from node 3's address

            Map<DropReason, Long> expected = new EnumMap<>(DropReason.class);
            expected.put(DropReason.REPLAYED, 2L);
            expected.put(DropReason.TOO_OLD, 1L);
            expected.put(DropReason.FORGED, 1L);
            expected.put(DropReason.FOREIGN_CLUSTER, 1L);
            expected.put(DropReason.WRONG_SIZE, 1L);
            expected.put(DropReason.OLD_INCARNATION, 1L);
            expected.put(DropReason.WRONG_RING, 1L);
            expected.put(DropReason.WRONG_SOURCE, 1L);
            await(() -> "node 1 to count 9 drops and to hear node 3 six times; counted "
                    + pair.one().stats() + ", heard " + fromThree(pair.oneHeard()), () ->
                    pair.one().stats().droppedByReason().values().stream().mapToLong(Long::longValue).sum() >= 9
                            && fromThree(pair.oneHeard()).size() >= 6);

            assertThat(pair.one().stats().droppedByReason()).isEqualTo(expected);
            assertThat(fromThree(pair.oneHeard())).containsExactly(new Beat(0, 3, 5, 10), new Beat(0, 3, 5, 12),
                    new Beat(0, 3, 5, 11), new Beat(0, 3, 5, 100), new Beat(0, 3, 6, 1), new Beat(1, 3, 6, 1));
            // The real peers were not disturbed, and node 2 saw none of it.
            assertThat(pair.oneHeard().heardOnRing(2, 0)).isTrue();
            assertThat(pair.two().stats().droppedByReason()).isEmpty();
            assertCountsAddUp(pair.one().stats());

            // What the impostor receives from its peers are genuine beats, in the documented format.
            ring0.configureBlocking(false);
            ByteBuffer in = ByteBuffer.allocate(100);
            InetSocketAddress[] source = new InetSocketAddress[1];
            await("a beat at the impostor", () -> {
                try {
                    in.clear();
                    source[0] = (InetSocketAddress) ring0.receive(in);
                    return source[0] != null;
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            InetSocketAddress twoRing0 = new InetSocketAddress(ip("127.0.0.2"), port);
            assertThat(source[0]).isIn(oneRing0, twoRing0);
            HeartbeatCodec.Decoded decoded = three.decode(in.array(), in.position(), 0,
                    source[0].equals(oneRing0) ? 1 : 2);
            assertThat(decoded).isInstanceOf(HeartbeatCodec.Decoded.Authentic.class);
        }
    }

    static List<Beat> fromThree(RecordingSink sink) {
        return sink.heard.stream().filter(h -> h.senderId() == 3)
                .map(h -> new Beat(h.ring(), h.senderId(), h.incarnation(), h.seq())).toList();
    }

    static byte[] beat(HeartbeatCodec codec, int ring, long incarnation, long seq) {
        byte[] packet = new byte[HeartbeatCodec.PACKET_BYTES];
        codec.encode(packet, ring, incarnation, seq);
        return packet;
    }

    static void send(DatagramChannel from, byte[] packet, InetSocketAddress to) throws IOException {
        assertThat(from.send(ByteBuffer.wrap(packet), to)).isEqualTo(packet.length);
    }

    /** A sink that allocates nothing either, should a tick come late on a busy machine. */
    static final HeartbeatSink QUIET = new HeartbeatSink() {
        @Override
        public void heard(long nowNanos, int ring, int senderId, long senderIncarnation, long seq, int heldDown) {}

        @Override
        public void selfLate(long nowNanos, long latenessNanos) {}
    };

    /**
     * The send thread itself, over hundreds of ticks. A one-time allocation may show up when
     * the JIT installs a new version of the loop (measured: 0 to about 600 bytes, once); an
     * allocation per tick, even of the smallest object (16 bytes), would exceed the bound.
     */
    @Test
    void theSendThreadAllocatesNothingPerTick() throws Exception {
        try (Pair pair = Pair.start(FAST, QUIET, 1_000)) {
            var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
            long id = pair.one().sender().threadId();
            await("100 ticks of warm-up", () -> pair.one().stats().ticks().ticks() >= 100);
            long bytesBefore = threads.getThreadAllocatedBytes(id);
            long ticksBefore = pair.one().stats().ticks().ticks();
            long sentBefore = pair.one().stats().sent();
            await("300 more ticks", () -> pair.one().stats().ticks().ticks() >= ticksBefore + 300);
            long bytesAfter = threads.getThreadAllocatedBytes(id);
            HeartbeatStats stats = pair.one().stats();
            long ticks = stats.ticks().ticks() - ticksBefore;
            long datagrams = stats.sent() - sentBefore;

            long allocated = bytesAfter - bytesBefore;
            System.out.printf("heartbeat send thread: %d bytes allocated over %d ticks (%d datagrams, 2 rings x 2"
                    + " peers): %.3f bytes per tick; tick lateness p50 %d us, p99 %d us, max %d us%n", allocated, ticks,
                    datagrams, (double) allocated / ticks, stats.ticks().p50Nanos() / 1000,
                    stats.ticks().p99Nanos() / 1000, stats.ticks().maxNanos() / 1000);
            assertThat(bytesBefore).isPositive(); // the measurement works: the thread's set-up allocated
            assertThat(datagrams).isPositive();
            assertThat(allocated).as("bytes allocated by the send thread over %d ticks", ticks).isLessThan(8 * ticks);
        }
    }

    /**
     * The same code as the send thread's ticks (encode, MAC, a datagram to every peer on every
     * ring), driven directly, many thousands of times, so that the JIT has compiled it. The send
     * thread is held in a stall meanwhile: two threads sending on one socket contend for its
     * lock, which allocates; the send thread alone never does.
     */
    @Test
    void aTickAllocatesNothingOnceCompiled() throws Exception {
        try (Pair pair = Pair.start(Timeouts.DEFAULTS, QUIET, 1_000)) {
            pair.one().stallNextTick(3_600_000_000_000L);
            await("the send thread to stall", pair.one()::stallBegun);
            HeartbeatService.Beater beater = pair.one().beaterForTest();
            var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
            long seq = 1_000_000; // far above the send thread's numbers: every beat here is fresh
            // Windows of ticks until two in a row allocate nothing at all: the first windows pay
            // for class initialisation and the JIT's transitions (each once), then none may.
            int ticksPerWindow = 10_000;
            List<Long> windows = new ArrayList<>();
            while (windows.size() < 2 || windows.get(windows.size() - 1) + windows.get(windows.size() - 2) > 0) {
                assertThat(windows).as("bytes allocated per window of %d ticks", ticksPerWindow).hasSizeLessThan(40);
                long before = threads.getCurrentThreadAllocatedBytes();
                for (int i = 0; i < ticksPerWindow; i++) {
                    beater.beat(1_000, seq++);
                }
                windows.add(threads.getCurrentThreadAllocatedBytes() - before);
            }
            System.out.printf("heartbeat tick, driven directly: bytes allocated per window of %d ticks (%d datagrams):"
                    + " %s%n", ticksPerWindow, ticksPerWindow * 4, windows);
        }
    }

    @Test
    void aLateSendThreadReportsItselfAndSkipsTheMissedBeats() throws Exception {
        try (Pair pair = Pair.start(Timeouts.DEFAULTS, null, 1_000)) {
            await("the first beats", () -> pair.one().stats().ticks().ticks() >= 3);
            long stall = 1_000_000_000L; // over the threshold: half of the 800 ms network timeout
            pair.one().stallNextTick(stall);

            await("the late tick to be reported", () -> pair.oneHeard().late.stream()
                    .anyMatch(l -> l.latenessNanos() >= stall));
            // The report comes before that tick's beat; the skipped deadlines are counted right after it.
            await("the skipped deadlines to be counted", () -> pair.one().stats().ticks().skippedTicks() >= 10);
            HeartbeatStats.Ticks ticks = pair.one().stats().ticks();
            assertThat(ticks.lateThresholdNanos()).isEqualTo(400_000_000L);
            assertThat(ticks.lateTicks()).isGreaterThanOrEqualTo(1);
            assertThat(ticks.maxNanos()).isGreaterThanOrEqualTo(stall);
            // Woken at least 10 intervals late: the 10 or more deadlines in between are skipped,
            // and the beats go on one per tick, numbered without gaps.
            assertThat(ticks.skippedTicks()).isGreaterThanOrEqualTo(10);
            long ticksNow = ticks.ticks();
            await("two more beats at node 2", () -> pair.twoHeard().onRing(0).stream()
                    .anyMatch(h -> h.seq() >= ticksNow + 2));
            List<Long> seqs = pair.twoHeard().onRing(0).stream().map(Heard::seq).toList();
            for (int i = 1; i < seqs.size(); i++) {
                assertThat(seqs.get(i)).as("beat after %d", seqs.get(i - 1)).isEqualTo(seqs.get(i - 1) + 1);
            }
        }
    }

    @Test
    void aNewIncarnationRestartsTheNumbersAtOne() throws Exception {
        try (Pair pair = Pair.start(FAST, null, 1_000)) {
            await("beats of incarnation 1000", () -> pair.twoHeard().onRing(1).size() >= 5);
            pair.one().setIncarnation(1_001);

            await("beats of incarnation 1001 on both rings", () -> pair.twoHeard().heard.stream()
                    .filter(h -> h.incarnation() == 1_001).map(Heard::ring).distinct().count() == 2);
            for (int ring = 0; ring < 2; ring++) {
                assertThat(pair.twoHeard().onRing(ring).stream().filter(h -> h.incarnation() == 1_001).findFirst())
                        .map(Heard::seq).contains(1L);
            }
            assertThat(pair.one().incarnation()).isEqualTo(1_001);
            assertThatThrownBy(() -> pair.one().setIncarnation(1_001)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> pair.one().setIncarnation(999)).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void closeEndsEveryThreadAndFreesEverySocket() throws Exception {
        Pair pair = Pair.start(FAST, null, 1_000);
        await("beats", () -> pair.twoHeard().heardOnRing(1, 1));
        List<Thread> threads = pair.one().threads();
        assertThat(threads).hasSize(3).allMatch(Thread::isAlive);
        assertThat(threads).extracting(Thread::getName).containsExactly("baton-hb-send",
                "baton-hb-recv-0", "baton-hb-recv-1");
        assertThat(pair.one().sender().getPriority()).isEqualTo(Thread.MAX_PRIORITY);

        pair.close();
        pair.close(); // idempotent

        assertThat(threads).noneMatch(Thread::isAlive);
        assertThat(pair.one().threads()).noneMatch(Thread::isAlive);
        assertThat(pair.one().socketsOpen()).isFalse();
        assertThat(pair.two().socketsOpen()).isFalse();
        // The ports are free again at once.
        List<DatagramChannel> rebound = new ArrayList<>();
        try {
            for (String address : List.of("127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4")) {
                DatagramChannel c = DatagramChannel.open();
                rebound.add(c);
                c.bind(new InetSocketAddress(ip(address), pair.port()));
            }
        } finally {
            for (DatagramChannel c : rebound) {
                c.close();
            }
        }
        // Counters stay readable, and stop.
        long sent = pair.one().stats().sent();
        Thread.sleep(50);
        assertThat(pair.one().stats().sent()).isEqualTo(sent);
        assertThatThrownBy(() -> pair.one().start()).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void anAddressThisHostDoesNotHaveFailsTheStartAndLeavesNothingOpen() throws Exception {
        int port = Loopback.freePort();
        ClusterConfig config = Loopback.config(port, Timeouts.DEFAULTS);
        // Ring 0 binds, ring 1 cannot: 198.18.0.1 (a benchmarking address) is not on this host.
        NodeConfig self = new NodeConfig(1, "node-1", List.of(ip("127.0.0.1"), ip("198.18.0.1")));
        ClusterConfig withSelf = new ClusterConfig(config.file(), config.clusterName(), config.keyFile(),
                List.of(self, config.node(2).orElseThrow()), config.quorumDisk(), config.timeouts(), port);
        HeartbeatService service = new HeartbeatService(withSelf, self, CLUSTER, KEY, 1, new RecordingSink());

        assertThatThrownBy(service::start).isInstanceOf(IOException.class)
                .hasMessageContaining("ring 1: cannot bind the heartbeat socket to 198.18.0.1:" + port)
                .hasMessageContaining("fix: ");
        assertThat(service.socketsOpen()).isFalse();
        assertThat(service.threads()).isEmpty();
        try (DatagramChannel c = DatagramChannel.open()) {
            c.bind(new InetSocketAddress(ip("127.0.0.1"), port)); // ring 0's socket was closed again
        }
        service.close();
    }

    @Test
    void aSinkThatThrowsIsABrokenInvariantShownInTheStats() throws Exception {
        HeartbeatSink broken = new HeartbeatSink() {
            @Override
            public void heard(long nowNanos, int ring, int senderId, long senderIncarnation, long seq, int heldDown) {
                throw new IllegalStateException("sink bug (expected by this test)");
            }

            @Override
            public void selfLate(long nowNanos, long latenessNanos) {}
        };
        Thread.UncaughtExceptionHandler handler = Thread.getDefaultUncaughtExceptionHandler();
        Thread.setDefaultUncaughtExceptionHandler((t, e) -> {}); // keep the expected stack traces out of the log
        try (Pair pair = Pair.start(FAST, broken, 1_000)) {
            await("the failure", () -> pair.one().stats().failure().isPresent());
            assertThat(pair.one().stats().failure().orElseThrow()).contains("baton-hb-recv-")
                    .contains("sink bug");
        } finally {
            Thread.setDefaultUncaughtExceptionHandler(handler);
        }
    }

    @Test
    void addressesAreShownAsHostAndPort() {
        assertThat(HeartbeatService.hostAndPort(new InetSocketAddress(ip("198.18.0.1"), 7410)))
                .isEqualTo("198.18.0.1:7410");
        assertThat(HeartbeatService.hostAndPort(new InetSocketAddress(ip("fd00::1"), 7410)))
                .isEqualTo("[fd00:0:0:0:0:0:0:1]:7410");
    }

    @Test
    void theServiceRefusesWhatItCannotServe() {
        ClusterConfig config = Loopback.config(7410, Timeouts.DEFAULTS);
        NodeConfig stranger = new NodeConfig(9, "node-9", List.of(ip("127.0.0.9"), ip("127.0.0.10")));
        RecordingSink sink = new RecordingSink();
        assertThatThrownBy(() -> new HeartbeatService(config, stranger, CLUSTER, KEY, 1, sink))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new HeartbeatService(config, config.node(1).orElseThrow(), CLUSTER, KEY, 0, sink))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
