package baton.runtime.workload;

import baton.runtime.config.WorkloadConfig;
import baton.runtime.config.WorkloadConfig.Resource;
import baton.runtime.resource.ExecAction;
import baton.runtime.resource.ExecDriver;
import baton.runtime.resource.OcfAction;
import baton.runtime.resource.OcfDriver;
import baton.runtime.resource.ResourceResult;
import baton.runtime.ve.CommandPrefix;
import baton.runtime.ve.MigrationProgress;
import baton.runtime.ve.MigrationResult;
import baton.runtime.ve.MigrationSettings;
import baton.runtime.ve.QemuVm;
import baton.runtime.ve.VeMigration;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Runs one workload's resources on this node: starts them in order, stops them in reverse,
 * asks each whether it runs. Blocking; {@link WorkloadRunner} calls it from the workload's own
 * thread, one operation at a time.
 */
final class WorkloadDriver {
    /** A start, stop or status that did not succeed, and why. */
    static final class Failure extends Exception {
        Failure(String message) {
            super(message);
        }
    }

    private final WorkloadConfig workload;
    private final ExecDriver exec;
    private final OcfDriver ocf;
    private final Path veRunDir;
    private final Map<String, QemuVm> vms = new HashMap<>();
    /** A target QEMU waiting for an incoming VE, for {@link #abortIncoming} from another thread. */
    private volatile QemuVm incoming;

    WorkloadDriver(WorkloadConfig workload, ExecDriver exec, OcfDriver ocf, Path veRunDir) {
        this.workload = workload;
        this.exec = exec;
        this.ocf = ocf;
        this.veRunDir = veRunDir;
    }

    WorkloadConfig workload() {
        return workload;
    }

    /** Starts every resource in order; when one fails, stops those already started (reverse) and throws. */
    void start() throws Failure, InterruptedException {
        List<Resource> started = new ArrayList<>();
        for (Resource r : workload.resources()) {
            try {
                startOne(r);
                started.add(r);
            } catch (Failure f) {
                List<Resource> back = new ArrayList<>(started);
                java.util.Collections.reverse(back);
                List<String> stopErrors = new ArrayList<>();
                for (Resource b : back) {
                    try {
                        stopOne(b);
                    } catch (Failure x) {
                        stopErrors.add(x.getMessage());
                    }
                }
                throw new Failure(f.getMessage() + (stopErrors.isEmpty() ? "" : "; undoing the start failed: "
                        + String.join("; ", stopErrors)));
            }
        }
    }

    /** Stops every resource in reverse order (all of them, even after a failure); throws if any may still run. */
    void stop() throws Failure, InterruptedException {
        List<Resource> back = new ArrayList<>(workload.resources());
        java.util.Collections.reverse(back);
        List<String> errors = new ArrayList<>();
        for (Resource r : back) {
            try {
                stopOne(r);
            } catch (Failure f) {
                errors.add(f.getMessage());
            }
        }
        if (!errors.isEmpty()) {
            throw new Failure(String.join("; ", errors));
        }
    }

    /** Empty when every resource runs; else what does not. */
    Optional<String> check() throws InterruptedException {
        for (Resource r : workload.resources()) {
            Optional<String> problem = checkOne(r);
            if (problem.isPresent()) {
                return problem;
            }
        }
        return Optional.empty();
    }

    /** Whether any resource runs (a probe at start: something a previous daemon left running). */
    boolean anyRunning() throws InterruptedException {
        for (Resource r : workload.resources()) {
            boolean runs = switch (r) {
                case Resource.Exec e -> exec.run(e.resource(), ExecAction.STATUS, timeout(r.timing().monitorTimeoutMillis()))
                        instanceof ResourceResult.Ok;
                case Resource.Ocf o -> !(ocf.run(o.resource(), OcfAction.MONITOR, timeout(r.timing().monitorTimeoutMillis()))
                        instanceof ResourceResult.NotRunning);
                case Resource.Ve v -> QemuVm.leftover(v.spec(), veRunDir).isPresent();
            };
            if (runs) {
                return true;
            }
        }
        return false;
    }

    /** Kills what cannot wait (a VE's QEMU) after a stop ran out of time; the process is about to exit. */
    void kill() {
        for (QemuVm vm : vms.values()) {
            try {
                vm.kill();
            } catch (IOException | InterruptedException | RuntimeException e) {
                // best effort: the node exits and is fenced if this did not work
            }
        }
    }

    private void startOne(Resource r) throws Failure, InterruptedException {
        switch (r) {
            case Resource.Exec e -> expectOk(r, "start", exec.run(e.resource(), ExecAction.START, timeout(r.timing().startTimeoutMillis())));
            case Resource.Ocf o -> expectOk(r, "start", ocf.run(o.resource(), OcfAction.START, timeout(r.timing().startTimeoutMillis())));
            case Resource.Ve v -> {
                QemuVm old = vms.remove(v.name());
                if (old != null) {
                    closeQuietly(old);
                }
                try {
                    vms.put(v.name(), QemuVm.start(v.spec(), veRunDir, CommandPrefix.none(), timeout(r.timing().startTimeoutMillis())));
                } catch (IOException | RuntimeException x) {
                    throw new Failure("VE " + v.name() + " did not start: " + x.getMessage());
                }
            }
        }
    }

    private void stopOne(Resource r) throws Failure, InterruptedException {
        switch (r) {
            case Resource.Exec e -> expectOk(r, "stop", exec.run(e.resource(), ExecAction.STOP, timeout(r.timing().stopTimeoutMillis())));
            case Resource.Ocf o -> expectOk(r, "stop", ocf.run(o.resource(), OcfAction.STOP, timeout(r.timing().stopTimeoutMillis())));
            case Resource.Ve v -> {
                QemuVm vm = vms.remove(v.name());
                try {
                    if (vm == null) {
                        QemuVm.killLeftover(v.spec(), veRunDir, CommandPrefix.none()); // a QEMU this daemon did not start (or lost)
                        return;
                    }
                    // A paused guest (handed over to another node) cannot answer the power button: quit it at once.
                    boolean paused = vm.isRunning() && !statusRunning(vm);
                    QemuVm.Stopped s = paused ? vm.quit(Duration.ofSeconds(5))
                            : vm.stop(timeout(r.timing().stopTimeoutMillis()), Duration.ofSeconds(5));
                    if (s.exitCode().isEmpty()) {
                        throw new Failure("VE " + v.name() + " did not stop: " + s);
                    }
                } catch (IOException x) {
                    throw new Failure("VE " + v.name() + " did not stop: " + x.getMessage());
                } finally {
                    if (vm != null) {
                        closeQuietly(vm);
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------- migration (VE workloads)

    /** The VE resource of a VE workload. */
    private Resource.Ve ve() throws Failure {
        if (workload.kind() != WorkloadConfig.Kind.VE) {
            throw new Failure(workload.name() + " is not a VE: only VEs migrate");
        }
        return (Resource.Ve) workload.resources().getFirst();
    }

    /**
     * Source: hands the running VE over, live to {@code host:port} or into {@code file}. On
     * success the VE is paused here for good; on failure it runs here as before.
     */
    MigrationResult send(String host, int port, Optional<Path> file, MigrationSettings settings,
                         java.util.function.Consumer<MigrationProgress> progress) throws Failure, InterruptedException {
        Resource.Ve v = ve();
        QemuVm vm = vms.get(v.name());
        if (vm == null || !vm.isRunning()) {
            throw new Failure("VE " + v.name() + " does not run here");
        }
        return file.isPresent() ? VeMigration.saveCheckpoint(vm, file.get(), settings, progress)
                : VeMigration.sendLive(vm, host, port, settings, progress);
    }

    /**
     * Target: starts a QEMU that waits for the VE, receives it (live on {@code listen:port}, or
     * from {@code file} once its source has written it) and leaves it running here. On failure
     * nothing of it is left here.
     */
    MigrationResult receive(String listen, int port, Optional<Path> file, Duration deadline,
                            java.util.function.Consumer<MigrationProgress> progress) throws Failure, InterruptedException {
        Resource.Ve v = ve();
        QemuVm old = vms.remove(v.name());
        if (old != null) {
            closeQuietly(old);
        }
        long deadlineNanos = System.nanoTime() + deadline.toNanos();
        QemuVm vm;
        try {
            QemuVm.killLeftover(v.spec(), veRunDir, CommandPrefix.none());
            vm = QemuVm.startIncoming(v.spec(), veRunDir, CommandPrefix.none(), timeout(v.timing().startTimeoutMillis()));
        } catch (IOException | RuntimeException x) {
            throw new Failure("VE " + v.name() + ": the target QEMU did not start: " + x.getMessage());
        }
        incoming = vm;
        MigrationResult result;
        try {
            if (file.isPresent()) {
                // Loaded as the source writes it; the VE runs here only once the whole file matches its metadata.
                result = VeMigration.loadCheckpoint(vm, file.get(), Duration.ofNanos(Math.max(1, deadlineNanos - System.nanoTime())), progress);
            } else {
                VeMigration.listenLive(vm, listen, port);
                result = VeMigration.awaitIncoming(vm, Duration.ofNanos(Math.max(1, deadlineNanos - System.nanoTime())), progress);
            }
        } catch (baton.runtime.ve.QmpException x) {
            result = new MigrationResult(false, Optional.of("the target QEMU refused: " + x.getMessage()), Duration.ZERO, -1, 0, false);
        } finally {
            incoming = null;
        }
        if (result.completed() && vm.isRunning()) {
            vms.put(v.name(), vm);
            try {
                VeMigration.announce(vm);
            } catch (baton.runtime.ve.QmpException x) {
                // QEMU announces on its own after an incoming migration; this one only repeats it
            }
        } else {
            closeQuietly(vm);
        }
        return result;
    }

    /** From another thread: ends a QEMU that waits for an incoming VE, so that {@link #receive} returns at once. */
    void abortIncoming() {
        QemuVm vm = incoming;
        if (vm != null) {
            ProcessHandle.of(vm.pid()).ifPresent(ProcessHandle::destroyForcibly);
        }
    }

    /** Source: runs the paused VE again after its handover was called off. */
    void resumeSource() throws Failure, InterruptedException {
        Resource.Ve v = ve();
        QemuVm vm = vms.get(v.name());
        if (vm == null || !vm.isRunning()) {
            throw new Failure("VE " + v.name() + ": its paused QEMU is gone; nothing to resume");
        }
        try {
            VeMigration.resumeSource(vm);
        } catch (baton.runtime.ve.QmpException x) {
            throw new Failure("VE " + v.name() + " did not resume: " + x.getMessage());
        }
    }

    /**
     * Target: ends a VE received (or being received) in an attempt that was called off, without
     * the ACPI power button: its source may run it again, and a guest shutting down here would
     * write to its shared disk behind the source's back.
     */
    void discard() throws Failure, InterruptedException {
        Resource.Ve v = ve();
        QemuVm vm = vms.remove(v.name());
        try {
            if (vm == null) {
                QemuVm.killLeftover(v.spec(), veRunDir, CommandPrefix.none());
            } else {
                vm.kill();
            }
        } catch (IOException x) {
            throw new Failure("VE " + v.name() + " could not be discarded: " + x.getMessage());
        } finally {
            if (vm != null) {
                closeQuietly(vm);
            }
        }
    }

    private Optional<String> checkOne(Resource r) throws InterruptedException {
        ResourceResult result = switch (r) {
            case Resource.Exec e -> exec.run(e.resource(), ExecAction.STATUS, timeout(r.timing().monitorTimeoutMillis()));
            case Resource.Ocf o -> ocf.run(o.resource(), OcfAction.MONITOR, timeout(r.timing().monitorTimeoutMillis()));
            case Resource.Ve v -> null;
        };
        if (r instanceof Resource.Ve v) {
            QemuVm vm = vms.get(v.name());
            if (vm == null || !vm.isRunning()) {
                return Optional.of("VE " + v.name() + ": QEMU is not running");
            }
            try {
                QemuVm.Status s = vm.status();
                return s.running() ? Optional.empty() : Optional.of("VE " + v.name() + ": guest is " + s.status());
            } catch (baton.runtime.ve.QmpException x) {
                return Optional.of("VE " + v.name() + ": QMP does not answer: " + x.getMessage());
            }
        }
        return result instanceof ResourceResult.Ok ? Optional.empty() : Optional.of(r.name() + ": " + result.summary());
    }

    private static boolean statusRunning(QemuVm vm) throws InterruptedException {
        try {
            return vm.status().running();
        } catch (baton.runtime.ve.QmpException x) {
            return true; // cannot tell: the usual stop, which escalates
        }
    }

    private static void expectOk(Resource r, String what, ResourceResult result) throws Failure {
        if (!(result instanceof ResourceResult.Ok)) {
            throw new Failure(r.name() + " " + what + ": " + result.summary());
        }
    }

    private static Duration timeout(long millis) {
        return Duration.ofMillis(millis);
    }

    private static void closeQuietly(QemuVm vm) {
        try {
            vm.close();
        } catch (IOException | RuntimeException e) {
            // the VE is gone or being killed; nothing more to do here
        }
    }
}
