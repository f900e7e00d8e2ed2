package baton.core.disk;

import java.util.UUID;

/**
 * The header of one copy of the quorum disk (block 0 of the copy's region). Written once by
 * {@code baton disk init}; nodes only read it. See {@link HeaderCodec} for the bytes.
 *
 * @param clusterId      random id chosen at init; every slot repeats it, so a slot copied
 *                       from another cluster's disk is recognised as foreign
 * @param keyFingerprint 8 bytes derived from the cluster key, to tell "wrong key" apart
 *                       from "corrupt slots"
 */
public record DiskHeader(
        int formatVersion,
        Copy copy,
        UUID clusterId,
        String clusterName,
        int blockSizeBytes,
        int slotCount,
        int regionBlocks,
        long createdEpochMillis,
        byte[] keyFingerprint) {

    public DiskHeader {
        if (clusterName.isEmpty()) {
            throw new IllegalArgumentException("cluster name is empty");
        }
        if (slotCount < 1 || slotCount > DiskLayout.MAX_NODES) {
            throw new IllegalArgumentException("slot count " + slotCount + " outside 1.." + DiskLayout.MAX_NODES);
        }
        if (keyFingerprint.length != 8) {
            throw new IllegalArgumentException("key fingerprint must be 8 bytes");
        }
        keyFingerprint = keyFingerprint.clone();
    }

    @Override
    public byte[] keyFingerprint() {
        return keyFingerprint.clone();
    }

    /** The same header as the other copy would carry it. */
    public DiskHeader forCopy(Copy c) {
        return new DiskHeader(formatVersion, c, clusterId, clusterName, blockSizeBytes, slotCount, regionBlocks,
                createdEpochMillis, keyFingerprint);
    }

    /** True when both headers describe the same disk (they may differ only in which copy they are). */
    public boolean sameDisk(DiskHeader o) {
        return formatVersion == o.formatVersion && clusterId.equals(o.clusterId) && clusterName.equals(o.clusterName)
                && blockSizeBytes == o.blockSizeBytes && slotCount == o.slotCount && regionBlocks == o.regionBlocks
                && createdEpochMillis == o.createdEpochMillis
                && java.util.Arrays.equals(keyFingerprint, o.keyFingerprint);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DiskHeader h && h.copy == copy && sameDisk(h);
    }

    @Override
    public int hashCode() {
        return clusterId.hashCode() * 31 + copy.hashCode();
    }

    @Override
    public String toString() {
        return "DiskHeader[v" + formatVersion + " " + copy.label() + " cluster=" + clusterName + " id=" + clusterId
                + " slots=" + slotCount + "]";
    }
}
