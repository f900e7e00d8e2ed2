package baton.runtime.proc;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Finds and kills every process an agent started (Linux, through /proc).
 *
 * <p>{@link ProcessCall} starts each program (a fence agent, a resource agent, an exec
 * resource's command) through {@code setsid}, so it leads a new session whose id is its pid.
 * Agents fork ipmitool, ssh, snmpget, curl, ip; whatever they fork
 * stays in that session unless it calls setsid itself. Members are found two ways, because
 * each misses something the other catches:
 * <ul>
 *   <li>the session: every process whose session id is the agent's pid, including those
 *       whose parent died and that init adopted (double-forked helpers), which the parent
 *       links no longer reach;
 *   <li>the descendants by parent links ({@link ProcessHandle#descendants()}), including a
 *       child that started a session of its own, as long as its ancestors live.
 * </ul>
 * A kill round snapshots both, then SIGKILLs all of them; the order does not matter, since
 * SIGKILL cannot be caught and the snapshot is taken before anyone dies. Rounds repeat until
 * nothing is left, for at most a bounded time: a process can fork between snapshot and kill,
 * and a process in uninterruptible sleep (state D) dies only when its system call returns.
 *
 * <p>Zombies count as dead: they run no code, and who reaps them (init, here a container's
 * init that may never do it) is not Baton's business.
 *
 * <p>PIDs are reused. Handles carry their process's start time, which
 * {@link ProcessHandle#destroyForcibly()} checks, so a handle never kills a newcomer. A session
 * id is its leader's pid; once Java has reaped the agent that pid may be given away, but the
 * newcomer would have to call setsid itself within a kill round to be taken for a member:
 * accepted, and no process of this JVM's own ancestry is ever killed.
 */
final class ProcessTree {
    private ProcessTree() {}

    private static final Path PROC = Path.of("/proc");
    private static final Duration ROUND_PAUSE = Duration.ofMillis(20);

    /** The fields of /proc/PID/stat that matter here. */
    record Stat(long pid, char state, long parentPid, long session) {
        boolean live() {
            // Z: zombie, X: dead (being reaped).
            return state != 'Z' && state != 'X';
        }
    }

    /**
     * Kills every process of the session led by {@code leader} and of its descendants, and
     * returns the pids still alive after {@code confirmWithin}: empty when the tree is gone.
     * The calling thread's interrupt status is kept but does not cut the rounds short: an
     * interrupted call (of a fence agent, say) must not leave its program running.
     */
    static List<Long> kill(ProcessHandle leader, Duration confirmWithin) {
        long until = System.nanoTime() + confirmWithin.toNanos();
        boolean interrupted = false;
        try {
            while (true) {
                Map<Long, ProcessHandle> members = members(leader);
                if (members.isEmpty()) {
                    return List.of();
                }
                members.values().forEach(ProcessHandle::destroyForcibly);
                if (System.nanoTime() - until > 0) {
                    return List.copyOf(new TreeSet<>(members.keySet()));
                }
                try {
                    Thread.sleep(ROUND_PAUSE);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The live processes of the leader's session and descendants, never this JVM or its ancestors. */
    static Map<Long, ProcessHandle> members(ProcessHandle leader) {
        Set<Long> spared = ancestorsOfThisJvm();
        Map<Long, ProcessHandle> members = new LinkedHashMap<>();
        if (live(leader)) {
            members.put(leader.pid(), leader);
        }
        leader.descendants().filter(ProcessTree::live).forEach(h -> members.putIfAbsent(h.pid(), h));
        for (Stat stat : allStats()) {
            if (stat.session() == leader.pid() && stat.live() && !members.containsKey(stat.pid())) {
                ProcessHandle.of(stat.pid()).ifPresent(h -> {
                    members.put(h.pid(), h);
                    h.descendants().filter(ProcessTree::live).forEach(d -> members.putIfAbsent(d.pid(), d));
                });
            }
        }
        members.keySet().removeAll(spared);
        return members;
    }

    /**
     * Whether the process of this handle runs: {@link ProcessHandle#isAlive()} compares start
     * times, so a newcomer with a reused pid is not taken for it; /proc tells a zombie, which
     * isAlive counts as alive.
     */
    static boolean live(ProcessHandle handle) {
        return handle.isAlive() && stat(handle.pid()).map(Stat::live).orElse(false);
    }

    static Optional<Stat> stat(long pid) {
        try {
            return Optional.of(parse(pid, Files.readString(PROC.resolve(Long.toString(pid)).resolve("stat"),
                    StandardCharsets.ISO_8859_1)));
        } catch (IOException | RuntimeException e) {
            // Gone between listing and reading, or not a process we may see.
            return Optional.empty();
        }
    }

    /**
     * {@code PID (COMM) STATE PPID PGRP SESSION ...}; COMM may hold blanks and parentheses,
     * so the fields are counted from the last ')'.
     */
    static Stat parse(long pid, String line) {
        int close = line.lastIndexOf(')');
        if (close < 0) {
            throw new IllegalArgumentException("not a /proc/PID/stat line");
        }
        String[] fields = line.substring(close + 2).split(" ", 5);
        return new Stat(pid, fields[0].charAt(0), Long.parseLong(fields[1]), Long.parseLong(fields[3]));
    }

    private static List<Stat> allStats() {
        List<Stat> stats = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(PROC, ProcessTree::isPidDirectory)) {
            for (Path entry : entries) {
                stat(Long.parseLong(entry.getFileName().toString())).ifPresent(stats::add);
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot list " + PROC + ": " + e, e);
        }
        return stats;
    }

    private static boolean isPidDirectory(Path entry) {
        String name = entry.getFileName().toString();
        return !name.isEmpty() && name.chars().allMatch(Character::isDigit);
    }

    private static Set<Long> ancestorsOfThisJvm() {
        Set<Long> ancestors = new TreeSet<>();
        Optional<ProcessHandle> handle = Optional.of(ProcessHandle.current());
        while (handle.isPresent()) {
            ancestors.add(handle.get().pid());
            handle = handle.get().parent();
        }
        return ancestors;
    }
}
