package baton.runtime.disk;

import baton.core.disk.ClusterKey;
import baton.core.disk.Copy;
import baton.core.disk.DiskHeader;
import baton.core.disk.DiskLayout;
import baton.core.disk.HeaderCodec;
import baton.core.disk.HeaderRead;
import baton.runtime.config.QuorumDiskConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;

/**
 * The two copies of the quorum disk as configured: two regions of one path, or one region on
 * each of two paths. Opening, header checks and initialisation; the periodic slot I/O is the
 * node daemon's. A disk whose header belongs to another cluster, has an unknown format
 * version or is corrupt on both copies is refused and never written.
 */
public final class QuorumDisk implements AutoCloseable {
    private final DiskCopy[] copies;

    private QuorumDisk(DiskCopy primary, DiskCopy shadow) {
        this.copies = new DiskCopy[] {primary, shadow};
    }

    /** Where each copy's region lies. */
    public record Location(Path path, long regionOffset) {}

    public static Location location(QuorumDiskConfig cfg, Copy c) {
        if (cfg.singlePath()) {
            return new Location(cfg.primary(), c == Copy.PRIMARY ? 0 : DiskLayout.REGION_SIZE_BYTES);
        }
        return new Location(c == Copy.PRIMARY ? cfg.primary() : cfg.shadow(), 0);
    }

    /**
     * Opens both copies. A copy that cannot be opened is returned as null inside the pair only
     * when the other one opens; when neither opens the exception says why for both.
     */
    public static QuorumDisk open(QuorumDiskConfig cfg, boolean writable) throws DiskRefusedException {
        DiskCopy[] opened = new DiskCopy[2];
        String[] errors = new String[2];
        for (Copy c : Copy.values()) {
            Location l = location(cfg, c);
            try {
                opened[c.ordinal()] = DiskCopy.open(c, l.path(), l.regionOffset(), writable);
            } catch (IOException e) {
                errors[c.ordinal()] = l.path() + ": " + e.getMessage();
            }
        }
        if (opened[0] == null && opened[1] == null) {
            throw new DiskRefusedException("cannot open either copy of the quorum disk: primary " + errors[0]
                    + "; shadow " + errors[1], true);
        }
        return new QuorumDisk(opened[0], opened[1]);
    }

    /** Writes {@code bytes} at {@code offset} of both copies; returns each failing copy's error (empty when both took it). */
    public java.util.List<String> writeBoth(long offset, byte[] bytes) {
        java.util.List<String> errors = new java.util.ArrayList<>();
        for (Copy c : Copy.values()) {
            DiskCopy d = copy(c);
            if (d == null) {
                errors.add(c.label() + ": could not be opened");
                continue;
            }
            try {
                d.write(offset, bytes);
            } catch (java.io.IOException | RuntimeException e) {
                errors.add(c.label() + ": " + e.getMessage());
            }
        }
        return errors;
    }

    /** The copy, or null when it could not be opened. */
    public DiskCopy copy(Copy c) {
        return copies[c.ordinal()];
    }

    public HeaderRead readHeader(Copy c) {
        DiskCopy d = copy(c);
        if (d == null) {
            return new HeaderRead.Unreadable("could not be opened");
        }
        try {
            return HeaderCodec.decode(d.read(0, DiskLayout.BLOCK_SIZE_BYTES), 0);
        } catch (IOException e) {
            return new HeaderRead.Unreadable(e.getMessage());
        }
    }

    /** What {@link #verify} found, for the log: the header, and repairs made. */
    public record Verified(DiskHeader header, List<String> notes) {}

    /**
     * Checks that the disk is this cluster's, made with this key. A copy whose header is
     * corrupt or blank while the other copy's is valid is rewritten from the valid one
     * (when {@code repair}): nothing of value can be lost there.
     */
    public Verified verify(String clusterName, ClusterKey key, boolean repair) throws DiskRefusedException {
        HeaderRead[] h = {readHeader(Copy.PRIMARY), readHeader(Copy.SHADOW)};
        List<String> notes = new ArrayList<>();
        DiskHeader good = null;
        for (Copy c : Copy.values()) {
            HeaderRead r = h[c.ordinal()];
            String where = c.label() + " copy (" + copy(c) + ")";
            switch (r) {
                case HeaderRead.Valid v -> {
                    DiskHeader d = v.header();
                    if (!d.clusterName().equals(clusterName)) {
                        throw new DiskRefusedException("the " + where + " belongs to cluster '" + d.clusterName()
                                + "', not '" + clusterName + "'; check quorumDisk in the configuration; it will not be written", false);
                    }
                    if (!Arrays.equals(d.keyFingerprint(), key.fingerprint())) {
                        throw new DiskRefusedException("the " + where + " was initialised with another cluster key (fingerprint "
                                + HexFormat.of().formatHex(d.keyFingerprint()) + ", this key's is " + key.fingerprintHex()
                                + "); use the cluster's key file, or re-initialise with 'baton disk init --force'", false);
                    }
                    if (d.copy() != c) {
                        throw new DiskRefusedException("the " + where + " holds the header of the " + d.copy().label()
                                + " copy: primary and shadow are swapped or both point at the same region", false);
                    }
                    if (good != null && !good.sameDisk(d)) {
                        throw new DiskRefusedException("primary and shadow copies belong to different disks ("
                                + good.clusterId() + " and " + d.clusterId() + ")", false);
                    }
                    good = d;
                }
                case HeaderRead.UnknownVersion u -> throw new DiskRefusedException("the " + where
                        + " has quorum disk format version " + u.version() + ", this Baton reads version "
                        + DiskLayout.FORMAT_VERSION + "; run the Baton release that made it", false);
                case HeaderRead.NotBaton n -> throw new DiskRefusedException("the " + where + " is not a Baton quorum disk ("
                        + n.reason() + "); it will not be written; check quorumDisk in the configuration, or initialise"
                        + " it with 'baton disk init --force' if its content may be destroyed", false);
                case HeaderRead.Blank b -> { }
                case HeaderRead.Corrupt x -> { }
                case HeaderRead.Unreadable u -> notes.add("the " + where + " is unreadable: " + u.error());
            }
        }
        if (good == null) {
            boolean io = h[0] instanceof HeaderRead.Unreadable && h[1] instanceof HeaderRead.Unreadable;
            throw new DiskRefusedException("no valid header on either copy: primary " + h[0].describe() + "; shadow "
                    + h[1].describe() + (io ? "" : "; initialise the disk with 'baton disk init'"), io);
        }
        for (Copy c : Copy.values()) {
            HeaderRead r = h[c.ordinal()];
            if ((r instanceof HeaderRead.Corrupt || r instanceof HeaderRead.Blank) && repair) {
                try {
                    copy(c).write(0, HeaderCodec.encode(good.forCopy(c)));
                    notes.add("repaired the " + c.label() + " header (" + r.describe() + ") from the " + c.other().label());
                } catch (IOException e) {
                    notes.add("could not repair the " + c.label() + " header (" + r.describe() + "): " + e.getMessage());
                }
            } else if (r instanceof HeaderRead.Corrupt || r instanceof HeaderRead.Blank) {
                notes.add("the " + c.label() + " header is " + r.describe());
            }
        }
        return new Verified(good.forCopy(Copy.PRIMARY), notes);
    }

    /**
     * Writes a new, empty quorum disk: both copies' headers and zeroed slots. Regular files are
     * created (and sized) when missing. Refuses to overwrite anything but zeros unless
     * {@code force}; the message names what it found.
     */
    public static DiskHeader init(QuorumDiskConfig cfg, String clusterName, ClusterKey key, boolean force,
                                  long nowEpochMillis) throws IOException, DiskRefusedException {
        for (Copy c : Copy.values()) {
            Location l = location(cfg, c);
            if (!Files.exists(l.path())) {
                if (l.path().getParent() != null) {
                    Files.createDirectories(l.path().getParent());
                }
                Files.createFile(l.path());
            }
            if (Files.isRegularFile(l.path()) && Files.size(l.path()) < l.regionOffset() + DiskLayout.REGION_SIZE_BYTES) {
                try (var ch = java.nio.channels.FileChannel.open(l.path(), java.nio.file.StandardOpenOption.WRITE)) {
                    ch.truncate(Math.max(ch.size(), l.regionOffset() + DiskLayout.REGION_SIZE_BYTES));
                    ch.write(java.nio.ByteBuffer.wrap(new byte[1]), l.regionOffset() + DiskLayout.REGION_SIZE_BYTES - 1);
                }
            }
        }
        UUID id = UUID.randomUUID();
        DiskHeader header = new DiskHeader(DiskLayout.FORMAT_VERSION, Copy.PRIMARY, id, clusterName,
                DiskLayout.BLOCK_SIZE_BYTES, DiskLayout.MAX_NODES, DiskLayout.REGION_BLOCKS, nowEpochMillis, key.fingerprint());
        try (QuorumDisk disk = open(cfg, true)) {
            for (Copy c : Copy.values()) {
                if (disk.copy(c) == null) {
                    throw new DiskRefusedException("cannot open the " + c.label() + " copy at " + location(cfg, c).path(), true);
                }
                HeaderRead r = disk.readHeader(c);
                if (!(r instanceof HeaderRead.Blank) && !force) {
                    throw new DiskRefusedException("refusing to initialise: the " + c.label() + " copy ("
                            + disk.copy(c) + ") holds " + r.describe() + "; nothing was written. Pass --force to"
                            + " overwrite it (every node of that disk's cluster must be stopped first)", false);
                }
            }
            for (Copy c : Copy.values()) {
                byte[] region = new byte[(int) DiskLayout.REGION_SIZE_BYTES];
                System.arraycopy(HeaderCodec.encode(header.forCopy(c)), 0, region, 0, DiskLayout.BLOCK_SIZE_BYTES);
                disk.copy(c).write(0, region);
            }
        }
        return header;
    }

    @Override
    public void close() {
        for (DiskCopy c : copies) {
            if (c != null) {
                try {
                    c.close();
                } catch (IOException ignored) {
                    // closing a descriptor we only read and wrote: nothing left to lose
                }
            }
        }
    }
}
