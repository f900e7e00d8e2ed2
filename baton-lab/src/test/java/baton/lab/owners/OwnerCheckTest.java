package baton.lab.owners;

import static org.assertj.core.api.Assertions.assertThat;

import baton.lab.Poll;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OwnerCheckTest {
    static final long MS = 1_000_000L;

    static String line(long ms, String workload, String node, long pid, String event) {
        return "t=" + ms * MS + " workload=" + workload + " node=" + node + " epoch=1 pid=" + pid + " event=" + event;
    }

    @Test
    void aCleanHandOverIsNoViolation() {
        var r = OwnerCheck.check(List.of(
                line(0, "web", "node-1", 10, "start"), line(100, "web", "node-1", 10, "alive"), line(150, "web", "node-1", 10, "stop"),
                line(160, "web", "node-2", 20, "start"), line(260, "web", "node-2", 20, "alive")), 100 * MS);
        assertThat(r.ok()).as(OwnerCheck.firstProblem(r).orElse("")).isTrue();
        assertThat(r.instances()).hasSize(2);
    }

    @Test
    void twoRunningAtOnceIsAViolationAndAKilledInstanceCountsUntilItsLastLinePlusThePeriod() {
        var overlap = OwnerCheck.check(List.of(
                line(0, "web", "node-1", 10, "start"), line(200, "web", "node-2", 20, "start"), line(300, "web", "node-1", 10, "stop")),
                100 * MS);
        assertThat(overlap.violations()).singleElement().asString().startsWith("two owners of web at once");
        // node-1 was killed (no stop) at some time after 100 ms: node-2 starting at 150 ms may overlap.
        var killed = OwnerCheck.check(List.of(
                line(0, "web", "node-1", 10, "start"), line(100, "web", "node-1", 10, "alive"),
                line(150, "web", "node-2", 20, "start")), 100 * MS);
        assertThat(killed.ok()).isFalse();
        var later = OwnerCheck.check(List.of(
                line(0, "web", "node-1", 10, "start"), line(100, "web", "node-1", 10, "alive"),
                line(250, "web", "node-2", 20, "start")), 100 * MS);
        assertThat(later.ok()).isTrue();
        // Different workloads never conflict; a malformed line is reported.
        var other = OwnerCheck.check(List.of(line(0, "web", "node-1", 10, "start"), line(0, "db", "node-2", 20, "start"), "junk"),
                100 * MS);
        assertThat(other.violations()).isEmpty();
        assertThat(other.malformed()).containsExactly("junk");
    }

    @Test
    void aPowerOffOfTheMachineAfterTheLastLineEndsAnInstanceThatWroteNoStop() {
        List<String> lines = List.of(line(0, "web", "node-1", 10, "start"), line(100, "web", "node-1", 10, "alive"),
                line(150, "web", "node-2", 20, "start"));
        // node-1's machine was off at 140 ms: it ran no later than that.
        assertThat(OwnerCheck.check(lines, 100 * MS, java.util.Map.of("node-1", List.of(140 * MS))).ok()).isTrue();
        // A power-off of the other node, one before the last line, or one after node-2 started proves nothing.
        assertThat(OwnerCheck.check(lines, 100 * MS, java.util.Map.of("node-2", List.of(140 * MS))).ok()).isFalse();
        assertThat(OwnerCheck.check(lines, 100 * MS, java.util.Map.of("node-1", List.of(50 * MS))).ok()).isFalse();
        assertThat(OwnerCheck.check(lines, 100 * MS, java.util.Map.of("node-1", List.of(50 * MS, 160 * MS))).ok()).isFalse();
        // The first power-off after the last line counts, not a later one.
        assertThat(OwnerCheck.check(lines, 100 * MS, java.util.Map.of("node-1", List.of(120 * MS, 400 * MS))).ok()).isTrue();
    }

    @Test
    void theWorkloadScriptLogsStartAliveAndStopOnSigterm(@TempDir Path dir) throws Exception {
        Path script = dir.resolve("workload.sh");
        Files.writeString(script, OwnerCheck.workloadScript(50));
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
        Path log = dir.resolve("owners.log");
        Process p = new ProcessBuilder(script.toString(), log.toString(), "web", "node-1", "3").start();
        assertThat(Poll.until(Duration.ofSeconds(5), () -> readLines(log).size() >= 3)).as("start and two alive lines").isTrue();
        p.destroy(); // SIGTERM
        assertThat(p.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        List<String> lines = readLines(log);
        assertThat(lines.getFirst()).matches("t=\\d+ workload=web node=node-1 epoch=3 pid=\\d+ event=start");
        assertThat(lines).anyMatch(l -> l.endsWith("event=alive"));
        assertThat(lines.getLast()).endsWith("event=stop");
        var r = OwnerCheck.check(log, 200 * MS);
        assertThat(r.ok()).isTrue();
        assertThat(r.instances()).singleElement().satisfies(i -> assertThat(i.stopped()).isTrue());
    }

    static List<String> readLines(Path log) {
        try {
            return Files.exists(log) ? Files.readAllLines(log) : List.of();
        } catch (java.io.IOException e) {
            return List.of();
        }
    }
}
