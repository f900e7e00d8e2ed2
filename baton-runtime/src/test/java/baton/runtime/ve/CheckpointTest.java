package baton.runtime.ve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class CheckpointTest {
    static final Instant PAUSED = Instant.parse("2025-06-01T10:00:00.123Z");
    static final VeSpec WEB = new VeSpec("web", 128, 1, new VeSpec.Boot.Kernel(Path.of("/vmlinuz"), Optional.empty(), ""),
            List.of(), VeSpec.Accel.TCG);

    @TempDir
    Path dir;

    static int crc(byte[] bytes) {
        CRC32C c = new CRC32C();
        c.update(bytes);
        return (int) c.getValue();
    }

    /** A checkpoint file of {@code size} random bytes (more than one stream chunk when large) and its metadata, as a save leaves them. */
    Checkpoint saved(Path file, int size) throws IOException {
        byte[] bytes = new byte[size];
        new Random(size).nextBytes(bytes);
        Files.write(file, bytes);
        Checkpoint c = new Checkpoint("web", size, crc(bytes), 128, PAUSED);
        c.writeAtomically(Checkpoint.metaFile(file));
        return c;
    }

    @Test
    void theMetadataRoundTripsThroughItsJson() throws Exception {
        Checkpoint c = new Checkpoint("web", 100325357, 0x1c2d3e4f, 128, PAUSED);
        String json = new String(c.encode(), StandardCharsets.UTF_8);

        assertThat(json).isEqualTo("{\"format\":\"baton-checkpoint\",\"version\":1,\"veName\":\"web\",\"sizeBytes\":100325357,"
                + "\"crc32c\":\"1c2d3e4f\",\"memoryMib\":128,\"createdAt\":\"2025-06-01T10:00:00.123Z\"}\n");
        assertThat(Checkpoint.decode(c.encode())).isEqualTo(c);
        Checkpoint high = new Checkpoint("web", 1, 0xfedcba98, 32, PAUSED);
        assertThat(Checkpoint.decode(high.encode())).isEqualTo(high);
    }

    @Test
    void metadataThatIsNotExactlyOursIsRefusedWithTheReason() {
        String good = "\"format\":\"baton-checkpoint\",\"version\":1,\"veName\":\"web\",\"sizeBytes\":5,\"crc32c\":\"1c2d3e4f\","
                + "\"memoryMib\":128,\"createdAt\":\"2025-06-01T10:00:00Z\"";
        assertDecodeFails("{" + good + ",\"extra\":1}", "unknown key 'extra'");
        assertDecodeFails("{" + good.replace("baton-checkpoint", "qemu") + "}", "format 'qemu', not baton-checkpoint");
        assertDecodeFails("{" + good.replace("\"version\":1", "\"version\":2") + "}", "version 2; this Baton reads version 1");
        assertDecodeFails("{" + good.replace("1c2d3e4f", "1C2D3E4F") + "}", "crc32c '1C2D3E4F' is not 8 lower-case hex digits");
        assertDecodeFails("{" + good.replace("\"sizeBytes\":5", "\"sizeBytes\":\"5\"") + "}", "'sizeBytes' is not a whole number");
        assertDecodeFails("{" + good.replace("\"sizeBytes\":5,", "") + "}", "no key 'sizeBytes'");
        assertDecodeFails("{" + good.replace("\"sizeBytes\":5", "\"sizeBytes\":0") + "}", "sizeBytes 0 outside 1..");
        assertDecodeFails("{" + good.replace("\"sizeBytes\":5", "\"sizeBytes\":999999999999") + "}", "for a VE of 128 MiB");
        assertDecodeFails("{" + good.replace("\"memoryMib\":128", "\"memoryMib\":8") + "}", "memoryMib 8 outside 32..");
        assertDecodeFails("{" + good.replace("\"web\"", "\"Web\"") + "}", "VE name 'Web'");
        assertDecodeFails("{" + good.replace("2025-06-01T10:00:00Z", "yesterday") + "}", "createdAt 'yesterday' is not an ISO-8601 instant");
        assertDecodeFails("[1]", "not a JSON object");
        assertDecodeFails("{\"format\":", "not JSON");
    }

    static void assertDecodeFails(String json, String reason) {
        assertThatThrownBy(() -> Checkpoint.decode(json.getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(IOException.class).hasMessageContaining(reason);
    }

    @Test
    void aCheckpointOfAnotherVeOrAnotherMemorySizeIsRefused() {
        Checkpoint other = new Checkpoint("db", 5, 1, 128, PAUSED);
        Checkpoint bigger = new Checkpoint("web", 5, 1, 256, PAUSED);

        assertThat(other.refusal(WEB)).contains("it is a checkpoint of VE db, not of web");
        assertThat(bigger.refusal(WEB)).contains("it holds 256 MiB of RAM, VE web has 128 MiB");
        assertThat(new Checkpoint("web", 5, 1, 128, PAUSED).refusal(WEB)).isEmpty();
    }

    @Test
    void aFileOfAnotherSizeOrChecksumIsNotTheCheckpoint() {
        Checkpoint c = new Checkpoint("web", 1000, 0x12345678, 128, PAUSED);

        assertThat(c.mismatch(new Checkpoint.Sum(999, 0x12345678))).contains("truncated: 999 of 1000 bytes");
        assertThat(c.mismatch(new Checkpoint.Sum(1001, 0x12345678))).contains("1001 bytes, the metadata says 1000");
        assertThat(c.mismatch(new Checkpoint.Sum(1000, 0x12345679)))
                .contains("checksum mismatch: crc32c 12345679, the metadata says 12345678");
        assertThat(c.mismatch(new Checkpoint.Sum(1000, 0x12345678))).isEmpty();
    }

    @Test
    void verifyPassesAnIntactCheckpointAndRefusesMissingTruncatedCorruptAndForeignOnes() throws Exception {
        Path file = dir.resolve("web.ckpt");
        Checkpoint c = saved(file, 3 * Checkpoint.CHUNK_BYTES + 17);

        assertThat(Checkpoint.verify(file, WEB).checkpoint()).contains(c);

        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length / 2] ^= 0x01;
        Files.write(file, bytes);
        assertThat(Checkpoint.verify(file, WEB).refusal().orElseThrow())
                .startsWith("checkpoint " + file + ": checksum mismatch: crc32c ");
        bytes[bytes.length / 2] ^= 0x01;

        Files.write(file, java.util.Arrays.copyOf(bytes, 1000));
        assertThat(Checkpoint.verify(file, WEB).refusal())
                .contains("checkpoint " + file + ": truncated: 1000 of " + c.sizeBytes() + " bytes");

        Files.write(file, bytes);
        VeSpec db = new VeSpec("db", 128, 1, WEB.boot(), List.of(), VeSpec.Accel.TCG);
        assertThat(Checkpoint.verify(file, db).refusal()).contains("checkpoint " + file + ": it is a checkpoint of VE web, not of db");

        Files.writeString(Checkpoint.metaFile(file), "{\"format\":\"baton-checkpoint\"");
        assertThat(Checkpoint.verify(file, WEB).refusal().orElseThrow())
                .startsWith("checkpoint " + file + ": " + Checkpoint.metaFile(file) + " is not checkpoint metadata: not JSON");

        Files.delete(Checkpoint.metaFile(file));
        assertThat(Checkpoint.verify(file, WEB).refusal().orElseThrow())
                .startsWith("checkpoint " + file + ": cannot read " + Checkpoint.metaFile(file) + ": no such file or directory");

        Files.move(file, Checkpoint.partialFile(file));
        assertThat(Checkpoint.verify(file, WEB).refusal())
                .contains("checkpoint " + file + ": no such file (only web.ckpt.partial, an unfinished save)");
    }

    @Test
    void theMetadataIsWrittenAtomicallyAndLeavesNoTemporaryFile() throws Exception {
        Path meta = dir.resolve("x.meta");
        Files.writeString(meta, "old");
        Checkpoint c = new Checkpoint("web", 5, 1, 128, PAUSED);

        c.writeAtomically(meta);

        assertThat(Checkpoint.read(meta)).isEqualTo(c);
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("x.meta");
        }
    }

    @Test
    void receivingCountsSizeAndChecksumOfWhatItWrote() throws Exception {
        byte[] bytes = new byte[2 * Checkpoint.CHUNK_BYTES + 5];
        new Random(7).nextBytes(bytes);
        Path out = dir.resolve("out");
        AtomicLong progress = new AtomicLong();
        Checkpoint.Sum sum;
        try (FileChannel f = FileChannel.open(out, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            sum = Checkpoint.receive(Channels.newChannel(new java.io.ByteArrayInputStream(bytes)), f, bytes.length, out, progress::set);
        }

        assertThat(sum).isEqualTo(new Checkpoint.Sum(bytes.length, crc(bytes)));
        assertThat(Files.readAllBytes(out)).isEqualTo(bytes);
        assertThat(progress.get()).isEqualTo(bytes.length);
        assertThat(Checkpoint.sum(out, Long.MAX_VALUE)).isEqualTo(sum);

        try (FileChannel f = FileChannel.open(out, StandardOpenOption.WRITE)) {
            assertThatThrownBy(() -> Checkpoint.receive(Channels.newChannel(new java.io.ByteArrayInputStream(bytes)), f,
                    bytes.length - 1, out, n -> {}))
                    .hasMessageContaining("the stream exceeds " + (bytes.length - 1) + " bytes");
        }
    }

    @Test
    void aFullDiskIsReportedAsTheFileThatCouldNotBeWritten() throws Exception {
        // /dev/full answers every write with ENOSPC.
        Path name = dir.resolve("web.ckpt");
        try (FileChannel full = FileChannel.open(Path.of("/dev/full"), StandardOpenOption.WRITE)) {
            assertThatThrownBy(() -> Checkpoint.receive(Channels.newChannel(new java.io.ByteArrayInputStream(new byte[10])), full,
                    100, name, n -> {}))
                    .hasMessage("cannot write " + name + ": No space left on device");
        }
    }

    @Test
    void anIoExceptionsReasonIsTheOperatingSystemsNotJavas() {
        assertThat(Checkpoint.reason(new java.nio.file.NoSuchFileException("/x/y"))).isEqualTo("no such file or directory: /x/y");
        assertThat(Checkpoint.reason(new java.nio.file.FileSystemException("/x", null, "No space left on device")))
                .isEqualTo("No space left on device");
        assertThat(Checkpoint.reason(new IOException("No space left on device"))).isEqualTo("No space left on device");
    }
}
