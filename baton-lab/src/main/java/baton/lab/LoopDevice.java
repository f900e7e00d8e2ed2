package baton.lab;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A loop block device over a file: a quorum disk copy the lab can hand to nodes and break.
 *
 * <p>{@link #setReadOnly(boolean) setReadOnly(true)} fails writes through descriptors that
 * are already open: the kernel's block device write path ({@code blkdev_write_iter}) checks the
 * device's read-only flag on every write and returns EPERM, so a node that opened the disk
 * O_RDWR|O_DIRECT|O_DSYNC earlier gets {@code IOException: Operation not permitted} on its next
 * write. Reads keep working. {@code LoopDeviceTest} checks this on the running kernel.
 */
public final class LoopDevice implements AutoCloseable {
    private static final Duration TIMEOUT = Netns.COMMAND_TIMEOUT;

    private final Path path;
    private final Path backingFile;
    private boolean closed;

    private LoopDevice(Path path, Path backingFile) {
        this.path = path;
        this.backingFile = backingFile;
    }

    /**
     * Attaches the first free loop device to {@code backingFile}. With {@code directIo} the
     * loop device reads and writes the file with O_DIRECT, so what a node wrote is in the file,
     * not only in the page cache; a file system that cannot do that (tmpfs) is an error here,
     * not a silent fallback to buffered I/O.
     *
     * <p>The device is the caller's to close; {@link Lab#loopDevice} also detaches it when the
     * lab closes, or when a later lab sweeps after this JVM died.
     */
    public static LoopDevice attach(Path backingFile, boolean directIo) {
        Path file = backingFile.toAbsolutePath().normalize();
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("loop device backing file " + file + " is not a regular file");
        }
        List<String> command = new ArrayList<>(List.of("losetup", "--find", "--show"));
        if (directIo) {
            command.add("--direct-io=on");
        }
        command.add(file.toString());
        LoopDevice device = new LoopDevice(Path.of(Cmd.check(TIMEOUT, command).strip()), file);
        // The read-only flag belongs to the device node and outlives a detach: a device that an
        // earlier test left read-only would come back read-only. Start every attachment writable.
        device.setReadOnly(false);
        if (directIo && !device.directIo()) {
            device.close();
            throw new IllegalStateException("losetup could not turn on direct I/O for " + file
                    + " (its file system does not support O_DIRECT; put the backing file on ext4 or xfs, not tmpfs)");
        }
        return device;
    }

    /** The device node, e.g. /dev/loop3. */
    public Path path() {
        return path;
    }

    public Path backingFile() {
        return backingFile;
    }

    /** Whether the loop driver does direct I/O to the backing file, as the kernel reports it. */
    public boolean directIo() {
        return "1".equals(sysfs("dio"));
    }

    /** Sets or clears the block device's read-only flag; see the class comment for what writers then see. */
    public void setReadOnly(boolean readOnly) {
        Cmd.check(TIMEOUT, "blockdev", readOnly ? "--setro" : "--setrw", path.toString());
    }

    public boolean readOnly() {
        return Cmd.check(TIMEOUT, "blockdev", "--getro", path.toString()).strip().equals("1");
    }

    /**
     * Detaches the device; idempotent. While a process still holds it open the kernel only
     * marks it for detaching at its last close, so a killed holder is enough to free it.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        if (backingFile.toString().equals(sysfs("backing_file"))) {
            Cmd.run(TIMEOUT, "blockdev", "--setrw", path.toString()); // leave no read-only device behind
        }
        detachIfBackedBy(path, backingFile);
        closed = true;
    }

    /**
     * Detaches {@code device} if it is still attached to {@code backingFile}; the check keeps a
     * sweeper from detaching a device number that someone else has attached since.
     */
    static boolean detachIfBackedBy(Path device, Path backingFile) {
        String attached = sysfs(device, "backing_file");
        // The kernel appends " (deleted)" when the file was unlinked after attaching.
        if (attached == null || !(attached.equals(backingFile.toString()) || attached.equals(backingFile + " (deleted)"))) {
            return false;
        }
        ExecResult r = Cmd.run(TIMEOUT, "losetup", "--detach", device.toString());
        // Lost a race with another detach: the device is free either way.
        if (!r.ok() && sysfs(device, "backing_file") != null) {
            r.orThrow();
        }
        return true;
    }

    private String sysfs(String attribute) {
        return sysfs(path, attribute);
    }

    /** A loop attribute from /sys/block/loopN/loop/, or null when the device is not attached. */
    private static String sysfs(Path device, String attribute) {
        Path file = Path.of("/sys/block", device.getFileName().toString(), "loop", attribute);
        try {
            return Files.readString(file).strip();
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    @Override
    public String toString() {
        return path + " (" + backingFile + ")";
    }
}
