package baton.runtime.proc;

import java.util.Objects;

/**
 * What a program wrote, bounded: each stream keeps only its last bytes (the end is where
 * programs say why they failed); the byte counts tell how much was written in all.
 *
 * @param stdout the tail of standard output
 * @param stderr the tail of standard error
 * @param stdoutBytes bytes written to standard output in all, kept or not
 * @param stderrBytes bytes written to standard error in all, kept or not
 * @param stdoutTruncated whether the start of standard output was dropped to respect the limit
 * @param stderrTruncated whether the start of standard error was dropped to respect the limit
 */
public record ProcessOutput(String stdout, String stderr, long stdoutBytes, long stderrBytes,
        boolean stdoutTruncated, boolean stderrTruncated) {
    public static final ProcessOutput EMPTY = new ProcessOutput("", "", 0, 0, false, false);

    public ProcessOutput {
        Objects.requireNonNull(stdout, "stdout");
        Objects.requireNonNull(stderr, "stderr");
        if (stdoutBytes < 0 || stderrBytes < 0) {
            throw new IllegalArgumentException("negative byte count: " + stdoutBytes + ", " + stderrBytes);
        }
    }
}
