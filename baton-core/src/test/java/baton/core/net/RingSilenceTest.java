package baton.core.net;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RingSilenceTest {
    @Test
    void aPeerIsSilentSinceItWasLastHeardOrSinceTheStart() {
        RingSilence s = new RingSilence(2, 1_000);

        assertThat(s.silentForNanos(3, 0, 1_500)).isEqualTo(500);
        s.heard(3, 0, 2_000);
        assertThat(s.silentForNanos(3, 0, 2_600)).isEqualTo(600);
        assertThat(s.silentForNanos(3, 1, 2_600)).isEqualTo(1_600);
        assertThat(s.silentOnAllRingsForNanos(3, 2_600)).isEqualTo(600);
    }

    @Test
    void aLateReportOfAnOlderBeatDoesNotTurnTheClockBack() {
        RingSilence s = new RingSilence(1, 0);
        s.heard(1, 0, 5_000);
        s.heard(1, 0, 4_000);
        assertThat(s.silentForNanos(1, 0, 6_000)).isEqualTo(1_000);
        assertThat(s.silentForNanos(1, 0, 4_500)).isZero();
    }

    @Test
    void nanoTimeMayBeNegative() {
        RingSilence s = new RingSilence(1, Long.MIN_VALUE + 10);
        s.heard(2, 0, -5);
        assertThat(s.silentForNanos(2, 0, 5)).isEqualTo(10);
    }
}
