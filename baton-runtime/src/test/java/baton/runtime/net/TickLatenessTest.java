package baton.runtime.net;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class TickLatenessTest {
    @Test
    void everyValueLiesInItsBucket() {
        for (long micros = 0; micros < 1_000_000; micros = micros < 100 ? micros + 1 : micros * 11 / 10) {
            int b = TickLateness.bucket(micros);
            assertThat(micros).as("bucket %d", b).isLessThan(TickLateness.upperBoundMicros(b));
            if (b > 0) {
                assertThat(micros).as("bucket %d", b).isGreaterThanOrEqualTo(TickLateness.upperBoundMicros(b - 1));
            }
            // An upper bound says at most 25 % more than the value.
            assertThat(TickLateness.upperBoundMicros(b)).isLessThanOrEqualTo(Math.max(micros + 1, micros * 5 / 4 + 1));
        }
    }

    @Test
    void bucketsAreContiguousAndBounded() {
        for (int b = 1; b < TickLateness.BUCKETS; b++) {
            assertThat(TickLateness.bucket(TickLateness.upperBoundMicros(b - 1))).isEqualTo(b);
        }
        assertThat(TickLateness.bucket(Long.MAX_VALUE / 1000)).isEqualTo(TickLateness.BUCKETS - 1);
    }

    @Test
    void percentilesMaxAndCounts() {
        TickLateness t = new TickLateness();
        for (int i = 0; i < 98; i++) {
            t.record(100_000, false);        // 100 us
        }
        t.record(50_000_000, false);         // 50 ms
        t.record(2_000_000_000, true);       // 2 s, reported as late
        t.record(-5, false);                 // woke before the deadline: counted as on time
        t.skipped(19);

        HeartbeatStats.Ticks s = t.snapshot(400_000_000);
        assertThat(s.ticks()).isEqualTo(101);
        assertThat(s.lateTicks()).isEqualTo(1);
        assertThat(s.skippedTicks()).isEqualTo(19);
        assertThat(s.lateThresholdNanos()).isEqualTo(400_000_000);
        assertThat(s.p50Nanos()).isBetween(100_000L, 125_000L);
        assertThat(s.p99Nanos()).isBetween(50_000_000L, 62_500_000L);
        assertThat(s.maxNanos()).isEqualTo(2_000_000_000);
    }

    @Test
    void anEmptyHistogramSaysZero() {
        HeartbeatStats.Ticks s = new TickLateness().snapshot(1);
        assertThat(s.p50Nanos()).isZero();
        assertThat(s.p99Nanos()).isZero();
        assertThat(s.maxNanos()).isZero();
    }
}
