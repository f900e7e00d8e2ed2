package baton.core.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import baton.core.membership.Verdict;
import java.util.List;
import org.junit.jupiter.api.Test;

class RecoveryWatchTest {
    static final long WINDOW = 1_000;

    static WorkloadRecord ownedBy(int id, int owner) {
        return WorkloadAgentTest.rec(id, 1, owner, 7, Placement.Desired.RUNNING, 0);
    }

    static Placement.Node node(int id, Verdict v) {
        return new Placement.Node(id, 7, v, false);
    }

    @Test
    void anOwnerThatIsDownOrFencedMakesARecoveryPendingForTheWindowOnly() {
        for (Verdict v : List.of(Verdict.DOWN, Verdict.FENCED)) {
            RecoveryWatch w = new RecoveryWatch(1, WINDOW);
            List<WorkloadRecord> table = List.of(ownedBy(5, 2));
            assertThat(w.pending(0, table, List.of(node(1, Verdict.UP), node(2, Verdict.UP)))).isFalse();
            assertThat(w.pending(100, table, List.of(node(1, Verdict.UP), node(2, v)))).as("first seen %s", v).isTrue();
            assertThat(w.pending(100 + WINDOW - 1, table, List.of(node(1, Verdict.UP), node(2, v)))).isTrue();
            assertThat(w.pending(100 + WINDOW, table, List.of(node(1, Verdict.UP), node(2, v)))).as("window over").isFalse();
        }
    }

    @Test
    void downToFencedKeepsTheFirstSightingSoTheWindowDoesNotRestart() {
        RecoveryWatch w = new RecoveryWatch(1, WINDOW);
        List<WorkloadRecord> table = List.of(ownedBy(5, 2));
        assertThat(w.pending(0, table, List.of(node(2, Verdict.DOWN)))).isTrue();
        assertThat(w.pending(WINDOW, table, List.of(node(2, Verdict.FENCED)))).isFalse();
    }

    @Test
    void aNodeThatComesBackAndFailsAgainOpensANewWindow() {
        RecoveryWatch w = new RecoveryWatch(1, WINDOW);
        List<WorkloadRecord> table = List.of(ownedBy(5, 2));
        assertThat(w.pending(0, table, List.of(node(2, Verdict.DOWN)))).isTrue();
        assertThat(w.pending(5 * WINDOW, table, List.of(node(2, Verdict.UP)))).isFalse();
        assertThat(w.pending(6 * WINDOW, table, List.of(node(2, Verdict.DOWN)))).isTrue();
    }

    @Test
    void onceTheRecoveryIsWrittenNothingIsPending() {
        RecoveryWatch w = new RecoveryWatch(1, WINDOW);
        assertThat(w.pending(0, List.of(ownedBy(5, 2)), List.of(node(2, Verdict.FENCED)))).isTrue();
        assertThat(w.pending(10, List.of(ownedBy(5, 3)), List.of(node(2, Verdict.FENCED), node(3, Verdict.UP)))).isFalse();
    }

    @Test
    void nothingIsPendingForOwnRecordsNoOwnerOrAnOwnerThatIsOnlySuspectOrLost() {
        RecoveryWatch w = new RecoveryWatch(1, WINDOW);
        List<WorkloadRecord> table = List.of(ownedBy(5, 1), ownedBy(6, 0), ownedBy(7, 3));
        assertThat(w.pending(0, table, List.of(node(1, Verdict.DOWN), node(3, Verdict.SUSPECT)))).isFalse();
        assertThat(w.pending(0, table, List.of(node(3, Verdict.NETWORK_LOST)))).isFalse();
        assertThat(w.pending(0, table, List.of(node(3, Verdict.DISK_LOST)))).isFalse();
        assertThat(w.pending(0, table, List.of(node(2, Verdict.DOWN)))).as("down, but owns nothing").isFalse();
    }

    @Test
    void aNegativeWindowIsRefused() {
        assertThatThrownBy(() -> new RecoveryWatch(1, -1)).isInstanceOf(IllegalArgumentException.class);
    }
}
