package baton.lab;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Removes what labs of dead processes left behind: a JVM killed with SIGKILL runs no
 * shutdown hook, so its machine cgroups, namespaces, the processes in them and its loop devices stay until
 * someone sweeps. Runs at every {@link Lab#create}, under the lab lock, so two sweepers never
 * race over the same leftovers and a sweeper never sees a lab half made.
 *
 * <p>Only leftovers whose creator is certainly dead are touched (see {@link LabTag}): labs of
 * live JVMs, including other test runs on the same machine, are left alone.
 */
public final class Sweeper {
    private Sweeper() {}

    /** What one sweep removed. */
    public record Swept(List<String> machineCgroups, List<String> namespaces, List<Path> loopDevices) {
        public boolean nothing() {
            return machineCgroups.isEmpty() && namespaces.isEmpty() && loopDevices.isEmpty();
        }
    }

    public static Swept sweep() {
        return RunDir.locked(Sweeper::sweepLocked);
    }

    /** The sweep itself; the caller holds the lab lock. */
    static Swept sweepLocked() {
        // Machines first (see Lab.close): a frozen leftover machine would otherwise outlive killAll.
        List<String> cgroups = MachineCgroup.destroyAll(tag -> !tag.ownerAlive());
        List<String> dead = new ArrayList<>();
        for (String name : Netns.names()) {
            Optional<LabTag> tag = LabTag.parse(name);
            if (tag.isPresent() && !tag.get().ownerAlive()) {
                dead.add(name);
            }
        }
        // The same order as Lab.close: processes (which may hold loop devices open), namespaces, loop devices.
        dead.forEach(Netns::killAll);
        dead.forEach(Netns::delete);
        List<Path> detached = new ArrayList<>();
        for (Path record : RunDir.loopRecords()) {
            Optional<LabTag> tag = LabTag.parse(record.getFileName().toString());
            if (tag.isPresent() && !tag.get().ownerAlive()) {
                for (RunDir.Loop loop : RunDir.readLoops(record)) {
                    if (LoopDevice.detachIfBackedBy(loop.device(), loop.backingFile())) {
                        detached.add(loop.device());
                    }
                }
                RunDir.deleteLoopRecord(tag.get());
            }
        }
        return new Swept(cgroups, List.copyOf(dead), List.copyOf(detached));
    }
}
