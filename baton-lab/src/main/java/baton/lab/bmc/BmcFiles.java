package baton.lab.bmc;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/** What the lab's BMC simulators share: the rule for users and passwords, and files made with their mode from the start. */
final class BmcFiles {
    private BmcFiles() {}

    /**
     * Users and passwords go into the simulators' configuration files and, as key=value lines,
     * to fence agents, which strip blanks and quotes: 1..maxBytes printable ASCII characters
     * without blanks, quotes, backslashes or #.
     */
    static void checkToken(String what, String value, int maxBytes) {
        if (value.isEmpty() || value.length() > maxBytes || !value.matches("[\\x21-\\x7e]+") || value.matches(".*[\"'\\\\#].*")) {
            throw new IllegalArgumentException(what + " must be 1.." + maxBytes
                    + " printable ASCII characters without blanks, quotes, backslashes or #");
        }
    }

    /** Replaces {@code file} with {@code text}, created with {@code permissions} (never readable by others for a moment). */
    static void write(Path file, String text, String permissions) throws IOException {
        Files.deleteIfExists(file);
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(permissions)));
        Files.writeString(file, text, StandardCharsets.UTF_8);
    }
}
