package baton.runtime.fence;

import baton.runtime.agent.AgentXml;
import baton.runtime.agent.Spelling;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.w3c.dom.Element;

/**
 * What a fence agent says about itself ({@code action=metadata}): its parameters and actions,
 * from the XML of lib/metadata.rng in ClusterLabs/fence-agents, and the check of a device's
 * parameters against them.
 *
 * <p>Aliases. The agents renamed parameters over the years and accept both names: the new
 * one says {@code obsoletes="OLD"}, the old one {@code deprecated="1"}
 * ({@code ip}/{@code ipaddr}, {@code username}/{@code login}, {@code password}/{@code passwd},
 * {@code plug}/{@code port}). Such a pair is one parameter here: either name satisfies it,
 * giving both is an error. The {@code required} flag of such a pair is unreliable: fence_apc_snmp
 * marks both {@code ip} and {@code ipaddr} required, meaning one of them.
 *
 * <p>Metadata can be wrong the other way too: fence_ipmilan marks {@code ip} optional but fails
 * without it ("You have to enter fence address"). Running {@link AgentAction#VALIDATE_ALL},
 * which makes the agent check its options without contacting the device, catches those.
 *
 * @param agentName the agent's own name for itself, e.g. {@code fence_ipmilan}
 * @param shortDescription one line, e.g. "Fence agent for IPMI"
 * @param parameters in the agent's order
 * @param actions the action names it lists, e.g. {@code on}, {@code off}, ..., {@code diag}
 */
public record AgentMetadata(String agentName, String shortDescription, List<Parameter> parameters,
        List<String> actions) {
    /** A sanity limit: the largest agent has some 60 parameters. */
    public static final int MAX_PARAMETERS = 512;

    /** The longest metadata document read: the largest agent's is some 20 KiB. */
    public static final int MAX_XML_CHARS = FenceAgent.DEFAULT_OUTPUT_LIMIT_BYTES;

    /** How far a misspelling may be from a real name (edits) to be suggested. */
    private static final int MAX_SUGGESTION_DISTANCE = 3;

    private static final Set<String> BOOLEAN_VALUES = Set.of("1", "yes", "on", "true", "0", "no", "off", "false");
    /** fencing.py checks integer and second parameters with Python's int(). */
    private static final Pattern INTEGER = Pattern.compile("[+-]?[0-9]+");

    /**
     * One parameter.
     *
     * @param name as the agent spells it
     * @param required whether the agent says it is required (see the class comment for how far to trust it)
     * @param deprecated an old name, kept working
     * @param obsoletes the old name this one replaces
     * @param type {@code string}, {@code boolean}, {@code integer}, {@code second} or {@code select}
     * @param defaultValue the agent's default
     * @param choices for {@code select}: the values it takes (the agents compare them ignoring case)
     * @param description the English short description
     */
    public record Parameter(String name, boolean required, boolean deprecated, Optional<String> obsoletes,
            String type, Optional<String> defaultValue, List<String> choices, String description) {
        public Parameter {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(obsoletes, "obsoletes");
            Objects.requireNonNull(type, "type");
            Objects.requireNonNull(defaultValue, "defaultValue");
            choices = List.copyOf(choices);
            Objects.requireNonNull(description, "description");
        }
    }

    public AgentMetadata {
        Objects.requireNonNull(agentName, "agentName");
        Objects.requireNonNull(shortDescription, "shortDescription");
        parameters = List.copyOf(parameters);
        actions = List.copyOf(actions);
    }

    /** Runs the agent with {@code action=metadata} and parses what it prints. */
    public static MetadataResult read(FenceAgent runner, Path agent, Duration deadline) throws InterruptedException {
        if (!agent.isAbsolute()) {
            return new MetadataResult.Unavailable("fence agent " + agent + " is not an absolute path; fix: give it as e.g. "
                    + FenceDevice.agentPath("fence_ipmilan"));
        }
        FenceDevice probe = new FenceDevice("metadata", agent, Map.of(), Map.of());
        return switch (runner.run(probe, AgentAction.METADATA, deadline)) {
            case AgentResult.Success s when s.output().stdoutTruncated() -> new MetadataResult.Unavailable(
                    agent + " wrote more metadata than the limit of " + MAX_XML_CHARS + " bytes");
            case AgentResult.Success s -> parse(s.output().stdout());
            case AgentResult.StatusOn r -> new MetadataResult.Unavailable(agent + " metadata: unexpected " + r.summary());
            case AgentResult.StatusOff r -> new MetadataResult.Unavailable(agent + " metadata: unexpected " + r.summary());
            case AgentResult.Failed r -> new MetadataResult.Unavailable(agent + " metadata: " + r.summary());
            case AgentResult.TimedOut r -> new MetadataResult.Unavailable(agent + " metadata: " + r.summary());
            case AgentResult.CouldNotStart r -> new MetadataResult.Unavailable(r.reason());
        };
    }

    /**
     * Parses a metadata document. DOCTYPEs are refused, so no entity is expanded and nothing
     * external is fetched: the document comes from an executable Baton did not write.
     */
    public static MetadataResult parse(String xml) {
        Element root;
        switch (AgentXml.parse(xml, MAX_XML_CHARS, Optional.empty())) {
            case AgentXml.Parsed.Root r -> root = r.element();
            case AgentXml.Parsed.Refused r -> {
                return new MetadataResult.Unavailable(r.reason());
            }
        }
        String agentName = root.getAttribute("name");
        List<Parameter> parameters = new ArrayList<>();
        for (Element parameter : AgentXml.children(AgentXml.first(root, "parameters"), "parameter")) {
            if (parameters.size() == MAX_PARAMETERS) {
                return new MetadataResult.Unavailable(agentName + " metadata lists more than " + MAX_PARAMETERS + " parameters");
            }
            String name = parameter.getAttribute("name");
            if (name.isEmpty()) {
                return new MetadataResult.Unavailable(agentName + " metadata has a <parameter> without a name");
            }
            Element content = AgentXml.first(parameter, "content");
            List<String> choices = new ArrayList<>();
            for (Element option : AgentXml.children(content, "option")) {
                choices.add(option.getAttribute("value"));
            }
            parameters.add(new Parameter(name,
                    "1".equals(parameter.getAttribute("required")),
                    "1".equals(parameter.getAttribute("deprecated")),
                    AgentXml.attribute(parameter, "obsoletes"),
                    content == null ? "string" : content.getAttribute("type"),
                    content == null ? Optional.empty() : AgentXml.attribute(content, "default"),
                    choices,
                    AgentXml.englishShortDescription(parameter)));
        }
        List<String> actions = new ArrayList<>();
        for (Element action : AgentXml.children(AgentXml.first(root, "actions"), "action")) {
            actions.add(action.getAttribute("name"));
        }
        return new MetadataResult.Loaded(new AgentMetadata(agentName, root.getAttribute("shortdesc"), parameters, actions));
    }

    /** Whether the agent lists this action. */
    public boolean supports(AgentAction action) {
        return actions.contains(action.wireName());
    }

    /** The parameter of this name, '-' and '_' being the same as for the agents' parser. */
    public Optional<Parameter> parameter(String name) {
        String canonical = ParameterRules.canonical(name);
        return parameters.stream().filter(p -> ParameterRules.canonical(p.name()).equals(canonical)).findFirst();
    }

    /**
     * Everything wrong with a device's parameters for this agent, sorted by parameter name:
     * names no agent may get, names this agent does not know (with the nearest real name), a
     * parameter given under two of its names, credentials given inline, values the agent
     * would ignore (a boolean of "maybe", a number of "ten", a choice it does not offer), and
     * required parameters that are missing. Empty when the device is fine.
     *
     * @param parameters the plain parameters with their values
     * @param secretNames the names of the parameters whose values come from secret files
     */
    public List<ParameterProblem> validate(Map<String, String> parameters, Set<String> secretNames) {
        List<ParameterProblem> problems = new ArrayList<>();
        Map<String, List<Parameter>> groups = aliasGroups();
        Map<List<Parameter>, List<String>> given = new LinkedHashMap<>();
        Set<String> names = new TreeSet<>(parameters.keySet());
        names.addAll(secretNames);
        for (String name : names) {
            String value = parameters.get(name);
            Optional<String> nameProblem = ParameterRules.nameProblem(name);
            if (nameProblem.isPresent()) {
                problems.add(new ParameterProblem(agentName, name, nameProblem.get(), "remove it"));
                continue;
            }
            Optional<Parameter> known = parameter(name);
            if (known.isEmpty()) {
                problems.add(new ParameterProblem(agentName, name, agentName + " has no such parameter",
                        suggestion(name).map(s -> "did you mean '" + s + "'?")
                                .orElse("remove it; `" + agentName + " -o metadata` lists the parameters it takes")));
                continue;
            }
            given.computeIfAbsent(groups.get(ParameterRules.canonical(known.get().name())), g -> new ArrayList<>()).add(name);
            if (value != null) {
                if (ParameterRules.isSecretName(name)) {
                    problems.add(new ParameterProblem(agentName, name, "holds a credential but is given inline",
                            "put the secret alone in a file of mode 600 and give that file for '" + name + "'"));
                }
                ParameterRules.valueProblem(value).ifPresent(p ->
                        problems.add(new ParameterProblem(agentName, name, p, "give the value without them")));
                valueTypeProblem(known.get(), name, value).ifPresent(problems::add);
            }
        }
        given.forEach((group, namesGiven) -> {
            if (namesGiven.size() > 1) {
                String preferred = preferred(group).name();
                problems.add(new ParameterProblem(agentName, namesGiven.get(1), "is the same parameter as '"
                        + namesGiven.get(0) + "' (" + namesOf(group) + " are names of one parameter)",
                        "keep only '" + preferred + "'"));
            }
        });
        for (List<Parameter> group : distinctGroups(groups)) {
            boolean required = group.stream().anyMatch(Parameter::required);
            if (!required || given.containsKey(group) || isReservedGroup(group)) {
                continue;
            }
            Parameter preferred = preferred(group);
            String others = group.size() == 1 ? ""
                    : " (also accepted as " + namesOf(group.stream().filter(p -> p != preferred).toList()) + ")";
            problems.add(new ParameterProblem(agentName, preferred.name(), "is required by " + agentName + " and missing" + others,
                    ParameterRules.isSecretName(preferred.name())
                            ? "give a secret file for '" + preferred.name() + "' (the secret alone, mode 600)"
                            : "add " + preferred.name() + "=VALUE to the device's parameters"));
        }
        problems.sort(Comparator.comparing(ParameterProblem::parameter));
        return List.copyOf(problems);
    }

    private Optional<ParameterProblem> valueTypeProblem(Parameter parameter, String name, String value) {
        String problem = switch (parameter.type()) {
            case "boolean" -> BOOLEAN_VALUES.contains(value.toLowerCase(Locale.ROOT)) ? null
                    : "is a boolean, and " + agentName + " ignores the value '" + value + "'";
            case "integer", "second" -> INTEGER.matcher(value).matches() ? null
                    : "is a whole number" + (parameter.type().equals("second") ? " of seconds" : "")
                            + ", and " + agentName + " refuses '" + value + "'";
            case "select" -> parameter.choices().isEmpty()
                    || parameter.choices().stream().anyMatch(c -> c.equalsIgnoreCase(value)) ? null
                    : "is one of " + parameter.choices() + ", and " + agentName + " refuses '" + value + "'";
            default -> null; // string, and types of newer agents: the agent will judge.
        };
        if (problem == null) {
            return Optional.empty();
        }
        String fix = switch (parameter.type()) {
            case "boolean" -> "write 1 or 0 (or yes/no, on/off, true/false)";
            case "integer", "second" -> "write a whole number, e.g. " + parameter.defaultValue().orElse("10");
            default -> "write one of " + parameter.choices();
        };
        return Optional.of(new ParameterProblem(agentName, name, problem, fix));
    }

    /**
     * Parameters joined by {@code obsoletes} links, keyed by each member's canonical name. A
     * group is usually one parameter, or a new name and the old one it obsoletes.
     */
    private Map<String, List<Parameter>> aliasGroups() {
        Map<String, String> leader = new TreeMap<>();
        for (Parameter p : parameters) {
            leader.put(ParameterRules.canonical(p.name()), ParameterRules.canonical(p.name()));
        }
        for (Parameter p : parameters) {
            p.obsoletes().map(ParameterRules::canonical).filter(leader::containsKey)
                    .ifPresent(old -> union(leader, ParameterRules.canonical(p.name()), old));
        }
        Map<String, List<Parameter>> byLeader = new TreeMap<>();
        for (Parameter p : parameters) {
            byLeader.computeIfAbsent(find(leader, ParameterRules.canonical(p.name())), k -> new ArrayList<>()).add(p);
        }
        Map<String, List<Parameter>> groups = new TreeMap<>();
        for (Parameter p : parameters) {
            groups.put(ParameterRules.canonical(p.name()), byLeader.get(find(leader, ParameterRules.canonical(p.name()))));
        }
        return groups;
    }

    /** Each group once, in the order of its first parameter in the metadata. */
    private List<List<Parameter>> distinctGroups(Map<String, List<Parameter>> groups) {
        List<List<Parameter>> ordered = new ArrayList<>();
        for (Parameter p : parameters) {
            List<Parameter> group = groups.get(ParameterRules.canonical(p.name()));
            if (ordered.stream().noneMatch(g -> g == group)) {
                ordered.add(group);
            }
        }
        return ordered;
    }

    private static String find(Map<String, String> leader, String name) {
        String current = name;
        // Bounded: each step moves to a different name, and there are finitely many.
        for (int steps = 0; steps <= leader.size() && !leader.get(current).equals(current); steps++) {
            current = leader.get(current);
        }
        return current;
    }

    private static void union(Map<String, String> leader, String a, String b) {
        String rootA = find(leader, a);
        String rootB = find(leader, b);
        if (!rootA.equals(rootB)) {
            leader.put(rootB, rootA);
        }
    }

    /** The name to recommend: one that is not deprecated, preferably the one obsoleting another. */
    private static Parameter preferred(List<Parameter> group) {
        return group.stream()
                .min(Comparator.comparing(Parameter::deprecated)
                        .thenComparing(p -> p.obsoletes().isEmpty()))
                .orElseThrow();
    }

    private static boolean isReservedGroup(List<Parameter> group) {
        return group.stream().anyMatch(p -> ParameterRules.nameProblem(p.name()).isPresent());
    }

    private static String namesOf(List<Parameter> group) {
        return String.join(", ", group.stream().map(p -> "'" + p.name() + "'").toList());
    }

    /** The nearest parameter name within {@link #MAX_SUGGESTION_DISTANCE} edits, new names before deprecated ones. */
    Optional<String> suggestion(String unknown) {
        String target = ParameterRules.canonical(unknown).toLowerCase(Locale.ROOT);
        int limit = Math.min(MAX_SUGGESTION_DISTANCE, Math.max(1, target.length() / 3));
        return parameters.stream()
                .filter(p -> ParameterRules.nameProblem(p.name()).isEmpty())
                .map(p -> Map.entry(p, Spelling.distance(target, ParameterRules.canonical(p.name()).toLowerCase(Locale.ROOT))))
                .filter(e -> e.getValue() <= limit)
                .min(Comparator.<Map.Entry<Parameter, Integer>>comparingInt(Map.Entry::getValue)
                        .thenComparing(e -> e.getKey().deprecated())
                        .thenComparing(e -> e.getKey().name()))
                .map(e -> e.getKey().name());
    }
}
