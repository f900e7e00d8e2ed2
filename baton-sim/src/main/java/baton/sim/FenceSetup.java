package baton.sim;

import baton.core.fence.FenceLevel;
import baton.core.fence.FenceTiming;
import baton.core.fence.FenceTopology;
import baton.core.timing.Timeouts;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * How a {@link ClusterWorld} fences: every node has a simulated power switch ({@link #device}
 * {@code pdu-N}) as its level 1 and, with {@code pill}, the poison pill as its level 2.
 *
 * @param pill                   a second level: the poison pill on the quorum disk
 * @param watchdogMillis         the hardware watchdog W, petted after every good disk read: a node that
 *                               does not pet it for W (paused, or without the disk) is reset; 0 for none.
 *                               The pill wait is {@link FenceTiming#pillWaitNanos} of it.
 * @param timing                 the fencing core's limits
 * @param maxSwitchLatencyMillis how long a healthy switch takes to answer, at most
 */
public record FenceSetup(boolean pill, long watchdogMillis, FenceTiming timing, long maxSwitchLatencyMillis) {
    private static final long S = 1_000_000_000L;

    /**
     * The simulator's choice: a 2 s watchdog (above the disk timeout plus an interval, so a node
     * that lost its disk exits by the read rule before the watchdog fires), agent deadline 3 s,
     * retries every 2 s doubling to 8 s, so that several rounds fit in a simulated minute, and
     * switches that answer within 300 ms.
     */
    public static FenceSetup of(Timeouts timeouts, boolean pill) {
        long watchdogMillis = 2_000;
        long pillWait = FenceTiming.pillWaitNanos(timeouts, watchdogMillis * 1_000_000L, 0);
        return new FenceSetup(pill, watchdogMillis, new FenceTiming(3 * S, 2 * S, 8 * S, S, pillWait), 300);
    }

    /** The name of node {@code id}'s power switch. */
    public static String device(int id) {
        return "pdu-" + id;
    }

    /** The node a switch named by {@link #device} powers. */
    static int nodeOf(String device) {
        if (!device.startsWith("pdu-")) {
            throw new IllegalArgumentException("not a simulated switch: " + device);
        }
        return Integer.parseInt(device.substring(4));
    }

    FenceTopology topology(int nodes) {
        Map<Integer, List<FenceLevel>> levels = new TreeMap<>();
        for (int id = 1; id <= nodes; id++) {
            List<FenceLevel> l = new ArrayList<>();
            l.add(FenceLevel.of(device(id)));
            if (pill) {
                l.add(FenceLevel.of(FenceLevel.POISON_PILL));
            }
            levels.put(id, l);
        }
        return new FenceTopology(levels);
    }

    /** What a simulated power switch does when asked. */
    public enum SwitchFault {
        /** Answers truthfully within the latency; off powers the machine off. */
        NONE,
        /** Answers every call with a failure (no route to host). */
        UNREACHABLE,
        /** Never answers: the shell kills the agent at its deadline (timed out). */
        HANG,
        /** Says off succeeded but the relay is welded: the machine stays on, and status says so. */
        STUCK_ON,
        /**
         * Says off succeeded and status says off, but the machine stays on: a switch that lies (a
         * miswired outlet). Nothing can fence safely through it; it exists to show that the
         * checkers catch an unsafe recovery. Random runs do not use it.
         */
        LIES;

        /** The faults of switches that fail but do not lie. */
        public static final List<SwitchFault> HONEST = List.of(NONE, UNREACHABLE, HANG, STUCK_ON);
    }
}
