package baton.sim;

import baton.core.disk.Copy;
import baton.core.disk.DiskHeader;
import baton.core.disk.DiskLayout;
import baton.core.disk.HeaderCodec;
import baton.core.lease.LeaseLayout;

/**
 * A simulated quorum disk: two copies as byte arrays, and faults that act per node and per
 * copy (one node may lose a copy while others still reach it, as with a failed path).
 */
public final class SimDisk {
    /** What happens to one node's I/O on one copy. */
    public enum Fault { NONE, FAIL_WRITES, FAIL_ALL, HANG }

    /**
     * The block of node n's poison pill is {@code PILL_BASE_BLOCK + n}: the fence record blocks
     * 97..128 of the layout (docs/disk-format.md). The simulator writes its own minimal pill there
     * (magic "PILL", victim id, incarnation), not the real fence record, which the runtime owns.
     */
    public static final int PILL_BASE_BLOCK = 96;
    private static final byte[] PILL_MAGIC = {'P', 'I', 'L', 'L'};

    /** The liveness area, the coordinator lease area (blocks 64..96) and the pill blocks (97..128) of each copy. */
    static final int COPY_BYTES = Math.max((int) LeaseLayout.regionOffsetBytes(LeaseLayout.AREA_FIRST_BLOCK) + LeaseLayout.AREA_BYTES,
            (PILL_BASE_BLOCK + DiskLayout.MAX_NODES + 1) * DiskLayout.BLOCK_SIZE_BYTES);
    private final byte[][] copies = new byte[2][COPY_BYTES];
    private final Fault[][] faults = new Fault[DiskLayout.MAX_NODES + 1][2];
    /** Per node: the highest incarnation fenced; a write by it or an older one is a violation. */
    private final long[] fencedUpTo = new long[DiskLayout.MAX_NODES + 1];
    private String violation;

    public SimDisk(DiskHeader header) {
        for (Copy c : Copy.values()) {
            byte[] h = HeaderCodec.encode(header.forCopy(c));
            System.arraycopy(h, 0, copies[c.ordinal()], 0, h.length);
        }
        for (Fault[] f : faults) {
            java.util.Arrays.fill(f, Fault.NONE);
        }
    }

    public void fault(int nodeId, Copy copy, Fault fault) {
        faults[nodeId][copy.ordinal()] = fault;
    }

    public Fault fault(int nodeId, Copy copy) {
        return faults[nodeId][copy.ordinal()];
    }

    /** Writes a block at {@code offset} of a copy; returns an error or null. */
    String write(int nodeId, Copy copy, long offset, byte[] block) {
        return write(nodeId, 0, copy, offset, block);
    }

    /**
     * Writes a block at {@code offset} of a copy on behalf of {@code incarnation} of {@code nodeId};
     * returns an error or null. A write that lands for a fenced incarnation is recorded as a
     * violation ({@link #violation()}): fencing promised that incarnation would never write again.
     */
    String write(int nodeId, long incarnation, Copy copy, long offset, byte[] block) {
        Fault f = faults[nodeId][copy.ordinal()];
        if (incarnation != 0 && incarnation <= fencedUpTo[nodeId] && (f == Fault.NONE || f == Fault.HANG) && violation == null) {
            violation = "node " + nodeId + " incarnation " + incarnation + " wrote " + block.length + " bytes at offset " + offset
                    + " of the " + copy.label() + " copy after incarnation " + fencedUpTo[nodeId] + " was fenced";
        }
        switch (faults[nodeId][copy.ordinal()]) {
            case FAIL_WRITES, FAIL_ALL -> {
                return "EIO (simulated)";
            }
            case NONE, HANG -> {
                System.arraycopy(block, 0, copies[copy.ordinal()], (int) offset, block.length);
                return null;
            }
        }
        throw new AssertionError();
    }

    /** Reads the liveness area of a copy, or null when the fault makes the read fail. */
    byte[] read(int nodeId, Copy copy) {
        return switch (faults[nodeId][copy.ordinal()]) {
            case FAIL_ALL -> null;
            case NONE, FAIL_WRITES, HANG -> copies[copy.ordinal()].clone();
        };
    }

    /** Reads {@code count} blocks from {@code first}, or null when the fault makes the read fail. */
    byte[] readBlocks(int nodeId, Copy copy, int first, int count) {
        return switch (faults[nodeId][copy.ordinal()]) {
            case FAIL_ALL -> null;
            case NONE, FAIL_WRITES, HANG -> java.util.Arrays.copyOfRange(copies[copy.ordinal()],
                    first * DiskLayout.BLOCK_SIZE_BYTES, (first + count) * DiskLayout.BLOCK_SIZE_BYTES);
        };
    }

    /** Fencing declared {@code incarnation} of {@code nodeId} dead: from now on it must not write. */
    void fenced(int nodeId, long incarnation) {
        fencedUpTo[nodeId] = Math.max(fencedUpTo[nodeId], incarnation);
    }

    /** The first write by a fenced incarnation, or null. */
    public String violation() {
        return violation;
    }

    /** Writes a poison pill for {@code incarnation} of {@code victimId} on behalf of {@code writerId}; returns an error or null. */
    String writePill(int writerId, long writerIncarnation, Copy copy, int victimId, long incarnation) {
        byte[] block = new byte[DiskLayout.BLOCK_SIZE_BYTES];
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(block);
        b.put(PILL_MAGIC).putShort((short) victimId).putShort((short) 0).putLong(incarnation);
        return write(writerId, writerIncarnation, copy, (long) (PILL_BASE_BLOCK + victimId) * DiskLayout.BLOCK_SIZE_BYTES, block);
    }

    /** The incarnation of {@code nodeId} a pill in {@code area} (a copy as read) names, or 0 for none. */
    static long pillIn(byte[] area, int nodeId) {
        int at = (PILL_BASE_BLOCK + nodeId) * DiskLayout.BLOCK_SIZE_BYTES;
        if (area == null || area.length < at + 16) {
            return 0;
        }
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(area, at, 16);
        byte[] magic = new byte[4];
        b.get(magic);
        return java.util.Arrays.equals(magic, PILL_MAGIC) && b.getShort() == nodeId ? b.getLong(at + 8) : 0;
    }

    public void flipByte(Copy copy, long offset) {
        copies[copy.ordinal()][(int) offset] ^= (byte) 0xff;
    }

    public byte[] raw(Copy copy) {
        return copies[copy.ordinal()];
    }
}
