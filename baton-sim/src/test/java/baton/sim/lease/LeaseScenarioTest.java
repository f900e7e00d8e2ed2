package baton.sim.lease;

import static baton.sim.lease.LeaseWorld.MS;
import static org.assertj.core.api.Assertions.assertThat;

import baton.core.disk.Copy;
import baton.core.lease.BlockRead;
import baton.core.lease.LeaseEvent;
import baton.core.lease.LeaseState;
import baton.core.timing.Timeouts;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Targeted scenarios of the coordinator lease: whole clusters of real cores in the
 * deterministic world, with its checker (at most one coordinator at every instant, paused
 * nodes included; generations only grow) running after every event. The lease uses only the
 * disk, so there is no network to break here.
 */
class LeaseScenarioTest {
    static final Timeouts T = Timeouts.DEFAULTS;
    static final long L = T.leaseTimeoutMillis();
    static final long I = T.leaseRenewMillis();
    static final double E = Timeouts.clockRateErrorPpm() / 1e6;

    static LeaseWorld started(long seed, int nodes) {
        LeaseWorld w = new LeaseWorld(seed, nodes, T);
        w.startAll();
        assertThat(w.runUntil(x -> x.coordinator() != null, 2000)).as("a coordinator within 2 s of start").isTrue();
        w.runMillis(1000);
        return w;
    }

    static boolean anotherCoordinator(LeaseWorld w, int notThis) {
        LeaseWorld.Node c = w.coordinator();
        return c != null && c.id != notThis;
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5})
    void aCrashedCoordinatorIsTakenOverAfterTheLeaseTimeoutAndNotBefore(long seed) {
        LeaseWorld w = started(seed, 3);
        LeaseWorld.Node holder = w.coordinator();
        long generation = holder.core().generation();
        long crash = w.nowNanos();
        w.crash(holder.id);
        assertThat(w.runUntil(x -> x.coordinator() != null, 2 * L)).isTrue();
        long after = (w.nowNanos() - crash) / MS;
        // Its last write landed at most an interval (plus I/O latency) before the crash; others
        // wait L of their own clocks (at most 1 % fast) from the first read that showed it.
        assertThat(after).isGreaterThanOrEqualTo((long) (L / (1 + E)) - I - 10);
        assertThat(after).isLessThanOrEqualTo((long) (L / (1 - E)) + 3 * I + 50);
        assertThat(w.coordinator().id).isNotEqualTo(holder.id);
        assertThat(w.coordinator().core().generation()).isEqualTo(generation + 1);
        assertThat(w.coordinator().events()).anyMatch(e -> e instanceof LeaseEvent.Acquired a
                && a.previous().nodeId() == holder.id && a.generation() == generation + 1);
    }

    @Test
    void aCoordinatorPausedPastItsLeaseDoesNotActWhenItResumesAndTheNewOwnerIsTheOnlyOne() {
        LeaseWorld w = started(11, 4);
        LeaseWorld.Node holder = w.coordinator();
        long generation = holder.core().generation();
        w.pause(holder.id, 3 * L); // SIGSTOP, longer than every timeout
        assertThat(w.runUntil(x -> anotherCoordinator(x, holder.id), 2 * L)).isTrue();
        LeaseWorld.Node next = w.coordinator();
        assertThat(next.core().generation()).isEqualTo(generation + 1);
        // The checker included the paused node at every event: it never overlapped. And now:
        assertThat(holder.core().isCoordinator(holder.clock(w.nowNanos()))).isFalse();
        w.runMillis(3 * L); // it resumes in there; the checker judges it at the instant it resumes
        assertThat(holder.paused()).isFalse();
        assertThat(holder.isCoordinator()).isFalse();
        assertThat(holder.events()).anyMatch(e -> e instanceof LeaseEvent.Lost l && l.generation() == generation
                && l.reason().contains("not renewed within the hold time"));
        assertThat(w.coordinator()).isSameAs(next);
        assertThat(w.episodes()).filteredOn(LeaseWorld.Episode::open).singleElement()
                .satisfies(e -> assertThat(e.nodeId()).isEqualTo(next.id));
    }

    @Test
    void aShortPauseCostsNothing() {
        LeaseWorld w = started(12, 3);
        LeaseWorld.Node holder = w.coordinator();
        long generation = holder.core().generation();
        w.pause(holder.id, T.leaseHoldMillis() / 2);
        w.runMillis(3 * L);
        assertThat(w.coordinator()).isSameAs(holder);
        assertThat(holder.core().generation()).isEqualTo(generation);
        assertThat(w.episodes()).hasSize(1);
    }

    @Test
    void aCopyFailingForOneFollowerDoesNotStopOthersFromTakingOver() {
        LeaseWorld w = started(21, 3);
        LeaseWorld.Node holder = w.coordinator();
        int crippled = holder.id == 1 ? 2 : 1;
        w.fault(crippled, Copy.SHADOW, LeaseWorld.Fault.FAIL_ALL);
        w.runMillis(1000);
        w.crash(holder.id);
        assertThat(w.runUntil(x -> x.coordinator() != null, 2 * L)).isTrue();
        // The node that reaches one copy only can win no ballot: majority is both copies.
        assertThat(w.coordinator().id).isNotEqualTo(crippled).isNotEqualTo(holder.id);
        w.runMillis(5 * L);
        assertThat(w.node(crippled).core().stats().ballotsWon()).isZero();
    }

    @ParameterizedTest
    @ValueSource(strings = {"FAIL_WRITES", "FAIL_ALL", "HANG", "SLOW"})
    void aHolderThatLosesOneCopyKeepsTheLeaseOnTheOther(String fault) {
        LeaseWorld w = started(22, 3);
        LeaseWorld.Node holder = w.coordinator();
        w.fault(holder.id, Copy.PRIMARY, LeaseWorld.Fault.valueOf(fault));
        w.runMillis(10 * L);
        assertThat(w.coordinator()).isSameAs(holder);
        assertThat(w.episodes()).hasSize(1);
        assertThat(w.nodes()).allMatch(n -> n.events().stream().noneMatch(e -> e instanceof LeaseEvent.TakeoverStarted));
    }

    @Test
    void aCopyFailingForEveryoneFreezesTheCoordinatorUntilItHeals() {
        // The documented price of majority = both copies: while a copy fails for everyone,
        // the holder keeps the lease (renewals need one copy), but nobody can take it over.
        LeaseWorld w = started(23, 3);
        LeaseWorld.Node holder = w.coordinator();
        long generation = holder.core().generation();
        w.copyFault(Copy.SHADOW, LeaseWorld.Fault.FAIL_ALL);
        w.runMillis(3 * L);
        assertThat(w.coordinator()).isSameAs(holder);
        w.crash(holder.id);
        w.runMillis(5 * L);
        assertThat(w.coordinator()).isNull();
        assertThat(w.nodes()).filteredOn(LeaseWorld.Node::running).allMatch(n -> n.core().generation() == generation);
        w.copyFault(Copy.SHADOW, LeaseWorld.Fault.NONE);
        assertThat(w.runUntil(x -> x.coordinator() != null, LeaseSimulations.convergenceMillis(T))).isTrue();
        assertThat(w.coordinator().core().generation()).isEqualTo(generation + 1);
    }

    @Test
    void theOnlyNodeLeftBecomesCoordinatorWhenAllOthersCrashed() {
        LeaseWorld w = started(31, 5);
        for (int id = 1; id <= 4; id++) {
            w.crash(id);
        }
        assertThat(w.runUntil(x -> x.coordinator() != null, 2 * L + 2000)).isTrue();
        assertThat(w.coordinator().id).isEqualTo(5);
    }

    @Test
    void theOnlyNodeThatCanWriteBecomesCoordinatorWhenTheOthersCannot() {
        LeaseWorld w = started(32, 4);
        for (int id = 1; id <= 3; id++) {
            for (Copy c : Copy.values()) {
                w.fault(id, c, LeaseWorld.Fault.FAIL_WRITES);
            }
        }
        assertThat(w.runUntil(x -> x.coordinator() != null && x.coordinator().id == 4, 3 * L)).isTrue();
        w.runMillis(5 * L);
        assertThat(w.coordinator().id).isEqualTo(4);
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3, 8, 32})
    void nodesContendingAtTheSameInstantElectExactlyOne(int nodes) {
        for (long seed = 40; seed < 45; seed++) {
            LeaseWorld w = new LeaseWorld(seed, nodes, T);
            for (int id = 1; id <= nodes; id++) {
                w.drift(id, 0); // identical clocks and start times: every node proposes at the same instant
            }
            w.startAll();
            assertThat(w.runUntil(x -> x.coordinator() != null, 5 * I)).as("seed %d", seed).isTrue();
            w.runMillis(2 * L);
            assertThat(w.episodes()).singleElement().satisfies(e -> assertThat(e.generation()).isEqualTo(1));
            long coordinator = w.coordinator().id;
            assertThat(w.nodes()).allMatch(n -> n.core().generation() == 1
                    && n.core().view(n.clock(w.nowNanos())).holder().nodeId() == coordinator);
        }
    }

    @Test
    void aResignedLeaseIsTakenOverWithinAFewIntervals() {
        LeaseWorld w = started(51, 3);
        LeaseWorld.Node holder = w.coordinator();
        long resign = w.nowNanos();
        w.resign(holder.id);
        assertThat(holder.isCoordinator()).isFalse();
        assertThat(w.runUntil(x -> x.coordinator() != null, L)).isTrue();
        assertThat(w.nowNanos() - resign).isLessThan(4 * I * MS);
        assertThat(w.coordinator().id).isNotEqualTo(holder.id);
    }

    @Test
    void aRestartedCoordinatorIsANewOwnerAndInheritsNothing() {
        LeaseWorld w = started(61, 3);
        LeaseWorld.Node holder = w.coordinator();
        long generation = holder.core().generation();
        long oldIncarnation = holder.incarnation();
        w.crash(holder.id);
        w.start(holder.id);
        assertThat(holder.incarnation()).isGreaterThan(oldIncarnation);
        w.runMillis(L / 2);
        assertThat(w.coordinator()).isNull();
        assertThat(w.runUntil(x -> x.coordinator() != null, 2 * L)).isTrue();
        assertThat(w.coordinator().core().generation()).isEqualTo(generation + 1);
        for (Copy c : Copy.values()) {
            assertThat(w.blockOn(c, holder.id)).isInstanceOfSatisfying(BlockRead.Valid.class,
                    v -> assertThat(v.block().incarnation()).isEqualTo(holder.incarnation()));
        }
    }

    @Test
    void damageToADeadHoldersBlockOnOneCopyAndTornWritesDoNotBlockTheTakeover() {
        LeaseWorld w = started(71, 3);
        w.failedWritesLand(0.5, 0.2);
        LeaseWorld.Node holder = w.coordinator();
        w.crash(holder.id);
        assertThat(w.corrupt(Copy.PRIMARY, holder.id)).isTrue();
        assertThat(w.corrupt(Copy.SHADOW, holder.id)).as("never both copies of one block").isFalse();
        int other = holder.id == 1 ? 2 : 1;
        w.fault(other, Copy.SHADOW, LeaseWorld.Fault.FAIL_WRITES); // its failed writes land torn or whole
        w.runMillis(L);
        w.fault(other, Copy.SHADOW, LeaseWorld.Fault.NONE);
        assertThat(w.runUntil(x -> x.coordinator() != null, 2 * L)).isTrue();
        w.runMillis(L);
        assertThat(w.coordinator()).isNotNull();
    }

    @Test
    void generationsGrowWithEveryNewOwnerAndEachOwnerIsToldSo() {
        LeaseWorld w = started(81, 4);
        for (int round = 0; round < 6; round++) {
            LeaseWorld.Node holder = w.coordinator();
            if (round % 2 == 0) {
                w.crash(holder.id);
            } else {
                w.pause(holder.id, 2 * L);
            }
            assertThat(w.runUntil(x -> anotherCoordinator(x, holder.id), 3 * L)).isTrue();
            for (LeaseWorld.Node n : w.nodes()) {
                if (!n.running()) {
                    w.start(n.id);
                }
            }
        }
        List<LeaseWorld.Episode> episodes = w.episodes();
        assertThat(episodes).hasSizeGreaterThanOrEqualTo(7);
        for (int i = 1; i < episodes.size(); i++) {
            assertThat(episodes.get(i).generation()).isGreaterThan(episodes.get(i - 1).generation());
            assertThat(episodes.get(i).startNanos()).isGreaterThanOrEqualTo(episodes.get(i - 1).endNanos());
        }
    }

    @Test
    void theHolderPublishesTheLeaderRecordAndItsBlockOnBothCopies() {
        LeaseWorld w = started(91, 3);
        LeaseWorld.Node holder = w.coordinator();
        for (Copy c : Copy.values()) {
            assertThat(w.leaderOn(c)).isInstanceOfSatisfying(baton.core.lease.LeaderRead.Valid.class, v -> {
                assertThat(v.record().owner().nodeId()).isEqualTo(holder.id);
                assertThat(v.record().generation()).isEqualTo(holder.core().generation());
            });
            assertThat(w.blockOn(c, holder.id)).isInstanceOfSatisfying(BlockRead.Valid.class,
                    v -> assertThat(v.block().state()).isEqualTo(LeaseState.OWNER));
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aHolderWhoseClockRunsSlowAndTakersWhoseClocksRunFastStaySafe(boolean slowDisk) {
        for (long seed = 100; seed < 130; seed++) {
            LeaseWorld w = new LeaseWorld(seed, 3, T);
            w.startAll();
            w.runUntil(x -> x.coordinator() != null, 2000);
            LeaseWorld.Node holder = w.coordinator();
            for (LeaseWorld.Node n : w.nodes()) {
                w.drift(n.id, n == holder ? -Timeouts.clockRateErrorPpm() : Timeouts.clockRateErrorPpm());
            }
            if (slowDisk) {
                // Each renewal lands early and completes late: the hold time must count from the issue.
                w.slowLatencyMillis(T.ioTimeoutMillis() - 100, T.ioTimeoutMillis() - 5);
                for (Copy c : Copy.values()) {
                    w.fault(holder.id, c, LeaseWorld.Fault.SLOW);
                }
            }
            w.runMillis(1000 + seed % 7 * 37);
            for (Copy c : Copy.values()) {
                w.fault(holder.id, c, LeaseWorld.Fault.FAIL_WRITES); // it stays alive, believing as long as it may
            }
            assertThat(w.runUntil(x -> anotherCoordinator(x, holder.id), 3 * L)).isTrue();
            assertThat(holder.events()).anyMatch(e -> e instanceof LeaseEvent.Lost);
        }
    }
}
