package baton.runtime.fence;

import baton.runtime.proc.LastWords;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * What an agent wrote, already bounded and scrubbed of secrets by {@link FenceAgent}.
 *
 * <p>Each stream keeps only its last bytes ({@link FenceAgent#DEFAULT_OUTPUT_LIMIT_BYTES} by default; the
 * end is where agents say why they failed); the byte counts tell how much was written in all.
 *
 * @param stdout the tail of standard output
 * @param stderr the tail of standard error
 * @param stdoutBytes bytes written to standard output in all, kept or not
 * @param stderrBytes bytes written to standard error in all, kept or not
 * @param stdoutTruncated whether the start of standard output was dropped to respect the limit
 * @param stderrTruncated whether the start of standard error was dropped to respect the limit
 */
public record AgentOutput(String stdout, String stderr, long stdoutBytes, long stderrBytes,
        boolean stdoutTruncated, boolean stderrTruncated) {
    /** Reasons longer than this are cut: a reason goes into one log line. */
    public static final int MAX_REASON_CHARS = LastWords.MAX_REASON_CHARS;

    public static final AgentOutput EMPTY = new AgentOutput("", "", 0, 0, false, false);

    /**
     * Lines the agents' Python library (fencing.py) writes after the real message, so that
     * "the last line" would always be the same useless text, e.g. {@code validate-all}
     * without an address ends with "Failed: You have to enter fence address",
     * "validate-all failed", "Please use '-h' for usage".
     */
    private static final List<String> BOILERPLATE = List.of("Please use '-h' for usage", "validate-all failed");

    /**
     * fencing.py logs through Python's logging with a timestamp ("2026-11-23 02:21:18,420
     * ERROR: Failed: ..."); Baton's own log line has its own time, so the agent's is dropped.
     */
    private static final Pattern LOG_TIMESTAMP = Pattern.compile("^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}(?:[,.]\\d+)?\\s+");

    public AgentOutput {
        Objects.requireNonNull(stdout, "stdout");
        Objects.requireNonNull(stderr, "stderr");
        if (stdoutBytes < 0 || stderrBytes < 0) {
            throw new IllegalArgumentException("negative byte count: " + stdoutBytes + ", " + stderrBytes);
        }
    }

    /**
     * Why the agent failed, in its own words: the last non-empty line of stderr that is not
     * fencing.py boilerplate, without the agent's log timestamp, at most
     * {@link #MAX_REASON_CHARS} characters; else the same of stdout; else empty.
     */
    public String lastWords() {
        String fromStderr = lastMeaningfulLine(stderr);
        return fromStderr.isEmpty() ? lastMeaningfulLine(stdout) : fromStderr;
    }

    static String lastMeaningfulLine(String text) {
        return LastWords.lastLine(text, LOG_TIMESTAMP, BOILERPLATE);
    }
}
