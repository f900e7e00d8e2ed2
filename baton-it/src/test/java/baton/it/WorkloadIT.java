package baton.it;

import static baton.it.ServiceLab.WAIT;
import static baton.it.ServiceLab.other;
import static baton.it.ServiceLab.peer;
import static baton.it.ServiceLab.withServices;
import static org.assertj.core.api.Assertions.assertThat;

import baton.it.ServiceLab.Setup;
import baton.lab.ExecResult;
import baton.lab.Poll;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Workloads with real parts: node daemons powered by real BMC simulators (their machine is every
 * process the node starts), an {@code exec} service whose every instance logs start, alive and
 * stop lines outside the cluster, and the external "never two owners" checker over that log
 * after every test. Failures: a panic (every process of the node killed), a hang (every process
 * frozen), a network cut, a clean leave, planned moves (standby, relocate) and the operators'
 * commands. The lab itself is {@link ServiceLab}.
 */
class WorkloadIT {
    @Test
    void aPanickedNodesServiceIsRecoveredElsewhereOnlyAfterItWasFenced() throws Exception {
        withServices(s -> {
            int watcher = other(1);
            s.p().crash(1); // kill -9 of the node and everything it runs
            assertThat(s.awaitRunningOn(watcher, "alpha", "node-2")).as(s.p().log(2) + s.p().log(3)).isTrue();
            // The node that fenced it (the coordinator, or the one that took over when node-1 was it) recovered it.
            String log = s.p().log(2).contains("event=fenced " + peer(1)) ? s.p().log(2) : s.p().log(3);
            int fenced = log.indexOf("event=fenced " + peer(1));
            int recovered = log.indexOf("event=workload-owner workload=alpha change=recover");
            assertThat(fenced).as(log).isPositive();
            assertThat(recovered).as("recovered only after the fence is recorded:\n" + log).isGreaterThan(fenced);
            assertThat(s.workload(watcher, "alpha").path("reason").asText()).contains("was fenced");
            assertThat(s.workload(watcher, "beta").path("owner").asText()).isEqualTo("node-2");
        });
    }

    @Test
    void aHungNodeIsFencedBeforeItsServiceRunsElsewhere() throws Exception {
        withServices(s -> {
            s.p().hang(2); // beta's node: every process frozen, the BMC answers
            int watcher = 3;
            assertThat(Poll.until(WAIT, () -> !s.runningNow("beta").isEmpty() && !s.runningNow("beta").equals("node-2")))
                    .as(s.p().log(1) + s.p().log(3)).isTrue();
            assertThat(s.awaitRunningOn(watcher, "beta", s.runningNow("beta"))).as(s.p().log(1) + s.p().log(3)).isTrue();
            assertThat(s.p().machinePids(2)).as("the fence cut the frozen machine's power").isEmpty();
            String log = s.p().log(1) + s.p().log(3);
            assertThat(log).contains("event=fenced " + peer(2));
        });
    }

    @Test
    void aNodeCutOffTheNetworkKeepsItsServiceAndNothingFailsOver() throws Exception {
        withServices(s -> {
            s.c().host(1).linkDown();
            try {
                assertThat(s.p().await(2, peer(1) + " from=[a-z-]+ to=network-lost", WAIT)).as(s.p().log(2)).isTrue();
                Thread.sleep(5_000); // several disk and network timeouts: a failover would have happened by now
                assertThat(s.runningNow("alpha")).isEqualTo("node-1");
                assertThat(s.p().log(2) + s.p().log(3)).doesNotContain("change=recover").doesNotContain("event=fenced");
                assertThat(s.workload(2, "alpha").path("owner").asText()).isEqualTo("node-1");
            } finally {
                s.c().host(1).linkUp();
            }
            assertThat(s.p().await(2, peer(1) + " from=network-lost to=up", WAIT)).as(s.p().log(2)).isTrue();
            assertThat(s.runningNow("alpha")).isEqualTo("node-1");
        });
    }

    @Test
    void standbyMovesTheServiceOffStoppedBeforeStartedAndItStaysAfterUnstandby() throws Exception {
        withServices(s -> {
            ExecResult r = s.baton(3, "node", "standby", "node-1");
            assertThat(r.exitCode()).as(r.describe()).isZero();
            assertThat(r.stdout()).contains("node-1 is in standby");
            assertThat(s.awaitRunningOn(3, "alpha", "node-2")).as(s.p().log(1)).isTrue();
            String all = s.p().log(1) + s.p().log(2) + s.p().log(3);
            assertThat(all).contains("event=workload-owner workload=alpha change=move_begin owner=node-1")
                    .contains("event=workload-owner workload=alpha change=move_finish owner=node-2");
            assertThat(s.status(3).path("standby").toString()).contains("node-1");
            r = s.baton(3, "node", "unstandby", "node-1");
            assertThat(r.exitCode()).as(r.describe()).isZero();
            Thread.sleep(2_000);
            assertThat(s.workload(3, "alpha").path("owner").asText()).as("sticky: it does not move back").isEqualTo("node-2");
            r = s.baton(3, "node", "unstandby", "node-1");
            assertThat(r.exitCode()).isNotZero();
            assertThat(r.stdout()).contains("refused: node-1 is not in standby");
        });
    }

    @Test
    void operatorsStopStartRelocateRestartFreezeAndUnfreezeAService() throws Exception {
        withServices(s -> {
            ExecResult r = s.baton(2, "service", "stop", "alpha");
            assertThat(r.exitCode()).as(r.describe()).isZero();
            assertThat(Poll.until(WAIT, () -> {
                try {
                    return s.runningNow("alpha").isEmpty() && s.workload(2, "alpha").path("desired").asText().equals("stopped");
                } catch (Exception e) {
                    return false;
                }
            })).isTrue();
            assertThat(s.baton(2, "service", "stop", "alpha").stdout()).contains("refused: alpha is already stopped");

            r = s.baton(2, "service", "start", "alpha", "--to", "node-3");
            assertThat(r.exitCode()).as(r.describe()).isZero();
            assertThat(s.awaitRunningOn(2, "alpha", "node-3")).isTrue();

            r = s.baton(1, "service", "relocate", "alpha", "--to", "node-1");
            assertThat(r.exitCode()).as(r.describe()).isZero();
            assertThat(s.awaitRunningOn(2, "alpha", "node-1")).isTrue();

            long starts = startsOf(s, "alpha");
            r = s.baton(1, "service", "restart", "alpha");
            assertThat(r.exitCode()).as(r.describe()).isZero();
            assertThat(Poll.until(WAIT, () -> startsOf(s, "alpha") > starts)).isTrue();
            assertThat(s.awaitRunningOn(2, "alpha", "node-1")).isTrue();

            r = s.baton(1, "service", "freeze", "alpha");
            assertThat(r.exitCode()).as(r.describe()).isZero();
            // Frozen: Baton does not stop it when its node goes into standby.
            assertThat(s.baton(1, "node", "standby", "node-1").exitCode()).isZero();
            Thread.sleep(2_000);
            assertThat(s.runningNow("alpha")).isEqualTo("node-1");
            assertThat(s.baton(1, "node", "unstandby", "node-1").exitCode()).isZero();
            r = s.baton(1, "service", "unfreeze", "alpha");
            assertThat(r.exitCode()).as(r.describe()).isZero();
            assertThat(s.awaitRunningOn(2, "alpha", "node-1")).isTrue();

            assertThat(s.baton(1, "service", "relocate", "nosuch").exitCode()).isNotZero();
            r = s.baton(1, "service", "relocate", "alpha", "--to", "node-1");
            assertThat(r.exitCode()).isNotZero();
            assertThat(r.stdout()).contains("refused: alpha already runs on node 1");
        });
    }

    static long startsOf(Setup s, String name) {
        try {
            return Files.readAllLines(s.ownersLog()).stream().filter(l -> l.contains("workload=" + name + " ") && l.endsWith("event=start"))
                    .count();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void aServiceThatKeepsFailingIsRestartedInPlaceThenRelocated() throws Exception {
        withServices(s -> {
            // beta may restart once in place: the first failure restarts it on node-2, the second moves it.
            long starts = startsOf(s, "beta");
            killInstance(s, "beta", "node-2");
            assertThat(Poll.until(WAIT, () -> startsOf(s, "beta") > starts && lastStartOn(s, "beta").equals("node-2"))).isTrue();
            assertThat(s.p().await(2, "event=workload-failed workload=beta", WAIT)).isTrue();
            assertThat(s.awaitRunningOn(1, "beta", "node-2")).isTrue();
            killInstance(s, "beta", "node-2");
            assertThat(s.p().await(2, "event=workload-failed-out workload=beta", WAIT)).as(s.p().log(2)).isTrue();
            assertThat(Poll.until(WAIT, () -> !s.runningNow("beta").isEmpty() && !s.runningNow("beta").equals("node-2")))
                    .as(s.p().log(1) + s.p().log(3)).isTrue();
            String owner = s.runningNow("beta");
            assertThat(s.awaitRunningOn(1, "beta", owner)).isTrue();
            assertThat(s.workload(1, "beta").path("reason").asText()).contains("restart limit");
        });
    }

    static String lastStartOn(Setup s, String name) {
        try {
            String node = "";
            for (String l : Files.readAllLines(s.ownersLog())) {
                Matcher m = Pattern.compile("workload=" + Pattern.quote(name) + " node=(\\S+) .*event=start$").matcher(l);
                if (m.find()) {
                    node = m.group(1);
                }
            }
            return node;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Kills the running instance of {@code name} on {@code node} (its pid from the state folder). */
    static void killInstance(Setup s, String name, String node) throws Exception {
        Path pidFile = s.c().dir.resolve("service-state").resolve(name + "-" + node + ".pid");
        long pid = Long.parseLong(Files.readString(pidFile).strip());
        ProcessHandle.of(pid).orElseThrow().destroyForcibly();
    }

    @Test
    void aCleanLeaveStopsTheServiceBeforeTheNodeSaysLeftAndItRunsElsewhere() throws Exception {
        withServices(s -> {
            long pid = s.p().daemonPid(1).orElseThrow();
            ProcessHandle.of(pid).orElseThrow().destroy(); // SIGTERM: leave cleanly
            assertThat(s.awaitRunningOn(3, "alpha", "node-2")).as(s.p().log(1)).isTrue();
            String log1 = s.p().log(1);
            int stopped = log1.indexOf("event=workload-stopped workload=alpha");
            int left = log1.indexOf("event=exit reason=left");
            assertThat(stopped).as(log1).isPositive();
            assertThat(left).as(log1).isGreaterThan(stopped);
            assertThat(s.p().log(2) + s.p().log(3)).contains(peer(1) + " from=up to=left").doesNotContain("event=fenced " + peer(1));
        });
    }
}
