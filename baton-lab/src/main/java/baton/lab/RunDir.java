package baton.lab;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * The lab's machine-wide state outside the namespaces, under {@code /run/baton-lab}: a lock
 * that serialises creating and sweeping labs across JVMs, and one record per lab of the loop
 * devices it attached (a loop device carries no name of ours, so the sweeper needs the record
 * to know which devices a dead lab left). {@code /run} is a tmpfs, so nothing here outlives a
 * reboot, and neither do the namespaces and loop devices it describes.
 */
final class RunDir {
    static final Path DIR = Path.of("/run/baton-lab");
    private static final Path LOCK = DIR.resolve("lock");

    /** FileLock is per process: threads of one JVM must also exclude each other, or the second gets OverlappingFileLockException. */
    private static final ReentrantLock IN_JVM = new ReentrantLock();

    private RunDir() {}

    /**
     * Runs {@code action} holding the machine-wide lab lock. The lock is an flock on a file, so
     * the kernel releases it when a holder dies, and a killed JVM never blocks later labs.
     */
    static <T> T locked(Supplier<T> action) {
        IN_JVM.lock();
        try {
            Files.createDirectories(DIR);
            try (FileChannel ch = FileChannel.open(LOCK, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                // Closing the channel releases the lock.
                ch.lock();
                return action.get();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot take the lab lock " + LOCK, e);
        } finally {
            IN_JVM.unlock();
        }
    }

    static Path loopRecord(LabTag tag) {
        return DIR.resolve(tag.id() + ".loops");
    }

    /** Notes that {@code tag}'s lab attached {@code device} to {@code backingFile}; written before anything else can fail. */
    static void recordLoop(LabTag tag, Path device, Path backingFile) {
        try {
            Files.createDirectories(DIR);
            Files.writeString(loopRecord(tag), device + "\t" + backingFile + "\n", StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot record loop device " + device + " in " + loopRecord(tag), e);
        }
    }

    /** One line of a loop record file. */
    record Loop(Path device, Path backingFile) {}

    /** The loop devices recorded in one loop record file. */
    static List<Loop> readLoops(Path record) {
        List<Loop> loops = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(record, StandardCharsets.UTF_8)) {
                int tab = line.indexOf('\t');
                if (tab > 0) {
                    loops.add(new Loop(Path.of(line.substring(0, tab)), Path.of(line.substring(tab + 1))));
                }
            }
        } catch (NoSuchFileException e) {
            return loops;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read loop record " + record, e);
        }
        return loops;
    }

    /** Every loop record file, of live and dead labs. */
    static List<Path> loopRecords() {
        if (!Files.isDirectory(DIR)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(DIR)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".loops")).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + DIR, e);
        }
    }

    static void deleteLoopRecord(LabTag tag) {
        try {
            Files.deleteIfExists(loopRecord(tag));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + loopRecord(tag), e);
        }
    }
}
