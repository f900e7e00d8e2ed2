package baton.runtime.config;

import java.nio.file.Path;
import java.util.Objects;

/**
 * One thing wrong with a configuration file, with what to do about it.
 *
 * @param file the file as the user named it
 * @param line 1-based line, or 0 when the problem is the file as a whole (missing, unreadable)
 * @param key dotted path of the value, e.g. {@code nodes[1].addresses[0]}, or {@link #WHOLE_FILE}
 * @param problem what is wrong, naming the value found
 * @param fix a concrete change that makes the problem go away
 */
public record Problem(Path file, int line, String key, String problem, String fix) {
    /** Key of problems that concern no single value: missing file, bad YAML, empty file. */
    public static final String WHOLE_FILE = "(file)";

    public Problem {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(problem, "problem");
        Objects.requireNonNull(fix, "fix");
        if (line < 0) {
            throw new IllegalArgumentException("line " + line + " < 0");
        }
    }

    /** {@code FILE:LINE: KEY: PROBLEM; fix: FIX}, the form editors and terminals link to. */
    public String message() {
        return file + ":" + line + ": " + key + ": " + problem + "; fix: " + fix;
    }

    @Override
    public String toString() {
        return message();
    }
}
