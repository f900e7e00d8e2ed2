package baton.runtime.fence;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * Runs a ClusterLabs fence agent once, the way Pacemaker's fencer does, under Baton's own
 * deadline. A blocking call, made on a virtual thread; the result is a value, whatever
 * happened to the agent.
 *
 * <p>The protocol (doc/FenceAgentAPI.md of ClusterLabs/fence-agents, and what fencing.py does):
 * <ul>
 *   <li>No command-line arguments. The parameters go to stdin as {@code name=value} lines,
 *       then {@code action=ACTION} last (the agents take the last of repeated names), then
 *       stdin is closed. A command line is readable by every user of the host through
 *       /proc/PID/cmdline; stdin is not.
 *   <li>Exit status 0 is success; {@code status} exits 2 for "off"; see {@link AgentResult}.
 *   <li>Agents log through Python's logging to stderr; the last line says why they failed.
 * </ul>
 *
 * <p>Baton does not trust the agents' own timeouts (each is per step, an agent may take
 * several steps, and a wedged ipmitool or ssh waits forever). Every call has a deadline; when
 * it passes, the agent's whole process tree is killed (see {@link ProcessTree}) and the call
 * ends as {@link AgentResult.TimedOut}. The tree is also swept when the agent exits by itself,
 * so that no helper it left behind outlives the call or holds its output pipes open.
 *
 * <p>Secrets are read from their files at the start of each call and go only to the agent's
 * stdin. What the agent writes back is scrubbed of them before anyone sees it: fencing.py
 * echoes a whole stdin line, value included, when it does not know the name ("Parse error:
 * Ignoring unknown option 'passwd=...'"). Scrubbing replaces the exact text of each secret; an
 * agent that printed a secret transformed (quoted, escaped) would get past it.
 */
public final class FenceAgent {
    /** Per stream. Metadata, the largest output of any agent, is some 20 KiB. */
    public static final int DEFAULT_OUTPUT_LIMIT_BYTES = 1 << 20;

    /** The longest deadline a call may have: the slowest agents' own step timeouts add up to minutes. */
    public static final Duration MAX_DEADLINE = Duration.ofMinutes(15);

    /**
     * How long kill rounds go on before the survivors are reported. SIGKILL takes effect at once
     * except for a process in uninterruptible sleep; under heavy load a round may take long.
     */
    public static final Duration KILL_CONFIRM_LIMIT = Duration.ofSeconds(10);

    /** How long to wait for the output pipes to end after the tree is gone. */
    static final Duration OUTPUT_DRAIN_LIMIT = Duration.ofSeconds(5);

    /** util-linux; starts the agent as the leader of a new session (and so of a new process group). */
    static final Path SETSID = Path.of("/usr/bin/setsid");

    /** What the secrets are replaced with in the agent's output. */
    static final String SCRUBBED = "***";

    private final int outputLimitBytes;

    public FenceAgent() {
        this(DEFAULT_OUTPUT_LIMIT_BYTES);
    }

    /** @param outputLimitBytes how many bytes of each of stdout and stderr to keep (the last ones) */
    public FenceAgent(int outputLimitBytes) {
        if (outputLimitBytes < 1024 || outputLimitBytes > 64 * DEFAULT_OUTPUT_LIMIT_BYTES) {
            throw new IllegalArgumentException("outputLimitBytes " + outputLimitBytes + " outside 1024.."
                    + 64 * DEFAULT_OUTPUT_LIMIT_BYTES);
        }
        this.outputLimitBytes = outputLimitBytes;
    }

    /**
     * Runs {@code action} on {@code device}'s agent and waits for it, at most {@code deadline}
     * (plus the time to kill it and to collect its output, each bounded).
     *
     * @throws InterruptedException when the calling thread is interrupted; the agent's process
     *     tree has then been killed
     */
    public AgentResult run(FenceDevice device, AgentAction action, Duration deadline) throws InterruptedException {
        if (deadline.isNegative() || deadline.isZero() || deadline.compareTo(MAX_DEADLINE) > 0) {
            throw new IllegalArgumentException("deadline " + deadline + " outside (0, " + MAX_DEADLINE + "]");
        }
        long started = System.nanoTime();
        String unstartable = unstartable(device.agent());
        if (unstartable != null) {
            return new AgentResult.CouldNotStart(unstartable);
        }
        Map<String, String> secrets = new TreeMap<>();
        for (Map.Entry<String, Path> secret : device.secretFiles().entrySet()) {
            switch (SecretFile.read(secret.getKey(), secret.getValue())) {
                case SecretFile.Secret s -> secrets.put(secret.getKey(), s.value());
                case SecretFile.Unusable u -> {
                    return new AgentResult.CouldNotStart(u.reason());
                }
            }
        }
        byte[] stdin = stdin(device.parameters(), secrets, action);

        Process process;
        try {
            // --wait: should setsid ever fork (it does when started as a group leader), its exit
            // status is still the agent's and not setsid's own, an immediate 0.
            process = new ProcessBuilder(SETSID.toString(), "--wait", device.agent().toString())
                    .directory(Path.of("/").toFile())
                    .start();
        } catch (IOException e) {
            Arrays.fill(stdin, (byte) 0);
            return new AgentResult.CouldNotStart("cannot start " + device.agent() + ": " + e.getMessage());
        }

        OutputTail out = new OutputTail(outputLimitBytes);
        OutputTail err = new OutputTail(outputLimitBytes);
        String name = "fence-agent-" + process.pid();
        Thread outReader = Thread.ofVirtual().name(name + "-stdout").start(() -> out.drain(process.getInputStream()));
        Thread errReader = Thread.ofVirtual().name(name + "-stderr").start(() -> err.drain(process.getErrorStream()));
        // Written by its own thread: an agent that never reads stdin must not block the call.
        Thread.ofVirtual().name(name + "-stdin").start(() -> feed(process.getOutputStream(), stdin));

        boolean exited;
        try {
            exited = process.waitFor(Math.max(0, deadline.toNanos() - (System.nanoTime() - started)),
                    TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            ProcessTree.kill(process.toHandle(), KILL_CONFIRM_LIMIT);
            throw e;
        }
        Duration ran = Duration.ofNanos(System.nanoTime() - started);
        // After a normal exit this only finds helpers the agent left behind; after the deadline,
        // the whole tree.
        List<Long> survivors = ProcessTree.kill(process.toHandle(), KILL_CONFIRM_LIMIT);
        if (!exited) {
            reap(process);
        }
        awaitEnd(outReader);
        awaitEnd(errReader);
        AgentOutput output = new AgentOutput(scrub(out.text(), secrets.values()), scrub(err.text(), secrets.values()),
                out.totalBytes(), err.totalBytes(), out.truncated(), err.truncated());
        return exited
                ? AgentResult.ofExit(action, process.exitValue(), output)
                : new AgentResult.TimedOut(ran, output, survivors);
    }

    /** Why the agent cannot be started, or null. Checked first for a clear message (exec's is "error=2"). */
    static String unstartable(Path agent) {
        if (!Files.exists(agent)) {
            return "fence agent " + agent + " does not exist; fix: install the package that provides it"
                    + " (Debian: apt-get install fence-agents) or correct the agent's path";
        }
        if (!Files.isRegularFile(agent)) {
            return "fence agent " + agent + " is not a regular file; fix: point the device at the agent executable";
        }
        if (!Files.isExecutable(agent)) {
            return "fence agent " + agent + " is not executable; fix: chmod +x " + agent + " or correct the agent's path";
        }
        if (!Files.isExecutable(SETSID)) {
            return SETSID + " is missing, and without it an agent's helpers could not be killed; fix: apt-get install util-linux";
        }
        return null;
    }

    /** The stdin of one call: sorted parameters and secrets, then the action, one {@code name=value} line each. */
    static byte[] stdin(Map<String, String> parameters, Map<String, String> secrets, AgentAction action) {
        Map<String, String> all = new TreeMap<>(parameters);
        all.putAll(secrets);
        StringBuilder text = new StringBuilder();
        all.forEach((name, value) -> text.append(name).append('=').append(value).append('\n'));
        text.append("action=").append(action.wireName()).append('\n');
        return text.toString().getBytes(StandardCharsets.UTF_8);
    }

    static String scrub(String text, Iterable<String> secrets) {
        String scrubbed = text;
        for (String secret : secrets) {
            if (!secret.isEmpty()) {
                scrubbed = scrubbed.replace(secret, SCRUBBED);
            }
        }
        return scrubbed;
    }

    /** "12.3", for messages. */
    static String seconds(Duration duration) {
        return String.format(Locale.ROOT, "%.1f", duration.toMillis() / 1000.0);
    }

    private static void feed(OutputStream stdin, byte[] bytes) {
        try (stdin) {
            stdin.write(bytes);
        } catch (IOException e) {
            // The agent exited or closed stdin without reading it all: its exit status tells.
        } finally {
            Arrays.fill(bytes, (byte) 0);
        }
    }

    /** Collects the killed agent's exit so that it leaves no zombie; bounded like the kill. */
    private static void reap(Process process) throws InterruptedException {
        process.waitFor(KILL_CONFIRM_LIMIT.toNanos(), TimeUnit.NANOSECONDS);
    }

    /**
     * Waits, bounded, for a reader to reach the end of its pipe. It does once every process
     * holding the pipe is dead; a process that escaped the tree could hold it longer, and its
     * reader is then left behind (a virtual thread, ending when that process does).
     */
    private static void awaitEnd(Thread reader) throws InterruptedException {
        reader.join(OUTPUT_DRAIN_LIMIT);
    }
}
