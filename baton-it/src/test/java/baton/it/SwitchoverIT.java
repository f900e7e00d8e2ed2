package baton.it;

import static org.assertj.core.api.Assertions.assertThat;

import baton.lab.ExecResult;
import baton.lab.Poll;
import baton.lab.client.TransferWatch;
import baton.lab.owners.MacWatch;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Live switchover in the lab (docs/switchover.md): the VE failover lab of {@link VeFailoverIT}
 * (three nodes powered by IPMI BMC simulators, the test guest under TCG bridged onto the lab
 * switch, a client host, a MAC watch on the switch for the whole test), and a client that
 * downloads a file from the VE at a fixed rate over one TCP connection while the VE moves
 * ({@link TransferWatch}): the download must complete with the right checksum and no reset, and
 * the guest's uptime must keep counting (the same boot, never restarted). The MAC watch is the
 * never-two-owners checker on the wire.
 */
class SwitchoverIT {
    static final Duration WAIT = VeFailoverIT.WAIT;
    /** The guest's file: 24 MiB at 1 MiB/s spans the switchover. */
    static final int FILE_MIB = 24;
    static final long RATE = 1L << 20;

    @BeforeAll
    static void buildGuest() {
        VeFailoverIT.buildGuest();
    }

    /** The VEs {@code names}, 128 MiB each, preferring node-1, with the migration section {@code migration} (flow-style keys). */
    static String yaml(Map<String, String> ips, String migration, int dirtyMib) {
        StringBuilder b = new StringBuilder("ves:\n");
        int i = 0;
        for (var e : ips.entrySet()) {
            b.append(baton.cli.TestGuest.veYaml(1 + i, e.getKey(), VeFailoverIT.guestDir, 128, e.getValue(), VeFailoverIT.mac(i), "br0",
                    FILE_MIB, dirtyMib, "    preferred: [node-1]\n    maxRestarts: 0\n    monitorIntervalMillis: 1000\n"));
            i++;
        }
        return b + "migration: {checkpointDir: @DIR@/checkpoints" + (migration.isEmpty() ? "" : ", " + migration) + "}\n";
    }

    static void withVes(List<String> names, String migration, VeFailoverIT.Body body) throws Exception {
        withVes(names, migration, 0, body);
    }

    /** As {@link #withVes(List, String, VeFailoverIT.Body)}, with guests that keep rewriting {@code dirtyMib} MiB of their RAM. */
    static void withVes(List<String> names, String migration, int dirtyMib, VeFailoverIT.Body body) throws Exception {
        VeFailoverIT.withVes(names, ips -> yaml(ips, migration, dirtyMib), 1, Map.of(), s -> {
            Files.createDirectories(s.c().dir().resolve("checkpoints"));
            for (String n : names) {
                assertThat(s.awaitRunningOn(1, n)).as(s.logs()).isTrue();
            }
            assertThat(s.awaitAnswering()).as(s.logs()).isTrue();
            body.run(s);
        });
    }

    /** How often web's guest booted on node {@code node} (its console log there, all runs). */
    static long boots(VeFailoverIT.Setup s, int node) throws java.io.IOException {
        Path console = s.console(node, "web");
        return Files.exists(console) ? Files.readString(console).lines().filter(l -> l.contains("baton-guest: booting kernel")).count() : 0;
    }

    /** The guest's uptime (s) of the VE at {@code ip}, live. */
    static double uptime(VeFailoverIT.Setup s, String ip) {
        ExecResult r = s.client().run(Duration.ofSeconds(10), "curl", "-sS", "--fail", "--connect-timeout", "1", "--max-time", "3",
                "http://" + ip + "/cgi-bin/uptime");
        assertThat(r.exitCode()).as(r.describe()).isZero();
        return Double.parseDouble(r.stdout().strip().split("\\s+")[0]);
    }

    static String sha256(VeFailoverIT.Setup s, String ip) {
        ExecResult r = s.client().run(Duration.ofSeconds(10), "curl", "-sS", "--fail", "--max-time", "3", "http://" + ip + "/data.bin.sha256");
        assertThat(r.exitCode()).as(r.describe()).isZero();
        return r.stdout().strip().split("\\s+")[0];
    }

    /**
     * Switches node-1 over in {@code mode} while the client downloads from the VE, and checks
     * the whole story: the download, the uptime, the owner, the wire.
     */
    static void switchoverKeepsTheVeRunning(String mode, String to) throws Exception {
        withVes(List.of("web"), "", s -> {
            String sum = sha256(s, s.ip());
            double before = uptime(s, s.ip());
            // The new node's console may hold a boot from before (the VE placed there first, then settled on node-1).
            Map<Integer, Long> bootsBefore = Map.of(2, boots(s, 2), 3, boots(s, 3));
            try (TransferWatch download = TransferWatch.start(s.client(), "http://" + s.ip() + "/data.bin", RATE)) {
                assertThat(download.awaitBody(Duration.ofSeconds(20))).as("the download has begun: " + download.log()).isTrue();
                Instant started = Instant.now();
                ExecResult r = to == null ? s.baton(2, "node", "switchover", "node-1", "--mode", mode)
                        : s.baton(2, "node", "switchover", "node-1", "--mode", mode, "--to", to);
                assertThat(r.exitCode()).as(r.describe() + s.logs()).isZero();
                assertThat(r.stdout()).contains("done: nothing runs on node-1");
                long tookMillis = Duration.between(started, Instant.now()).toMillis();
                if (mode.equals("checkpoint")) {
                    try (var files = Files.list(s.c().dir().resolve("checkpoints"))) {
                        assertThat(files.toList()).as("the target deleted the checkpoint's files once it ran the VE").isEmpty();
                    }
                }
                JsonNode w = s.workload(2, "web");
                String owner = w.path("owner").asText();
                assertThat(owner).isIn(to == null ? List.of("node-2", "node-3") : List.of(to));
                int next = Integer.parseInt(owner.substring("node-".length()));
                assertThat(s.awaitRunningOn(next, "web")).as(s.logs()).isTrue();
                assertThat(w.path("reason").asText()).contains("migrated " + (mode.equals("live") ? "live" : "through a checkpoint"));
                // The same boot: the guest's clock went on (a restart would begin again near 0), and QEMU never booted it there.
                double after = uptime(s, s.ip());
                assertThat(after).as("uptime before %.2f s, after %.2f s", before, after).isGreaterThan(before);
                assertThat(boots(s, next)).as("boots on node-%d: none since the switchover began", next).isEqualTo(bootsBefore.get(next));

                TransferWatch.Result d = download.awaitResult(Duration.ofSeconds(120));
                System.out.printf("SwitchoverIT %s: switchover took %d ms; download %s%n", mode, tookMillis, d);
                assertThat(d.completed()).as(d.toString()).isTrue();
                assertThat(d.reset()).as(d.toString()).isFalse();
                assertThat(d.sha256()).as(d.toString()).isEqualTo(sum);
                String sent = VeFailoverIT.allLogs(s.c(), s.p());
                System.out.println("SwitchoverIT " + mode + ": " + sent.lines().filter(l -> l.contains("event=migration-")).toList());
                assertThat(s.p().log(1)).contains("event=migration-sent workload=web");
                // The MAC is last seen behind node-1's port before it is seen behind the new node's (checked by the watch too).
                assertThat(s.awaitSeenOn("n" + next, started)).as(s.watch().seen(VeFailoverIT.MAC).toString()).isTrue();
                List<MacWatch.Sighting> seen = s.watch().seen(VeFailoverIT.MAC);
                System.out.println("SwitchoverIT " + mode + ": sightings " + seen);
            }
            // Maintenance: nothing is placed on node-1 until it resumes.
            assertThat(s.status(2).path("maintenance").toString()).contains("node-1");
            ExecResult resumed = s.baton(2, "node", "resume", "node-1");
            assertThat(resumed.exitCode()).as(resumed.describe()).isZero();
        });
    }

    @Test
    void aLiveSwitchoverMovesTheVeWithoutRestartingItAndTheDownloadGoesOn() throws Exception {
        switchoverKeepsTheVeRunning("live", null);
    }

    @Test
    void aCheckpointSwitchoverToAChosenNodeMovesTheVeWithoutRestartingItAndTheDownloadGoesOn() throws Exception {
        switchoverKeepsTheVeRunning("checkpoint", "node-3");
    }

    @Test
    void thePlanSaysWhatWouldMoveWhereAndChangesNothing() throws Exception {
        withVes(List.of("web"), "", s -> {
            ExecResult r = s.baton(2, "node", "switchover", "node-1", "--plan");
            assertThat(r.exitCode()).as(r.describe()).isZero();
            assertThat(r.stdout()).contains("ve web: migrates live to").contains("128 MiB");
            ExecResult json = s.baton(2, "node", "switchover", "node-1", "--plan", "--to", "node-3", "--mode", "checkpoint", "--json");
            assertThat(json.exitCode()).as(json.describe()).isZero();
            JsonNode plan = ServiceLab.JSON.readTree(json.stdout());
            assertThat(plan.path("node").asText()).isEqualTo("node-1");
            assertThat(plan.path("mode").asText()).isEqualTo("checkpoint");
            JsonNode web = plan.path("workloads").get(0);
            assertThat(web.path("name").asText()).isEqualTo("web");
            assertThat(web.path("action").asText()).isEqualTo("migrate");
            assertThat(web.path("target").asText()).isEqualTo("node-3");
            assertThat(web.path("mib").asLong()).isEqualTo(128);
            assertThat(s.workload(2, "web").path("owner").asText()).isEqualTo("node-1");
            assertThat(s.status(2).path("maintenance").toString()).doesNotContain("node-1");
        });
    }
}
