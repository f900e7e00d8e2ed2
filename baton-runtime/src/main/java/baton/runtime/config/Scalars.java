package baton.runtime.config;

import java.math.BigInteger;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Typed reading of single values, reporting a value of the wrong type instead of
 * converting it: a quoted number, a list where one value belongs, a number with a unit.
 */
final class Scalars {
    private Scalars() {}

    /**
     * Plain decimal integers only. YAML 1.1 would also read 0755 as octal, 0x1F as hex and
     * 1_000 as 1000; in a timeout each of these is more likely a mistake than a wish.
     */
    private static final Pattern DECIMAL_INTEGER = Pattern.compile("-?(0|[1-9][0-9]*)");

    private static final Pattern LEADING_NUMBER = Pattern.compile("-?[1-9][0-9]*|0");

    /** A text value; {@code example} is a whole {@code key: value} line for the fix. */
    static Optional<String> text(YamlNode value, String path, Problems problems, String example) {
        return switch (value) {
            case YamlNode.Text t -> Optional.of(t.value());
            case YamlNode.WholeNumber n -> wrongType(value, path, problems, "text",
                    "quote it if it is meant as text: '" + n.source() + "', e.g. " + example);
            case YamlNode.Decimal d -> wrongType(value, path, problems, "text",
                    "quote it if it is meant as text: '" + d.source() + "', e.g. " + example);
            case YamlNode.Bool b -> wrongType(value, path, problems, "text",
                    "quote it if it is meant as text: '" + b.value() + "', e.g. " + example);
            case YamlNode.Null n -> wrongType(value, path, problems, "text", "write a value, e.g. " + example);
            case YamlNode.Alias a -> alias(a, path, problems);
            case YamlNode.Mapping m -> wrongType(m, path, problems, "a single text value", "write it as " + example);
            case YamlNode.Sequence s -> wrongType(s, path, problems, "a single text value", "write it as " + example);
        };
    }

    /**
     * Any scalar's text as written ({@code PORT: 8080} and {@code PORT: "8080"} both give
     * {@code 8080}): for values handed on as text (agent parameters, environment variables).
     *
     * @param noValueFix the fix when the value is missing (null)
     * @param oneValueFix the fix when a mapping or a list stands where one value should
     */
    static Optional<String> asText(YamlNode value, String path, Problems problems, String what, String noValueFix,
                                   String oneValueFix) {
        return switch (value) {
            case YamlNode.Text t -> Optional.of(t.value());
            case YamlNode.WholeNumber n -> Optional.of(n.source());
            case YamlNode.Decimal d -> Optional.of(d.source());
            case YamlNode.Bool b -> Optional.of(Boolean.toString(b.value()));
            case YamlNode.Null n -> {
                problems.add(n.line(), path, "the " + what + " has no value", noValueFix);
                yield Optional.empty();
            }
            case YamlNode.Alias a -> alias(a, path, problems);
            case YamlNode.Mapping m -> {
                problems.add(m.line(), path, "expected a single value, found a mapping", oneValueFix);
                yield Optional.empty();
            }
            case YamlNode.Sequence q -> {
                problems.add(q.line(), path, "expected a single value, found a list", oneValueFix);
                yield Optional.empty();
            }
        };
    }

    /** A whole number in {@code [min, max]}; {@code example} is a whole {@code key: value} line. */
    static OptionalLong whole(YamlNode value, String path, Problems problems, long min, long max, String example) {
        if (!(value instanceof YamlNode.WholeNumber number)) {
            problems.add(value.line(), path, "expected a whole number, found " + value.describe(),
                    notANumberFix(value, example));
            return OptionalLong.empty();
        }
        String source = number.source();
        if (!DECIMAL_INTEGER.matcher(source).matches()) {
            problems.add(value.line(), path, "'" + YamlNode.shown(source) + "' is not a plain decimal number",
                    "write it in decimal digits without leading zeros, '_' or '0x', e.g. " + example);
            return OptionalLong.empty();
        }
        BigInteger n = new BigInteger(source);
        if (n.compareTo(BigInteger.valueOf(min)) < 0 || n.compareTo(BigInteger.valueOf(max)) > 0) {
            problems.add(value.line(), path, "must be between " + min + " and " + max + ", is "
                    + YamlNode.shown(source), "use a value from " + min + " to " + max);
            return OptionalLong.empty();
        }
        return OptionalLong.of(n.longValueExact());
    }

    private static String notANumberFix(YamlNode value, String example) {
        return switch (value) {
            // "200" or 200ms: the number is there, the quotes or the unit must go.
            case YamlNode.Text t -> {
                Matcher m = LEADING_NUMBER.matcher(t.value().strip());
                yield m.lookingAt()
                        ? "write the number alone, without quotes or unit, e.g. " + withValue(example, m.group())
                        : "write a whole number, e.g. " + example;
            }
            case YamlNode.Alias a -> "write the value out in full; YAML aliases are not supported";
            case YamlNode.WholeNumber n -> "write a whole number, e.g. " + example;
            case YamlNode.Decimal d -> "write a whole number, e.g. " + example;
            case YamlNode.Bool b -> "write a whole number, e.g. " + example;
            case YamlNode.Null n -> "write a whole number, e.g. " + example;
            case YamlNode.Mapping m -> "write a single whole number, e.g. " + example;
            case YamlNode.Sequence s -> "write a single whole number, e.g. " + example;
        };
    }

    /**
     * A file system path; relative paths resolve against {@code folder} (the configuration
     * file's folder) so that the meaning of the file does not depend on the working directory.
     */
    static Optional<Path> path(YamlNode value, String path, Path folder, Problems problems, String example) {
        Optional<String> text = text(value, path, problems, example);
        if (text.isEmpty()) {
            return Optional.empty();
        }
        String s = text.get();
        if (s.startsWith("~")) {
            problems.add(value.line(), path, "'" + YamlNode.shown(s) + "' starts with '~', which Baton does not expand",
                    "write the full path, e.g. /home/... instead of ~/...");
            return Optional.empty();
        }
        try {
            return Optional.of(folder.resolve(s).normalize());
        } catch (InvalidPathException e) {
            problems.add(value.line(), path, "'" + YamlNode.shown(s) + "' is not a valid path: " + e.getReason(),
                    "write a valid path, e.g. " + example);
            return Optional.empty();
        }
    }

    private static <T> Optional<T> wrongType(YamlNode value, String path, Problems problems, String expected,
            String fix) {
        problems.add(value.line(), path, "expected " + expected + ", found " + value.describe(), fix);
        return Optional.empty();
    }

    private static <T> Optional<T> alias(YamlNode.Alias alias, String path, Problems problems) {
        problems.add(alias.line(), path, "YAML aliases (*" + YamlNode.shown(alias.anchor()) + ") are not supported",
                "write the value out in full");
        return Optional.empty();
    }

    /** {@code "key: 200"} with the value replaced: the example line, showing the user's number. */
    private static String withValue(String example, String value) {
        int colon = example.indexOf(": ");
        return colon < 0 ? value : example.substring(0, colon + 2) + value;
    }
}
