package baton.runtime.ve;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * Moves a VE's running state from one QEMU to another: live, QEMU to QEMU over TCP, or through
 * a checkpoint file. The QEMU side only: which node runs the VE is the caller's to decide and
 * record.
 *
 * <p><b>Live migration</b> (QEMU's pre-copy, docs/devel/migration.rst):
 * <ol>
 *   <li>Target: {@link QemuVm#startIncoming} (QMP status {@code inmigrate}, nothing runs), then
 *       {@link #listenLive}: {@code migrate-incoming tcp:ADDR:PORT}.
 *   <li>Source: {@link #sendLive} sets the capabilities and parameters and runs
 *       {@code migrate tcp:HOST:PORT}. QEMU copies all RAM while the guest runs on, then what
 *       the guest dirtied meanwhile, round after round, until the rest fits into
 *       {@code downtime-limit} at the measured rate; then it stops the guest and waits
 *       ({@code pre-switchover}, capability {@code pause-before-switchover}) until Baton says
 *       {@code migrate-continue}, sends the rest and the devices' state, and reports
 *       {@code completed}. The source stays paused for good ({@code postmigrate}).
 *   <li>Target: having loaded the state, QEMU announces the NICs' MACs (RARP, so the switches
 *       learn the new port) and runs the guest by itself ({@code -incoming} without {@code -S}
 *       autostarts when the source ran); {@link #awaitIncoming} waits for that.
 * </ol>
 *
 * <p><b>Checkpoint</b>: {@link #saveCheckpoint} pauses the VE and has QEMU send its state to a
 * unix socket that Baton reads into the file, counting its size and CRC-32C;
 * {@link #loadCheckpoint} streams the file to a QEMU started with {@link QemuVm#startIncoming}
 * while it is still being written, checked against its metadata ({@link Checkpoint},
 * {@link CheckpointFollower}), then resumes the guest. Baton rather
 * than {@code exec:cat > FILE} writes the file because then a full disk, a missing folder or a
 * short read is an exception with its reason, not a broken pipe in QEMU; and because the
 * checksum is of the very bytes QEMU sent and loads. (QEMU 7.2 has no {@code file:} URI, and
 * passing a file descriptor needs SCM_RIGHTS, which Java's sockets do not do.) The socket is a
 * path in the VE's folder, so it works across network namespaces.
 *
 * <p>Invariants, each checked where it matters:
 * <ul>
 *   <li>A source whose migration did not complete runs when {@link #sendLive} or
 *       {@link #saveCheckpoint} returns (QEMU restarts a guest it stopped for the last phase
 *       when that phase fails; this checks {@code query-status} and resumes it if not), unless
 *       its QEMU died; the result says which.
 *   <li>A source whose live migration completed is never resumed here: its state runs on the
 *       target. {@link #resumeSource} is the caller's, after the target failed.
 *   <li>A target is resumed ({@code cont}) only after its load completed. In {@code inmigrate}
 *       QEMU takes {@code cont} as "autostart when loaded", so it must not be sent earlier.
 *   <li>A checkpoint FILE exists only complete (synced, its size checked); a failed save leaves no
 *       {@code FILE.partial}.
 *   <li>Every QMP command is bounded by {@link QemuVm#QMP_COMMAND_TIMEOUT}, every wait by the
 *       caller's deadline plus at most {@link #SETTLE_LIMIT} of cleanup.
 * </ul>
 *
 * <p>Not enabled, and why: {@code postcopy-ram} (a guest running on the target while its memory
 * is still on the source dies with either host); {@code return-path}, which makes the source
 * report {@code completed} only after the target has started the guest: it narrows nothing
 * that matters and adds a window in which the target runs while the source, its return path
 * broken, reports failure and runs on too. Without it a source's {@code completed} means the
 * whole stream was sent; a target that then fails to load exits, and the caller, told so by
 * {@link #awaitIncoming}, resumes the source.
 *
 * <p>Why {@code pause-before-switchover}: without it a {@code migrate_cancel} (the deadline)
 * that arrives after QEMU sent the last byte but before it marked the migration completed makes
 * QEMU report {@code cancelled} and run the guest again here, while the target, which has the
 * whole stream, runs it too. With it, Baton cancels only in {@code pre-switchover}, when the
 * target has RAM but no device state and cannot start, and never after {@code migrate-continue};
 * a migration that then does not end in time leaves the source paused
 * ({@link Run#undecided}). The cost is Baton's reaction to QEMU's {@code MIGRATION} event, a
 * millisecond or two of the pause, which QEMU counts in its downtime.
 *
 * <p>Under TCG, QEMU before 9.0 loses guest writes in a live migration unless the RAM block is
 * not a multiple of 256 KiB: {@link QemuCommand#TCG_RAM_PAD_KIB}.
 */
public final class VeMigration {
    private VeMigration() {}

    /** How often {@code query-migrate} is polled and progress reported. */
    public static final Duration POLL_INTERVAL = Duration.ofMillis(50);
    /** How often a refused connection to the target is tried again: a target may still be starting. */
    public static final Duration CONNECT_RETRY_INTERVAL = Duration.ofMillis(100);
    /**
     * How long cleanup after a failure may take beyond the deadline: {@code migrate_cancel}
     * shuts the stream down at once, QEMU then only restarts the guest.
     */
    public static final Duration SETTLE_LIMIT = Duration.ofSeconds(10);
    /** QEMU's own post-migration announcement: 5 rounds, 50 ms after the switch, then every 100 ms more, at most 550 ms apart. */
    static final Map<String, Integer> ANNOUNCE = Map.of("initial", 50, "max", 550, "rounds", 5, "step", 100);
    /** The unix socket of a checkpoint's stream, in the VE's folder; as long as {@code qmp.sock}, so it fits where that does. */
    static final String STREAM_SOCKET = "mig.sock";
    /** Migration states in which QEMU is still at it (MigrationStatus of QEMU 7.2). */
    static final Set<String> UNSETTLED = Set.of("setup", "active", "device", "cancelling", "pre-switchover", "wait-unplug",
            "postcopy-active", "postcopy-paused", "postcopy-recover", "colo");
    private static final Pattern HOST = Pattern.compile("[A-Za-z0-9.:-]{1,253}");
    private static final Duration QMP = QemuVm.QMP_COMMAND_TIMEOUT;

    // ---------------------------------------------------------------------------------------------
    // Source side.

    /**
     * Live pre-copy migration of a running {@code source} to {@code tcp:HOST:PORT}, where a target
     * listens ({@link #listenLive}). A refused connection is tried again every
     * {@link #CONNECT_RETRY_INTERVAL} until the deadline, since the target may still be starting.
     * Sets capabilities ({@code events}, {@code auto-converge} as asked; not postcopy) and
     * parameters ({@code downtime-limit}, {@code max-bandwidth}) first, then polls
     * {@code query-migrate} every {@link #POLL_INTERVAL} and reports each sample to
     * {@code progress}.
     *
     * <p>Completed: the source is paused for good ({@code postmigrate}); never resume it unless
     * the target failed. Otherwise (failure, deadline): the migration is cancelled, settled, and
     * the source runs again; the result says why and whether it runs. A source that is not
     * running is not touched: nothing is sent.
     */
    public static MigrationResult sendLive(QemuVm source, String host, int port, MigrationSettings s,
                                           Consumer<MigrationProgress> progress) throws InterruptedException {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(s, "s");
        Objects.requireNonNull(progress, "progress");
        String uri = tcpUri(host, port);
        Run run = new Run(source, s.deadline(), progress);
        Optional<MigrationResult> refused = run.requireRunning("nothing was sent");
        if (refused.isPresent()) {
            return refused.get();
        }
        try {
            try {
                setCapabilities(source.qmp(), s.autoConverge(), true);
                setParameters(source.qmp(), s);
            } catch (QmpException e) {
                return run.abandon("QEMU refused the migration settings: " + e.getMessage(), false);
            }
            int attempts = 0;
            while (true) {
                attempts++;
                try {
                    source.qmp().execute("migrate", Map.of("uri", uri), QMP);
                } catch (QmpException e) {
                    // Without QEMU's answer the migration may have begun, and may complete despite the cancel.
                    run.migrating = e.kind() != QmpException.Kind.ERROR;
                    return run.abandon("QEMU refused to migrate to " + uri + ": " + e.getMessage(), true);
                }
                run.migrating = true;
                Optional<String> failed = Optional.empty();
                while (failed.isEmpty()) {
                    JsonNode info;
                    try {
                        info = source.qmp().execute("query-migrate", QMP);
                    } catch (QmpException e) {
                        // QEMU holds its lock through the last phase; a slow answer is not yet a failure.
                        if (e.kind() == QmpException.Kind.TIMEOUT && !run.pastDeadline()) {
                            continue;
                        }
                        return run.switchedOver ? run.undecided("source QMP failed during the switchover: " + e.getMessage())
                                : run.abandon("source QMP failed during the migration: " + e.getMessage(), true);
                    }
                    MigrationProgress p = run.report(MigrationProgress.fromQueryMigrate(info));
                    switch (p.phase()) {
                        case "completed" -> {
                            return run.completedLive(info);
                        }
                        case "failed" -> failed = Optional.of(info.path("error-desc").asText("QEMU gave no reason"));
                        case "cancelled" -> {
                            return run.abandon("the migration was cancelled by another QMP client", false);
                        }
                        case "pre-switchover" -> {
                            // The guest is stopped, the target has RAM only: the last moment a cancel is safe.
                            if (run.pastDeadline()) {
                                return run.abandon(run.deadlinePassed() + "; called off before the switchover", true);
                            }
                            try {
                                run.switchedOver = true;
                                source.qmp().execute("migrate-continue", Map.of("state", "pre-switchover"), QMP);
                            } catch (QmpException e) {
                                if (e.kind() != QmpException.Kind.ERROR) {
                                    return run.undecided("QEMU did not answer migrate-continue: " + e.getMessage());
                                }
                                // Refused: QEMU is no longer waiting there (the next query-migrate says why).
                            }
                        }
                        default -> {
                            if (run.pastDeadline()) {
                                return run.switchedOver ? run.undecided(run.deadlinePassed() + " during the switchover")
                                        : run.abandon(run.deadlinePassed(), true);
                            }
                            // Above all pre-switchover: the guest waits stopped, every millisecond here is downtime.
                            awaitChange(source);
                        }
                    }
                }
                String desc = failed.get();
                if (isRefused(desc) && run.leftNanos() > CONNECT_RETRY_INTERVAL.toNanos()) {
                    Thread.sleep(CONNECT_RETRY_INTERVAL);
                    continue;
                }
                return run.abandon(liveFailure(desc, uri, attempts, run.elapsed(), run.deadline, run.sentBytes), false);
            }
        } catch (InterruptedException | RuntimeException e) {
            run.abandonAfter(e);
            throw e;
        }
    }

    /**
     * Checkpoint: pauses the running {@code source} ({@code stop}), has QEMU send its whole state
     * to Baton, which writes it to {@code FILE.partial} counting size and CRC-32C; syncs it and
     * checks its size; writes {@code FILE.meta} atomically; renames the partial file to
     * {@code file}. The order and why: {@link Checkpoint}.
     *
     * <p>Completed: the file is verified and the source stays paused ({@code postmigrate}); its
     * state lives on in the file. Otherwise (no such folder, disk full, QEMU's failure, the
     * deadline): no {@code FILE.partial} is left, the source runs again, and the result says why.
     */
    public static MigrationResult saveCheckpoint(QemuVm source, Path file, MigrationSettings s,
                                                 Consumer<MigrationProgress> progress) throws InterruptedException {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(s, "s");
        Objects.requireNonNull(progress, "progress");
        Path target = file.toAbsolutePath().normalize();
        Run run = new Run(source, s.deadline(), progress);
        Optional<MigrationResult> refused = run.requireRunning("nothing was saved");
        if (refused.isPresent()) {
            return refused.get();
        }
        Path dir = target.getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            return run.failedBeforePause("cannot write " + target + ": no such directory " + dir);
        }
        Save save = new Save(run, target);
        try {
            return save.run(s);
        } catch (InterruptedException | RuntimeException e) {
            save.abandonAfter(e);
            throw e;
        } finally {
            save.closeStream();
        }
    }

    /**
     * Resumes a source that is paused ({@code paused}, or {@code postmigrate} after a migration
     * or checkpoint whose target was then called off): {@code cont}, then checks that it runs.
     * Does nothing to one that runs.
     *
     * @throws QmpException with the reason when it cannot (QEMU refuses, does not answer, or the
     *     guest is still not running)
     * @throws IllegalStateException for a target that waits for its state ({@code inmigrate}):
     *     resuming that would autostart it whenever a stream arrives
     */
    public static void resumeSource(QemuVm source) throws QmpException, InterruptedException {
        QemuVm.Status before = source.status();
        if (before.running()) {
            return;
        }
        if (before.status().equals("inmigrate")) {
            throw new IllegalStateException(source + " waits for an incoming migration; it is a target, not a source to resume");
        }
        source.qmp().execute("cont", QMP);
        QemuVm.Status after = source.status();
        if (!after.running()) {
            throw QmpException.of(QmpException.Kind.ERROR, source + " is " + after.status() + " after cont, not running");
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Target side.

    /**
     * Makes a target started with {@link QemuVm#startIncoming} listen on
     * {@code tcp:LISTEN:PORT} ({@code migrate-incoming}), with the {@code events} capability.
     * QEMU binds at once: a port in use fails here.
     *
     * @throws IllegalStateException when the target does not wait for a migration
     */
    public static void listenLive(QemuVm target, String listenAddress, int port) throws QmpException, InterruptedException {
        String uri = tcpUri(listenAddress, port);
        requireIncoming(target);
        setCapabilities(target.qmp(), false, false);
        target.qmp().execute("migrate-incoming", Map.of("uri", uri), QMP);
    }

    /**
     * Waits until the incoming live migration completed and the VE runs here (QEMU starts it by
     * itself when the source ran): completed. When QEMU exits (a failed load ends it), reports a
     * failure, or the deadline passes first: not completed, with the reason; the caller then
     * closes the target, and, if the source completed, resumes the source.
     */
    public static MigrationResult awaitIncoming(QemuVm target, Duration deadline, Consumer<MigrationProgress> progress)
            throws InterruptedException {
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(progress, "progress");
        Run run = new Run(target, deadline, progress);
        while (true) {
            Optional<String> exited = run.exitedTarget();
            if (exited.isPresent()) {
                return run.targetResult(exited.get(), 0);
            }
            JsonNode info;
            QemuVm.Status status;
            try {
                info = target.qmp().execute("query-migrate", QMP);
                status = target.status();
            } catch (QmpException e) {
                if (retryQmp(target, e, run)) {
                    continue;
                }
                return run.targetResult("target QMP failed: " + e.getMessage(), 0);
            }
            MigrationProgress p = MigrationProgress.fromQueryMigrate(info);
            run.report(p.phase().equals("none") ? p.withPhase("listening") : p);
            switch (p.phase()) {
                case "completed" -> {
                    if (status.running()) {
                        return run.targetCompleted(-1, 0);
                    }
                    if (!status.status().equals("inmigrate")) {
                        return run.targetResult("the state arrived but the VE is " + status.status()
                                + " (the source was not running when it was sent); not resumed", 0);
                    }
                }
                case "failed" -> {
                    return run.targetResult("the incoming migration failed: " + info.path("error-desc").asText("QEMU gave no reason"), 0);
                }
                default -> {
                    // listening, setup, active: wait.
                }
            }
            if (run.pastDeadline()) {
                return run.targetResult(run.deadlinePassed(), 0);
            }
            awaitChange(target);
        }
    }

    /**
     * Restores a checkpoint into a target started with {@link QemuVm#startIncoming}, while its
     * source may still be saving it: streams the file to QEMU ({@code migrate-incoming} on a unix
     * socket) as it is written ({@link CheckpointFollower}), so that the target loads while the
     * source saves. The CRC-32C is checked on the way and the newest bytes are held back until the
     * metadata is there, the file matches it and the save completed: QEMU never gets a whole stream
     * that is not the saved one, and its load fails when the file is refused. A file that is
     * already complete when this begins is checked against its metadata first (a missing
     * metadata, a truncated file, one of another VE): refused before anything is loaded. When
     * loaded, {@code cont} (the state was saved paused), and waits until the VE runs: completed.
     * Otherwise the target never ran; the caller closes it.
     */
    public static MigrationResult loadCheckpoint(QemuVm target, Path file, Duration deadline, Consumer<MigrationProgress> progress)
            throws InterruptedException {
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(progress, "progress");
        Path source = file.toAbsolutePath().normalize();
        Run run = new Run(target, deadline, progress);
        if (Files.exists(source)) {
            // Saved before this began: the metadata and the size now, the CRC-32C on the way, so that the paused guest
            // waits for one read of the file, not two.
            Checkpoint.Verified verified = Checkpoint.precheck(source, target.spec());
            if (verified.refusal().isPresent()) {
                return run.targetResult(verified.refusal().get(), 0);
            }
        }
        Load load = new Load(run, source);
        try {
            return load.run();
        } finally {
            load.closeStream();
        }
    }

    /**
     * Has QEMU announce the VE's MACs now (QMP {@code announce-self}: gratuitous RARPs from every
     * NIC, QEMU's own post-migration rounds), so that the switches send its traffic to this host.
     * QEMU does this by itself after every incoming migration; this repeats it, e.g. when a
     * switch port came up late.
     */
    public static void announce(QemuVm target) throws QmpException, InterruptedException {
        target.qmp().execute("announce-self", ANNOUNCE, QMP);
    }

    // ---------------------------------------------------------------------------------------------
    // Pure parts.

    /** {@code tcp:HOST:PORT}, an IPv6 address in brackets. */
    static String tcpUri(String host, int port) {
        Objects.requireNonNull(host, "host");
        if (!HOST.matcher(host).matches()) {
            throw new IllegalArgumentException("not a host name or IP address: '" + host + "'");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " outside 1..65535");
        }
        return "tcp:" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }

    /** QEMU's error-desc for a refused connection: "Failed to connect to 'H:P': Connection refused". */
    static boolean isRefused(String errorDesc) {
        return errorDesc.contains("Connection refused");
    }

    /** The reason of a live migration that QEMU reports failed, by its error-desc. */
    static String liveFailure(String errorDesc, String uri, int attempts, Duration elapsed, Duration deadline, long sentBytes) {
        String lower = errorDesc.toLowerCase(Locale.ROOT);
        if (isRefused(errorDesc)) {
            return "target refused the connection to " + uri + " (" + attempts + " attempt" + (attempts == 1 ? "" : "s") + " in "
                    + seconds(elapsed) + "; the deadline of " + seconds(deadline) + " left no time for another): "
                    + errorDesc;
        }
        if (lower.startsWith("failed to connect")) {
            return "cannot connect to the target at " + uri + ": " + errorDesc;
        }
        if (lower.contains("broken pipe") || lower.contains("connection reset") || lower.contains("unable to write to socket")
                || lower.contains("unable to read from socket") || lower.contains("timed out") || lower.contains("channel error")) {
            return "connection lost to the target at " + uri + " after " + Run.mib(sentBytes) + " sent: " + errorDesc;
        }
        return "the migration failed: " + errorDesc;
    }

    /** A duration for a reason: "2 s", "0.5 s", "120 s". */
    static String seconds(Duration d) {
        long ms = d.toMillis();
        return ms % 1000 == 0 ? ms / 1000 + " s" : String.format(Locale.ROOT, "%.1f s", ms / 1000.0);
    }

    // ---------------------------------------------------------------------------------------------
    // Shared by both sides.

    /**
     * @param pauseBeforeSwitchover a live source: QEMU stops the guest for the last copy, then
     *     waits ({@code pre-switchover}) until {@code migrate-continue}, so that Baton decides at
     *     one well-defined point whether the target gets the rest; see {@link #sendLive}
     */
    private static void setCapabilities(QmpClient qmp, boolean autoConverge, boolean pauseBeforeSwitchover)
            throws QmpException, InterruptedException {
        List<Map<String, Object>> caps = List.of(
                Map.of("capability", "events", "state", true),
                Map.of("capability", "auto-converge", "state", autoConverge),
                Map.of("capability", "postcopy-ram", "state", false),
                Map.of("capability", "return-path", "state", false),
                Map.of("capability", "pause-before-switchover", "state", pauseBeforeSwitchover));
        qmp.execute("migrate-set-capabilities", Map.of("capabilities", caps), QMP);
    }

    private static void setParameters(QmpClient qmp, MigrationSettings s) throws QmpException, InterruptedException {
        qmp.execute("migrate-set-parameters", Map.of("downtime-limit", s.downtimeLimit().toMillis(),
                "max-bandwidth", s.qemuMaxBandwidth()), QMP);
    }

    /**
     * Waits until QEMU reports a change of the migration's state (its {@code MIGRATION} event,
     * capability {@code events}), at most {@link #POLL_INTERVAL}: the polls above then act on a
     * completion or a pre-switchover pause at once rather than up to a poll interval later, time
     * that a paused guest would wait. Other events queued meanwhile are consumed (during a
     * migration nobody else reads them).
     */
    private static void awaitChange(QemuVm vm) throws InterruptedException {
        vm.qmp().awaitEvent(e -> e.name().equals("MIGRATION"), POLL_INTERVAL);
    }

    private static void requireIncoming(QemuVm target) throws QmpException, InterruptedException {
        QemuVm.Status status = target.status();
        if (!status.status().equals("inmigrate")) {
            throw new IllegalStateException(target + " is " + status.status()
                    + ", not waiting for an incoming migration; start it with QemuVm.startIncoming");
        }
    }

    private static Optional<String> exitedWith(QemuVm vm, String who) throws InterruptedException {
        if (vm.isRunning()) {
            return Optional.empty();
        }
        OptionalInt code = vm.awaitExit(Duration.ZERO);
        String words;
        try {
            words = vm.qemuLastWords();
        } catch (IOException e) {
            words = "";
        }
        return Optional.of(who + " QEMU exited with status " + (code.isPresent() ? code.getAsInt() : "?")
                + (words.isEmpty() ? "" : ": " + words));
    }

    /**
     * Whether a target's failed QMP poll is worth another: a slow answer before the deadline, or
     * a closed connection of a QEMU that is exiting (a failed load ends it, and QMP closes a
     * moment before the process is gone; the next round reports the exit).
     */
    private static boolean retryQmp(QemuVm vm, QmpException e, Run run) throws InterruptedException {
        return switch (e.kind()) {
            case TIMEOUT -> !run.pastDeadline();
            case CLOSED, PROTOCOL -> vm.awaitExit(SETTLE_LIMIT).isPresent();
            case ERROR, BUSY -> false;
        };
    }

    /** Deletes a file of ours; a failure is added to {@code notes} rather than hiding the cause being reported. */
    private static void deleteQuietly(Path p, List<String> notes) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            notes.add("cannot delete " + p + ": " + Checkpoint.reason(e));
        }
    }

    /** One migration call: its VE, clock, progress and last sample. */
    private static final class Run {
        final QemuVm vm;
        final Duration deadline;
        final Consumer<MigrationProgress> progress;
        final long startNanos = System.nanoTime();
        final long deadlineNanos;
        MigrationProgress last = new MigrationProgress("none", 0, 0, 0, 0, 0, -1);
        /** The most QEMU reported sent; its last answer (failed, cancelled) has no numbers. */
        long sentBytes;
        /** Whether this call's {@code migrate} was accepted: from then on query-migrate is about this migration. */
        boolean migrating;
        /**
         * Whether {@code migrate-continue} was sent (live): from then on the target may get the
         * whole state, and nothing here cancels the migration or resumes the source.
         */
        boolean switchedOver;
        /** Whether this call paused the guest (checkpoint), and when: for the pause-to-running downtime. */
        boolean paused;
        long pausedNanos;

        Run(QemuVm vm, Duration deadline, Consumer<MigrationProgress> progress) {
            this.vm = vm;
            this.deadline = Objects.requireNonNull(deadline, "deadline");
            this.progress = progress;
            this.deadlineNanos = startNanos + deadline.toNanos();
        }

        Duration elapsed() {
            return Duration.ofNanos(System.nanoTime() - startNanos);
        }

        long leftNanos() {
            return deadlineNanos - System.nanoTime();
        }

        boolean pastDeadline() {
            return leftNanos() <= 0;
        }

        MigrationProgress report(MigrationProgress p) {
            last = p;
            sentBytes = Math.max(sentBytes, p.transferredBytes());
            progress.accept(p);
            return p;
        }

        String deadlinePassed() {
            return "deadline of " + seconds(deadline) + " passed (" + last.phase() + ", " + lastSentText()
                    + (last.remainingBytes() > 0 ? ", " + mib(last.remainingBytes()) + " left" : "") + ")";
        }

        String lastSentText() {
            return mib(sentBytes) + " sent";
        }

        static String mib(long bytes) {
            return bytes >= 10L << 20 ? (bytes >> 20) + " MiB" : String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
        }

        Optional<String> exitedTarget() throws InterruptedException {
            return exitedWith(vm, "target");
        }

        /** The source must run before anything starts; one that does not is left as it is. */
        Optional<MigrationResult> requireRunning(String nothing) throws InterruptedException {
            QemuVm.Status status;
            try {
                status = vm.status();
            } catch (QmpException e) {
                Optional<String> exited = exitedWith(vm, "source");
                return Optional.of(result(false, exited.orElse("source QMP failed: " + e.getMessage()) + "; " + nothing, -1, false));
            }
            if (!status.running()) {
                return Optional.of(result(false, "the source VE is " + status.status() + ", not running; " + nothing, -1, false));
            }
            return Optional.empty();
        }

        MigrationResult result(boolean completed, String failure, long downtimeMillis, boolean sourceRunning) {
            return new MigrationResult(completed, completed ? Optional.empty() : Optional.of(failure), elapsed(), downtimeMillis,
                    sentBytes, sourceRunning);
        }

        MigrationResult completedLive(JsonNode info) throws InterruptedException {
            long downtime = info.has("downtime") ? info.path("downtime").asLong(-1) : -1;
            boolean running;
            try {
                running = vm.status().running();
            } catch (QmpException e) {
                running = false;
            }
            return result(true, "", downtime, running);
        }

        MigrationResult targetResult(String failure, long transferredBytes) {
            return new MigrationResult(false, Optional.of(failure), elapsed(), -1, transferredBytes, false);
        }

        MigrationResult targetCompleted(long downtimeMillis, long transferredBytes) {
            return new MigrationResult(true, Optional.empty(), elapsed(), downtimeMillis, transferredBytes, false);
        }

        /** A failure before the guest was paused or anything sent: it runs on. */
        MigrationResult failedBeforePause(String failure) {
            return result(false, failure, 0, true);
        }

        /**
         * Ends a source-side migration that did not complete: cancels it if asked and it still
         * runs, waits until QEMU settled, and makes sure the guest runs (unless the migration
         * completed after all, which the cancel can race: then the state is on the target, and
         * the result says completed).
         */
        MigrationResult abandon(String reason, boolean cancel) throws InterruptedException {
            List<String> notes = new ArrayList<>();
            Optional<JsonNode> settled = settle(cancel, notes);
            // query-migrate shows the last migration of this QEMU: only one this call started counts.
            if (migrating && settled.isPresent() && settled.get().path("status").asText("").equals("completed")) {
                return completedLive(settled.get());
            }
            return result(false, reason + ensureRunning(notes), downtimeSincePause(), isRunning());
        }

        /**
         * Ends a live migration that was told to switch over but has not reported its end: waits
         * (no cancel) for at most {@link #SETTLE_LIMIT} until QEMU settles. Completed: completed.
         * Failed: the stream broke before its end, so the target cannot have the whole state, and
         * QEMU runs the guest here again (it does so by itself). Still unsettled: the source stays
         * paused, since the target may hold the whole state; the result says so.
         */
        MigrationResult undecided(String reason) throws InterruptedException {
            List<String> notes = new ArrayList<>();
            Optional<JsonNode> settled = settle(false, notes);
            if (settled.isPresent() && settled.get().path("status").asText("").equals("completed")) {
                return completedLive(settled.get());
            }
            if (settled.isPresent() && !UNSETTLED.contains(settled.get().path("status").asText("active"))) {
                return result(false, reason + ensureRunning(notes), -1, isRunning());
            }
            return result(false, reason + "; the source stays paused: the migration was told to switch over and has not ended,"
                    + " so the target may hold the whole state" + notes(notes), -1, false);
        }

        /** Cleanup after an exception of the caller's (its progress callback) or an interrupt: the source must run on. */
        void abandonAfter(Exception cause) {
            boolean interrupted = Thread.interrupted();
            try {
                if (switchedOver) {
                    undecided("aborted: " + cause);
                } else {
                    abandon("aborted: " + cause, true);
                }
            } catch (InterruptedException | RuntimeException e) {
                cause.addSuppressed(e);
            } finally {
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        /**
         * {@code migrate_cancel} when asked, then {@code query-migrate} until QEMU is no longer at
         * it, for at most {@link #SETTLE_LIMIT}; the last answer, empty if none came.
         */
        Optional<JsonNode> settle(boolean cancel, List<String> notes) throws InterruptedException {
            if (cancel) {
                try {
                    vm.qmp().execute("migrate_cancel", QMP);
                } catch (QmpException e) {
                    notes.add(e.getMessage());
                }
            }
            long until = System.nanoTime() + SETTLE_LIMIT.toNanos();
            Optional<JsonNode> info = Optional.empty();
            while (vm.isRunning()) {
                try {
                    info = Optional.of(vm.qmp().execute("query-migrate", QMP));
                } catch (QmpException e) {
                    notes.add(e.getMessage());
                    return Optional.empty();
                }
                String status = info.get().path("status").asText("none");
                if (!UNSETTLED.contains(status)) {
                    return info;
                }
                if (System.nanoTime() - until >= 0) {
                    notes.add("the migration was still " + status + " " + SETTLE_LIMIT.toSeconds() + " s after it was cancelled");
                    return info;
                }
                Thread.sleep(POLL_INTERVAL);
            }
            return Optional.empty();
        }

        /** Resumes the guest if it is paused; "" when it runs, else "; " and why not. */
        String ensureRunning(List<String> notes) throws InterruptedException {
            Optional<String> exited = exitedWith(vm, "source");
            if (exited.isPresent()) {
                return "; " + exited.get() + notes(notes);
            }
            try {
                QemuVm.Status status = vm.status();
                if (status.running()) {
                    return notes(notes);
                }
                if (status.status().equals("paused") || status.status().equals("postmigrate")) {
                    vm.qmp().execute("cont", QMP);
                    status = vm.status();
                }
                return status.running() ? notes(notes) : "; the source VE is " + status.status() + ", not running" + notes(notes);
            } catch (QmpException e) {
                return "; cannot resume the source: " + e.getMessage() + notes(notes);
            }
        }

        private static String notes(List<String> notes) {
            return notes.isEmpty() ? "" : " (" + String.join("; ", notes) + ")";
        }

        boolean isRunning() throws InterruptedException {
            try {
                return vm.isRunning() && vm.status().running();
            } catch (QmpException e) {
                return false;
            }
        }

        long downtimeSincePause() {
            return paused ? (System.nanoTime() - pausedNanos) / 1_000_000 : -1;
        }
    }

    /** One checkpoint save: the stream's socket, the receiving thread and the files. */
    private static final class Save {
        final Run run;
        final QemuVm vm;
        final Path file;
        final Path partial;
        final Path meta;
        final Path socket;
        final AtomicReference<ServerSocketChannel> server = new AtomicReference<>();
        final AtomicReference<SocketChannel> connection = new AtomicReference<>();
        final AtomicLong received = new AtomicLong();
        final CompletableFuture<Checkpoint.Sum> stream = new CompletableFuture<>();

        Save(Run run, Path file) {
            this.run = run;
            this.vm = run.vm;
            this.file = file;
            this.partial = Checkpoint.partialFile(file);
            this.meta = Checkpoint.metaFile(file);
            this.socket = vm.files().dir().resolve(STREAM_SOCKET);
        }

        MigrationResult run(MigrationSettings s) throws InterruptedException {
            FileChannel out;
            try {
                out = FileChannel.open(partial, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                        StandardOpenOption.WRITE);
            } catch (IOException e) {
                return run.failedBeforePause("cannot write " + file + ": " + Checkpoint.reason(e));
            }
            try {
                ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
                server.set(listener);
                Files.deleteIfExists(socket);
                listener.bind(UnixDomainSocketAddress.of(socket), 1);
            } catch (IOException e) {
                closeQuietly(out);
                List<String> notes = new ArrayList<>();
                deleteQuietly(partial, notes);
                return run.failedBeforePause("cannot listen on " + socket + " for the VE's state: " + Checkpoint.reason(e)
                        + Run.notes(notes));
            }
            long limit = Checkpoint.maxSizeBytes(vm.spec().memoryMib());
            // Copy and CRC on a platform thread: on a virtual thread they could hold one of the few
            // carriers that QMP's readers and the daemon's I/O completions also need.
            Thread.ofPlatform().daemon(true).name("checkpoint-receiver " + file).start(() -> receive(out, limit));
            try {
                setCapabilities(vm.qmp(), false, false);
                setParameters(vm.qmp(), s);
            } catch (QmpException e) {
                return fail("QEMU refused the migration settings: " + e.getMessage(), false);
            }
            Instant pausedAt;
            try {
                vm.qmp().execute("stop", QMP);
                run.paused = true;
                run.pausedNanos = System.nanoTime();
                pausedAt = Instant.now();
            } catch (QmpException e) {
                return fail("cannot pause the VE: " + e.getMessage(), false);
            }
            try {
                vm.qmp().execute("migrate", Map.of("uri", "unix:" + socket), QMP);
            } catch (QmpException e) {
                return fail("QEMU refused to save its state: " + e.getMessage(), true);
            }
            while (true) {
                if (stream.isCompletedExceptionally()) {
                    return fail(streamFailure(), true);
                }
                JsonNode info;
                try {
                    info = vm.qmp().execute("query-migrate", QMP);
                } catch (QmpException e) {
                    if (e.kind() == QmpException.Kind.TIMEOUT && !run.pastDeadline()) {
                        continue;
                    }
                    return fail("source QMP failed during the save: " + e.getMessage(), true);
                }
                MigrationProgress p = MigrationProgress.fromQueryMigrate(info);
                run.report(UNSETTLED.contains(p.phase()) && !p.phase().equals("cancelling") ? p.withPhase("saving") : p);
                switch (p.phase()) {
                    case "completed" -> {
                        return finish(pausedAt);
                    }
                    case "failed" -> {
                        // A stream that failed on Baton's side makes QEMU fail with a broken pipe: say the first cause.
                        awaitStream(Duration.ofSeconds(1));
                        return fail(stream.isCompletedExceptionally() ? streamFailure()
                                : "QEMU could not save the state: " + info.path("error-desc").asText("QEMU gave no reason"), false);
                    }
                    case "cancelled" -> {
                        return fail("the save was cancelled by another QMP client", false);
                    }
                    default -> {
                        if (run.pastDeadline()) {
                            return fail(run.deadlinePassed(), true);
                        }
                        awaitChange(vm);
                    }
                }
            }
        }

        /** The receiving thread: accept QEMU's connection, copy the stream into the partial file. */
        private void receive(FileChannel out, long limit) {
            try (out) {
                SocketChannel c = server.get().accept();
                connection.set(c);
                try (c) {
                    stream.complete(Checkpoint.receive(c, out, limit, file, received::set));
                }
            } catch (IOException | RuntimeException e) {
                stream.completeExceptionally(e);
            }
        }

        private void awaitStream(Duration limit) throws InterruptedException {
            try {
                stream.get(limit.toNanos(), TimeUnit.NANOSECONDS);
            } catch (ExecutionException | TimeoutException e) {
                // The caller looks at the future's state.
            }
        }

        private String streamFailure() {
            try {
                stream.getNow(null);
                return "the stream of the VE's state ended";
            } catch (CompletionException e) {
                Throwable cause = e.getCause();
                return cause instanceof IOException io ? io.getMessage() : String.valueOf(cause);
            }
        }

        /** QEMU sent everything: wait for the file (synced), check its size, write the metadata, rename. */
        private MigrationResult finish(Instant pausedAt) throws InterruptedException {
            long left = Math.max(run.leftNanos(), Duration.ofSeconds(1).toNanos());
            Checkpoint.Sum written;
            try {
                written = stream.get(left, TimeUnit.NANOSECONDS);
            } catch (ExecutionException e) {
                return fail(streamFailure(), false);
            } catch (TimeoutException e) {
                return fail(run.deadlinePassed() + "; QEMU had sent everything, the file was not yet written", false);
            }
            run.report(new MigrationProgress("saving", written.sizeBytes(), 0, written.sizeBytes(), 0, run.last.dirtySyncCount(), -1));
            try {
                // Its size, not a second read: the paused guest waits for every read, and the load checks the
                // file's CRC-32C against the metadata on its way to the target anyway (Checkpoint#send).
                long size = Files.size(partial);
                if (size != written.sizeBytes()) {
                    return fail("cannot write " + file + ": it holds " + size + " bytes, " + written.sizeBytes() + " were written", false);
                }
                Checkpoint checkpoint = new Checkpoint(vm.spec().name(), written.sizeBytes(), written.crc32c(), vm.spec().memoryMib(),
                        pausedAt);
                checkpoint.writeAtomically(meta);
                Files.move(partial, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException e) {
                // The VE runs on: a checkpoint left under this name, older or half-written, is stale.
                List<String> notes = new ArrayList<>();
                deleteQuietly(meta, notes);
                deleteQuietly(file, notes);
                return fail("cannot write " + file + ": " + Checkpoint.reason(e) + Run.notes(notes), false);
            }
            try {
                Checkpoint.syncDirectory(file.getParent());
            } catch (IOException e) {
                // The rename is the save's commit: a target may be loading the file already (CheckpointFollower), so the
                // save is not undone now. The file's bytes and metadata are synced; only the rename may not yet be.
            }
            if (run.isRunning()) {
                // Nothing here resumes it, and QMP serves one client: a broken invariant. The file is of
                // an instant the VE has left, so it must not be loaded.
                List<String> notes = new ArrayList<>();
                deleteQuietly(meta, notes);
                deleteQuietly(file, notes);
                throw new IllegalStateException(vm + " runs again after its checkpoint to " + file + " completed" + Run.notes(notes));
            }
            run.report(new MigrationProgress("completed", written.sizeBytes(), 0, written.sizeBytes(), 0, run.last.dirtySyncCount(), -1));
            // The file's size: QEMU counts RAM pages only, not the devices' state.
            run.sentBytes = written.sizeBytes();
            return run.result(true, "", -1, false);
        }

        /** Ends a save that failed: QEMU cancelled and settled, the stream closed, the partial file deleted, the guest running. */
        private MigrationResult fail(String reason, boolean cancel) throws InterruptedException {
            List<String> notes = new ArrayList<>();
            run.settle(cancel, notes);
            closeStream();
            awaitStream(SETTLE_LIMIT);
            deleteQuietly(partial, notes);
            deleteQuietly(meta.resolveSibling(meta.getFileName() + ".tmp"), notes);
            String resumed = run.ensureRunning(notes);
            // What reached the file before it failed, not what QEMU counted as sent.
            run.sentBytes = received.get();
            return run.result(false, reason + resumed, run.downtimeSincePause(), run.isRunning());
        }

        void abandonAfter(Exception cause) {
            boolean interrupted = Thread.interrupted();
            try {
                fail("aborted: " + cause, true);
            } catch (InterruptedException | RuntimeException e) {
                cause.addSuppressed(e);
            } finally {
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        /** Closes the socket (QEMU's writes then fail at once) and deletes its path. Idempotent. */
        void closeStream() {
            closeQuietly(server.get());
            closeQuietly(connection.get());
            try {
                Files.deleteIfExists(socket);
            } catch (IOException e) {
                // A leftover socket path is replaced by the next bind.
            }
        }
    }

    /** One checkpoint load: the stream's socket and the sending thread. */
    private static final class Load {
        final Run run;
        final QemuVm vm;
        final Path file;
        final Path socket;
        final AtomicReference<SocketChannel> connection = new AtomicReference<>();
        final AtomicLong sent = new AtomicLong();
        /** The checkpoint's metadata once all of the file went to QEMU. */
        final CompletableFuture<Checkpoint> stream = new CompletableFuture<>();

        Load(Run run, Path file) {
            this.run = run;
            this.vm = run.vm;
            this.file = file;
            this.socket = vm.files().dir().resolve(STREAM_SOCKET);
        }

        MigrationResult run() throws InterruptedException {
            try {
                QemuVm.Status status = vm.status();
                if (!status.status().equals("inmigrate")) {
                    return run.targetResult("the target VE is " + status.status()
                            + ", not waiting for an incoming migration (start it with QemuVm.startIncoming)", 0);
                }
                setCapabilities(vm.qmp(), false, false);
                Files.deleteIfExists(socket);
                vm.qmp().execute("migrate-incoming", Map.of("uri", "unix:" + socket), QMP);
            } catch (QmpException e) {
                return failed("target QMP failed: " + e.getMessage());
            } catch (IOException e) {
                return failed("cannot prepare " + socket + ": " + Checkpoint.reason(e));
            }
            SocketChannel c;
            try {
                // QEMU binds the socket before migrate-incoming answers.
                c = SocketChannel.open(UnixDomainSocketAddress.of(socket));
                connection.set(c);
            } catch (IOException e) {
                return failed("cannot connect to the target's socket " + socket + ": " + Checkpoint.reason(e));
            }
            // A platform thread, as the receiver's.
            Thread.ofPlatform().daemon(true).name("checkpoint-sender " + file).start(this::send);
            long lastSent = 0;
            long lastNanos = System.nanoTime();
            boolean resumed = false;
            while (true) {
                if (stream.isCompletedExceptionally()) {
                    return failed(streamFailure());
                }
                Optional<String> exited = run.exitedTarget();
                if (exited.isPresent()) {
                    return failed(exited.get());
                }
                JsonNode info;
                QemuVm.Status status;
                try {
                    info = vm.qmp().execute("query-migrate", QMP);
                    status = vm.status();
                } catch (QmpException e) {
                    if (retryQmp(vm, e, run)) {
                        continue;
                    }
                    return failed("target QMP failed: " + e.getMessage());
                }
                long now = System.nanoTime();
                long s = sent.get();
                long rate = now > lastNanos ? (s - lastSent) * 1_000_000_000L / (now - lastNanos) : 0;
                lastSent = s;
                lastNanos = now;
                String phase = info.path("status").asText("none");
                // The size is known once the source wrote the metadata; until then, what was sent.
                long total = stream.isDone() && !stream.isCompletedExceptionally() ? stream.join().sizeBytes() : s;
                run.report(new MigrationProgress(phase.equals("completed") ? phase : "loading", s, total - s, total, rate, 0, -1));
                switch (phase) {
                    case "completed" -> {
                        if (!stream.isDone() || stream.isCompletedExceptionally()) {
                            // QEMU took the whole stream, so the sender has sent its last bytes and is about to say so;
                            // a sender that failed all the same is looked at first (the VE is not resumed).
                            awaitStream();
                            continue;
                        }
                        if (status.running()) {
                            Checkpoint checkpoint = stream.join();
                            long downtime = Duration.between(checkpoint.createdAt(), Instant.now()).toMillis();
                            return run.targetCompleted(downtime >= 0 ? downtime : -1, total);
                        }
                        if (resumed) {
                            return failed("the VE is " + status.status() + " after cont, not running");
                        }
                        if (!status.status().equals("paused")) {
                            return failed("the state loaded but the VE is " + status.status() + ", not paused; not resumed");
                        }
                        // Loaded completely: only now may the target run (in inmigrate, cont would mean "autostart").
                        try {
                            vm.qmp().execute("cont", QMP);
                        } catch (QmpException e) {
                            return failed("cannot resume the loaded VE: " + e.getMessage());
                        }
                        resumed = true;
                        continue;
                    }
                    case "failed" -> {
                        return failed("the load failed: " + info.path("error-desc").asText("QEMU gave no reason"));
                    }
                    default -> {
                        // setup, active: loading.
                    }
                }
                if (run.pastDeadline()) {
                    return failed(run.deadlinePassed());
                }
                awaitChange(vm);
            }
        }

        private void send() {
            SocketChannel c = connection.get();
            try (c) {
                stream.complete(new CheckpointFollower(file, vm.spec(), System.nanoTime() + run.leftNanos()).send(c, sent::set));
            } catch (IOException | RuntimeException e) {
                stream.completeExceptionally(e);
            } catch (InterruptedException e) {
                stream.completeExceptionally(new IOException("interrupted", e));
            }
        }

        private void awaitStream() throws InterruptedException {
            try {
                stream.get(1, TimeUnit.SECONDS);
            } catch (ExecutionException | TimeoutException e) {
                // The caller looks at the future's state.
            }
        }

        private String streamFailure() {
            try {
                stream.getNow(null);
                return "the stream to the target ended";
            } catch (CompletionException e) {
                Throwable cause = e.getCause();
                String why = cause instanceof IOException io ? io.getMessage() : String.valueOf(cause);
                return why.startsWith("checkpoint ") ? why : "cannot send checkpoint " + file + " to the target: " + why;
            }
        }

        /** A load that failed: the stream is cut so that QEMU cannot complete it; the target was never resumed. */
        private MigrationResult failed(String reason) throws InterruptedException {
            // A file that does not match its metadata ends the stream before its last chunk, and QEMU's load fails
            // on that at once: the checksum, not QEMU's complaint about the short stream, is the reason.
            if (!stream.isDone()) {
                awaitStream();
            }
            if (stream.isCompletedExceptionally() && !reason.equals(streamFailure())) {
                reason = streamFailure();
            }
            closeStream();
            Optional<String> exited = run.exitedTarget();
            String why = exited.isPresent() && !reason.contains(" QEMU exited ") ? reason + "; " + exited.get() : reason;
            return run.targetResult(why, sent.get());
        }

        void closeStream() {
            closeQuietly(connection.get());
            try {
                Files.deleteIfExists(socket);
            } catch (IOException e) {
                // QEMU replaces a leftover socket path when it binds.
            }
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception e) {
            // Closing to abort: the failure being reported is the cause.
        }
    }
}
