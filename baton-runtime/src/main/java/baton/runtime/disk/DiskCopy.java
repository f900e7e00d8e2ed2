package baton.runtime.disk;

import baton.core.disk.Copy;
import baton.core.disk.DiskLayout;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * One copy of the quorum disk: a region of {@link DiskLayout#REGION_SIZE_BYTES} bytes at
 * {@code regionOffset} of a file or block device.
 *
 * <p>Writes are synchronous and, where the file system supports it, direct: the file is
 * opened with O_DIRECT and O_DSYNC, so a completed write is on the device and a read sees the
 * device, not this host's page cache (which would hide what other hosts wrote). Where O_DIRECT
 * is refused (tmpfs, some network file systems) the copy falls back to buffered I/O with
 * O_DSYNC plus {@code fdatasync} after each write, and says so in {@link #ioMode()} for the log.
 * Direct I/O needs buffers aligned to the block size; each call uses its own aligned buffer so
 * that reads and writes may run concurrently on different threads.
 */
public final class DiskCopy implements AutoCloseable {
    /**
     * O_DIRECT, or null when this JDK lacks it. Looked up by name because the enum lives in
     * module jdk.unsupported, and naming it in source makes javac print a "proprietary API"
     * warning that no annotation suppresses (and the build treats warnings as errors).
     */
    private static final OpenOption DIRECT = directOption();

    private static OpenOption directOption() {
        try {
            for (Object o : Class.forName("com.sun.nio.file.ExtendedOpenOption").getEnumConstants()) {
                if (((Enum<?>) o).name().equals("DIRECT")) {
                    return (OpenOption) o;
                }
            }
        } catch (ClassNotFoundException e) {
            // fall through: buffered I/O with fdatasync
        }
        return null;
    }

    private final Copy copy;
    private final Path path;
    private final long regionOffset;
    private final FileChannel channel;
    private final boolean direct;
    private final String fallbackReason;

    private DiskCopy(Copy copy, Path path, long regionOffset, FileChannel channel, boolean direct, String fallbackReason) {
        this.copy = copy;
        this.path = path;
        this.regionOffset = regionOffset;
        this.channel = channel;
        this.direct = direct;
        this.fallbackReason = fallbackReason;
    }

    /** Opens an existing file or device for reading and writing. */
    public static DiskCopy open(Copy copy, Path path, long regionOffset, boolean writable) throws IOException {
        return open(copy, path, regionOffset, writable, DIRECT);
    }

    /** {@code direct} is the O_DIRECT option to try, or null to go straight to buffered I/O (tests of the fallback). */
    static DiskCopy open(Copy copy, Path path, long regionOffset, boolean writable, OpenOption direct) throws IOException {
        if (!Files.exists(path)) {
            throw new IOException(path + " does not exist");
        }
        List<OpenOption> options = new ArrayList<>(List.of(StandardOpenOption.READ));
        if (writable) {
            options.add(StandardOpenOption.WRITE);
            options.add(StandardOpenOption.DSYNC);
        }
        try {
            if (direct == null) {
                throw new UnsupportedOperationException("O_DIRECT not available");
            }
            List<OpenOption> withDirect = new ArrayList<>(options);
            withDirect.add(direct);
            FileChannel ch = FileChannel.open(path, withDirect.toArray(OpenOption[]::new));
            return new DiskCopy(copy, path, regionOffset, ch, true, null);
        } catch (IOException | UnsupportedOperationException e) {
            FileChannel ch = FileChannel.open(path, options.toArray(OpenOption[]::new));
            return new DiskCopy(copy, path, regionOffset, ch, false, "O_DIRECT refused (" + e.getMessage() + ")");
        }
    }

    public Copy copy() {
        return copy;
    }

    public Path path() {
        return path;
    }

    public long regionOffset() {
        return regionOffset;
    }

    /** "direct+dsync", or "buffered+dsync+fdatasync (why)" for the log. */
    public String ioMode() {
        return direct ? "direct+dsync" : "buffered+dsync+fdatasync (" + fallbackReason + ")";
    }

    public boolean direct() {
        return direct;
    }

    /** Reads {@code length} bytes at {@code offset} inside the region. */
    public byte[] read(long offset, int length) throws IOException {
        return readInto(aligned(length), offset, length);
    }

    /** A buffer for {@link #readReusing}, taken while a read uses it. */
    private final java.util.concurrent.atomic.AtomicReference<ByteBuffer> spare = new java.util.concurrent.atomic.AtomicReference<>();

    /**
     * Like {@link #read}, but reuses one aligned direct buffer across calls: the node daemon
     * reads the liveness area every interval, and allocating (and zeroing, and later freeing)
     * a direct buffer each time was most of an idle daemon's CPU. Concurrent callers get a
     * fresh buffer.
     */
    public byte[] readReusing(long offset, int length) throws IOException {
        ByteBuffer buf = spare.getAndSet(null);
        if (buf == null || buf.capacity() < length) {
            buf = ByteBuffer.allocateDirect(length + DiskLayout.BLOCK_SIZE_BYTES).alignedSlice(DiskLayout.BLOCK_SIZE_BYTES);
        }
        try {
            return readInto(buf, offset, length);
        } finally {
            spare.set(buf);
        }
    }

    private byte[] readInto(ByteBuffer buf, long offset, int length) throws IOException {
        buf.clear().limit(length);
        long position = regionOffset + offset;
        while (buf.hasRemaining()) {
            if (channel.read(buf, position + buf.position()) < 0) {
                throw new IOException("end of " + path + " at offset " + (position + buf.position())
                        + ": the device is smaller than the quorum disk layout");
            }
        }
        byte[] out = new byte[length];
        buf.flip().get(out);
        return out;
    }

    /** Writes {@code data} (a multiple of the block size) at {@code offset} inside the region, durably. */
    public void write(long offset, byte[] data) throws IOException {
        if (data.length % DiskLayout.BLOCK_SIZE_BYTES != 0 || offset % DiskLayout.BLOCK_SIZE_BYTES != 0) {
            throw new IllegalArgumentException("unaligned write of " + data.length + " bytes at " + offset);
        }
        ByteBuffer buf = aligned(data.length);
        buf.put(data).flip();
        long position = regionOffset + offset;
        while (buf.hasRemaining()) {
            channel.write(buf, position + buf.position());
        }
        if (!direct) {
            channel.force(false);
        }
    }

    private static ByteBuffer aligned(int length) {
        return ByteBuffer.allocateDirect(length + DiskLayout.BLOCK_SIZE_BYTES).alignedSlice(DiskLayout.BLOCK_SIZE_BYTES)
                .limit(length);
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }

    @Override
    public String toString() {
        return copy.label() + " " + path + (regionOffset == 0 ? "" : "@" + regionOffset);
    }
}
