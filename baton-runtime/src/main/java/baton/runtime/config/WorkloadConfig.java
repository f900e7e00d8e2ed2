package baton.runtime.config;

import baton.core.disk.DiskLayout;
import baton.core.workload.Placement;
import baton.runtime.resource.ExecResource;
import baton.runtime.resource.OcfResource;
import baton.runtime.ve.VeSpec;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * One workload of the configuration: a VE (the {@code ves:} section) or a service (the
 * {@code services:} section), placed, monitored, restarted and failed over the same way. A
 * workload is an ordered list of resources, started in order and stopped in reverse; a VE is a
 * workload of one VE resource.
 *
 * @param id          1..{@value DiskLayout#MAX_WORKLOADS}, the workload's owner record on the quorum disk: it must not
 *                    change while the cluster runs, so it is written in the configuration rather than derived
 * @param name        unique among all workloads
 * @param preferred   node ids in order of preference (the failover domain), possibly empty
 * @param restricted  only the preferred nodes may run it
 * @param failback    move back to a more preferred node when one is eligible again; otherwise it stays (stickiness)
 * @param maxRestarts restarts in place within {@code restartWindowMillis} before it is relocated
 */
public record WorkloadConfig(int id, String name, Kind kind, List<Resource> resources, List<Integer> preferred,
                             boolean restricted, boolean failback, int maxRestarts, long restartWindowMillis) {
    public static final int DEFAULT_MAX_RESTARTS = 2;
    public static final long DEFAULT_RESTART_WINDOW_MILLIS = 300_000;
    public static final int MAX_RESOURCES = 16;

    public enum Kind {
        VE, SERVICE;

        public String label() {
            return this == VE ? "ve" : "service";
        }
    }

    public WorkloadConfig {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(kind, "kind");
        resources = List.copyOf(resources);
        preferred = List.copyOf(preferred);
        if (id < 1 || id > DiskLayout.MAX_WORKLOADS || resources.isEmpty() || resources.size() > MAX_RESOURCES
                || maxRestarts < 0 || restartWindowMillis < 0 || (restricted && preferred.isEmpty())
                || (kind == Kind.VE && (resources.size() != 1 || !(resources.getFirst() instanceof Resource.Ve)))) {
            throw new IllegalArgumentException("malformed workload " + id + " " + name + ": " + kind + ", "
                    + resources.size() + " resources, preferred " + preferred + ", restricted " + restricted);
        }
        Set<String> names = new HashSet<>();
        for (Resource r : resources) {
            if (!names.add(r.name())) {
                throw new IllegalArgumentException("workload " + name + ": resource name " + r.name() + " used twice");
            }
        }
    }

    /** The placement core's view of this workload. */
    public Placement.Spec placement() {
        return new Placement.Spec(id, name, preferred, restricted, failback, maxRestarts, restartWindowMillis * 1_000_000L);
    }

    /** The VE of a VE workload. */
    public VeSpec ve() {
        if (!(resources.getFirst() instanceof Resource.Ve v) || kind != Kind.VE) {
            throw new IllegalStateException(name + " is not a VE");
        }
        return v.spec();
    }

    /**
     * Deadlines and monitoring of one resource.
     *
     * @param monitorIntervalMillis how often its status is asked while it runs
     */
    public record Timing(long startTimeoutMillis, long stopTimeoutMillis, long monitorIntervalMillis,
                         long monitorTimeoutMillis) {
        public static final Timing EXEC_DEFAULTS = new Timing(20_000, 20_000, 2_000, 10_000);
        /** A VE under TCG boots in seconds; an ACPI power-down gets the stop timeout before QEMU is told to quit. */
        public static final Timing VE_DEFAULTS = new Timing(60_000, 30_000, 2_000, 5_000);
        public static final long MAX_MILLIS = 3_600_000;
        /** Asking more often than this would keep a status command or agent running all the time. */
        public static final long MIN_MONITOR_INTERVAL_MILLIS = 100;

        public Timing {
            if (startTimeoutMillis < 1 || stopTimeoutMillis < 1 || monitorIntervalMillis < MIN_MONITOR_INTERVAL_MILLIS
                    || monitorTimeoutMillis < 1
                    || startTimeoutMillis > MAX_MILLIS || stopTimeoutMillis > MAX_MILLIS
                    || monitorIntervalMillis > MAX_MILLIS || monitorTimeoutMillis > MAX_MILLIS) {
                throw new IllegalArgumentException("resource timing out of range: " + this);
            }
        }
    }

    /** One resource of a workload. */
    public sealed interface Resource {
        String name();

        Timing timing();

        /** Start, stop and status commands. */
        record Exec(ExecResource resource, Timing timing) implements Resource {
            public String name() {
                return resource.name();
            }
        }

        /** An OCF resource agent instance. */
        record Ocf(OcfResource resource, Timing timing) implements Resource {
            public String name() {
                return resource.instance();
            }
        }

        /** A QEMU virtual machine. */
        record Ve(VeSpec spec, Timing timing) implements Resource {
            public String name() {
                return spec.name();
            }
        }
    }
}
