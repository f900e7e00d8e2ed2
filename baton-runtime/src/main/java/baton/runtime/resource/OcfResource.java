package baton.runtime.resource;

import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * One configured instance of an OCF agent: what {@link OcfDriver} needs to run it.
 *
 * <p>The constructor enforces what the environment can carry (names that are shell variable
 * names, values without NUL) and nothing about the agent: that is
 * {@link OcfMetadata#validate}'s job, at configuration time, with messages and fixes.
 *
 * @param instance the resource's name, the agent's {@code OCF_RESOURCE_INSTANCE} (agents put
 *     it into state file and log tag names)
 * @param agent which agent
 * @param parameters each becomes {@code OCF_RESKEY_name=value}
 */
public record OcfResource(String instance, OcfAgent agent, Map<String, String> parameters) {
    public static final int MAX_PARAMETERS = 64;
    public static final int MAX_VALUE_CHARS = 4096;

    private static final Pattern INSTANCE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}");
    /** A name the shell can read as {@code $OCF_RESKEY_name}. */
    static final Pattern PARAMETER_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,63}");

    public OcfResource {
        Objects.requireNonNull(instance, "instance");
        Objects.requireNonNull(agent, "agent");
        parameters = Collections.unmodifiableMap(new TreeMap<>(parameters));
        if (!INSTANCE.matcher(instance).matches()) {
            throw new IllegalArgumentException("resource name '" + instance + "': 1 to 63 letters, digits, '_', '.',"
                    + " ':', '-', starting with a letter or digit");
        }
        if (parameters.size() > MAX_PARAMETERS) {
            throw new IllegalArgumentException(instance + ": " + parameters.size() + " parameters, at most " + MAX_PARAMETERS);
        }
        parameters.forEach((name, value) -> {
            if (!PARAMETER_NAME.matcher(name).matches() || name.startsWith("CRM_meta_")) {
                throw new IllegalArgumentException(instance + ": '" + name + "' cannot be an OCF parameter name");
            }
            if (value.length() > MAX_VALUE_CHARS || value.indexOf('\0') >= 0) {
                throw new IllegalArgumentException(instance + ": the value of '" + name + "' is longer than "
                        + MAX_VALUE_CHARS + " characters or holds a NUL character");
            }
        });
    }
}
