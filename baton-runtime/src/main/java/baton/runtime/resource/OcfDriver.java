package baton.runtime.resource;

import baton.runtime.proc.LastWords;
import baton.runtime.proc.ProcessCall;
import baton.runtime.proc.ProcessOutput;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Runs an OCF resource agent once, the way Pacemaker's executor does, under Baton's own
 * deadline. A blocking call, made on a virtual thread; the result is a value.
 *
 * <p>The protocol (OCF resource agent API 1.1, ClusterLabs/OCF-spec; what pacemaker-execd
 * sets, lib/services/services_ocf.c):
 * <ul>
 *   <li>the action is the only argument;
 *   <li>the parameters are environment variables {@code OCF_RESKEY_name=value}, next to
 *       {@code OCF_ROOT}, {@code OCF_FUNCTIONS_DIR}, {@code OCF_RA_VERSION_MAJOR/MINOR},
 *       {@code OCF_RESOURCE_INSTANCE}, {@code OCF_RESOURCE_TYPE}, {@code OCF_RESOURCE_PROVIDER},
 *       and Pacemaker's meta attributes {@code OCF_RESKEY_CRM_meta_timeout} (the call's
 *       deadline in milliseconds; agents size their own waits by it) and
 *       {@code OCF_RESKEY_CRM_meta_interval} (milliseconds; 0 makes a monitor a probe, for
 *       which agents are lenient about missing binaries and report "not running");
 *   <li>exit codes as in {@link ResourceResult#ofOcfExit} and {@link OcfError};
 *   <li>the reason of a failure is the agent's last {@code ocf-exit-reason:} line on stderr
 *       (what {@code ocf_exit_reason} writes and Pacemaker shows), else its last meaningful
 *       stderr line.
 * </ul>
 *
 * <p>The environment is built from nothing rather than inherited from the daemon: a fixed
 * {@code PATH}, {@code LC_ALL=C} (agents parse the output of ip, mount, findif), and
 * {@code HA_LOGFACILITY=none} so that {@code ocf_log} writes to stderr, where Baton keeps it,
 * and not to syslog. {@code OCF_TRACE_RA=0}: tracing would write every shell line, parameter
 * values included, into files under {@code /var/lib/heartbeat/trace_ra}. Parameter values
 * are in the agent's /proc/PID/environ, readable only by its user and root, not on its
 * command line.
 *
 * <p>The deadline, the process-tree kill and the bounded output are {@link ProcessCall}'s, as
 * for fence agents. What a {@code start} leaves running is the service (or a helper such as
 * IPaddr2's background ARP sender) and is kept; what any other action leaves behind is
 * killed when it exits. A call that passes its deadline has its whole tree killed, a start's
 * included: the resource is then in an unknown state, and the caller must stop it.
 */
public final class OcfDriver {
    /** Where the resource-agents package puts the agents (resource.d) and their shell library (lib). */
    public static final Path DEFAULT_OCF_ROOT = Path.of("/usr/lib/ocf");

    /** Per stream; the largest metadata of the package (IPaddr2's) is some 12 KiB. */
    public static final int DEFAULT_OUTPUT_LIMIT_BYTES = 1 << 20;

    static final String PATH = "/usr/sbin:/usr/bin:/sbin:/bin";

    /** The prefix {@code ocf_exit_reason} puts before the reason it writes to stderr. */
    static final String EXIT_REASON_PREFIX = "ocf-exit-reason:";

    /** {@code ocf_log}'s timestamp on stderr, {@code HA_DATEFMT}'s default "%b %d %T " under LC_ALL=C. */
    private static final Pattern LOG_TIMESTAMP = Pattern.compile("^[A-Z][a-z]{2} [ 0-3]?[0-9] \\d{2}:\\d{2}:\\d{2} ");

    private final Path ocfRoot;
    private final List<String> launcher;
    private final int outputLimitBytes;

    /** The agents of {@link #DEFAULT_OCF_ROOT}, run directly. */
    public OcfDriver() {
        this(DEFAULT_OCF_ROOT, List.of(), DEFAULT_OUTPUT_LIMIT_BYTES);
    }

    /**
     * @param ocfRoot the OCF root, normally {@link #DEFAULT_OCF_ROOT}
     * @param launcher a command the agent's path and action are appended to, to run it
     *     elsewhere, e.g. {@code [ip, netns, exec, NS]} in the lab; empty on a real node. It must
     *     exec the agent (not fork it) or stay in its session, so that the kill reaches the agent.
     * @param outputLimitBytes how many bytes of each of stdout and stderr to keep (the last ones)
     */
    public OcfDriver(Path ocfRoot, List<String> launcher, int outputLimitBytes) {
        if (!ocfRoot.isAbsolute()) {
            throw new IllegalArgumentException("ocfRoot " + ocfRoot + " is not absolute");
        }
        if (outputLimitBytes < ProcessCall.MIN_OUTPUT_LIMIT_BYTES || outputLimitBytes > ProcessCall.MAX_OUTPUT_LIMIT_BYTES) {
            throw new IllegalArgumentException("outputLimitBytes " + outputLimitBytes + " outside "
                    + ProcessCall.MIN_OUTPUT_LIMIT_BYTES + ".." + ProcessCall.MAX_OUTPUT_LIMIT_BYTES);
        }
        this.ocfRoot = ocfRoot;
        this.launcher = List.copyOf(launcher);
        this.outputLimitBytes = outputLimitBytes;
    }

    public Path ocfRoot() {
        return ocfRoot;
    }

    /**
     * Runs {@code action} on {@code resource}; a {@link OcfAction#MONITOR} is a probe (interval 0).
     *
     * @param deadline Baton's deadline, also passed to the agent as {@code OCF_RESKEY_CRM_meta_timeout}
     * @throws InterruptedException when the calling thread is interrupted; the agent's process
     *     tree has then been killed
     */
    public ResourceResult run(OcfResource resource, OcfAction action, Duration deadline) throws InterruptedException {
        return call(resource.agent(), Optional.of(resource), action, Duration.ZERO, deadline);
    }

    /** A recurring monitor, every {@code interval} (the agent may check deeper than in a probe). */
    public ResourceResult monitor(OcfResource resource, Duration interval, Duration deadline) throws InterruptedException {
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("interval " + interval + " must be positive; a probe is run(MONITOR)");
        }
        return call(resource.agent(), Optional.of(resource), OcfAction.MONITOR, interval, deadline);
    }

    /** Runs {@code meta-data}, with no resource (agents then name their defaults after "RESOURCE_ID"). */
    public ResourceResult metaData(OcfAgent agent, Duration deadline) throws InterruptedException {
        return call(agent, Optional.empty(), OcfAction.META_DATA, Duration.ZERO, deadline);
    }

    private ResourceResult call(OcfAgent agent, Optional<OcfResource> resource, OcfAction action, Duration interval,
            Duration deadline) throws InterruptedException {
        Path path = agent.path(ocfRoot);
        Optional<String> unstartable = ProcessCall.unstartable("OCF resource agent", path,
                "install the package that provides " + agent + " (Debian: apt-get install resource-agents)");
        if (unstartable.isPresent()) {
            return new ResourceResult.CouldNotStart(unstartable.get());
        }
        List<String> command = new ArrayList<>(launcher);
        command.add(path.toString());
        command.add(action.wireName());
        ProcessCall.Outcome outcome = ProcessCall.run(command,
                Optional.of(environment(agent, resource, interval, deadline)), new byte[0], outputLimitBytes, deadline,
                action == OcfAction.START ? ProcessCall.Leftovers.KEEP : ProcessCall.Leftovers.KILL);
        return ResourceResult.of(outcome, OcfDriver::reason, ResourceResult::ofOcfExit);
    }

    /** The agent's whole environment for one call. */
    Map<String, String> environment(OcfAgent agent, Optional<OcfResource> resource, Duration interval, Duration deadline) {
        Map<String, String> env = new TreeMap<>();
        env.put("PATH", PATH);
        env.put("LC_ALL", "C");
        env.put("HA_LOGFACILITY", "none");
        env.put("HA_debug", "0");
        env.put("OCF_ROOT", ocfRoot.toString());
        env.put("OCF_FUNCTIONS_DIR", ocfRoot.resolve("lib").resolve("heartbeat").toString());
        env.put("OCF_RA_VERSION_MAJOR", "1");
        env.put("OCF_RA_VERSION_MINOR", "1");
        env.put("OCF_RESOURCE_TYPE", agent.type());
        env.put("OCF_RESOURCE_PROVIDER", agent.provider());
        env.put("OCF_TRACE_RA", "0");
        resource.ifPresent(r -> {
            env.put("OCF_RESOURCE_INSTANCE", r.instance());
            r.parameters().forEach((name, value) -> env.put("OCF_RESKEY_" + name, value));
        });
        // After the parameters, which cannot use these names (OcfResource refuses CRM_meta_*).
        env.put("OCF_RESKEY_CRM_meta_timeout", Long.toString(deadline.toMillis()));
        env.put("OCF_RESKEY_CRM_meta_interval", Long.toString(interval.toMillis()));
        return env;
    }

    /**
     * The agent's reason: the text of its last {@code ocf-exit-reason:} line, else its last
     * meaningful stderr line without {@code ocf_log}'s timestamp, else the same of stdout
     * (usage text goes there); empty when it said nothing.
     */
    static String reason(ProcessOutput output) {
        String[] lines = output.stderr().split("\\R");
        for (int i = lines.length - 1; i >= 0; i--) {
            if (lines[i].startsWith(EXIT_REASON_PREFIX) && !lines[i].substring(EXIT_REASON_PREFIX.length()).isBlank()) {
                return LastWords.cut(lines[i].substring(EXIT_REASON_PREFIX.length()).strip());
            }
        }
        String fromStderr = LastWords.lastLine(output.stderr(), LOG_TIMESTAMP, List.of());
        return fromStderr.isEmpty() ? LastWords.lastLine(output.stdout(), LOG_TIMESTAMP, List.of()) : fromStderr;
    }
}
