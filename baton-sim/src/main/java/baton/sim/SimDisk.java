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

    /** The liveness area and the coordinator lease area (blocks 64..96) of each copy. */
    static final int COPY_BYTES = (int) LeaseLayout.regionOffsetBytes(LeaseLayout.AREA_FIRST_BLOCK) + LeaseLayout.AREA_BYTES;
    private final byte[][] copies = new byte[2][COPY_BYTES];
    private final Fault[][] faults = new Fault[DiskLayout.MAX_NODES + 1][2];

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

    public void flipByte(Copy copy, long offset) {
        copies[copy.ordinal()][(int) offset] ^= (byte) 0xff;
    }

    public byte[] raw(Copy copy) {
        return copies[copy.ordinal()];
    }
}
