package baton.it;

import static baton.it.ServiceLab.WAIT;
import static baton.it.ServiceLab.peer;
import static baton.it.ServiceLab.withServices;
import static org.assertj.core.api.Assertions.assertThat;

import baton.core.disk.Copy;
import baton.it.ServiceLab.Disk;
import baton.it.ServiceLab.Setup;
import baton.lab.ExecResult;
import baton.lab.Poll;
import baton.lab.owners.OwnerCheck;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The mission's recovery scenarios that {@link WorkloadIT} does not already show, on the same lab
 * ({@link ServiceLab}: three nodes powered by real IPMI BMC simulators, two test services, the
 * "never two owners" check of the owners log after every test): the quorum disk failing (one or
 * both copies, for one node or for all), the whole network failing, and a node's power switch
 * failing while the node is healthy and while it has failed. {@code docs/failure-scenarios.md}
 * walks an operator through each, with the timelines these tests print ({@code timeline ...}
 * lines in the test output, milliseconds after the fault).
 */
class FailureScenariosIT {
    /** Long enough for several disk and network timeouts and many table reads: a failover would have happened. */
    static final long QUIET_MILLIS = 5_000;

    /** Where {@link ServiceLab#withServices} starts the services. */
    static final String ALPHA_HOME = "node-1";
    static final String BETA_HOME = "node-2";

    static final Copy[] BOTH = {Copy.PRIMARY, Copy.SHADOW};

    @Test
    void oneNodeLosesThePrimaryCopyItRaisesTheAlarmAndKeepsItsService() throws Exception {
        withServices(Disk.LOOP_DEVICES, s -> {
            Timeline t = new Timeline("one-copy-one-node");
            s.copy(1, Copy.PRIMARY).setReadOnly(true); // node-1's path to the primary fails; its service is alpha
            assertThat(s.p().await(1, "event=disk-copy copy=primary healthy=false degraded=true", WAIT)).as(s.p().log(1)).isTrue();
            assertThat(s.p().log(1)).contains("alarm=degraded-quorum-disk");
            t.mark("degraded alarm on node-1", s.p().log(1), "event=disk-copy copy=primary healthy=false");
            Thread.sleep(QUIET_MILLIS);
            assertThat(s.status(1).path("quorumDisk").path("primary").asText()).isEqualTo("failing");
            assertThat(s.status(1).path("quorumDisk").path("shadow").asText()).isEqualTo("ok");
            for (int on : new int[] {2, 3}) {
                assertThat(s.node(on, 1).path("verdict").asText()).as("node-%d's view of node-1", on).isEqualTo("up");
            }
            assertNothingMoved(s);
            t.print();
            s.copy(1, Copy.PRIMARY).setReadOnly(false);
            assertThat(s.p().await(1, "event=disk-copy copy=primary healthy=true", WAIT)).as(s.p().log(1)).isTrue();
        });
    }

    @Test
    void everyNodeLosesThePrimaryCopyAllRaiseTheAlarmAndKeepTheirServices() throws Exception {
        withServices(Disk.LOOP_DEVICES, s -> {
            int coordinator = s.p().awaitCoordinator();
            Timeline t = new Timeline("one-copy-all-nodes");
            for (int i = 1; i <= 3; i++) {
                s.copy(i, Copy.PRIMARY).setReadOnly(true); // the primary fails for everyone
            }
            for (int i = 1; i <= 3; i++) {
                assertThat(s.p().await(i, "event=disk-copy copy=primary healthy=false degraded=true", WAIT)).as(s.p().log(i)).isTrue();
                assertThat(s.p().log(i)).contains("alarm=degraded-quorum-disk");
                t.mark("degraded alarm on node-" + i, s.p().log(i), "event=disk-copy copy=primary healthy=false");
            }
            Thread.sleep(QUIET_MILLIS);
            for (int i = 1; i <= 3; i++) {
                assertThat(s.status(i).path("quorumDisk").path("primary").asText()).isEqualTo("failing");
                for (int j = 1; j <= 3; j++) {
                    if (j != i) {
                        assertThat(s.node(i, j).path("verdict").asText()).as("node-%d's view of node-%d", i, j).isEqualTo("up");
                    }
                }
            }
            // The coordinator keeps its lease: renewals need one copy.
            assertThat(s.p().log(coordinator)).doesNotContain("event=coordinator role=follower");
            assertNothingMoved(s);
            t.print();
        });
    }

    @Test
    void theOwnerLosesBothCopiesItStopsItsServiceAndLeavesAndTheServiceIsRecoveredAfterItWasFenced() throws Exception {
        withServices(Disk.LOOP_DEVICES, s -> {
            int coordinator = s.p().awaitCoordinator();
            int victim = coordinator == 1 ? 2 : 1; // an owner that is not the coordinator
            String service = victim == 1 ? "alpha" : "beta";
            Timeline t = new Timeline("both-copies-one-node");
            for (Copy copy : BOTH) {
                s.copy(victim, copy).setReadOnly(true);
            }
            assertThat(Poll.until(WAIT, () -> s.p().daemonPid(victim).isEmpty())).as(s.p().log(victim)).isTrue();
            String own = s.p().log(victim);
            int stopped = own.indexOf("event=workload-stopped workload=" + service);
            int allStopped = own.indexOf("event=workloads-stopped count=1 reason=lost-disk");
            int exit = own.indexOf("event=exit reason=lost-disk status=6");
            assertThat(stopped).as(own).isPositive();
            assertThat(allStopped).as(own).isGreaterThan(stopped);
            assertThat(exit).as("its service stopped before it exits:\n" + own).isGreaterThan(allStopped);
            t.mark("node-" + victim + " finds a copy failing", own, "event=disk-copy copy=\\S+ healthy=false");
            t.mark("node-" + victim + " stops " + service, own, "event=workload-stop workload=" + service);
            t.mark("node-" + victim + " stopped " + service, own, "event=workload-stopped workload=" + service);
            t.mark("node-" + victim + " exits (lost-disk)", own, "event=exit reason=lost-disk");

            String running = awaitRunningElsewhere(s, service, "node-" + victim);
            assertThat(s.awaitRunningOn(coordinator, service, running)).as(s.logs()).isTrue();
            String log = s.p().log(coordinator);
            int diskLost = find(log, peer(victim) + " from=[a-z-]+ to=disk-lost");
            int down = find(log, peer(victim) + " from=[a-z-]+ to=down");
            int fenced = log.indexOf("event=fenced " + peer(victim));
            int recovered = log.indexOf("event=workload-owner workload=" + service + " change=recover");
            assertThat(diskLost).as("its slot goes stale while its heartbeats still arrive:\n" + log).isPositive();
            assertThat(down).as("down once it is silent too:\n" + log).isGreaterThan(diskLost);
            assertThat(fenced).as(log).isGreaterThan(down);
            assertThat(recovered).as("recovered only after the fence is recorded:\n" + log).isGreaterThan(fenced);
            assertThat(s.workload(coordinator, service).path("reason").asText()).contains("was fenced");
            assertThat(s.p().machinePids(victim)).isEmpty();
            for (int i = 1; i <= 3; i++) {
                if (i != victim) {
                    assertThat(s.p().log(i)).as("only the node that lost the disk exits").doesNotContain("event=exit");
                }
            }
            t.mark("disk-lost on the coordinator", log, peer(victim) + " from=[a-z-]+ to=disk-lost");
            t.mark("down on the coordinator", log, peer(victim) + " from=[a-z-]+ to=down");
            t.mark("fenced", log, "event=fenced " + peer(victim));
            t.mark("owner record: recover", log, "event=workload-owner workload=" + service + " change=recover");
            t.markOwners(service + " started on " + running, s, service, running);
            t.print();
        });
    }

    @Test
    void everyNodeLosesBothCopiesAllStopTheirServicesAndLeaveAndNobodyIsFenced() throws Exception {
        withServices(Disk.LOOP_DEVICES, s -> {
            Timeline t = new Timeline("both-copies-all-nodes");
            for (int i = 1; i <= 3; i++) {
                for (Copy copy : BOTH) {
                    s.copy(i, copy).setReadOnly(true);
                }
            }
            for (int i = 1; i <= 3; i++) {
                int id = i;
                assertThat(Poll.until(WAIT, () -> s.p().daemonPid(id).isEmpty())).as(s.p().log(i)).isTrue();
            }
            for (int i = 1; i <= 3; i++) {
                String log = s.p().log(i);
                int allStopped = log.indexOf("event=workloads-stopped");
                assertThat(allStopped).as(log).isPositive();
                assertThat(log.indexOf("event=exit reason=lost-disk status=6")).as(log).isGreaterThan(allStopped);
                assertThat(log).doesNotContain("event=fenced").doesNotContain("event=fence-started").doesNotContain("change=recover");
                t.mark("node-" + i + " exits (lost-disk)", log, "event=exit reason=lost-disk");
            }
            String own1 = s.p().log(1);
            String own2 = s.p().log(2);
            assertThat(own1.indexOf("event=workload-stopped workload=alpha")).as(own1)
                    .isPositive().isLessThan(own1.indexOf("event=exit reason=lost-disk"));
            assertThat(own2.indexOf("event=workload-stopped workload=beta")).as(own2)
                    .isPositive().isLessThan(own2.indexOf("event=exit reason=lost-disk"));
            t.mark("node-1 stopped alpha", own1, "event=workload-stopped workload=alpha");
            t.mark("node-2 stopped beta", own2, "event=workload-stopped workload=beta");
            Thread.sleep(1_500); // longer than runningNow's window: a service still alive would have written a line
            assertThat(s.runningNow("alpha")).isEmpty();
            assertThat(s.runningNow("beta")).isEmpty();
            // Every instance that ever ran ended with its stop line: none was left behind or killed.
            OwnerCheck.Result owners = ServiceLab.owners(s.ownersLog(), s.p());
            assertThat(owners.instances()).allMatch(OwnerCheck.Instance::stopped, "stopped cleanly");
            for (int i = 1; i <= 3; i++) {
                assertThat(s.p().machinePids(i)).as("node-%d's machine", i).isEmpty();
            }
            t.print();
        });
    }

    @Test
    void theWholeNetworkFailsEveryoneSeesTheOthersNetworkLostAndNothingMoves() throws Exception {
        withServices(s -> {
            Timeline t = new Timeline("network-all-nodes");
            try {
                for (int i = 1; i <= 3; i++) {
                    s.c().host(i).linkDown(); // every ring of every node (the lab has one ring)
                }
                for (int i = 1; i <= 3; i++) {
                    for (int j = 1; j <= 3; j++) {
                        if (j != i) {
                            assertThat(s.p().await(i, peer(j) + " from=[a-z-]+ to=network-lost", WAIT)).as(s.p().log(i)).isTrue();
                            t.mark("node-" + i + " sees node-" + j + " network-lost", s.p().log(i), peer(j) + " from=[a-z-]+ to=network-lost");
                        }
                    }
                }
                Thread.sleep(QUIET_MILLIS);
                assertThat(s.node(2, 1).path("verdict").asText()).isEqualTo("network-lost");
                assertThat(s.node(2, 3).path("verdict").asText()).isEqualTo("network-lost");
                assertThat(s.node(2, 1).path("evidence").asText()).isNotEmpty();
                assertNothingMoved(s);
                assertThat(s.workload(3, "alpha").path("owner").asText()).isEqualTo(ALPHA_HOME);
            } finally {
                for (int i = 1; i <= 3; i++) {
                    s.c().host(i).linkUp();
                }
                t.at("links up again", Instant.now());
            }
            for (int i = 1; i <= 3; i++) {
                for (int j = 1; j <= 3; j++) {
                    if (j != i) {
                        assertThat(s.p().await(i, peer(j) + " from=network-lost to=up", WAIT)).as(s.p().log(i)).isTrue();
                    }
                }
            }
            t.mark("node-2 sees node-1 up again", s.p().log(2), peer(1) + " from=network-lost to=up");
            assertNothingMoved(s);
            assertThat(s.awaitRunningOn(3, "alpha", ALPHA_HOME)).isTrue();
            assertThat(s.awaitRunningOn(3, "beta", BETA_HOME)).isTrue();
            t.print();
        });
    }

    @Test
    void aHealthyNodesPowerSwitchFailsTheOthersRaiseTheAlarmAndItKeepsItsService() throws Exception {
        withServices(s -> {
            int sick = 1; // alpha's node
            for (int i : new int[] {2, 3}) {
                assertThat(s.p().await(i, "event=fence-device-changed device=ipmi-" + sick + " from=unknown to=ok", WAIT))
                        .as(s.p().log(i)).isTrue();
            }
            Timeline t = new Timeline("switch-healthy-node");
            s.p().ipmiBmc(sick).stop(); // the BMC dies; the node runs on
            for (int i : new int[] {2, 3}) {
                String alarm = "event=fence-no-path node-id=" + sick + " alarm=\"fencing node " + sick + " would fail";
                assertThat(s.p().await(i, alarm, WAIT)).as(s.p().log(i)).isTrue();
                t.mark("device failed on node-" + i, s.p().log(i), "event=fence-device-changed device=ipmi-" + sick + " from=ok to=failed");
                t.mark("no-path alarm on node-" + i, s.p().log(i), alarm);
            }
            assertThat(s.node(2, sick).path("fencePath").asText()).isEqualTo("no-path");
            Thread.sleep(QUIET_MILLIS);
            assertThat(s.p().daemonPid(sick)).isPresent();
            for (int i : new int[] {2, 3}) {
                // suspect (one channel late for half its timeout) is informational and may come on a loaded machine
                assertThat(s.p().log(i)).doesNotContainPattern(peer(sick) + " from=[a-z-]+ to=(down|disk-lost|network-lost|fenced)")
                        .doesNotContain("event=fence-started");
            }
            assertNothingMoved(s);
            t.print();
        });
    }

    @Test
    void aFailedNodeWhosePowerSwitchFailedIsNotRecoveredUntilAnOperatorConfirms() throws Exception {
        withServices(s -> {
            int coordinator = s.p().awaitCoordinator();
            int victim = coordinator == 1 ? 2 : 1; // an owner that is not the coordinator
            int operator = 6 - coordinator - victim;
            String service = victim == 1 ? "alpha" : "beta";
            assertThat(s.p().await(coordinator, "event=fence-device-changed device=ipmi-" + victim + " from=unknown to=ok", WAIT))
                    .as(s.p().log(coordinator)).isTrue();
            s.p().ipmiBmc(victim).stop();
            assertThat(s.p().await(coordinator, "event=fence-no-path node-id=" + victim, WAIT)).as(s.p().log(coordinator)).isTrue();
            Timeline t = new Timeline("switch-failed-node");
            s.p().crash(victim); // and then the node fails: kill -9 of its machine
            assertThat(s.p().await(coordinator, "event=fence-alarm node-id=" + victim, WAIT)).as(s.p().log(coordinator)).isTrue();
            String log = s.p().log(coordinator);
            assertThat(log).contains("no failover will take place and the cluster cannot determine the node's state");
            t.mark("down", log, peer(victim) + " from=[a-z-]+ to=down");
            t.mark("first fence round starts", log, "event=fence-started node-id=" + victim);
            t.mark("cannot-determine alarm", log, "event=fence-alarm node-id=" + victim);
            assertThat(Poll.until(WAIT, () -> {
                try {
                    return s.workload(coordinator, service).path("hold").asText().contains("waiting until it is fenced");
                } catch (Exception e) {
                    return false;
                }
            })).as(s.logs()).isTrue();
            assertThat(s.workload(coordinator, service).path("hold").asText()).contains("its owner node " + victim + " is down");
            Thread.sleep(10_000); // fencing retries and fails; nothing may count it dead meanwhile
            log = s.p().log(coordinator);
            assertThat(log).doesNotContain("event=fenced " + peer(victim)).doesNotContain("change=recover");
            assertThat(s.runningNow(service)).isEmpty();
            assertThat(s.workload(operator, service).path("owner").asText()).isEqualTo("node-" + victim);
            assertThat(s.workload(coordinator, service).path("hold").asText()).contains("waiting until it is fenced");

            t.at("operator runs baton fence confirm", Instant.now());
            ExecResult confirm = s.baton(operator, "fence", "confirm", "node-" + victim, "--reason", "checked: powered off by hand");
            assertThat(confirm.exitCode()).as(confirm.describe()).isZero();
            assertThat(confirm.stdout()).startsWith("confirmed");
            String running = awaitRunningElsewhere(s, service, "node-" + victim);
            assertThat(s.awaitRunningOn(coordinator, service, running)).as(s.logs()).isTrue();
            log = s.p().log(coordinator);
            int fenced = log.indexOf("event=fenced " + peer(victim));
            assertThat(log).contains("event=fence-operator-confirmed node-id=" + victim);
            assertThat(fenced).as(log).isPositive();
            assertThat(log.indexOf("event=workload-owner workload=" + service + " change=recover"))
                    .as("recovered only after the confirmed fence is recorded:\n" + log).isGreaterThan(fenced);
            t.mark("fenced (operator confirmed)", log, "event=fenced " + peer(victim));
            t.mark("owner record: recover", log, "event=workload-owner workload=" + service + " change=recover");
            t.markOwners(service + " started on " + running, s, service, running);
            t.print();
        });
    }

    // ------------------------------------------------------------------ helpers

    /** Nothing failed over, nobody was fenced, nobody left: both services run where they started, as the owners log says. */
    static void assertNothingMoved(Setup s) {
        String logs = s.logs();
        assertThat(logs).doesNotContain("change=recover").doesNotContain("event=fenced").doesNotContain("to=down ")
                .doesNotContain("event=exit");
        assertThat(s.runningNow("alpha")).isEqualTo(ALPHA_HOME);
        assertThat(s.runningNow("beta")).isEqualTo(BETA_HOME);
        for (int i = 1; i <= 3; i++) {
            assertThat(s.p().daemonPid(i)).as("node-%d's daemon", i).isPresent();
        }
    }

    /** Waits until {@code service} runs on a node other than {@code not} (owners log); returns that node. */
    static String awaitRunningElsewhere(Setup s, String service, String not) {
        assertThat(Poll.until(WAIT, () -> !s.runningNow(service).isEmpty() && !s.runningNow(service).equals(not)))
                .as(s.logs()).isTrue();
        return s.runningNow(service);
    }

    /** The index of the first match of {@code regex} in {@code log}, -1 if none. */
    static int find(String log, String regex) {
        Matcher m = Pattern.compile(regex).matcher(log);
        return m.find() ? m.start() : -1;
    }

    /**
     * The observed timeline of one scenario: instants of log lines (their {@code ts=}) relative to
     * when the fault was injected, printed as {@code timeline NAME +MS what} lines.
     */
    static final class Timeline {
        private static final Pattern TS = Pattern.compile("ts=(\\S+)");
        private final String name;
        private final Instant start = Instant.now();
        private final List<String> lines = new ArrayList<>();

        Timeline(String name) {
            this.name = name;
        }

        /** The first line of {@code log} written since the fault that matches {@code regex}. */
        void mark(String what, String log, String regex) {
            Matcher m = Pattern.compile(regex).matcher(log);
            while (m.find()) {
                int from = log.lastIndexOf('\n', m.start()) + 1;
                Matcher ts = TS.matcher(log.substring(from, m.start()));
                if (ts.find() && !Instant.parse(ts.group(1)).isBefore(start)) {
                    at(what, Instant.parse(ts.group(1)));
                    return;
                }
            }
            lines.add("timeline " + name + " (none) " + what);
        }

        /** The first start of {@code service} on {@code node} in the owners log after the fault. */
        void markOwners(String what, Setup s, String service, String node) throws Exception {
            Pattern p = Pattern.compile("^t=(\\d+) workload=" + Pattern.quote(service) + " node=" + Pattern.quote(node) + " .* event=start$");
            long from = start.getEpochSecond() * 1_000_000_000L + start.getNano();
            for (String l : Files.readAllLines(s.ownersLog())) {
                Matcher m = p.matcher(l);
                if (m.find() && Long.parseLong(m.group(1)) >= from) {
                    long ns = Long.parseLong(m.group(1));
                    at(what, Instant.ofEpochSecond(ns / 1_000_000_000L, ns % 1_000_000_000L));
                    return;
                }
            }
            lines.add("timeline " + name + " (none) " + what);
        }

        void at(String what, Instant when) {
            lines.add("timeline " + name + " +" + Duration.between(start, when).toMillis() + " ms " + what);
        }

        void print() {
            lines.forEach(System.out::println);
        }
    }
}
