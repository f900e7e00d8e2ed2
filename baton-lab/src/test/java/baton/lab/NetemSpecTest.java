package baton.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class NetemSpecTest {
    @Test
    void parsesLossDelayAndJitter() {
        assertThat(NetemSpec.parse("loss 5% delay 20ms")).isEqualTo(new NetemSpec(5, Duration.ofMillis(20), Duration.ZERO));
        assertThat(NetemSpec.parse(" delay 100ms 10ms  loss 0.5% ")).isEqualTo(new NetemSpec(0.5, Duration.ofMillis(100), Duration.ofMillis(10)));
        assertThat(NetemSpec.parse("delay 1s")).isEqualTo(new NetemSpec(0, Duration.ofSeconds(1), Duration.ZERO));
        assertThat(NetemSpec.parse("delay 250us").delay()).isEqualTo(Duration.ofNanos(250_000));
        assertThat(NetemSpec.parse("loss 100%").none()).isFalse();
        assertThat(NetemSpec.parse("loss 0%").none()).isTrue();
    }

    @Test
    void refusesWhatItCannotEmulate() {
        assertThatThrownBy(() -> NetemSpec.parse("duplicate 1%")).hasMessageContaining("\"duplicate\"");
        assertThatThrownBy(() -> NetemSpec.parse("loss")).hasMessageContaining("needs a value");
        assertThatThrownBy(() -> NetemSpec.parse("loss 101%")).hasMessageContaining("outside");
        assertThatThrownBy(() -> NetemSpec.parse("delay 5ms 10ms")).hasMessageContaining("jitter");
        assertThatThrownBy(() -> NetemSpec.parse("delay 5parsecs")).hasMessageContaining("unit");
    }
}
