package baton.it;

import static org.assertj.core.api.Assertions.assertThat;

import baton.lab.Cmd;
import baton.lab.ExecResult;
import baton.lab.Poll;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The README's first command: the demo comes up with its VEs and its service, prints where its
 * dashboard is and the token, serves the dashboard and the API on this host's loopback while it
 * runs, runs its tour (a standby moves a VE, a switchover moves one live, a killed node's service
 * is recovered after its fence), and leaves nothing behind: no namespace, no process, no port.
 */
class DemoIT {
    @Test
    void theGuidedTourRunsAndTearsDownCleanly() throws Exception {
        Path dir = Files.createTempDirectory(Path.of("/var/tmp"), "baton-demo-it-");
        List<String> before = namespaces();
        List<String> cmd = new ArrayList<>(Cluster.java("demo", "--tour", "--dir", dir.resolve("demo").toString()));
        Path out = dir.resolve("demo.out");
        Process demo = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        try {
            Pattern dashboard = Pattern.compile("dashboard: https://127\\.0\\.0\\.1:([0-9]+)/\\?token=([0-9a-f]{64})");
            Matcher m = dashboard.matcher("");
            assertThat(Poll.until(Duration.ofMinutes(3), () -> m.reset(read(out)).find() || !demo.isAlive()))
                    .as("the demo prints its dashboard").isTrue();
            assertThat(m.reset(Files.readString(out)).find()).as(Files.readString(out)).isTrue();
            int port = Integer.parseInt(m.group(1));
            String token = m.group(2);
            String base = "https://127.0.0.1:" + port;
            // The API answers on this host's loopback, through the forwarded port, with the printed token only.
            ExecResult status = curl("-H", "Authorization: Bearer " + token, base + "/api/v1/status");
            assertThat(status.exitCode()).as(status.describe() + "\n" + read(out)).isZero();
            assertThat(status.stdout()).contains("\"cluster\":\"demo\"").contains("\"node\":\"node-1\"");
            assertThat(curl("-o", "/dev/null", "-w", "%{http_code}", base + "/api/v1/status").stdout()).isEqualTo("401");
            assertThat(curl("-o", "/dev/null", "-w", "%{http_code}", base + "/?token=" + token).stdout()).isEqualTo("303");
            assertThat(curl("-b", "baton_token=" + token, base + "/").stdout()).contains("<title>Baton");
            Matcher second = Pattern.compile("node-2: https://127\\.0\\.0\\.1:([0-9]+)/").matcher(Files.readString(out));
            assertThat(second.find()).isTrue();
            assertThat(curl("-H", "Authorization: Bearer " + token, "https://127.0.0.1:" + second.group(1) + "/api/v1/status").stdout())
                    .contains("\"node\":\"node-2\"");

            assertThat(demo.waitFor(5, java.util.concurrent.TimeUnit.MINUTES)).as(Files.readString(out)).isTrue();
            ExecResult r = new ExecResult(cmd, demo.exitValue(), Files.readString(out), "", false);
            assertThat(r.exitCode()).as(r.describe()).isZero();
            assertThat(curl("-o", "/dev/null", base + "/").exitCode()).as("the forwarded port is closed").isNotZero();
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
            demo.destroy(); // its shutdown hook tears the cluster down
            demo.waitFor(2, java.util.concurrent.TimeUnit.MINUTES);
            try (var s = Files.walk(dir)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (java.io.IOException e) {
            return "";
        }
    }

    /** curl on this host, not checking the node's self-signed certificate (the API tests pin it; here it is the port that counts). */
    static ExecResult curl(String... args) {
        List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "-k", "--max-time", "10"));
        cmd.addAll(List.of(args));
        return Cmd.run(Duration.ofSeconds(15), cmd);
    }

    /** The lab namespaces on the machine (other tests' labs come and go; the demo's must go). */
    static List<String> namespaces() {
        return Cmd.run(Duration.ofSeconds(5), "ip", "netns", "list").stdout().lines()
                .filter(l -> l.startsWith("baton-lab-")).sorted().toList();
    }
}
