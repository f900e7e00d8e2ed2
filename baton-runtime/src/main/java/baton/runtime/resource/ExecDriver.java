package baton.runtime.resource;

import baton.runtime.proc.LastWords;
import baton.runtime.proc.ProcessCall;
import baton.runtime.proc.ProcessOutput;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Runs one command of an {@link ExecResource} under Baton's deadline, with the process-tree
 * kill and bounded output of {@link ProcessCall} (as for OCF and fence agents). What the
 * start command leaves running is the service and is kept; what status and stop leave behind
 * is killed; a command that passes its deadline has its whole tree killed.
 *
 * <p>Exit codes. Start and stop: 0 is success, and 1 to 7 mean what they mean for LSB init
 * scripts, which is what they mean for OCF agents ({@link ResourceResult#ofOcfExit}). Status
 * follows the LSB status codes (LSB 3.0, "Init Script Actions"), with one addition:
 * <ul>
 *   <li>0: running ({@link ResourceResult.Ok});
 *   <li>3 (LSB "program is not running") or 7 (OCF_NOT_RUNNING, for scripts written to the
 *       OCF convention): cleanly stopped ({@link ResourceResult.NotRunning});
 *   <li>everything else is a failure, state unknown: 1 and 2 (LSB "dead, but a pid or lock
 *       file remains"), 4 ("unknown") and 5 or more, and above all a script that broke with
 *       the shell's usual 1 or 2.
 * </ul>
 * The strict side is the safe one. "Stopped" lets the cluster start the resource on another
 * node; a status script that fails (a typo, a missing tool, {@code set -e}) must not say that
 * while the service may still run. Pacemaker's LSB class reads 1 and 2 as "not running"; Baton
 * does not, and a resource whose status says "dead, pid file remains" is recovered through a
 * stop, which must then succeed.
 */
public final class ExecDriver {
    /** Per stream: commands say why they failed in their last lines. */
    public static final int DEFAULT_OUTPUT_LIMIT_BYTES = 256 * 1024;

    /** Set by Baton in every command's environment; a resource cannot override them. */
    static final Set<String> FIXED_ENVIRONMENT = Set.of("PATH", "LC_ALL", "BATON_RESOURCE", "BATON_ACTION", "BATON_NODE");

    private static final Pattern NO_PREFIX = Pattern.compile("^");

    private final int outputLimitBytes;
    private final String nodeName;

    public ExecDriver() {
        this(DEFAULT_OUTPUT_LIMIT_BYTES);
    }

    /** Commands get {@code BATON_NODE=nodeName}: the node they run on. */
    public ExecDriver(String nodeName) {
        this(DEFAULT_OUTPUT_LIMIT_BYTES, nodeName);
    }

    public ExecDriver(int outputLimitBytes) {
        this(outputLimitBytes, "");
    }

    public ExecDriver(int outputLimitBytes, String nodeName) {
        this.nodeName = java.util.Objects.requireNonNull(nodeName, "nodeName");
        if (outputLimitBytes < ProcessCall.MIN_OUTPUT_LIMIT_BYTES || outputLimitBytes > ProcessCall.MAX_OUTPUT_LIMIT_BYTES) {
            throw new IllegalArgumentException("outputLimitBytes " + outputLimitBytes + " outside "
                    + ProcessCall.MIN_OUTPUT_LIMIT_BYTES + ".." + ProcessCall.MAX_OUTPUT_LIMIT_BYTES);
        }
        this.outputLimitBytes = outputLimitBytes;
    }

    /**
     * Runs {@code resource}'s command for {@code action} and waits for it, at most {@code deadline}.
     *
     * @throws InterruptedException when the calling thread is interrupted; the command's
     *     process tree has then been killed
     */
    public ResourceResult run(ExecResource resource, ExecAction action, Duration deadline) throws InterruptedException {
        List<String> command = resource.command(action);
        Optional<String> unstartable = ProcessCall.unstartable("exec command", Path.of(command.get(0)),
                "install the program");
        if (unstartable.isPresent()) {
            return new ResourceResult.CouldNotStart(resource.name() + " " + action.name().toLowerCase(Locale.ROOT)
                    + ": " + unstartable.get());
        }
        Map<String, String> env = new TreeMap<>(resource.environment());
        env.put("PATH", OcfDriver.PATH);
        env.put("LC_ALL", "C");
        env.put("BATON_RESOURCE", resource.name());
        env.put("BATON_ACTION", action.name().toLowerCase(Locale.ROOT));
        if (!nodeName.isEmpty()) {
            env.put("BATON_NODE", nodeName);
        }
        ProcessCall.Outcome outcome = ProcessCall.run(command, Optional.of(env), new byte[0], outputLimitBytes, deadline,
                action == ExecAction.START ? ProcessCall.Leftovers.KEEP : ProcessCall.Leftovers.KILL);
        return ResourceResult.of(outcome, ExecDriver::reason,
                action == ExecAction.STATUS ? ExecDriver::ofStatusExit : ResourceResult::ofOcfExit);
    }

    /** An LSB status exit code, read strictly (see the class comment). */
    static ResourceResult ofStatusExit(int exitCode, String reason, ProcessOutput output) {
        return switch (exitCode) {
            case 0 -> new ResourceResult.Ok(output);
            case 3, 7 -> new ResourceResult.NotRunning(output);
            case 5 -> ResourceResult.ofOcfExit(5, reason, output); // LSB "not installed", as OCF
            default -> new ResourceResult.Failed(exitCode == 1 ? OcfError.GENERIC : OcfError.OTHER, exitCode,
                    reason.isEmpty() ? silentStatus(exitCode) : reason, output);
        };
    }

    private static String silentStatus(int exitCode) {
        return switch (exitCode) {
            case 1 -> "the status command said nothing and ended with 1 (LSB: dead, but a pid file remains)";
            case 2 -> "the status command said nothing and ended with 2 (LSB: dead, but a lock file remains)";
            case 4 -> "the status command said nothing and ended with 4 (LSB: status unknown)";
            default -> LastWords.silentExit("the status command", exitCode);
        };
    }

    /** The command's last meaningful line on stderr, else on stdout; empty when it said nothing. */
    static String reason(ProcessOutput output) {
        String fromStderr = LastWords.lastLine(output.stderr(), NO_PREFIX, List.of());
        return fromStderr.isEmpty() ? LastWords.lastLine(output.stdout(), NO_PREFIX, List.of()) : fromStderr;
    }
}
