package baton.it;

import static org.assertj.core.api.Assertions.assertThat;

import baton.core.disk.Copy;
import baton.core.disk.DiskLayout;
import baton.core.disk.SlotCodec;
import baton.core.disk.SlotRead;
import baton.lab.Corruption;
import baton.lab.ExecResult;
import baton.lab.LoopDevice;
import baton.runtime.config.ConfigLoader;
import baton.runtime.disk.DiskSnapshot;
import baton.runtime.disk.QuorumDisk;
import baton.runtime.node.ExitStatus;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The quorum disk with real node processes in real network namespaces, on a real file and on
 * real loop devices.
 */
class QuorumDiskIT {
    static final ObjectMapper JSON = new ObjectMapper();

    /** Where the cluster's quorum disk lives. */
    enum Backend {
        /** One regular file holding both copies. */
        FILE,
        /** Two backing files, and on each node its own two loop devices over them (like a per-host multipath name). */
        LOOP
    }

    /** Sets up the disk for every node of {@code c} and initialises it. */
    static LoopDevice[][] disk(Cluster c, Backend backend) throws Exception {
        LoopDevice[][] loops = new LoopDevice[c.size + 1][];
        switch (backend) {
            case FILE -> c.configureAll(c.dir.resolve("quorum.img").toString(), null);
            case LOOP -> {
                Path primary = c.dir.resolve("primary.img");
                Path shadow = c.dir.resolve("shadow.img");
                Files.write(primary, new byte[(int) DiskLayout.REGION_SIZE_BYTES]);
                Files.write(shadow, new byte[(int) DiskLayout.REGION_SIZE_BYTES]);
                for (int i = 1; i <= c.size; i++) {
                    LoopDevice p = c.lab.loopDevice(primary, true);
                    LoopDevice s = c.lab.loopDevice(shadow, true);
                    loops[i] = new LoopDevice[] {p, s};
                    c.configure(i, p.path().toString(), s.path().toString());
                }
            }
        }
        ExecResult init = c.baton(1, "disk", "init", "--config", c.config(1).toString());
        assertThat(init.exitCode()).as(init.describe()).isZero();
        return loops;
    }

    static JsonNode status(Cluster c, int fromNode) throws Exception {
        ExecResult r = c.baton(fromNode, "status", "--disk", "--json", "--config", c.config(fromNode).toString());
        assertThat(r.exitCode()).as(r.describe()).isZero();
        return JSON.readTree(r.stdout());
    }

    static String liveness(JsonNode status, int node) {
        return status.get("nodes").get(node - 1).get("disk").asText();
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void threeNodesSeeEachOtherFreshAndAKilledNodeStale(Backend backend) throws Exception {
        try (Cluster c = new Cluster(3)) {
            disk(c, backend);
            c.startAllAndAwaitJoin();
            for (int reader = 1; reader <= 3; reader++) {
                for (int peer = 1; peer <= 3; peer++) {
                    assertThat(c.awaitPattern(reader, "peer=node-" + peer + " peer-id=" + peer + " from=[a-z]+ to=fresh"))
                            .as("node-%d sees node-%d fresh:\n%s", reader, peer, c.daemon(reader).log()).isTrue();
                }
            }
            JsonNode st = status(c, 2);
            for (int i = 1; i <= 3; i++) {
                assertThat(liveness(st, i)).as("status of node-%d: %s", i, st).isEqualTo("fresh");
            }
            c.daemon(3).kill9();
            assertThat(c.awaitPattern(1, "peer=node-3 peer-id=3 from=[a-z]+ to=stale"))
                    .as(c.daemon(1).log()).isTrue();
            assertThat(liveness(status(c, 2), 3)).isEqualTo("stale");
            assertThat(c.daemon(1).isAlive()).isTrue();
        }
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void aFlippedByteInAPrimarySlotIsRepairedFromTheShadow(Backend backend) throws Exception {
        try (Cluster c = new Cluster(3)) {
            disk(c, backend);
            c.startAllAndAwaitJoin();
            c.daemon(2).sigstop(); // nobody rewrites node-2's slot now except the repairers
            Path file = backend == Backend.FILE ? c.dir.resolve("quorum.img") : c.dir.resolve("primary.img");
            Corruption.flipByte(file, DiskLayout.slotOffsetBytes(2) + 35);
            boolean repaired = c.daemon(1).awaitLog("event=slot-repaired copy=primary node=2", Cluster.WAIT)
                    || c.daemon(3).awaitLog("event=slot-repaired copy=primary node=2", Duration.ofSeconds(1));
            assertThat(repaired).as("node-1:\n%s\nnode-3:\n%s", c.daemon(1).log(), c.daemon(3).log()).isTrue();
            try (QuorumDisk disk = QuorumDisk.open(ConfigLoader.load(c.config(1)).quorumDisk(), false)) {
                var header = disk.verify("lab", c.key(), false).header();
                DiskSnapshot snap = DiskSnapshot.take(disk, new SlotCodec(header.clusterId(), c.key()), 3);
                assertThat(snap.slots().get(1).primary()).isInstanceOf(SlotRead.Valid.class);
                assertThat(snap.slots().get(1).primary()).isEqualTo(snap.slots().get(1).shadow());
            }
            c.daemon(2).sigcont();
            ExecResult check = c.baton(1, "disk", "check", "--config", c.config(1).toString());
            assertThat(check.exitCode()).as(check.describe()).isZero();
            ExecResult json = c.baton(1, "disk", "check", "--json", "--config", c.config(1).toString());
            assertThat(json.exitCode()).as(json.describe()).isZero();
            assertThat(json.stdout().strip()).isEqualTo("{\"ok\":true,\"problems\":[]}");
        }
    }

    @Test
    void aReadOnlyPrimaryRaisesTheDegradedAlarmAndTheNodeStaysAMember() throws Exception {
        try (Cluster c = new Cluster(3)) {
            LoopDevice[][] loops = disk(c, Backend.LOOP);
            c.startAllAndAwaitJoin();
            loops[2][Copy.PRIMARY.ordinal()].setReadOnly(true);
            assertThat(c.daemon(2).awaitLog("event=disk-copy copy=primary healthy=false degraded=true", Cluster.WAIT))
                    .as(c.daemon(2).log()).isTrue();
            assertThat(c.daemon(2).log()).contains("alarm=degraded-quorum-disk");
            // Still a member, still fresh for the others, flagged degraded on the disk.
            JsonNode st = status(c, 1);
            assertThat(liveness(st, 2)).isEqualTo("fresh");
            assertThat(st.get("nodes").get(1).get("degradedDisk").asBoolean()).isTrue();
            assertThat(c.daemon(2).isAlive()).isTrue();
            loops[2][Copy.PRIMARY.ordinal()].setReadOnly(false);
            assertThat(c.daemon(2).awaitLog("event=disk-copy copy=primary healthy=true", Cluster.WAIT)).as(c.daemon(2).log()).isTrue();
        }
    }

    @Test
    void aNodeThatLosesBothCopiesLeavesWithItsOwnStatusAndTheOthersStay() throws Exception {
        try (Cluster c = new Cluster(3)) {
            LoopDevice[][] loops = disk(c, Backend.LOOP);
            c.startAllAndAwaitJoin();
            loops[3][0].setReadOnly(true);
            loops[3][1].setReadOnly(true);
            assertThat(c.daemon(3).waitFor(Cluster.WAIT)).as(c.daemon(3).log()).isEqualTo(ExitStatus.LOST_DISK);
            assertThat(c.daemon(3).log()).contains("event=exit reason=lost-disk status=6").contains("could write neither copy");
            assertThat(c.daemon(3).log()).contains("event=workloads-stopped");
            assertThat(c.awaitPattern(1, "peer=node-3 peer-id=3 from=[a-z]+ to=stale")).as(c.daemon(1).log()).isTrue();
            assertThat(c.daemon(1).isAlive()).isTrue();
            assertThat(c.daemon(2).isAlive()).isTrue();
            assertThat(liveness(status(c, 1), 1)).isEqualTo("fresh");
        }
    }

    @Test
    void aNodeStartedAgainstAnUnwritableDiskRefusesToJoin() throws Exception {
        try (Cluster c = new Cluster(3)) {
            LoopDevice[][] loops = disk(c, Backend.LOOP);
            c.start(1);
            c.start(2);
            loops[3][0].setReadOnly(true);
            loops[3][1].setReadOnly(true);
            var p = c.start(3);
            assertThat(p.waitFor(Cluster.WAIT)).as(p.log()).isEqualTo(ExitStatus.JOIN_REFUSED);
            assertThat(p.log()).contains("join-refused");
            assertThat(c.daemon(1).awaitLog("event=joined", Cluster.WAIT)).isTrue();
            assertThat(c.daemon(1).isAlive()).isTrue();
        }
    }

    @Test
    void diskInitOverAnotherClustersDiskIsRefusedAndWritesNothing() throws Exception {
        try (Cluster c = new Cluster(1)) {
            disk(c, Backend.FILE);
            Path file = c.dir.resolve("quorum.img");
            String before = sha(file);
            Path other = c.dir.resolve("other.yaml");
            Files.writeString(other, Files.readString(c.config(1)).replace("name: lab", "name: other-cluster"));
            ExecResult r = c.baton(1, "disk", "init", "--config", other.toString());
            assertThat(r.exitCode()).as(r.describe()).isEqualTo(ExitStatus.DISK_REFUSED);
            assertThat(r.stderr()).contains("refusing to initialise").contains("'lab'").contains("--force");
            assertThat(sha(file)).isEqualTo(before);
            // And a node of the other cluster refuses to run on it.
            var p = c.lab.node(1).start(Cluster.java("node", "run", "--config", other.toString(), "--node", "node-1"),
                    c.dir.resolve("other.log"), java.util.Map.of());
            assertThat(p.waitFor(Cluster.WAIT)).as(p.log()).isEqualTo(ExitStatus.DISK_REFUSED);
            assertThat(p.log()).contains("belongs to cluster 'lab'");
            assertThat(sha(file)).isEqualTo(before);
        }
    }

    @Test
    void sigtermLeavesCleanlyAndOthersSeeLeftNotStale() throws Exception {
        try (Cluster c = new Cluster(2)) {
            disk(c, Backend.FILE);
            c.startAllAndAwaitJoin();
            assertThat(c.awaitPattern(1, "peer=node-2 peer-id=2 from=[a-z]+ to=fresh")).as(c.daemon(1).log()).isTrue();
            c.daemon(2).sigterm();
            c.daemon(2).waitFor(Cluster.WAIT);
            assertThat(c.daemon(2).log()).contains("event=exit reason=left status=0");
            assertThat(c.awaitPattern(1, "peer=node-2 peer-id=2 from=[a-z]+ to=left")).as(c.daemon(1).log()).isTrue();
            assertThat(c.daemon(1).log()).doesNotContainPattern("peer=node-2 peer-id=2 from=[a-z]+ to=stale");
            assertThat(liveness(status(c, 1), 2)).isEqualTo("left");
        }
    }

    static String sha(Path file) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }
}
