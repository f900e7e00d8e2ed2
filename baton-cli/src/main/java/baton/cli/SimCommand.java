package baton.cli;

import baton.runtime.node.ExitStatus;
import baton.sim.ClusterWorld;
import baton.sim.Simulations;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "sim", mixinStandardHelpOptions = true,
        description = "The deterministic simulator: whole clusters of the real cores under random faults, from a seed.",
        subcommands = {SimCommand.Soak.class, SimCommand.Replay.class, SimCommand.LeaseSoak.class})
final class SimCommand {
    @Command(name = "soak", mixinStandardHelpOptions = true,
            description = {"Run many seeds: random disk, network, pause, crash and drift faults, then healing;",
                    "the checkers run after every step. Prints every failing seed; exit status 1 if any failed."})
    static final class Soak implements Callable<Integer> {
        @Option(names = "--from", defaultValue = "1", description = "First seed (default ${DEFAULT-VALUE}).")
        long from;

        @Option(names = "--seeds", defaultValue = "1000", description = "How many seeds (default ${DEFAULT-VALUE}).")
        int seeds;

        @Option(names = "--seconds", defaultValue = "60", description = "Simulated seconds of faults per seed (default ${DEFAULT-VALUE}).")
        int seconds;

        @Option(names = "--fencing", description = {"Add fencing: power switches (with faults), the poison pill with a watchdog,",
                "recovery on fenced, and their checkers (docs/fencing.md)."})
        boolean fencing;

        @Override
        public Integer call() {
            int failed = 0;
            long t0 = System.nanoTime();
            for (long seed = from; seed < from + seeds; seed++) {
                try {
                    Simulations.randomFaultsThenHeal(seed, nodesFor(seed), seconds * 1000L, fencing);
                } catch (AssertionError e) {
                    failed++;
                    System.out.println("FAILED seed " + seed + ": " + e.getMessage().lines().findFirst().orElse(""));
                    System.out.println("  replay: baton sim replay --seed " + seed + " --seconds " + seconds + (fencing ? " --fencing" : ""));
                }
                if ((seed - from + 1) % 100 == 0) {
                    System.out.printf("%d seeds, %d failed, %.0f s%n", seed - from + 1, failed, (System.nanoTime() - t0) / 1e9);
                }
            }
            System.out.printf("soak: %d seeds x %d simulated s of faults (+10 s healing)%s, %d failed, %.0f s wall%n",
                    seeds, seconds, fencing ? " with fencing" : "", failed, (System.nanoTime() - t0) / 1e9);
            return failed == 0 ? ExitStatus.OK : ExitStatus.FAILURE;
        }
    }

    @Command(name = "replay", mixinStandardHelpOptions = true, description = "Run one seed and print its whole transcript.")
    static final class Replay implements Callable<Integer> {
        @Option(names = "--seed", required = true, description = "The seed to replay.")
        long seed;

        @Option(names = "--seconds", defaultValue = "60", description = "Simulated seconds of faults (default ${DEFAULT-VALUE}).")
        int seconds;

        @Option(names = "--fencing", description = "The seed was run with --fencing.")
        boolean fencing;

        @Override
        public Integer call() {
            try {
                ClusterWorld w = Simulations.randomFaultsThenHeal(seed, nodesFor(seed), seconds * 1000L, fencing);
                w.transcript().forEach(System.out::println);
                System.out.println("seed " + seed + ": all checks held, converged after healing");
                return ExitStatus.OK;
            } catch (AssertionError e) {
                System.out.println(e.getMessage());
                return ExitStatus.FAILURE;
            }
        }
    }

    @Command(name = "lease-soak", mixinStandardHelpOptions = true,
            description = {"The coordinator lease alone under harsher disk faults (torn and partial writes, slow and hung",
                    "copies, opposite clock drifts): at most one coordinator at every instant, generations only grow,",
                    "one coordinator again after healing. Throws, naming the seed, on a violation."})
    static final class LeaseSoak implements Callable<Integer> {
        @Option(names = "--from", defaultValue = "1", description = "First seed (default ${DEFAULT-VALUE}).")
        long from;

        @Option(names = "--seeds", defaultValue = "200", description = "How many seeds (default ${DEFAULT-VALUE}).")
        int seeds;

        @Option(names = "--seconds", defaultValue = "180", description = "Simulated seconds per seed (default ${DEFAULT-VALUE}).")
        int seconds;

        @Override
        public Integer call() {
            try {
                System.out.println(baton.sim.lease.LeaseSimulations.soak(from, seeds, java.time.Duration.ofSeconds(seconds)));
                return ExitStatus.OK;
            } catch (AssertionError e) {
                System.out.println(e.getMessage());
                return ExitStatus.FAILURE;
            }
        }
    }

    /** 2 to 8 nodes, varying with the seed. */
    static int nodesFor(long seed) {
        return 2 + (int) Math.floorMod(seed, 7L);
    }
}
