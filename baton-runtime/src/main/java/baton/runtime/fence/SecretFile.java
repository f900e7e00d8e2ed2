package baton.runtime.fence;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

/**
 * Reads a fence device's secret (a BMC or PDU password) from its file, at the moment of the
 * call, so that a changed password needs no restart and the secret is never in the
 * configuration, on a command line or in a log.
 *
 * <p>The file holds the secret and at most one line ending. Like the cluster key file, it is
 * refused once group or others may access it. Messages name the file and what is wrong,
 * never its content.
 */
final class SecretFile {
    private SecretFile() {}

    /** No credential of a power switch is longer; a larger file is not a password file. */
    static final int MAX_SECRET_BYTES = 4096;

    private static final Set<PosixFilePermission> GROUP_OR_OTHERS = EnumSet.of(
            PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE,
            PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE);

    /** A secret file's content or why it could not be had. */
    sealed interface Read {}

    /** The secret; its {@code toString} does not show it. */
    record Secret(String value) implements Read {
        Secret {
            Objects.requireNonNull(value, "value");
        }

        @Override
        public String toString() {
            return "Secret[***]";
        }
    }

    /** Why the file gave no usable secret: a message naming the file and the fix. */
    record Unusable(String reason) implements Read {}

    static Read read(String parameter, Path file) {
        String subject = "secret file " + file + " of parameter '" + parameter + "'";
        PosixFileAttributes attributes;
        try {
            attributes = Files.readAttributes(file, PosixFileAttributes.class);
        } catch (NoSuchFileException e) {
            return new Unusable(subject + " does not exist; fix: create it with the secret, mode 600");
        } catch (AccessDeniedException e) {
            return new Unusable(subject + " cannot be read: permission denied; fix: make it readable by the user running Baton, mode 600");
        } catch (IOException | UnsupportedOperationException e) {
            return new Unusable(subject + " cannot be read: " + e.getClass().getSimpleName() + "; fix: check the file");
        }
        if (!attributes.isRegularFile()) {
            return new Unusable(subject + " is not a regular file; fix: point it at a file holding only the secret");
        }
        Set<PosixFilePermission> exposed = EnumSet.copyOf(attributes.permissions());
        exposed.retainAll(GROUP_OR_OTHERS);
        if (!exposed.isEmpty()) {
            return new Unusable(subject + " may be accessed by group or others; fix: chmod 600 " + file
                    + ", and change the secret if others may have read it");
        }
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file)) {
            // One byte more than allowed tells "too long" without reading a huge file.
            bytes = in.readNBytes(MAX_SECRET_BYTES + 1);
        } catch (IOException e) {
            return new Unusable(subject + " cannot be read: " + e.getClass().getSimpleName() + "; fix: check the file");
        }
        if (bytes.length > MAX_SECRET_BYTES) {
            return new Unusable(subject + " is larger than " + MAX_SECRET_BYTES + " bytes; fix: put only the secret in it");
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes))
                    .toString();
        } catch (CharacterCodingException e) {
            return new Unusable(subject + " is not UTF-8 text; fix: write the secret as text");
        } finally {
            Arrays.fill(bytes, (byte) 0);
        }
        // One line ending, as editors and `echo` leave it; anything else belongs to the secret.
        if (text.endsWith("\r\n")) {
            text = text.substring(0, text.length() - 2);
        } else if (text.endsWith("\n")) {
            text = text.substring(0, text.length() - 1);
        }
        if (text.isEmpty()) {
            return new Unusable(subject + " is empty; fix: write the secret into it");
        }
        var problem = ParameterRules.valueProblem(text);
        if (problem.isPresent()) {
            return new Unusable(subject + " " + problem.get() + "; fix: write exactly the secret and at most one line ending");
        }
        return new Secret(text);
    }
}
