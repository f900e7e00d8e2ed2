package baton.core.timing;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The orderings of docs/timeouts.md, asserted. */
class TimeoutsTest {
    @Test
    void defaultsAreValidAndDerivedFromTheBaseValues() {
        Timeouts t = Timeouts.DEFAULTS;
        assertThat(t.violations()).isEmpty();
        assertThat(t.diskTimeoutMillis()).isEqualTo(800);
        assertThat(t.ioTimeoutMillis()).isEqualTo(400);
        assertThat(t.joinTimeoutMillis()).isEqualTo(3200);
        assertThat(t.networkTimeoutMillis()).isEqualTo(800);
    }

    @Test
    void safetyOrderingsHoldForEveryValidCombination() {
        for (long interval : new long[] {10, 50, 200, 1000, 10_000, 60_000}) {
            for (int missed = 3; missed <= 100; missed++) {
                Timeouts t = new Timeouts(interval, missed, 100, 8);
                assertThat(t.violations()).isEmpty();
                // A slow I/O fails before the slot it delays could be judged stale.
                assertThat(t.ioTimeoutMillis()).isLessThan(t.diskTimeoutMillis());
                // A joining node gets at least a disk timeout to prove a copy, however slow its start.
                assertThat(t.joinTimeoutMillis()).isGreaterThanOrEqualTo(t.diskTimeoutMillis());
                // At least one full interval of slack beyond the I/O timeout.
                assertThat(t.diskTimeoutMillis() - t.ioTimeoutMillis()).isGreaterThanOrEqualTo(interval);
            }
        }
    }

    @Test
    void violationsNameTheKey() {
        assertThat(new Timeouts(5, 4, 100, 8).violations()).singleElement().asString().contains("diskIntervalMillis");
        assertThat(new Timeouts(200, 2, 100, 8).violations()).singleElement().asString().contains("missedDiskIntervals");
        assertThat(new Timeouts(200, 4, 100, 1).violations()).singleElement().asString().contains("missedHeartbeats");
    }
}
