package baton.it;

import static org.assertj.core.api.Assertions.assertThat;

import baton.cli.PowerLab;
import baton.lab.Poll;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Event hooks on real nodes (docs/hooks.md): every node of a 3-node lab cluster with BMCs has the
 * same hook, a script that keeps each run's environment and standard input. A node crashes; the
 * coordinator, which decides, runs its hook for node-down and then node-fenced; the other
 * survivor, which sees the same verdicts, runs it for neither. A switchover of the node that runs
 * a service ends in switchover-done on the coordinator.
 */
class HookIT {
    static final ObjectMapper JSON = new ObjectMapper();

    /** A hook that writes each run's environment and JSON to OUT/NODE/SEQ-EVENT.env and .json. */
    static Path dumpHook(Path file, Path out) throws IOException {
        Files.writeString(file, """
                #!/bin/sh
                d="%s/$BATON_NODE"
                mkdir -p "$d"
                n="$d/$BATON_SEQ-$BATON_EVENT-$BATON_SUBJECT"
                env > "$n.env.tmp"
                cat > "$n.json.tmp"
                mv "$n.json.tmp" "$n.json"
                mv "$n.env.tmp" "$n.env"
                """.formatted(out));
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
        return file;
    }

    /** The runs of node {@code id}'s hook so far, as file names without the suffix, in event order. */
    static List<String> runs(Path out, int id) {
        Path d = out.resolve("node-" + id);
        if (!Files.isDirectory(d)) {
            return List.of();
        }
        try (var s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".env")).map(n -> n.substring(0, n.length() - 4))
                    .sorted(java.util.Comparator.comparingLong(n -> Long.parseLong(n.substring(0, n.indexOf('-'))))).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Optional<String> run(Path out, int id, String eventAndSubject) {
        return runs(out, id).stream().filter(n -> n.endsWith("-" + eventAndSubject)).findFirst();
    }

    static Map<String, String> env(Path file) throws IOException {
        Map<String, String> env = new LinkedHashMap<>();
        for (String line : Files.readAllLines(file)) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                env.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        return env;
    }

    @Test
    void theCoordinatorsHookHearsNodeDownThenNodeFencedForACrashedNode() throws Exception {
        try (Cluster c = new Cluster(3); PowerLab p = new PowerLab(c.cluster)) {
            Path out = c.dir.resolve("hook-out");
            Path hook = dumpHook(c.dir.resolve("record-event"), out);
            p.fencing(FencingIT.FAST_MONITOR);
            p.yaml("hooks:\n  - executable: " + hook + "\n    timeoutMillis: 5000\n");
            p.start(c.dir.resolve("quorum.img").toString(), null);
            int coordinator = p.awaitCoordinator();
            assertThat(coordinator).isPositive();
            int victim = FencingIT.victimOtherThan(coordinator, 3);
            int other = 6 - coordinator - victim;
            String victimName = "node-" + victim;
            assertThat(Poll.until(Cluster.WAIT, () -> run(out, coordinator, "coordinator-changed-node-" + coordinator).isPresent()))
                    .as(p.log(coordinator)).isTrue();

            p.crash(victim);
            assertThat(Poll.until(FencingIT.FENCE_WAIT, () -> run(out, coordinator, "node-fenced-" + victimName).isPresent()))
                    .as("runs %s; log:\n%s", runs(out, coordinator), p.log(coordinator)).isTrue();

            // Down, then fenced, each once, in the order the coordinator decided them.
            List<String> mine = runs(out, coordinator).stream().filter(n -> n.endsWith("-" + victimName)).toList();
            assertThat(mine).hasSize(2);
            assertThat(mine.get(0)).endsWith("-node-down-" + victimName);
            assertThat(mine.get(1)).endsWith("-node-fenced-" + victimName);

            Map<String, String> down = env(out.resolve("node-" + coordinator).resolve(mine.get(0) + ".env"));
            assertThat(down).containsEntry("BATON_EVENT", "node-down").containsEntry("BATON_CLUSTER", "lab")
                    .containsEntry("BATON_NODE", "node-" + coordinator).containsEntry("BATON_SUBJECT", victimName)
                    .containsEntry("BATON_LEVEL", "warn").containsEntry("BATON_FIELD_EVENT", "verdict")
                    .containsEntry("BATON_FIELD_PEER", victimName).containsEntry("BATON_FIELD_PEER_ID", Integer.toString(victim))
                    .containsEntry("BATON_FIELD_TO", "down").containsKey("BATON_FIELD_EVIDENCE").containsKey("BATON_TIMESTAMP");
            Map<String, String> fenced = env(out.resolve("node-" + coordinator).resolve(mine.get(1) + ".env"));
            assertThat(fenced).containsEntry("BATON_EVENT", "node-fenced").containsEntry("BATON_SUBJECT", victimName)
                    .containsEntry("BATON_FIELD_HOW", "level 1: ipmi-" + victim + " confirmed off");
            assertThat(Long.parseLong(fenced.get("BATON_SEQ"))).isGreaterThan(Long.parseLong(down.get("BATON_SEQ")));
            assertThat(java.time.Instant.parse(fenced.get("BATON_TIMESTAMP")))
                    .isAfterOrEqualTo(java.time.Instant.parse(down.get("BATON_TIMESTAMP")));

            JsonNode json = JSON.readTree(out.resolve("node-" + coordinator).resolve(mine.get(1) + ".json").toFile());
            assertThat(json.path("event").asText()).isEqualTo("node-fenced");
            assertThat(json.path("cluster").asText()).isEqualTo("lab");
            assertThat(json.path("node").asText()).isEqualTo("node-" + coordinator);
            assertThat(json.path("subject").asText()).isEqualTo(victimName);
            assertThat(json.path("seq").asText()).isEqualTo(fenced.get("BATON_SEQ"));
            assertThat(json.path("timestamp").asText()).isEqualTo(fenced.get("BATON_TIMESTAMP"));
            assertThat(json.path("fields").path("peer-id").asInt()).isEqualTo(victim);
            assertThat(json.path("fields").path("how").asText()).isEqualTo("level 1: ipmi-" + victim + " confirmed off");

            // Each run is in the coordinator's log.
            String log = p.log(coordinator);
            assertThat(log).containsPattern("event=hook-run hook=" + hook + " hook-event=node-down subject=" + victimName
                    + " event-seq=" + down.get("BATON_SEQ") + " exit=0 millis=\\d+");
            assertThat(log).containsPattern("event=hook-run hook=" + hook + " hook-event=node-fenced subject=" + victimName
                    + " event-seq=" + fenced.get("BATON_SEQ") + " exit=0 millis=\\d+");

            // The other survivor saw the same verdicts and is not the one who decides: no run for them.
            assertThat(p.await(other, "event=verdict " + FencingIT.peer(victim) + " from=down to=fenced", FencingIT.FENCE_WAIT))
                    .as(p.log(other)).isTrue();
            Thread.sleep(500); // a run it would make starts at once; give it time to show
            assertThat(runs(out, other)).noneMatch(n -> n.endsWith("-" + victimName));
            assertThat(p.log(other)).doesNotContain("hook-event=node-down").doesNotContain("hook-event=node-fenced");
        }
    }

    @Test
    void theCoordinatorsHookHearsSwitchoverDoneOnceTheNodeIsEmpty() throws Exception {
        try (Cluster c = new Cluster(3); PowerLab p = new PowerLab(c.cluster)) {
            Path out = c.dir.resolve("hook-out");
            Path hook = dumpHook(c.dir.resolve("record-event"), out);
            Path control = baton.lab.owners.OwnedService.write(c.dir.resolve("scripts"), ServiceLab.ALIVE_MILLIS);
            p.fencing(FencingIT.FAST_MONITOR);
            p.yaml("services:\n" + baton.lab.owners.OwnedService.yaml(10, "alpha", control, c.dir.resolve("owners.log"),
                    c.dir.resolve("service-state"), "") + "hooks:\n  - executable: " + hook + "\n    events: [switchover-done]\n");
            p.start(c.dir.resolve("quorum.img").toString(), null);
            int coordinator = p.awaitCoordinator();
            assertThat(coordinator).isPositive();
            String[] owner = {""};
            assertThat(Poll.until(ServiceLab.WAIT, () -> {
                try {
                    JsonNode w = ServiceLab.workload(c.cluster, coordinator, "alpha");
                    owner[0] = w.path("owner").asText();
                    return owner[0].startsWith("node-") && w.path("desired").asText().equals("running") && !w.has("next");
                } catch (Exception | AssertionError e) {
                    return false;
                }
            })).as(p.log(coordinator)).isTrue();
            String emptied = owner[0];

            var r = c.baton(coordinator, "node", "switchover", emptied, "--config", c.config(coordinator).toString(), "--run-dir",
                    c.runDir().toString(), "--as", "node-" + coordinator, "--yes", "--wait", "60");
            assertThat(r.exitCode()).as(r.describe()).isZero();
            assertThat(Poll.until(ServiceLab.WAIT, () -> run(out, coordinator, "switchover-done-" + emptied).isPresent()))
                    .as("runs %s; log:\n%s", runs(out, coordinator), p.log(coordinator)).isTrue();
            Map<String, String> done = env(out.resolve("node-" + coordinator).resolve(run(out, coordinator, "switchover-done-" + emptied)
                    .orElseThrow() + ".env"));
            assertThat(done).containsEntry("BATON_EVENT", "switchover-done").containsEntry("BATON_SUBJECT", emptied)
                    .containsEntry("BATON_FIELD_NODE", emptied).containsEntry("BATON_FIELD_STAYED", "")
                    .containsEntry("BATON_LEVEL", "info");
            // Logged after the service left the node, once.
            String log = p.log(coordinator);
            assertThat(log.indexOf("event=switchover-done node=" + emptied))
                    .isGreaterThan(log.indexOf("event=workload-owner workload=alpha change=move_finish"));
            Thread.sleep(500);
            assertThat(runs(out, coordinator)).hasSize(1);
            for (int i = 1; i <= 3; i++) {
                if (i != coordinator) {
                    assertThat(runs(out, i)).as("node-%d's runs", i).isEmpty();
                }
            }
        }
    }
}
