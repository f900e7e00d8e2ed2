package baton.runtime.ve;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.function.LongConsumer;
import java.util.zip.CRC32C;

/**
 * Streams a checkpoint to the QEMU that loads it, following the file while its source still
 * writes it, so that the target loads while the source saves and the guest's pause is about the
 * longer of the two, not their sum.
 *
 * <p>The source ({@link VeMigration#saveCheckpoint}) writes {@code FILE.partial}, syncs it, writes
 * {@code FILE.meta} atomically, then renames the partial file to {@code FILE}; a save that fails
 * deletes what it wrote. This reads {@code FILE}, or {@code FILE.partial} until it is renamed (the
 * open file is the same), as far as it has been written, and waits a moment at its current end.
 *
 * <p>Safety: the receiver must never get a whole stream other than the one the metadata
 * describes, nor one whose save did not complete. The most recently read bytes (up to
 * {@link Checkpoint#CHUNK_BYTES}) are always held back; QEMU cannot finish a load without the
 * stream's last bytes. They go out only when the metadata is there, the file has its size and
 * CRC-32C, and {@code FILE} exists: its source renames the file only after the metadata, as the
 * save's last step, so a save that fails never makes it (a failure after the rename does not undo
 * it). A save that ends without {@code FILE} (the partial file gone) is reported as abandoned at
 * once; a file with its metadata that stays short after a second open is truncated.
 *
 * <p>On shared storage a reader on another host may see a growing file's end late; reopening at
 * the end when the metadata says there is more is what close-to-open consistency (NFS) needs.
 *
 * <p>The buffers are direct: the source's QEMU, the target's QEMU and the two copies share two
 * cores here, and a heap buffer costs a copy more per read and per write.
 */
final class CheckpointFollower {
    /** How long to wait at the file's current end before reading again. */
    static final Duration POLL = Duration.ofMillis(2);

    private final Path file;
    private final Path partial;
    private final Path metaFile;
    private final VeSpec spec;
    private final long deadlineNanos;
    private final String prefix;
    /** The open file: {@code FILE.partial} or {@code FILE}, the same file under either name. */
    private FileChannel in;

    /**
     * @param file the checkpoint's final name
     * @param spec the VE that loads it: a checkpoint of another VE or memory size is refused
     * @param deadlineNanos ({@link System#nanoTime}) when to stop waiting for the source
     */
    CheckpointFollower(Path file, VeSpec spec, long deadlineNanos) {
        this.file = Objects.requireNonNull(file, "file");
        this.partial = Checkpoint.partialFile(file);
        this.metaFile = Checkpoint.metaFile(file);
        this.spec = Objects.requireNonNull(spec, "spec");
        this.deadlineNanos = deadlineNanos;
        this.prefix = "checkpoint " + file + ": ";
    }

    /**
     * Copies the checkpoint into {@code out} as it is written, reporting the bytes sent; returns
     * its metadata once all of it went out.
     *
     * @throws IOException the reason it was not sent whole: refused, damaged, truncated,
     *     abandoned by its source, not there by the deadline, or {@code out} failed or was closed
     */
    Checkpoint send(WritableByteChannel out, LongConsumer sent) throws IOException, InterruptedException {
        in = open(out);
        try {
            return copy(out, sent);
        } finally {
            in.close();
        }
    }

    /** The file, or its partial version, once the source has created it. */
    private FileChannel open(WritableByteChannel out) throws IOException, InterruptedException {
        while (true) {
            // The final name first: the partial file may be renamed between the two tries, then the next round finds it.
            for (Path p : new Path[] {file, partial}) {
                try {
                    return FileChannel.open(p, StandardOpenOption.READ);
                } catch (NoSuchFileException e) {
                    // Not (or no longer) under this name.
                }
            }
            waitAtEnd(out, "no checkpoint was written");
        }
    }

    private Checkpoint copy(WritableByteChannel out, LongConsumer sent) throws IOException, InterruptedException {
        CRC32C crc = new CRC32C();
        Held held = new Held(out, sent);
        ByteBuffer next = ByteBuffer.allocateDirect(Checkpoint.CHUNK_BYTES);
        long read = 0;
        long limit = Checkpoint.maxSizeBytes(spec.memoryMib());
        Checkpoint meta = null;
        boolean reopened = false;
        while (true) {
            if (meta == null && Files.exists(metaFile)) {
                meta = metadata();
                limit = meta.sizeBytes();
                if (read > limit) {
                    throw new IOException(prefix + meta.mismatch(new Checkpoint.Sum(read, meta.crc32c())).orElseThrow());
                }
            }
            int from = next.position();
            int n = in.read(next);
            if (n > 0) {
                read += n;
                if (read > limit) {
                    throw new IOException(meta == null ? prefix + "more than " + limit + " bytes, more than a VE of "
                            + spec.memoryMib() + " MiB can hold" : prefix + "grew past " + limit + " bytes while it was loaded");
                }
                crc.update(next.duplicate().flip().position(from));
                if (!next.hasRemaining()) {
                    next = held.replaceWith(next);
                }
                reopened = false;
                continue;
            }
            // At the end of what is there now: send all but the newest bytes.
            if (next.position() > 0) {
                next = held.replaceWith(next);
            }
            if (meta != null && read == meta.sizeBytes()) {
                Optional<String> mismatch = meta.mismatch(new Checkpoint.Sum(read, (int) crc.getValue()));
                if (mismatch.isPresent()) {
                    throw new IOException(prefix + mismatch.get());
                }
                if (Files.exists(file)) {
                    held.flush();
                    return meta;
                }
            } else if (meta != null && Files.exists(file)) {
                // Complete on the source's side (it renames last), so what is missing here is seen after a reopen, or never.
                if (reopened) {
                    throw new IOException(prefix + meta.mismatch(new Checkpoint.Sum(read, meta.crc32c())).orElseThrow());
                }
                FileChannel again = FileChannel.open(file, StandardOpenOption.READ);
                in.close();
                in = again;
                in.position(read);
                reopened = true;
                continue;
            }
            if (!Files.exists(partial) && !Files.exists(file)) {
                throw new IOException(prefix + "its save was abandoned after " + read + " bytes (" + partial.getFileName()
                        + " was removed before the file was complete)");
            }
            waitAtEnd(out, "the save did not complete (" + read + " bytes written)");
        }
    }

    private Checkpoint metadata() throws IOException {
        Checkpoint meta = Checkpoint.read(metaFile);
        Optional<String> refusal = meta.refusal(spec);
        if (refusal.isPresent()) {
            throw new IOException(prefix + refusal.get());
        }
        return meta;
    }

    private void waitAtEnd(WritableByteChannel out, String what) throws IOException, InterruptedException {
        if (!out.isOpen()) {
            throw new IOException("the stream to the target was closed");
        }
        if (System.nanoTime() - deadlineNanos >= 0) {
            throw new IOException(prefix + what + " by the deadline");
        }
        Thread.sleep(POLL);
    }

    /** The bytes held back: the newest read, sent only when newer ones arrive or the whole file checked out. */
    private static final class Held {
        private final WritableByteChannel out;
        private final LongConsumer sent;
        private ByteBuffer bytes = ByteBuffer.allocateDirect(Checkpoint.CHUNK_BYTES).limit(0);
        private long written;

        Held(WritableByteChannel out, LongConsumer sent) {
            this.out = out;
            this.sent = sent;
        }

        /** Sends what was held, holds {@code newest} (filled, in write mode); returns an empty buffer to fill next. */
        ByteBuffer replaceWith(ByteBuffer newest) throws IOException {
            flush();
            ByteBuffer free = bytes.clear();
            bytes = newest.flip();
            return free;
        }

        void flush() throws IOException {
            if (!bytes.hasRemaining()) {
                return;
            }
            while (bytes.hasRemaining()) {
                written += out.write(bytes);
            }
            sent.accept(written);
        }
    }
}
