package baton.runtime.config;

import baton.runtime.config.YamlNode.Entry;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.yaml.snakeyaml.error.MarkedYAMLException;

/**
 * Reads YAML text into a {@link YamlNode} tree with Jackson's streaming YAML parser.
 * Reports duplicate keys (the parser does not), aliases, a second document and syntax
 * errors; a syntax error ends reading, since nothing after it can be trusted.
 */
final class YamlTree {
    private YamlTree() {}

    /** Limit: far deeper than any Baton configuration, low enough to never exhaust the stack. */
    static final int MAX_DEPTH = 32;

    private static final YAMLFactory FACTORY = YAMLFactory.builder()
            // yes/no/on/off are booleans in YAML 1.1; as names ("no") they would be a surprise.
            .enable(YAMLParser.Feature.PARSE_BOOLEAN_LIKE_WORDS_AS_STRINGS)
            // "key:" with nothing after it is a missing value, not an empty string.
            .enable(YAMLParser.Feature.EMPTY_STRING_AS_NULL)
            .build();

    /** The root value, or empty when the text holds no document or is not valid YAML. */
    static Optional<YamlNode> read(String text, Problems problems) {
        try (JsonParser parser = FACTORY.createParser(text)) {
            JsonToken first = parser.nextToken();
            if (first == null) {
                problems.add(1, Problem.WHOLE_FILE, "the file is empty (nothing but blanks and comments)",
                        "write the cluster configuration into it, starting with 'cluster:'");
                return Optional.empty();
            }
            YamlNode root = new YamlTree.Reader(parser, problems).value(first, "", 0);
            if (parser.nextToken() != null) {
                problems.add(line(parser), Problem.WHOLE_FILE, "the file holds more than one YAML document",
                        "keep one document: remove the '---' line and what follows it, or merge the documents");
            }
            return Optional.of(root);
        } catch (JsonProcessingException e) {
            syntaxError(e, problems);
            return Optional.empty();
        } catch (IOException e) {
            // Reading from a String does no I/O; an IOException here is a broken invariant.
            throw new IllegalStateException("I/O error while parsing text in memory", e);
        }
    }

    private static int line(JsonParser parser) {
        return parser.currentTokenLocation().getLineNr();
    }

    /** Reports the parser's own problem text at the line SnakeYAML points to. */
    private static void syntaxError(JsonProcessingException e, Problems problems) {
        if (e.getCause() instanceof MarkedYAMLException m && m.getProblemMark() != null) {
            String problem = oneLine(m.getProblem());
            String context = m.getContext() == null ? "" : " (" + oneLine(m.getContext()) + ")";
            problems.add(m.getProblemMark().getLine() + 1, Problem.WHOLE_FILE,
                    "invalid YAML: " + problem + context, syntaxFix(problem));
        } else {
            int line = e.getLocation() == null ? 0 : e.getLocation().getLineNr();
            String message = e.getOriginalMessage() == null ? e.toString() : e.getOriginalMessage();
            String problem = oneLine(message.lines().findFirst().orElse(""));
            problems.add(Math.max(line, 0), Problem.WHOLE_FILE, "invalid YAML: " + problem, syntaxFix(problem));
        }
    }

    /** The usual causes of the usual messages; the generic advice otherwise. */
    private static String syntaxFix(String problem) {
        if (problem.contains("TAB")) {
            return "indent with spaces; YAML does not allow tabs for indentation";
        }
        if (problem.contains("mapping values are not allowed")) {
            return "put a line break after 'key:' before nested keys, or quote a value that contains ': '";
        }
        if (problem.contains("found ':'")) {
            return "quote values that start with ':', e.g. IPv6 addresses: ['::1']";
        }
        if (problem.contains("end of stream") || problem.contains("<stream end>")) {
            return "close the open quote or bracket";
        }
        return "check the indentation and quoting on this line and the one before it";
    }

    private static String oneLine(String s) {
        return s.strip().replaceAll("\\s+", " ");
    }

    /** The recursive descent over the token stream; one per read. */
    private record Reader(JsonParser parser, Problems problems) {
        YamlNode value(JsonToken token, String path, int depth) throws IOException {
            int line = line(parser);
            if (depth > MAX_DEPTH) {
                // Limit reached: report once, and skip the subtree without looking into it.
                problems.add(line, pathOrRoot(path), "values are nested deeper than " + MAX_DEPTH + " levels",
                        "remove the extra nesting; a Baton configuration is at most 3 levels deep");
                parser.skipChildren();
                return new YamlNode.Null(line);
            }
            return switch (token) {
                case START_OBJECT -> mapping(path, line, depth);
                case START_ARRAY -> sequence(path, line, depth);
                case VALUE_STRING -> ((YAMLParser) parser).isCurrentAlias()
                        ? new YamlNode.Alias(parser.getText(), line)
                        : new YamlNode.Text(parser.getText(), line);
                case VALUE_NUMBER_INT -> new YamlNode.WholeNumber(parser.getText(), line);
                case VALUE_NUMBER_FLOAT -> new YamlNode.Decimal(parser.getText(), line);
                case VALUE_TRUE -> new YamlNode.Bool(true, line);
                case VALUE_FALSE -> new YamlNode.Bool(false, line);
                case VALUE_NULL -> new YamlNode.Null(line);
                // The YAML parser emits no other value tokens (no embedded objects, no field
                // names outside a mapping); one would be a parser bug.
                default -> throw new IllegalStateException("unexpected YAML token " + token + " at line " + line);
            };
        }

        private YamlNode mapping(String path, int line, int depth) throws IOException {
            List<Entry> entries = new ArrayList<>();
            Map<String, Integer> firstLine = new HashMap<>();
            JsonToken token;
            while ((token = parser.nextToken()) != JsonToken.END_OBJECT) {
                if (token != JsonToken.FIELD_NAME) {
                    throw new IllegalStateException("expected a key, got " + token + " at line " + line(parser));
                }
                String key = parser.currentName();
                int keyLine = line(parser);
                String keyPath = path.isEmpty() ? key : path + "." + key;
                YamlNode value = value(parser.nextToken(), keyPath, depth + 1);
                Integer earlier = firstLine.putIfAbsent(key, keyLine);
                if (earlier != null) {
                    problems.add(keyLine, keyPath, "duplicate key '" + key + "' (first at line " + earlier + ")",
                            "remove one of the two; only one value can apply");
                } else {
                    entries.add(new Entry(key, keyLine, value));
                }
            }
            return new YamlNode.Mapping(entries, line);
        }

        private YamlNode sequence(String path, int line, int depth) throws IOException {
            List<YamlNode> items = new ArrayList<>();
            JsonToken token;
            while ((token = parser.nextToken()) != JsonToken.END_ARRAY) {
                items.add(value(token, path + "[" + items.size() + "]", depth + 1));
            }
            return new YamlNode.Sequence(items, line);
        }

        private static String pathOrRoot(String path) {
            return path.isEmpty() ? Problem.WHOLE_FILE : path;
        }
    }
}
