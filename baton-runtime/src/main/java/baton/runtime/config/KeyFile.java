package baton.runtime.config;

import baton.core.disk.ClusterKey;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.Set;

/**
 * The cluster key file: {@value ClusterKey#KEY_BYTES} random bytes as
 * {@value #HEX_DIGITS} lowercase hex digits and a newline, mode 0600. Every node holds the
 * same file; whoever has it can forge quorum disk slots, so it is created owner-only from
 * its first byte and refused once anybody else may read it.
 */
public final class KeyFile {
    private KeyFile() {}

    public static final int HEX_DIGITS = 2 * ClusterKey.KEY_BYTES;

    static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

    private static final Set<PosixFilePermission> GROUP_OR_OTHERS = EnumSet.of(
            PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE,
            PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE);

    private static final String RESTORE_FIX =
            "copy the key file from another node of this cluster (all nodes need the same key)";

    /**
     * Writes a new random key to {@code file}. The key is written to a temporary file in the
     * same folder, created with mode 0600 (so it is never readable by others, not even
     * between create and chmod), synced, and only then put in place, so that a crash leaves
     * either no key file or a complete one.
     *
     * @param force replace an existing key file; without it an existing file is an error,
     *     since a node with a new key can no longer read what the others write
     */
    public static void generate(Path file, boolean force) throws KeyFileException {
        Path target = file.toAbsolutePath();
        Path folder = target.getParent();
        if (!force && Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            throw alreadyExists(file);
        }
        if (!Files.isDirectory(folder)) {
            throw new KeyFileException(file, "cannot be created: the folder " + folder + " does not exist",
                    "create the folder first, e.g. mkdir -p " + folder);
        }
        byte[] key = new byte[ClusterKey.KEY_BYTES];
        new SecureRandom().nextBytes(key);
        byte[] content = (HexFormat.of().formatHex(key) + "\n").getBytes(StandardCharsets.US_ASCII);
        Path temporary = createOwnerOnly(file, folder);
        try {
            writeAndSync(temporary, content);
            install(temporary, target, force);
        } catch (FileAlreadyExistsException e) {
            // Another process created the file after the check above.
            throw discard(temporary, alreadyExists(file));
        } catch (IOException e) {
            throw discard(temporary, new KeyFileException(file, "could not be written: " + e,
                    "check the free space and permissions of " + folder, e));
        }
        syncFolder(file, folder);
    }

    /**
     * Reads the cluster key. Refuses a file that group or others may access: the key must
     * not be used once it may have leaked, and a loud refusal gets the mode fixed.
     */
    public static ClusterKey read(Path file) throws KeyFileException {
        PosixFileAttributes attributes;
        try {
            attributes = Files.readAttributes(file, PosixFileAttributes.class);
        } catch (NoSuchFileException e) {
            throw new KeyFileException(file, "does not exist", RESTORE_FIX + ", or generate one for a new cluster");
        } catch (UnsupportedOperationException e) {
            throw notPosix(file);
        } catch (IOException e) {
            throw unreadable(file, e);
        }
        if (!attributes.isRegularFile()) {
            throw new KeyFileException(file, "is not a regular file", "point keyFile at the cluster key file itself");
        }
        Set<PosixFilePermission> exposed = EnumSet.copyOf(attributes.permissions());
        exposed.retainAll(GROUP_OR_OTHERS);
        if (!exposed.isEmpty()) {
            throw new KeyFileException(file, "is " + exposure(exposed) + " by others (mode "
                    + mode(attributes.permissions()) + ")", "chmod 600 " + file);
        }
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file)) {
            // One more byte than a valid file may hold, to tell "too long" without reading a huge file.
            bytes = in.readNBytes(HEX_DIGITS + 2);
        } catch (IOException e) {
            throw unreadable(file, e);
        }
        return new ClusterKey(decode(file, bytes));
    }

    /** 64 hex digits, optionally followed by one newline; either case of hex digit. */
    private static byte[] decode(Path file, byte[] bytes) throws KeyFileException {
        int length = bytes.length > 0 && bytes[bytes.length - 1] == '\n' ? bytes.length - 1 : bytes.length;
        if (length != HEX_DIGITS) {
            String size = bytes.length > HEX_DIGITS + 1
                    ? "more than " + (HEX_DIGITS + 1)
                    : String.valueOf(bytes.length);
            throw new KeyFileException(file, "holds " + size + " bytes, but a cluster key is " + HEX_DIGITS
                    + " hex digits and a newline", RESTORE_FIX);
        }
        for (int i = 0; i < length; i++) {
            if (!HexFormat.isHexDigit(bytes[i])) {
                // The position, never the content: the content is (part of) a secret.
                throw new KeyFileException(file, "holds a character that is not a hex digit at position " + (i + 1),
                        RESTORE_FIX);
            }
        }
        return HexFormat.of().parseHex(new String(bytes, 0, length, StandardCharsets.US_ASCII));
    }

    private static Path createOwnerOnly(Path file, Path folder) throws KeyFileException {
        try {
            Path temporary = Files.createTempFile(folder, "." + file.getFileName() + ".", ".tmp",
                    PosixFilePermissions.asFileAttribute(OWNER_ONLY));
            // The umask may have taken bits away (never added any); make the mode exactly 0600.
            Files.setPosixFilePermissions(temporary, OWNER_ONLY);
            return temporary;
        } catch (UnsupportedOperationException e) {
            throw notPosix(file);
        } catch (AccessDeniedException e) {
            throw new KeyFileException(file, "cannot be created: permission denied in " + folder,
                    "run as root or as the owner of " + folder);
        } catch (IOException e) {
            throw new KeyFileException(file, "cannot be created: " + e, "check the folder " + folder, e);
        }
    }

    private static void writeAndSync(Path temporary, byte[] content) throws IOException {
        try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.WRITE)) {
            ByteBuffer buffer = ByteBuffer.wrap(content);
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
            channel.force(true);
        }
    }

    /**
     * With force, rename(2) replaces the old file atomically. Without force, rename would
     * replace a file created since the existence check, so the new file is linked in with
     * link(2), which fails atomically when the name exists.
     */
    private static void install(Path temporary, Path target, boolean force) throws IOException {
        if (force) {
            Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE);
        } else {
            Files.createLink(target, temporary);
            Files.delete(temporary);
        }
    }

    /** Makes the new directory entry durable: without it a power loss may lose the key file. */
    private static void syncFolder(Path file, Path folder) throws KeyFileException {
        try (FileChannel channel = FileChannel.open(folder, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (IOException e) {
            throw new KeyFileException(file, "was written, but its folder could not be synced: " + e,
                    "check the file system holding " + folder + ", then generate the key again with --force", e);
        }
    }

    /** Removes the temporary file after a failure; a failure to remove it goes with the first one. */
    private static KeyFileException discard(Path temporary, KeyFileException failure) {
        try {
            Files.deleteIfExists(temporary);
        } catch (IOException e) {
            failure.addSuppressed(e);
        }
        return failure;
    }

    private static KeyFileException alreadyExists(Path file) {
        return new KeyFileException(file, "already exists; refusing to replace the cluster key",
                "use --force to replace it, then copy the new key file to every node");
    }

    private static KeyFileException notPosix(Path file) {
        return new KeyFileException(file, "is on a file system without POSIX permissions, so Baton cannot keep it"
                + " private to its owner", "keep the key file on a local Linux file system, e.g. under /etc/baton");
    }

    private static KeyFileException unreadable(Path file, IOException e) {
        if (e instanceof AccessDeniedException) {
            return new KeyFileException(file, "cannot be read: permission denied", "run as root or as the owner of "
                    + file);
        }
        return new KeyFileException(file, "cannot be read: " + e, RESTORE_FIX, e);
    }

    private static String exposure(Set<PosixFilePermission> exposed) {
        if (exposed.contains(PosixFilePermission.GROUP_READ) || exposed.contains(PosixFilePermission.OTHERS_READ)) {
            return "readable";
        }
        if (exposed.contains(PosixFilePermission.GROUP_WRITE) || exposed.contains(PosixFilePermission.OTHERS_WRITE)) {
            return "writable";
        }
        return "accessible";
    }

    /** The permission bits in octal, as ls and chmod show them, e.g. {@code 0644}. */
    static String mode(Set<PosixFilePermission> permissions) {
        int mode = 0;
        for (PosixFilePermission p : permissions) {
            // The enum lists OWNER_READ .. OTHERS_EXECUTE, i.e. bits 0400 down to 0001.
            mode |= 1 << (8 - p.ordinal());
        }
        return String.format("%04o", mode);
    }
}
