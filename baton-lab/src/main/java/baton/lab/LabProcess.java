package baton.lab;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A process the lab started inside a host, with the signals fault tests send to real nodes:
 * a crash (SIGKILL), a freeze (SIGSTOP, as a long GC pause or a stalled VM would) and a thaw.
 */
public final class LabProcess {
    private final String host;
    private final List<String> command;
    private final Process process;
    private final Path logFile;
    /** Where the log file ended when this process started: what came before belongs to earlier runs. */
    private final long logStart;

    LabProcess(String host, List<String> command, Process process, Path logFile, long logStart) {
        this.host = host;
        this.command = List.copyOf(command);
        this.process = process;
        this.logFile = logFile;
        this.logStart = logStart;
    }

    public long pid() {
        return process.pid();
    }

    /** A crash: SIGKILL to this process only. Children it started live on, as they would after a real crash. */
    public void kill9() {
        process.destroyForcibly();
    }

    /** Freezes the process; it stays alive and keeps every file and socket open, but runs no code. */
    public void sigstop() {
        signal("STOP");
    }

    public void sigcont() {
        signal("CONT");
    }

    /** Asks the process to stop cleanly. */
    public void sigterm() {
        process.destroy();
    }

    /** True until the process has exited; a stopped process is alive. */
    public boolean isAlive() {
        return process.isAlive();
    }

    /** The process's state from /proc, or empty once it has exited and been reaped. */
    public Optional<ProcStat> stat() {
        return ProcStat.read(pid());
    }

    /**
     * Waits for the process to exit and returns its exit status (128 + N after signal N, as a
     * shell reports it). Throws {@link LabTimeoutException} if it still runs after {@code timeout}.
     */
    public int waitFor(Duration timeout) {
        try {
            if (!process.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS)) {
                throw new LabTimeoutException(this + " still running after " + timeout);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for " + this, e);
        }
        return process.exitValue();
    }

    /** The file that receives this process's stdout and stderr. */
    public Path logFile() {
        return logFile;
    }

    /** The whole log file as it is now, including what earlier processes appended to it. */
    public String log() {
        try {
            return Files.readString(logFile, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return "";
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read log " + logFile, e);
        }
    }

    /**
     * Waits until this process has written {@code substring} to its log, polling every 20 ms.
     * Only what was appended since this process started is searched, so a restarted node is not
     * fooled by its previous run's lines. Returns false at the timeout, or as soon as the
     * process has exited without writing it.
     */
    public boolean awaitLog(String substring, Duration timeout) {
        if (substring.isEmpty()) {
            throw new IllegalArgumentException("awaitLog needs a non-empty substring");
        }
        LogScan scan = new LogScan(substring.getBytes(StandardCharsets.UTF_8), logStart);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            // Check for exit before scanning: a process that had exited has written all it will.
            boolean exited = !process.isAlive();
            if (scan.found()) {
                return true;
            }
            if (exited || System.nanoTime() - deadline >= 0) {
                return false;
            }
            Poll.pause();
        }
    }

    /** Reads the log incrementally, keeping only enough overlap to find a match split across two reads. */
    private final class LogScan {
        private final byte[] needle;
        private final long start;
        private long position;

        LogScan(byte[] needle, long start) {
            this.needle = needle;
            this.start = start;
            this.position = start;
        }

        boolean found() {
            try (FileChannel ch = FileChannel.open(logFile, StandardOpenOption.READ)) {
                long size = ch.size();
                long from = Math.max(start, Math.min(position, size) - (needle.length - 1));
                if (from >= size) {
                    return false;
                }
                // A bounded read per poll; a log that grows faster is caught up over several polls.
                ByteBuffer buf = ByteBuffer.allocate((int) Math.min(size - from, 1 << 20));
                ch.read(buf, from);
                position = from + buf.position();
                return indexOf(buf.array(), buf.position(), needle) >= 0;
            } catch (NoSuchFileException e) {
                return false;
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read log " + logFile, e);
            }
        }
    }

    private static int indexOf(byte[] hay, int length, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private void signal(String name) {
        Cmd.check(Netns.COMMAND_TIMEOUT, "kill", "-s", name, Long.toString(pid()));
    }

    @Override
    public String toString() {
        return "pid " + pid() + " on " + host + " (" + String.join(" ", command) + ")";
    }

    /**
     * Where {@code c}'s classes are: the folder or jar that holds it, the class path of a small
     * JVM the lab starts in a host (the Redfish BMC's server, the transfer watch), which needs
     * nothing else besides the JDK; this JVM's whole class path when that cannot be told.
     */
    public static String classPathOf(Class<?> c) {
        java.security.CodeSource source = c.getProtectionDomain().getCodeSource();
        if (source == null || source.getLocation() == null) {
            return System.getProperty("java.class.path");
        }
        try {
            return java.nio.file.Path.of(source.getLocation().toURI()).toString();
        } catch (java.net.URISyntaxException | IllegalArgumentException e) {
            return System.getProperty("java.class.path");
        }
    }
}
