package baton.sim.lease;

import baton.core.disk.Copy;
import baton.core.timing.Timeouts;
import java.time.Duration;
import java.util.Random;

/**
 * Randomized runs of {@link LeaseWorld}: the same function serves the fixed seeds of the test
 * suite and the long soak ({@link #soak}). Each run injects faults of every kind, then heals
 * them and demands that one coordinator is chosen within {@link #convergenceMillis}.
 */
public final class LeaseSimulations {
    private LeaseSimulations() {}

    /** What one run did, for the soak's summary and the tests' assertions. */
    public record Run(long seed, int nodes, long simulatedMillis, long events, int episodes, long highestGeneration,
                      long convergedAfterMillis) {}

    /** Totals of a soak. */
    public record Summary(long firstSeed, int seeds, long simulatedMillis, long events, long episodes,
                          long maxConvergenceMillis) {
        @Override
        public String toString() {
            return "lease soak: seeds " + firstSeed + ".." + (firstSeed + seeds - 1) + ", " + seeds + " runs, "
                    + simulatedMillis / 1000 + " simulated s, " + events + " events, " + episodes
                    + " coordinator episodes, slowest convergence after healing " + maxConvergenceMillis + " ms: ok";
        }
    }

    /**
     * After every fault has healed, one coordinator is chosen within this bound: the holder's
     * old block must be unchanged for L (first seen up to an interval after the heal), a few
     * contended ballots back off by up to 3I each, and a doomed takeover attempt left over from
     * the faults can make the first new holder give the lease up once, which costs another L.
     */
    public static long convergenceMillis(Timeouts t) {
        return 3 * t.leaseTimeoutMillis() + 40 * t.leaseRenewMillis();
    }

    /** The node count of a seed: mostly small clusters, every tenth seed a large one (up to 32). */
    public static int nodesFor(long seed) {
        Random r = new Random(seed * 31 + 7);
        return Math.floorMod(seed, 10) == 0 ? 16 + r.nextInt(17) : 2 + r.nextInt(6);
    }

    /**
     * Runs seed {@code seed}: random faults for {@code faultMillis}, heal, convergence. On a
     * violation the run is repeated with I/O tracing (same seed, same events) so that the
     * error carries a detailed transcript.
     */
    public static Run randomFaultsThenHeal(long seed, int nodes, long faultMillis) {
        try {
            return run(seed, nodes, faultMillis, false);
        } catch (AssertionError first) {
            run(seed, nodes, faultMillis, true); // tracing draws no randomness: the same failure, in detail
            throw first; // not reached unless tracing changed the run, which would be a bug of its own
        }
    }

    private static Run run(long seed, int nodes, long faultMillis, boolean trace) {
        Random r = new Random(seed ^ 0x1ea5eL);
        Timeouts t = Timeouts.DEFAULTS;
        LeaseWorld w = new LeaseWorld(seed, nodes, t);
        w.traceIo(trace);
        w.maxLatencyMillis(1 + r.nextInt(10));
        w.failedWritesLand(r.nextDouble() * 0.3, r.nextDouble() * 0.3);
        w.startAll();
        long leaseMillis = t.leaseTimeoutMillis();
        long elapsed = 0;
        while (elapsed < faultMillis) {
            int a = 1 + r.nextInt(nodes);
            Copy c = r.nextBoolean() ? Copy.PRIMARY : Copy.SHADOW;
            switch (r.nextInt(16)) {
                case 0 -> w.crash(a);
                case 1, 2 -> w.start(a);
                case 3 -> w.pause(a, r.nextInt((int) (2 * leaseMillis + 3000)));
                case 4 -> w.pause(a, r.nextInt(500));
                case 5, 6 -> w.fault(a, c, LeaseWorld.Fault.values()[1 + r.nextInt(LeaseWorld.Fault.values().length - 1)]);
                case 7 -> w.fault(a, c, LeaseWorld.Fault.NONE);
                case 8 -> w.copyFault(c, r.nextBoolean() ? LeaseWorld.Fault.FAIL_ALL
                        : LeaseWorld.Fault.values()[1 + r.nextInt(LeaseWorld.Fault.values().length - 1)]);
                case 9 -> w.copyFault(c, LeaseWorld.Fault.NONE);
                case 10 -> w.corrupt(c, r.nextInt(nodes + 1));
                case 11 -> {
                    LeaseWorld.Node holder = w.coordinator();
                    if (holder != null) {
                        w.resign(holder.id);
                    }
                }
                case 12 -> w.drift(a, r.nextInt(2 * (int) Timeouts.clockRateErrorPpm() + 1) - Timeouts.clockRateErrorPpm());
                case 13 -> w.maxLatencyMillis(1 + r.nextInt(r.nextBoolean() ? 10 : 300));
                default -> { }
            }
            long step = r.nextInt(1500);
            w.runMillis(step);
            elapsed += step;
        }
        w.healAll();
        for (LeaseWorld.Node n : w.nodes()) {
            if (!n.running() && r.nextBoolean()) {
                w.start(n.id);
            }
        }
        if (w.nodes().stream().noneMatch(LeaseWorld.Node::running)) {
            w.start(1 + r.nextInt(nodes));
        }
        long healed = w.nowNanos();
        long bound = convergenceMillis(t);
        if (!w.runUntil(x -> x.coordinator() != null, bound)) {
            throw w.failure("no coordinator within " + bound + " ms after every fault healed", null);
        }
        long converged = (w.nowNanos() - healed) / LeaseWorld.MS;
        // And it stays: after two more lease timeouts there is still exactly one.
        w.runMillis(2 * leaseMillis);
        if (w.coordinator() == null) {
            throw w.failure("the coordinator chosen after healing did not last", null);
        }
        long total = w.nowNanos() / LeaseWorld.MS;
        return new Run(seed, nodes, total, w.eventCount(), w.episodes().size(), w.coordinator().core().generation(), converged);
    }

    /**
     * A longer randomized run for the command line: {@code seeds} seeds from {@code firstSeed},
     * each with random faults for {@code simulated} and then healing. Throws on the first
     * violation, naming its seed.
     */
    public static Summary soak(long firstSeed, int seeds, Duration simulated) {
        long millis = simulated.toMillis();
        long total = 0, events = 0, episodes = 0, slowest = 0;
        for (int i = 0; i < seeds; i++) {
            long seed = firstSeed + i;
            Run run = randomFaultsThenHeal(seed, nodesFor(seed), millis);
            total += run.simulatedMillis();
            events += run.events();
            episodes += run.episodes();
            slowest = Math.max(slowest, run.convergedAfterMillis());
        }
        return new Summary(firstSeed, seeds, total, events, episodes, slowest);
    }

    /** {@code java ... baton.sim.lease.LeaseSimulations [firstSeed [seeds [simulatedSeconds]]]} */
    public static void main(String[] args) {
        long first = args.length > 0 ? Long.parseLong(args[0]) : System.nanoTime();
        int seeds = args.length > 1 ? Integer.parseInt(args[1]) : 100;
        long seconds = args.length > 2 ? Long.parseLong(args[2]) : 600;
        System.out.println("lease soak from seed " + first + ": " + seeds + " seeds x " + seconds + " simulated s");
        System.out.println(soak(first, seeds, Duration.ofSeconds(seconds)));
    }
}
