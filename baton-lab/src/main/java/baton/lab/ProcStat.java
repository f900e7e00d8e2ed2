package baton.lab;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The two fields of {@code /proc/PID/stat} the lab needs.
 *
 * @param state the scheduler state: R running, S sleeping, D disk wait, T stopped, Z zombie, ...
 * @param startTicks when the process started, in clock ticks since boot; together with the pid it
 *     names one process for the lifetime of the machine, where a pid alone may be reused
 */
public record ProcStat(long pid, char state, long startTicks) {

    /** The process's stat, or empty when no process has that pid. */
    public static Optional<ProcStat> read(long pid) {
        String line;
        try {
            line = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            // The process exited between the lookup and the read (ESRCH surfaces as an IOException).
            return Optional.empty();
        }
        return Optional.of(parse(pid, line));
    }

    public static ProcStat self() {
        long pid = ProcessHandle.current().pid();
        return read(pid).orElseThrow(() -> new IllegalStateException("cannot read /proc/" + pid + "/stat"));
    }

    /** Parses a stat line; the command name (field 2) may hold spaces and parentheses, so fields count from the last ')'. */
    static ProcStat parse(long pid, String line) {
        int close = line.lastIndexOf(')');
        if (close < 0 || close + 2 >= line.length()) {
            throw new IllegalArgumentException("not a /proc/PID/stat line: " + line);
        }
        String[] rest = line.substring(close + 2).strip().split(" ");
        // rest[0] is field 3 (state); field 22 (starttime) is rest[19].
        if (rest.length < 20) {
            throw new IllegalArgumentException("short /proc/PID/stat line: " + line);
        }
        return new ProcStat(pid, rest[0].charAt(0), Long.parseLong(rest[19]));
    }
}
