package baton.runtime.config;

import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The rule for cluster and node names. Lowercase letters, digits and '-' because names
 * end up in host-like places (log lines, unit names, the CLI's arguments) where anything
 * else needs quoting; at most 63 characters because that is what the quorum disk header
 * holds for the cluster name (HeaderCodec) and what a DNS label allows.
 */
final class Names {
    private Names() {}

    static final int MAX_LENGTH = 63;

    private static final Pattern ALLOWED = Pattern.compile("[a-z0-9-]+");

    /** What is wrong with {@code name}, or empty when it is a valid name. */
    static Optional<String> problem(String name, boolean letterFirst) {
        if (name.length() > MAX_LENGTH) {
            return Optional.of("'" + YamlNode.shown(name) + "' is " + name.length() + " characters long, at most "
                    + MAX_LENGTH + " are allowed");
        }
        if (!ALLOWED.matcher(name).matches()) {
            return Optional.of("'" + YamlNode.shown(name) + "' may contain only lowercase letters, digits and '-'");
        }
        if (letterFirst && !Character.isLetter(name.charAt(0))) {
            return Optional.of("'" + name + "' must start with a letter");
        }
        return Optional.empty();
    }

    /** A valid name close to {@code name}, or {@code fallback} when none is obvious. */
    static String suggestion(String name, boolean letterFirst, String fallback) {
        String s = name.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9-]", "-");
        if (s.length() > MAX_LENGTH) {
            s = s.substring(0, MAX_LENGTH);
        }
        return problem(s, letterFirst).isEmpty() ? s : fallback;
    }
}
