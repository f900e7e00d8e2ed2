package baton.core.net;

import static baton.core.net.ReplayWindow.Outcome.FRESH;
import static baton.core.net.ReplayWindow.Outcome.SEEN;
import static baton.core.net.ReplayWindow.Outcome.TOO_OLD;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ReplayWindowTest {
    @Test
    void inOrderNumbersAreFreshOnceEach() {
        ReplayWindow w = new ReplayWindow();
        for (long seq = 1; seq <= 1000; seq++) {
            assertThat(w.offer(seq)).isEqualTo(FRESH);
            assertThat(w.offer(seq)).isEqualTo(SEEN);
        }
        assertThat(w.highest()).isEqualTo(1000);
    }

    @Test
    void reorderedWithinTheWindowIsAcceptedOnce() {
        ReplayWindow w = new ReplayWindow();
        assertThat(w.offer(10)).isEqualTo(FRESH);
        assertThat(w.offer(12)).isEqualTo(FRESH);
        assertThat(w.offer(11)).isEqualTo(FRESH);   // late, but not seen
        assertThat(w.offer(11)).isEqualTo(SEEN);
        assertThat(w.offer(9)).isEqualTo(FRESH);    // before the first one seen: also not seen
    }

    @Test
    void theEdgesOfTheWindow() {
        ReplayWindow w = new ReplayWindow();
        w.offer(100);
        assertThat(w.offer(100 - 63)).isEqualTo(FRESH);  // the oldest number the window holds
        assertThat(w.offer(100 - 63)).isEqualTo(SEEN);
        assertThat(w.offer(100 - 64)).isEqualTo(TOO_OLD); // one below it
        w.offer(100 + 63);                                // 100 is now the oldest held
        assertThat(w.offer(100)).isEqualTo(SEEN);
        w.offer(100 + 64);                                // and now it is out
        assertThat(w.offer(100)).isEqualTo(TOO_OLD);
    }

    @Test
    void aJumpBeyondTheWindowForgetsEverythingBelowIt() {
        ReplayWindow w = new ReplayWindow();
        w.offer(1);
        w.offer(2);
        assertThat(w.offer(1_000_000)).isEqualTo(FRESH);
        assertThat(w.offer(999_999)).isEqualTo(FRESH);
        assertThat(w.offer(2)).isEqualTo(TOO_OLD);
    }

    @Test
    void resetStartsOver() {
        ReplayWindow w = new ReplayWindow();
        w.offer(5);
        w.reset();
        assertThat(w.highest()).isZero();
        assertThat(w.offer(1)).isEqualTo(FRESH);
        assertThatThrownBy(() -> w.offer(0)).isInstanceOf(IllegalArgumentException.class);
    }

    /** Against a model that remembers everything: fresh exactly when new and not too far behind. */
    @Test
    void agreesWithAModelOnRandomArrivals() {
        Random random = new Random(7);
        ReplayWindow w = new ReplayWindow();
        Set<Long> accepted = new HashSet<>();
        long highest = 0;
        for (int i = 0; i < 100_000; i++) {
            long seq = Math.max(1, highest + random.nextInt(80) - 70);
            ReplayWindow.Outcome expected = seq > highest ? FRESH
                    : highest - seq >= ReplayWindow.SIZE ? TOO_OLD
                    : accepted.contains(seq) ? SEEN : FRESH;
            assertThat(w.offer(seq)).as("offer %d with highest %d", seq, highest).isEqualTo(expected);
            if (expected == FRESH) {
                accepted.add(seq);
                highest = Math.max(highest, seq);
            }
        }
    }
}
