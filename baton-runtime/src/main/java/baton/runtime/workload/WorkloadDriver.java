package baton.runtime.workload;

import baton.runtime.config.WorkloadConfig;
import baton.runtime.config.WorkloadConfig.Resource;
import baton.runtime.resource.ExecAction;
import baton.runtime.resource.ExecDriver;
import baton.runtime.resource.OcfAction;
import baton.runtime.resource.OcfDriver;
import baton.runtime.resource.ResourceResult;
import baton.runtime.ve.CommandPrefix;
import baton.runtime.ve.QemuVm;
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
                    QemuVm.Stopped s = vm.stop(timeout(r.timing().stopTimeoutMillis()), Duration.ofSeconds(5));
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
