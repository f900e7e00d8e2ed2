package baton.lab.bmc;

import baton.lab.ExecResult;
import baton.lab.Host;
import baton.lab.LabProcess;
import baton.lab.MachineCgroup;
import baton.lab.Poll;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Redfish BMC for a lab host: {@link RedfishServer}, speaking HTTPS with a self-signed
 * certificate and HTTP Basic authentication, whose system's power IS a process on that host.
 * Power on runs the machine command, power off kills it (SIGTERM, SIGKILL
 * {@link MachinePower#KILL_WAIT} later) before the request returns, the system's PowerState says
 * whether it runs. So the real {@code fence_redfish} can fence a lab node exactly as it fences a
 * server, through {@link #fenceRedfishOptions()}. The IPMI counterpart is {@link IpmiBmc}.
 *
 * <p><b>The machine</b> is every process the command starts, however it daemonizes: they all
 * live in the machine's {@link MachineCgroup} (see {@link MachinePower}). Power off kills the
 * whole cgroup; {@link #freezeMachine()} hangs it whole.
 *
 * <p><b>Where it listens.</b> The server is a small JVM (32 MB heap, serial GC) started inside the
 * node host's network namespace, because lab hosts are namespaces and the JVM that runs the tests
 * is not in any of them. It binds the address and port it is given, normally the host's lab
 * address and 443; every other lab host reaches it through the lab switch. As with
 * {@link IpmiBmc}, the BMC shares the node's cable ({@code Host.linkDown()} cuts it off too), and
 * {@link #stop()} simulates the BMC's own failure while the machine keeps running.
 *
 * <p><b>Secrets.</b> The password is written only to files of mode 0600 in {@code workDir} (itself
 * made 0700): {@code password}, which the server reads, and {@code curl.conf}, with which
 * {@link #powerStatus()} asks the BMC. It never appears on a command line. The server makes its
 * key and certificate at every start ({@code bmc.p12}); nothing is checked in. {@link #close()}
 * deletes all three.
 */
public final class RedfishBmc implements AutoCloseable {
    /**
     * How long the server may take to answer its first power status: two JVM starts (the server
     * and the keytool it runs), about 1.5 s on an idle machine, several times that on one busy
     * building and testing in parallel.
     */
    static final Duration START_TIMEOUT = Duration.ofSeconds(20);

    /** Bound on one curl request: the server answers in milliseconds, a power off within {@link MachinePower#KILL_WAIT}. */
    static final int PROBE_SECONDS = 5;

    /** Bound on one curl process, its own bound plus time to start. */
    static final Duration PROBE_TIMEOUT = Duration.ofSeconds(PROBE_SECONDS + 3);

    /** How long killed processes may take to disappear: longer means one is stuck in the kernel. */
    static final Duration KILL_TIMEOUT = MachinePower.KILL_TIMEOUT;

    /** Users and passwords go into curl's config and into fence agents' key=value stdin: see {@link BmcFiles#checkToken}. */
    static final int MAX_TOKEN_BYTES = 64;

    /** The server's JVM: a handful of requests and one child process need little heap, and start speed matters more than peak speed. */
    static final List<String> SERVER_JVM_OPTIONS = List.of("-Xmx32m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");

    private static final Pattern POWER_STATE = Pattern.compile("\"PowerState\"\\s*:\\s*\"(On|Off)\"");

    private final Host host;
    private final InetAddress listen;
    private final int port;
    private final String user;
    private final String password;
    private final Path workDir;
    private final MachineCgroup cgroup;
    private final LabProcess server;
    private boolean closed;

    private RedfishBmc(Host host, InetAddress listen, int port, String user, String password, Path workDir, MachineCgroup cgroup, LabProcess server) {
        this.host = host;
        this.listen = listen;
        this.port = port;
        this.user = user;
        this.password = password;
        this.workDir = workDir;
        this.cgroup = cgroup;
        this.server = server;
    }

    /**
     * Starts a BMC inside {@code host} listening on {@code listen}:{@code port} (HTTPS) with one
     * user, powers the machine on (runs {@code machineCommand} inside {@code host}, its output
     * appended to {@code workDir/machine.log}) and returns once the BMC reports the system On.
     * Throws, leaving nothing running, if it does not within {@link #START_TIMEOUT}.
     */
    public static RedfishBmc start(Host host, InetAddress listen, int port, String user, String password,
            List<String> machineCommand, Path workDir) {
        // The lab is IPv4; an IPv6 address would also need brackets in every URL.
        if (!(listen instanceof Inet4Address)) {
            throw new IllegalArgumentException("the BMC listens on an IPv4 address, got " + listen);
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " out of 1..65535");
        }
        BmcFiles.checkToken("user", user, MAX_TOKEN_BYTES);
        BmcFiles.checkToken("password", password, MAX_TOKEN_BYTES);
        if (user.contains(":")) {
            throw new IllegalArgumentException("user must not contain ':', which ends the user name in HTTP Basic authentication");
        }
        if (machineCommand.isEmpty()) {
            throw new IllegalArgumentException("empty machine command");
        }
        Path dir = workDir.toAbsolutePath().normalize();
        MachineCgroup cgroup = MachineCgroup.forHost(host);
        try {
            Files.createDirectories(dir);
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
            Files.deleteIfExists(dir.resolve(MachinePower.PID_FILE));
            // The server runs under ip netns exec, whose mount namespace has no cgroups: it reaches the cgroup through this JVM's root.
            MachinePower.writeScript(dir, cgroup.dirForOtherNamespaces(), machineCommand);
            BmcFiles.write(dir.resolve(RedfishServer.PASSWORD_FILE), password, "rw-------");
            // curl's config syntax: a quoted value; checkToken keeps quotes and backslashes out.
            BmcFiles.write(dir.resolve("curl.conf"), "user = \"" + user + ":" + password + "\"\n", "rw-------");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the BMC's files to " + dir, e);
        }
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(SERVER_JVM_OPTIONS);
        command.addAll(List.of("-cp", serverClassPath(), RedfishServer.class.getName(),
                dir.toString(), listen.getHostAddress(), Integer.toString(port), user));
        LabProcess server = host.start(command, dir.resolve("redfish.log"), Map.of());
        RedfishBmc bmc = new RedfishBmc(host, listen, port, user, password, dir, cgroup, server);
        boolean answered = false;
        try {
            answered = server.awaitLog(RedfishServer.READY, START_TIMEOUT) && bmc.powerStatus() == PowerStatus.ON;
        } finally {
            if (!answered) {
                bmc.close();
            }
        }
        if (!answered) {
            throw new IllegalStateException("the Redfish BMC on " + host.name() + " did not report its system On at https://"
                    + listen.getHostAddress() + ":" + port + " within " + START_TIMEOUT + (server.isAlive() ? "" : " (it exited)")
                    + "; its log:\n" + server.log());
        }
        return bmc;
    }

    public Host host() {
        return host;
    }

    public InetAddress address() {
        return listen;
    }

    public int port() {
        return port;
    }

    public String user() {
        return user;
    }

    /** The directory with the BMC's script, certificate and logs (redfish.log, machine.log). */
    public Path workDir() {
        return workDir;
    }

    /** The path of the one system, the machine: what {@code fence_redfish} calls {@code systems_uri}. */
    public String systemUri() {
        return RedfishServer.SYSTEM;
    }

    /**
     * The options {@code fence_redfish} needs to reach this BMC, as its stdin keys (ip, ipport,
     * username, password, ssl_insecure for the self-signed certificate, systems_uri); add action
     * and timeouts. Without systems_uri the agent finds the system itself, through the service
     * root and the Systems collection, at two more requests per call.
     */
    public Map<String, String> fenceRedfishOptions() {
        Map<String, String> options = new LinkedHashMap<>();
        options.put("ip", listen.getHostAddress());
        options.put("ipport", Integer.toString(port));
        options.put("username", user);
        options.put("password", password);
        options.put("ssl_insecure", "1");
        options.put("systems_uri", RedfishServer.SYSTEM);
        return options;
    }

    /** Asks the BMC for the system's PowerState over HTTPS, with curl from inside its host, as a fence agent would. */
    public PowerStatus powerStatus() {
        return request("GET", RedfishServer.SYSTEM, null, Optional.of(curlConfig()))
                .filter(a -> a.status() == 200)
                .map(a -> POWER_STATE.matcher(a.body()))
                .filter(Matcher::find)
                .map(m -> m.group(1).equals("On") ? PowerStatus.ON : PowerStatus.OFF)
                .orElse(PowerStatus.NO_ANSWER);
    }

    /** An HTTP status and body from the BMC. */
    record Answer(int status, String body) {}

    /**
     * One HTTPS request to the BMC with curl from inside its host: {@code method} on {@code path},
     * with {@code jsonBody} unless null, authenticated by the curl config file {@code credentials}
     * ({@code user = "NAME:PASSWORD"}) if present. Empty if no HTTP answer came within
     * {@link #PROBE_SECONDS} (refused, unreachable, timed out).
     */
    Optional<Answer> request(String method, String path, String jsonBody, Optional<Path> credentials) {
        List<String> curl = new ArrayList<>(List.of("curl", "-sS", "--insecure", "--max-time", Integer.toString(PROBE_SECONDS),
                "-X", method, "-o", "-", "-w", "\n%{http_code}"));
        credentials.ifPresent(c -> curl.addAll(List.of("-K", c.toString())));
        if (jsonBody != null) {
            curl.addAll(List.of("-H", "Content-Type: application/json", "--data-binary", jsonBody));
        }
        curl.add("https://" + listen.getHostAddress() + ":" + port + path);
        ExecResult r = host.run(PROBE_TIMEOUT, curl.toArray(String[]::new));
        if (!r.ok()) {
            return Optional.empty();
        }
        String out = r.stdout();
        int lastLine = out.lastIndexOf('\n');
        String code = out.substring(lastLine + 1).strip();
        if (lastLine < 0 || !code.matches("[1-5][0-9][0-9]")) {
            return Optional.empty();
        }
        return Optional.of(new Answer(Integer.parseInt(code), out.substring(0, lastLine)));
    }

    /** The curl config with this BMC's user and password (mode 0600). */
    Path curlConfig() {
        return workDir.resolve("curl.conf");
    }

    /** The pid of the machine's main process (the command), or empty while it is powered off or after it exited. */
    public OptionalLong machinePid() {
        return MachinePower.running(workDir).map(h -> OptionalLong.of(h.pid())).orElse(OptionalLong.empty());
    }

    /** When the machine's power went off, oldest first (see {@link PowerLog}). */
    public List<Long> powerOffs() {
        return PowerLog.read(workDir);
    }

    /** Every process of the machine (its cgroup's), sorted; empty while it is powered off. */
    public List<Long> machinePids() {
        return cgroup.pids();
    }

    /** The machine's cgroup; it exists while the machine is powered on. */
    public MachineCgroup machineCgroup() {
        return cgroup;
    }

    /** The whole machine hangs (all its processes frozen) until {@link #thawMachine()}; its BMC still answers. Throws if it is off. */
    public void freezeMachine() {
        cgroup.freeze();
    }

    /** Ends {@link #freezeMachine()}'s hang. Throws if the machine is off. */
    public void thawMachine() {
        cgroup.thaw();
    }

    /** True while the server runs, i.e. until {@link #stop()} or {@link #close()}. */
    public boolean isRunning() {
        return server.isAlive();
    }

    /**
     * The BMC dies (SIGKILL): its port is closed, as when the BMC fails. The machine keeps
     * running, as a server does when its BMC fails; {@link #close()} ends it.
     */
    public synchronized void stop() {
        server.kill9();
        server.waitFor(KILL_TIMEOUT);
    }

    /** Kills the server and the machine (and whatever the machine started), and deletes the password, curl config and key. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        // Collect the server's children before killing it: once their parent is gone they are orphans.
        List<ProcessHandle> victims = new ArrayList<>();
        ProcessHandle.of(server.pid()).ifPresent(h -> h.descendants().forEach(victims::add));
        MachinePower.running(workDir).ifPresent(victims::add);
        server.kill9();
        victims.forEach(ProcessHandle::destroyForcibly);
        RuntimeException cut = null;
        try {
            // The machine itself: everything in its cgroup, including what it daemonized.
            cgroup.destroy();
        } catch (RuntimeException e) {
            cut = e;
        }
        server.waitFor(KILL_TIMEOUT);
        boolean gone = Poll.until(KILL_TIMEOUT, () -> victims.stream().noneMatch(ProcessHandle::isAlive));
        try {
            Files.deleteIfExists(workDir.resolve(RedfishServer.PASSWORD_FILE));
            Files.deleteIfExists(curlConfig());
            Files.deleteIfExists(workDir.resolve(RedfishServer.KEYSTORE));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete the BMC's secrets in " + workDir, e);
        }
        if (cut != null) {
            throw cut;
        }
        if (!gone) {
            throw new IllegalStateException("the machine of the BMC on " + host.name() + " outlived SIGKILL by " + KILL_TIMEOUT + ": "
                    + victims.stream().filter(ProcessHandle::isAlive).map(h -> Long.toString(h.pid())).toList());
        }
    }

    /**
     * Where the server's classes are: the folder or jar of this class, which is all it needs
     * besides the JDK. The test JVM's whole class path would do too, at the cost of a long command line.
     */
    private static String serverClassPath() {
        return baton.lab.LabProcess.classPathOf(RedfishServer.class);
    }

    @Override
    public String toString() {
        return "Redfish BMC on " + host.name() + " at https://" + listen.getHostAddress() + ":" + port;
    }
}
