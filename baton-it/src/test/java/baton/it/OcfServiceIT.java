package baton.it;

import static org.assertj.core.api.Assertions.assertThat;

import baton.cli.PowerLab;
import baton.lab.ExecResult;
import baton.lab.Poll;
import baton.lab.owners.OwnedService;
import baton.lab.owners.OwnerCheck;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * A service of two resources of two kinds, run by the node daemons: the real OCF agent
 * {@code ocf:heartbeat:IPaddr2} (a service address on the node's interface) started first, then
 * an {@code exec} resource; stopped in reverse. The address moves with the service, by a relocate
 * and by a failover after a panic, and is never on two nodes at once.
 */
class OcfServiceIT {
    static final Duration WAIT = Duration.ofSeconds(60);

    /** Whether the service address is on node {@code id}'s interface. */
    static boolean hasAddress(Cluster c, int id, String ip) {
        ExecResult r = c.host(id).run(Duration.ofSeconds(10), "ip", "-o", "-4", "addr", "show", "dev", "eth0");
        return r.stdout().contains(" " + ip + "/24 ");
    }

    /** The nodes that hold the address now. */
    static java.util.List<Integer> holders(Cluster c, String ip) {
        java.util.List<Integer> out = new java.util.ArrayList<>();
        for (int i = 1; i <= c.size; i++) {
            if (hasAddress(c, i, ip)) {
                out.add(i);
            }
        }
        return out;
    }

    /** Waits until the owners log has {@code count} start lines of the service's exec part, the last on {@code node}. */
    static boolean awaitStarts(Path log, int count, String node) {
        return Poll.until(WAIT, () -> {
            try {
                java.util.List<String> starts = java.nio.file.Files.readAllLines(log).stream().filter(l -> l.endsWith("event=start")).toList();
                return starts.size() >= count && starts.getLast().contains(" node=" + node + " ");
            } catch (java.io.IOException e) {
                return false;
            }
        });
    }

    @Test
    void theServiceAddressMovesWithTheServiceByRelocateAndByFailover() throws Exception {
        try (Cluster c = new Cluster(3); PowerLab p = new PowerLab(c.cluster)) {
            Path control = OwnedService.write(c.dir.resolve("scripts"), ServiceLab.ALIVE_MILLIS);
            Path log = c.dir.resolve("owners.log");
            String ip = c.lab.tag().address(200);
            p.fencing(ServiceLab.FAST_MONITOR);
            p.yaml("""
                    services:
                      - id: 20
                        name: web
                        preferred: [node-1, node-2, node-3]
                        resources:
                          - name: web-ip
                            ocf: heartbeat:IPaddr2
                            params: {ip: %s, cidr_netmask: "24", nic: eth0}
                            monitorIntervalMillis: 1000
                          - name: web-main
                            exec:
                              start: [%s, start, %s, web, %s]
                              stop: [%s, stop, %s, web, %s]
                              status: [%s, status, %s, web, %s]
                            monitorIntervalMillis: 500
                    """.formatted(ip, control, log, c.dir.resolve("state"), control, log, c.dir.resolve("state"), control, log,
                    c.dir.resolve("state")));
            p.start(c.dir.resolve("quorum.img").toString(), null);
            // Wherever it was placed first, move it to node-1 (a node that joined late loses the first placement).
            assertThat(Poll.until(WAIT, () -> holders(c, ip).size() == 1)).as(p.log(1)).isTrue();
            if (!holders(c, ip).equals(java.util.List.of(1))) {
                ExecResult r = c.baton(2, "service", "relocate", "web", "--to", "node-1", "--config", c.config(2).toString(),
                        "--run-dir", c.runDir().toString(), "--as", "node-2", "--yes", "--wait", "60");
                assertThat(r.exitCode()).as(r.describe()).isZero();
            }
            assertThat(Poll.until(WAIT, () -> holders(c, ip).equals(java.util.List.of(1)))).as(p.log(1)).isTrue();
            assertThat(awaitStarts(log, 1, "node-1")).as(p.log(1)).isTrue();
            int starts = (int) java.nio.file.Files.readAllLines(log).stream().filter(l -> l.endsWith("event=start")).count();
            // Reachable from another node: the address really serves on node-1.
            assertThat(c.host(3).run(Duration.ofSeconds(10), "ping", "-c", "1", "-W", "2", ip).exitCode()).isZero();

            ExecResult r = c.baton(2, "service", "relocate", "web", "--to", "node-2", "--config", c.config(2).toString(),
                    "--run-dir", c.runDir().toString(), "--as", "node-2", "--yes", "--wait", "60");
            assertThat(r.exitCode()).as(r.describe()).isZero();
            assertThat(Poll.until(WAIT, () -> holders(c, ip).equals(java.util.List.of(2)))).as(p.log(1) + p.log(2)).isTrue();
            assertThat(awaitStarts(log, starts + 1, "node-2")).as(p.log(2)).isTrue();

            p.crash(2);
            // A lab power cut kills node-2's processes but leaves its namespace's interface configured
            // (a real machine's NIC goes dark): only the live nodes count.
            assertThat(Poll.until(WAIT, () -> holders(c, ip).stream().filter(h -> h != 2).count() == 1))
                    .as(p.log(1) + p.log(3)).isTrue();
            int survivor = holders(c, ip).stream().filter(h -> h != 2).findFirst().orElseThrow();
            assertThat(awaitStarts(log, starts + 2, "node-" + survivor)).as(p.log(survivor)).isTrue();
            String fencer = p.log(1).contains("event=fenced " + ServiceLab.peer(2)) ? p.log(1) : p.log(3);
            assertThat(fencer.indexOf("event=workload-owner workload=web change=recover"))
                    .isGreaterThan(fencer.indexOf("event=fenced " + ServiceLab.peer(2)));
            OwnerCheck.Result owners = ServiceLab.owners(log, p);
            assertThat(OwnerCheck.firstProblem(owners)).isEmpty();
            assertThat(owners.instances()).as(java.nio.file.Files.readString(log) + p.log(1) + p.log(2) + p.log(3))
                    .hasSizeGreaterThanOrEqualTo(3);
        }
    }
}
