package baton.runtime.resource;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * A resource made of three commands: start, stop and status.
 *
 * <p>Each command is an argument vector run as is, never a line handed to {@code sh -c}:
 * nothing is split, globbed or expanded, so a value with a blank, a quote or a {@code $} reaches
 * the program unchanged and cannot become a second command. Whoever wants a shell writes
 * {@code [/bin/sh, -c, "..."]} and owns its quoting. The program must be an absolute path, so
 * that what runs does not depend on a {@code PATH}.
 *
 * @param name the resource's name, also given to the commands as {@code BATON_RESOURCE}
 * @param start run to start it; exit 0 = started (and it must be 0 when already running)
 * @param stop run to stop it; exit 0 = stopped (and it must be 0 when already stopped)
 * @param status run to ask; LSB status codes, see {@link ExecDriver}
 * @param environment added to the commands' environment (after {@code PATH}, {@code LC_ALL}), e.g. a port
 */
public record ExecResource(String name, List<String> start, List<String> stop, List<String> status,
        Map<String, String> environment) {
    public static final int MAX_ARGUMENTS = 64;
    public static final int MAX_ARGUMENT_CHARS = 4096;

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}");
    private static final Pattern VARIABLE = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,63}");

    public ExecResource {
        Objects.requireNonNull(name, "name");
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("resource name '" + name + "': 1 to 63 letters, digits, '_', '.', ':', '-',"
                    + " starting with a letter or digit");
        }
        start = command(name, "start", start);
        stop = command(name, "stop", stop);
        status = command(name, "status", status);
        environment = Collections.unmodifiableMap(new TreeMap<>(environment));
        environment.forEach((variable, value) -> {
            if (!VARIABLE.matcher(variable).matches() || ExecDriver.FIXED_ENVIRONMENT.contains(variable)) {
                throw new IllegalArgumentException(name + ": '" + variable + "' cannot be set (a variable name that is not"
                        + " one of " + ExecDriver.FIXED_ENVIRONMENT + ")");
            }
            checkText(name, "environment " + variable, value);
        });
    }

    /** The command of {@code action}. */
    public List<String> command(ExecAction action) {
        return switch (action) {
            case START -> start;
            case STOP -> stop;
            case STATUS -> status;
        };
    }

    private static List<String> command(String name, String action, List<String> argv) {
        List<String> copy = List.copyOf(argv);
        if (copy.isEmpty() || copy.size() > MAX_ARGUMENTS) {
            throw new IllegalArgumentException(name + ": the " + action + " command must have 1 to " + MAX_ARGUMENTS
                    + " arguments");
        }
        if (!copy.get(0).startsWith("/")) {
            throw new IllegalArgumentException(name + ": the " + action + " command's program '" + copy.get(0)
                    + "' must be an absolute path");
        }
        copy.forEach(argument -> checkText(name, action + " command", argument));
        return copy;
    }

    private static void checkText(String name, String what, String text) {
        if (text.length() > MAX_ARGUMENT_CHARS || text.indexOf('\0') >= 0) {
            throw new IllegalArgumentException(name + ": " + what + " has a value longer than " + MAX_ARGUMENT_CHARS
                    + " characters or with a NUL character");
        }
    }
}
