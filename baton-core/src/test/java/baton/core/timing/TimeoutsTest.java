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

    @Test
    void leaseDefaults() {
        Timeouts t = Timeouts.DEFAULTS;
        assertThat(t.leaseRenewMillis()).isEqualTo(200);
        assertThat(t.leaseTimeoutMillis()).isEqualTo(3200);
        assertThat(t.leaseSafetyMarginMillis()).isEqualTo(65);
        assertThat(t.leaseHoldMillis()).isEqualTo(3135);
        assertThat(Timeouts.clockRateErrorPpm()).isEqualTo(10_000);
    }

    /** The orderings of docs/coordinator-lease.md, over the whole valid range of the base values. */
    @Test
    void leaseOrderingsHoldForEveryValidCombination() {
        double e = Timeouts.clockRateErrorPpm() / 1e6;
        for (long interval = 10; interval <= 60_000; interval = interval < 100 ? interval + 1 : interval * 11 / 10) {
            for (int missed = 3; missed <= 100; missed++) {
                Timeouts t = new Timeouts(interval, missed, 100, 8);
                assertThat(t.violations()).isEmpty();
                long l = t.leaseTimeoutMillis();
                long d = t.leaseHoldMillis();
                // Safety: the holder's hold time, on a clock running 1 % slow, ends before another
                // node's lease timeout, on a clock running 1 % fast, can have passed.
                assertThat(d / (1 - e)).as("I=%d missed=%d", interval, missed).isLessThan(l / (1 + e));
                assertThat(t.leaseSafetyMarginMillis()).isPositive();
                assertThat(t.leaseHoldNanos()).isEqualTo(d * 1_000_000L);
                // Stability: after a renewal, the holder survives the next attempt failing outright
                // (its write and its read each timing out) and a slow one after it.
                assertThat(d).isGreaterThan(t.leaseRenewMillis() + 2 * (2 * t.ioTimeoutMillis()));
                // A renewal that succeeds at all succeeds well within the hold time.
                assertThat(2 * t.ioTimeoutMillis()).isLessThan(d);
                // The renewal interval leaves room for many renewals per lease timeout.
                assertThat(l / t.leaseRenewMillis()).isGreaterThanOrEqualTo(12);
            }
        }
    }
}
