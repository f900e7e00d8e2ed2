package baton.runtime.fence;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What any fence agent parameter must look like, whatever the agent: the rules of the stdin
 * protocol (doc/FenceAgentAPI.md) and of the parser every agent shares (fencing.py,
 * {@code _parse_input_stdin}). Pure functions.
 *
 * <p>The parser strips each line, drops one pair of double quotes around the value and takes
 * the last of repeated names. So a value with a newline would smuggle in another parameter
 * (even another {@code action=}), and a value with surrounding blanks or quotes would reach the
 * device changed: all three are refused instead.
 */
final class ParameterRules {
    private ParameterRules() {}

    static final int MAX_PARAMETERS = 64;
    static final int MAX_NAME_CHARS = 64;
    static final int MAX_VALUE_CHARS = 4096;

    /** Names as the agents' metadata spells them; the parser also takes '-' for '_'. */
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]*");

    /**
     * Parameters Baton never passes on. {@code action} is Baton's own, one per call, sent last.
     * {@code option} is its ancient alias (fence-agents 4 ignores it, and then runs the default
     * action, reboot). {@code help} and {@code version} make the agent print text and exit 0
     * without touching the device: {@code action=off} with {@code version=1} would report a
     * power-off that never happened.
     */
    static final Set<String> RESERVED = Set.of("action", "option", "help", "version");

    /**
     * Names of the fence-agents 4.12 parameters whose value is a credential, gathered from the
     * metadata of every agent of the Debian package. They must come from secret files: the
     * configuration is shared, logged and shown by the CLI.
     */
    private static final Set<String> SECRET_NAMES = Set.of("password", "passwd", "snmp_priv_passwd",
            "community", "hexadecimal_kg", "secret_key", "access_key", "apikey", "token");

    /** The form the agents' parser compares: '-' and '_' are the same character to it (case counts). */
    static String canonical(String name) {
        return name.replace('-', '_');
    }

    /** For the safety checks, case does not count either: better refuse too much than too little. */
    private static String folded(String name) {
        return canonical(name).toLowerCase(Locale.ROOT);
    }

    /** Whether a parameter of this name holds a credential; {@code *_script} names hold a command. */
    static boolean isSecretName(String name) {
        String canonical = folded(name);
        return SECRET_NAMES.contains(canonical)
                || (canonical.contains("passw") && !canonical.endsWith("_script"));
    }

    /** Why this name can never be sent, or empty. */
    static Optional<String> nameProblem(String name) {
        if (name.isEmpty() || name.length() > MAX_NAME_CHARS || !NAME.matcher(name).matches()) {
            return Optional.of("is not a parameter name: it must be 1 to " + MAX_NAME_CHARS
                    + " letters, digits, '_' or '-', starting with a letter or digit");
        }
        if (RESERVED.contains(folded(name))) {
            return Optional.of(folded(name).equals("action") || folded(name).equals("option")
                    ? "is set by Baton on each call (off, status, monitor, ...)"
                    : "makes the agent print text and exit 0 without acting, which would read as success");
        }
        return Optional.empty();
    }

    /**
     * Why this value cannot be sent as given, or empty. The text never contains the value:
     * for a secret it would be the secret.
     */
    static Optional<String> valueProblem(String value) {
        if (value.length() > MAX_VALUE_CHARS) {
            return Optional.of("has a value longer than " + MAX_VALUE_CHARS + " characters");
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '\n' || c == '\r' || c == '\0') {
                return Optional.of("has a line break or NUL character at position " + (i + 1)
                        + ", which would end the parameter's line on the agent's stdin");
            }
        }
        if (!value.equals(value.strip())) {
            return Optional.of("has a value that starts or ends with blanks, which the agents strip");
        }
        if (value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"")) {
            return Optional.of("has a value in double quotes, which the agents remove");
        }
        return Optional.empty();
    }

    /** Every problem of a name and, when given, of its value, as messages without the value. */
    static List<String> problems(String name, String value) {
        List<String> problems = new ArrayList<>(2);
        nameProblem(name).ifPresent(problems::add);
        if (value != null) {
            valueProblem(value).ifPresent(problems::add);
        }
        return problems;
    }
}
