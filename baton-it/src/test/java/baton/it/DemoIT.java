package baton.it;

import static org.assertj.core.api.Assertions.assertThat;

import baton.lab.Cmd;
import baton.lab.ExecResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The README's first command: the demo comes up with its VEs and its service, runs its tour
 * (a standby moves a VE, a killed node's service is recovered after its fence), and leaves
 * nothing behind.
 */
class DemoIT {
    @Test
    void theGuidedTourRunsAndTearsDownCleanly() throws Exception {
        Path dir = Files.createTempDirectory(Path.of("/var/tmp"), "baton-demo-it-");
        List<String> before = namespaces();
        List<String> cmd = new ArrayList<>(Cluster.java("demo", "--tour", "--dir", dir.resolve("demo").toString()));
        ExecResult r = Cmd.run(Duration.ofMinutes(5), cmd);
        try {
            assertThat(r.exitCode()).as(r.describe()).isZero();
            assertThat(r.stdout())
                    .contains("cluster 'demo' is up: 3 node daemons")
                    .containsPattern("node-3 +3 +network-lost +fresh")
                    .containsPattern("node-3 +3 +fenced +stale +[a-z-]+ +fenced \\(level 1: ipmi-3 confirmed off\\) at incarnation [0-9]+")
                    .contains("node-3's BMC: power off")
                    .containsPattern("fenced \\(seq [0-9]+, generation [0-9]+\\): level 1: ipmi-[23] confirmed off")
                    .containsPattern("[0-9]+ +[0-9T:.-]+Z +node-3 +[0-9]+ +fenced +- +node-[0-9]")
                    .contains("event=slot-repaired copy=primary node=2")
                    .containsPattern("coordinator: node-[0-9] \\(generation [0-9]+\\)")
                    .containsPattern("kill -9 the coordinator, node-[0-9]")
                    .containsPattern("node-2 +2 +left +left")
                    .containsPattern("WORKLOAD +KIND +STATE +OWNER +HERE +REASON")
                    .containsPattern("web1 +ve +running +node-[23] ")
                    .containsPattern("web1 \\(198\\.18\\.[0-9]+\\.101\\): up [0-9.]+ s")
                    .containsPattern("web2: on node-[13] \\(migrated live from node 2")
                    .contains("done: nothing runs on node-2 any more")
                    .containsPattern("clock +service +running +node-[12] +[a-z]+ +recovered on node [12] .*its owner node 3 was fenced")
                    .containsPattern("owners log .*: [0-9]+ runs of 'clock', never two at once")
                    .contains("removed the namespaces");
            assertThat(namespaces()).isSubsetOf(before);
            assertThat(Cmd.run(Duration.ofSeconds(5), "pgrep", "-f", dir.toString()).exitCode())
                    .as("no demo node process is left").isEqualTo(1);
        } finally {
            try (var s = Files.walk(dir)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** The lab namespaces on the machine (other tests' labs come and go; the demo's must go). */
    static List<String> namespaces() {
        return Cmd.run(Duration.ofSeconds(5), "ip", "netns", "list").stdout().lines()
                .filter(l -> l.startsWith("baton-lab-")).sorted().toList();
    }
}
