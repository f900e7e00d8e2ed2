package baton.runtime.resource;

import baton.runtime.agent.AgentXml;
import baton.runtime.agent.Spelling;
import baton.runtime.fence.ParameterProblem;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.w3c.dom.Element;

/**
 * What an OCF resource agent says about itself ({@code meta-data}, the XML of ra-api-1.dtd /
 * OCF 1.1): its parameters and its actions with their advised timeouts, and the check of a
 * resource's parameters against them.
 *
 * <p>Every agent of resource-agents starts its metadata with
 * {@code <!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">}; that exact declaration is skipped,
 * and any other DOCTYPE is refused (see {@link AgentXml}).
 *
 * @param agentName the agent's own name for itself, e.g. {@code IPaddr2}
 * @param version the agent's version attribute, or empty
 * @param parameters in the agent's order
 * @param actions in the agent's order
 */
public record OcfMetadata(String agentName, String version, String shortDescription, List<Parameter> parameters,
        List<Action> actions) {
    /** The longest metadata document read; the largest of resource-agents 4.12 is some 30 KiB. */
    public static final int MAX_XML_CHARS = 1 << 20;

    /** A sanity limit: the largest agent of resource-agents 4.12 has some 60 parameters. */
    public static final int MAX_PARAMETERS = 512;

    /** The DOCTYPE every OCF agent prints, naming a DTD that is never loaded. */
    static final String OCF_DOCTYPE = "<!DOCTYPE resource-agent SYSTEM \"ra-api-1.dtd\">";

    /** How far a misspelling may be from a real name (edits) to be suggested. */
    private static final int MAX_SUGGESTION_EDITS = 3;

    /** What {@code ocf_is_true} takes as true, and the usual ways of saying false. */
    private static final Set<String> BOOLEAN_VALUES = Set.of("yes", "true", "1", "YES", "TRUE", "True", "ja", "on", "ON",
            "no", "false", "0", "NO", "FALSE", "False", "nein", "off", "OFF");
    private static final Pattern INTEGER = Pattern.compile("[+-]?[0-9]+");
    /** Pacemaker's interval and timeout syntax (crm_get_msec): a number, then an optional unit; seconds without. */
    private static final Pattern TIME = Pattern.compile("\\s*([0-9]{1,9})\\s*(ms|msec|us|usec|s|sec|m|min|h|hr)?\\s*");

    /**
     * One parameter.
     *
     * @param unique whether no two resources of this agent may have the same value (e.g. IPaddr2's ip)
     * @param type {@code string}, {@code boolean}, {@code integer} (OCF 1.1 adds {@code select}
     *     and {@code time}; other types are taken as strings)
     * @param defaultValue the agent's default; empty when it gives none or an empty one
     */
    public record Parameter(String name, boolean required, boolean unique, String type, Optional<String> defaultValue,
            String shortDescription) {
        public Parameter {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(type, "type");
            Objects.requireNonNull(defaultValue, "defaultValue");
            Objects.requireNonNull(shortDescription, "shortDescription");
        }
    }

    /**
     * One action as the agent lists it.
     *
     * @param timeout the agent's advised minimum timeout; empty when it gives none (or one Baton cannot read)
     * @param interval for monitor: the advised interval
     * @param depth for monitor: the check depth ({@code OCF_CHECK_LEVEL})
     * @param role for monitor of promotable resources: the role this entry is for
     */
    public record Action(String name, Optional<Duration> timeout, Optional<Duration> interval, Optional<Integer> depth,
            Optional<String> role) {
        public Action {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(timeout, "timeout");
            Objects.requireNonNull(interval, "interval");
            Objects.requireNonNull(depth, "depth");
            Objects.requireNonNull(role, "role");
        }
    }

    public OcfMetadata {
        Objects.requireNonNull(agentName, "agentName");
        Objects.requireNonNull(version, "version");
        Objects.requireNonNull(shortDescription, "shortDescription");
        parameters = List.copyOf(parameters);
        actions = List.copyOf(actions);
    }

    /** Runs {@code meta-data} and parses what the agent prints. */
    public static OcfMetadataResult read(OcfDriver driver, OcfAgent agent, Duration deadline) throws InterruptedException {
        return switch (driver.metaData(agent, deadline)) {
            case ResourceResult.Ok ok when ok.output().stdoutTruncated() -> new OcfMetadataResult.Unavailable(
                    agent + " wrote more metadata than the output limit");
            case ResourceResult.Ok ok -> switch (parse(ok.output().stdout())) {
                case OcfMetadataResult.Loaded loaded -> loaded;
                case OcfMetadataResult.Unavailable u -> new OcfMetadataResult.Unavailable(agent + ": " + u.reason());
            };
            case ResourceResult.CouldNotStart r -> new OcfMetadataResult.Unavailable(r.reason());
            case ResourceResult.NotRunning r -> new OcfMetadataResult.Unavailable(agent + " meta-data: " + r.summary());
            case ResourceResult.Promoted r -> new OcfMetadataResult.Unavailable(agent + " meta-data: " + r.summary());
            case ResourceResult.Failed r -> new OcfMetadataResult.Unavailable(agent + " meta-data: " + r.summary());
            case ResourceResult.TimedOut r -> new OcfMetadataResult.Unavailable(agent + " meta-data: " + r.summary());
        };
    }

    /** Parses a metadata document (see the class comment for DOCTYPEs). */
    public static OcfMetadataResult parse(String xml) {
        Element root;
        switch (AgentXml.parse(xml, MAX_XML_CHARS, Optional.of(OCF_DOCTYPE))) {
            case AgentXml.Parsed.Root r -> root = r.element();
            case AgentXml.Parsed.Refused r -> {
                return new OcfMetadataResult.Unavailable(r.reason());
            }
        }
        String agentName = root.getAttribute("name");
        List<Parameter> parameters = new ArrayList<>();
        for (Element parameter : AgentXml.children(AgentXml.first(root, "parameters"), "parameter")) {
            if (parameters.size() == MAX_PARAMETERS) {
                return new OcfMetadataResult.Unavailable(agentName + " metadata lists more than " + MAX_PARAMETERS
                        + " parameters");
            }
            String name = parameter.getAttribute("name");
            if (!OcfResource.PARAMETER_NAME.matcher(name).matches()) {
                return new OcfMetadataResult.Unavailable(agentName + " metadata has a parameter named '" + name
                        + "', which cannot be an environment variable's name");
            }
            Element content = AgentXml.first(parameter, "content");
            parameters.add(new Parameter(name,
                    "1".equals(parameter.getAttribute("required")),
                    "1".equals(parameter.getAttribute("unique")),
                    content == null || content.getAttribute("type").isEmpty() ? "string" : content.getAttribute("type"),
                    content == null ? Optional.empty() : AgentXml.attribute(content, "default").filter(d -> !d.isEmpty()),
                    AgentXml.englishShortDescription(parameter)));
        }
        List<Action> actions = new ArrayList<>();
        for (Element action : AgentXml.children(AgentXml.first(root, "actions"), "action")) {
            actions.add(new Action(action.getAttribute("name"),
                    AgentXml.attribute(action, "timeout").flatMap(OcfMetadata::time),
                    AgentXml.attribute(action, "interval").flatMap(OcfMetadata::time),
                    AgentXml.attribute(action, "depth").filter(d -> INTEGER.matcher(d).matches() && d.length() < 9)
                            .map(Integer::parseInt),
                    AgentXml.attribute(action, "role")));
        }
        return new OcfMetadataResult.Loaded(new OcfMetadata(agentName, root.getAttribute("version"),
                AgentXml.englishShortDescription(root), parameters, actions));
    }

    /** A Pacemaker time ("20s", "20", "1m", "500ms"), or empty when it is none. */
    static Optional<Duration> time(String text) {
        Matcher m = TIME.matcher(text);
        if (!m.matches()) {
            return Optional.empty();
        }
        long n = Long.parseLong(m.group(1));
        return Optional.of(switch (m.group(2) == null ? "s" : m.group(2)) {
            case "ms", "msec" -> Duration.ofMillis(n);
            case "us", "usec" -> Duration.ofNanos(n * 1000);
            case "m", "min" -> Duration.ofMinutes(n);
            case "h", "hr" -> Duration.ofHours(n);
            default -> Duration.ofSeconds(n);
        });
    }

    public Optional<Parameter> parameter(String name) {
        return parameters.stream().filter(p -> p.name().equals(name)).findFirst();
    }

    /** Whether the agent lists this action. */
    public boolean supports(OcfAction action) {
        return actions.stream().anyMatch(a -> a.name().equals(action.wireName()));
    }

    /** The agent's advised timeout of {@code action} (for monitor, of its first entry). */
    public Optional<Duration> advisedTimeout(OcfAction action) {
        return actions.stream().filter(a -> a.name().equals(action.wireName())).findFirst().flatMap(Action::timeout);
    }

    /**
     * Everything wrong with a resource's parameters for this agent, sorted by parameter name:
     * names that cannot be passed, names the agent does not know (with the nearest real name),
     * values the agent would misread (a boolean of "maybe" is false to {@code ocf_is_true}, an
     * integer of "ten" breaks its arithmetic), and required parameters that are missing. Empty
     * when the parameters are fine.
     */
    public List<ParameterProblem> validate(Map<String, String> given) {
        List<ParameterProblem> problems = new ArrayList<>();
        List<String> known = parameters.stream().map(Parameter::name).toList();
        given.forEach((name, value) -> {
            if (name.startsWith("CRM_meta_")) {
                problems.add(new ParameterProblem(agentName, name, "is set by Baton on each call (CRM_meta_timeout is"
                        + " the call's timeout, CRM_meta_interval the monitor's interval)", "remove it"));
                return;
            }
            if (!OcfResource.PARAMETER_NAME.matcher(name).matches()) {
                problems.add(new ParameterProblem(agentName, name, "is not a parameter name: it must be 1 to 64 letters,"
                        + " digits or '_', not starting with a digit (it becomes the variable OCF_RESKEY_" + name + ")",
                        "write the name as the agent's metadata spells it"));
                return;
            }
            Optional<Parameter> parameter = parameter(name);
            if (parameter.isEmpty()) {
                problems.add(new ParameterProblem(agentName, name, agentName + " has no such parameter",
                        Spelling.nearest(name, known, MAX_SUGGESTION_EDITS).map(s -> "did you mean '" + s + "'?")
                                .orElse("remove it; `" + agentName + " meta-data` lists the parameters it takes")));
                return;
            }
            valueProblem(parameter.get(), value).ifPresent(problems::add);
        });
        for (Parameter parameter : parameters) {
            if (parameter.required() && !given.containsKey(parameter.name())) {
                problems.add(new ParameterProblem(agentName, parameter.name(), "is required by " + agentName + " and missing"
                        + (parameter.shortDescription().isEmpty() ? "" : " (" + parameter.shortDescription() + ")"),
                        "add " + parameter.name() + "=VALUE to the resource's parameters"));
            }
        }
        problems.sort(Comparator.comparing(ParameterProblem::parameter));
        return List.copyOf(problems);
    }

    private Optional<ParameterProblem> valueProblem(Parameter parameter, String value) {
        String name = parameter.name();
        if (value.length() > OcfResource.MAX_VALUE_CHARS || value.indexOf('\0') >= 0) {
            return Optional.of(new ParameterProblem(agentName, name, "has a value longer than " + OcfResource.MAX_VALUE_CHARS
                    + " characters or with a NUL character, which no environment variable can hold", "shorten the value"));
        }
        return switch (parameter.type().toLowerCase(Locale.ROOT)) {
            case "boolean" -> BOOLEAN_VALUES.contains(value) ? Optional.empty()
                    : Optional.of(new ParameterProblem(agentName, name, "is a boolean, and " + agentName
                            + " reads '" + value + "' as false", "write true or false (or yes/no, 1/0, on/off)"));
            case "integer" -> INTEGER.matcher(value).matches() ? Optional.empty()
                    : Optional.of(new ParameterProblem(agentName, name, "is a whole number, and " + agentName
                            + " cannot use '" + value + "'", "write a whole number, e.g. "
                            + parameter.defaultValue().orElse("10")));
            default -> Optional.empty(); // string, and the types of newer agents: the agent judges (validate-all)
        };
    }
}
