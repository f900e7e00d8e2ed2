package baton.runtime.proc;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * The last {@code limitBytes} bytes of a stream, read until end of file by one thread and
 * looked at by another. An agent stuck in a loop printing must cost Baton bounded memory,
 * and the end is what matters: agents say why they failed last.
 */
final class OutputTail {
    private static final int READ_CHUNK_BYTES = 8192;

    private final byte[] ring;
    private long totalBytes;
    private boolean ended;

    OutputTail(int limitBytes) {
        if (limitBytes < 1) {
            throw new IllegalArgumentException("limitBytes " + limitBytes + " < 1");
        }
        this.ring = new byte[limitBytes];
    }

    /** Reads {@code in} to its end (or an I/O error, e.g. the stream closed under it). */
    void drain(InputStream in) {
        byte[] chunk = new byte[READ_CHUNK_BYTES];
        try (in) {
            int n;
            while ((n = in.read(chunk)) > 0) {
                append(chunk, n);
            }
        } catch (IOException e) {
            // The pipe went away (the process died, Baton closed it): what was read stays.
        } finally {
            synchronized (this) {
                ended = true;
            }
        }
    }

    private synchronized void append(byte[] chunk, int length) {
        for (int i = 0; i < length; i++) {
            ring[(int) ((totalBytes + i) % ring.length)] = chunk[i];
        }
        totalBytes += length;
    }

    synchronized long totalBytes() {
        return totalBytes;
    }

    synchronized boolean truncated() {
        return totalBytes > ring.length;
    }

    synchronized boolean ended() {
        return ended;
    }

    /**
     * The kept bytes as text. When the start was dropped, so is the first (partial) line: it
     * may begin in the middle of a character, or of a secret that scrubbing would then miss.
     */
    synchronized String text() {
        int kept = (int) Math.min(totalBytes, ring.length);
        byte[] bytes = new byte[kept];
        long start = totalBytes - kept;
        for (int i = 0; i < kept; i++) {
            bytes[i] = ring[(int) ((start + i) % ring.length)];
        }
        String text = new String(bytes, StandardCharsets.UTF_8);
        if (truncated()) {
            int newline = text.indexOf('\n');
            text = newline < 0 ? "" : text.substring(newline + 1);
        }
        return text;
    }
}
