package baton.core.lease;

import static baton.core.lease.Bench.MS;
import static baton.core.lease.Bench.T;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import baton.core.disk.Copy;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The lease core driven by hand: crafted disk bytes, a fake clock per node, I/O performed on demand. */
class CoordinatorLeaseTest {
    final Bench bench = new Bench();

    Bench.Node acquired(int id, long incarnation) {
        Bench.Node n = bench.new Node(id, incarnation);
        n.run(T.diskIntervalMillis() * 2);
        assertThat(n.coordinator()).as("node %d holds the lease", id).isTrue();
        return n;
    }

    @Test
    void aLoneNodeOnAnEmptyAreaWinsGenerationOneAndPublishesIt() {
        Bench.Node n = bench.new Node(1, 100);
        List<LeaseEffect> first = n.tick();
        // It reads both copies before it does anything else.
        assertThat(first).hasSize(2).allMatch(e -> e instanceof LeaseEffect.ReadBlocks r
                && r.firstBlock() == LeaseLayout.AREA_FIRST_BLOCK && r.blockCount() == LeaseLayout.AREA_BLOCKS);
        n.pump();
        n.run(T.diskIntervalMillis());
        assertThat(n.coordinator()).isTrue();
        assertThat(n.core.generation()).isEqualTo(1);
        assertThat(n.effects(LeaseEffect.BecameCoordinator.class)).singleElement()
                .satisfies(b -> assertThat(b.generation()).isEqualTo(1));
        assertThat(n.events(LeaseEvent.Acquired.class)).singleElement().satisfies(a -> {
            assertThat(a.fields()).contains("event=lease-acquired generation=1 previous-owner=none how=\"won ballot");
            assertThat(a.holdMillis()).isEqualTo(T.leaseHoldMillis());
        });
        for (Copy c : Copy.values()) {
            LeaseBlock b = bench.valid(c, 1);
            assertThat(b.state()).isEqualTo(LeaseState.OWNER);
            assertThat(b.generation()).isEqualTo(1);
            assertThat(b.value()).isEqualTo(new Owner(1, 100));
            assertThat(bench.codec.decodeLeader(bench.area[c.ordinal()], 0)).isEqualTo(
                    new LeaderRead.Valid(new LeaderRecord(1, new Owner(1, 100), 0)));
        }
        // Writes go only to its own block and the leader record.
        assertThat(n.effects(LeaseEffect.WriteBlock.class)).allMatch(w -> w.block() == LeaseLayout.blockOfNode(1)
                || w.block() == LeaseLayout.LEADER_BLOCK);
        assertThat(n.core.view(n.now).role()).isEqualTo(CoordinatorLease.Role.COORDINATOR);
    }

    @Test
    void theHolderRenewsEveryIntervalAndStaysCoordinator() {
        Bench.Node n = acquired(1, 100);
        long seq = bench.valid(Copy.PRIMARY, 1).seq();
        n.run(10 * T.leaseTimeoutMillis());
        assertThat(n.coordinator()).isTrue();
        assertThat(bench.valid(Copy.PRIMARY, 1).seq() - seq).isBetween(10 * T.leaseTimeoutMillis() / T.leaseRenewMillis() - 2,
                10 * T.leaseTimeoutMillis() / T.leaseRenewMillis() + 2);
        assertThat(n.effects(LeaseEffect.CeasedCoordinator.class)).isEmpty();
    }

    @Test
    void withoutRenewalTheLeaseLapsesOnTheHoldersOwnClockAfterTheHoldTime() {
        Bench.Node n = acquired(1, 100);
        n.run(1000);
        // Every renewal is issued at a tick and succeeds at once: the last one was issued by now.
        long lastRenewal = n.now;
        n.failing[0] = true;
        n.failing[1] = true;
        n.run(T.leaseHoldMillis() - T.leaseRenewMillis() - 10);
        assertThat(n.coordinator()).isTrue();
        assertThat(n.core.isCoordinator(lastRenewal + T.leaseHoldNanos())).isFalse();
        n.run(T.leaseRenewMillis() + 20);
        assertThat(n.coordinator()).isFalse();
        assertThat(n.effects(LeaseEffect.CeasedCoordinator.class)).singleElement()
                .satisfies(c -> assertThat(c.reason()).contains("not renewed within the hold time of " + T.leaseHoldMillis() + " ms"));
    }

    @Test
    void theHoldTimeCountsFromTheIssueOfTheRenewalsWriteNotFromItsCompletion() {
        Bench.Node n = acquired(1, 100);
        n.run(1000);
        n.now += T.diskIntervalNanos();
        n.tick();
        assertThat(n.pending).hasSize(2).allMatch(e -> e instanceof LeaseEffect.WriteBlock);
        long issued = n.now;
        n.now += 300 * MS; // a slow disk: the writes complete 300 ms later, still within the I/O timeout
        n.perform(n.pending.getFirst());
        n.perform(n.pending.getFirst());
        assertThat(n.pending).hasSize(2).allMatch(e -> e instanceof LeaseEffect.ReadBlocks);
        n.perform(n.pending.getFirst()); // the read-back (the next renewal, already due, stays unperformed)
        n.perform(n.pending.getFirst());
        assertThat(n.core.stats().renewalFailures()).isZero();
        assertThat(n.core.isCoordinator(issued + T.leaseHoldNanos() - 1)).isTrue();
        assertThat(n.core.isCoordinator(issued + T.leaseHoldNanos())).isFalse();
    }

    @Test
    void aRenewalReadBackFromOneCopyIsEnough() {
        Bench.Node n = acquired(1, 100);
        n.failing[1] = true; // the shadow fails for the holder only
        n.run(3 * T.leaseTimeoutMillis());
        assertThat(n.coordinator()).isTrue();
        assertThat(n.core.stats().renewalFailures()).isZero();
    }

    @Test
    void aFollowerTakesOverOnlyAfterTheHoldersBlockWasUnchangedForTheLeaseTimeout() {
        Bench.Node one = acquired(1, 100);
        Bench.Node two = bench.new Node(2, 200);
        Bench.run(2000, one, two);
        assertThat(two.core.generation()).isEqualTo(1);
        assertThat(two.core.view(two.now).holder()).isEqualTo(one.owner());
        long lastSeq = bench.valid(Copy.PRIMARY, 1).seq();
        // Node 1 crashes: its block stays as it is. Node 2 first sees the last write within an interval.
        long crash = two.now;
        two.run(T.leaseTimeoutMillis() - T.diskIntervalMillis());
        assertThat(bench.valid(Copy.PRIMARY, 2).state()).isNotEqualTo(LeaseState.PREPARING);
        assertThat(two.events(LeaseEvent.TakeoverStarted.class)).isEmpty();
        two.run(3 * T.diskIntervalMillis());
        assertThat(two.coordinator()).isTrue();
        assertThat(two.core.generation()).isEqualTo(2);
        LeaseBlock b = bench.valid(Copy.SHADOW, 2);
        assertThat(b.target()).isEqualTo(one.owner());
        assertThat(b.targetSeq()).isEqualTo(lastSeq);
        assertThat(two.events(LeaseEvent.TakeoverStarted.class)).singleElement().satisfies(t -> assertThat(t.fields())
                .contains("generation=2 from=1").contains("lease timeout " + T.leaseTimeoutMillis() + " ms"));
        assertThat(two.effects(LeaseEffect.BecameCoordinator.class).getFirst().validUntilNanos() - crash)
                .isGreaterThan(T.leaseTimeoutNanos());
    }

    @Test
    void aRenewingHolderIsNeverTakenOver() {
        Bench.Node one = acquired(1, 100);
        Bench.Node two = bench.new Node(2, 200);
        Bench.Node three = bench.new Node(3, 300);
        Bench.run(5 * T.leaseTimeoutMillis(), one, two, three);
        assertThat(one.coordinator()).isTrue();
        assertThat(two.events(LeaseEvent.TakeoverStarted.class)).isEmpty();
        assertThat(three.events(LeaseEvent.TakeoverStarted.class)).isEmpty();
        assertThat(two.core.stats().ballots() + three.core.stats().ballots()).isZero();
    }

    @Test
    void aResignedLeaseIsTakenOverWithoutWaitingForTheTimeout() {
        Bench.Node one = acquired(1, 100);
        Bench.Node two = bench.new Node(2, 200);
        Bench.run(1000, one, two);
        one.step(new LeaseInput.Resign(one.now));
        assertThat(one.coordinator()).isFalse();
        assertThat(one.effects(LeaseEffect.CeasedCoordinator.class)).singleElement()
                .satisfies(c -> assertThat(c.reason()).isEqualTo("resigned"));
        one.pump();
        assertThat(bench.valid(Copy.PRIMARY, 1).state()).isEqualTo(LeaseState.RELEASED);
        Bench.run(3 * T.diskIntervalMillis(), one, two);
        assertThat(two.coordinator()).isTrue();
        assertThat(two.core.generation()).isEqualTo(2);
        assertThat(two.events(LeaseEvent.TakeoverStarted.class)).singleElement()
                .satisfies(t -> assertThat(t.evidence()).isEqualTo("the owner released it"));
    }

    @Test
    void aHigherBallotThatAppearsBetweenPhaseOnesWriteAndItsReadMakesTheBallotFail() {
        Bench.Node n = bench.new Node(1, 100);
        n.tick();
        n.pump(); // the first observation, then the write that announces this incarnation
        n.now += T.diskIntervalNanos();
        n.tick();
        n.perform(n.pending.getFirst()); // the next observation: nothing decided, so it prepares generation 1
        n.perform(n.pending.getFirst());
        assertThat(n.pending).hasSize(2).allMatch(e -> e instanceof LeaseEffect.WriteBlock);
        LeaseEffect.WriteBlock prepare = (LeaseEffect.WriteBlock) n.pending.getFirst();
        LeaseBlock mine = ((BlockRead.Valid) bench.codec.decodeBlock(prepare.bytes(), 0, 1)).block();
        assertThat(mine.state()).isEqualTo(LeaseState.PREPARING);
        assertThat(mine.generation()).isEqualTo(1);
        // A rival starts a higher ballot after this node chose its own.
        bench.putBoth(Bench.block(2, 200, 1, 1, mine.ballot() + 1, 0, Owner.NONE, LeaseState.PREPARING, Owner.NONE, 0));
        n.pump();
        assertThat(n.coordinator()).isFalse();
        assertThat(n.events(LeaseEvent.BallotFailed.class)).singleElement().satisfies(f -> {
            assertThat(f.kind()).isEqualTo("outbid");
            assertThat(f.reason()).contains("node 2 started ballot " + (mine.ballot() + 1));
        });
        // It backs off, then outbids the rival (which has gone quiet) with a higher ballot of its own.
        n.run(4 * T.diskIntervalMillis());
        assertThat(n.coordinator()).isTrue();
        assertThat(bench.valid(Copy.PRIMARY, 1).ballot()).isGreaterThan(mine.ballot() + 1);
    }

    @Test
    void theValueAcceptedAtTheHighestBallotIsProposedAndDecidedForItsOwner() {
        Owner two = new Owner(2, 200);
        bench.putBoth(Bench.block(2, 200, 5, 1, 130, 130, two, LeaseState.ACCEPTED, Owner.NONE, 0));
        bench.putBoth(Bench.block(3, 300, 5, 1, 67, 67, new Owner(3, 300), LeaseState.ACCEPTED, Owner.NONE, 0));
        Bench.Node n = bench.new Node(1, 100);
        n.run(2 * T.diskIntervalMillis());
        assertThat(n.coordinator()).isFalse();
        assertThat(n.core.generation()).isEqualTo(1);
        assertThat(n.core.view(n.now).holder()).isEqualTo(two);
        LeaseBlock b = bench.valid(Copy.PRIMARY, 1);
        assertThat(b.state()).isEqualTo(LeaseState.COMMITTED);
        assertThat(b.value()).isEqualTo(two);
        assertThat(b.ballot()).isGreaterThan(130);
    }

    @Test
    void aBlockDamagedOnBothCopiesStopsEveryBallotButOnOneCopyItDoesNot() {
        bench.putBoth(Bench.block(3, 300, 1, 0, 0, 0, Owner.NONE, LeaseState.IDLE, Owner.NONE, 0));
        bench.damage(Copy.PRIMARY, 3);
        bench.damage(Copy.SHADOW, 3);
        Bench.Node n = bench.new Node(1, 100);
        n.run(5 * T.diskIntervalMillis());
        assertThat(n.coordinator()).isFalse();
        assertThat(n.events(LeaseEvent.BallotFailed.class)).first().satisfies(f -> {
            assertThat(f.kind()).isEqualTo("damaged");
            assertThat(f.reason()).contains("node 3 is damaged on both copies");
        });
        assertThat(n.events(LeaseEvent.BlockDamaged.class)).extracting(LeaseEvent.BlockDamaged::nodeId).containsOnly(3);
        bench.putBoth(Bench.block(3, 300, 1, 0, 0, 0, Owner.NONE, LeaseState.IDLE, Owner.NONE, 0));
        bench.damage(Copy.SHADOW, 3);
        n.run(5 * T.diskIntervalMillis());
        assertThat(n.coordinator()).isTrue();
    }

    @Test
    void aLiveTakeoverMakesTheHolderStopBelievingAndRelease() {
        Bench.Node n = acquired(1, 100);
        n.run(1000);
        long seq = bench.valid(Copy.PRIMARY, 1).seq();
        // Node 2 watched seq `seq` unchanged (say the holder's writes were lost) and prepares generation 2.
        bench.putBoth(Bench.block(2, 200, 3, 2, 130, 0, Owner.NONE, LeaseState.PREPARING, n.owner(), seq));
        n.run(T.diskIntervalMillis() + 10);
        assertThat(n.coordinator()).isFalse();
        assertThat(n.effects(LeaseEffect.CeasedCoordinator.class)).singleElement()
                .satisfies(c -> assertThat(c.reason()).contains("node 2 is taking over"));
        assertThat(bench.valid(Copy.SHADOW, 1).state()).isEqualTo(LeaseState.RELEASED);
        // It never believes in generation 1 again.
        n.run(2 * T.leaseTimeoutMillis());
        assertThat(n.effects(LeaseEffect.BecameCoordinator.class)).allMatch(b -> b.generation() != 1 || b == n.effects(
                LeaseEffect.BecameCoordinator.class).getFirst());
    }

    @Test
    void aDoomedTakeoverThatWatchedAnOlderRenewalDoesNotDisturbTheHolder() {
        Bench.Node n = acquired(1, 100);
        n.run(1000);
        long seq = bench.valid(Copy.PRIMARY, 1).seq();
        // Its target seq is older than a renewal that succeeded since: its phase-1 read must see a change.
        bench.putBoth(Bench.block(2, 200, 3, 2, 130, 0, Owner.NONE, LeaseState.PREPARING, n.owner(), seq - 2));
        n.run(2 * T.leaseTimeoutMillis());
        assertThat(n.coordinator()).isTrue();
        assertThat(n.effects(LeaseEffect.CeasedCoordinator.class)).isEmpty();
    }

    @Test
    void aBlockAboutALaterGenerationWhileHoldingIsABrokenInvariant() {
        Bench.Node n = acquired(1, 100);
        // Generation 2 decided for node 2 while node 1 still holds 1: only a broken drift bound allows it.
        bench.putBoth(Bench.block(2, 200, 9, 2, 130, 130, new Owner(2, 200), LeaseState.OWNER, n.owner(), 1));
        n.now += T.diskIntervalNanos();
        n.tick();
        assertThatThrownBy(n::pump).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("generation 2 was decided for node 2").hasMessageContaining("still holds generation 1");
    }

    @Test
    void oneGenerationDecidedForTwoOwnersIsABrokenInvariant() {
        bench.putBoth(Bench.block(2, 200, 1, 1, 66, 66, new Owner(2, 200), LeaseState.OWNER, Owner.NONE, 0));
        bench.putBoth(Bench.block(3, 300, 1, 1, 67, 67, new Owner(3, 300), LeaseState.OWNER, Owner.NONE, 0));
        Bench.Node n = bench.new Node(1, 100);
        n.tick();
        assertThatThrownBy(n::pump).isInstanceOf(IllegalStateException.class).hasMessageContaining("generation 1 decided twice");
    }

    @Test
    void aRestartedNodeKeepsWhatItsPredecessorAccepted() {
        Owner three = new Owner(3, 300);
        bench.putBoth(Bench.block(1, 90, 17, 4, 193, 129, three, LeaseState.ACCEPTED, new Owner(2, 200), 12));
        Bench.Node n = bench.new Node(1, 100);
        n.tick();
        n.pump();
        for (Copy c : Copy.values()) {
            LeaseBlock b = bench.valid(c, 1);
            assertThat(b.incarnation()).isEqualTo(100);
            assertThat(b.generation()).isEqualTo(4);
            assertThat(b.ballot()).isEqualTo(193);
            assertThat(b.acceptedBallot()).isEqualTo(129);
            assertThat(b.value()).isEqualTo(three);
            assertThat(b.state()).isEqualTo(LeaseState.IDLE);
        }
        // What it learned from its own old block: generation 3 was node 2's.
        assertThat(n.core.generation()).isEqualTo(3);
        assertThat(n.core.view(n.now).holder()).isEqualTo(new Owner(2, 200));
    }

    @Test
    void aNewerIncarnationInThisNodesBlockStopsTheCoreForGood() {
        Bench.Node n = acquired(1, 100);
        n.now += T.diskIntervalNanos();
        n.tick(); // a renewal: its writes land, then another daemon writes the block, then the read-back
        n.perform(n.pending.getFirst());
        n.perform(n.pending.getFirst());
        bench.putBoth(Bench.block(1, 101, 1, 0, 0, 0, Owner.NONE, LeaseState.IDLE, Owner.NONE, 0));
        n.pump();
        assertThat(n.coordinator()).isFalse();
        assertThat(n.events(LeaseEvent.Duplicate.class)).singleElement()
                .satisfies(d -> assertThat(d.detail()).contains("another daemon runs with node id 1"));
        assertThat(n.effects(LeaseEffect.CeasedCoordinator.class)).hasSize(1);
        assertThat(n.core.view(n.now).role()).isEqualTo(CoordinatorLease.Role.STOPPED);
        int before = n.effects.size();
        n.run(1000);
        assertThat(n.effects).hasSize(before);
    }

    @Test
    void aHungReadFailsAfterTheIoTimeoutAndNoSecondReadGoesToThatCopyUntilItCompletes() {
        Bench.Node n = bench.new Node(1, 100);
        n.tick();
        LeaseEffect.ReadBlocks primary = (LeaseEffect.ReadBlocks) n.pending.get(0);
        n.perform(n.pending.get(1)); // the shadow answers, the primary hangs
        for (long t = 0; t < T.ioTimeoutMillis() + T.diskIntervalMillis(); t += 20) {
            n.now += 20 * MS;
            n.tick();
            for (LeaseEffect e : List.copyOf(n.pending)) {
                if (e != primary) {
                    n.perform(e);
                }
            }
        }
        assertThat(n.effects(LeaseEffect.ReadBlocks.class)).filteredOn(r -> r.copy() == Copy.PRIMARY).hasSize(1);
        assertThat(n.effects(LeaseEffect.ReadBlocks.class)).filteredOn(r -> r.copy() == Copy.SHADOW).hasSizeGreaterThan(1);
        assertThat(n.core.stats().readFailures()).isGreaterThanOrEqualTo(1);
        assertThat(n.core.view(n.now).lastProblem()).contains("only one copy");
        n.perform(primary); // completes at last, far too late: a failure, and the copy is free again
        n.run(3 * T.diskIntervalMillis());
        assertThat(n.effects(LeaseEffect.ReadBlocks.class)).filteredOn(r -> r.copy() == Copy.PRIMARY).hasSizeGreaterThan(1);
        assertThat(n.coordinator()).isTrue();
    }

    @Test
    void aBallotNeedsBothCopies() {
        Bench.Node n = bench.new Node(1, 100);
        n.run(T.diskIntervalMillis());
        n.failing[1] = true;
        n.run(10 * T.diskIntervalMillis());
        assertThat(n.coordinator()).isFalse();
        assertThat(n.core.stats().ballotsWon()).isZero();
        n.failing[1] = false;
        n.run(5 * T.diskIntervalMillis());
        assertThat(n.coordinator()).isTrue();
    }

    @Test
    void theViewNamesTheHolderAndHowLongItsBlockHasBeenQuiet() {
        Bench.Node one = acquired(1, 100);
        Bench.Node two = bench.new Node(2, 200);
        Bench.run(1000, one, two);
        CoordinatorLease.View v = two.core.view(two.now);
        assertThat(v.role()).isEqualTo(CoordinatorLease.Role.FOLLOWER);
        assertThat(v.generation()).isEqualTo(1);
        assertThat(v.holder()).isEqualTo(one.owner());
        // The holder writes every interval: never quiet for longer than that.
        assertThat(v.holderState()).matches("unchanged on both copies for ([0-9]|[0-9][0-9]|1[0-9][0-9]) ms");
        two.run(1000); // the holder has stopped (only node 2 runs now)
        assertThat(two.core.view(two.now).holderState()).matches("unchanged on both copies for (9|10|11)[0-9][0-9] ms");
        assertThat(one.core.view(one.now).validForNanos()).isPositive();
    }
}
