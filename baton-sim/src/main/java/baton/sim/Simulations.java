package baton.sim;

import baton.core.disk.Copy;
import baton.core.timing.Timeouts;
import java.util.Random;

/**
 * Randomized runs of {@link ClusterWorld}: the same function serves the fixed seeds of the test
 * suite and the long soak command ({@code baton sim soak}).
 */
public final class Simulations {
    private Simulations() {}

    /**
     * Starts {@code nodes} nodes, injects random faults of every kind for {@code faultMillis} of
     * simulated time, heals everything, and demands convergence (verdicts and one coordinator) within 20 simulated seconds.
     * Throws an AssertionError naming the seed on any violation.
     */
    public static ClusterWorld randomFaultsThenHeal(long seed, int nodes, long faultMillis) {
        return randomFaultsThenHeal(seed, nodes, faultMillis, false);
    }

    /**
     * As {@link #randomFaultsThenHeal(long, int, long)}; with {@code fencing}, every node also runs
     * the fencing core (a power switch per node, a poison-pill second level on every other seed,
     * the watchdog), and the faults include failing, hanging and welded switches and operator
     * fence requests. Without it the runs are exactly those of the three-argument form.
     */
    public static ClusterWorld randomFaultsThenHeal(long seed, int nodes, long faultMillis, boolean fencing) {
        Random r = new Random(seed ^ 0x5eed);
        ClusterWorld w = new ClusterWorld(seed, nodes, 1 + r.nextInt(2), Timeouts.DEFAULTS, 0.01);
        w.network(1 + r.nextInt(40), r.nextDouble() * 0.1);
        w.diskLatency(1 + r.nextInt(60));
        if (fencing) {
            w.enableFencing(FenceSetup.of(Timeouts.DEFAULTS, seed % 2 == 0));
        }
        w.startAll();
        long elapsed = 0;
        while (elapsed < faultMillis) {
            int a = 1 + r.nextInt(nodes);
            int b = 1 + r.nextInt(nodes);
            Copy c = r.nextBoolean() ? Copy.PRIMARY : Copy.SHADOW;
            switch (r.nextInt(fencing ? 16 : 12)) {
                case 0 -> w.crash(a);
                case 1 -> w.start(a);
                case 2 -> w.pause(a, r.nextInt(3000));
                case 3 -> w.isolate(a, r.nextBoolean());
                case 4 -> w.cutOneWay(a, b, 0, r.nextBoolean());
                case 5 -> w.loss(a, b, r.nextDouble() * 0.5);
                case 6 -> w.corruptSlot(a, c);
                case 7 -> w.diskFault(a, c, SimDisk.Fault.values()[r.nextInt(SimDisk.Fault.values().length)]);
                case 8 -> w.diskFault(a, c, SimDisk.Fault.NONE);
                case 12 -> w.switchFault(a, FenceSetup.SwitchFault.HONEST.get(r.nextInt(FenceSetup.SwitchFault.HONEST.size())));
                case 13 -> w.switchFault(a, FenceSetup.SwitchFault.NONE);
                case 14 -> w.crash(a);
                case 15 -> {
                    if (r.nextInt(4) == 0) {
                        w.operatorFence(a, "random operator request");
                    }
                }
                default -> { }
            }
            long step = r.nextInt(1500);
            w.runMillis(step);
            elapsed += step;
        }
        w.healAll();
        // Bound on convergence: the coordinator lease may need three lease timeouts after the
        // last fault (an expired holder, a contended ballot, a retry) plus the joins.
        w.runMillis(20_000);
        w.assertConverged();
        return w;
    }
}
