package baton.runtime.ve;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;

/**
 * One running QEMU of a VE on a host: started from a {@link VeSpec}, controlled through QMP,
 * stopped cleanly (ACPI power-down, then {@code quit}, then SIGKILL, each after a deadline).
 * Its taps live exactly as long as it does.
 *
 * <p>Blocking calls, for virtual threads; every one is bounded by a deadline. Not thread-safe
 * except where said: one owner (the node's VE monitor, or a test) drives it.
 */
public final class QemuVm implements AutoCloseable {
    public static final Path DEV_KVM = Path.of("/dev/kvm");
    /** A QMP command answers in milliseconds unless QEMU is stuck; then the stop escalates. */
    public static final Duration QMP_COMMAND_TIMEOUT = Duration.ofSeconds(5);
    /** SIGKILL takes effect at once unless a thread is in uninterruptible sleep (state D). */
    public static final Duration KILL_CONFIRM_LIMIT = Duration.ofSeconds(10);
    /** How much of the console {@link #console()} returns: its end. */
    public static final int CONSOLE_TAIL_BYTES = 1 << 20;
    static final Duration POLL_INTERVAL = Duration.ofMillis(20);
    static final int QEMU_LOG_TAIL_BYTES = 64 << 10;

    /** How {@link #stop} ended the VE. */
    public enum How {
        /** QEMU had exited before the stop began. */
        ALREADY_EXITED,
        /** The guest powered itself off after the ACPI power button. */
        POWERED_DOWN,
        /** QMP {@code quit}: QEMU ended without the guest's consent. */
        QUIT,
        /** SIGKILL. */
        KILLED
    }

    /**
     * The result of {@link #stop}.
     *
     * @param exitCode QEMU's exit status, 128 + N after signal N; empty if it survived SIGKILL
     * @param shutdownReason the reason of QEMU's last SHUTDOWN event (guest-shutdown,
     *     host-qmp-quit, ...), when one was seen
     * @param notes what went wrong on the way (a QMP command that failed), for the log
     */
    public record Stopped(How how, OptionalInt exitCode, Duration took, Optional<String> shutdownReason, List<String> notes) {
        public Stopped {
            Objects.requireNonNull(how, "how");
            Objects.requireNonNull(exitCode, "exitCode");
            Objects.requireNonNull(took, "took");
            Objects.requireNonNull(shutdownReason, "shutdownReason");
            notes = List.copyOf(notes);
        }
    }

    /** QMP {@code query-status}: {@code status} is QEMU's RunState (running, paused, shutdown, inmigrate, postmigrate, ...). */
    public record Status(String status, boolean running) {}

    private final VeSpec spec;
    private final VeFiles files;
    private final CommandPrefix host;
    private final VeSpec.Accel accel;
    private final List<String> command;
    private final Process process;
    private final QmpClient qmp;
    private final List<Tap> taps;
    private final long consoleStart;
    private final long qemuLogStart;
    private boolean closed;

    private QemuVm(VeSpec spec, VeFiles files, CommandPrefix host, VeSpec.Accel accel, List<String> command, Process process,
            QmpClient qmp, List<Tap> taps, long consoleStart, long qemuLogStart) {
        this.spec = spec;
        this.files = files;
        this.host = host;
        this.accel = accel;
        this.command = command;
        this.process = process;
        this.qmp = qmp;
        this.taps = taps;
        this.consoleStart = consoleStart;
        this.qemuLogStart = qemuLogStart;
    }

    /**
     * True when {@code /dev/kvm} opens for reading and writing. A KVM that opens but cannot run
     * guests (see {@link VeSpec.Accel#resolve}) passes this check.
     */
    public static boolean kvmUsable(Path devKvm) {
        try (FileChannel c = FileChannel.open(devKvm, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            return c.isOpen();
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return false;
        }
    }

    /**
     * Creates the VE's taps on {@code host}, starts its QEMU there with files in
     * {@code runDir/NAME/} and connects QMP, all within {@code deadline}. On failure nothing is
     * left running, and the exception says why, with QEMU's own last words when it exited.
     */
    public static QemuVm start(VeSpec spec, Path runDir, CommandPrefix host, Duration deadline)
            throws IOException, InterruptedException {
        return launch(spec, runDir, host, deadline, false);
    }

    /**
     * As {@link #start}, but QEMU waits for the VE's state instead of booting it
     * ({@code -incoming defer}, QMP status {@code inmigrate}): the target of a live migration
     * or of a checkpoint's load ({@link VeMigration}). Nothing runs until a migration has
     * arrived; a target whose migration failed is closed, never resumed.
     */
    public static QemuVm startIncoming(VeSpec spec, Path runDir, CommandPrefix host, Duration deadline)
            throws IOException, InterruptedException {
        return launch(spec, runDir, host, deadline, true);
    }

    private static QemuVm launch(VeSpec spec, Path runDir, CommandPrefix host, Duration deadline, boolean incoming)
            throws IOException, InterruptedException {
        long deadlineNanos = System.nanoTime() + deadline.toNanos();
        VeFiles files = VeFiles.under(runDir, spec.name());
        Files.createDirectories(files.dir());
        OptionalLong running = runningPid(files.pidFile());
        if (running.isPresent()) {
            throw new IOException("VE " + spec.name() + " already runs here: QEMU pid " + running.getAsLong() + " holds "
                    + files.pidFile());
        }
        Files.deleteIfExists(files.qmpSocket());
        VeSpec.Accel accel = spec.accel().resolve(kvmUsable(DEV_KVM));
        List<String> command = host.apply(incoming ? QemuCommand.buildIncoming(spec, files, accel) : QemuCommand.build(spec, files, accel));
        List<Tap> taps = new ArrayList<>();
        Process process = null;
        try {
            for (int i = 0; i < spec.nics().size(); i++) {
                taps.add(Tap.create(host, QemuCommand.tapName(spec.name(), i), spec.nics().get(i).bridge()));
            }
            long consoleStart = Files.exists(files.consoleLog()) ? Files.size(files.consoleLog()) : 0;
            long qemuLogStart = Files.exists(files.qemuLog()) ? Files.size(files.qemuLog()) : 0;
            process = new ProcessBuilder(command)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(files.qemuLog().toFile()))
                    .start();
            QmpClient qmp = connectQmp(spec, files, process, qemuLogStart, deadlineNanos);
            return new QemuVm(spec, files, host, accel, command, process, qmp, taps, consoleStart, qemuLogStart);
        } catch (IOException | InterruptedException | RuntimeException e) {
            if (process != null) {
                killAndReap(process);
            }
            for (Tap t : taps) {
                try {
                    t.delete();
                } catch (IOException | InterruptedException cleanup) {
                    e.addSuppressed(cleanup);
                }
            }
            throw e;
        }
    }

    /** Waits for QEMU's QMP socket and connects, as long as QEMU lives and the deadline allows. */
    private static QmpClient connectQmp(VeSpec spec, VeFiles files, Process process, long qemuLogStart, long deadlineNanos)
            throws IOException, InterruptedException {
        QmpException last = null;
        while (true) {
            if (!process.isAlive()) {
                String words = lastLine(readFrom(files.qemuLog(), qemuLogStart, 64 << 10));
                throw new IOException("QEMU of VE " + spec.name() + " exited with status " + process.exitValue()
                        + " before QMP came up: " + (words.isEmpty() ? "(no output; see " + files.qemuLog() + ")" : words));
            }
            long left = deadlineNanos - System.nanoTime();
            if (left <= 0) {
                throw new IOException("QEMU of VE " + spec.name() + " did not open QMP on " + files.qmpSocket()
                        + " within the start deadline" + (last == null ? "" : ": " + last.getMessage()));
            }
            if (Files.exists(files.qmpSocket())) {
                try {
                    return QmpClient.connect(files.qmpSocket(), Duration.ofNanos(left));
                } catch (QmpException e) {
                    // The socket exists a moment before QEMU listens on it; connection refused then.
                    last = e;
                }
            }
            Thread.sleep(POLL_INTERVAL);
        }
    }

    public VeSpec spec() {
        return spec;
    }

    public VeFiles files() {
        return files;
    }

    /** The accelerator QEMU runs with, TCG or KVM. */
    public VeSpec.Accel accel() {
        return accel;
    }

    /** The whole command line, host prefix included. */
    public List<String> command() {
        return command;
    }

    /** QEMU's pid (the prefix execs it). */
    public long pid() {
        return process.pid();
    }

    public QmpClient qmp() {
        return qmp;
    }

    public boolean isRunning() {
        return process.isAlive();
    }

    /** QEMU's exit status once it has exited, waiting at most {@code timeout}. */
    public OptionalInt awaitExit(Duration timeout) throws InterruptedException {
        return process.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS) ? OptionalInt.of(process.exitValue()) : OptionalInt.empty();
    }

    public Status status() throws QmpException, InterruptedException {
        JsonNode r = qmp.execute("query-status", QMP_COMMAND_TIMEOUT);
        return new Status(r.path("status").asText("?"), r.path("running").asBoolean(false));
    }

    /** What the guest wrote on its serial console since this QEMU started (the last {@link #CONSOLE_TAIL_BYTES} of it). */
    public String console() throws IOException {
        return readFrom(files.consoleLog(), consoleStart, CONSOLE_TAIL_BYTES);
    }

    /** What QEMU itself wrote (its stdout and stderr) since this start, the last 64 KiB of it. */
    public String qemuLog() throws IOException {
        return readFrom(files.qemuLog(), qemuLogStart, QEMU_LOG_TAIL_BYTES);
    }

    /** The last line of {@link #qemuLog}: QEMU's last words when it exited; empty when it wrote nothing. */
    public String qemuLastWords() throws IOException {
        return lastLine(qemuLog());
    }

    /**
     * Waits until the console since this start holds {@code text}: true when it does, false at
     * {@code timeout} or as soon as QEMU has exited without it.
     */
    public boolean awaitConsole(String text, Duration timeout) throws IOException, InterruptedException {
        long deadlineNanos = System.nanoTime() + timeout.toNanos();
        while (true) {
            boolean alive = process.isAlive();
            if (console().contains(text)) {
                return true;
            }
            if (!alive || System.nanoTime() - deadlineNanos >= 0) {
                return false;
            }
            Thread.sleep(POLL_INTERVAL);
        }
    }

    /**
     * Stops the VE: the ACPI power button, then after {@code powerdownGrace} QMP {@code quit},
     * then after {@code quitGrace} SIGKILL; then deletes the taps. Takes at most the two graces
     * plus {@link #KILL_CONFIRM_LIMIT} plus two {@link #QMP_COMMAND_TIMEOUT}s.
     */
    public Stopped stop(Duration powerdownGrace, Duration quitGrace) throws IOException, InterruptedException {
        return end(Optional.of(powerdownGrace), quitGrace);
    }

    /**
     * Ends QEMU without asking the guest: QMP {@code quit}, then after {@code quitGrace}
     * SIGKILL; then deletes the taps. For a VE whose state lives on elsewhere (a source after
     * its live migration or checkpoint completed, status {@code postmigrate}), and for a
     * target that never ran: the ACPI power button of {@link #stop} would reach a paused guest
     * that cannot react, or one that must not shut down since its state is what runs on.
     * Takes at most {@code quitGrace} plus {@link #KILL_CONFIRM_LIMIT} plus one
     * {@link #QMP_COMMAND_TIMEOUT}.
     */
    public Stopped quit(Duration quitGrace) throws IOException, InterruptedException {
        return end(Optional.empty(), quitGrace);
    }

    /** {@link #stop} with the power button first ({@code powerdownGrace} present), {@link #quit} without. */
    private Stopped end(Optional<Duration> powerdownGrace, Duration quitGrace) throws IOException, InterruptedException {
        long started = System.nanoTime();
        List<String> notes = new ArrayList<>();
        How how;
        if (!process.isAlive()) {
            how = How.ALREADY_EXITED;
        } else {
            if (powerdownGrace.isPresent()) {
                tryCommand("system_powerdown", notes);
            }
            if (powerdownGrace.isPresent() && process.waitFor(powerdownGrace.get().toNanos(), TimeUnit.NANOSECONDS)) {
                how = How.POWERED_DOWN;
            } else {
                tryCommand("quit", notes);
                if (process.waitFor(quitGrace.toNanos(), TimeUnit.NANOSECONDS)) {
                    how = How.QUIT;
                } else {
                    killAndReap(process);
                    how = How.KILLED;
                }
            }
        }
        // QEMU sends SHUTDOWN before it closes QMP, so once it has exited the event is queued (or was never sent).
        Optional<String> reason = Optional.empty();
        for (QmpEvent e : qmp.drainEvents()) {
            if (e.name().equals("SHUTDOWN")) {
                reason = Optional.of(e.data().path("reason").asText("?"));
            }
        }
        OptionalInt exit = process.isAlive() ? OptionalInt.empty() : OptionalInt.of(process.exitValue());
        if (exit.isEmpty()) {
            notes.add("QEMU pid " + process.pid() + " survived SIGKILL for " + KILL_CONFIRM_LIMIT.toMillis() + " ms");
        }
        releaseAfterExit(notes);
        return new Stopped(how, exit, Duration.ofNanos(System.nanoTime() - started), reason, notes);
    }

    /** A crash: SIGKILL to QEMU, then the taps are deleted. */
    public void kill() throws IOException, InterruptedException {
        killAndReap(process);
        List<String> notes = new ArrayList<>();
        releaseAfterExit(notes);
        if (!notes.isEmpty()) {
            throw new IOException("VE " + spec.name() + ": " + String.join("; ", notes));
        }
    }

    /**
     * Kills QEMU if it still runs and deletes its taps. Idempotent. Cleanup is not cut short by
     * an interrupt: the interrupt is held until the end and then set again.
     */
    @Override
    public void close() throws IOException {
        boolean interrupted = Thread.interrupted();
        List<String> notes = new ArrayList<>();
        try {
            for (int attempt = 0; attempt < 3; attempt++) {
                try {
                    if (process.isAlive()) {
                        killAndReap(process);
                    }
                    releaseAfterExit(notes);
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        if (!notes.isEmpty()) {
            throw new IOException("closing VE " + spec.name() + ": " + String.join("; ", notes));
        }
    }

    private void tryCommand(String name, List<String> notes) throws InterruptedException {
        try {
            qmp.execute(name, QMP_COMMAND_TIMEOUT);
        } catch (QmpException e) {
            // quit races QEMU's exit (the connection closes as it answers); a stuck QEMU escalates anyway.
            if (!(name.equals("quit") && e.kind() == QmpException.Kind.CLOSED)) {
                notes.add(e.getMessage());
            }
        }
    }

    private void releaseAfterExit(List<String> notes) throws InterruptedException {
        if (closed || process.isAlive()) {
            return;
        }
        qmp.close();
        for (Tap t : taps) {
            try {
                t.delete();
            } catch (IOException e) {
                notes.add(e.getMessage());
            }
        }
        // Only now: an interrupt above leaves it false, and the next call deletes again (idempotent).
        closed = true;
    }

    /** SIGKILL to QEMU and anything it started; waits up to {@link #KILL_CONFIRM_LIMIT} for it to be reaped. */
    private static void killAndReap(Process process) throws InterruptedException {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        process.waitFor(KILL_CONFIRM_LIMIT.toNanos(), TimeUnit.NANOSECONDS);
    }

    /**
     * The pid of a QEMU of this VE that runs here without this process having started it: left
     * by a daemon that died, found by its pidfile in {@code runDir}.
     */
    public static OptionalLong leftover(VeSpec spec, Path runDir) {
        try {
            return runningPid(VeFiles.under(runDir, spec.name()).pidFile());
        } catch (IOException e) {
            return OptionalLong.empty();
        }
    }

    /**
     * Kills a leftover QEMU of this VE ({@link #leftover}) and deletes its taps on {@code host}.
     * Throws when it survives: then the VE may still run here.
     */
    public static void killLeftover(VeSpec spec, Path runDir, CommandPrefix host) throws IOException, InterruptedException {
        OptionalLong pid = leftover(spec, runDir);
        if (pid.isPresent()) {
            Optional<ProcessHandle> h = ProcessHandle.of(pid.getAsLong());
            h.ifPresent(ProcessHandle::destroyForcibly);
            long until = System.nanoTime() + KILL_CONFIRM_LIMIT.toNanos();
            while (h.isPresent() && h.get().isAlive() && System.nanoTime() < until) {
                Thread.sleep(20);
            }
            if (h.isPresent() && h.get().isAlive()) {
                throw new IOException("leftover QEMU pid " + pid.getAsLong() + " of VE " + spec.name() + " survived SIGKILL");
            }
        }
        for (int i = 0; i < spec.nics().size(); i++) {
            Tap.forget(host, QemuCommand.tapName(spec.name(), i));
        }
    }

    /** The pid in QEMU's pidfile if a QEMU of that pid runs. */
    static OptionalLong runningPid(Path pidFile) throws IOException {
        String text;
        try {
            text = Files.readString(pidFile, StandardCharsets.US_ASCII).strip();
        } catch (NoSuchFileException e) {
            return OptionalLong.empty();
        }
        long pid;
        try {
            pid = Long.parseLong(text);
        } catch (NumberFormatException e) {
            return OptionalLong.empty();
        }
        boolean qemu = ProcessHandle.of(pid)
                .filter(ProcessHandle::isAlive)
                .flatMap(h -> h.info().command())
                .map(c -> c.contains("qemu"))
                .orElse(false);
        return qemu ? OptionalLong.of(pid) : OptionalLong.empty();
    }

    /** The text of {@code file} from byte {@code from} on, at most its last {@code limitBytes}. */
    static String readFrom(Path file, long from, int limitBytes) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            long length = f.length();
            long start = Math.max(from, length - limitBytes);
            if (start >= length) {
                return "";
            }
            byte[] bytes = new byte[(int) (length - start)];
            f.seek(start);
            f.readFully(bytes);
            return new String(bytes, StandardCharsets.UTF_8);
        } catch (java.io.FileNotFoundException e) {
            return "";
        }
    }

    private static String lastLine(String text) {
        String[] lines = text.strip().split("\\R");
        return lines.length == 0 ? "" : lines[lines.length - 1].strip();
    }

    @Override
    public String toString() {
        return "VE " + spec.name() + " (QEMU pid " + process.pid() + ", " + accel + ", " + host + ")";
    }
}
