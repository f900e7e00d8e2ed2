package baton.it;

import static org.assertj.core.api.Assertions.assertThat;

import baton.cli.PowerLab;
import baton.core.disk.Copy;
import baton.core.disk.DiskLayout;
import baton.lab.ExecResult;
import baton.lab.LoopDevice;
import baton.lab.Poll;
import baton.lab.owners.OwnedService;
import baton.lab.owners.OwnerCheck;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The workload tests' lab: a 3-node cluster whose node daemons are the machines of real IPMI
 * BMC simulators, two {@code exec} test services whose every instance logs start, alive and
 * stop lines into an owners log outside the cluster, and the external "never two owners"
 * checker over that log after every test. Shared by {@link WorkloadIT} and
 * {@link FailureScenariosIT}.
 */
final class ServiceLab {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Duration WAIT = Duration.ofSeconds(60);
    /** The test service writes a sign of life this often. */
    static final long ALIVE_MILLIS = 200;
    static final String FAST_MONITOR = "monitorIntervalMillis: 4000\nmonitorTimeoutMillis: 3000";

    private ServiceLab() {
    }

    /** Where the nodes find the quorum disk. */
    enum Disk {
        /** One file with both copies, shared by every node. */
        FILE,
        /**
         * Two backing files (primary, shadow), each node through its own loop devices over them,
         * so that one copy can fail for one node ({@link Setup#copy}).
         */
        LOOP_DEVICES
    }

    /** The never-two-owners check over {@code log}, with the power-offs of {@code p}'s machines as evidence. */
    static OwnerCheck.Result owners(Path log, PowerLab p) throws java.io.IOException {
        return OwnerCheck.check(log, ALIVE_MILLIS * 1_000_000L * 3, p.powerOffs());
    }

    /**
     * A running cluster with the test services, and the owners log. {@code loops[node][copy]}
     * are node's own loop devices over the shared copies ({@link Disk#LOOP_DEVICES}; else null).
     */
    record Setup(Cluster c, PowerLab p, Path ownersLog, LoopDevice[][] loops) {
        /** Node {@code node}'s own device for {@code copy} (setReadOnly(true) makes that node's writes to it fail). */
        LoopDevice copy(int node, Copy copy) {
            if (loops == null) {
                throw new IllegalStateException("this cluster runs on one file; use Disk.LOOP_DEVICES");
            }
            return loops[node][copy.ordinal()];
        }

        /** Node {@code on}'s status file, as {@code baton status --json} prints it. */
        JsonNode status(int on) throws Exception {
            return ServiceLab.status(c.cluster, on);
        }

        JsonNode workload(int on, String name) throws Exception {
            return ServiceLab.workload(c.cluster, on, name);
        }

        /** Node {@code on}'s view of node {@code id} in its status ({@code verdict}, {@code evidence}, {@code fencePath}, ...). */
        JsonNode node(int on, int id) throws Exception {
            for (JsonNode n : status(on).path("nodes")) {
                if (n.path("id").asInt() == id) {
                    return n;
                }
            }
            throw new AssertionError("no node " + id + " in the status of node-" + on);
        }

        /** Waits until node {@code on} sees {@code name} running on {@code owner}; returns whether it did. */
        boolean awaitRunningOn(int on, String name, String owner) {
            return Poll.until(WAIT, () -> {
                try {
                    JsonNode w = workload(on, name);
                    return owner.equals(w.path("owner").asText()) && w.path("desired").asText().equals("running")
                            && !w.has("next") && lastAliveOn(name).equals(owner);
                } catch (Exception | AssertionError e) {
                    // No view yet, or one without the workload: ask again.
                    return false;
                }
            });
        }

        /** The node of the newest sign of life of {@code name} in the owners log. */
        String lastAliveOn(String name) throws Exception {
            String node = "";
            Pattern p = Pattern.compile("workload=" + Pattern.quote(name) + " node=(\\S+) .* event=(start|alive)$");
            for (String line : Files.readAllLines(ownersLog)) {
                Matcher m = p.matcher(line);
                if (m.find()) {
                    node = m.group(1);
                }
            }
            return node;
        }

        /** The node that runs {@code name} now, as the owners log says (its newest line a start or alive within 1 s); "" for none. */
        String runningNow(String name) {
            List<String> lines;
            try {
                lines = Files.readAllLines(ownersLog);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            long now = System.currentTimeMillis() * 1_000_000L;
            java.util.Map<String, String[]> newest = new java.util.TreeMap<>();
            Pattern p = Pattern.compile("^t=(\\d+) workload=" + Pattern.quote(name) + " node=(\\S+) .* event=(start|alive|stop)$");
            for (String line : lines) {
                Matcher m = p.matcher(line);
                if (m.find()) {
                    newest.put(m.group(2), new String[] {m.group(1), m.group(3)});
                }
            }
            List<String> running = new ArrayList<>();
            newest.forEach((node, last) -> {
                if (!last[1].equals("stop") && now - Long.parseLong(last[0]) < 1_000_000_000L) {
                    running.add(node);
                }
            });
            return String.join(",", running);
        }

        /** The external checker over everything the test services logged. */
        void assertNeverTwoOwners() throws Exception {
            OwnerCheck.Result r = owners(ownersLog, p);
            assertThat(OwnerCheck.firstProblem(r)).as("owners log " + ownersLog).isEmpty();
            assertThat(r.instances()).isNotEmpty();
        }

        /** Runs {@code baton ARGS} on node {@code on} as that node's operator, confirmed, waiting up to 60 s for the answer. */
        ExecResult baton(int on, String... args) {
            List<String> all = new ArrayList<>(List.of(args));
            all.addAll(List.of("--config", c.config(on).toString(), "--run-dir", c.runDir().toString(), "--as", "node-" + on,
                    "--yes", "--wait", "60"));
            return c.baton(on, all.toArray(String[]::new));
        }

        /**
         * Waits until {@code name} runs, and moves it to {@code home} if it started elsewhere: the
         * coordinator places a service as soon as it holds the lease, and a node that joins a moment
         * later (a slow start on a loaded machine) misses its preferred service, which then stays
         * where it is (sticky, no failback).
         */
        void home(String name, String home) {
            assertThat(Poll.until(WAIT, () -> {
                try {
                    JsonNode w = workload(1, name);
                    return w.path("desired").asText().equals("running") && !w.has("next")
                            && lastAliveOn(name).equals(w.path("owner").asText());
                } catch (Exception | AssertionError e) {
                    // Not answering yet, or a view without the workload yet: ask again.
                    return false;
                }
            })).as(this::startFailure).isTrue();
            String owner;
            try {
                owner = workload(1, name).path("owner").asText();
            } catch (Exception e) {
                throw new AssertionError(e);
            }
            if (!owner.equals(home)) {
                ExecResult r = baton(1, "service", "relocate", name, "--to", home);
                assertThat(r.exitCode()).as(r.describe()).isZero();
            }
            assertThat(awaitRunningOn(1, name, home)).as(this::startFailure).isTrue();
        }

        /** Why the services did not start where they should: node-1's status, the owners log, every daemon log. */
        String startFailure() {
            String status;
            try {
                status = status(1).toPrettyString();
            } catch (Exception | AssertionError e) {
                status = "(no status: " + e + ")";
            }
            String owners;
            try {
                owners = Files.readString(ownersLog);
            } catch (java.io.IOException e) {
                owners = "(no owners log: " + e + ")";
            }
            return "node-1's status:\n" + status + "\nowners log:\n" + owners + "\n" + logs();
        }

        /** Every daemon log, node by node, for assertion messages. */
        String logs() {
            StringBuilder b = new StringBuilder();
            for (int i = 1; i <= c.size; i++) {
                b.append("---- node-").append(i).append(" ----\n").append(p.log(i));
            }
            return b.toString();
        }
    }

    interface Body {
        void run(Setup s) throws Exception;
    }

    /** {@link #withServices(Disk, Body)} on one quorum disk file. */
    static void withServices(Body body) throws Exception {
        withServices(Disk.FILE, body);
    }

    /**
     * A 3-node cluster with IPMI BMCs and two services: {@code alpha} prefers node-1 then node-2,
     * {@code beta} prefers node-2 and may restart once in place before it is relocated. Runs
     * {@code body} once both run where they prefer, then checks the owners log.
     */
    static void withServices(Disk disk, Body body) throws Exception {
        try (Cluster c = new Cluster(3); PowerLab p = new PowerLab(c.cluster)) {
            Path scripts = c.dir.resolve("scripts");
            Path control = OwnedService.write(scripts, ALIVE_MILLIS);
            Path log = c.dir.resolve("owners.log");
            Path state = c.dir.resolve("service-state");
            p.fencing(FAST_MONITOR);
            p.yaml("services:\n"
                    + OwnedService.yaml(10, "alpha", control, log, state, "    preferred: [node-1, node-2]\n")
                    + OwnedService.yaml(11, "beta", control, log, state, "    preferred: [node-2]\n    maxRestarts: 1\n"));
            LoopDevice[][] loops = null;
            switch (disk) {
                case FILE -> p.start(c.dir.resolve("quorum.img").toString(), null);
                case LOOP_DEVICES -> {
                    Path primary = c.dir.resolve("primary.img");
                    Path shadow = c.dir.resolve("shadow.img");
                    Files.write(primary, new byte[(int) DiskLayout.REGION_SIZE_BYTES]);
                    Files.write(shadow, new byte[(int) DiskLayout.REGION_SIZE_BYTES]);
                    loops = new LoopDevice[c.size + 1][];
                    for (int i = 1; i <= c.size; i++) {
                        loops[i] = new LoopDevice[] {c.lab.loopDevice(primary, true), c.lab.loopDevice(shadow, true)};
                        p.diskPaths(i, loops[i][0].path().toString(), loops[i][1].path().toString());
                    }
                    p.start(null, null);
                }
            }
            Setup s = new Setup(c, p, log, loops);
            try {
                s.home("alpha", "node-1");
                s.home("beta", "node-2");
                body.run(s);
            } finally {
                s.assertNeverTwoOwners();
            }
        }
    }

    /** Node {@code on}'s status file, as {@code baton status --json} prints it. */
    static JsonNode status(baton.cli.LabCluster c, int on) throws Exception {
        ExecResult r = c.baton(on, "status", "--json", "--config", c.config(on).toString(), "--run-dir", c.runDir().toString(),
                "--node", "node-" + on);
        assertThat(r.exitCode()).as(r.describe()).isZero();
        return JSON.readTree(r.stdout());
    }

    /** Workload {@code name} in node {@code on}'s status. */
    static JsonNode workload(baton.cli.LabCluster c, int on, String name) throws Exception {
        for (JsonNode w : status(c, on).path("workloads")) {
            if (w.path("name").asText().equals(name)) {
                return w;
            }
        }
        throw new AssertionError("no workload " + name + " in the status of node-" + on);
    }

    static String peer(int id) {
        return "peer=node-" + id + " peer-id=" + id;
    }

    /** A node that is none of {@code not} (the highest such). */
    static int other(int... not) {
        for (int i = 3; i >= 1; i--) {
            int id = i;
            if (java.util.Arrays.stream(not).noneMatch(n -> n == id)) {
                return i;
            }
        }
        throw new IllegalStateException();
    }
}
