package baton.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Loop devices as quorum disk copies, opened the way a node opens them
 * (O_RDWR | O_DIRECT | O_DSYNC), and broken under a node that already holds them open.
 */
@ExtendWith(NetnsUnchanged.class)
class LoopDeviceTest {
    private static final int BLOCK = 4096;

    @TempDir
    Path dir;

    private Path backingFile() throws IOException {
        Path file = dir.resolve("disk.img");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.truncate(0);
            ch.write(ByteBuffer.allocate(1), 4L * 1024 * 1024 - 1);
        }
        return file;
    }

    /**
     * com.sun.nio.file.ExtendedOpenOption.DIRECT, looked up by name: javac warns about any
     * direct use of com.sun.* and no annotation silences that warning, which -Werror makes fatal.
     */
    static final OpenOption DIRECT = directOption();

    private static OpenOption directOption() {
        try {
            return (OpenOption) Class.forName("com.sun.nio.file.ExtendedOpenOption").getField("DIRECT").get(null);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("this JDK has no ExtendedOpenOption.DIRECT", e);
        }
    }

    private static FileChannel openLikeANode(Path device) throws IOException {
        return FileChannel.open(device, StandardOpenOption.READ, StandardOpenOption.WRITE, StandardOpenOption.DSYNC, DIRECT);
    }

    private static ByteBuffer block(byte fill) {
        ByteBuffer b = ByteBuffer.allocateDirect(2 * BLOCK).alignedSlice(BLOCK);
        b.limit(BLOCK);
        while (b.hasRemaining()) {
            b.put(fill);
        }
        return b.flip();
    }

    @Test
    void readOnlyFailsWritesThroughAnAlreadyOpenDescriptorAndReadWriteHealsIt() throws IOException {
        try (Lab lab = Lab.create(0, false)) {
            LoopDevice disk = lab.loopDevice(backingFile(), true);
            assertThat(disk.directIo()).isTrue();
            try (FileChannel ch = openLikeANode(disk.path())) {
                assertThat(ch.write(block((byte) 1), 0)).isEqualTo(BLOCK);

                disk.setReadOnly(true);
                assertThat(disk.readOnly()).isTrue();
                assertThatThrownBy(() -> ch.write(block((byte) 2), BLOCK))
                        .isInstanceOf(IOException.class)
                        .hasMessageContaining("Operation not permitted");
                ByteBuffer read = block((byte) 0);
                assertThat(ch.read(read, 0)).as("reads keep working").isEqualTo(BLOCK);
                assertThat(read.get(0)).isEqualTo((byte) 1);

                disk.setReadOnly(false);
                assertThat(ch.write(block((byte) 3), BLOCK)).isEqualTo(BLOCK);
            }
            // The loop device wrote through to the file (direct I/O), no page cache in between.
            byte[] file = Files.readAllBytes(disk.backingFile());
            assertThat(file[0]).isEqualTo((byte) 1);
            assertThat(file[BLOCK]).isEqualTo((byte) 3);
        }
    }

    @Test
    void closingTheLabDetachesItsLoopDevices() throws IOException {
        Path file = backingFile();
        LoopDevice disk;
        try (Lab lab = Lab.create(0, false)) {
            disk = lab.loopDevice(file, false);
            assertThat(attachedTo(disk.path())).isEqualTo(file.toString());
            assertThat(RunDir.loopRecord(lab.tag())).exists();
        }
        assertThat(attachedTo(disk.path())).isNotEqualTo(file.toString());
        disk.close(); // idempotent, and harmless after the lab detached it
    }

    @Test
    void aStandaloneLoopDeviceDetachesOnClose() throws IOException {
        Path file = backingFile();
        Path device;
        try (LoopDevice disk = LoopDevice.attach(file, true)) {
            device = disk.path();
            assertThat(attachedTo(device)).isEqualTo(file.toString());
        }
        assertThat(attachedTo(device)).isNotEqualTo(file.toString());
    }

    @Test
    void flipByteCorruptsTheDeviceUnderADirectReader() throws IOException {
        try (LoopDevice disk = LoopDevice.attach(backingFile(), true); FileChannel ch = openLikeANode(disk.path())) {
            ch.write(block((byte) 0x5A), 0);
            Corruption.flipByte(disk.path(), 100);
            ByteBuffer read = block((byte) 0);
            ch.read(read, 0);
            assertThat(read.get(100)).isEqualTo((byte) 0xA5);
            assertThat(read.get(99)).isEqualTo((byte) 0x5A);
        }
    }

    /** The loop device's backing file as the kernel reports it, or "" when it is not attached. */
    static String attachedTo(Path device) throws IOException {
        Path f = Path.of("/sys/block", device.getFileName().toString(), "loop", "backing_file");
        return Files.exists(f) ? Files.readString(f).strip() : "";
    }
}
