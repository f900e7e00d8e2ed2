package baton.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import baton.lab.Cmd;
import baton.lab.Host;
import baton.lab.Lab;
import baton.lab.LabProcess;
import baton.lab.Poll;
import baton.runtime.ve.Checkpoint;
import baton.runtime.ve.CommandPrefix;
import baton.runtime.ve.MigrationProgress;
import baton.runtime.ve.MigrationResult;
import baton.runtime.ve.MigrationSettings;
import baton.runtime.ve.QemuVm;
import baton.runtime.ve.VeMigration;
import baton.runtime.ve.VeSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Live migration and checkpoint/restore of a real VE ({@link VeMigration}): the test guest under
 * TCG in one node host, moved to the other, while a client downloads from it.
 *
 * <pre>
 *   client ── switch ──┬── a: br0 [eth0, ve1-0] ── QEMU ve1 (52:54:00:b7:0e:01, 198.18.S.100)
 *                      └── b: br0 [eth0, ve1-0] ── QEMU ve1, started with -incoming defer
 * </pre>
 *
 * Each node host's uplink sits in its bridge ({@link QemuVmIT#bridgeUplink}), so the VE is
 * reachable only through the host whose QEMU runs it, and the switch learns its new port from
 * QEMU's announcement after the move. The guest's {@code /cgi-bin/uptime} tells one boot from
 * another: after a move it must be larger than before it.
 */
class VeMigrationIT {
    static final Duration BOOT_LIMIT = Duration.ofSeconds(90);
    static final Duration START_LIMIT = Duration.ofSeconds(20);
    static final int MEMORY_MIB = 128;
    static final int FILE_MIB = 16;
    static final int PORT = 49152;
    static final String MAC = "52:54:00:b7:0e:01";

    static Path guestDir;

    @BeforeAll
    static void buildGuest() {
        QemuVmIT.buildGuest();
        guestDir = QemuVmIT.guestDir;
    }

    /** A lab of two node hosts, each with its bridge, and a client; the VE's spec; every QEMU started, closed at the end. */
    static final class Setup implements AutoCloseable {
        final Lab lab = Lab.create(2, true);
        final Host a = lab.node(1);
        final Host b = lab.node(2);
        final Host client = lab.client();
        final String ip = lab.tag().address(100);
        final Path work;
        final VeSpec spec;
        final List<QemuVm> vms = new ArrayList<>();

        Setup() throws IOException {
            work = Files.createTempDirectory(Path.of("/var/tmp"), "baton-mig-it-");
            QemuVmIT.bridgeUplink(a, "br0");
            QemuVmIT.bridgeUplink(b, "br0");
            String cmdline = "console=ttyS0 panic=1 quiet baton.ip=" + ip + "/24 baton.file_mib=" + FILE_MIB + " baton.name=ve1";
            spec = new VeSpec("ve1", MEMORY_MIB, 1,
                    new VeSpec.Boot.Kernel(guestDir.resolve("vmlinux"), Optional.of(guestDir.resolve("initramfs.cpio.gz")), cmdline),
                    List.of(new VeSpec.Nic(MAC, "br0")), VeSpec.Accel.TCG);
        }

        Path runDir(Host h) {
            return work.resolve(h.name());
        }

        CommandPrefix on(Host h) {
            return CommandPrefix.netns(h.netns());
        }

        /** Boots the VE on {@code h} and waits until the guest serves. */
        QemuVm boot(Host h) throws Exception {
            QemuVm vm = track(QemuVm.start(spec, runDir(h), on(h), START_LIMIT));
            if (!vm.awaitConsole("baton-guest: ready", BOOT_LIMIT)) {
                fail("the guest did not get ready within " + BOOT_LIMIT.toSeconds() + " s; console:\n" + vm.console()
                        + "\nQEMU log:\n" + vm.qemuLog());
            }
            return vm;
        }

        /** A QEMU on {@code h} waiting for the VE's state. */
        QemuVm incoming(Host h) throws Exception {
            QemuVm vm = track(QemuVm.startIncoming(spec, runDir(h), on(h), START_LIMIT));
            assertThat(vm.status().status()).isEqualTo("inmigrate");
            return vm;
        }

        /** A target on {@code h} listening for a live migration on {@link #PORT}. */
        QemuVm listening(Host h) throws Exception {
            QemuVm vm = incoming(h);
            VeMigration.listenLive(vm, h.address().getHostAddress(), PORT);
            return vm;
        }

        QemuVm track(QemuVm vm) {
            vms.add(vm);
            return vm;
        }

        double uptime() {
            return QemuVmIT.uptime(client, ip, "/cgi-bin/uptime");
        }

        /** A download of /data.bin by the client at {@code bytesPerSecond}, in the background, once it has begun. */
        Download download(String name, String rate) {
            Path file = work.resolve(name);
            LabProcess p = client.start(List.of("curl", "-sS", "--fail", "--limit-rate", rate, "--max-time", "180", "-o",
                    file.toString(), "http://" + ip + "/data.bin"), work.resolve(name + ".log"), Map.of());
            assertThat(Poll.until(Duration.ofSeconds(20), () -> size(file) > 256 << 10))
                    .as("the download has begun: " + p.log()).isTrue();
            return new Download(p, file);
        }

        /** Every QEMU first (it lives in the lab's namespaces), then the lab, then the files; every step even when one fails. */
        @Override
        public void close() throws IOException {
            IOException failure = new IOException("cleaning up the migration lab failed");
            for (QemuVm vm : vms) {
                try {
                    vm.close();
                } catch (IOException e) {
                    failure.addSuppressed(e);
                }
            }
            try {
                lab.close();
            } catch (RuntimeException e) {
                failure.addSuppressed(e);
            }
            try (var s = Files.walk(work)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
            if (failure.getSuppressed().length > 0) {
                throw failure;
            }
        }
    }

    record Download(LabProcess curl, Path file) {
        /** Waits for the download's end and checks it against the guest's own checksum. */
        void assertComplete(Setup s) throws Exception {
            int exit = curl.waitFor(Duration.ofSeconds(180));
            assertThat(exit).as("curl: " + curl.log()).isZero();
            assertThat(Files.size(file)).isEqualTo((long) FILE_MIB << 20);
            String expected = QemuVmIT.curl(s.client, s.ip, "/data.bin.sha256").split("\\s+")[0];
            assertThat(QemuVmIT.sha256(file)).isEqualTo(expected);
        }
    }

    static long size(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            return 0;
        }
    }

    /** Collects progress samples. */
    static final class Samples implements Consumer<MigrationProgress> {
        final List<MigrationProgress> all = Collections.synchronizedList(new ArrayList<>());

        @Override
        public void accept(MigrationProgress p) {
            all.add(p);
        }

        long maxSent() {
            synchronized (all) {
                return all.stream().mapToLong(MigrationProgress::transferredBytes).max().orElse(0);
            }
        }

        String summary() {
            synchronized (all) {
                return all.size() + " samples, phases " + all.stream().map(MigrationProgress::phase).distinct().toList()
                        + (all.isEmpty() ? "" : ", last: " + all.getLast());
            }
        }
    }

    interface Call<T> {
        T call() throws Exception;
    }

    static <T> CompletableFuture<T> inBackground(Call<T> call) {
        CompletableFuture<T> f = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try {
                f.complete(call.call());
            } catch (Throwable t) {
                f.completeExceptionally(t);
            }
        });
        return f;
    }

    @Test
    void aRunningVeMovesLiveAndThroughACheckpointWithoutRebootingWhileAClientDownloadsFromIt() throws Exception {
        try (Setup s = new Setup()) {
            QemuVm onA = s.boot(s.a);
            double up0 = s.uptime();

            // Live, A to B, during a download at 1 MiB/s (16 s).
            Download d1 = s.download("live.bin", "1M");
            QemuVm onB = s.listening(s.b);
            Samples incoming = new Samples();
            CompletableFuture<MigrationResult> arrived = inBackground(() ->
                    VeMigration.awaitIncoming(onB, Duration.ofSeconds(120), incoming));
            Samples sent = new Samples();
            MigrationResult live = VeMigration.sendLive(onA, s.b.address().getHostAddress(), PORT, MigrationSettings.defaults(), sent);
            MigrationResult in = arrived.get(130, TimeUnit.SECONDS);
            System.out.printf("VeMigrationIT: live A->B: %s; target: %s%n  source progress: %s%n  target progress: %s%n",
                    live, in, sent.summary(), incoming.summary());

            assertThat(live.completed()).as(live.toString()).isTrue();
            assertThat(live.sourceRunning()).isFalse();
            assertThat(live.downtimeMillis()).isGreaterThanOrEqualTo(0);
            assertThat(live.transferredBytes()).isGreaterThan(FILE_MIB << 20);
            assertThat(onA.status()).isEqualTo(new QemuVm.Status("postmigrate", false));
            assertThat(in.completed()).as(in.toString()).isTrue();
            assertThat(onB.status()).isEqualTo(new QemuVm.Status("running", true));
            assertThat(sent.all).extracting(MigrationProgress::phase).contains("active", "completed");
            double up1 = s.uptime();
            assertThat(up1).as("the same boot, later").isGreaterThan(up0);
            d1.assertComplete(s);
            QemuVm.Stopped quit = onA.quit(Duration.ofSeconds(5));
            assertThat(quit.how()).isEqualTo(QemuVm.How.QUIT);

            // Checkpoint on B, restored on A, during another download.
            Download d2 = s.download("checkpoint.bin", "2M");
            Path file = s.work.resolve("checkpoints/ve1.ckpt");
            Files.createDirectories(file.getParent());
            Samples saving = new Samples();
            // As the daemons do it: the target's QEMU waits and loads the file while the source writes it.
            QemuVm onA2 = s.incoming(s.a);
            Samples loading = new Samples();
            AtomicLong firstLoaded = new AtomicLong();
            CompletableFuture<MigrationResult> load = inBackground(() -> VeMigration.loadCheckpoint(onA2, file, Duration.ofSeconds(60),
                    p -> {
                        loading.accept(p);
                        if (p.transferredBytes() > 0) {
                            firstLoaded.compareAndSet(0, System.nanoTime());
                        }
                    }));
            MigrationResult saved = VeMigration.saveCheckpoint(onB, file, MigrationSettings.defaults(), saving);
            long savedAt = System.nanoTime();
            System.out.printf("VeMigrationIT: checkpoint on B: %s%n  progress: %s%n", saved, saving.summary());
            assertThat(saved.completed()).as(saved.toString()).isTrue();
            assertThat(saved.sourceRunning()).isFalse();
            assertThat(onB.status().running()).isFalse();
            assertThat(Files.size(file)).isEqualTo(saved.transferredBytes());
            assertThat(Checkpoint.read(Checkpoint.metaFile(file)).sizeBytes()).isEqualTo(Files.size(file));
            assertThat(Files.exists(Checkpoint.partialFile(file))).isFalse();
            MigrationResult loaded = load.get(70, TimeUnit.SECONDS);
            System.out.printf("VeMigrationIT: restore on A: %s%n  progress: %s%n", loaded, loading.summary());
            assertThat(loaded.completed()).as(loaded.toString()).isTrue();
            assertThat(firstLoaded.get()).as("loaded while it was saved: the target had bytes before the save ended").isPositive()
                    .isLessThan(savedAt);
            onB.quit(Duration.ofSeconds(5));
            assertThat(onA2.status()).isEqualTo(new QemuVm.Status("running", true));
            VeMigration.announce(onA2);
            double up2 = s.uptime();
            assertThat(up2).as("the same boot, later").isGreaterThan(up1);
            d2.assertComplete(s);
            System.out.printf("VeMigrationIT: guest uptime %.2f s before, %.2f s after the live move, %.2f s after the restore%n",
                    up0, up1, up2);
        }
    }

    @Test
    void aMigrationThatFailsLeavesTheSourceRunningAndABadCheckpointIsNeverLoaded() throws Exception {
        try (Setup s = new Setup()) {
            QemuVm source = s.boot(s.a);
            String bAddress = s.b.address().getHostAddress();
            double up = s.uptime();

            // Nothing listens: refused, tried again until the deadline.
            MigrationResult refused = VeMigration.sendLive(source, bAddress, PORT + 1,
                    MigrationSettings.defaults().withDeadline(Duration.ofMillis(1500)), p -> {});
            System.out.printf("VeMigrationIT: nobody listens: %s%n", refused);
            assertThat(refused.completed()).isFalse();
            assertThat(refused.failure().orElseThrow()).startsWith("target refused the connection to tcp:" + bAddress + ":" + (PORT + 1));
            up = assertRunsOn(s, source, up);

            // A deadline too short for the bandwidth: cancelled; the target's load fails and its QEMU ends.
            QemuVm slowTarget = s.listening(s.b);
            MigrationSettings slow = MigrationSettings.defaults().withMaxBandwidth(2_000_000).withDeadline(Duration.ofSeconds(2));
            MigrationResult late = VeMigration.sendLive(source, bAddress, PORT, slow, p -> {});
            MigrationResult lateTarget = VeMigration.awaitIncoming(slowTarget, Duration.ofSeconds(20), p -> {});
            System.out.printf("VeMigrationIT: deadline: %s; target: %s%n", late, lateTarget);
            assertThat(late.completed()).isFalse();
            assertThat(late.failure().orElseThrow()).startsWith("deadline of 2 s passed");
            assertThat(late.sourceRunning()).isTrue();
            assertThat(lateTarget.completed()).isFalse();
            assertThat(lateTarget.failure().orElseThrow()).startsWith("target QEMU exited with status 1");
            slowTarget.close();
            up = assertRunsOn(s, source, up);

            // The target dies half-way: connection lost, the source runs on.
            QemuVm doomed = s.listening(s.b);
            Samples sent = new Samples();
            MigrationSettings fourMb = MigrationSettings.defaults().withMaxBandwidth(4_000_000);
            CompletableFuture<MigrationResult> sending = inBackground(() -> VeMigration.sendLive(source, bAddress, PORT, fourMb, sent));
            assertThat(Poll.until(Duration.ofSeconds(30), () -> sent.maxSent() > 4 << 20)).as(sent.summary()).isTrue();
            doomed.kill();
            MigrationResult lost = sending.get(60, TimeUnit.SECONDS);
            System.out.printf("VeMigrationIT: target killed: %s%n", lost);
            assertThat(lost.completed()).isFalse();
            assertThat(lost.failure().orElseThrow()).startsWith("connection lost to the target at tcp:" + bAddress + ":" + PORT);
            assertThat(lost.sourceRunning()).isTrue();
            up = assertRunsOn(s, source, up);

            // A checkpoint into a folder that does not exist: refused before the VE is paused.
            Path missing = s.work.resolve("no-such-dir/ve1.ckpt");
            MigrationResult noDir = VeMigration.saveCheckpoint(source, missing, MigrationSettings.defaults(), p -> {});
            System.out.printf("VeMigrationIT: no such folder: %s%n", noDir);
            assertThat(noDir.completed()).isFalse();
            assertThat(noDir.failure().orElseThrow()).isEqualTo("cannot write " + missing + ": no such directory " + missing.getParent());
            up = assertRunsOn(s, source, up);

            // A checkpoint onto a full disk: an 8 MiB tmpfs.
            Path small = s.work.resolve("small");
            Files.createDirectories(small);
            assertThat(Cmd.run(Duration.ofSeconds(10), "mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", small.toString()).exitCode())
                    .isZero();
            try {
                Path full = small.resolve("ve1.ckpt");
                MigrationResult noSpace = VeMigration.saveCheckpoint(source, full, MigrationSettings.defaults(), p -> {});
                System.out.printf("VeMigrationIT: disk full: %s%n", noSpace);
                assertThat(noSpace.completed()).isFalse();
                assertThat(noSpace.failure().orElseThrow()).startsWith("cannot write " + full + ": No space left on device");
                assertThat(noSpace.sourceRunning()).isTrue();
                try (var files = Files.list(small)) {
                    assertThat(files.toList()).as("no partial file is left").isEmpty();
                }
            } finally {
                Cmd.run(Duration.ofSeconds(10), "umount", small.toString());
            }
            up = assertRunsOn(s, source, up);

            // A good checkpoint, then the source resumed (the handoff called off), then corrupt and truncated copies refused.
            Path file = s.work.resolve("ve1.ckpt");
            MigrationResult saved = VeMigration.saveCheckpoint(source, file, MigrationSettings.defaults(), p -> {});
            System.out.printf("VeMigrationIT: checkpoint: %s%n", saved);
            assertThat(saved.completed()).as(saved.toString()).isTrue();
            assertThat(source.status()).isEqualTo(new QemuVm.Status("postmigrate", false));
            VeMigration.resumeSource(source);
            up = assertRunsOn(s, source, up);

            byte[] bytes = Files.readAllBytes(file);
            bytes[bytes.length / 2] ^= 0x01;
            Path corrupt = s.work.resolve("corrupt.ckpt");
            Files.write(corrupt, bytes);
            Files.copy(Checkpoint.metaFile(file), Checkpoint.metaFile(corrupt));
            Path truncated = s.work.resolve("truncated.ckpt");
            Files.write(truncated, Arrays.copyOf(bytes, bytes.length - 4096));
            Files.copy(Checkpoint.metaFile(file), Checkpoint.metaFile(truncated));

            QemuVm target = s.incoming(s.b);
            MigrationResult tooShort = VeMigration.loadCheckpoint(target, truncated, Duration.ofSeconds(30), p -> {});
            System.out.printf("VeMigrationIT: truncated: %s%n", tooShort);
            assertThat(tooShort.failure().orElseThrow()).startsWith("checkpoint " + truncated + ": truncated: ");
            assertThat(target.status()).as("refused before loading").isEqualTo(new QemuVm.Status("inmigrate", false));
            // A damaged file of the right size is refused at its end (its CRC-32C is checked on the way, the last
            // chunk held back): QEMU never gets the whole stream, its load fails, the guest never ran there.
            MigrationResult badSum = VeMigration.loadCheckpoint(target, corrupt, Duration.ofSeconds(30), p -> {});
            System.out.printf("VeMigrationIT: corrupt: %s%n", badSum);
            assertThat(badSum.completed()).isFalse();
            assertThat(badSum.failure().orElseThrow()).startsWith("checkpoint " + corrupt + ": checksum mismatch");
            assertThat(target.awaitExit(Duration.ofSeconds(10))).as("the target's load failed and QEMU ended: " + target.qemuLog())
                    .isPresent();

            // After all that, the source still moves: live to a target on B.
            target.quit(Duration.ofSeconds(5));
            QemuVm onB = s.listening(s.b);
            CompletableFuture<MigrationResult> arrived = inBackground(() -> VeMigration.awaitIncoming(onB, Duration.ofSeconds(120),
                    p -> {}));
            MigrationResult moved = VeMigration.sendLive(source, bAddress, PORT, MigrationSettings.defaults(), p -> {});
            MigrationResult in = arrived.get(130, TimeUnit.SECONDS);
            System.out.printf("VeMigrationIT: finally live A->B: %s; target: %s%n", moved, in);
            assertThat(moved.completed()).as(moved.toString()).isTrue();
            assertThat(in.completed()).as(in.toString()).isTrue();
            assertThat(s.uptime()).isGreaterThan(up);
        }
    }

    /** The source runs, and the guest answers the client with a larger uptime than before (the same boot); returns that uptime. */
    static double assertRunsOn(Setup s, QemuVm source, double before) throws Exception {
        assertThat(source.status()).isEqualTo(new QemuVm.Status("running", true));
        double now = s.uptime();
        assertThat(now).isGreaterThan(before);
        return now;
    }
}
