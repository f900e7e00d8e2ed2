package baton.runtime.node;

/**
 * Called when the node must give up its workloads before it stops (the leave rule, a
 * duplicate node id). The node runs no workloads yet; the workload issue fills this in. It
 * runs on the event loop, before the process exits, so nothing it ran survives the node's
 * decision to leave.
 */
@FunctionalInterface
public interface WorkloadStopper {
    /** Stops every workload; returns how many were stopped. */
    int stopAll(String reason);

    WorkloadStopper NONE = reason -> 0;
}
