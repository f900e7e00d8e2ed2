package baton.runtime.node;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class SupervisorTest {
    static boolean await(java.util.function.BooleanSupplier c, long millis) throws InterruptedException {
        long until = System.nanoTime() + millis * 1_000_000L;
        while (System.nanoTime() < until) {
            if (c.getAsBoolean()) {
                return true;
            }
            Thread.sleep(10);
        }
        return c.getAsBoolean();
    }

    @Test
    void aPartWithoutProgressPastItsLimitIsReportedOnceWithItsNameAndWhy() throws Exception {
        AtomicLong beat = new AtomicLong(System.nanoTime());
        List<String> reports = new CopyOnWriteArrayList<>();
        Supervisor s = new Supervisor(List.of(
                Supervisor.progress("event-loop", 300_000_000L, beat::get, "the event loop"),
                Supervisor.part("fine", now -> Optional.empty())), 200_000_000L, 500_000_000L, reports::add);
        s.start();
        try {
            for (int i = 0; i < 10; i++) { // progress keeps it quiet
                Thread.sleep(60);
                beat.set(System.nanoTime());
            }
            assertThat(reports).isEmpty();
            assertThat(await(() -> !reports.isEmpty(), 3_000)).isTrue();
            Thread.sleep(300);
            assertThat(reports).hasSize(1);
            assertThat(reports.getFirst()).startsWith("event-loop: the event loop: no progress for ").contains("(limit 300 ms)");
        } finally {
            s.stop();
        }
    }

    @Test
    void aDeadPartIsReported() throws Exception {
        Thread worker = Thread.ofPlatform().start(() -> { });
        worker.join();
        List<String> reports = new CopyOnWriteArrayList<>();
        Supervisor s = new Supervisor(List.of(Supervisor.part("heartbeat-loop",
                now -> worker.isAlive() ? Optional.empty() : Optional.of("the heartbeat send thread is dead"))),
                200_000_000L, 500_000_000L, reports::add);
        s.start();
        try {
            assertThat(await(() -> !reports.isEmpty(), 3_000)).isTrue();
            assertThat(reports).containsExactly("heartbeat-loop: the heartbeat send thread is dead");
        } finally {
            s.stop();
        }
    }

    @Test
    void afterTheSupervisorItselfWasLateItGivesThePartsTheGraceToCatchUp() throws Exception {
        // The first check blocks the supervisor for 600 ms (as a paused process would); the other
        // part looks stuck only until 400 ms after that. With a grace of 1 s, nothing is reported.
        AtomicBoolean first = new AtomicBoolean(true);
        AtomicLong resumed = new AtomicLong(Long.MAX_VALUE);
        List<String> reports = new CopyOnWriteArrayList<>();
        Supervisor s = new Supervisor(List.of(
                Supervisor.part("pause", now -> {
                    if (first.getAndSet(false)) {
                        try {
                            Thread.sleep(600);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                        resumed.set(System.nanoTime());
                    }
                    return Optional.empty();
                }),
                Supervisor.part("catching-up", now -> now - resumed.get() < 400_000_000L && now > resumed.get()
                        ? Optional.of("stale after the pause") : Optional.empty())),
                200_000_000L, 1_000_000_000L, reports::add);
        s.start();
        try {
            Thread.sleep(2_000);
            assertThat(reports).isEmpty();
        } finally {
            s.stop();
        }
    }
}
