package baton.runtime.proc;

import java.util.List;
import java.util.regex.Pattern;

/**
 * Why a program failed, in its own words: the last meaningful line it wrote. Each family of
 * agents has its own noise around that line (a log timestamp before it, boilerplate after
 * it); the caller names both.
 */
public final class LastWords {
    private LastWords() {}

    /** Reasons longer than this are cut: a reason goes into one log line. */
    public static final int MAX_REASON_CHARS = 500;

    /**
     * The last non-empty line of {@code text} that does not end with one of
     * {@code boilerplateEndings}, stripped, with a leading match of {@code prefix} removed, at
     * most {@link #MAX_REASON_CHARS} characters; empty when there is none.
     */
    public static String lastLine(String text, Pattern prefix, List<String> boilerplateEndings) {
        String[] lines = text.split("\\R");
        for (int i = lines.length - 1; i >= 0; i--) {
            String line = prefix.matcher(lines[i].strip()).replaceFirst("").strip();
            if (line.isEmpty() || boilerplateEndings.stream().anyMatch(line::endsWith)) {
                continue;
            }
            return cut(line);
        }
        return "";
    }

    /** {@code line}, cut to {@link #MAX_REASON_CHARS} characters with "..." when longer. */
    public static String cut(String line) {
        return line.length() <= MAX_REASON_CHARS ? line : line.substring(0, MAX_REASON_CHARS - 3) + "...";
    }

    /**
     * The reason of a program that exited with {@code exitCode} without a word.
     *
     * @param subject what ran, e.g. "the agent"
     */
    public static String silentExit(String subject, int exitCode) {
        // java.lang.Process reports a death by signal N as 128 + N, like the shells do.
        if (exitCode > 128 && exitCode < 128 + 65) {
            return subject + " wrote nothing and ended with status " + exitCode + " (killed by signal "
                    + (exitCode - 128) + "?)";
        }
        return subject + " wrote nothing and ended with status " + exitCode;
    }
}
