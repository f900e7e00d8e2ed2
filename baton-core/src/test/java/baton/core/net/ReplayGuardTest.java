package baton.core.net;

import static baton.core.net.HeartbeatCodecTest.beat;
import static baton.core.net.HeartbeatCodecTest.node;
import static org.assertj.core.api.Assertions.assertThat;

import baton.core.disk.ClusterKey;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Freshness at a receiver, through the codec and the guard as the shell uses them: node 2
 * of a 3-node, 2-ring cluster receives from node 1.
 */
class ReplayGuardTest {
    final HeartbeatCodec sender = node(1);
    final HeartbeatCodec receiver = node(2);
    final ReplayGuard guard = new ReplayGuard(2);

    BeatVerdict receive(byte[] packet, int ring) {
        return guard.admit(receiver.decode(packet, packet.length, ring, 1));
    }

    BeatVerdict send(int ring, long incarnation, long seq) {
        return receive(beat(sender, ring, incarnation, seq), ring);
    }

    static BeatVerdict accepted(int ring, long incarnation, long seq) {
        return new BeatVerdict.Accepted(new Beat(ring, 1, incarnation, seq));
    }

    static BeatVerdict dropped(DropReason reason) {
        return new BeatVerdict.Dropped(reason);
    }

    @Test
    void aReplayedBeatIsDropped() {
        byte[] packet = beat(sender, 0, 5, 1);
        assertThat(receive(packet, 0)).isEqualTo(accepted(0, 5, 1));
        assertThat(receive(packet, 0)).isEqualTo(dropped(DropReason.REPLAYED));
        assertThat(receive(packet, 0)).isEqualTo(dropped(DropReason.REPLAYED));
    }

    @Test
    void aReorderedBeatWithinTheWindowIsAcceptedOnce() {
        byte[] three = beat(sender, 0, 5, 3);
        assertThat(send(0, 5, 1)).isEqualTo(accepted(0, 5, 1));
        assertThat(send(0, 5, 4)).isEqualTo(accepted(0, 5, 4));
        assertThat(receive(three, 0)).isEqualTo(accepted(0, 5, 3));
        assertThat(receive(three, 0)).isEqualTo(dropped(DropReason.REPLAYED));
        assertThat(send(0, 5, 2)).isEqualTo(accepted(0, 5, 2));
    }

    @Test
    void aBeatOlderThanTheWindowIsDropped() {
        byte[] old = beat(sender, 0, 5, 10);
        assertThat(send(0, 5, 10 + ReplayWindow.SIZE)).isEqualTo(accepted(0, 5, 10 + ReplayWindow.SIZE));
        assertThat(receive(old, 0)).isEqualTo(dropped(DropReason.TOO_OLD));
    }

    @Test
    void eachRingHasItsOwnWindow() {
        // The sender puts the same number on every ring in one tick.
        assertThat(send(0, 5, 1)).isEqualTo(accepted(0, 5, 1));
        assertThat(send(1, 5, 1)).isEqualTo(accepted(1, 5, 1));
        assertThat(send(1, 5, 1)).isEqualTo(dropped(DropReason.REPLAYED));
    }

    @Test
    void anOlderIncarnationIsAReplayOnEveryRing() {
        byte[] oldOnRing1 = beat(sender, 1, 5, 900); // captured, never delivered
        assertThat(send(0, 5, 900)).isEqualTo(accepted(0, 5, 900));
        // The sender rejoins with a new incarnation; numbers start at 1 again.
        assertThat(send(0, 6, 1)).isEqualTo(accepted(0, 6, 1));
        assertThat(send(0, 5, 901)).isEqualTo(dropped(DropReason.OLD_INCARNATION));
        // Ring 1 has heard nothing yet, but the sender's newest incarnation is known.
        assertThat(receive(oldOnRing1, 1)).isEqualTo(dropped(DropReason.OLD_INCARNATION));
        assertThat(send(1, 6, 1)).isEqualTo(accepted(1, 6, 1));
        assertThat(guard.newestIncarnation(1)).isEqualTo(6);
    }

    @Test
    void aNewIncarnationStartsAFreshWindow() {
        assertThat(send(0, 5, 1000)).isEqualTo(accepted(0, 5, 1000));
        assertThat(send(0, 6, 1)).isEqualTo(accepted(0, 6, 1));
        assertThat(send(0, 6, 2)).isEqualTo(accepted(0, 6, 2));
        assertThat(send(0, 6, 1)).isEqualTo(dropped(DropReason.REPLAYED));
    }

    @Test
    void aForgedBeatChangesNothing() {
        // A forgery with a huge incarnation must not lock the real sender out.
        byte[] otherKey = HeartbeatCodecTest.KEY_BYTES.clone();
        otherKey[0] ^= 1;
        HeartbeatCodec forger = new HeartbeatCodec(HeartbeatCodecTest.CLUSTER, new ClusterKey(otherKey), 1, 2,
                Set.of(1, 2, 3));
        assertThat(receive(beat(forger, 0, Long.MAX_VALUE, Long.MAX_VALUE), 0)).isEqualTo(dropped(DropReason.FORGED));
        assertThat(guard.newestIncarnation(1)).isZero();
        assertThat(send(0, 5, 1)).isEqualTo(accepted(0, 5, 1));
    }

    @Test
    void rejectionsPassThroughAsDrops() {
        byte[] packet = beat(sender, 0, 5, 1);
        assertThat(guard.admit(receiver.decode(packet, packet.length, 0, 3))).isEqualTo(dropped(DropReason.WRONG_SOURCE));
        // ... and did not use up the number: the genuine beat from the right source is accepted.
        assertThat(receive(packet, 0)).isEqualTo(accepted(0, 5, 1));
    }
}
