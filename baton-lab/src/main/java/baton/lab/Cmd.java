package baton.lab;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a command to completion with a timeout and captures its output.
 *
 * <p>Output goes to temporary files rather than pipes: a command that leaves a child behind
 * holding its stdout open (a daemon, a shell pipeline) would make a pipe reader wait for that
 * child, so the timeout would not bound the call. Files have no such tie.
 */
public final class Cmd {
    /** The most of each stream kept in a result; lab commands print little, a runaway must not fill the heap. */
    static final int MAX_CAPTURE_BYTES = 1 << 20;

    private static final File DEV_NULL = new File("/dev/null");

    private Cmd() {}

    /** Runs {@code command}; never throws for a failing or slow command, the result says what happened. */
    public static ExecResult run(Duration timeout, List<String> command) {
        if (command.isEmpty()) {
            throw new IllegalArgumentException("empty command");
        }
        Path out = null;
        Path err = null;
        try {
            out = Files.createTempFile("baton-cmd-", ".out");
            err = Files.createTempFile("baton-cmd-", ".err");
            Process p = new ProcessBuilder(command)
                    .redirectInput(ProcessBuilder.Redirect.from(DEV_NULL))
                    .redirectOutput(out.toFile())
                    .redirectError(err.toFile())
                    .start();
            boolean exited = waitQuietly(p, timeout);
            if (!exited) {
                killTree(p);
            }
            return new ExecResult(command, exited ? p.exitValue() : -1, head(out), head(err), !exited);
        } catch (IOException e) {
            // The program is missing or not executable: a setup error, not a result to handle.
            throw new UncheckedIOException("cannot run `" + String.join(" ", command) + "`: " + e.getMessage(), e);
        } finally {
            deleteQuietly(out);
            deleteQuietly(err);
        }
    }

    public static ExecResult run(Duration timeout, String... command) {
        return run(timeout, List.of(command));
    }

    /** Runs {@code command} and returns its stdout; throws {@link CommandFailedException} unless it exits 0 in time. */
    public static String check(Duration timeout, String... command) {
        return run(timeout, List.of(command)).orThrow().stdout();
    }

    public static String check(Duration timeout, List<String> command) {
        return run(timeout, command).orThrow().stdout();
    }

    /** Kills {@code p} and everything it started, then reaps it, so a timed-out command leaves nothing behind. */
    static void killTree(Process p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        // SIGKILL cannot be ignored; the bound only guards against a process stuck in the kernel (state D).
        waitQuietly(p, Duration.ofSeconds(5));
    }

    static boolean waitQuietly(Process p, Duration timeout) {
        try {
            return p.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static String head(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return new String(in.readNBytes(MAX_CAPTURE_BYTES), StandardCharsets.UTF_8);
        }
    }

    private static void deleteQuietly(Path file) {
        if (file == null) {
            return;
        }
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            // A leftover temp file is harmless; failing the command for it would hide the real result.
        }
    }
}
