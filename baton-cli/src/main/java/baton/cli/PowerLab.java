package baton.cli;

import baton.lab.ExecResult;
import baton.lab.Poll;
import baton.lab.bmc.IpmiBmc;
import baton.lab.bmc.RedfishBmc;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;

/**
 * A {@link LabCluster} whose node daemons are the machines of real BMC simulators: each node
 * host runs an IPMI BMC ({@code ipmi_sim}, device {@code ipmi-N} for {@code fence_ipmilan}) and,
 * if asked, a Redfish BMC ({@code redfish-N} for {@code fence_redfish}); the BMC chosen as the
 * node's power switch starts the daemon when it powers on and kills it when it powers off, so
 * fencing a node really stops it. Used by the fencing tests, the fence benchmarks and the demo.
 */
public final class PowerLab implements AutoCloseable {
    public enum Power { IPMI, REDFISH, NONE }

    public static final String USER = "baton";
    public static final String PASSWORD = "s3cret-bmc";
    /** A machine that is not a node: what a BMC that does not power the node switches. */
    static final List<String> DUMMY_MACHINE = List.of("sleep", "1000000");

    private final LabCluster cluster;
    private final Map<Integer, Power> power = new HashMap<>();
    private final Set<Integer> redfishToo = new HashSet<>();
    private final Set<Integer> wrongIpmiPassword = new HashSet<>();
    private final Map<Integer, String> levels = new HashMap<>();
    private final Map<Integer, String> nodeYaml = new HashMap<>();
    private final Map<Integer, String[]> diskPaths = new HashMap<>();
    private String fencing = "";
    private final Map<Integer, IpmiBmc> ipmi = new HashMap<>();
    private final Map<Integer, RedfishBmc> redfish = new HashMap<>();

    private String yaml = "";

    public PowerLab(LabCluster cluster) {
        this.cluster = cluster;
    }

    public LabCluster cluster() {
        return cluster;
    }

    /** Which BMC powers node {@code id}'s daemon (default IPMI); NONE: the lab starts it, only the poison pill can fence it. */
    public PowerLab power(int id, Power p) {
        power.put(id, p);
        return this;
    }

    /** Gives node {@code id} a Redfish BMC too (device redfish-N). */
    public PowerLab withRedfish(int id) {
        redfishToo.add(id);
        return this;
    }

    /** Configures ipmi-N with a wrong password: its calls fail as on a BMC whose password was changed. */
    public PowerLab wrongIpmiPassword(int id) {
        wrongIpmiPassword.add(id);
        return this;
    }

    /** Node {@code id}'s fencing levels as YAML flow, e.g. {@code [[ipmi-2], [redfish-2]]} (default: its own power BMC). */
    public PowerLab levels(int id, String yamlFlow) {
        levels.put(id, yamlFlow);
        return this;
    }

    /** More YAML for node {@code id}'s entry, e.g. {@code fenceDelayMillis: 3000}. */
    public PowerLab nodeYaml(int id, String yaml) {
        nodeYaml.put(id, yaml);
        return this;
    }

    /** The {@code fencing:} section's body, e.g. {@code monitorIntervalMillis: 2000}. */
    public PowerLab fencing(String yamlLines) {
        this.fencing = yamlLines;
        return this;
    }

    /** Node {@code id} opens the quorum disk at these paths instead of the cluster's (e.g. its own loop devices). */
    public PowerLab diskPaths(int id, String primary, String shadow) {
        diskPaths.put(id, new String[] {primary, shadow});
        return this;
    }

    private Power powerOf(int id) {
        return power.getOrDefault(id, Power.IPMI);
    }

    private boolean hasRedfish(int id) {
        return powerOf(id) == Power.REDFISH || redfishToo.contains(id);
    }

    /**
     * Writes the configuration (devices, levels, fencing settings), formats the quorum disk at
     * {@code primary}/{@code shadow}, starts every BMC (which powers its daemon on) and waits
     * until every node joined.
     */
    public void start(String primary, String shadow) throws IOException {
        Path dir = cluster.dir();
        Path good = secret(dir.resolve("bmc.password"), PASSWORD);
        Path wrong = secret(dir.resolve("bmc-wrong.password"), "not-the-password");
        StringBuilder y = new StringBuilder("fenceDevices:\n");
        for (int i = 1; i <= cluster.size(); i++) {
            String ip = cluster.host(i).address().getHostAddress();
            if (powerOf(i) != Power.NONE) {
                device(y, "ipmi-" + i, "fence_ipmilan", ipmiParameters(ip), wrongIpmiPassword.contains(i) ? wrong : good);
            }
            if (hasRedfish(i)) {
                device(y, "redfish-" + i, "fence_redfish", redfishParameters(ip), good);
            }
        }
        y.append(yaml);
        if (!fencing.isEmpty()) {
            y.append("fencing:\n");
            fencing.lines().forEach(l -> y.append("  ").append(l).append('\n'));
        }
        cluster.extraConfig(y.toString());
        cluster.nodeExtraConfig(i -> {
            String own = switch (powerOf(i)) {
                case IPMI -> "[[ipmi-" + i + "]]";
                case REDFISH -> "[[redfish-" + i + "]]";
                case NONE -> "[[poison-pill]]";
            };
            return "    fence: " + levels.getOrDefault(i, own) + "\n"
                    + (nodeYaml.containsKey(i) ? "    " + nodeYaml.get(i) + "\n" : "");
        });
        for (int i = 1; i <= cluster.size(); i++) {
            String[] p = diskPaths.getOrDefault(i, new String[] {primary, shadow});
            cluster.configure(i, p[0], p[1]);
        }
        ExecResult init = cluster.baton(1, "disk", "init", "--config", cluster.config(1).toString());
        if (init.exitCode() != 0) {
            throw new IllegalStateException("disk init failed: " + init.describe());
        }
        for (int i = 1; i <= cluster.size(); i++) {
            List<String> daemon = cluster.daemonCommand(i);
            if (powerOf(i) == Power.NONE) {
                cluster.start(i);
            } else {
                ipmi.put(i, IpmiBmc.start(cluster.host(i), cluster.host(i).address(), 623, USER, PASSWORD,
                        powerOf(i) == Power.IPMI ? daemon : DUMMY_MACHINE, Files.createDirectories(dir.resolve("ipmi-" + i))));
            }
            if (hasRedfish(i)) {
                redfish.put(i, RedfishBmc.start(cluster.host(i), cluster.host(i).address(), 443, USER, PASSWORD,
                        powerOf(i) == Power.REDFISH ? daemon : DUMMY_MACHINE, Files.createDirectories(dir.resolve("redfish-" + i))));
            }
        }
        for (int i = 1; i <= cluster.size(); i++) {
            int id = i;
            if (!Poll.until(LabCluster.WAIT, () -> log(id).contains("event=joined"))) {
                throw new IllegalStateException("node-" + i + " did not join; its log:\n" + log(i));
            }
        }
    }

    /** The parameters of ipmi-N, the IPMI BMC at {@code ip} (the password comes from a file). */
    public static Map<String, String> ipmiParameters(String ip) {
        Map<String, String> p = new java.util.LinkedHashMap<>();
        p.put("ip", ip);
        p.put("ipport", "623");
        p.put("username", USER);
        p.put("lanplus", "1");
        p.put("cipher", Integer.toString(IpmiBmc.CIPHER_SUITE));
        p.put("power_wait", "0");
        p.put("login_timeout", "2");
        p.put("ipmitool_timeout", "2");
        return p;
    }

    /** The parameters of redfish-N, the Redfish BMC at {@code ip} (the password comes from a file). */
    public static Map<String, String> redfishParameters(String ip) {
        Map<String, String> p = new java.util.LinkedHashMap<>();
        p.put("ip", ip);
        p.put("ipport", "443");
        p.put("username", USER);
        p.put("ssl_insecure", "1");
        p.put("systems_uri", "/redfish/v1/Systems/1");
        return p;
    }

    private static void device(StringBuilder y, String name, String agent, Map<String, String> parameters, Path password) {
        y.append("  ").append(name).append(":\n    agent: ").append(agent).append("\n    parameters:\n");
        parameters.forEach((k, v) -> y.append("      ").append(k).append(": \"").append(v).append("\"\n"));
        y.append("    secretFiles:\n      password: ").append(password).append('\n');
    }

    private static Path secret(Path file, String value) throws IOException {
        Files.writeString(file, value + "\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        return file;
    }

    /** The daemon's log (all its runs, when a BMC powered it on more than once). */
    public String log(int id) {
        try {
            Path file = switch (powerOf(id)) {
                case IPMI, REDFISH -> bmcDir(id).resolve("machine.log");
                case NONE -> null;
            };
            if (file == null) {
                return cluster.daemon(id) == null ? "" : cluster.daemon(id).log();
            }
            return Files.exists(file) ? Files.readString(file) : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Top-level YAML added to the configuration (e.g. {@code services:}, {@code ves:}). */
    public PowerLab yaml(String topLevel) {
        this.yaml = this.yaml + topLevel;
        return this;
    }

    /** Every process of node {@code id}'s machine: its daemon and what it started (VEs, services). */
    public List<Long> machinePids(int id) {
        return switch (powerOf(id)) {
            case IPMI -> ipmi.get(id).machinePids();
            case REDFISH -> redfish.get(id).machinePids();
            case NONE -> daemonPid(id).stream().boxed().toList();
        };
    }

    /** A system panic: kill -9 of every process of node {@code id}'s machine, without its BMC knowing. */
    public void crash(int id) {
        List<ProcessHandle> killed = new ArrayList<>();
        for (long pid : machinePids(id)) {
            ProcessHandle.of(pid).ifPresent(h -> {
                h.destroyForcibly();
                killed.add(h);
            });
        }
        // Evidence for the checkers once all of it is gone: nothing of the machine runs after this line.
        if (powerOf(id) != Power.NONE && Poll.until(Duration.ofSeconds(10), () -> killed.stream().noneMatch(ProcessHandle::isAlive))) {
            baton.lab.bmc.PowerLog.append(bmcDir(id));
        }
    }

    /** When each node's machine went off or crashed (node name to wall-clock nanoseconds), for {@link baton.lab.owners.OwnerCheck}. */
    public Map<String, List<Long>> powerOffs() {
        Map<String, List<Long>> offs = new HashMap<>();
        for (int id = 1; id <= cluster.size(); id++) {
            if (powerOf(id) != Power.NONE) {
                offs.put("node-" + id, baton.lab.bmc.PowerLog.read(bmcDir(id)));
            }
        }
        return offs;
    }

    private Path bmcDir(int id) {
        return powerOf(id) == Power.IPMI ? ipmi.get(id).workDir() : redfish.get(id).workDir();
    }

    /** A system hang: every process of node {@code id}'s machine frozen (its BMC still answers). */
    public void hang(int id) {
        switch (powerOf(id)) {
            case IPMI -> ipmi.get(id).freezeMachine();
            case REDFISH -> redfish.get(id).freezeMachine();
            case NONE -> throw new IllegalStateException("node-" + id + " has no BMC machine to freeze");
        }
    }

    /** The end of {@link #hang}. */
    public void resume(int id) {
        switch (powerOf(id)) {
            case IPMI -> ipmi.get(id).thawMachine();
            case REDFISH -> redfish.get(id).thawMachine();
            case NONE -> throw new IllegalStateException("node-" + id + " has no BMC machine to thaw");
        }
    }

    /**
     * One part of node {@code id}'s daemon hangs: its threads named {@code threadName} are frozen
     * (their own freezer cgroup), the rest runs on. {@link baton.lab.MachineCgroup#destroy()} on
     * the result ends it (and kills the daemon if it still runs).
     */
    public baton.lab.MachineCgroup freezeThreads(int id, String threadName) {
        long pid = daemonPid(id).orElseThrow(() -> new IllegalStateException("node-" + id + " does not run"));
        List<Long> tids = baton.lab.MachineCgroup.threadsNamed(pid, threadName);
        if (tids.isEmpty()) {
            throw new IllegalStateException("node-" + id + " (pid " + pid + ") has no thread named " + threadName);
        }
        baton.lab.MachineCgroup g = baton.lab.MachineCgroup.forHost(cluster.host(id));
        g.create();
        tids.forEach(g::addThread);
        // A JVM thread the kernel freezes while it runs Java code never reaches a safepoint, and the
        // whole JVM stops at the next one: no real stuck thread does that (a spinning loop polls for
        // safepoints, a blocked one is safe). So freeze it only while it waits in a system call.
        java.util.Random random = new java.util.Random(pid);
        for (int attempt = 0; attempt < 200; attempt++) {
            g.freeze();
            // In a system call, and the rest of the JVM still runs (a thread frozen inside the VM,
            // e.g. on its way out of a safepoint, would stop the others at the next one).
            if (tids.stream().allMatch(baton.lab.MachineCgroup::frozenInSystemCall) && othersRun(pid, threadName)) {
                return g;
            }
            g.thaw();
            try {
                Thread.sleep(1 + random.nextInt(7));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        g.destroy();
        throw new IllegalStateException("node-" + id + ": could not freeze " + threadName + " while it waits in a system call");
    }

    /** Whether the daemon's supervisor thread (it wakes every 50 ms) still goes round: the JVM is not stopped. */
    private static boolean othersRun(long pid, String frozen) {
        String witness = frozen.equals("baton-supervise") ? "baton-ticker" : "baton-supervise";
        List<Long> tids = baton.lab.MachineCgroup.threadsNamed(pid, witness);
        if (tids.isEmpty()) {
            return true;
        }
        long before = baton.lab.MachineCgroup.contextSwitches(tids.getFirst());
        try {
            Thread.sleep(600);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
        return baton.lab.MachineCgroup.contextSwitches(tids.getFirst()) - before >= 5;
    }

    /** The daemon's pid while it runs. */
    public OptionalLong daemonPid(int id) {
        return switch (powerOf(id)) {
            case IPMI -> ipmi.get(id).machinePid();
            case REDFISH -> redfish.get(id).machinePid();
            case NONE -> cluster.daemon(id).isAlive() ? OptionalLong.of(cluster.daemon(id).pid()) : OptionalLong.empty();
        };
    }

    public IpmiBmc ipmiBmc(int id) {
        return ipmi.get(id);
    }

    public RedfishBmc redfishBmc(int id) {
        return redfish.get(id);
    }

    /** Waits until some node's log says it became coordinator; returns its id (0 if none within the wait). */
    public int awaitCoordinator() {
        int[] found = {0};
        Poll.until(LabCluster.WAIT, () -> {
            for (int i = 1; i <= cluster.size(); i++) {
                if (log(i).contains("event=coordinator role=coordinator")) {
                    found[0] = i;
                    return true;
                }
            }
            return false;
        });
        return found[0];
    }

    /** Waits until node {@code id}'s log matches {@code regex}, for at most {@code wait}. */
    public boolean await(int id, String regex, Duration wait) {
        java.util.regex.Pattern p = java.util.regex.Pattern.compile(regex);
        return Poll.until(wait, () -> p.matcher(log(id)).find());
    }

    @Override
    public void close() {
        List<AutoCloseable> all = new ArrayList<>(ipmi.values());
        all.addAll(redfish.values());
        for (AutoCloseable b : all) {
            try {
                b.close();
            } catch (Exception e) {
                // the lab's close sweeps whatever is left
            }
        }
    }
}
