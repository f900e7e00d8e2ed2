package baton.runtime.config;

import java.nio.file.Path;

/**
 * The cluster key file cannot be read or written. The message is one line,
 * {@code FILE PROBLEM; fix: FIX}, fit for the CLI and the log.
 */
public final class KeyFileException extends Exception {
    private final Path file;

    KeyFileException(Path file, String problem, String fix) {
        super(file + " " + problem + "; fix: " + fix);
        this.file = file;
    }

    KeyFileException(Path file, String problem, String fix, Throwable cause) {
        super(file + " " + problem + "; fix: " + fix, cause);
        this.file = file;
    }

    public Path file() {
        return file;
    }
}
