package baton.runtime.fence;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * One fence device: a ClusterLabs fence agent and the parameters that point it at one power
 * switch and plug.
 *
 * <p>Secrets are not parameters: {@code secretFiles} maps a parameter name (e.g.
 * {@code password}) to a file that {@link FenceAgent} reads on every call. So a device holds
 * no secret, and its {@code toString} is safe to log. To keep it that way, a parameter whose
 * name says it is a credential ({@code password}, {@code passwd}, {@code community}, ...) is
 * refused among the plain parameters.
 *
 * <p>The checks here are the agent-independent ones (the stdin protocol's); whether the agent
 * knows the parameters is {@link AgentMetadata#validate}.
 *
 * @param name the device's name in the configuration, for messages
 * @param agent absolute path of the agent executable, e.g. {@code /usr/sbin/fence_ipmilan}
 * @param parameters parameter name to value, sent on stdin as {@code name=value}
 * @param secretFiles parameter name to the file holding its value
 */
public record FenceDevice(String name, Path agent, Map<String, String> parameters, Map<String, Path> secretFiles) {
    /** Where the Debian package fence-agents installs the agents, and where Pacemaker looks. */
    public static final Path AGENT_DIRECTORY = Path.of("/usr/sbin");

    private static final Pattern AGENT_NAME = Pattern.compile("fence_[a-z0-9_]{1,60}");

    public FenceDevice {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(agent, "agent");
        parameters = Collections.unmodifiableSortedMap(new TreeMap<>(parameters));
        secretFiles = Collections.unmodifiableSortedMap(new TreeMap<>(secretFiles));
        List<String> problems = problems(name, agent, parameters, secretFiles);
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("fence device '" + name + "': " + String.join("; ", problems));
        }
    }

    /** The path of an agent of the fence-agents package by its name, e.g. {@code fence_ipmilan}. */
    public static Path agentPath(String agentName) {
        if (!AGENT_NAME.matcher(agentName).matches()) {
            throw new IllegalArgumentException("'" + agentName + "' is not the name of a fence agent (fence_ followed by"
                    + " lowercase letters, digits or '_')");
        }
        return AGENT_DIRECTORY.resolve(agentName);
    }

    /** The agent's file name, e.g. {@code fence_ipmilan}, for messages. */
    public String agentName() {
        Path fileName = agent.getFileName();
        return fileName == null ? agent.toString() : fileName.toString();
    }

    /**
     * The parameters for logs, sorted by name: plain values as they are, secrets as the file
     * they come from, e.g. {@code ip=10.0.0.7 lanplus=1 password=<secret file /etc/baton/bmc.pw> username=admin}.
     */
    public String redacted() {
        SortedMap<String, String> shown = new TreeMap<>(parameters);
        secretFiles.forEach((parameter, file) -> shown.put(parameter, "<secret file " + file + ">"));
        StringBuilder text = new StringBuilder();
        shown.forEach((parameter, value) -> {
            if (!text.isEmpty()) {
                text.append(' ');
            }
            text.append(parameter).append('=').append(value);
        });
        return text.toString();
    }

    @Override
    public String toString() {
        return "FenceDevice[" + name + " " + agent + " " + redacted() + "]";
    }

    /** Everything that makes these parameters unsendable to any agent, as messages without values. */
    static List<String> problems(String name, Path agent, Map<String, String> parameters,
            Map<String, Path> secretFiles) {
        List<String> problems = new ArrayList<>();
        if (name.isBlank()) {
            problems.add("the device name is empty");
        }
        if (!agent.isAbsolute()) {
            problems.add("agent " + agent + " is not an absolute path (e.g. " + AGENT_DIRECTORY.resolve("fence_ipmilan") + ")");
        }
        if (parameters.size() + secretFiles.size() > ParameterRules.MAX_PARAMETERS) {
            problems.add((parameters.size() + secretFiles.size()) + " parameters, more than the limit of "
                    + ParameterRules.MAX_PARAMETERS);
        }
        parameters.forEach((parameter, value) -> {
            Objects.requireNonNull(value, parameter);
            ParameterRules.problems(parameter, value).forEach(p -> problems.add("parameter '" + parameter + "' " + p));
            if (ParameterRules.isSecretName(parameter)) {
                problems.add("parameter '" + parameter + "' holds a credential and must come from a secret file, never inline");
            }
        });
        secretFiles.forEach((parameter, file) -> {
            Objects.requireNonNull(file, parameter);
            ParameterRules.nameProblem(parameter).ifPresent(p -> problems.add("secret parameter '" + parameter + "' " + p));
            if (parameters.containsKey(parameter)) {
                problems.add("parameter '" + parameter + "' is given both inline and as a secret file");
            }
        });
        return problems;
    }
}
