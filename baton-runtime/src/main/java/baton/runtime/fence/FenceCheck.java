package baton.runtime.fence;

import baton.runtime.config.ClusterConfig;
import baton.runtime.config.ConfigLoader;
import baton.runtime.config.Problem;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;

/**
 * Checks every fence device of a loaded configuration against its agent's own metadata: the
 * check the configuration loader leaves out because it needs the agents to run (see
 * FenceBinding). Run by {@code baton fence check} and when a node starts, so that a misspelt
 * parameter is found on the day it is written, not on the day a node has to be fenced.
 *
 * <p>What it does, in two rounds of agent calls on virtual threads:
 * <ol>
 *   <li>{@code action=metadata} once per distinct agent, all agents in parallel. An agent whose
 *       metadata cannot be had (not executable, not a fence agent, hangs, bad XML) is reported
 *       for every device that uses it, at the device's {@code agent} key.
 *   <li>For each device of a readable agent: {@link AgentMetadata#validate} of its parameters
 *       (secret names being the keys of its secret files), and that the agent lists the actions
 *       fencing sends ({@link #FENCING_ACTIONS}).
 *   <li>Only in {@link Mode#WITH_VALIDATE_ALL}: the agent's {@code validate-all} for each device
 *       that passed the above, all devices in parallel. It checks the options without contacting
 *       the device and catches what metadata gets wrong (fence_ipmilan calls {@code ip} optional
 *       and fails without it). Secret files are read, as for a real call. A device with problems
 *       already is not asked: validate-all would only repeat them less clearly.
 * </ol>
 *
 * <p>Limits. At most {@link #MAX_PARALLEL_CALLS} agents run at once; each call ends by its
 * deadline, and FenceAgent bounds the kill and the collection of output after it. So the whole
 * check takes at most {@link #timeLimit}: with the defaults and the three or so agents and dozen
 * devices of a real cluster, under two minutes even if every agent hangs.
 *
 * <p>Problems are configuration problems ({@link Problem}), in the loader's format
 * {@code FILE:LINE: KEY: PROBLEM; fix: FIX}. The configuration record keeps no line numbers, so
 * the lines are found by reading the file's keys again ({@link KeyLines}); should the file have
 * changed since it was loaded, a key not found takes the line of its nearest enclosing key, or 0.
 */
public final class FenceCheck {
    /**
     * Deadline of each agent call. Metadata and validate-all contact no device and take under a
     * second (Python starting); 20 s leaves room for a loaded host and still ends a hung agent
     * while an operator watches.
     */
    public static final Duration DEFAULT_CALL_DEADLINE = Duration.ofSeconds(20);

    /**
     * Limit of agents running at once. Each is a Python process of some 20 to 40 MB; sixteen
     * check a cluster of up to {@code MAX_FENCE_DEVICES} (128) devices in eight rounds without
     * crowding a node that is running workloads.
     */
    public static final int MAX_PARALLEL_CALLS = 16;

    /**
     * The actions the fencing core sends (NodeDaemon maps its OFF and STATUS to these): an agent
     * that does not list them cannot fence, whatever its parameters.
     */
    public static final List<AgentAction> FENCING_ACTIONS = List.of(AgentAction.OFF, AgentAction.STATUS);

    /** Whether to run each device's {@code validate-all} after the metadata check. */
    public enum Mode {
        /** Metadata only: one call per agent. */
        METADATA,
        /** Metadata, then {@code validate-all} per device. */
        WITH_VALIDATE_ALL
    }

    /** What became of a device's {@code validate-all}. */
    public enum ValidateAll {
        /** The check ran in {@link Mode#METADATA}. */
        NOT_ASKED,
        /** Not run: the agent's metadata is unreadable, or the device has problems already. */
        SKIPPED,
        /** Not run: the agent does not list the action. */
        UNSUPPORTED,
        /** The agent accepted the device's options. */
        PASSED,
        /** The agent refused them, hung or could not start; the device's problems say why. */
        FAILED
    }

    /** An agent's metadata, or why it could not be had. */
    public sealed interface AgentCheck {
        Path agent();

        record Readable(Path agent, AgentMetadata metadata) implements AgentCheck {
            public Readable {
                Objects.requireNonNull(agent, "agent");
                Objects.requireNonNull(metadata, "metadata");
            }
        }

        /**
         * @param problem what went wrong, naming the agent
         * @param fix a concrete change that makes the problem go away
         */
        record Unreadable(Path agent, String problem, String fix) implements AgentCheck {
            public Unreadable {
                Objects.requireNonNull(agent, "agent");
                Objects.requireNonNull(problem, "problem");
                Objects.requireNonNull(fix, "fix");
            }
        }
    }

    /**
     * One device's outcome.
     *
     * @param device the device's name under {@code fenceDevices}
     * @param agent its agent
     * @param problems in file order; empty when the device passed every check that ran
     * @param validateAll what became of its {@code validate-all}
     */
    public record DeviceCheck(String device, Path agent, List<Problem> problems, ValidateAll validateAll) {
        public DeviceCheck {
            Objects.requireNonNull(device, "device");
            Objects.requireNonNull(agent, "agent");
            problems = List.copyOf(problems);
            Objects.requireNonNull(validateAll, "validateAll");
            if (validateAll == ValidateAll.FAILED && problems.isEmpty()) {
                throw new IllegalArgumentException("device " + device + ": validate-all failed without a problem");
            }
        }
    }

    /**
     * The whole check.
     *
     * @param file the configuration file
     * @param mode what was run
     * @param agents each distinct agent, by path
     * @param devices each device, by name (every device of the configuration)
     */
    public record Report(Path file, Mode mode, SortedMap<Path, AgentCheck> agents, SortedMap<String, DeviceCheck> devices) {
        public Report {
            Objects.requireNonNull(file, "file");
            Objects.requireNonNull(mode, "mode");
            agents = Collections.unmodifiableSortedMap(new TreeMap<>(agents));
            devices = Collections.unmodifiableSortedMap(new TreeMap<>(devices));
            for (DeviceCheck device : devices.values()) {
                if (!agents.containsKey(device.agent())) {
                    throw new IllegalArgumentException("device " + device.device() + " of unchecked agent " + device.agent());
                }
            }
        }

        /** Whether no device has a problem. */
        public boolean ok() {
            return devices.values().stream().allMatch(d -> d.problems().isEmpty());
        }

        /** Every device's problems, in file order (line, then key). */
        public List<Problem> problems() {
            return devices.values().stream()
                    .flatMap(d -> d.problems().stream())
                    .sorted(Comparator.comparingInt(Problem::line).thenComparing(Problem::key))
                    .toList();
        }

        /**
         * One line for the operator, e.g. {@code /etc/baton/cluster.yaml: fence check: 3 devices of 2
         * agents, metadata and validate-all: no problems}.
         */
        public String summary() {
            long broken = devices.values().stream().filter(d -> !d.problems().isEmpty()).count();
            String checked = file + ": fence check: " + count(devices.size(), "device") + " of "
                    + count(agents.size(), "agent") + ", " + (mode == Mode.WITH_VALIDATE_ALL ? "metadata and validate-all" : "metadata")
                    + ": ";
            return broken == 0 ? checked + "no problems"
                    : checked + count(problems().size(), "problem") + " in " + count((int) broken, "device");
        }

        /** The problems as {@link Problem#message()} lines in file order, then {@link #summary()}. */
        public List<String> render() {
            List<String> lines = new ArrayList<>();
            problems().forEach(p -> lines.add(p.message()));
            lines.add(summary());
            return List.copyOf(lines);
        }

        private static String count(int n, String noun) {
            return n + " " + noun + (n == 1 ? "" : "s");
        }
    }

    private final FenceAgent runner;
    private final Duration callDeadline;

    /** With real agents and {@link #DEFAULT_CALL_DEADLINE}. */
    public FenceCheck() {
        this(new FenceAgent(), DEFAULT_CALL_DEADLINE);
    }

    /** @param callDeadline the deadline of each agent call, within (0, {@link FenceAgent#MAX_DEADLINE}] */
    public FenceCheck(FenceAgent runner, Duration callDeadline) {
        this.runner = Objects.requireNonNull(runner, "runner");
        if (callDeadline.isNegative() || callDeadline.isZero() || callDeadline.compareTo(FenceAgent.MAX_DEADLINE) > 0) {
            throw new IllegalArgumentException("callDeadline " + callDeadline + " outside (0, " + FenceAgent.MAX_DEADLINE + "]");
        }
        this.callDeadline = callDeadline;
    }

    /**
     * The longest {@link #check} of this configuration may take: per round of
     * {@link #MAX_PARALLEL_CALLS} calls, the deadline, then FenceAgent's bounded kill and reap
     * ({@link FenceAgent#KILL_CONFIRM_LIMIT} each) and output drain (twice its limit).
     */
    public Duration timeLimit(ClusterConfig config, Mode mode) {
        Duration call = callDeadline.plus(FenceAgent.KILL_CONFIRM_LIMIT.multipliedBy(2))
                .plus(FenceAgent.OUTPUT_DRAIN_LIMIT.multipliedBy(2));
        long agents = config.fenceDevices().values().stream().map(FenceDevice::agent).distinct().count();
        long rounds = ceilDiv(agents) + (mode == Mode.WITH_VALIDATE_ALL ? ceilDiv(config.fenceDevices().size()) : 0);
        return call.multipliedBy(rounds);
    }

    private static long ceilDiv(long calls) {
        return (calls + MAX_PARALLEL_CALLS - 1) / MAX_PARALLEL_CALLS;
    }

    /**
     * Checks every device of {@code config}. Blocks for at most {@link #timeLimit}.
     *
     * @throws InterruptedException when the calling thread is interrupted; every agent still
     *     running has then been killed with its process tree
     */
    public Report check(ClusterConfig config, Mode mode) throws InterruptedException {
        Objects.requireNonNull(mode, "mode");
        Map<String, FenceDevice> devices = config.fenceDevices();
        KeyLines lines = KeyLines.read(config.file());
        Semaphore slots = new Semaphore(MAX_PARALLEL_CALLS);
        SortedMap<Path, AgentCheck> agents = new TreeMap<>();
        SortedMap<String, DeviceCheck> checked = new TreeMap<>();
        ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
        // Not try-with-resources: its close() would run before the catch below, waiting for the
        // calls with the interrupt already consumed, i.e. until their deadlines.
        try {
            Map<Path, Future<MetadataResult>> metadata = new TreeMap<>();
            for (FenceDevice device : devices.values()) {
                metadata.computeIfAbsent(device.agent(), agent -> executor.submit(
                        bounded(slots, () -> AgentMetadata.read(runner, agent, callDeadline))));
            }
            for (Map.Entry<Path, Future<MetadataResult>> e : metadata.entrySet()) {
                agents.put(e.getKey(), agentCheck(e.getKey(), await(e.getValue())));
            }

            Map<String, List<Problem>> problems = new TreeMap<>();
            Map<String, Future<AgentResult>> validations = new LinkedHashMap<>();
            for (FenceDevice device : devices.values()) {
                List<Problem> found = new ArrayList<>();
                AgentCheck agent = agents.get(device.agent());
                switch (agent) {
                    case AgentCheck.Unreadable u -> found.add(problem(config.file(), lines, device, List.of("agent"),
                            u.problem(), u.fix()));
                    case AgentCheck.Readable r -> {
                        found.addAll(actionProblems(config.file(), lines, device, r.metadata()));
                        found.addAll(parameterProblems(config.file(), lines, device, r.metadata()));
                        if (mode == Mode.WITH_VALIDATE_ALL && found.isEmpty() && r.metadata().supports(AgentAction.VALIDATE_ALL)) {
                            validations.put(device.name(), executor.submit(
                                    bounded(slots, () -> runner.run(device, AgentAction.VALIDATE_ALL, callDeadline))));
                        }
                    }
                }
                problems.put(device.name(), found);
            }

            for (FenceDevice device : devices.values()) {
                List<Problem> found = problems.get(device.name());
                ValidateAll validateAll;
                Future<AgentResult> validation = validations.get(device.name());
                if (mode == Mode.METADATA) {
                    validateAll = ValidateAll.NOT_ASKED;
                } else if (validation != null) {
                    AgentResult result = await(validation);
                    validateAllProblem(config.file(), lines, device, result).ifPresent(found::add);
                    validateAll = found.isEmpty() ? ValidateAll.PASSED : ValidateAll.FAILED;
                } else if (agents.get(device.agent()) instanceof AgentCheck.Readable r
                        && !r.metadata().supports(AgentAction.VALIDATE_ALL) && found.isEmpty()) {
                    validateAll = ValidateAll.UNSUPPORTED;
                } else {
                    validateAll = ValidateAll.SKIPPED;
                }
                found.sort(Comparator.comparingInt(Problem::line).thenComparing(Problem::key));
                checked.put(device.name(), new DeviceCheck(device.name(), device.agent(), found, validateAll));
            }
        } catch (InterruptedException e) {
            // Interrupts the calls, whose FenceAgent kills each agent's tree; close() then waits for them.
            executor.shutdownNow();
            throw e;
        } finally {
            executor.close();
        }
        return new Report(config.file(), mode, agents, checked);
    }

    /** A call that waits for one of the {@link #MAX_PARALLEL_CALLS} slots. */
    private static <T> Callable<T> bounded(Semaphore slots, Callable<T> call) {
        return () -> {
            slots.acquire();
            try {
                return call.call();
            } finally {
                slots.release();
            }
        };
    }

    private static <T> T await(Future<T> future) throws InterruptedException {
        try {
            return future.get();
        } catch (ExecutionException e) {
            // The calls return every operating error as a value; an exception is a bug.
            throw new IllegalStateException("fence check call failed", e.getCause());
        }
    }

    /** Separator of a reason that carries its fix, as FenceAgent's and SecretFile's messages do. */
    private static final String FIX_SEPARATOR = "; fix: ";

    static AgentCheck agentCheck(Path agent, MetadataResult result) {
        return switch (result) {
            case MetadataResult.Loaded l -> new AgentCheck.Readable(agent, l.metadata());
            case MetadataResult.Unavailable u -> {
                int fix = u.reason().indexOf(FIX_SEPARATOR);
                String what = fix < 0 ? u.reason() : u.reason().substring(0, fix);
                // AgentMetadata.read names the agent first ("/usr/sbin/fence_x metadata: failed ..."); said once here.
                String named = agent + " metadata: ";
                what = what.startsWith(named) ? what.substring(named.length()) : what;
                what = what.endsWith(".") ? what.substring(0, what.length() - 1) : what;
                String how = fix < 0
                        ? "use a ClusterLabs fence agent that works on this host: '" + agent
                                + " -o metadata' must print its XML description and exit 0 (Debian: apt-get install"
                                + " fence-agents), or correct the agent's name or path"
                        : u.reason().substring(fix + FIX_SEPARATOR.length());
                yield new AgentCheck.Unreadable(agent, "cannot read the metadata of " + agent + ": " + what
                        + "; the device's parameters are unchecked", how);
            }
        };
    }

    private static List<Problem> actionProblems(Path file, KeyLines lines, FenceDevice device, AgentMetadata metadata) {
        List<Problem> problems = new ArrayList<>();
        for (AgentAction action : FENCING_ACTIONS) {
            if (!metadata.supports(action)) {
                problems.add(problem(file, lines, device, List.of("agent"), device.agentName() + " does not list the action '"
                        + action + "', which Baton's fencing sends (it lists " + metadata.actions() + ")",
                        "use a fence agent for this device that can power it off and report its power status"));
            }
        }
        return problems;
    }

    /**
     * The metadata check of one device, each problem at the key of its parameter: under
     * {@code secretFiles} when it is given as a secret file or, missing, is a credential; under
     * {@code parameters} otherwise.
     */
    private static List<Problem> parameterProblems(Path file, KeyLines lines, FenceDevice device, AgentMetadata metadata) {
        List<Problem> problems = new ArrayList<>();
        for (ParameterProblem p : metadata.validate(device.parameters(), device.secretFiles().keySet())) {
            boolean secret = device.secretFiles().containsKey(p.parameter())
                    || (!device.parameters().containsKey(p.parameter()) && ParameterRules.isSecretName(p.parameter()));
            // ParameterProblem's text is a sentence about the agent ("fence_ipmilan has no such
            // parameter") or a predicate of the parameter ("is required by ..."); the latter gets
            // its subject back.
            String text = p.problem().startsWith(p.agent() + " ") ? p.problem()
                    : "parameter '" + p.parameter() + "' " + p.problem();
            problems.add(problem(file, lines, device, List.of(secret ? "secretFiles" : "parameters", p.parameter()),
                    text, p.fix()));
        }
        return problems;
    }

    private static Optional<Problem> validateAllProblem(Path file, KeyLines lines, FenceDevice device,
            AgentResult result) {
        String agent = device.agentName();
        return switch (result) {
            case AgentResult.Success s -> Optional.empty();
            case AgentResult.Failed f -> Optional.of(problem(file, lines, device, List.of(),
                    agent + " refused the device's options in validate-all (exit " + f.exitCode() + "): " + f.reason(),
                    "correct the device's parameters as the agent says"));
            case AgentResult.TimedOut t -> Optional.of(problem(file, lines, device, List.of(),
                    agent + " validate-all " + t.summary(),
                    "check that " + agent + " runs on this host (it contacts no device for validate-all);"
                            + " give its call more time if the host is overloaded"));
            case AgentResult.CouldNotStart c -> {
                int fix = c.reason().indexOf(FIX_SEPARATOR);
                yield Optional.of(problem(file, lines, device, List.of(),
                        agent + " validate-all could not start: " + (fix < 0 ? c.reason() : c.reason().substring(0, fix)),
                        fix < 0 ? "check the agent and the device's secret files"
                                : c.reason().substring(fix + FIX_SEPARATOR.length())));
            }
            // validate-all is neither status nor monitor: AgentResult.ofExit never gives these for it.
            case AgentResult.StatusOn r -> throw new IllegalStateException("validate-all gave " + r.summary());
            case AgentResult.StatusOff r -> throw new IllegalStateException("validate-all gave " + r.summary());
        };
    }

    /** A problem at {@code fenceDevices.DEVICE.SUB...}, on the line of that key or of its nearest enclosing one. */
    private static Problem problem(Path file, KeyLines lines, FenceDevice device, List<String> sub, String problem,
            String fix) {
        List<String> key = new ArrayList<>(List.of(KeyLines.FENCE_DEVICES, device.name()));
        key.addAll(sub);
        return new Problem(file, lines.lineOf(key), String.join(".", key), problem, fix);
    }

    /**
     * The lines of the keys under {@code fenceDevices} (down to a parameter's name), read from the
     * configuration file with the YAML parser the loader uses. Only for messages: a file that is
     * gone, unreadable or no longer valid YAML gives what could be read, and line 0 for the rest.
     */
    static final class KeyLines {
        static final String FENCE_DEVICES = "fenceDevices";

        /** fenceDevices, device, parameters or secretFiles, parameter. */
        private static final int MAX_DEPTH = 4;

        private static final YAMLFactory FACTORY = new YAMLFactory();

        private final Map<List<String>, Integer> lines;

        private KeyLines(Map<List<String>, Integer> lines) {
            this.lines = Map.copyOf(lines);
        }

        static KeyLines read(Path file) {
            byte[] bytes;
            try (InputStream in = Files.newInputStream(file)) {
                bytes = in.readNBytes(ConfigLoader.MAX_FILE_BYTES + 1);
            } catch (IOException e) {
                return new KeyLines(Map.of());
            }
            if (bytes.length > ConfigLoader.MAX_FILE_BYTES) {
                return new KeyLines(Map.of());
            }
            return of(new String(bytes, StandardCharsets.UTF_8));
        }

        static KeyLines of(String yaml) {
            String text = yaml.startsWith("\uFEFF") ? yaml.substring(1) : yaml;
            Map<List<String>, Integer> lines = new HashMap<>();
            try (JsonParser parser = FACTORY.createParser(text)) {
                for (JsonToken token = parser.nextToken(); token != null; token = parser.nextToken()) {
                    if (token != JsonToken.FIELD_NAME) {
                        continue;
                    }
                    List<String> path = path(parser.getParsingContext());
                    if (path.size() <= MAX_DEPTH && path.getFirst().equals(FENCE_DEVICES)) {
                        // The first of duplicate keys, which the loader reports anyway.
                        lines.putIfAbsent(path, parser.currentTokenLocation().getLineNr());
                    }
                }
            } catch (JsonProcessingException e) {
                // Keep the lines read before the syntax error.
            } catch (IOException e) {
                throw new IllegalStateException("I/O error while parsing text in memory", e);
            }
            return new KeyLines(lines);
        }

        /** The names of the keys leading to the current one; a list item is {@code [i]}. */
        private static List<String> path(JsonStreamContext context) {
            List<String> path = new ArrayList<>();
            for (JsonStreamContext c = context; c != null && !c.inRoot(); c = c.getParent()) {
                path.addFirst(c.inObject() ? String.valueOf(c.getCurrentName()) : "[" + c.getCurrentIndex() + "]");
            }
            return path;
        }

        /** The line of {@code key}, else of its nearest enclosing key found, else 0. */
        int lineOf(List<String> key) {
            for (int n = key.size(); n > 0; n--) {
                Integer line = lines.get(key.subList(0, n));
                if (line != null) {
                    return line;
                }
            }
            return 0;
        }
    }
}
