package baton.it;

import static org.assertj.core.api.Assertions.assertThat;

import baton.cli.PowerLab;
import baton.cli.PowerLab.Power;
import baton.core.disk.DiskLayout;
import baton.lab.ExecResult;
import baton.lab.LoopDevice;
import baton.lab.bmc.PowerStatus;
import baton.runtime.node.ExitStatus;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Fencing with real parts: each lab node's daemon is the "machine" of a real BMC simulator in
 * its host (OpenIPMI's ipmi_sim, or the lab's Redfish BMC); the coordinator fences through the
 * real fence_ipmilan and fence_redfish over the lab network, records on the quorum disk, and the
 * operator's commands reach it through the disk.
 */
class FencingIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Duration FENCE_WAIT = Duration.ofSeconds(60);
    /** Monitor every 4 s so that the watch's alarms come within the tests' waits. */
    static final String FAST_MONITOR = "monitorIntervalMillis: 4000\nmonitorTimeoutMillis: 3000";

    /** A cluster of {@code size} nodes with BMCs, set up by {@code setup}, started on one quorum disk file. */
    static void withCluster(int size, Consumer<PowerLab> setup, ClusterTest test) throws Exception {
        try (Cluster c = new Cluster(size); PowerLab p = new PowerLab(c.cluster)) {
            p.fencing(FAST_MONITOR);
            setup.accept(p);
            p.start(c.dir.resolve("quorum.img").toString(), null);
            test.run(c, p);
        }
    }

    interface ClusterTest {
        void run(Cluster c, PowerLab p) throws Exception;
    }

    /** A node other than the coordinator and {@code not}. */
    static int victimOtherThan(int coordinator, int size) {
        for (int i = size; i >= 1; i--) {
            if (i != coordinator) {
                return i;
            }
        }
        throw new IllegalStateException();
    }

    static String peer(int id) {
        return "peer=node-" + id + " peer-id=" + id;
    }

    static JsonNode batonJson(Cluster c, int on, String... args) throws Exception {
        ExecResult r = c.baton(on, args);
        assertThat(r.exitCode()).as(r.describe()).isZero();
        return JSON.readTree(r.stdout());
    }

    static JsonNode lastRecord(Cluster c, int on, int node) throws Exception {
        JsonNode history = batonJson(c, on, "fence", "history", "--json", "--config", c.config(on).toString());
        JsonNode last = null;
        for (JsonNode r : history) {
            if (r.path("nodeId").asInt() == node) {
                last = r;
            }
        }
        return last;
    }

    @Test
    void aKilledNodeIsFencedThroughItsBmcAndTheFenceIsRecordedOnTheQuorumDisk() throws Exception {
        withCluster(3, p -> { }, (c, p) -> {
            int coordinator = p.awaitCoordinator();
            assertThat(coordinator).isPositive();
            int victim = victimOtherThan(coordinator, 3);
            // Every node watches the others' switches: all answer.
            assertThat(p.await(coordinator, "event=fence-device-changed device=ipmi-" + victim + " from=unknown to=ok", FENCE_WAIT))
                    .as(p.log(coordinator)).isTrue();
            ProcessHandle.of(p.daemonPid(victim).orElseThrow()).orElseThrow().destroyForcibly(); // kill -9
            assertThat(p.await(coordinator, peer(victim) + " from=down to=fenced", FENCE_WAIT)).as(p.log(coordinator)).isTrue();
            assertThat(p.ipmiBmc(victim).powerStatus()).isEqualTo(PowerStatus.OFF);
            String log = p.log(coordinator);
            // Fenced only after it was down, through the device that confirmed it off, never with the password.
            var down = Pattern.compile(peer(victim) + " from=[a-z-]+ to=down ").matcher(log);
            assertThat(down.find()).isTrue();
            assertThat(down.start()).isLessThan(log.indexOf("event=fenced " + peer(victim)));
            assertThat(log).containsPattern("event=fenced " + peer(victim)
                    + " incarnation=\\d+ generation=\\d+ how=\"level 1: ipmi-" + victim + " confirmed off\"");
            assertThat(log).doesNotContain(PowerLab.PASSWORD);
            // The record on the quorum disk, readable from any node.
            JsonNode record = lastRecord(c, victimOtherThan(victim, 3), victim);
            assertThat(record.path("state").asText()).isEqualTo("fenced");
            assertThat(record.path("coordinatorId").asInt()).isEqualTo(coordinator);
            assertThat(record.path("text").asText()).isEqualTo("level 1: ipmi-" + victim + " confirmed off");
            JsonNode status = batonJson(c, coordinator, "fence", "status", "--json", "--config", c.config(coordinator).toString(),
                    "--run-dir", c.runDir().toString(), "--node", "node-" + coordinator);
            assertThat(status.path("nodes").get(victim - 1).path("lastRecord").path("state").asText()).isEqualTo("fenced");
            assertThat(status.path("devices").toString()).contains("\"name\":\"ipmi-" + victim + "\"");
        });
    }

    @Test
    void aHungNodeIsFencedAndItsProcessIsGone() throws Exception {
        withCluster(3, p -> { }, (c, p) -> {
            int coordinator = p.awaitCoordinator();
            int victim = victimOtherThan(coordinator, 3);
            long pid = p.daemonPid(victim).orElseThrow();
            assertThat(c.host(victim).run(Duration.ofSeconds(5), "kill", "-STOP", Long.toString(pid)).exitCode()).isZero();
            assertThat(p.await(coordinator, peer(victim) + " from=down to=fenced", FENCE_WAIT)).as(p.log(coordinator)).isTrue();
            assertThat(baton.lab.Poll.until(Duration.ofSeconds(10), () -> ProcessHandle.of(pid).isEmpty())).isTrue();
            assertThat(p.ipmiBmc(victim).powerStatus()).isEqualTo(PowerStatus.OFF);
        });
    }

    /** Applies {@code each} to every node: the scenarios are symmetric, so whichever node becomes coordinator does. */
    static Consumer<PowerLab> all(int size, java.util.function.BiConsumer<PowerLab, Integer> each) {
        return p -> {
            for (int i = 1; i <= size; i++) {
                each.accept(p, i);
            }
        };
    }

    @Test
    void aWrongPasswordOnLevelOneFallsToRedfishOnLevelTwo() throws Exception {
        withCluster(3, all(3, (p, i) -> p.power(i, Power.REDFISH).wrongIpmiPassword(i).levels(i, "[[ipmi-" + i + "], [redfish-" + i + "]]")),
                (c, p) -> {
            int coordinator = p.awaitCoordinator();
            int victim = victimOtherThan(coordinator, 3);
            // The watch already tells that level 1 is broken and level 2 works.
            assertThat(p.await(coordinator, "event=fence-device-changed device=ipmi-" + victim + " from=unknown to=failed", FENCE_WAIT))
                    .as(p.log(coordinator)).isTrue();
            ProcessHandle.of(p.daemonPid(victim).orElseThrow()).orElseThrow().destroyForcibly();
            assertThat(p.await(coordinator, peer(victim) + " from=down to=fenced", FENCE_WAIT)).as(p.log(coordinator)).isTrue();
            String log = p.log(coordinator);
            assertThat(log).containsPattern("event=fence-level-failed node-id=" + victim + " incarnation=\\d+ round=1 level=1 device=ipmi-" + victim);
            assertThat(log).contains("how=\"level 2: redfish-" + victim + " confirmed off\"");
            assertThat(p.redfishBmc(victim).powerStatus()).isEqualTo(PowerStatus.OFF);
        });
    }

    @Test
    void whenEveryLevelFailsNothingIsFencedUntilAnOperatorConfirms() throws Exception {
        withCluster(3, all(3, (p, i) -> p.wrongIpmiPassword(i)), (c, p) -> {
            int coordinator = p.awaitCoordinator();
            int victim = victimOtherThan(coordinator, 3);
            int operator = 6 - coordinator - victim; // the third node: its request reaches the coordinator through the disk
            assertThat(p.await(coordinator, "event=fence-no-path node-id=" + victim, FENCE_WAIT)).as(p.log(coordinator)).isTrue();
            ProcessHandle.of(p.daemonPid(victim).orElseThrow()).orElseThrow().destroyForcibly();
            assertThat(p.await(coordinator, "event=fence-alarm node-id=" + victim, FENCE_WAIT)).as(p.log(coordinator)).isTrue();
            assertThat(p.log(coordinator)).contains("no failover will take place and the cluster cannot determine the node's state");
            Thread.sleep(3_000); // retries run; nothing may count it dead
            assertThat(p.log(coordinator)).doesNotContain("event=fenced " + peer(victim)).doesNotContain(peer(victim) + " from=down to=fenced");
            assertThat(lastRecord(c, coordinator, victim).path("state").asText()).isIn("cannot-determine", "fencing");
            ExecResult confirm = c.baton(operator, "fence", "confirm", "node-" + victim, "--yes", "--reason", "pulled its power cords",
                    "--config", c.config(operator).toString(), "--run-dir", c.runDir().toString(), "--as", "node-" + operator,
                    "--wait", "30");
            assertThat(confirm.exitCode()).as(confirm.describe()).isZero();
            assertThat(confirm.stdout()).startsWith("confirmed");
            assertThat(confirm.stderr()).contains("WARNING");
            assertThat(p.await(coordinator, peer(victim) + " from=down to=fenced", FENCE_WAIT)).as(p.log(coordinator)).isTrue();
            assertThat(p.log(coordinator)).contains("event=fence-operator-confirmed node-id=" + victim);
            JsonNode record = lastRecord(c, operator, victim);
            assertThat(record.path("state").asText()).isEqualTo("confirmed");
            assertThat(record.path("requesterId").asInt()).isEqualTo(operator);
        });
    }

    @Test
    void aHealthyNodeWhoseBmcDiesRaisesTheAlarmAndNothingElse() throws Exception {
        withCluster(3, p -> { }, (c, p) -> {
            int coordinator = p.awaitCoordinator();
            int sick = victimOtherThan(coordinator, 3);
            int watcher = 6 - coordinator - sick;
            assertThat(p.await(watcher, "event=fence-device-changed device=ipmi-" + sick + " from=unknown to=ok", FENCE_WAIT))
                    .as(p.log(watcher)).isTrue();
            p.ipmiBmc(sick).stop(); // the BMC dies; the node runs on
            for (int i : new int[] {coordinator, watcher}) {
                assertThat(p.await(i, "event=fence-no-path node-id=" + sick + " alarm=\"fencing node " + sick + " would fail", FENCE_WAIT))
                        .as(p.log(i)).isTrue();
            }
            Thread.sleep(3_000);
            assertThat(p.log(coordinator)).doesNotContain(peer(sick) + " from=up to=down").doesNotContain("event=fence-started");
            assertThat(p.daemonPid(sick)).isPresent();
            JsonNode status = batonJson(c, watcher, "fence", "status", "--json", "--config", c.config(watcher).toString(),
                    "--run-dir", c.runDir().toString(), "--node", "node-" + watcher);
            JsonNode device = null;
            for (JsonNode d : status.path("devices")) {
                if (d.path("name").asText().equals("ipmi-" + sick)) {
                    device = d;
                }
            }
            assertThat(device).as(status.toString()).isNotNull();
            assertThat(device.path("state").asText()).isEqualTo("failed");
            assertThat(status.path("nodes").get(sick - 1).path("fencePath").asText()).isEqualTo("no-path");
        });
    }

    @Test
    void anOperatorFencesARunningNodeFromAnyNode() throws Exception {
        withCluster(3, p -> { }, (c, p) -> {
            int coordinator = p.awaitCoordinator();
            int victim = victimOtherThan(coordinator, 3);
            int operator = 6 - coordinator - victim;
            ExecResult fence = c.baton(operator, "fence", "node-" + victim, "--yes", "--config", c.config(operator).toString(),
                    "--run-dir", c.runDir().toString(), "--as", "node-" + operator, "--wait", "60");
            assertThat(fence.exitCode()).as(fence.describe()).isZero();
            assertThat(fence.stdout()).startsWith("fenced");
            assertThat(p.ipmiBmc(victim).powerStatus()).isEqualTo(PowerStatus.OFF);
            assertThat(p.log(coordinator)).contains("event=fence-requested node-id=" + victim);
            // Membership declares it down once it is silent, and it is fenced already.
            assertThat(p.await(coordinator, peer(victim) + " from=down to=fenced", FENCE_WAIT)).as(p.log(coordinator)).isTrue();
            // Refused: the coordinator does not fence itself.
            ExecResult self = c.baton(operator, "fence", "node-" + coordinator, "--yes", "--config", c.config(operator).toString(),
                    "--run-dir", c.runDir().toString(), "--as", "node-" + operator, "--wait", "30");
            assertThat(self.exitCode()).as(self.describe()).isEqualTo(ExitStatus.FAILURE);
            assertThat(self.stdout()).startsWith("refused");
        });
    }

    @Test
    void nodesWithoutASwitchAreFencedByThePoisonPill() throws Exception {
        withCluster(3, all(3, (p, i) -> p.power(i, Power.NONE)), (c, p) -> {
            int coordinator = p.awaitCoordinator();
            int victim = victimOtherThan(coordinator, 3);
            int crashed = 6 - coordinator - victim;
            // A running node: its own daemon reads the pill and exits at once.
            ExecResult pill = c.baton(coordinator, "fence", "node-" + victim, "--yes", "--config", c.config(coordinator).toString(),
                    "--run-dir", c.runDir().toString(), "--as", "node-" + coordinator, "--wait", "60");
            assertThat(pill.exitCode()).as(pill.describe()).isZero();
            assertThat(c.daemon(victim).waitFor(Duration.ofSeconds(1))).as(c.daemon(victim).log()).isEqualTo(ExitStatus.POISON_PILL);
            assertThat(c.daemon(victim).log()).contains("event=exit reason=poison-pill status=8");
            assertThat(p.log(coordinator)).containsPattern("event=fenced " + peer(victim)
                    + " .*how=\"level 1: poison-pill poison pill deadline passed\"");
            JsonNode record = lastRecord(c, coordinator, victim);
            assertThat(record.path("state").asText()).isEqualTo("fenced");
            assertThat(record.path("pill").asBoolean()).isTrue();
            // A crashed node: the pill is written, and after its deadline it counts as fenced.
            c.daemon(crashed).kill9();
            assertThat(p.await(coordinator, peer(crashed) + " from=down to=fenced", FENCE_WAIT)).as(p.log(coordinator)).isTrue();
            String log = p.log(coordinator);
            assertThat(log.indexOf("event=fence-pill-written node-id=" + crashed)).isPositive()
                    .isLessThan(log.indexOf("event=fenced " + peer(crashed)));
        });
    }

    @Test
    void withTheRebootActionAFencedNodeComesBackAsANewIncarnation() throws Exception {
        withCluster(3, all(3, (p, i) -> p.power(i, Power.REDFISH).fencing(FAST_MONITOR + "\naction: reboot")), (c, p) -> {
            int coordinator = p.awaitCoordinator();
            int victim = victimOtherThan(coordinator, 3);
            long pid = p.daemonPid(victim).orElseThrow();
            ProcessHandle.of(pid).orElseThrow().destroyForcibly();
            assertThat(p.await(coordinator, peer(victim) + " from=down to=fenced", FENCE_WAIT)).as(p.log(coordinator)).isTrue();
            assertThat(p.log(coordinator)).contains("how=\"level 1: redfish-" + victim + " rebooted (off confirmed by the agent)\"");
            // The reboot powered it on again: a new daemon, a new incarnation, up again.
            assertThat(p.await(coordinator, peer(victim) + " from=[a-z-]+ to=up", FENCE_WAIT)).as(p.log(coordinator)).isTrue();
            long again = p.daemonPid(victim).orElseThrow();
            assertThat(again).isNotEqualTo(pid);
            // The new incarnation fails too: it is fenced again (the same coordinator, a second time).
            ProcessHandle.of(again).orElseThrow().destroyForcibly();
            assertThat(p.await(coordinator, "(?s)" + peer(victim) + " from=[a-z-]+ to=up.*" + peer(victim) + " from=down to=fenced", FENCE_WAIT))
                    .as(p.log(coordinator)).isTrue();
        });
    }

    @Test
    void twoNodesWhenOneLosesItsCableAndItsStorageExactlyOneIsFenced() throws Exception {
        try (Cluster c = new Cluster(2); PowerLab p = new PowerLab(c.cluster)) {
            Path primary = c.dir.resolve("primary.img");
            Path shadow = c.dir.resolve("shadow.img");
            Files.write(primary, new byte[(int) DiskLayout.REGION_SIZE_BYTES]);
            Files.write(shadow, new byte[(int) DiskLayout.REGION_SIZE_BYTES]);
            LoopDevice[][] loops = new LoopDevice[3][];
            for (int i = 1; i <= 2; i++) {
                loops[i] = new LoopDevice[] {c.lab.loopDevice(primary, true), c.lab.loopDevice(shadow, true)};
                p.diskPaths(i, loops[i][0].path().toString(), loops[i][1].path().toString());
                p.levels(i, "[[ipmi-" + i + "], [poison-pill]]");
            }
            p.fencing(FAST_MONITOR);
            p.start(null, null);
            int coordinator = p.awaitCoordinator();
            int cut = coordinator == 1 ? 2 : 1; // the survivor's side keeps the coordinator (or takes it over)
            int survivor = 3 - cut;
            // Its only cable carries heartbeats, its BMC and its storage (iSCSI on one NIC).
            c.host(cut).linkDown();
            loops[cut][0].setReadOnly(true);
            loops[cut][1].setReadOnly(true);
            assertThat(p.await(survivor, "event=fenced " + peer(cut) + " .*poison pill deadline passed", FENCE_WAIT))
                    .as(p.log(survivor)).isTrue();
            assertThat(p.log(survivor)).containsPattern("event=fence-level-failed node-id=" + cut + " .*level=1 device=ipmi-" + cut);
            // The cut node left by itself (it lost its storage) and fenced nobody.
            assertThat(baton.lab.Poll.until(Duration.ofSeconds(10), () -> p.daemonPid(cut).isEmpty())).as(p.log(cut)).isTrue();
            assertThat(p.log(cut)).contains("event=exit reason=lost-disk").doesNotContain("event=fenced");
            assertThat(p.log(survivor)).doesNotContain("event=exit");
            assertThat(p.daemonPid(survivor)).isPresent();
        }
    }
}
