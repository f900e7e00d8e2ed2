package baton.runtime.ve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The load's side of a checkpoint: real files, written by a thread as a save writes them. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class CheckpointFollowerTest {
    static final VeSpec WEB = CheckpointTest.WEB;
    static final int SIZE = 3 * Checkpoint.CHUNK_BYTES + 12345;

    @TempDir
    Path dir;

    final byte[] bytes = random(SIZE);

    static byte[] random(int size) {
        byte[] b = new byte[size];
        new Random(size).nextBytes(b);
        return b;
    }

    static Checkpoint metaOf(byte[] bytes) {
        CRC32C c = new CRC32C();
        c.update(bytes);
        return new Checkpoint("web", bytes.length, (int) c.getValue(), 128, CheckpointTest.PAUSED);
    }

    long soon(Duration d) {
        return System.nanoTime() + d.toNanos();
    }

    /** Everything sent, and the count the follower reported. */
    static final class Received implements WritableByteChannel {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        final WritableByteChannel channel = Channels.newChannel(bytes);
        final AtomicLong reported = new AtomicLong();
        volatile boolean open = true;

        @Override
        public synchronized int write(ByteBuffer src) throws IOException {
            return channel.write(src);
        }

        @Override
        public boolean isOpen() {
            return open;
        }

        @Override
        public void close() {
            open = false;
        }

        synchronized int size() {
            return bytes.size();
        }
    }

    CompletableFuture<Checkpoint> follow(Path file, Received out, Duration limit) {
        CheckpointFollower f = new CheckpointFollower(file, WEB, soon(limit));
        return CompletableFuture.supplyAsync(() -> {
            try {
                return f.send(out, out.reported::set);
            } catch (IOException e) {
                throw new java.util.concurrent.CompletionException(e);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    static String failure(CompletableFuture<?> f) throws InterruptedException {
        try {
            f.get(20, TimeUnit.SECONDS);
            throw new AssertionError("it did not fail");
        } catch (ExecutionException e) {
            return e.getCause().getMessage();
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("it did not end", e);
        }
    }

    /** Writes {@code bytes} into FILE.partial in pieces, as QEMU's stream arrives, with pauses between them. */
    void writeSlowly(Path file, byte[] bytes, int upTo) throws Exception {
        try (FileChannel c = FileChannel.open(Checkpoint.partialFile(file), StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            int piece = 300_000;
            for (int at = 0; at < upTo; at += piece) {
                c.write(ByteBuffer.wrap(bytes, at, Math.min(piece, upTo - at)));
                Thread.sleep(5);
            }
            c.force(true);
        }
    }

    /** The save's last steps: metadata, then the rename. */
    static void commit(Path file, Checkpoint meta) throws IOException {
        meta.writeAtomically(Checkpoint.metaFile(file));
        Files.move(Checkpoint.partialFile(file), file, StandardCopyOption.ATOMIC_MOVE);
    }

    @Test
    void aFinishedCheckpointIsSentWhole() throws Exception {
        Path file = dir.resolve("web.state");
        Files.write(file, bytes);
        Checkpoint meta = metaOf(bytes);
        meta.writeAtomically(Checkpoint.metaFile(file));
        Received out = new Received();

        assertThat(follow(file, out, Duration.ofSeconds(10)).get()).isEqualTo(meta);

        assertThat(out.bytes.toByteArray()).isEqualTo(bytes);
        assertThat(out.reported.get()).isEqualTo(SIZE);
    }

    @Test
    void aCheckpointIsLoadedWhileItIsWrittenAndItsLastBytesOnlyOnceTheSaveCommitted() throws Exception {
        Path file = dir.resolve("web.state");
        Received out = new Received();
        CompletableFuture<Checkpoint> following = follow(file, out, Duration.ofSeconds(20));
        Thread.sleep(50);
        assertThat(following).as("waits for the source to begin").isNotDone();

        writeSlowly(file, bytes, SIZE);
        // All written and synced, no metadata yet: most of it goes on, the newest bytes are held back.
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (out.size() < SIZE - Checkpoint.CHUNK_BYTES && System.nanoTime() < until) {
            Thread.sleep(5);
        }
        Thread.sleep(50);
        assertThat(out.size()).isGreaterThanOrEqualTo(SIZE - Checkpoint.CHUNK_BYTES).isLessThan(SIZE);
        Checkpoint meta = metaOf(bytes);
        meta.writeAtomically(Checkpoint.metaFile(file));
        Thread.sleep(50);
        assertThat(following).as("the metadata alone does not complete it: the rename is the save's commit").isNotDone();
        Files.move(Checkpoint.partialFile(file), file, StandardCopyOption.ATOMIC_MOVE);

        assertThat(following.get(10, TimeUnit.SECONDS)).isEqualTo(meta);
        assertThat(out.bytes.toByteArray()).isEqualTo(bytes);
    }

    @Test
    void aSaveThatIsAbandonedIsReportedAtOnceAndNeverSentWhole() throws Exception {
        Path file = dir.resolve("web.state");
        Received out = new Received();
        CompletableFuture<Checkpoint> following = follow(file, out, Duration.ofSeconds(20));
        writeSlowly(file, bytes, SIZE / 2);
        Files.delete(Checkpoint.partialFile(file));

        assertThat(failure(following)).isEqualTo("checkpoint " + file + ": its save was abandoned after " + (SIZE / 2)
                + " bytes (web.state.partial was removed before the file was complete)");
        assertThat(out.size()).isLessThan(SIZE / 2);

        // Metadata written, then the rename failed and the save removed what it wrote: abandoned too.
        Received again = new Received();
        CompletableFuture<Checkpoint> second = follow(file, again, Duration.ofSeconds(20));
        writeSlowly(file, bytes, SIZE);
        metaOf(bytes).writeAtomically(Checkpoint.metaFile(file));
        Thread.sleep(50);
        Files.delete(Checkpoint.metaFile(file));
        Files.delete(Checkpoint.partialFile(file));
        assertThat(failure(second)).contains("its save was abandoned after " + SIZE + " bytes");
        assertThat(again.size()).isLessThan(SIZE);
    }

    @Test
    void aDamagedTruncatedOrForeignCheckpointIsRefusedAndNeverSentWhole() throws Exception {
        Checkpoint meta = metaOf(bytes);
        byte[] damaged = bytes.clone();
        damaged[SIZE / 3] ^= 0x40;
        Path file = dir.resolve("web.state");
        Received out = new Received();
        CompletableFuture<Checkpoint> following = follow(file, out, Duration.ofSeconds(20));
        writeSlowly(file, damaged, SIZE);
        commit(file, meta);
        assertThat(failure(following)).isEqualTo("checkpoint " + file + ": checksum mismatch: crc32c "
                + Checkpoint.hex(metaOf(damaged).crc32c()) + ", the metadata says " + Checkpoint.hex(meta.crc32c()));
        assertThat(out.size()).isLessThan(SIZE);

        Path shortFile = dir.resolve("short.state");
        Files.write(shortFile, Arrays.copyOf(bytes, 10));
        meta.writeAtomically(Checkpoint.metaFile(shortFile));
        assertThat(failure(follow(shortFile, new Received(), Duration.ofSeconds(10))))
                .isEqualTo("checkpoint " + shortFile + ": truncated: 10 of " + SIZE + " bytes");

        Path longFile = dir.resolve("long.state");
        Files.write(longFile, Arrays.copyOf(bytes, SIZE + 1));
        meta.writeAtomically(Checkpoint.metaFile(longFile));
        Received longOut = new Received();
        assertThat(failure(follow(longFile, longOut, Duration.ofSeconds(10)))).contains("grew past " + SIZE + " bytes");
        assertThat(longOut.size()).isLessThan(SIZE);

        Path other = dir.resolve("db.state");
        Files.write(other, bytes);
        new Checkpoint("db", SIZE, meta.crc32c(), 128, CheckpointTest.PAUSED).writeAtomically(Checkpoint.metaFile(other));
        assertThat(failure(follow(other, new Received(), Duration.ofSeconds(10))))
                .isEqualTo("checkpoint " + other + ": it is a checkpoint of VE db, not of web");
    }

    @Test
    void nothingWrittenByTheDeadlineOrAClosedReceiverEndsTheWait() throws Exception {
        Path file = dir.resolve("web.state");
        assertThat(failure(follow(file, new Received(), Duration.ofMillis(200))))
                .isEqualTo("checkpoint " + file + ": no checkpoint was written by the deadline");

        Received out = new Received();
        CompletableFuture<Checkpoint> following = follow(file, out, Duration.ofSeconds(20));
        writeSlowly(file, bytes, SIZE / 2);
        out.close();
        assertThat(failure(following)).isEqualTo("the stream to the target was closed");
    }

    @Test
    void theSameFileUnderItsPartialNameAndItsFinalOneIsReadOnce() throws Exception {
        // The follower opened FILE.partial; it is renamed while read: the same file, not read twice.
        Path file = dir.resolve("web.state");
        Files.write(Checkpoint.partialFile(file), Arrays.copyOf(bytes, SIZE / 2));
        Received out = new Received();
        CompletableFuture<Checkpoint> following = follow(file, out, Duration.ofSeconds(20));
        Thread.sleep(50);
        try (FileChannel c = FileChannel.open(Checkpoint.partialFile(file), StandardOpenOption.APPEND)) {
            c.write(ByteBuffer.wrap(bytes, SIZE / 2, SIZE - SIZE / 2));
        }
        commit(file, metaOf(bytes));

        assertThat(following.get(10, TimeUnit.SECONDS).sizeBytes()).isEqualTo(SIZE);
        assertThat(out.bytes.toByteArray()).isEqualTo(bytes);
        assertThat(out.reported.get()).isEqualTo(SIZE);
    }
}
