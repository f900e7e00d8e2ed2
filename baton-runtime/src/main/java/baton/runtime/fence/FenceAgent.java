package baton.runtime.fence;

import baton.runtime.proc.ProcessCall;
import baton.runtime.proc.ProcessOutput;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

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
 * it passes, the agent's whole process tree is killed and the call ends as
 * {@link AgentResult.TimedOut}; the tree is also swept when the agent exits by itself. The
 * process handling is {@link ProcessCall}'s, shared with the resource agents' driver.
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
    public static final Duration MAX_DEADLINE = ProcessCall.MAX_DEADLINE;

    /** How long kill rounds go on before the survivors are reported (see {@link ProcessCall}). */
    public static final Duration KILL_CONFIRM_LIMIT = ProcessCall.KILL_CONFIRM_LIMIT;

    /** How long to wait for the output pipes to end after the tree is gone. */
    static final Duration OUTPUT_DRAIN_LIMIT = ProcessCall.OUTPUT_DRAIN_LIMIT;

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
        Optional<String> unstartable = unstartable(device.agent());
        if (unstartable.isPresent()) {
            return new AgentResult.CouldNotStart(unstartable.get());
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
        // No arguments and the JVM's own environment: everything goes to stdin.
        return switch (ProcessCall.run(List.of(device.agent().toString()), Optional.empty(),
                stdin(device.parameters(), secrets, action), outputLimitBytes, deadline, ProcessCall.Leftovers.KILL)) {
            case ProcessCall.Outcome.Exited e -> AgentResult.ofExit(action, e.exitCode(), scrub(e.output(), secrets));
            case ProcessCall.Outcome.TimedOut t ->
                    new AgentResult.TimedOut(t.after(), scrub(t.output(), secrets), t.survivingPids());
            case ProcessCall.Outcome.CouldNotStart c -> new AgentResult.CouldNotStart(c.reason());
        };
    }

    /** Why the agent cannot be started, or empty. */
    static Optional<String> unstartable(Path agent) {
        return ProcessCall.unstartable("fence agent", agent,
                "install the package that provides it (Debian: apt-get install fence-agents)");
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

    private static AgentOutput scrub(ProcessOutput output, Map<String, String> secrets) {
        return new AgentOutput(scrub(output.stdout(), secrets.values()), scrub(output.stderr(), secrets.values()),
                output.stdoutBytes(), output.stderrBytes(), output.stdoutTruncated(), output.stderrTruncated());
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
}
