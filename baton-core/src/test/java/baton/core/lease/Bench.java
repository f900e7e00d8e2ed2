package baton.core.lease;

import baton.core.disk.ClusterKey;
import baton.core.disk.Copy;
import baton.core.disk.DiskLayout;
import baton.core.timing.Timeouts;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;

/**
 * A test bench for the lease core: one in-memory two-copy lease area shared by a few cores,
 * each with its own fake monotonic clock. I/O is performed when the test says so: {@link
 * Node#pump()} performs everything pending at once (writes land, reads see the area as it is
 * now); tests that craft bytes between an I/O's issue and its completion do it by hand.
 */
final class Bench {
    static final Timeouts T = Timeouts.DEFAULTS;
    static final long MS = 1_000_000L;

    final UUID clusterId = new UUID(0x1234, 0x5678);
    final ClusterKey key;
    final LeaseCodec codec;
    final byte[][] area = {new byte[LeaseLayout.AREA_BYTES], new byte[LeaseLayout.AREA_BYTES]};

    Bench() {
        byte[] k = new byte[ClusterKey.KEY_BYTES];
        Arrays.fill(k, (byte) 7);
        key = new ClusterKey(k);
        codec = new LeaseCodec(clusterId, key);
    }

    final class Node {
        final int id;
        final long incarnation;
        CoordinatorLease core;
        long now;
        final boolean[] failing = new boolean[2];
        final List<LeaseEffect> pending = new ArrayList<>();
        final List<LeaseEffect> effects = new ArrayList<>();

        Node(int id, long incarnation) {
            this.id = id;
            this.incarnation = incarnation;
            this.now = id * 1_000_000 * MS; // clocks of different nodes have nothing in common
            this.core = new CoordinatorLease(id, 4, clusterId, key, T, incarnation);
        }

        List<LeaseEffect> step(LeaseInput in) {
            List<LeaseEffect> out = core.step(in);
            effects.addAll(out);
            for (LeaseEffect e : out) {
                if (e instanceof LeaseEffect.ReadBlocks || e instanceof LeaseEffect.WriteBlock) {
                    pending.add(e);
                }
            }
            return out;
        }

        List<LeaseEffect> tick() {
            return step(new LeaseInput.Tick(now, 0));
        }

        /** Completes one pending I/O now: a write lands (unless its copy fails), a read sees the area. */
        void perform(LeaseEffect e) {
            pending.remove(e);
            switch (e) {
                case LeaseEffect.WriteBlock w -> {
                    String err = failing[w.copy().ordinal()] ? "EIO" : null;
                    if (err == null) {
                        land(w.copy(), w.block(), w.bytes());
                    }
                    step(new LeaseInput.WriteDone(now, w.copy(), w.ioId(), err));
                }
                case LeaseEffect.ReadBlocks r -> step(new LeaseInput.ReadDone(now, r.copy(), r.ioId(),
                        failing[r.copy().ordinal()] ? null : area[r.copy().ordinal()].clone(),
                        failing[r.copy().ordinal()] ? "EIO" : null));
                default -> throw new IllegalArgumentException("not an I/O: " + e);
            }
        }

        void pump() {
            for (int limit = 0; !pending.isEmpty(); limit++) {
                if (limit > 1000) {
                    throw new AssertionError("I/O does not settle");
                }
                perform(pending.getFirst());
            }
        }

        /** Lets {@code ms} pass in ticks of a tenth of the disk interval, performing all I/O at once. */
        void run(long ms) {
            long end = now + ms * MS;
            while (now < end) {
                now = Math.min(end, now + T.diskIntervalNanos() / 10);
                tick();
                pump();
            }
        }

        boolean coordinator() {
            return core.isCoordinator(now);
        }

        <E extends LeaseEffect> List<E> effects(Class<E> type) {
            return effects.stream().filter(type::isInstance).map(type::cast).toList();
        }

        <E extends LeaseEvent> List<E> events(Class<E> type) {
            return effects.stream().filter(e -> e instanceof LeaseEffect.Report r && type.isInstance(r.event()))
                    .map(e -> type.cast(((LeaseEffect.Report) e).event())).toList();
        }

        Owner owner() {
            return new Owner(id, incarnation);
        }
    }

    /** Several nodes side by side: each gets {@code ms} of its own clock, a tick at a time, round robin. */
    static void run(long ms, Node... nodes) {
        for (long t = 0; t < ms; t += T.diskIntervalMillis() / 10) {
            for (Node n : nodes) {
                n.run(T.diskIntervalMillis() / 10);
            }
        }
    }

    void land(Copy c, int block, byte[] bytes) {
        System.arraycopy(bytes, 0, area[c.ordinal()], (block - LeaseLayout.AREA_FIRST_BLOCK) * DiskLayout.BLOCK_SIZE_BYTES,
                bytes.length);
    }

    void put(Copy c, LeaseBlock b) {
        land(c, LeaseLayout.blockOfNode(b.nodeId()), codec.encodeBlock(b));
    }

    void putBoth(LeaseBlock b) {
        put(Copy.PRIMARY, b);
        put(Copy.SHADOW, b);
    }

    void damage(Copy c, int nodeId) {
        area[c.ordinal()][LeaseLayout.areaOffsetOfNode(nodeId) + 50] ^= 0x40;
    }

    BlockRead block(Copy c, int nodeId) {
        return codec.decodeBlock(area[c.ordinal()], LeaseLayout.areaOffsetOfNode(nodeId), nodeId);
    }

    LeaseBlock valid(Copy c, int nodeId) {
        if (!(block(c, nodeId) instanceof BlockRead.Valid v)) {
            throw new AssertionError("block of node " + nodeId + " on " + c.label() + ": " + block(c, nodeId).describe());
        }
        return v.block();
    }

    static LeaseBlock block(int node, long inc, long seq, long gen, long ballot, long accepted, Owner value,
                            LeaseState state, Owner target, long targetSeq) {
        return new LeaseBlock(node, inc, seq, gen, ballot, accepted, value, state, target, targetSeq, 0);
    }
}
