package baton.it;

import static org.assertj.core.api.Assertions.assertThat;

import baton.cli.LabCluster;
import baton.lab.ExecResult;
import baton.lab.bmc.IpmiBmc;
import baton.lab.bmc.PowerStatus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Fencing with real parts: each lab node's daemon is the "machine" of a real IPMI BMC
 * simulator (OpenIPMI's ipmi_sim) in its host; the coordinator fences through the real
 * fence_ipmilan over the lab network.
 */
class FencingIT {
    static final String USER = "baton";
    static final String PASSWORD = "s3cret-bmc";

    @Test
    void aKilledNodeIsFencedThroughItsBmcAndThenCountsAsFenced() throws Exception {
        try (Cluster c = new Cluster(3)) {
            Path secret = c.dir.resolve("bmc.password");
            Files.writeString(secret, PASSWORD + "\n");
            Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
            StringBuilder devices = new StringBuilder("fenceDevices:\n");
            for (int i = 1; i <= 3; i++) {
                devices.append("  bmc-").append(i).append(":\n    agent: fence_ipmilan\n    parameters:\n")
                        .append("      ip: ").append(c.host(i).address().getHostAddress()).append('\n')
                        .append("      ipport: \"623\"\n      username: ").append(USER).append('\n')
                        .append("      lanplus: \"1\"\n      cipher: \"3\"\n      power_wait: \"0\"\n")
                        .append("    secretFiles:\n      password: ").append(secret).append('\n');
            }
            c.cluster.extraConfig(devices.toString());
            c.cluster.nodeExtraConfig(i -> "    fence:\n      - [bmc-" + i + "]\n");
            c.configureAll(c.dir.resolve("quorum.img").toString(), null);
            ExecResult init = c.baton(1, "disk", "init", "--config", c.config(1).toString());
            assertThat(init.exitCode()).as(init.describe()).isZero();
            List<IpmiBmc> bmcs = new ArrayList<>();
            try {
                for (int i = 1; i <= 3; i++) {
                    List<String> daemon = new ArrayList<>(LabCluster.java("node", "run", "--config", c.config(i).toString(),
                            "--node", "node-" + i, "--run-dir", c.runDir().toString()));
                    daemon.addAll(1, LabCluster.DAEMON_JVM_OPTIONS);
                    bmcs.add(IpmiBmc.start(c.host(i), c.host(i).address(), 623, USER, PASSWORD, daemon,
                            Files.createDirectories(c.dir.resolve("bmc-" + i))));
                }
                Path[] logs = new Path[4];
                for (int i = 1; i <= 3; i++) {
                    logs[i] = bmcs.get(i - 1).workDir().resolve("machine.log");
                    assertThat(await(logs[i], "event=joined")).as("node-%d joined", i).isTrue();
                }
                int coordinator = 0;
                for (int tries = 0; tries < 400 && coordinator == 0; tries++) {
                    for (int i = 1; i <= 3; i++) {
                        if (Files.readString(logs[i]).contains("event=coordinator role=coordinator")) {
                            coordinator = i;
                        }
                    }
                    Thread.sleep(50);
                }
                assertThat(coordinator).as("a coordinator was chosen").isPositive();
                int victim = coordinator == 3 ? 2 : 3;
                long pid = bmcs.get(victim - 1).machinePid().orElseThrow();
                ProcessHandle.of(pid).orElseThrow().destroyForcibly(); // kill -9 of the node daemon
                String peer = "peer=node-" + victim + " peer-id=" + victim;
                assertThat(await(logs[coordinator], "event=fenced " + peer)).as(Files.readString(logs[coordinator])).isTrue();
                assertThat(bmcs.get(victim - 1).powerStatus()).isEqualTo(PowerStatus.OFF);
                String log = Files.readString(logs[coordinator]);
                // Fenced only after it was down, and through the device that confirmed it off.
                var down = Pattern.compile(peer + " from=[a-z-]+ to=down ").matcher(log);
                assertThat(down.find()).isTrue();
                assertThat(down.start()).isLessThan(log.indexOf("event=fenced " + peer));
                assertThat(log).containsPattern(Pattern.compile("event=fenced " + peer + " incarnation=\\d+ generation=\\d+ how=\"level 1: bmc-" + victim + " confirmed off\""));
                assertThat(log).contains(peer + " from=down to=fenced");
                assertThat(log).doesNotContain(PASSWORD);
            } finally {
                for (IpmiBmc b : bmcs) {
                    b.close();
                }
            }
        }
    }

    static boolean await(Path log, String text) throws Exception {
        for (int i = 0; i < 600; i++) {
            if (Files.exists(log) && Files.readString(log).contains(text)) {
                return true;
            }
            Thread.sleep(50);
        }
        return false;
    }
}
