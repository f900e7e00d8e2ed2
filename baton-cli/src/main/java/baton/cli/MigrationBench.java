package baton.cli;

import baton.lab.Cmd;
import baton.lab.Host;
import baton.lab.Lab;
import baton.lab.client.TransferWatch;
import baton.runtime.ve.CommandPrefix;
import baton.runtime.ve.MigrationResult;
import baton.runtime.ve.MigrationSettings;
import baton.runtime.ve.QemuVm;
import baton.runtime.ve.VeMigration;
import baton.runtime.ve.VeSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * What a moving VE costs its users, measured on the wire: the test guest under TCG in one lab
 * node host, moved to the other and back (ping-pong on one boot) with Baton's own migration
 * code ({@link VeMigration}, what the node daemons run), while a client host downloads a file
 * from it at 1 MiB/s over one TCP connection ({@link TransferWatch}). Per run: the guest's
 * pause (live: QEMU's reported downtime; checkpoint: from the pause to running again on the
 * target), the longest stall the client saw, the whole handover, resets. The target QEMU is
 * started before each run, as the daemons start it while the source begins. A guest that stops
 * answering after a completed move (broken), or whose dirty loop finds its own data damaged
 * (corrupt: the lost writes of docs/switchover.md, "TCG and lost writes"), is counted and
 * replaced by a new guest, so that each configuration makes all its moves. For a checkpoint the
 * steps of the pause go to stderr (ms since the move began, when each phase was first seen).
 */
final class MigrationBench {
    private MigrationBench() {}

    static final int PORT = 49300;
    static final String MAC = "52:54:00:b7:0c:01";
    static final int FILE_MIB = 4;
    static final long RATE = 1L << 20;

    @Command(name = "migrate", mixinStandardHelpOptions = true,
            description = {"VE migration as its users see it: the test guest moved between two lab hosts and back, live and",
                    "through a checkpoint, idle and dirtying memory, while a client downloads from it at 1 MiB/s over one TCP",
                    "connection. Per configuration p50/p99/max of the guest's pause, the client's longest stall and the",
                    "whole handover, and the TCP resets."})
    static final class Migrate implements Callable<Integer> {
        @Option(names = "--runs", defaultValue = "10", description = "Moves per configuration (default ${DEFAULT-VALUE}).")
        int runs;

        @Option(names = "--memory", split = ",", defaultValue = "128,512", description = "VE sizes in MiB (default ${DEFAULT-VALUE}).")
        List<Integer> memory;

        @Option(names = "--modes", split = ",", defaultValue = "live,checkpoint", description = "default ${DEFAULT-VALUE}")
        List<String> modes;

        @Option(names = "--loads", split = ",", defaultValue = "idle,dirty",
                description = "idle, and/or dirty: the guest keeps rewriting a quarter of its RAM (24 MiB of 128) with new data"
                        + " (default ${DEFAULT-VALUE}).")
        List<String> loads;

        @Option(names = "--no-auto-converge", description = "Live moves without QEMU's auto-converge (throttling of a busy guest).")
        boolean noAutoConverge;

        MigrationSettings settings() {
            MigrationSettings d = MigrationSettings.defaults();
            return new MigrationSettings(d.downtimeLimit(), d.maxBandwidthBytesPerSecond(), !noAutoConverge, d.deadline());
        }

        @Override
        public Integer call() throws Exception {
            if (runs < 1) {
                throw new CliFailure(baton.runtime.node.ExitStatus.USAGE, "need --runs >= 1");
            }
            Path guest = TestGuest.build();
            String machine = Runtime.getRuntime().availableProcessors() + " CPUs, "
                    + Cmd.run(Duration.ofSeconds(5), "uname", "-sr").stdout().strip() + ", JDK " + Runtime.version() + ", "
                    + Cmd.run(Duration.ofSeconds(10), "dpkg-query", "-W", "-f", "${Package} ${Version}", "qemu-system-x86").stdout();
            Table t = new Table("VE", "MODE", "LOAD", "RUNS", "PAUSE P50/P99/MAX MS", "STOPPED P50/P99/MAX MS", "STALL P50/P99/MAX MS", "TOTAL P50/P99 MS",
                    "RESETS", "FAILED", "BROKEN", "CORRUPT");
            Path work = Files.createTempDirectory(Path.of("/var/tmp"), "baton-bench-migrate-");
            try (Lab lab = Lab.create(2, true)) {
                Host[] hosts = {lab.node(1), lab.node(2)};
                for (Host h : hosts) {
                    h.bridgeUplink("br0");
                }
                String ip = lab.tag().address(100);
                for (int mib : memory) {
                    for (String load : loads) {
                        int dirty = !load.equals("dirty") ? 0 : mib == 128 ? 24 : mib / 4; // 128 MiB: the file and this must fit its free RAM
                        for (String mode : modes) {
                            Row row = new Row();
                            run(work, hosts, lab.client(), ip, spec(guest, ip, mib, dirty), mode.equals("checkpoint"), row);
                            t.row(mib + " MiB", mode, load + (dirty > 0 ? " (" + dirty + " MiB)" : ""), row.pause.size(),
                                    three(row.pause), three(row.stopped), three(row.stall), two(row.total), row.resets, row.failed, row.broken, row.corrupt + (row.corruptLate ? " (1 late)" : ""));
                        }
                    }
                }
            } finally {
                LabBench.delete(work);
            }
            System.out.println();
            System.out.printf("baton bench migrate --runs %d --memory %s --modes %s --loads %s%s: %s%n", runs,
                    String.join(",", memory.stream().map(String::valueOf).toList()), String.join(",", modes), String.join(",", loads),
                    noAutoConverge ? " --no-auto-converge" : "", machine);
            System.out.println("lab: two node hosts (uplink in br0, the VE's tap there), a client host, one switch (veth pairs); the"
                    + " test guest (scripts/build-guest), 1 vCPU, accel tcg; downtime limit " + settings().downtimeLimit().toMillis()
                    + " ms, no bandwidth limit, auto-converge " + (noAutoConverge ? "off" : "on") + ";"
                    + " checkpoint files in /var/tmp; the client downloads a " + FILE_MIB + " MiB file at 1 MiB/s (SO_RCVBUF 64 KiB)"
                    + " and the move begins 0.5 s into it");
            System.out.println("pause: live = QEMU's reported downtime; checkpoint = the source's pause to the target running."
                    + " stopped: from the source QEMU's STOP event to the target QEMU's RESUME event (their own timestamps; one host clock)."
                    + " stall: the longest time the client wanted data and got none. total: the handover (live: sendLive;"
                    + " checkpoint: the save, and the load that follows the file as it is written, to the target running),"
                    + " the target QEMU already started");
            System.out.println("resets: downloads that did not complete; failed: moves QEMU did not complete (the VE ran on at its"
                    + " source); broken: guests that stopped answering after a completed move; corrupt: dirty guests whose own check"
                    + " found their data damaged within " + CORRUPT_WATCH.toSeconds() + " s after a completed move, or within "
                    + CORRUPT_FINAL_WATCH.toSeconds() + " s after the last move of a configuration (late); a new guest is booted"
                    + " after either; see docs/switchover.md, TCG and lost writes)");
            System.out.print(t);
            return 0;
        }

        /**
         * {@link #runs} moves of one configuration, ping-pong between the two hosts on one boot. A
         * guest that stops answering after a move QEMU reported completed (broken), or whose own
         * check finds its dirtied data damaged (corrupt, {@link #CORRUPT}), is counted, ended, and a
         * new one booted where it was, so that every configuration makes its {@link #runs} moves.
         */
        private void run(Path work, Host[] hosts, Host client, String ip, VeSpec spec, boolean checkpoint, Row row) throws Exception {
            int at = 0;
            List<QemuVm> all = new ArrayList<>();
            try {
                QemuVm vm = boot(spec, work, hosts[at], all);
                for (int i = 0; i < runs; i++) {
                    Host to = hosts[1 - at];
                    QemuVm target = QemuVm.startIncoming(spec, work.resolve(to.name()), CommandPrefix.netns(to.netns()),
                            Duration.ofSeconds(20));
                    all.add(target);
                    try (TransferWatch w = TransferWatch.start(client, "http://" + ip + "/data.bin", RATE)) {
                        if (!w.awaitBody(Duration.ofSeconds(20))) {
                            if (i == 0) {
                                throw new IllegalStateException("the download did not begin: " + w.log());
                            }
                            // It answered after its last move and stopped since: that move broke it after all.
                            row.broken++;
                            System.err.println("  the guest stopped answering after its last move; QEMU " + (vm.isRunning() ? "runs" : "exited")
                                    + "; console: " + tail(vm.console()));
                            target.kill();
                            target.close();
                            vm.kill();
                            vm.close();
                            vm = boot(spec, work, hosts[at], all);
                            i--;
                            continue;
                        }
                        Thread.sleep(500);
                        long t0 = System.nanoTime();
                        java.time.Instant began = java.time.Instant.now();
                        MigrationResult moved;
                        long pause;
                        if (checkpoint) {
                            Path file = work.resolve("ckpt-" + i + ".state");
                            // As the daemons do it: the target loads the file while the source writes it.
                            Steps saving = new Steps(t0);
                            Steps loading = new Steps(t0);
                            QemuVm into = target;
                            var load = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                                try {
                                    return VeMigration.loadCheckpoint(into, file, Duration.ofSeconds(60), loading::saw);
                                } catch (InterruptedException e) {
                                    throw new IllegalStateException(e);
                                }
                            }, r -> Thread.ofPlatform().name("load").start(r));
                            MigrationResult saved = VeMigration.saveCheckpoint(vm, file, settings(), saving::saw);
                            saving.mark("saved");
                            if (!saved.completed()) {
                                target.kill();
                            }
                            MigrationResult loaded = load.get(90, java.util.concurrent.TimeUnit.SECONDS);
                            loading.mark("running");
                            moved = saved.completed() ? loaded : saved;
                            System.err.println("  save: " + saving + "; load: " + loading);
                            pause = moved.downtimeMillis();
                            Files.deleteIfExists(file);
                            Files.deleteIfExists(baton.runtime.ve.Checkpoint.metaFile(file));
                        } else {
                            VeMigration.listenLive(target, to.address().getHostAddress(), PORT);
                            moved = VeMigration.sendLive(vm, to.address().getHostAddress(), PORT, settings(), p -> { });
                            pause = moved.downtimeMillis();
                            if (moved.completed()) {
                                MigrationResult in = VeMigration.awaitIncoming(target, Duration.ofSeconds(30), p -> { });
                                moved = in.completed() ? moved : in;
                            }
                        }
                        long total = (System.nanoTime() - t0) / 1_000_000;
                        long stopped = stoppedMillis(vm, target, began);
                        System.err.printf(Locale.ROOT, "%s %d MiB run %d: %s after %d ms, pause %d ms, stopped %d ms, %d bytes%n",
                                checkpoint ? "checkpoint" : "live", spec.memoryMib(), i + 1, moved.completed() ? "moved" : "NOT moved ("
                                        + moved.failure().orElse("?") + ")", total, pause, stopped, moved.transferredBytes());
                        if (!moved.completed()) {
                            row.failed++;
                            target.close();
                            continue;
                        }
                        TransferWatch.Result d;
                        try {
                            d = w.awaitResult(Duration.ofSeconds(90));
                        } catch (baton.lab.LabTimeoutException e) {
                            d = null;
                        }
                        row.pause.add((double) pause);
                        if (stopped >= 0) {
                            row.stopped.add((double) stopped);
                        }
                        row.total.add((double) total);
                        boolean broken = d == null || !d.completed();
                        if (broken) {
                            row.resets++;
                            row.broken++;
                            System.err.println("  download NOT complete: " + (d == null ? "no result within 90 s: " + w.log() : d));
                            System.err.println("  the guest does not answer after the move; target QEMU " + (target.isRunning() ? "runs" : "exited")
                                    + "; console: " + tail(target.console()));
                        } else {
                            row.stall.add(d.longestStall().toNanos() / 1e6);
                            row.resets += d.reset() ? 1 : 0;
                            System.err.printf(Locale.ROOT, "  download complete, longest stall %.0f ms%n", d.longestStall().toNanos() / 1e6);
                        }
                        // The dirty loop checks one block per pass: give it a few passes on the target.
                        boolean corrupt = !broken && dirty(spec) && target.awaitConsole(CORRUPT, CORRUPT_WATCH);
                        if (corrupt) {
                            row.corrupt++;
                            System.err.println("  the guest's memory is damaged after the move: " + tail(target.console()));
                        }
                        vm.quit(Duration.ofSeconds(5));
                        vm.close();
                        if (broken || corrupt) {
                            // A new guest where this one was, for the remaining runs.
                            target.kill();
                            target.close();
                            vm = boot(spec, work, hosts[at], all);
                            continue;
                        }
                    }
                    vm = target;
                    at = 1 - at;
                }
                // A block damaged by any move of this guest is still damaged: give its loop time to pass every block.
                if (dirty(spec) && vm.isRunning() && vm.awaitConsole(CORRUPT, CORRUPT_FINAL_WATCH)) {
                    row.corrupt++;
                    row.corruptLate = true;
                    System.err.println("  the guest's memory is damaged (found after its last move): " + tail(vm.console()));
                }
            } finally {
                for (QemuVm v : all) {
                    v.close();
                }
            }
        }

        /** A new guest on {@code host}, booted, its dirtying loop (if any) under way. */
        private static QemuVm boot(VeSpec spec, Path work, Host host, List<QemuVm> all) throws Exception {
            QemuVm vm = QemuVm.start(spec, work.resolve(host.name()), CommandPrefix.netns(host.netns()), Duration.ofSeconds(20));
            all.add(vm);
            if (!vm.awaitConsole("baton-guest: ready", Duration.ofSeconds(120))) {
                throw new IllegalStateException("the guest did not boot: " + vm.console());
            }
            Thread.sleep(4_000); // its dirtying loop, if any, past its fingerprints and under way
            return vm;
        }
    }

    static boolean dirty(VeSpec spec) {
        return spec.boot() instanceof VeSpec.Boot.Kernel k && k.cmdline().contains("baton.dirty_mib=")
                && !k.cmdline().contains("baton.dirty_mib=0 ");
    }

    /** What the test guest's dirty loop prints when a block of its data differs from its fingerprint (scripts/build-guest). */
    static final String CORRUPT = "baton-guest: dirty data CORRUPT";
    /** How long a moved dirty guest is watched for {@link #CORRUPT}: its loop finds a damaged block within N/5 passes. */
    static final Duration CORRUPT_WATCH = Duration.ofSeconds(6);
    /** How long the last guest of a configuration is watched: its loop has passed every block by then, even of 128 MiB. */
    static final Duration CORRUPT_FINAL_WATCH = Duration.ofSeconds(60);

    static String tail(String text) {
        return text.length() <= 600 ? text : text.substring(text.length() - 600);
    }

    static VeSpec spec(Path guest, String ip, int mib, int dirty) {
        String cmdline = "console=ttyS0 panic=1 quiet baton.ip=" + ip + "/24 baton.file_mib=" + FILE_MIB + " baton.dirty_mib=" + dirty
                + " baton.name=bench";
        return new VeSpec("bench", mib, 1, new VeSpec.Boot.Kernel(guest.resolve("vmlinux"), Optional.of(guest.resolve("initramfs.cpio.gz")),
                cmdline), List.of(new VeSpec.Nic(MAC, "br0")), VeSpec.Accel.TCG);
    }

    /**
     * How long the guest was stopped, by QEMU's own event timestamps: from the source's
     * {@code STOP} to the target's {@code RESUME} (-1 when either is missing or older than the
     * move). Independent of QEMU's reported downtime, which is 0 for some live moves.
     */
    static long stoppedMillis(QemuVm source, QemuVm target, java.time.Instant began) {
        var stop = source.qmp().lastEventAt("STOP").filter(t -> t.isAfter(began));
        var resume = target.qmp().lastEventAt("RESUME").filter(t -> stop.isPresent() && t.isAfter(stop.get()));
        return resume.isPresent() ? Duration.between(stop.orElseThrow(), resume.get()).toMillis() : -1;
    }

    /** When a checkpoint move's progress first reached each phase, in ms since the move began: where its pause goes. */
    static final class Steps {
        final long t0;
        final StringBuilder text = new StringBuilder();
        String last = "";

        Steps(long t0) {
            this.t0 = t0;
        }

        void saw(baton.runtime.ve.MigrationProgress p) {
            // "saving" with nothing left: QEMU's stream is in the file (and synced).
            String phase = p.phase().equals("saving") && p.remainingBytes() == 0 && p.totalBytes() > 0 ? "streamed" : p.phase();
            if (!phase.equals(last)) {
                mark(phase);
            }
        }

        void mark(String phase) {
            last = phase;
            text.append(text.isEmpty() ? "" : " ").append(phase).append(' ').append((System.nanoTime() - t0) / 1_000_000);
        }

        @Override
        public String toString() {
            return text.toString();
        }
    }

    /** One configuration's values. */
    static final class Row {
        final List<Double> pause = new ArrayList<>();
        /** From the source's STOP event to the target's RESUME event, both QEMU's own timestamps. */
        final List<Double> stopped = new ArrayList<>();
        final List<Double> stall = new ArrayList<>();
        final List<Double> total = new ArrayList<>();
        int resets;
        int failed;
        /** Guests that stopped answering after a move that QEMU reported completed. */
        int broken;
        /** Guests whose dirty loop found its data damaged after a move that QEMU reported completed. */
        int corrupt;
        /** Whether the last guest's damage was found only after its last move (which move did it is not known). */
        boolean corruptLate;
    }

    static String three(List<Double> v) {
        if (v.isEmpty()) {
            return "-";
        }
        double[] s = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return FenceBench.ms(LabBench.percentile(s, 50)) + "/" + FenceBench.ms(LabBench.percentile(s, 99)) + "/" + FenceBench.ms(s[s.length - 1]);
    }

    static String two(List<Double> v) {
        if (v.isEmpty()) {
            return "-";
        }
        double[] s = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return FenceBench.ms(LabBench.percentile(s, 50)) + "/" + FenceBench.ms(LabBench.percentile(s, 99));
    }
}
