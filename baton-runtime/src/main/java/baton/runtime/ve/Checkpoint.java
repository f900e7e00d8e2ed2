package baton.runtime.ve;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.DateTimeException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Semaphore;
import java.util.function.LongConsumer;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;

/**
 * The metadata of a VE's checkpoint: its QEMU's whole state (the migration stream of the
 * paused VE, RAM and devices) in a file FILE, described by this record in {@code FILE.meta}.
 *
 * <p>The files, and the order in which {@link VeMigration#saveCheckpoint} writes them:
 * <ol>
 *   <li>{@code FILE.partial}: the stream as QEMU sends it, its size and CRC32C counted on the
 *       way; synced, and its size checked. (Not read back: the guest is paused meanwhile, and
 *       the load checks the CRC32C anyway. The target may be loading it already.)
 *   <li>{@code FILE.meta}: this record as JSON, written to {@code FILE.meta.tmp}, synced and
 *       renamed, e.g. <pre>
 *       {"format":"baton-checkpoint","version":1,"veName":"web","sizeBytes":100325357,
 *        "crc32c":"1c2d3e4f","memoryMib":128,"createdAt":"2025-06-01T10:00:00.123Z"}</pre>
 *   <li>{@code FILE.partial} renamed to {@code FILE}: the save's commit; the folder synced.
 * </ol>
 * A crash anywhere leaves no {@code FILE}, or a {@code FILE} with an older {@code FILE.meta}
 * that does not match it; {@link #verify} refuses both. A file that passes is complete.
 *
 * <p>The record is checked when it is made and again when it is read (decode and the
 * constructor); a finished file's size against it before a load ({@link #precheck}), its CRC32C
 * while it is streamed ({@link CheckpointFollower}, which also loads a file still being written),
 * so that it is read once while the guest waits. {@link #verify} reads it all for its CRC32C
 * first.
 *
 * @param veName the VE whose state it is: a checkpoint loads only into a VE of that name
 * @param sizeBytes the file's exact size
 * @param crc32c CRC-32C (Castagnoli) of the whole file
 * @param memoryMib the VE's RAM: QEMU refuses a stream whose RAM block sizes differ, and this
 *     says so before the load begins
 * @param createdAt when the source VE was paused: the state in the file is of that instant
 */
public record Checkpoint(String veName, long sizeBytes, int crc32c, int memoryMib, Instant createdAt) {
    public static final String FORMAT = "baton-checkpoint";
    public static final int VERSION = 1;
    /** The metadata is a few hundred bytes; anything much larger is not ours. */
    public static final int MAX_META_BYTES = 64 << 10;
    /**
     * Above the RAM: the other RAM blocks (BIOS and option ROMs, 384 KiB for machine pc), a page
     * header of 8 bytes per 4 KiB page, and device state, a few hundred KiB.
     */
    static final long STREAM_OVERHEAD_BYTES = 64L << 20;
    static final int CHUNK_BYTES = 1 << 20;
    /** How much a save writes between syncs of the file while it is written ({@link Flusher}). */
    static final long FLUSH_BYTES = 8L << 20;

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern VE_NAME = Pattern.compile("[a-z][a-z0-9-]{0," + (VeSpec.MAX_NAME_CHARS - 1) + "}");
    private static final Pattern CRC_HEX = Pattern.compile("[0-9a-f]{8}");
    private static final Set<String> KEYS = Set.of("format", "version", "veName", "sizeBytes", "crc32c", "memoryMib", "createdAt");

    public Checkpoint {
        Objects.requireNonNull(veName, "veName");
        Objects.requireNonNull(createdAt, "createdAt");
        if (!VE_NAME.matcher(veName).matches()) {
            throw new IllegalArgumentException("VE name '" + veName + "' must match [a-z][a-z0-9-]* with at most "
                    + VeSpec.MAX_NAME_CHARS + " characters");
        }
        if (memoryMib < VeSpec.MIN_MEMORY_MIB || memoryMib > VeSpec.MAX_MEMORY_MIB) {
            throw new IllegalArgumentException("memoryMib " + memoryMib + " outside " + VeSpec.MIN_MEMORY_MIB + ".."
                    + VeSpec.MAX_MEMORY_MIB);
        }
        if (sizeBytes < 1 || sizeBytes > maxSizeBytes(memoryMib)) {
            throw new IllegalArgumentException("sizeBytes " + sizeBytes + " outside 1.." + maxSizeBytes(memoryMib)
                    + " for a VE of " + memoryMib + " MiB");
        }
    }

    /**
     * The largest stream a paused VE of {@code memoryMib} produces: each page is sent once, as
     * its 8-byte header alone when it is zero, so the stream cannot much exceed the RAM.
     */
    public static long maxSizeBytes(int memoryMib) {
        long ram = (long) memoryMib << 20;
        return ram + ram / 64 + STREAM_OVERHEAD_BYTES;
    }

    /** {@code FILE.meta}. */
    public static Path metaFile(Path file) {
        return file.resolveSibling(file.getFileName() + ".meta");
    }

    /** {@code FILE.partial}, the file while it is written. */
    public static Path partialFile(Path file) {
        return file.resolveSibling(file.getFileName() + ".partial");
    }

    /** The size and CRC-32C of a stream or file. */
    public record Sum(long sizeBytes, int crc32c) {
        @Override
        public String toString() {
            return sizeBytes + " bytes, crc32c " + hex(crc32c);
        }
    }

    /** The metadata as JSON (UTF-8, one line). */
    public byte[] encode() {
        ObjectNode o = JSON.createObjectNode();
        o.put("format", FORMAT);
        o.put("version", VERSION);
        o.put("veName", veName);
        o.put("sizeBytes", sizeBytes);
        o.put("crc32c", hex(crc32c));
        o.put("memoryMib", memoryMib);
        o.put("createdAt", createdAt.toString());
        try {
            return (JSON.writeValueAsString(o) + "\n").getBytes(StandardCharsets.UTF_8);
        } catch (JacksonException e) {
            throw new IllegalStateException("an ObjectNode of strings and numbers is always JSON", e);
        }
    }

    /**
     * Reads metadata written by {@link #encode}. Strict: every key present with its type, no
     * other key, this format and version, values in range.
     *
     * @throws IOException saying what is wrong, for the refusal's reason
     */
    public static Checkpoint decode(byte[] bytes) throws IOException {
        JsonNode o;
        try {
            o = JSON.readTree(bytes);
        } catch (JacksonException e) {
            throw new IOException("not JSON: " + e.getOriginalMessage());
        }
        if (o == null || !o.isObject()) {
            throw new IOException("not a JSON object");
        }
        for (var property : o.properties()) {
            if (!KEYS.contains(property.getKey())) {
                throw new IOException("unknown key '" + property.getKey() + "'");
            }
        }
        String format = text(o, "format");
        if (!format.equals(FORMAT)) {
            throw new IOException("format '" + format + "', not " + FORMAT);
        }
        long version = number(o, "version");
        if (version != VERSION) {
            throw new IOException(FORMAT + " version " + version + "; this Baton reads version " + VERSION);
        }
        String crc = text(o, "crc32c");
        if (!CRC_HEX.matcher(crc).matches()) {
            throw new IOException("crc32c '" + crc + "' is not 8 lower-case hex digits");
        }
        Instant createdAt;
        try {
            createdAt = Instant.parse(text(o, "createdAt"));
        } catch (DateTimeException e) {
            throw new IOException("createdAt '" + text(o, "createdAt") + "' is not an ISO-8601 instant");
        }
        long memoryMib = number(o, "memoryMib");
        if (memoryMib < VeSpec.MIN_MEMORY_MIB || memoryMib > VeSpec.MAX_MEMORY_MIB) {
            throw new IOException("memoryMib " + memoryMib + " outside " + VeSpec.MIN_MEMORY_MIB + ".." + VeSpec.MAX_MEMORY_MIB);
        }
        try {
            return new Checkpoint(text(o, "veName"), number(o, "sizeBytes"), Integer.parseUnsignedInt(crc, 16), (int) memoryMib,
                    createdAt);
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage());
        }
    }

    private static String text(JsonNode o, String key) throws IOException {
        JsonNode v = o.get(key);
        if (v == null || !v.isTextual()) {
            throw new IOException(v == null ? "no key '" + key + "'" : "'" + key + "' is not a string");
        }
        return v.asText();
    }

    private static long number(JsonNode o, String key) throws IOException {
        JsonNode v = o.get(key);
        if (v == null || !v.isIntegralNumber() || !v.canConvertToLong()) {
            throw new IOException(v == null ? "no key '" + key + "'" : "'" + key + "' is not a whole number");
        }
        return v.asLong();
    }

    /**
     * Writes the metadata to {@code metaFile} atomically: {@code metaFile.tmp}, synced, renamed
     * over {@code metaFile}, the folder synced.
     */
    public void writeAtomically(Path metaFile) throws IOException {
        Path tmp = metaFile.resolveSibling(metaFile.getFileName() + ".tmp");
        try {
            try (FileChannel c = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE)) {
                ByteBuffer b = ByteBuffer.wrap(encode());
                while (b.hasRemaining()) {
                    c.write(b);
                }
                c.force(true);
            }
            Files.move(tmp, metaFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        syncDirectory(metaFile.toAbsolutePath().getParent());
    }

    /** Reads and decodes {@code metaFile}; the exception names the file and what is wrong. */
    public static Checkpoint read(Path metaFile) throws IOException {
        byte[] bytes;
        try (FileChannel c = FileChannel.open(metaFile, StandardOpenOption.READ)) {
            long size = c.size();
            if (size > MAX_META_BYTES) {
                throw new IOException(metaFile + " has " + size + " bytes, checkpoint metadata at most " + MAX_META_BYTES);
            }
            ByteBuffer b = ByteBuffer.allocate((int) size);
            while (b.hasRemaining() && c.read(b) >= 0) {
                // read to the end
            }
            bytes = b.array();
        } catch (IOException e) {
            throw new IOException("cannot read " + metaFile + ": " + reason(e), e);
        }
        try {
            return decode(bytes);
        } catch (IOException e) {
            throw new IOException(metaFile + " is not checkpoint metadata: " + e.getMessage(), e);
        }
    }

    /** Why this checkpoint must not be loaded into VE {@code spec}, or empty when it may. */
    public Optional<String> refusal(VeSpec spec) {
        if (!veName.equals(spec.name())) {
            return Optional.of("it is a checkpoint of VE " + veName + ", not of " + spec.name());
        }
        if (memoryMib != spec.memoryMib()) {
            return Optional.of("it holds " + memoryMib + " MiB of RAM, VE " + spec.name() + " has " + spec.memoryMib() + " MiB");
        }
        return Optional.empty();
    }

    /** Why a file of {@code actual} size and checksum is not this checkpoint's, or empty when it is. */
    public Optional<String> mismatch(Sum actual) {
        if (actual.sizeBytes() < sizeBytes) {
            return Optional.of("truncated: " + actual.sizeBytes() + " of " + sizeBytes + " bytes");
        }
        if (actual.sizeBytes() > sizeBytes) {
            return Optional.of(actual.sizeBytes() + " bytes, the metadata says " + sizeBytes);
        }
        if (actual.crc32c() != crc32c) {
            return Optional.of("checksum mismatch: crc32c " + hex(actual.crc32c()) + ", the metadata says " + hex(crc32c));
        }
        return Optional.empty();
    }

    /**
     * Checks {@code file} and {@code FILE.meta} before a load into {@code spec}: the metadata is
     * there and valid, of this VE, and the file has its size and CRC-32C.
     *
     * @return the metadata, or the reason to refuse ("checkpoint FILE: ...")
     */
    public static Verified verify(Path file, VeSpec spec) {
        Verified pre = precheck(file, spec);
        if (pre.checkpoint().isEmpty()) {
            return pre;
        }
        String prefix = "checkpoint " + file + ": ";
        Checkpoint meta = pre.checkpoint().get();
        Sum actual;
        try {
            actual = sum(file, meta.sizeBytes() + 1);
        } catch (IOException e) {
            return new Verified(Optional.empty(), Optional.of(prefix + "cannot read it: " + reason(e)));
        }
        Optional<String> mismatch = meta.mismatch(actual);
        if (mismatch.isPresent()) {
            return new Verified(Optional.empty(), Optional.of(prefix + mismatch.get()));
        }
        return new Verified(Optional.of(meta), Optional.empty());
    }

    /**
     * {@link #verify} without reading the file: the metadata is there and valid, of this VE, and
     * the file has its size. The CRC-32C is then checked by {@link CheckpointFollower} on the way.
     */
    public static Verified precheck(Path file, VeSpec spec) {
        String prefix = "checkpoint " + file + ": ";
        if (!Files.exists(file)) {
            return new Verified(Optional.empty(), Optional.of(prefix + "no such file"
                    + (Files.exists(partialFile(file)) ? " (only " + partialFile(file).getFileName() + ", an unfinished save)" : "")));
        }
        Checkpoint meta;
        try {
            meta = read(metaFile(file));
        } catch (IOException e) {
            return new Verified(Optional.empty(), Optional.of(prefix + e.getMessage()));
        }
        Optional<String> refusal = meta.refusal(spec);
        if (refusal.isPresent()) {
            return new Verified(Optional.empty(), Optional.of(prefix + refusal.get()));
        }
        long size;
        try {
            size = Files.size(file);
        } catch (IOException e) {
            return new Verified(Optional.empty(), Optional.of(prefix + "cannot read it: " + reason(e)));
        }
        if (size != meta.sizeBytes()) {
            // Only the size is known: the checksum of the metadata stands for "not checked".
            Optional<String> mismatch = meta.mismatch(new Sum(size, meta.crc32c()));
            return new Verified(Optional.empty(), Optional.of(prefix + mismatch.orElseThrow()));
        }
        return new Verified(Optional.of(meta), Optional.empty());
    }

    /** The result of {@link #verify}: exactly one of the two is present. */
    public record Verified(Optional<Checkpoint> checkpoint, Optional<String> refusal) {
        public Verified {
            if (checkpoint.isPresent() == refusal.isPresent()) {
                throw new IllegalArgumentException("a checkpoint or a refusal, not both or neither");
            }
        }
    }

    /** Size and CRC-32C of {@code file}, reading at most {@code limitBytes} of it. */
    public static Sum sum(Path file, long limitBytes) throws IOException {
        try (FileChannel c = FileChannel.open(file, StandardOpenOption.READ)) {
            CRC32C crc = new CRC32C();
            ByteBuffer b = ByteBuffer.allocate(CHUNK_BYTES);
            long size = 0;
            while (size < limitBytes) {
                b.clear().limit((int) Math.min(CHUNK_BYTES, limitBytes - size));
                int n = c.read(b);
                if (n < 0) {
                    break;
                }
                crc.update(b.flip());
                size += n;
            }
            return new Sum(size, (int) crc.getValue());
        }
    }

    /**
     * Copies a stream into {@code out} until its end, counting its size and CRC-32C, and syncs
     * {@code out}. The exception says which side failed: "cannot write {@code name}: ..." (the
     * disk), "the stream broke: ..." (the sender), or the stream exceeded {@code limitBytes}.
     */
    static Sum receive(ReadableByteChannel in, FileChannel out, long limitBytes, Path name, LongConsumer received)
            throws IOException {
        try (Flusher flusher = new Flusher(out)) {
            return receive(in, out, limitBytes, name, received, flusher);
        }
    }

    private static Sum receive(ReadableByteChannel in, FileChannel out, long limitBytes, Path name, LongConsumer received,
                               Flusher flusher) throws IOException {
        CRC32C crc = new CRC32C();
        ByteBuffer b = ByteBuffer.allocateDirect(CHUNK_BYTES);
        long size = 0;
        long flushed = 0;
        while (true) {
            b.clear();
            int n;
            try {
                n = in.read(b);
            } catch (IOException e) {
                throw new IOException("the stream broke after " + size + " bytes: " + reason(e), e);
            }
            if (n < 0) {
                break;
            }
            size += n;
            if (size > limitBytes) {
                throw new IOException("the stream exceeds " + limitBytes + " bytes, more than a VE of this size can hold");
            }
            b.flip();
            crc.update(b.duplicate());
            try {
                while (b.hasRemaining()) {
                    out.write(b);
                }
            } catch (IOException e) {
                throw new IOException("cannot write " + name + ": " + reason(e), e);
            }
            received.accept(size);
            if (size - flushed >= FLUSH_BYTES) {
                flusher.due();
                flushed = size;
            }
        }
        try {
            out.force(true);
        } catch (IOException e) {
            throw new IOException("cannot write " + name + ": fsync failed: " + reason(e), e);
        }
        return new Sum(size, (int) crc.getValue());
    }

    /**
     * Syncs a file that is being written, from its own thread, when told: the disk writes what
     * arrived while more arrives, and the sync at the end (which the paused guest waits for)
     * finds little left. Without it that sync took 50 ms of a 128 MiB VE's pause (93 MB) here;
     * with a sync every {@link #FLUSH_BYTES}, under 10 ms.
     */
    private static final class Flusher implements AutoCloseable {
        private final FileChannel out;
        private final Semaphore due = new Semaphore(0);
        private volatile boolean closed;

        Flusher(FileChannel out) {
            this.out = out;
            Thread.ofPlatform().daemon().name("checkpoint-flusher").start(this::run);
        }

        /** Asks for a sync; one asked while one runs is done after it, two are one. */
        void due() {
            if (due.availablePermits() == 0) {
                due.release();
            }
        }

        private void run() {
            while (!closed) {
                try {
                    due.acquire();
                } catch (InterruptedException e) {
                    return;
                }
                if (closed) {
                    return;
                }
                try {
                    out.force(false);
                } catch (IOException e) {
                    // The final sync, on the receiving thread, reports a disk that fails.
                }
            }
        }

        @Override
        public void close() {
            closed = true;
            due.release();
        }
    }

    /** fsync of a folder, so that a rename in it survives a crash. */
    static void syncDirectory(Path dir) throws IOException {
        try (FileChannel c = FileChannel.open(dir, StandardOpenOption.READ)) {
            c.force(true);
        }
    }

    /** What went wrong, without Java's exception class names: the OS's reason where there is one. */
    static String reason(IOException e) {
        return switch (e) {
            case NoSuchFileException n -> "no such file or directory" + (n.getFile() == null ? "" : ": " + n.getFile());
            case AccessDeniedException a -> "permission denied" + (a.getFile() == null ? "" : ": " + a.getFile());
            case FileSystemException f when f.getReason() != null -> f.getReason();
            default -> e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        };
    }

    static String hex(int crc32c) {
        return HexFormat.of().toHexDigits(crc32c);
    }

    @Override
    public String toString() {
        return "checkpoint of VE " + veName + " (" + memoryMib + " MiB) of " + createdAt + ": " + sizeBytes + " bytes, crc32c "
                + hex(crc32c);
    }
}
