package baton.lab;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Silent data corruption, the kind a checksum must catch: bytes change, no I/O fails. */
public final class Corruption {
    private Corruption() {}

    /**
     * Inverts every bit of the byte at {@code offset} of {@code file} (a regular file or a block
     * device) and forces it to disk, so that a reader using O_DIRECT sees the change too.
     */
    public static void flipByte(Path file, long offset) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer one = ByteBuffer.allocate(1);
            if (ch.read(one, offset) != 1) {
                throw new IllegalArgumentException("offset " + offset + " is past the end of " + file + " (" + ch.size() + " bytes)");
            }
            one.put(0, (byte) (one.get(0) ^ 0xFF)).rewind();
            if (ch.write(one, offset) != 1) {
                throw new IOException("short write at offset " + offset);
            }
            ch.force(true);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot flip the byte at offset " + offset + " of " + file, e);
        }
    }
}
