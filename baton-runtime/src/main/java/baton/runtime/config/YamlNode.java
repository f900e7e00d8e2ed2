package baton.runtime.config;

import java.util.List;

/**
 * A parsed YAML value with the line it starts on, so that every configuration problem can
 * name its line. Our own tree instead of Jackson's {@code JsonNode} because that one forgets
 * locations, and instead of data binding because binding is done explicitly (ConfigBinding).
 *
 * <p>Scalars keep their YAML type as the parser resolved it: a key that wants a number and
 * gets {@code "200"} or {@code 200ms} is a type error the user must see, not a silent
 * conversion.
 */
sealed interface YamlNode {
    /** 1-based line where the value starts. */
    int line();

    /** How the value is named in a problem, e.g. {@code "a list"} or {@code "the number 7"}. */
    default String describe() {
        return switch (this) {
            case Text t -> "the text '" + shown(t.value()) + "'";
            case WholeNumber n -> "the number " + shown(n.source());
            case Decimal d -> "the number " + shown(d.source());
            case Bool b -> "the boolean " + b.value();
            case Null n -> "no value";
            case Alias a -> "the alias *" + shown(a.anchor());
            case Mapping m -> "a mapping";
            case Sequence s -> "a list";
        };
    }

    /** Limit: how much of a value a problem quotes, so that one huge value cannot flood the report. */
    int MAX_SHOWN_CHARS = 80;

    /** {@code s}, cut to {@link #MAX_SHOWN_CHARS} characters. */
    static String shown(String s) {
        return s.length() <= MAX_SHOWN_CHARS ? s : s.substring(0, MAX_SHOWN_CHARS) + "...";
    }

    record Text(String value, int line) implements YamlNode {}

    /** An integer exactly as written; ConfigBinding decides which spellings it accepts. */
    record WholeNumber(String source, int line) implements YamlNode {}

    record Decimal(String source, int line) implements YamlNode {}

    record Bool(boolean value, int line) implements YamlNode {}

    /** {@code key:} with nothing after it, {@code ~} or {@code null}. */
    record Null(int line) implements YamlNode {}

    /**
     * {@code *anchor}. Kept as its own kind (Jackson reports it as a string holding the anchor
     * name) so that it is rejected instead of being read as that name.
     */
    record Alias(String anchor, int line) implements YamlNode {}

    /** Entries in file order, duplicates already removed (YamlTree reports them). */
    record Mapping(List<Entry> entries, int line) implements YamlNode {
        public Mapping {
            entries = List.copyOf(entries);
        }
    }

    record Sequence(List<YamlNode> items, int line) implements YamlNode {
        public Sequence {
            items = List.copyOf(items);
        }
    }

    /** One {@code key: value}; {@code line} is the key's line. */
    record Entry(String key, int line, YamlNode value) {}
}
