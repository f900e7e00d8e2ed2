package baton.runtime.agent;

import java.util.Collection;
import java.util.Comparator;
import java.util.Locale;
import java.util.Optional;

/**
 * The nearest known name to a misspelt one, for "did you mean" fixes of agent parameters.
 * Case-blind, since {@code IP} for {@code ip} is the same mistake as a typo.
 */
public final class Spelling {
    private Spelling() {}

    /** Names longer than this are nobody's typo; also bounds the distance table. */
    public static final int MAX_NAME_CHARS = 256;

    /**
     * The name of {@code known} nearest to {@code unknown}, within {@code maxEdits} edits and a
     * third of the name's length (so that "ip" does not suggest "id"), ties broken by name.
     */
    public static Optional<String> nearest(String unknown, Collection<String> known, int maxEdits) {
        if (unknown.length() > MAX_NAME_CHARS) {
            return Optional.empty();
        }
        String target = unknown.toLowerCase(Locale.ROOT);
        int limit = Math.min(maxEdits, Math.max(1, target.length() / 3));
        return known.stream()
                .filter(name -> name.length() <= MAX_NAME_CHARS)
                .filter(name -> distance(target, name.toLowerCase(Locale.ROOT)) <= limit)
                .min(Comparator.<String>comparingInt(name -> distance(target, name.toLowerCase(Locale.ROOT)))
                        .thenComparing(Comparator.naturalOrder()));
    }

    /** Levenshtein distance: insertions, deletions and substitutions cost 1 each. */
    public static int distance(String a, String b) {
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitution = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                current[j] = Math.min(substitution, Math.min(previous[j] + 1, current[j - 1] + 1));
            }
            int[] swap = previous;
            previous = current;
            current = swap;
        }
        return previous[b.length()];
    }
}
