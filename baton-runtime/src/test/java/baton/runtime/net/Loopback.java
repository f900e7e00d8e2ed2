package baton.runtime.net;

import static org.assertj.core.api.Assertions.assertThat;

import baton.core.disk.ClusterKey;
import baton.core.timing.Timeouts;
import baton.runtime.config.ClusterConfig;
import baton.runtime.config.NodeConfig;
import baton.runtime.config.QuorumDiskConfig;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.DatagramChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * A two-node, two-ring cluster on loopback addresses: node 1 at 127.0.0.1 (ring 0) and
 * 127.0.0.3 (ring 1), node 2 at 127.0.0.2 and 127.0.0.4. Node 3 (127.0.0.5, 127.0.0.6) is
 * configured but never runs. The port is picked free below the ephemeral range.
 */
final class Loopback {
    static final ClusterKey KEY = new ClusterKey(new byte[] {
            1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
            17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32});
    static final UUID CLUSTER = UUID.fromString("6d1f7a52-0b8e-4c55-9d2b-3f1c0e7a9b41");
    /** Limit of every wait in these tests: generous, since they assert behaviour, not speed. */
    static final long WAIT_MILLIS = 15_000;

    private static final Random PORTS = new Random();

    private Loopback() {}

    static InetAddress ip(String literal) {
        return InetAddress.ofLiteral(literal);
    }

    static ClusterConfig config(int port, Timeouts timeouts) {
        List<NodeConfig> nodes = List.of(
                new NodeConfig(1, "node-1", List.of(ip("127.0.0.1"), ip("127.0.0.3"))),
                new NodeConfig(2, "node-2", List.of(ip("127.0.0.2"), ip("127.0.0.4"))),
                new NodeConfig(3, "node-3", List.of(ip("127.0.0.5"), ip("127.0.0.6"))));
        return new ClusterConfig(Path.of("/etc/baton/cluster.yaml"), "demo", Path.of("/etc/baton/cluster.key"), nodes,
                new QuorumDiskConfig(Path.of("/q.img"), null), timeouts, port);
    }

    /** A port free on every address of the cluster right now (another test may still take it: callers retry). */
    static int freePort() {
        for (int attempt = 0; attempt < 100; attempt++) {
            int port = 20_000 + PORTS.nextInt(10_000);
            List<DatagramChannel> probes = new ArrayList<>();
            try {
                for (int last = 1; last <= 7; last++) {
                    DatagramChannel c = DatagramChannel.open();
                    probes.add(c);
                    c.bind(new InetSocketAddress(ip("127.0.0." + last), port));
                }
                return port;
            } catch (IOException e) {
                // taken: try another
            } finally {
                for (DatagramChannel c : probes) {
                    try {
                        c.close();
                    } catch (IOException ignored) {
                        // a probe that cannot be closed is closed by the JVM's exit at the latest
                    }
                }
            }
        }
        throw new IllegalStateException("no free UDP port found on 127.0.0.1-7");
    }

    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        await(() -> what, condition);
    }

    /** Waits for {@code condition}; {@code what} is asked only on timeout, to say what was seen. */
    static void await(Supplier<String> what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT_MILLIS * 1_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out after " + WAIT_MILLIS + " ms waiting for " + what.get());
            }
            Thread.sleep(5);
        }
    }

    /** What a sink was told. */
    record Heard(long nowNanos, int ring, int senderId, long incarnation, long seq) {}

    record Late(long nowNanos, long latenessNanos) {}

    static final class RecordingSink implements HeartbeatSink {
        final ConcurrentLinkedQueue<Heard> heard = new ConcurrentLinkedQueue<>();
        final ConcurrentLinkedQueue<Late> late = new ConcurrentLinkedQueue<>();

        @Override
        public void heard(long nowNanos, int ring, int senderId, long senderIncarnation, long seq, int heldDown) {
            heard.add(new Heard(nowNanos, ring, senderId, senderIncarnation, seq));
        }

        @Override
        public void selfLate(long nowNanos, long latenessNanos) {
            late.add(new Late(nowNanos, latenessNanos));
        }

        boolean heardOnRing(int senderId, int ring) {
            return heard.stream().anyMatch(h -> h.senderId() == senderId && h.ring() == ring);
        }

        List<Heard> onRing(int ring) {
            return heard.stream().filter(h -> h.ring() == ring).toList();
        }
    }

    /** Node 1 and node 2 started on one free port; retried when another process takes the port first. */
    record Pair(HeartbeatService one, RecordingSink oneHeard, HeartbeatService two, RecordingSink twoHeard, int port)
            implements AutoCloseable {
        static Pair start(Timeouts timeouts, HeartbeatSink oneSink, long oneIncarnation) throws Exception {
            IOException last = null;
            for (int attempt = 0; attempt < 10; attempt++) {
                int port = freePort();
                ClusterConfig config = config(port, timeouts);
                RecordingSink oneRecorded = oneSink instanceof RecordingSink r ? r : new RecordingSink();
                RecordingSink twoRecorded = new RecordingSink();
                HeartbeatService one = new HeartbeatService(config, config.node(1).orElseThrow(), CLUSTER, KEY,
                        oneIncarnation, oneSink == null ? oneRecorded : oneSink);
                HeartbeatService two = new HeartbeatService(config, config.node(2).orElseThrow(), CLUSTER, KEY, 2_000,
                        twoRecorded);
                try {
                    one.start();
                    two.start();
                    return new Pair(one, oneRecorded, two, twoRecorded, port);
                } catch (IOException e) {
                    one.close();
                    two.close();
                    last = e;
                }
            }
            throw last;
        }

        @Override
        public void close() {
            try {
                one.close();
            } finally {
                two.close();
            }
        }
    }

    static void assertCountsAddUp(HeartbeatStats stats) {
        for (HeartbeatStats.Ring r : stats.rings()) {
            assertThat(r.received()).as("received on ring %d", r.ring()).isEqualTo(r.accepted() + r.droppedTotal());
        }
    }
}
