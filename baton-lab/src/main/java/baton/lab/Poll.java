package baton.lab;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Bounded polling of real processes and files, the only waiting the lab does. */
public final class Poll {
    /** Often enough that a test waiting on a log line loses little time, rarely enough to cost no CPU. */
    static final Duration INTERVAL = Duration.ofMillis(20);

    private Poll() {}

    /** Checks {@code condition} every {@link #INTERVAL} until it holds (true) or {@code timeout} has passed (false). */
    public static boolean until(Duration timeout, BooleanSupplier condition) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (condition.getAsBoolean()) {
                return true;
            }
            if (System.nanoTime() - deadline >= 0) {
                return false;
            }
            pause();
        }
    }

    static void pause() {
        try {
            Thread.sleep(INTERVAL);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while polling", e);
        }
    }
}
