package baton.core.membership;

import static org.assertj.core.api.Assertions.assertThat;

import baton.core.liveness.Liveness;
import baton.core.timing.Timeouts;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The failure rule, driven by hand with a fake clock: heartbeats every 100 ms, disk views every 200 ms. */
class MembershipTest {
    static final long MS = 1_000_000L;
    static final Timeouts T = Timeouts.DEFAULTS; // network timeout 800 ms, disk timeout 800 ms

    final Membership m = new Membership(1, 3, 2, T);
    final List<MembershipEvent> events = new ArrayList<>();
    long now = 1_000 * MS;
    boolean[] netUp = {false, true, true, true};
    boolean[][] ringUp = {{}, {true, true}, {true, true}, {true, true}};
    long[] counterAdvancedAt = new long[4];
    Liveness[] diskOverride = new Liveness[4];
    long[] incarnation = {0, 1, 10, 20};

    /** Runs the world for {@code ms}: peers beat on their live rings, the disk core reports every 200 ms. */
    void run(long ms) {
        long until = now + ms * MS;
        while (now < until) {
            now += 10 * MS;
            if (now % (100 * MS) == 0) {
                for (int p = 2; p <= 3; p++) {
                    for (int r = 0; r < 2; r++) {
                        if (netUp[p] && ringUp[p][r]) {
                            events.addAll(m.step(new MembershipInput.Heard(now, r, p, incarnation[p], false)));
                        }
                    }
                }
            }
            if (now % (200 * MS) == 0) {
                for (int p = 2; p <= 3; p++) {
                    Liveness l = diskOverride[p] != null ? diskOverride[p] : Liveness.FRESH;
                    long unchanged = diskOverride[p] == Liveness.STALE ? now - counterAdvancedAt[p] : 0;
                    events.addAll(m.step(new MembershipInput.Disk(now, p, l, unchanged, incarnation[p], "")));
                }
            }
            events.addAll(m.step(new MembershipInput.Tick(now)));
        }
    }

    void diskStale(int p) {
        counterAdvancedAt[p] = now;
        diskOverride[p] = Liveness.STALE; // reported as stale; unchanged time grows from now
    }

    List<Verdict> transitions(int p) {
        return events.stream().filter(e -> e instanceof MembershipEvent.VerdictChanged c && c.peer() == p)
                .map(e -> ((MembershipEvent.VerdictChanged) e).to()).toList();
    }

    @Test
    void peersWithBothChannelsAliveAreUp() {
        assertThat(m.verdict(2)).isEqualTo(Verdict.ABSENT);
        run(1000);
        assertThat(m.verdict(2)).isEqualTo(Verdict.UP);
        assertThat(m.verdict(3)).isEqualTo(Verdict.UP);
        assertThat(m.verdict(1)).isEqualTo(Verdict.UP);
    }

    @Test
    void aCrashedPeerIsDownOnlyWhenBothChannelsArePastTheirTimeouts() {
        run(1000);
        netUp[3] = false;
        diskStale(3);
        run(700);
        assertThat(m.verdict(3)).isIn(Verdict.SUSPECT, Verdict.DISK_LOST);
        run(200);
        assertThat(m.verdict(3)).isEqualTo(Verdict.DOWN);
        assertThat(m.evidence(3)).contains("slot stale").contains("no heartbeat on any ring for 0.9 s").contains("own ticks on time");
        assertThat(m.verdict(2)).isEqualTo(Verdict.UP);
    }

    @Test
    void aCutNetworkWithAFreshSlotIsNetworkLostNeverDown() {
        run(1000);
        netUp[3] = false;
        run(10_000);
        assertThat(m.verdict(3)).isEqualTo(Verdict.NETWORK_LOST);
        assertThat(transitions(3)).doesNotContain(Verdict.DOWN);
        assertThat(m.evidence(3)).contains("slot fresh").contains("no heartbeat on any ring");
    }

    @Test
    void oneSilentRingIsNotSilence() {
        run(1000);
        ringUp[3][0] = false;
        run(5000);
        assertThat(m.verdict(3)).isEqualTo(Verdict.UP);
        assertThat(m.evidence(3)).contains("ring1 0.0 s ago");
    }

    @Test
    void aStaleSlotWithWorkingHeartbeatsIsDiskLostNeverDown() {
        run(1000);
        diskStale(2);
        run(10_000);
        assertThat(m.verdict(2)).isEqualTo(Verdict.DISK_LOST);
        assertThat(transitions(2)).doesNotContain(Verdict.DOWN);
        diskOverride[2] = Liveness.UNKNOWN;
        run(1000);
        assertThat(m.verdict(2)).isEqualTo(Verdict.DISK_LOST);
    }

    @Test
    void anUnreadableSlotIsNeverProofOfDeath() {
        run(1000);
        diskOverride[3] = Liveness.UNKNOWN;
        netUp[3] = false;
        run(10_000);
        assertThat(m.verdict(3)).isEqualTo(Verdict.NETWORK_LOST);
        assertThat(m.evidence(3)).contains("slot unknown");
    }

    @Test
    void aNodeThatWasLateDoesNotAccuseOnThatEvidence() {
        run(1000);
        netUp[3] = false;
        diskStale(3);
        run(300);
        // This node was paused for 2 s: on resume everything looks silent for 2.3 s.
        now += 2000 * MS;
        events.addAll(m.step(new MembershipInput.SelfLate(now, 2000 * MS)));
        assertThat(events).anyMatch(e -> e instanceof MembershipEvent.SelfPaused);
        run(10);
        assertThat(m.verdict(3)).isNotEqualTo(Verdict.DOWN);
        assertThat(m.verdict(2)).isNotEqualTo(Verdict.DOWN);
        run(700);
        assertThat(m.verdict(3)).isNotEqualTo(Verdict.DOWN);
        run(200); // a full network timeout listened to since the resume
        assertThat(m.verdict(3)).isEqualTo(Verdict.DOWN);
        assertThat(m.verdict(2)).isEqualTo(Verdict.UP);
    }

    @Test
    void downIsStickyForItsIncarnationAndANewIncarnationLiftsIt() {
        run(1000);
        netUp[3] = false;
        diskStale(3);
        run(2000);
        assertThat(m.verdict(3)).isEqualTo(Verdict.DOWN);
        netUp[3] = true; // the hung process resumed: same incarnation
        diskOverride[3] = null;
        run(2000);
        assertThat(m.verdict(3)).isEqualTo(Verdict.DOWN);
        assertThat(m.evidence(3)).contains("declared down at incarnation 20");
        incarnation[3] = 21; // it rejoined with a new incarnation
        run(1000);
        assertThat(m.verdict(3)).isEqualTo(Verdict.UP);
    }

    @Test
    void aCleanLeaveIsLeftNotDown() {
        run(1000);
        netUp[2] = false;
        diskOverride[2] = Liveness.LEFT;
        run(5000);
        assertThat(m.verdict(2)).isEqualTo(Verdict.LEFT);
        assertThat(transitions(2)).containsExactly(Verdict.UP, Verdict.LEFT);
    }

    @Test
    void aPeerThatNeverStartedIsAbsentNotDown() {
        netUp[3] = false;
        diskOverride[3] = Liveness.EMPTY;
        run(10_000);
        assertThat(m.verdict(3)).isEqualTo(Verdict.ABSENT);
    }

    @Test
    void aShortNetworkSilenceIsSuspectAndRecovers() {
        run(1000);
        netUp[2] = false;
        run(500);
        assertThat(m.verdict(2)).isEqualTo(Verdict.SUSPECT);
        netUp[2] = true;
        run(200);
        assertThat(m.verdict(2)).isEqualTo(Verdict.UP);
    }

    @Test
    void aPeerThatHoldsThisNodeDownMakesItRejoinButNotRightAfterJoining() {
        events.addAll(m.step(new MembershipInput.Heard(now, 0, 2, 10, true)));
        assertThat(events).noneMatch(e -> e instanceof MembershipEvent.DeclaredDown); // just (re)joined: old news
        run(3000);
        events.addAll(m.step(new MembershipInput.Heard(now, 0, 2, 10, true)));
        assertThat(events).filteredOn(e -> e instanceof MembershipEvent.DeclaredDown).hasSize(1);
    }

    @Test
    void theDownBitmapNamesThePeersHeldDown() {
        run(1000);
        assertThat(m.downBitmap()).isZero();
        netUp[3] = false;
        diskStale(3);
        run(2000);
        assertThat(m.downBitmap()).isEqualTo(0b100);
    }

    @Test
    void aFencedNodeStaysFencedForItsIncarnationAndANewOneLiftsIt() {
        run(1000);
        netUp[3] = false;
        diskStale(3);
        run(2000);
        events.addAll(m.step(new MembershipInput.Fenced(now, 3, 19, "wrong incarnation")));
        assertThat(m.verdict(3)).isEqualTo(Verdict.DOWN);
        events.addAll(m.step(new MembershipInput.Fenced(now, 3, m.downIncarnation(3), "level 1: bmc-3 confirmed off")));
        assertThat(m.verdict(3)).isEqualTo(Verdict.FENCED);
        assertThat(m.evidence(3)).startsWith("fenced (level 1: bmc-3 confirmed off) at incarnation 20");
        assertThat(m.downBitmap()).isEqualTo(0b100);
        netUp[3] = true;
        diskOverride[3] = null;
        run(1000);
        assertThat(m.verdict(3)).isEqualTo(Verdict.FENCED);
        incarnation[3] = 21;
        run(1000);
        assertThat(m.verdict(3)).isEqualTo(Verdict.UP);
    }
}
