package baton.runtime.log;

import java.io.PrintStream;
import java.time.Instant;

/**
 * Baton's log: one line per state change, {@code key=value} pairs that both people and
 * {@code grep}/{@code awk} read easily:
 * <pre>ts=2026-11-23T01:04:12.123Z level=info node=node-1 event=joined incarnation=... proven=primary,shadow</pre>
 * Values with spaces are quoted by the caller (the events' own {@code fields()} do it).
 */
public final class KvLog {
    public enum Level { INFO, WARN, ERROR }

    private final PrintStream out;
    private final String nodeName;
    private final String prefix;
    private volatile baton.runtime.events.EventJournal journal;

    public KvLog(PrintStream out, String nodeName) {
        this.out = out;
        this.nodeName = nodeName;
        this.prefix = nodeName == null ? "" : " node=" + nodeName;
    }

    /** From now on every line is also appended to {@code journal} as an event. */
    public void journal(baton.runtime.events.EventJournal journal) {
        this.journal = journal;
    }

    public void info(String fields) {
        line(Level.INFO, fields);
    }

    public void warn(String fields) {
        line(Level.WARN, fields);
    }

    public void error(String fields) {
        line(Level.ERROR, fields);
    }

    public void line(Level level, String fields) {
        Instant now = Instant.now();
        String levelName = level.name().toLowerCase(java.util.Locale.ROOT);
        String l = "ts=" + now + " level=" + levelName + prefix + " " + fields;
        synchronized (out) {
            out.println(l);
            out.flush();
        }
        baton.runtime.events.EventJournal j = journal;
        if (j != null) {
            j.append(now.toEpochMilli(), levelName, nodeName, fields);
        }
    }

    /** Quotes a value for a key=value line. */
    public static String q(Object value) {
        return "\"" + String.valueOf(value).replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", " ") + "\"";
    }
}
