package baton.runtime.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** The problems found so far in one file; loading goes on after a problem to find the rest. */
final class Problems {
    /** Limit: a file this broken is likely the wrong file, and more lines would bury the first ones. */
    static final int MAX_PROBLEMS = 100;

    private final Path file;
    private final List<Problem> found = new ArrayList<>();
    private int dropped;

    Problems(Path file) {
        this.file = file;
    }

    void add(int line, String key, String problem, String fix) {
        if (found.size() < MAX_PROBLEMS) {
            found.add(new Problem(file, line, key, problem, fix));
        } else {
            dropped++;
        }
    }

    boolean isEmpty() {
        return found.isEmpty();
    }

    /** How many problems were found so far, including those not kept beyond the limit. */
    int count() {
        return found.size() + dropped;
    }

    /** Throws when any problem was found, with the problems sorted by line, ties in finding order. */
    void throwIfAny() throws ConfigException {
        if (found.isEmpty()) {
            return;
        }
        List<Problem> sorted = new ArrayList<>(found);
        sorted.sort(Comparator.comparingInt(Problem::line));
        if (dropped > 0) {
            sorted.add(new Problem(file, sorted.getLast().line(), Problem.WHOLE_FILE,
                    dropped + " more problems not shown", "fix the problems above and load the file again"));
        }
        throw new ConfigException(sorted);
    }
}
