package baton.core.lease;

import static org.assertj.core.api.Assertions.assertThat;

import baton.core.disk.Copy;
import org.junit.jupiter.api.Test;

/** The takeover rule's evidence: bytes unchanged between a read's completion and a later read's issue. */
class OwnerWatchTest {
    final Bench bench = new Bench();
    final Owner owner = new Owner(2, 200);
    final OwnerWatch watch = new OwnerWatch();

    void see(long issued, long done) {
        for (Copy c : Copy.values()) {
            watch.observe(c, bench.area[c.ordinal()], LeaseLayout.areaOffsetOfNode(2), bench.block(c, 2), issued, done);
        }
    }

    LeaseBlock renewal(long seq) {
        return Bench.block(2, 200, seq, 5, 66, 66, owner, LeaseState.OWNER, new Owner(1, 100), 3);
    }

    @Test
    void quietIsMeasuredFromTheCompletionThatFirstShowedTheBytesToTheIssueOfTheLatestReadStillShowingThem() {
        watch.reset(owner, 5);
        bench.putBoth(renewal(7));
        see(100, 150);
        assertThat(watch.quietNanos()).isNegative();
        see(1_000, 1_010);
        assertThat(watch.quietNanos()).isEqualTo(850);
        assertThat(watch.targetSeq()).isEqualTo(7);
        bench.put(Copy.SHADOW, renewal(8)); // a write reached one copy: that copy starts over
        see(2_000, 2_020);
        assertThat(watch.quietNanos()).isEqualTo(-20);
        assertThat(watch.targetSeq()).isEqualTo(8);
        assertThat(watch.released()).isFalse();
    }

    @Test
    void damageThatNobodyOverwritesIsNoSignOfLife() {
        watch.reset(owner, 5);
        bench.putBoth(renewal(7));
        bench.damage(Copy.PRIMARY, 2);
        see(100, 150);
        see(5_000, 5_001);
        assertThat(watch.quietNanos()).isEqualTo(4_850);
        assertThat(watch.targetSeq()).isEqualTo(7);
    }

    @Test
    void aNewerIncarnationIsOneValueHoweverOftenItWrites() {
        watch.reset(owner, 5);
        bench.putBoth(Bench.block(2, 201, 1, 5, 66, 66, owner, LeaseState.COMMITTED, new Owner(1, 100), 3));
        see(100, 150);
        bench.putBoth(Bench.block(2, 201, 2, 5, 66, 66, owner, LeaseState.COMMITTED, new Owner(1, 100), 3));
        see(4_000, 4_010);
        assertThat(watch.quietNanos()).isEqualTo(3_850);
        assertThat(watch.released()).isFalse();
        assertThat(watch.targetSeq()).isEqualTo(LeaseBlock.UNKNOWN_SEQ);
    }

    @Test
    void theOwnersReleaseOrMoveToALaterGenerationIsARelease() {
        watch.reset(owner, 5);
        bench.putBoth(renewal(7).released());
        see(100, 150);
        assertThat(watch.released()).isTrue();
        watch.reset(owner, 5);
        bench.putBoth(Bench.block(2, 200, 9, 6, 130, 0, Owner.NONE, LeaseState.PREPARING, owner, 8));
        see(200, 250);
        assertThat(watch.released()).isTrue();
        assertThat(watch.describe()).isEqualTo("released by its owner");
    }
}
