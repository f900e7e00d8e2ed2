package baton.lab.bmc;

import baton.lab.Poll;
import baton.lab.ExecResult;
import baton.lab.Host;
import baton.lab.LabProcess;
import baton.lab.MachineCgroup;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.UUID;

/**
 * A real IPMI BMC for a lab host: OpenIPMI's {@code ipmi_sim}, speaking IPMI 2.0 (lanplus) over
 * UDP, whose chassis power IS a process on that host. Power on runs the machine command, power
 * off cuts it (ipmi_sim's SIGTERM, which the machine script turns into SIGKILL at once: a power
 * cut leaves no chance to shut down cleanly), power status says whether it runs. So the real
 * {@code fence_ipmilan} can fence a lab node exactly as it fences a server.
 *
 * <p><b>The machine</b> is every process the command starts, however it daemonizes: they all
 * live in the machine's {@link MachineCgroup}, which the script creates at power on and joins
 * before it execs the command. A power cut kills the whole cgroup; {@link #freezeMachine()} hangs
 * it whole. Power stays on while any of them runs, also after the command's main process has
 * exited on its own (a server whose daemon crashed still runs its VMs).
 *
 * <p><b>Where it listens.</b> ipmi_sim runs inside the node host's own network namespace and binds
 * the address and port it is given, normally the host's lab address and 623 (IPMI's port, not
 * the heartbeat port). Every other lab host reaches it through the lab switch, and the machine it
 * starts is a process of that host, in its namespace, like the node daemon. The price: the BMC
 * shares the node's cable, so {@code Host.linkDown()} cuts the BMC off too, as for a BMC that
 * shares the server's NIC. A BMC with its own cable would need a separate lab host per BMC, which
 * {@code Lab} does not offer; {@link #stop()} simulates the BMC's own failure (dead BMC or BMC
 * switch) while the node keeps running.
 *
 * <p><b>What ipmi_sim needs</b> (the files are written to {@code workDir}, the password only to
 * files of mode 0600, never to a command line): a LAN channel ({@code startlan 1 ... endlan}) with
 * the address and port; {@code serial 15 127.0.0.1 PORT+1 codec VM}, the system-interface channel
 * its power control is attached to (namespace-local, nothing connects to it);
 * {@code startcmd}/{@code startnow true} for the machine; a user with admin privilege; and an emu
 * command file that adds the BMC management controller at 0x20 and then
 * <em>enables</em> it ({@code mc_enable 0x20}): without that ipmi_sim opens no socket at all and
 * waits silently. fence_ipmilan must use {@code lanplus=1 cipher=3}: ipmi_sim's lanplus has
 * cipher suite 3 (HMAC-SHA1, AES-128) but not ipmitool's default 17.
 */
public final class IpmiBmc implements AutoCloseable {
    /** How long ipmi_sim may take to answer its first power status; it answers within a second when healthy. */
    static final Duration START_TIMEOUT = Duration.ofSeconds(10);

    /**
     * Bound on one ipmitool call: it waits {@link #PROBE_WAIT_SECONDS} for an answer, retries
     * once, and a lanplus session takes four round trips. The slack covers a slow machine.
     */
    static final Duration PROBE_TIMEOUT = Duration.ofSeconds(8);

    static final int PROBE_WAIT_SECONDS = 1;

    /**
     * After its SIGTERM, how long ipmi_sim lets the machine script run before SIGKILL. The script
     * cuts the machine at once on SIGTERM; this only bounds a stuck script, and is longer than
     * the script's own bounds (2 s to freeze, 5 s to see the cgroup empty) so that ipmi_sim never
     * kills the script halfway through a cut, which could leave the cgroup frozen.
     */
    static final int KILL_WAIT_SECONDS = 10;

    /** How long killed processes may take to disappear: longer means one is stuck in the kernel. */
    static final Duration KILL_TIMEOUT = Duration.ofSeconds(10);

    /** IPMI 2.0 limits: user names up to 16 bytes, passwords up to 20. */
    static final int MAX_USER_BYTES = 16;

    static final int MAX_PASSWORD_BYTES = 20;

    /** ipmi_sim's cipher suite for lanplus, see the class comment. */
    public static final int CIPHER_SUITE = 3;

    private final Host host;
    private final InetAddress listen;
    private final int port;
    private final String user;
    private final String password;
    private final Path workDir;
    private final MachineCgroup cgroup;
    private final LabProcess sim;
    private boolean closed;

    private IpmiBmc(Host host, InetAddress listen, int port, String user, String password, Path workDir, MachineCgroup cgroup, LabProcess sim) {
        this.host = host;
        this.listen = listen;
        this.port = port;
        this.user = user;
        this.password = password;
        this.workDir = workDir;
        this.cgroup = cgroup;
        this.sim = sim;
    }

    /**
     * Starts a BMC inside {@code host} listening on {@code listen}:{@code port} (UDP; {@code port
     * + 1} on 127.0.0.1 of that host is taken too, for the serial channel) with one admin user,
     * powers the machine on (runs {@code machineCommand} inside {@code host}, its output appended
     * to {@code workDir/machine.log}) and returns once the BMC answers a power status over
     * lanplus. Throws, leaving nothing running, if it does not answer within {@link #START_TIMEOUT}.
     */
    public static IpmiBmc start(Host host, InetAddress listen, int port, String user, String password,
            List<String> machineCommand, Path workDir) {
        if (!(listen instanceof Inet4Address)) {
            throw new IllegalArgumentException("the BMC listens on an IPv4 address, got " + listen);
        }
        if (port < 1 || port > 65534) {
            throw new IllegalArgumentException("port " + port + " out of 1..65534 (port + 1 is the serial channel)");
        }
        BmcFiles.checkToken("user", user, MAX_USER_BYTES);
        BmcFiles.checkToken("password", password, MAX_PASSWORD_BYTES);
        if (machineCommand.isEmpty()) {
            throw new IllegalArgumentException("empty machine command");
        }
        Path dir = workDir.toAbsolutePath().normalize();
        // The machine script's path goes into lan.conf's quoted startcmd and is split on blanks there.
        if (!dir.toString().matches("[A-Za-z0-9_./+-]+")) {
            throw new IllegalArgumentException("workDir " + dir + " must be a path without blanks, quotes or other special characters");
        }
        MachineCgroup cgroup = MachineCgroup.forHost(host);
        try {
            Files.createDirectories(dir.resolve("state"));
            Files.deleteIfExists(dir.resolve("machine.pid"));
            BmcFiles.write(dir.resolve("machine.sh"), machineScript(dir, cgroup.dirForOtherNamespaces(), machineCommand), "rwx------");
            BmcFiles.write(dir.resolve("lan.conf"), lanConf(dir, listen, port, user, password), "rw-------");
            BmcFiles.write(dir.resolve("bmc.emu"), EMU, "rw-------");
            BmcFiles.write(dir.resolve("password"), password, "rw-------");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the BMC's files to " + dir, e);
        }
        LabProcess sim = host.start(List.of("ipmi_sim", "-n",
                "-c", dir.resolve("lan.conf").toString(),
                "-f", dir.resolve("bmc.emu").toString(),
                "-s", dir.resolve("state").toString()), dir.resolve("ipmi_sim.log"), Map.of());
        IpmiBmc bmc = new IpmiBmc(host, listen, port, user, password, dir, cgroup, sim);
        boolean answered = false;
        try {
            answered = Poll.until(START_TIMEOUT, () -> !sim.isAlive() || bmc.powerStatus() != PowerStatus.NO_ANSWER) && sim.isAlive();
        } finally {
            if (!answered) {
                bmc.close();
            }
        }
        if (!answered) {
            throw new IllegalStateException("ipmi_sim on " + host.name() + " did not answer on " + listen.getHostAddress() + ":" + port
                    + " within " + START_TIMEOUT + (sim.isAlive() ? "" : " (it exited)") + "; its log:\n" + sim.log());
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

    /** The directory with the BMC's configuration, state and logs (ipmi_sim.log, machine.log). */
    public Path workDir() {
        return workDir;
    }

    /**
     * The options {@code fence_ipmilan} needs to reach this BMC, as its stdin keys (ip, ipport,
     * username, password, lanplus, cipher); add action and timeouts.
     */
    public Map<String, String> fenceIpmilanOptions() {
        Map<String, String> options = new LinkedHashMap<>();
        options.put("ip", listen.getHostAddress());
        options.put("ipport", Integer.toString(port));
        options.put("username", user);
        options.put("password", password);
        options.put("lanplus", "1");
        options.put("cipher", Integer.toString(CIPHER_SUITE));
        return options;
    }

    /** Asks the BMC over lanplus, with ipmitool from inside its host, as a fence agent would. */
    public PowerStatus powerStatus() {
        ExecResult r = chassisPower("status");
        if (!r.ok()) {
            return PowerStatus.NO_ANSWER;
        }
        String out = r.stdout().strip();
        return switch (out) {
            case "Chassis Power is on" -> PowerStatus.ON;
            case "Chassis Power is off" -> PowerStatus.OFF;
            default -> PowerStatus.NO_ANSWER;
        };
    }

    /** Powers the machine on through the BMC (as an operator would with ipmitool); true when the BMC took it. */
    public boolean powerOn() {
        return chassisPower("on").ok();
    }

    private ExecResult chassisPower(String what) {
        return host.run(PROBE_TIMEOUT, "ipmitool", "-I", "lanplus",
                "-H", listen.getHostAddress(), "-p", Integer.toString(port),
                "-U", user, "-f", workDir.resolve("password").toString(), "-C", Integer.toString(CIPHER_SUITE),
                "-N", Integer.toString(PROBE_WAIT_SECONDS), "-R", "1",
                "chassis", "power", what);
    }

    /** The pid of the machine's main process (the command), or empty while it is powered off or after it exited. */
    public OptionalLong machinePid() {
        return machine().map(h -> OptionalLong.of(h.pid())).orElse(OptionalLong.empty());
    }

    /** Every process of the machine (its cgroup's), sorted; empty while it is powered off. */
    public List<Long> machinePids() {
        return cgroup.pids();
    }

    /** When the machine's power went off, oldest first (see {@link PowerLog}). */
    public List<Long> powerOffs() {
        return PowerLog.read(workDir);
    }

    /** The machine's cgroup; it exists only while the machine is powered on. */
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

    /** True while ipmi_sim runs, i.e. until {@link #stop()} or {@link #close()}. */
    public boolean isRunning() {
        return sim.isAlive();
    }

    /**
     * The BMC dies (SIGKILL): it stops answering, as when the BMC or its switch fails. The
     * machine keeps running, as a server does when its BMC fails; {@link #close()} ends it.
     */
    public synchronized void stop() {
        sim.kill9();
        sim.waitFor(KILL_TIMEOUT);
    }

    /** Kills ipmi_sim and the machine (and whatever the machine started), and removes the files that hold the password. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        // Collect ipmi_sim's children (the machine script) before killing it: once their parent is gone they are orphans.
        List<ProcessHandle> victims = new ArrayList<>();
        ProcessHandle.of(sim.pid()).ifPresent(h -> h.descendants().forEach(victims::add));
        machine().ifPresent(victims::add);
        sim.kill9();
        victims.forEach(ProcessHandle::destroyForcibly);
        RuntimeException cut = null;
        try {
            // The machine itself: everything in its cgroup, including what it daemonized.
            cgroup.destroy();
        } catch (RuntimeException e) {
            cut = e;
        }
        sim.waitFor(KILL_TIMEOUT);
        boolean gone = Poll.until(KILL_TIMEOUT, () -> victims.stream().noneMatch(ProcessHandle::isAlive));
        try {
            Files.deleteIfExists(workDir.resolve("password"));
            Files.deleteIfExists(workDir.resolve("lan.conf"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete the BMC's password files in " + workDir, e);
        }
        if (cut != null) {
            throw cut;
        }
        if (!gone) {
            throw new IllegalStateException("the machine of the BMC on " + host.name() + " outlived SIGKILL by " + KILL_TIMEOUT + ": "
                    + victims.stream().filter(ProcessHandle::isAlive).map(h -> Long.toString(h.pid())).toList());
        }
    }

    /** The machine process, from the pid its script wrote when it started the command. */
    private Optional<ProcessHandle> machine() {
        String text;
        try {
            text = Files.readString(workDir.resolve("machine.pid"), StandardCharsets.US_ASCII).strip();
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + workDir.resolve("machine.pid"), e);
        }
        if (!text.matches("[0-9]{1,10}")) {
            return Optional.empty(); // Being written right now: the machine is only just starting.
        }
        // ProcessHandle remembers the start time, so a recycled pid is not mistaken for the machine.
        return ProcessHandle.of(Long.parseLong(text)).filter(ProcessHandle::isAlive);
    }

    /**
     * ipmi_sim runs startcmd through the shell and powers off with SIGTERM (SIGKILL
     * {@link #KILL_WAIT_SECONDS} later). The script is the power supply: it creates the machine's
     * cgroup, starts the command in a shell that joins the cgroup before it execs the command (so
     * nothing the machine runs is ever outside it), records the command's pid, and on SIGTERM cuts
     * the power at once: a power cut gives the machine no chance to shut down cleanly. The script
     * itself stays outside the cgroup, so freezing the machine never freezes its power supply.
     *
     * <p>The cut kills the main process first, which may not have joined the cgroup yet, then the
     * cgroup like {@link MachineCgroup#destroy()}; the script exits, and ipmi_sim sees the power
     * off, only once the cgroup is empty (or after its bounds, 2 s to freeze and 5 s to empty).
     */
    private static String machineScript(Path dir, Path cgroup, List<String> command) {
        StringBuilder cmd = new StringBuilder();
        for (String arg : command) {
            cmd.append(' ').append(shellQuote(arg));
        }
        return """
                #!/bin/sh
                # Written by baton.lab.bmc.IpmiBmc: ipmi_sim's startcmd, the machine behind the BMC's power.
                # The machine is every process in this freezer cgroup (see baton.lab.MachineCgroup).
                cgroup=%s
                machine=
                procs() { cat "$cgroup/cgroup.procs" 2>/dev/null; }
                killall9() { for p in $(procs); do kill -KILL "$p" 2>/dev/null; done; }
                cut() {
                    [ -n "$machine" ] && kill -KILL "$machine" 2>/dev/null
                    echo FROZEN > "$cgroup/freezer.state" 2>/dev/null
                    n=0
                    while [ "$(cat "$cgroup/freezer.state" 2>/dev/null)" = FREEZING ] && [ $n -lt 100 ]; do sleep 0.02; n=$((n + 1)); done
                    killall9
                    echo THAWED > "$cgroup/freezer.state" 2>/dev/null
                    n=0
                    while [ -n "$(procs)" ] && [ $n -lt 250 ]; do killall9; sleep 0.02; n=$((n + 1)); done
                    n=0
                    while [ -d "$cgroup" ] && ! rmdir "$cgroup" 2>/dev/null && [ $n -lt 50 ]; do sleep 0.02; n=$((n + 1)); done
                    [ -z "$(procs)" ] && %s
                    exit 0
                }
                trap cut TERM
                mkdir -p "$cgroup" || exit 1
                sh -c 'echo $$ > "$0/cgroup.procs" || exit 1; exec "$@"' "$cgroup"%s >> %s 2>&1 < /dev/null &
                machine=$!
                echo $machine > %s
                wait $machine
                # The main process ended on its own: the power stays on while anything it started runs.
                while [ -n "$(procs)" ]; do sleep 0.1 & wait $!; done
                rmdir "$cgroup" 2>/dev/null
                """.formatted(shellQuote(cgroup.toString()), PowerLog.shellAppend(shellQuote(dir.toString())), cmd, shellQuote(dir.resolve("machine.log").toString()),
                shellQuote(dir.resolve("machine.pid").toString()));
    }

    private static String shellQuote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }

    private static String lanConf(Path dir, InetAddress listen, int port, String user, String password) {
        String guid = UUID.randomUUID().toString().replace("-", "");
        return """
                # Written by baton.lab.bmc.IpmiBmc (ipmi_lan(5)). Holds the BMC password: mode 0600.
                name "baton-bmc"
                set_working_mc 0x20
                  startlan 1
                    addr %s %d
                    priv_limit admin
                    allowed_auths_callback md5
                    allowed_auths_user md5
                    allowed_auths_operator md5
                    allowed_auths_admin md5
                    guid %s
                  endlan
                  # The system interface that chassis power control hangs off; only reachable inside the host.
                  serial 15 127.0.0.1 %d codec VM
                  startcmd "%s"
                  startnow true
                  poweroff_wait 1
                  kill_wait %d
                  user 2 true "%s" "%s" admin 10 md5
                """.formatted(listen.getHostAddress(), port, guid, port + 1, dir.resolve("machine.sh"), KILL_WAIT_SECONDS, user, password);
    }

    /** ipmi_sim(8) starts with no controllers: add the BMC at 0x20 and enable it, which opens the channels. */
    private static final String EMU = """
            mc_setbmc 0x20
            mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr
            sel_enable 0x20 1000 0x0a
            mc_enable 0x20
            """;

    @Override
    public String toString() {
        return "ipmi_sim on " + host.name() + " at " + listen.getHostAddress() + ":" + port;
    }
}
