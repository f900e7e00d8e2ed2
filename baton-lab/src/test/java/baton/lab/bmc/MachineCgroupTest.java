package baton.lab.bmc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import baton.lab.ExecResult;
import baton.lab.Host;
import baton.lab.Lab;
import baton.lab.LabTag;
import baton.lab.MachineCgroup;
import baton.lab.Poll;
import baton.lab.ProcStat;
import baton.lab.Sweeper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A lab machine is every process it started, however daemonized: powering it off through the
 * real BMC simulators (fenced by the real agents from another host) kills them all, a hang
 * freezes them all, and nothing (no process, no cgroup) is left after close.
 *
 * <p>The machine: {@code sh} starts {@code sleep 1000} in the background, {@code setsid sleep 1001}
 * (its own session), and a ticker daemonized with {@code setsid -f} (double fork: its parent exits
 * at once, so it is nobody's descendant in the machine), then execs {@code sleep 1002} as the
 * machine's main process. The ticker appends a line every 50 ms, so progress is visible.
 */
class MachineCgroupTest {
    private static final Duration AGENT_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration BOUND = Duration.ofSeconds(10);
    private static final String USER = "baton";
    private static final String PASSWORD = "fence-me-0";

    private static Lab lab;

    @TempDir
    Path dir;

    @BeforeAll
    static void createLab() {
        lab = Lab.create(2, false);
    }

    @AfterAll
    static void closeLab() {
        if (lab != null) {
            lab.close();
        }
    }

    private List<String> machine() {
        return List.of("sh", "-c", "sleep 1000 & setsid sleep 1001 & "
                + "setsid -f sh -c 'while :; do echo tick >> \"$0\"; sleep 0.05; done' \"$0\"; exec sleep 1002", ticks().toString());
    }

    private Path ticks() {
        return dir.resolve("ticks");
    }

    private IpmiBmc startIpmi(Lab in) {
        Host n1 = in.node(1);
        return IpmiBmc.start(n1, n1.address(), 623, USER, PASSWORD, machine(), dir.resolve("ipmi"));
    }

    private RedfishBmc startRedfish(Lab in) {
        Host n1 = in.node(1);
        return RedfishBmc.start(n1, n1.address(), 443, USER, PASSWORD, machine(), dir.resolve("redfish"));
    }

    @Test
    void ipmiPowerOffKillsEveryProcessOfTheMachine() throws IOException {
        try (IpmiBmc bmc = startIpmi(lab)) {
            Machine m = Machine.await(bmc.machineCgroup(), bmc.machinePid().orElseThrow());
            assertThat(bmc.machinePids()).containsAll(m.all());

            ExecResult off = fence("fence_ipmilan", bmc.fenceIpmilanOptions(), "off");
            assertThat(off.exitCode()).as(off.describe()).isZero();

            m.assertAllGone();
            assertThat(bmc.machinePids()).isEmpty();
            assertThat(bmc.machinePid()).isEmpty();
            assertThat(bmc.powerStatus()).isEqualTo(PowerStatus.OFF);
            assertTicksStopped();

            assertThat(bmc.powerOn()).isTrue();
            Machine again = Machine.await(bmc.machineCgroup(), awaitPid(() -> bmc.machinePid().isPresent() ? bmc.machinePid().getAsLong() : null));
            assertThat(again.main()).isNotEqualTo(m.main());
        }
        assertThat(lab.node(1).run(BOUND, "true").ok()).isTrue();
    }

    @Test
    void redfishPowerOffKillsEveryProcessOfTheMachine() throws IOException {
        try (RedfishBmc bmc = startRedfish(lab)) {
            Machine m = Machine.await(bmc.machineCgroup(), bmc.machinePid().orElseThrow());
            assertThat(bmc.machinePids()).containsAll(m.all());

            ExecResult off = fence("fence_redfish", bmc.fenceRedfishOptions(), "off");
            assertThat(off.exitCode()).as(off.describe()).isZero();

            // ForceOff answers only once the machine is gone: no polling.
            for (long pid : m.all()) {
                assertThat(running(pid)).as("pid %d after off", pid).isFalse();
            }
            assertThat(bmc.machineCgroup().exists()).isFalse();
            assertThat(bmc.powerStatus()).isEqualTo(PowerStatus.OFF);
            assertThat(bmc.workDir().resolve("redfish.log")).content().contains("ForceOff off: cut, ");
            assertTicksStopped();
        }
    }

    @Test
    void aFrozenMachineMakesNoProgressUntilThawedAndAPowerCutStillKillsIt() throws IOException {
        try (IpmiBmc bmc = startIpmi(lab)) {
            Machine m = Machine.await(bmc.machineCgroup(), bmc.machinePid().orElseThrow());

            bmc.freezeMachine();
            assertThat(bmc.machineCgroup().state()).hasValue("FROZEN");
            long frozenAt = tickCount();
            sleep(Duration.ofMillis(400));
            assertThat(tickCount()).as("a frozen machine's ticker does not tick").isEqualTo(frozenAt);
            for (long pid : m.all()) {
                // cgroup v1's freezer shows frozen tasks as D (uninterruptible), whatever they were doing.
                assertThat(ProcStat.read(pid).map(ProcStat::state)).as("pid %d frozen", pid).hasValue('D');
            }
            assertThat(bmc.powerStatus()).as("the BMC answers while its machine hangs").isEqualTo(PowerStatus.ON);

            bmc.thawMachine();
            assertThat(bmc.machineCgroup().state()).hasValue("THAWED");
            assertThat(Poll.until(BOUND, () -> tickCount() > frozenAt + 2)).as("the ticker runs on after thaw").isTrue();

            // A hung machine is what fencing is for: the cut must work on a frozen cgroup too.
            bmc.freezeMachine();
            ExecResult off = fence("fence_ipmilan", bmc.fenceIpmilanOptions(), "off");
            assertThat(off.exitCode()).as(off.describe()).isZero();
            m.assertAllGone();
        }
    }

    @Test
    void closeKillsEveryProcessAndLeavesNoCgroup() {
        Machine ipmi;
        MachineCgroup ipmiCgroup;
        try (IpmiBmc bmc = startIpmi(lab)) {
            ipmi = Machine.await(bmc.machineCgroup(), bmc.machinePid().orElseThrow());
            ipmiCgroup = bmc.machineCgroup();
            bmc.freezeMachine();
        }
        ipmi.assertAllGone();
        assertThat(ipmiCgroup.dir()).doesNotExist();

        Machine redfish;
        MachineCgroup redfishCgroup;
        try (RedfishBmc bmc = startRedfish(lab)) {
            redfish = Machine.await(bmc.machineCgroup(), bmc.machinePid().orElseThrow());
            redfishCgroup = bmc.machineCgroup();
        }
        redfish.assertAllGone();
        assertThat(redfishCgroup.dir()).doesNotExist();
        assertThat(labCgroups(lab.tag())).isEmpty();
    }

    @Test
    void closingTheLabKillsAFrozenMachineWhoseBmcWasNotClosed() {
        Machine m;
        MachineCgroup cgroup;
        IpmiBmc bmc = null;
        try (Lab other = Lab.create(1, false)) {
            bmc = startIpmi(other);
            m = Machine.await(bmc.machineCgroup(), bmc.machinePid().orElseThrow());
            cgroup = bmc.machineCgroup();
            bmc.freezeMachine();
        } finally {
            if (bmc != null) {
                bmc.close();
            }
        }
        m.assertAllGone();
        assertThat(cgroup.dir()).doesNotExist();
    }

    @Test
    void theSweeperKillsAndRemovesAFrozenMachineOfADeadLab() throws Exception {
        LabTag dead = deadTag();
        Path root = freezerParent();
        MachineCgroup stale = MachineCgroup.at(root.resolve(dead.netns("n1") + "-m1"));
        MachineCgroup live = MachineCgroup.at(root.resolve(lab.tag().netns("n1") + "-m999999"));
        Process inStale = null;
        Process inLive = null;
        try {
            stale.create();
            live.create();
            inStale = startIn(stale);
            inLive = startIn(live);
            stale.freeze();

            Sweeper.Swept swept = Sweeper.sweep();

            assertThat(swept.machineCgroups()).contains(stale.name()).doesNotContain(live.name());
            assertThat(inStale.waitFor(BOUND.toSeconds(), TimeUnit.SECONDS)).as("the dead lab's frozen machine is killed").isTrue();
            assertThat(stale.exists()).isFalse();
            assertThat(inLive.isAlive()).as("a live lab's machine is spared").isTrue();
            assertThat(live.pids()).containsExactly(inLive.pid());
        } finally {
            for (MachineCgroup c : List.of(stale, live)) {
                c.destroy();
            }
            for (Process p : new Process[] {inStale, inLive}) {
                if (p != null) {
                    p.destroyForcibly();
                }
            }
        }
    }

    @Test
    void freezingAMachineThatIsOffFailsClearly() {
        try (IpmiBmc bmc = startIpmi(lab)) {
            ExecResult off = fence("fence_ipmilan", bmc.fenceIpmilanOptions(), "off");
            assertThat(off.exitCode()).as(off.describe()).isZero();
            assertThat(Poll.until(BOUND, () -> !bmc.machineCgroup().exists())).isTrue();
            assertThatThrownBy(bmc::freezeMachine).isInstanceOf(IllegalStateException.class).hasMessageContaining("machine is off");
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** The machine's three kinds of process, found by command line in its cgroup. */
    private record Machine(long main, long child, long sessionLeader, long daemon) {
        static Machine await(MachineCgroup cgroup, long main) {
            long[] found = new long[3];
            boolean all = Poll.until(BOUND, () -> {
                found[0] = found[1] = found[2] = 0;
                for (long pid : cgroup.pids()) {
                    String cmd = cmdline(pid);
                    if (cmd.equals("sleep 1000")) {
                        found[0] = pid;
                    } else if (cmd.equals("sleep 1001")) {
                        found[1] = pid;
                    } else if (cmd.startsWith("sh -c while")) {
                        found[2] = pid;
                    }
                }
                return found[0] != 0 && found[1] != 0 && found[2] != 0 && cmdline(main).equals("sleep 1002");
            });
            assertThat(all).as("machine processes in %s: %s", cgroup, cgroup.pids().stream().map(p -> p + "=" + cmdline(p)).toList()).isTrue();
            Machine m = new Machine(main, found[0], found[1], found[2]);
            // The daemon escaped the process tree: only its cgroup still ties it to the machine.
            assertThat(ProcessHandle.of(main).orElseThrow().descendants().map(ProcessHandle::pid).toList()).doesNotContain(m.daemon());
            assertThat(session(m.sessionLeader())).isNotEqualTo(session(main));
            return m;
        }

        List<Long> all() {
            return List.of(main, child, sessionLeader, daemon);
        }

        void assertAllGone() {
            for (long pid : all()) {
                assertThat(Poll.until(BOUND, () -> !running(pid))).as("pid %d (%s) gone", pid, cmdline(pid)).isTrue();
            }
        }
    }

    private static String cmdline(long pid) {
        try {
            return Files.readString(Path.of("/proc", Long.toString(pid), "cmdline"), StandardCharsets.UTF_8).replace('\0', ' ').strip();
        } catch (IOException e) {
            return "";
        }
    }

    /** Field 6 of /proc/PID/stat, after the parenthesized command. */
    private static long session(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.US_ASCII);
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[3]);
        } catch (IOException e) {
            return -1;
        }
    }

    private static boolean running(long pid) {
        return ProcStat.read(pid).map(s -> s.state() != 'Z').orElse(false);
    }

    private long tickCount() {
        try {
            return Files.exists(ticks()) ? Files.readAllLines(ticks()).size() : 0;
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private void assertTicksStopped() {
        long n = tickCount();
        sleep(Duration.ofMillis(300));
        assertThat(tickCount()).as("no ticks after the power cut").isEqualTo(n);
    }

    private static long awaitPid(java.util.function.Supplier<Long> pid) {
        assertThat(Poll.until(BOUND, () -> pid.get() != null)).as("machine restarted").isTrue();
        return pid.get();
    }

    /** Runs {@code fenceAgent} on n2 with the BMC's options and {@code action}, from a 0600 stdin file. */
    private ExecResult fence(String fenceAgent, Map<String, String> bmcOptions, String action) throws IOException {
        Map<String, String> options = new LinkedHashMap<>(bmcOptions);
        options.put("action", action);
        StringBuilder stdin = new StringBuilder();
        options.forEach((k, v) -> stdin.append(k).append('=').append(v).append('\n'));
        Path file = Files.createTempFile(dir, "fence-", ".stdin", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(file, stdin);
        ExecResult r = lab.node(2).run(AGENT_TIMEOUT, "sh", "-c", "exec " + fenceAgent + " < \"$0\"", file.toString());
        assertThat(r.timedOut()).as("%s hung: %s", fenceAgent, r.describe()).isFalse();
        return r;
    }

    /** The machine cgroups' parent as this JVM sees it. */
    private static Path freezerParent() {
        return Path.of("/sys/fs/cgroup/freezer", MachineCgroup.PARENT);
    }

    private static Process startIn(MachineCgroup cgroup) throws IOException {
        Process p = new ProcessBuilder("sh", "-c", "echo $$ > \"$0/cgroup.procs\" && exec sleep 1000", cgroup.dir().toString()).start();
        assertThat(Poll.until(BOUND, () -> cgroup.pids().contains(p.pid()) && cmdline(p.pid()).equals("sleep 1000"))).isTrue();
        return p;
    }

    /** A tag whose creator certainly is dead: a process of ours that has exited and been reaped. */
    private static LabTag deadTag() throws Exception {
        Process p = new ProcessBuilder("true").start();
        assertThat(p.waitFor(BOUND.toSeconds(), TimeUnit.SECONDS)).isTrue();
        return new LabTag(LabTag.SUBNETS - 1, p.pid(), 12345);
    }

    private static List<String> labCgroups(LabTag tag) {
        try (var names = Files.list(freezerParent())) {
            return names.map(n -> n.getFileName().toString()).filter(n -> n.startsWith(tag.id() + "-")).toList();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
