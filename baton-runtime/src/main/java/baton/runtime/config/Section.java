package baton.runtime.config;

import baton.runtime.config.YamlNode.Entry;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * One YAML mapping of the configuration being bound: looks up its keys, reports keys it
 * does not know (with the closest known key, since most unknown keys are typos) and
 * required keys that are missing, unless a typo of them was reported already.
 */
final class Section {
    /** Suggest a known key when an unknown one is at most this many single-character edits away. */
    static final int MAX_SUGGESTION_DISTANCE = 2;

    private final YamlNode.Mapping mapping;
    private final String path;
    private final int line;
    private final Problems problems;
    /** Known keys that an unknown key was reported as a likely typo of. */
    private final Set<String> suggested = new HashSet<>();

    private Section(YamlNode.Mapping mapping, String path, int line, Problems problems) {
        this.mapping = mapping;
        this.path = path;
        this.line = line;
        this.problems = problems;
    }

    /**
     * The section at {@code path}, or empty (with a problem) when the value is not a mapping.
     *
     * @param line where to report keys missing from this section: the line of the key that
     *     holds it, which the user reads as the section's header
     * @param knownKeys every key the section may hold, in the order the documentation lists them
     * @param example how the section should look, for the fix when it is not a mapping
     */
    static Optional<Section> of(YamlNode value, String path, int line, Problems problems, List<String> knownKeys,
            String example) {
        if (!(value instanceof YamlNode.Mapping mapping)) {
            problems.add(value.line(), displayPath(path), "expected a mapping with the keys "
                    + String.join(", ", knownKeys) + ", found " + value.describe(), "write it as " + example);
            return Optional.empty();
        }
        Section section = new Section(mapping, path, line, problems);
        for (Entry entry : mapping.entries()) {
            if (!knownKeys.contains(entry.key())) {
                section.reportUnknown(entry, knownKeys);
            }
        }
        return Optional.of(section);
    }

    int line() {
        return line;
    }

    String path() {
        return path;
    }

    /** Dotted path of one of this section's keys. */
    String path(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    /** The value of {@code key}, or empty (with a problem) when it is absent or has no value. */
    Optional<YamlNode> required(String key, String example) {
        Optional<Entry> entry = entry(key);
        if (entry.isEmpty() && suggested.contains(key)) {
            return Optional.empty(); // "unknown key 'nmae'; did you mean 'name'?" already says it
        }
        if (entry.isEmpty()) {
            problems.add(line, path(key), "required key is missing",
                    "add '" + example + "'" + (path.isEmpty() ? " at the top level" : " under " + path));
            return Optional.empty();
        }
        YamlNode value = entry.get().value();
        if (isBlank(value)) {
            problems.add(entry.get().line(), path(key), "required value is missing",
                    "write it as '" + example + "'");
            return Optional.empty();
        }
        return Optional.of(value);
    }

    /** The value of {@code key}, or empty when it is absent or has no value (so defaults apply). */
    Optional<YamlNode> optional(String key) {
        return entry(key).map(Entry::value).filter(value -> !isBlank(value));
    }

    /** The line of {@code key} in the file, or the section's line when the key is absent. */
    int lineOf(String key) {
        return entry(key).map(Entry::line).orElse(line);
    }

    private Optional<Entry> entry(String key) {
        return mapping.entries().stream().filter(e -> e.key().equals(key)).findFirst();
    }

    /** {@code key:} alone, {@code ~}, and {@code ''} all mean "nothing written here". */
    private static boolean isBlank(YamlNode value) {
        return value instanceof YamlNode.Null || value instanceof YamlNode.Text t && t.value().isBlank();
    }

    private void reportUnknown(Entry entry, List<String> knownKeys) {
        Optional<String> closest = closest(entry.key(), knownKeys);
        closest.ifPresent(suggested::add);
        String fix = closest
                .map(known -> "did you mean '" + known + "'?")
                .orElse("remove it; " + (path.isEmpty() ? "the top level" : path) + " knows only "
                        + String.join(", ", knownKeys));
        String key = YamlNode.shown(entry.key());
        problems.add(entry.line(), path(key), "unknown key '" + key + "'", fix);
    }

    /** The known key nearest to {@code key}, if one is close enough to be the intended one. */
    static Optional<String> closest(String key, List<String> knownKeys) {
        if (key.length() > 4 * MAX_SUGGESTION_DISTANCE + 32) {
            return Optional.empty(); // far longer than any known key; also bounds the distance table
        }
        String best = null;
        int bestDistance = MAX_SUGGESTION_DISTANCE + 1;
        for (String known : knownKeys) {
            // Case-blind, so that "keyfile" or "KEYFILE" point at "keyFile" however many letters differ.
            int distance = known.equalsIgnoreCase(key) ? 0
                    : editDistance(key.toLowerCase(Locale.ROOT), known.toLowerCase(Locale.ROOT));
            if (distance < bestDistance) {
                best = known;
                bestDistance = distance;
            }
        }
        return Optional.ofNullable(best);
    }

    /**
     * Optimal string alignment distance: insertions, deletions, substitutions and swaps of
     * two adjacent characters each cost 1, so that the common "nmae" is one edit from "name".
     */
    static int editDistance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) {
            d[i][0] = i;
        }
        for (int j = 0; j <= b.length(); j++) {
            d[0][j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }

    static String displayPath(String path) {
        return path.isEmpty() ? Problem.WHOLE_FILE : path;
    }
}
