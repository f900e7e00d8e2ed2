package baton.runtime.proc;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * One call of an external program (a fence agent, a resource agent, an exec resource's
 * command) under Baton's own deadline. A blocking call, made on a virtual thread; the outcome
 * is a value, whatever happened to the program.
 *
 * <p>The program is started as the leader of a new session ({@code setsid --wait}), so that
 * everything it starts can be found and killed (see {@link ProcessTree}). When the deadline
 * passes, the whole tree is killed and the call ends as {@link Outcome.TimedOut}. The tree is
 * also swept when the program exits by itself, so that no helper it left behind outlives the
 * call or holds its output pipes open. Output is bounded: each stream keeps its tail
 * ({@link OutputTail}).
 *
 * <p>Limits: the deadline itself, {@link #KILL_CONFIRM_LIMIT} for the kill rounds,
 * {@link #OUTPUT_DRAIN_LIMIT} for each output pipe; a call takes at most their sum plus the
 * time to reap the killed program (again at most {@link #KILL_CONFIRM_LIMIT}).
 */
public final class ProcessCall {
    private ProcessCall() {}

    /** The longest deadline a call may have: the slowest agents' own step timeouts add up to minutes. */
    public static final Duration MAX_DEADLINE = Duration.ofMinutes(15);

    /**
     * How long kill rounds go on before the survivors are reported. SIGKILL takes effect at once
     * except for a process in uninterruptible sleep; under heavy load a round may take long.
     */
    public static final Duration KILL_CONFIRM_LIMIT = Duration.ofSeconds(10);

    /** How long to wait for the output pipes to end after the tree is gone. */
    public static final Duration OUTPUT_DRAIN_LIMIT = Duration.ofSeconds(5);

    /** Bounds of the output kept per stream. */
    public static final int MIN_OUTPUT_LIMIT_BYTES = 1024;
    public static final int MAX_OUTPUT_LIMIT_BYTES = 64 << 20;

    /** util-linux; starts the program as the leader of a new session (and so of a new process group). */
    public static final Path SETSID = Path.of("/usr/bin/setsid");

    /** What becomes of processes the program leaves behind when it exits by itself. */
    public enum Leftovers {
        /**
         * Killed, with the whole session: a fence agent's or a monitor's helpers must not
         * outlive the call or hold its output pipes open.
         */
        KILL,
        /**
         * Left running: a resource's start leaves the service behind, often as a plain
         * background child ({@code nohup cmd &}). The output pipes are waited for at most
         * {@link #OUTPUT_DRAIN_LIMIT}, then closed. Only the deadline kills the whole tree.
         */
        KEEP
    }

    /** How one call ended. */
    public sealed interface Outcome {
        /**
         * The program exited by itself (helpers it left behind were then killed).
         *
         * @param exitCode the exit status; 128 + N when a signal N killed it
         */
        record Exited(int exitCode, Duration ran, ProcessOutput output) implements Outcome {
            public Exited {
                Objects.requireNonNull(ran, "ran");
                Objects.requireNonNull(output, "output");
            }
        }

        /**
         * The deadline passed first, and the whole process tree was killed.
         *
         * @param after how long the program had run when Baton gave up on it (at least the deadline)
         * @param survivingPids processes of the tree still alive after {@link #KILL_CONFIRM_LIMIT}
         *     of kill rounds; empty unless one is stuck in the kernel (state D)
         */
        record TimedOut(Duration after, ProcessOutput output, List<Long> survivingPids) implements Outcome {
            public TimedOut {
                Objects.requireNonNull(after, "after");
                Objects.requireNonNull(output, "output");
                survivingPids = List.copyOf(survivingPids);
            }
        }

        /** The process could not be created (exec failed). */
        record CouldNotStart(String reason) implements Outcome {
            public CouldNotStart {
                Objects.requireNonNull(reason, "reason");
            }
        }
    }

    /** {@link #run(List, Optional, byte[], int, Duration, Leftovers)} with leftovers killed. */
    public static Outcome run(List<String> command, Optional<Map<String, String>> environment, byte[] stdin,
            int outputLimitBytes, Duration deadline) throws InterruptedException {
        return run(command, environment, stdin, outputLimitBytes, deadline, Leftovers.KILL);
    }

    /**
     * Runs {@code command} and waits for it, at most {@code deadline} (plus the time to kill it
     * and to collect its output, each bounded).
     *
     * @param command the program and its arguments, started as {@code setsid --wait COMMAND...}
     * @param environment the program's whole environment; empty for this JVM's own
     * @param stdin written to the program by a thread of its own (a program that never reads
     *     it must not block the call), then closed; zeroed once written, since it may hold secrets
     * @param outputLimitBytes how many bytes of each of stdout and stderr to keep (the last ones)
     * @param leftovers what becomes of processes the program leaves behind after a normal exit
     * @throws InterruptedException when the calling thread is interrupted; the program's process
     *     tree has then been killed
     */
    public static Outcome run(List<String> command, Optional<Map<String, String>> environment, byte[] stdin,
            int outputLimitBytes, Duration deadline, Leftovers leftovers) throws InterruptedException {
        if (command.isEmpty()) {
            throw new IllegalArgumentException("empty command");
        }
        if (deadline.isNegative() || deadline.isZero() || deadline.compareTo(MAX_DEADLINE) > 0) {
            throw new IllegalArgumentException("deadline " + deadline + " outside (0, " + MAX_DEADLINE + "]");
        }
        if (outputLimitBytes < MIN_OUTPUT_LIMIT_BYTES || outputLimitBytes > MAX_OUTPUT_LIMIT_BYTES) {
            throw new IllegalArgumentException("outputLimitBytes " + outputLimitBytes + " outside "
                    + MIN_OUTPUT_LIMIT_BYTES + ".." + MAX_OUTPUT_LIMIT_BYTES);
        }
        long started = System.nanoTime();
        List<String> argv = new ArrayList<>(command.size() + 2);
        // --wait: should setsid ever fork (it does when started as a group leader), its exit
        // status is still the program's and not setsid's own, an immediate 0.
        argv.add(SETSID.toString());
        argv.add("--wait");
        argv.addAll(command);
        ProcessBuilder builder = new ProcessBuilder(argv).directory(Path.of("/").toFile());
        environment.ifPresent(env -> {
            builder.environment().clear();
            builder.environment().putAll(env);
        });
        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            Arrays.fill(stdin, (byte) 0);
            return new Outcome.CouldNotStart("cannot start " + command.get(0) + ": " + e.getMessage());
        }

        OutputTail out = new OutputTail(outputLimitBytes);
        OutputTail err = new OutputTail(outputLimitBytes);
        String name = Path.of(command.get(0)).getFileName() + "-" + process.pid();
        Thread outReader = Thread.ofVirtual().name(name + "-stdout").start(() -> out.drain(process.getInputStream()));
        Thread errReader = Thread.ofVirtual().name(name + "-stderr").start(() -> err.drain(process.getErrorStream()));
        Thread.ofVirtual().name(name + "-stdin").start(() -> feed(process.getOutputStream(), stdin));

        boolean exited;
        try {
            exited = process.waitFor(Math.max(0, deadline.toNanos() - (System.nanoTime() - started)),
                    TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            ProcessTree.kill(process.toHandle(), KILL_CONFIRM_LIMIT);
            throw e;
        }
        Duration ran = Duration.ofNanos(System.nanoTime() - started);
        // After a normal exit this only finds helpers the program left behind; after the
        // deadline, the whole tree.
        List<Long> survivors = !exited || leftovers == Leftovers.KILL
                ? ProcessTree.kill(process.toHandle(), KILL_CONFIRM_LIMIT)
                : List.of();
        if (!exited) {
            // Collects the killed program's exit so that it leaves no zombie; bounded like the kill.
            process.waitFor(KILL_CONFIRM_LIMIT.toNanos(), TimeUnit.NANOSECONDS);
        }
        // Bounded: a reader ends once every process holding its pipe is dead; one that escaped
        // the tree could hold it longer, and its reader is then left behind (a virtual thread,
        // ending when that process does).
        outReader.join(OUTPUT_DRAIN_LIMIT);
        errReader.join(OUTPUT_DRAIN_LIMIT);
        if (exited && leftovers == Leftovers.KEEP) {
            // A kept child may hold the pipes for as long as it runs: release Baton's ends (and
            // the readers with them). A child that writes to them later gets EPIPE, as under
            // Pacemaker; well-behaved agents redirect their daemons' output.
            closeQuietly(process.getInputStream());
            closeQuietly(process.getErrorStream());
        }
        ProcessOutput output = new ProcessOutput(out.text(), err.text(), out.totalBytes(), err.totalBytes(),
                out.truncated(), err.truncated());
        return exited
                ? new Outcome.Exited(process.exitValue(), ran, output)
                : new Outcome.TimedOut(ran, output, survivors);
    }

    /**
     * Why {@code program} cannot be started, or empty. Checked before starting for a clear
     * message (exec's own is "error=2").
     *
     * @param subject what the program is, e.g. "fence agent"
     * @param installFix how to get it, e.g. "install the package that provides it (Debian: apt-get install fence-agents)"
     */
    public static Optional<String> unstartable(String subject, Path program, String installFix) {
        if (!Files.exists(program)) {
            return Optional.of(subject + " " + program + " does not exist; fix: " + installFix
                    + " or correct the " + noun(subject) + "'s path");
        }
        if (!Files.isRegularFile(program)) {
            return Optional.of(subject + " " + program + " is not a regular file; fix: correct the " + noun(subject)
                    + "'s path to name the executable itself");
        }
        if (!Files.isExecutable(program)) {
            return Optional.of(subject + " " + program + " is not executable; fix: chmod +x " + program
                    + " or correct the " + noun(subject) + "'s path");
        }
        if (!Files.isExecutable(SETSID)) {
            return Optional.of(SETSID + " is missing, and without it a " + subject
                    + "'s helpers could not be killed; fix: apt-get install util-linux");
        }
        return Optional.empty();
    }

    /**
     * The one line that says a call timed out: "timed out after 5.0 s and killed[; processes
     * [..] survived the kill][; last words: WORDS]".
     */
    public static String timedOutSummary(Duration after, List<Long> survivingPids, String lastWords) {
        return "timed out after " + seconds(after) + " s and killed"
                + (survivingPids.isEmpty() ? "" : "; processes " + survivingPids + " survived the kill")
                + (lastWords.isEmpty() ? "" : "; last words: " + lastWords);
    }

    /** "12.3", for messages. */
    public static String seconds(Duration duration) {
        return String.format(Locale.ROOT, "%.1f", duration.toMillis() / 1000.0);
    }

    /** "agent" of "fence agent", "command" of "exec command". */
    private static String noun(String subject) {
        return subject.substring(subject.lastIndexOf(' ') + 1);
    }

    private static void closeQuietly(InputStream stream) {
        try {
            stream.close();
        } catch (IOException e) {
            // Already closed or broken: released either way.
        }
    }

    private static void feed(OutputStream stdin, byte[] bytes) {
        try (stdin) {
            stdin.write(bytes);
        } catch (IOException e) {
            // The program exited or closed stdin without reading it all: its exit status tells.
        } finally {
            Arrays.fill(bytes, (byte) 0);
        }
    }
}
