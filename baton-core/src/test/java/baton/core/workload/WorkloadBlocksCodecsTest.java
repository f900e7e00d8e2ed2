package baton.core.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import baton.core.disk.ClusterKey;
import baton.core.disk.DiskLayout;
import baton.core.disk.SealedBlock;
import baton.core.disk.SlotRead;
import baton.core.fence.FenceRecordCodec;
import baton.core.fence.FenceRecordCodec.Read;
import baton.core.fence.OperatorRequest;
import baton.core.fence.OperatorRequest.Kind;
import java.nio.ByteBuffer;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The blocks operators' workload and node requests use: node settings, answers, and the request itself. */
class WorkloadBlocksCodecsTest {
    static final ClusterKey KEY = new ClusterKey(new byte[32]);
    static final ClusterKey OTHER_KEY = otherKey();
    static final UUID CLUSTER = new UUID(1, 2);

    static ClusterKey otherKey() {
        byte[] k = new byte[32];
        k[0] = 1;
        return new ClusterKey(k);
    }

    // ---------------------------------------------------------------- node settings

    final NodeSettings.Codec settingsCodec = new NodeSettings.Codec(CLUSTER, KEY);
    final NodeSettings settings = new NodeSettings(12, 4, 1_700_000_000_000L, 3, (1 << 1) | (1 << 31));

    @Test
    void nodeSettingsRoundTripAndSayWhichNodesAreInStandby() {
        byte[] block = settingsCodec.encode(settings);
        assertThat(block).hasSize(DiskLayout.BLOCK_SIZE_BYTES);
        String[] problem = new String[1];
        assertThat(settingsCodec.decode(block, 0, problem)).isEqualTo(settings);
        assertThat(problem[0]).isNull();
        assertThat(settings.standby(2)).isTrue();
        assertThat(settings.standby(32)).isTrue();
        assertThat(settings.standby(1)).isFalse();
        assertThat(settings.standby(3)).isFalse();
    }

    @Test
    void settingStandbyMakesANewerEpoch() {
        NodeSettings on = NodeSettings.NONE.withStandby(5, true, 2, 99, 1);
        assertThat(on).isEqualTo(new NodeSettings(1, 2, 99, 1, 1 << 4));
        NodeSettings off = on.withStandby(5, false, 2, 100, 1);
        assertThat(off.standby(5)).isFalse();
        assertThat(off.compareNewer(on)).isPositive();
        assertThat(on.compareNewer(off)).isNegative();
        // A later lease generation wins whatever its epoch: a deposed coordinator's late write loses.
        NodeSettings deposed = new NodeSettings(50, 1, 0, 2, 0);
        assertThat(on.compareNewer(deposed)).isPositive();
        assertThat(settingsCodec.decode(settingsCodec.encode(off), 0, new String[1])).isEqualTo(off);
    }

    @Test
    void anEmptySettingsBlockReadsAsNone() {
        String[] problem = new String[1];
        assertThat(settingsCodec.decode(new byte[4096], 0, problem)).isSameAs(NodeSettings.NONE);
        assertThat(problem[0]).isNull();
        assertThat(NodeSettings.NONE.standby(1)).isFalse();
    }

    @Test
    void settingsWrittenWithAnotherKeyOrOfAnotherClusterAreRejected() {
        String[] problem = new String[1];
        byte[] foreign = new NodeSettings.Codec(CLUSTER, OTHER_KEY).encode(settings);
        assertThat(settingsCodec.decode(foreign, 0, problem)).isNull();
        assertThat(problem[0]).startsWith("MAC");
        byte[] elsewhere = new NodeSettings.Codec(new UUID(9, 9), KEY).encode(settings);
        assertThat(settingsCodec.decode(elsewhere, 0, problem)).isNull();
        assertThat(problem[0]).startsWith("MISPLACED");
    }

    @Test
    void everyFlippedBitOfTheSettingsIsDetected() {
        byte[] good = settingsCodec.encode(settings);
        for (int bit = 0; bit < 100 * 8; bit++) {
            byte[] b = good.clone();
            b[bit / 8] ^= (byte) (1 << (bit % 8));
            String[] problem = new String[1];
            assertThat(settingsCodec.decode(b, 0, problem)).as("bit %d", bit).isNull();
            assertThat(problem[0]).as("bit %d", bit).isNotNull();
        }
        byte[] tail = good.clone();
        tail[4095] = 1;
        assertThat(settingsCodec.decode(tail, 0, new String[1])).isNull();
    }

    @Test
    void switchoverCheckpointAndSwitchBackBitsRoundTripWhereTheFormatSays() {
        NodeSettings s = NodeSettings.NONE.withSwitchover(3, true, 4, 5, 1).withSwitchover(32, false, 4, 6, 1).withResume(7, true, 4, 7, 1);
        assertThat(s.standby(3)).isTrue();
        assertThat(s.switchover(3)).isTrue();
        assertThat(s.checkpoint(3)).isTrue();
        assertThat(s.switchover(32)).isTrue();
        assertThat(s.checkpoint(32)).isFalse();
        assertThat(s.switchBack(7)).isTrue();
        assertThat(s.standby(7)).isFalse();
        byte[] b = settingsCodec.encode(s);
        assertThat(settingsCodec.decode(b, 0, new String[1])).isEqualTo(s);
        java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(b);
        assertThat(bb.getInt(48)).isEqualTo((1 << 2) | (1 << 31));
        assertThat(bb.getInt(52)).isEqualTo((1 << 2) | (1 << 31));
        assertThat(bb.getInt(56)).isEqualTo(1 << 2);
        assertThat(bb.getInt(60)).isEqualTo(1 << 6);
        // Plain standby off ends a switchover's maintenance; standby on keeps it.
        assertThat(s.withStandby(3, false, 4, 8, 1).switchover(3)).isFalse();
        assertThat(s.withStandby(3, true, 4, 8, 1).switchover(3)).isTrue();
    }

    // ---------------------------------------------------------------- operator answers

    final OperatorAnswer.Codec answerCodec = new OperatorAnswer.Codec(CLUSTER, KEY);
    final OperatorAnswer answer = new OperatorAnswer(4, 1_700_000_000_500L, false, 7, 1_700_000_000_900L,
            "node 9 cannot take web: node 1 up, node 9 standby");

    @Test
    void answersRoundTripInOneSector() {
        byte[] sector = answerCodec.encode(answer);
        assertThat(sector).hasSize(SealedBlock.SECTOR_BYTES);
        assertThat(answerCodec.decode(sector, 0, 4)).isEqualTo(answer);
        OperatorAnswer done = new OperatorAnswer(4, 2, true, 7, 3, "");
        assertThat(answerCodec.decode(answerCodec.encode(done), 0, 4)).isEqualTo(done);
        assertThat(OperatorAnswer.Codec.perBlock()).isEqualTo(8);
    }

    @Test
    void answersSitAtTheirRequestersSectorOfABlock() {
        byte[] block = new byte[4096];
        for (int requester = 1; requester <= 8; requester++) {
            OperatorAnswer a = new OperatorAnswer(requester, requester * 10L, requester % 2 == 0, 1, 0, "answer " + requester);
            System.arraycopy(answerCodec.encode(a), 0, block, (requester - 1) * 512, 512);
        }
        for (int requester = 1; requester <= 8; requester++) {
            assertThat(answerCodec.decode(block, (requester - 1) * 512, requester).text()).isEqualTo("answer " + requester);
        }
        assertThat(answerCodec.decode(block, 0, 2)).as("another requester's sector").isNull();
    }

    @Test
    void anEmptyForeignOrDamagedAnswerReadsAsNull() {
        assertThat(answerCodec.decode(new byte[512], 0, 4)).isNull();
        assertThat(answerCodec.decode(new OperatorAnswer.Codec(CLUSTER, OTHER_KEY).encode(answer), 0, 4)).isNull();
        byte[] good = answerCodec.encode(answer);
        for (int bit = 0; bit < 396 * 8; bit++) {
            byte[] b = good.clone();
            b[bit / 8] ^= (byte) (1 << (bit % 8));
            assertThat(answerCodec.decode(b, 0, 4)).as("bit %d", bit).isNull();
        }
    }

    @Test
    void aLongAnswerIsCutAtACharacterBoundary() {
        OperatorAnswer longer = new OperatorAnswer(4, 1, false, 1, 0, "é".repeat(200)); // 400 bytes
        assertThat(answerCodec.decode(answerCodec.encode(longer), 0, 4).text()).isEqualTo("é".repeat(150));
    }

    @Test
    void anAnswerWithAnUnknownOutcomeIsRejected() {
        byte[] b = answerCodec.encode(answer);
        b[32] = 3;
        reseal(b, OperatorAnswer.Codec.MAC_OFFSET);
        assertThat(answerCodec.decode(b, 0, 4)).isNull();
    }

    // ---------------------------------------------------------------- operator requests

    final FenceRecordCodec requestCodec = new FenceRecordCodec(CLUSTER, KEY);

    @Test
    void workloadAndNodeRequestsRoundTrip() {
        for (Kind kind : Kind.values()) {
            int target = kind == Kind.RELOCATE || kind.workload() ? 0 : 6;
            int workload = kind.workload() ? DiskLayout.MAX_WORKLOADS : 0;
            var r = new OperatorRequest(2, 1_700_000_000_500L, kind, target, kind.fence() ? 11 : 0, 1_700_000_000_501L,
                    kind.label + " by an operator", workload);
            assertThat(requestCodec.decodeRequest(requestCodec.encode(r), 0, 2)).as("%s", kind).isEqualTo(new Read.Valid<>(r));
            assertThat(Kind.ofCode(kind.code)).isEqualTo(kind);
        }
        var to = new OperatorRequest(2, 5, Kind.RELOCATE, 3, 0, 5, "move", 9);
        assertThat(requestCodec.decodeRequest(requestCodec.encode(to), 0, 2)).isEqualTo(new Read.Valid<>(to));
        assertThat(Kind.ofCode(0)).isNull();
        assertThat(Kind.ofCode(17)).isNull();
    }

    @Test
    void theWorkloadIdLiesAtBytes182And183() {
        byte[] b = requestCodec.encode(new OperatorRequest(2, 5, Kind.STOP, 0, 0, 5, "", 248));
        assertThat(b[182]).isZero();
        assertThat(b[183]).isEqualTo((byte) 248);
        assertThat(b[32]).isEqualTo((byte) Kind.STOP.code);
    }

    @Test
    void kindsAreClassified() {
        assertThat(Kind.values()).filteredOn(Kind::workload)
                .containsExactly(Kind.START, Kind.STOP, Kind.RESTART, Kind.RELOCATE, Kind.FREEZE, Kind.UNFREEZE, Kind.MIGRATE,
                        Kind.MIGRATE_CHECKPOINT);
        assertThat(Kind.values()).filteredOn(Kind::fence).containsExactly(Kind.FENCE, Kind.CONFIRM);
    }

    @Test
    void requestsAreValidated() {
        // A workload request needs a workload id, and any other request must not carry one.
        assertThatThrownBy(() -> new OperatorRequest(2, 5, Kind.START, 0, 0, 5, "", 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new OperatorRequest(2, 5, Kind.FENCE, 3, 0, 5, "", 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new OperatorRequest(2, 5, Kind.STANDBY, 3, 0, 5, "", 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new OperatorRequest(2, 5, Kind.STOP, 0, 0, 5, "", DiskLayout.MAX_WORKLOADS + 1))
                .isInstanceOf(IllegalArgumentException.class);
        // A negative id would be written as 65535 and read back as a workload request id: refused at once.
        assertThatThrownBy(() -> new OperatorRequest(2, 5, Kind.FENCE, 3, 0, 5, "", -1)).isInstanceOf(IllegalArgumentException.class);
        // Fence and node requests need a target.
        for (Kind k : new Kind[] {Kind.FENCE, Kind.CONFIRM, Kind.STANDBY, Kind.UNSTANDBY, Kind.SWITCHOVER, Kind.SWITCHOVER_CHECKPOINT,
                Kind.RESUME, Kind.RESUME_SWITCH_BACK}) {
            assertThatThrownBy(() -> new OperatorRequest(2, 5, k, 0, 0, 5, "")).as("%s", k).isInstanceOf(IllegalArgumentException.class);
            assertThat(new OperatorRequest(2, 5, k, 3, 0, 5, "").targetId()).isEqualTo(3);
        }
        // Workload requests may leave the node to the coordinator.
        for (Kind k : new Kind[] {Kind.START, Kind.STOP, Kind.RESTART, Kind.RELOCATE, Kind.FREEZE, Kind.UNFREEZE, Kind.MIGRATE,
                Kind.MIGRATE_CHECKPOINT}) {
            assertThat(new OperatorRequest(2, 5, k, 0, 0, 5, "", 1).targetId()).as("%s", k).isZero();
        }
        assertThatThrownBy(() -> new OperatorRequest(2, 0, Kind.STOP, 0, 0, 5, "", 1)).as("seq").isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new OperatorRequest(0, 5, Kind.STOP, 0, 0, 5, "", 1)).as("requester").isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new OperatorRequest(2, 5, Kind.STOP, 33, 0, 5, "", 1)).as("target").isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new OperatorRequest(2, 5, null, 3, 0, 5, "", 0)).as("kind").isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new OperatorRequest(2, 5, Kind.STOP, 0, 0, 5, null, 1)).as("reason").isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aWellSealedRequestThatBreaksTheRulesIsAFormatProblem() {
        // A workload request whose workload id was left zero, sealed with the right key.
        byte[] b = requestCodec.encode(new OperatorRequest(2, 5, Kind.STOP, 0, 0, 5, "", 7));
        ByteBuffer.wrap(b).putShort(182, (short) 0);
        reseal(b, 184);
        assertThat(requestCodec.decodeRequest(b, 0, 2)).isInstanceOfSatisfying(Read.Invalid.class,
                i -> assertThat(i.problem()).isEqualTo(SlotRead.Problem.FORMAT));
        // An unknown kind.
        byte[] k = requestCodec.encode(new OperatorRequest(2, 5, Kind.STOP, 0, 0, 5, "", 7));
        k[32] = 17;
        reseal(k, 184);
        assertThat(requestCodec.decodeRequest(k, 0, 2)).isInstanceOfSatisfying(Read.Invalid.class,
                i -> assertThat(i.problem()).isEqualTo(SlotRead.Problem.FORMAT));
    }

    @Test
    void everyFlippedBitOfAWorkloadRequestIsDetectedAndAWrongKeyIsAMacProblem() {
        byte[] good = requestCodec.encode(new OperatorRequest(2, 5, Kind.RELOCATE, 4, 0, 5, "balance the rack", 17));
        for (int bit = 0; bit < 220 * 8; bit++) {
            byte[] b = good.clone();
            b[bit / 8] ^= (byte) (1 << (bit % 8));
            assertThat(requestCodec.decodeRequest(b, 0, 2)).as("bit %d", bit).isInstanceOf(Read.Invalid.class);
        }
        byte[] foreign = new FenceRecordCodec(CLUSTER, OTHER_KEY).encode(new OperatorRequest(2, 5, Kind.STOP, 0, 0, 5, "", 17));
        assertThat(requestCodec.decodeRequest(foreign, 0, 2)).isInstanceOfSatisfying(Read.Invalid.class,
                i -> assertThat(i.problem()).isEqualTo(SlotRead.Problem.MAC));
        assertThat(requestCodec.decodeRequest(new byte[4096], 0, 2)).isInstanceOf(Read.Empty.class);
    }

    /** Recomputes the MAC at {@code macOffset} and the CRC after it, for a block a test edited. */
    static void reseal(byte[] block, int macOffset) {
        System.arraycopy(KEY.mac(block, 0, macOffset), 0, block, macOffset, ClusterKey.MAC_BYTES);
        int crcAt = macOffset + ClusterKey.MAC_BYTES;
        ByteBuffer.wrap(block).putInt(crcAt, baton.core.disk.BlockBytes.crc32c(block, 0, crcAt));
    }
}
