package baton.lab;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ProcStatTest {
    @Test
    void parsesACommandNameWithSpacesAndParentheses() {
        String line = "1234 (we ird) (name) T 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 5555 1000 100";
        assertThat(ProcStat.parse(1234, line)).isEqualTo(new ProcStat(1234, 'T', 5555));
    }

    @Test
    void readsThisJvm() {
        ProcStat self = ProcStat.self();
        assertThat(self.state()).isIn('R', 'S');
        assertThat(self.startTicks()).isPositive();
        assertThat(ProcStat.read(Long.MAX_VALUE)).isEmpty();
    }
}
