package baton.lab.owners;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** The poll windows' verdict: a move is not a violation, two copies are, however they interleave. */
class MacWindowsTest {
    static final String MAC = "52:54:00:b7:0f:01";
    static final Instant T0 = Instant.parse("2026-11-23T20:50:30Z");
    static final Duration POLL = Duration.ofMillis(30);

    /** Feeds one window per entry (ports seen, "" for none), 30 ms each; returns every violation, settled or not. */
    static List<MacWatch.Violation> run(MacWindows w, String... windows) {
        List<MacWatch.Violation> out = new ArrayList<>();
        for (int i = 0; i < windows.length; i++) {
            TreeSet<String> on = new TreeSet<>();
            for (String port : windows[i].split(",")) {
                if (!port.isBlank()) {
                    on.add(port.strip());
                }
            }
            out.addAll(w.window(MAC, on, T0.plus(POLL.multipliedBy(i)), T0.plus(POLL.multipliedBy(i + 1))));
        }
        out.addAll(w.unsettled());
        return out;
    }

    static MacWindows windows() {
        return new MacWindows(MacWatch.CONFIRM);
    }

    @Test
    void aMoveWhoseLastAndFirstFramesShareAWindowIsNoViolation() {
        MacWindows w = windows();
        String[] seq = new String[30];
        java.util.Arrays.fill(seq, "n2");
        seq[0] = "n1";
        seq[1] = "";
        seq[2] = "n1";
        seq[3] = "n1,n2";
        seq[5] = "";
        assertThat(run(w, seq)).isEmpty();
        assertThat(w.moves()).isEqualTo(1);
    }

    @Test
    void theOldPortAnsweringAgainAfterTheWindowIsAViolation() {
        List<MacWatch.Violation> v = run(windows(), "n1", "n1,n2", "n2", "", "n2", "n1", "n2");
        assertThat(v).hasSize(1);
        assertThat(v.getFirst().ports()).containsExactly("n1", "n2");
        assertThat(v.getFirst().from()).isEqualTo(T0.plus(POLL));
    }

    @Test
    void twoCopiesInTwoWindowsInARowAreTwoViolations() {
        assertThat(run(windows(), "n1", "n1,n2", "n1,n2")).hasSize(2);
    }

    @Test
    void aThirdPortOrAMacFirstSeenOnTwoPortsIsAViolationAtOnce() {
        assertThat(run(windows(), "n1,n2")).hasSize(1);
        assertThat(run(windows(), "n1", "n1,n2,n3")).hasSize(1);
        assertThat(run(windows(), "n1", "n2,n3")).hasSize(1);
        assertThat(run(windows(), "n1", "n1,n2", "n3")).hasSize(1);
    }

    @Test
    void aWindowNotYetSettledCountsAsAViolation() {
        MacWindows w = windows();
        assertThat(run(w, "n1", "n1,n2", "n2")).hasSize(1);
        assertThat(w.moves()).isZero();
    }

    @Test
    void aMoveAndAMoveBackAreTwoMoves() {
        MacWindows w = windows();
        List<String> seq = new ArrayList<>(List.of("n1", "n1,n2"));
        for (int i = 0; i < 20; i++) {
            seq.add("n2");
        }
        seq.add("n1,n2");
        for (int i = 0; i < 20; i++) {
            seq.add("n1");
        }
        assertThat(run(w, seq.toArray(String[]::new))).isEmpty();
        assertThat(w.moves()).isEqualTo(2);
    }
}
