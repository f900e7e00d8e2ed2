package baton.runtime.net;

import baton.core.disk.ClusterKey;
import baton.core.net.Beat;
import baton.core.net.DropReason;
import baton.core.net.HeartbeatCodec;
import baton.core.net.ReplayGuard;
import baton.core.net.BeatVerdict;
import baton.runtime.config.ClusterConfig;
import baton.runtime.config.NodeConfig;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;

/**
 * Authenticated UDP heartbeats from this node to every other node, on every ring; and the
 * beats of the others, checked and reported to a {@link HeartbeatSink}. The wire format and
 * its checks are the pure {@link HeartbeatCodec} and {@link ReplayGuard}; this class owns the
 * sockets and the threads.
 *
 * <h2>Rings</h2>
 * Ring i is the i-th address of every node. This node binds one UDP socket per ring to its
 * own i-th address and {@code cluster.heartbeatPort}, sends from it to the other nodes' i-th
 * addresses on the same port, and accepts there only what comes from those addresses and
 * port. A ring is a path that can fail on its own (a switch, a cable, a NIC), so nothing on
 * one ring waits for another.
 *
 * <h2>Threads</h2>
 * <ul>
 * <li><b>One send thread</b> (platform, highest priority) for all rings: every heartbeat
 *     interval, at absolute deadlines start + k x interval (so waking late never shifts later
 *     beats), it sends one beat per peer per ring. In steady state it allocates nothing (one
 *     reused packet array and direct buffer, an allocation-free HMAC) and never blocks
 *     except in its timed wait: the sockets are non-blocking, and a datagram the kernel cannot
 *     take at once is a counted send error, like any other send error on a ring; nothing is
 *     retried, as the next beat follows in one interval. It measures how late it woke for each
 *     deadline; later than half the network timeout, it tells the sink "I was late", because
 *     a node that was paused heard nothing either and must not accuse the others on that
 *     evidence. Deadlines that passed entirely while it was late are skipped, not sent in a
 *     burst. (Java thread priorities only take effect on Linux with
 *     -XX:ThreadPriorityPolicy=1 as root; the lateness report is what protects against
 *     starvation, the priority only makes it rarer.)</li>
 * <li><b>One receive thread per ring</b> (platform: it waits in a {@link Selector}, since
 *     the socket is non-blocking for the sender's sake): reads each datagram into a reused
 *     buffer, decodes and authenticates it with its own codec, then asks the shared
 *     {@link ReplayGuard} (under its lock, for a few tens of nanoseconds) whether it is fresh.
 *     Accepted beats go to the sink; everything else is counted per ring and reason and
 *     dropped.</li>
 * </ul>
 *
 * <h2>Failures</h2>
 * Operating errors are counted and never fatal: a send or receive error on one ring (link
 * down, no route, buffer full). A socket that cannot be bound is a configuration error and
 * fails {@link #start()}. A thread that dies of a broken invariant (a bug, e.g. in the sink)
 * is printed and shown in {@link HeartbeatStats#failure()}.
 */
public final class HeartbeatService implements AutoCloseable {
    /** Limit: how long {@link #close()} waits for each thread to end. */
    static final long CLOSE_TIMEOUT_MILLIS = 2_000;
    /**
     * Receive buffer: larger than a heartbeat, so that a longer datagram shows as one (the
     * kernel cuts what does not fit) and is dropped for its size.
     */
    static final int RECEIVE_BUFFER_BYTES = 512;
    /** Limit: after a receive error, wait this long before reading again, so that a persistent error cannot spin. */
    static final long RECEIVE_ERROR_PAUSE_MILLIS = 10;

    private enum State { NEW, STARTED, CLOSED }

    private final NodeConfig self;
    private final HeartbeatSink sink;
    private final int rings;
    private final long intervalNanos;
    private final long lateThresholdNanos;
    private final InetSocketAddress[] local;
    /** Per ring, the other nodes' addresses, in configuration order. */
    private final InetSocketAddress[][] peers;
    /** Per ring, which node sends from which address and port. */
    private final List<Map<InetSocketAddress, Integer>> sources;
    private final UUID clusterId;
    private final ClusterKey key;
    private final Set<Integer> nodeIds;
    /** Shared by the receive threads; guarded by itself. */
    private final ReplayGuard guard;

    private final AtomicLongArray sent;
    private final AtomicLongArray sendErrors;
    private final AtomicReferenceArray<String> lastSendError;
    private final AtomicLongArray received;
    private final AtomicLongArray receiveErrors;
    private final AtomicLongArray accepted;
    /** Index ring * reasons + reason. */
    private final AtomicLongArray dropped;
    /** The other nodes' ids, in configuration order. */
    private final int[] peerIds;
    /** Per-peer arrays are indexed ring * peerSlots + node id. */
    private final int peerSlots;
    private final AtomicLongArray peerAccepted;
    private final AtomicLongArray peerMissed;
    private final AtomicLongArray peerLastHeardNanos;
    /**
     * Per ring and peer, the incarnation and the highest sequence number accepted: written and
     * read only by that ring's receive thread, hence plain arrays.
     */
    private final long[] peerIncarnation;
    private final long[] peerSeq;
    private final TickLateness lateness = new TickLateness();

    private State state = State.NEW; // guarded by this
    private volatile boolean running;
    private volatile long incarnation;
    private volatile int heldDown;
    private volatile String failure;
    /** When the send thread last went round its loop: the daemon's supervisor checks that it lives. */
    private volatile long lastSendLoopNanos = System.nanoTime();

    /** When the send thread last went round its loop (it does every heartbeat interval, sending or not). */
    public long lastSendLoopNanos() {
        return lastSendLoopNanos;
    }

    /** Whether the send thread runs (it ends only when the service closes). */
    public boolean senderAlive() {
        return sender != null && sender.isAlive();
    }

    /** Test hook: the send thread stalls this long before its next tick's wake-up is measured. */
    private volatile long injectedStallNanos;

    private DatagramChannel[] channels;
    private Selector[] selectors;
    private Thread sender;
    private Thread[] receivers;

    /**
     * @param self this node, one of {@code config}'s nodes
     * @param clusterId the cluster id from the quorum disk header
     * @param incarnation this node's incarnation, at least 1
     */
    public HeartbeatService(ClusterConfig config, NodeConfig self, UUID clusterId, ClusterKey key, long incarnation,
            HeartbeatSink sink) {
        Objects.requireNonNull(config, "config");
        this.self = Objects.requireNonNull(self, "self");
        this.clusterId = Objects.requireNonNull(clusterId, "clusterId");
        this.key = Objects.requireNonNull(key, "key");
        this.sink = Objects.requireNonNull(sink, "sink");
        if (!config.nodes().contains(self)) {
            throw new IllegalArgumentException("node " + self.name() + " is not one of the configuration's nodes");
        }
        if (incarnation < 1) {
            throw new IllegalArgumentException("incarnation " + incarnation + " < 1");
        }
        this.incarnation = incarnation;
        this.rings = config.ringCount();
        if (rings > HeartbeatCodec.MAX_RINGS) {
            throw new IllegalArgumentException(rings + " rings, at most " + HeartbeatCodec.MAX_RINGS);
        }
        this.intervalNanos = config.timeouts().heartbeatIntervalMillis() * 1_000_000L;
        this.lateThresholdNanos = config.timeouts().networkTimeoutMillis() * 1_000_000L / 2;
        int port = config.heartbeatPort();
        this.nodeIds = config.nodes().stream().map(NodeConfig::id).collect(Collectors.toUnmodifiableSet());
        this.local = new InetSocketAddress[rings];
        this.peers = new InetSocketAddress[rings][];
        this.sources = new ArrayList<>();
        for (int r = 0; r < rings; r++) {
            local[r] = new InetSocketAddress(self.addresses().get(r), port);
            List<InetSocketAddress> others = new ArrayList<>();
            Map<InetSocketAddress, Integer> bySource = new HashMap<>();
            for (NodeConfig node : config.nodes()) {
                InetAddress address = node.addresses().get(r);
                if (address instanceof Inet4Address != self.addresses().get(r) instanceof Inet4Address) {
                    // One socket speaks one address family; the loader reports this with a fix.
                    throw new IllegalArgumentException("ring " + r + " mixes IPv4 and IPv6: " + self.name() + " has "
                            + self.addresses().get(r).getHostAddress() + ", " + node.name() + " has "
                            + address.getHostAddress());
                }
                if (node.id() != self.id()) {
                    InetSocketAddress peer = new InetSocketAddress(address, port);
                    others.add(peer);
                    bySource.put(peer, node.id());
                }
            }
            peers[r] = others.toArray(InetSocketAddress[]::new);
            sources.add(Map.copyOf(bySource));
        }
        this.guard = new ReplayGuard(rings);
        this.sent = new AtomicLongArray(rings);
        this.sendErrors = new AtomicLongArray(rings);
        this.lastSendError = new AtomicReferenceArray<>(rings);
        this.received = new AtomicLongArray(rings);
        this.receiveErrors = new AtomicLongArray(rings);
        this.accepted = new AtomicLongArray(rings);
        this.dropped = new AtomicLongArray(rings * DropReason.values().length);
        this.peerIds = config.nodes().stream().mapToInt(NodeConfig::id).filter(id -> id != self.id()).toArray();
        this.peerSlots = config.nodes().stream().mapToInt(NodeConfig::id).max().orElseThrow() + 1;
        this.peerAccepted = new AtomicLongArray(rings * peerSlots);
        this.peerMissed = new AtomicLongArray(rings * peerSlots);
        this.peerLastHeardNanos = new AtomicLongArray(rings * peerSlots);
        this.peerIncarnation = new long[rings * peerSlots];
        this.peerSeq = new long[rings * peerSlots];
    }

    /**
     * Binds one socket per ring and starts the threads; the first beats go out at once.
     *
     * @throws IOException when a ring's socket cannot be bound (the address is not this
     *     host's, or the port is taken); nothing is left open then
     */
    public synchronized void start() throws IOException {
        if (state != State.NEW) {
            throw new IllegalStateException("heartbeats already " + state.name().toLowerCase(Locale.ROOT));
        }
        channels = new DatagramChannel[rings];
        selectors = new Selector[rings];
        try {
            for (int r = 0; r < rings; r++) {
                channels[r] = DatagramChannel.open(local[r].getAddress() instanceof Inet4Address
                        ? StandardProtocolFamily.INET
                        : StandardProtocolFamily.INET6);
                channels[r].configureBlocking(false);
                try {
                    channels[r].bind(local[r]);
                } catch (IOException e) {
                    throw new IOException("ring " + r + ": cannot bind the heartbeat socket to "
                            + hostAndPort(local[r]) + ": "
                            + e.getMessage() + "; fix: check that " + self.name() + " has this address (ip address)"
                            + " and that no other process uses the port (ss -ulpn)", e);
                }
                selectors[r] = Selector.open();
                channels[r].register(selectors[r], SelectionKey.OP_READ);
            }
        } catch (IOException | RuntimeException e) {
            closeSockets();
            throw e;
        }
        running = true;
        state = State.STARTED;
        // Each thread gets its own codec: a codec holds the MAC's scratch state.
        HeartbeatCodec sendCodec = codec();
        sender = Thread.ofPlatform().name("baton-hb-send").daemon(true).priority(Thread.MAX_PRIORITY)
                .unstarted(() -> guarded(() -> sendLoop(sendCodec)));
        receivers = new Thread[rings];
        for (int r = 0; r < rings; r++) {
            int ring = r;
            HeartbeatCodec receiveCodec = codec();
            receivers[r] = Thread.ofPlatform().name("baton-hb-recv-" + r).daemon(true)
                    .unstarted(() -> guarded(() -> receiveLoop(ring, receiveCodec)));
        }
        for (Thread t : receivers) {
            t.start();
        }
        sender.start();
    }

    private HeartbeatCodec codec() {
        return new HeartbeatCodec(clusterId, key, self.id(), rings, nodeIds);
    }

    /**
     * From the next tick on, beats carry {@code newIncarnation}, numbered from 1 again: the node
     * rejoined. Receivers then refuse beats of the old incarnation as replays.
     */
    public synchronized void setIncarnation(long newIncarnation) {
        if (newIncarnation <= incarnation) {
            throw new IllegalArgumentException("incarnation " + newIncarnation + " is not above the current "
                    + incarnation + ": receivers would drop its beats as replays");
        }
        incarnation = newIncarnation;
    }

    /**
     * The nodes this node holds down (bit n-1 for node n), sent in every beat from now on so
     * that a node held down learns it and rejoins. Set by the event loop when verdicts change.
     */
    public void setHeldDown(int bitmap) {
        heldDown = bitmap;
    }

    public long incarnation() {
        return incarnation;
    }

    public HeartbeatStats stats() {
        List<HeartbeatStats.Ring> perRing = new ArrayList<>();
        DropReason[] reasons = DropReason.values();
        for (int r = 0; r < rings; r++) {
            Map<DropReason, Long> drops = new EnumMap<>(DropReason.class);
            for (DropReason reason : reasons) {
                long n = dropped.get(r * reasons.length + reason.ordinal());
                if (n > 0) {
                    drops.put(reason, n);
                }
            }
            List<HeartbeatStats.Peer> heard = new ArrayList<>();
            for (int id : peerIds) {
                int i = r * peerSlots + id;
                // The count first: the receive thread sets the time before counting, so a count seen implies its time is.
                long count = peerAccepted.get(i);
                heard.add(new HeartbeatStats.Peer(id, count, peerMissed.get(i), peerLastHeardNanos.get(i)));
            }
            perRing.add(new HeartbeatStats.Ring(r, hostAndPort(local[r]),
                    sent.get(r), sendErrors.get(r), Optional.ofNullable(lastSendError.get(r)), received.get(r),
                    receiveErrors.get(r), accepted.get(r), drops, heard));
        }
        return new HeartbeatStats(perRing, lateness.snapshot(lateThresholdNanos), Optional.ofNullable(failure));
    }

    /** {@code 198.18.0.1:7410} or {@code [fd00::1]:7410}. */
    static String hostAndPort(InetSocketAddress a) {
        String host = a.getAddress().getHostAddress();
        return (a.getAddress() instanceof Inet4Address ? host : "[" + host + "]") + ":" + a.getPort();
    }

    /**
     * Stops the threads and closes the sockets; waits at most {@value #CLOSE_TIMEOUT_MILLIS}
     * ms per thread. Idempotent.
     *
     * @throws IllegalStateException when a thread did not end (a sink that blocks, against its
     *     contract); the sockets are closed anyway
     */
    @Override
    public void close() {
        State was;
        synchronized (this) {
            was = state;
            state = State.CLOSED;
        }
        if (was != State.STARTED) {
            return;
        }
        running = false;
        LockSupport.unpark(sender);
        for (Selector s : selectors) {
            s.wakeup();
        }
        List<Thread> all = threads();
        List<String> stuck = new ArrayList<>();
        for (Thread t : all) {
            if (!join(t)) {
                stuck.add(t.getName());
            }
        }
        closeSockets();
        if (!stuck.isEmpty()) {
            throw new IllegalStateException("heartbeat threads " + stuck + " did not end within "
                    + CLOSE_TIMEOUT_MILLIS + " ms; is the sink blocking?");
        }
    }

    private static boolean join(Thread t) {
        try {
            return t.join(java.time.Duration.ofMillis(CLOSE_TIMEOUT_MILLIS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return !t.isAlive();
        }
    }

    private void closeSockets() {
        for (int r = 0; r < rings; r++) {
            closeQuietly(selectors == null ? null : selectors[r]);
            closeQuietly(channels == null ? null : channels[r]);
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception e) {
            // Closing a socket or selector releases it even when close reports an error;
            // there is nothing left to do with it.
        }
    }

    // ---------------------------------------------------------------------------- sending

    /**
     * The send thread. Steady state allocates nothing: it uses only what is created before the
     * loop, primitive locals, and atomic counters.
     */
    private void sendLoop(HeartbeatCodec codec) {
        Beater beater = new Beater(codec);
        long sentIncarnation = 0;
        long seq = 0;
        long deadline = System.nanoTime();
        while (running) {
            lastSendLoopNanos = System.nanoTime();
            waitUntil(deadline);
            if (!running) {
                return;
            }
            stallIfAsked();
            if (!running) {
                return;
            }
            long now = System.nanoTime();
            long late = now - deadline;
            boolean tooLate = late > lateThresholdNanos;
            lateness.record(late, tooLate);
            if (tooLate) {
                sink.selfLate(now, late);
            }
            long current = incarnation;
            if (current != sentIncarnation) {
                sentIncarnation = current;
                seq = 0;
            }
            seq++;
            beater.beat(sentIncarnation, seq);
            deadline += intervalNanos;
            if (deadline - now <= 0) {
                // Woke more than one interval late: go on from the next deadline still ahead,
                // on the same grid, instead of sending the missed beats in a burst.
                long missed = (now - deadline) / intervalNanos + 1;
                deadline += missed * intervalNanos;
                lateness.skipped(missed);
            }
        }
    }

    /** Parks until {@code deadline} (System.nanoTime), or until closed. */
    private void waitUntil(long deadline) {
        while (running) {
            long remaining = deadline - System.nanoTime();
            if (remaining <= 0) {
                return;
            }
            LockSupport.parkNanos(this, remaining);
        }
    }

    /** One tick's sending: a beat per ring, to every peer of the ring, from reused buffers. */
    final class Beater {
        private final HeartbeatCodec codec;
        private final byte[] packet = new byte[HeartbeatCodec.PACKET_BYTES];
        /** Direct, so that the channel sends from it without copying into a temporary buffer. */
        private final ByteBuffer out = ByteBuffer.allocateDirect(HeartbeatCodec.PACKET_BYTES);

        Beater(HeartbeatCodec codec) {
            this.codec = codec;
        }

        void beat(long incarnation, long seq) {
            for (int ring = 0; ring < rings; ring++) {
                codec.encode(packet, ring, incarnation, seq, heldDown);
                out.clear();
                out.put(packet);
                sendToPeers(ring);
            }
        }

        private void sendToPeers(int ring) {
            DatagramChannel channel = channels[ring];
            for (InetSocketAddress peer : peers[ring]) {
                out.clear(); // the whole buffer is the packet: position 0, limit PACKET_BYTES
                try {
                    if (channel.send(out, peer) == HeartbeatCodec.PACKET_BYTES) {
                        sent.incrementAndGet(ring);
                    } else {
                        // Non-blocking: the socket's send buffer is full (the link is stuck).
                        sendErrors.incrementAndGet(ring);
                        lastSendError.set(ring, "send buffer full");
                    }
                } catch (ClosedChannelException e) {
                    return; // closing
                } catch (IOException e) {
                    // No route, network down, ...: counted; the next beat follows in one interval.
                    sendErrors.incrementAndGet(ring);
                    lastSendError.set(ring, String.valueOf(e.getMessage()));
                }
            }
        }
    }

    /** Test hook: a sender with its own buffers and codec, on this service's sockets. */
    Beater beaterForTest() {
        return new Beater(codec());
    }

    private void stallIfAsked() {
        long stall = injectedStallNanos;
        if (stall > 0) {
            injectedStallNanos = 0;
            long until = System.nanoTime() + stall;
            for (long left = stall; left > 0 && running; left = until - System.nanoTime()) {
                LockSupport.parkNanos(this, left);
            }
        }
    }

    // ---------------------------------------------------------------------------- receiving

    private void receiveLoop(int ring, HeartbeatCodec codec) {
        DatagramChannel channel = channels[ring];
        Selector selector = selectors[ring];
        Map<InetSocketAddress, Integer> bySource = sources.get(ring);
        ByteBuffer in = ByteBuffer.allocate(RECEIVE_BUFFER_BYTES);
        while (running) {
            try {
                selector.select();
                selector.selectedKeys().clear();
                SocketAddress from;
                while (running) {
                    in.clear();
                    from = channel.receive(in);
                    if (from == null) {
                        break;
                    }
                    long now = System.nanoTime();
                    Integer source = bySource.get(from);
                    received(ring, codec.decode(in.array(), in.position(), ring, source == null ? 0 : source), now);
                }
            } catch (ClosedChannelException | ClosedSelectorException e) {
                return; // closing
            } catch (IOException e) {
                if (!running) {
                    return;
                }
                // Counted, never fatal: the ring's next beats may well arrive.
                receiveErrors.incrementAndGet(ring);
                LockSupport.parkNanos(RECEIVE_ERROR_PAUSE_MILLIS * 1_000_000L);
            }
        }
    }

    private void received(int ring, HeartbeatCodec.Decoded decoded, long now) {
        received.incrementAndGet(ring);
        BeatVerdict verdict;
        synchronized (guard) {
            verdict = guard.admit(decoded);
        }
        switch (verdict) {
            case BeatVerdict.Accepted a -> {
                accepted.incrementAndGet(ring);
                Beat b = a.beat();
                heardFrom(ring, b, now);
                sink.heard(now, ring, b.senderId(), b.incarnation(), b.seq(), b.heldDown());
            }
            case BeatVerdict.Dropped d -> dropped.incrementAndGet(ring * DropReason.values().length + d.reason().ordinal());
        }
    }

    /** Counts an accepted beat for its sender on this ring; see {@link HeartbeatStats.Peer} for what "missed" means. */
    private void heardFrom(int ring, Beat b, long now) {
        int i = ring * peerSlots + b.senderId();
        peerLastHeardNanos.set(i, now);
        peerAccepted.incrementAndGet(i);
        if (b.incarnation() != peerIncarnation[i]) {
            // The guard admits no incarnation older than one heard: this is a newer one (or the first).
            peerIncarnation[i] = b.incarnation();
            peerSeq[i] = b.seq();
        } else if (b.seq() > peerSeq[i]) {
            peerMissed.addAndGet(i, b.seq() - peerSeq[i] - 1);
            peerSeq[i] = b.seq();
        } else if (peerMissed.get(i) > 0) {
            // Reordered: counted missing when a later beat came first; the guard rejects duplicates.
            peerMissed.decrementAndGet(i);
        }
    }

    // ---------------------------------------------------------------------------- threads

    /**
     * Runs a thread's loop; a RuntimeException or Error is a broken invariant: it is recorded
     * for {@link #stats()} and rethrown, so that the thread dies loudly (stack trace on stderr).
     */
    private void guarded(Runnable loop) {
        try {
            loop.run();
        } catch (RuntimeException | Error e) {
            if (running) {
                failure = Thread.currentThread().getName() + ": " + e;
            }
            throw e;
        }
    }

    /** The threads, for tests: the send thread first, then the receive threads in ring order. */
    List<Thread> threads() {
        List<Thread> all = new ArrayList<>();
        if (sender != null) {
            all.add(sender);
            all.addAll(List.of(receivers));
        }
        return all;
    }

    Thread sender() {
        return sender;
    }

    /** True while any ring's socket is open, for tests. */
    boolean socketsOpen() {
        if (channels == null) {
            return false;
        }
        for (DatagramChannel c : channels) {
            if (c != null && c.isOpen()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Test hook: the next tick's wake-up comes {@code nanos} late, as if the node had been
     * paused; {@link #close()} ends the stall.
     */
    void stallNextTick(long nanos) {
        injectedStallNanos = nanos;
    }

    /** Test hook: true once the send thread has begun the stall asked for (it is then parked, not sending). */
    boolean stallBegun() {
        return injectedStallNanos == 0;
    }
}
