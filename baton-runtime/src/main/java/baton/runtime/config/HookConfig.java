package baton.runtime.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * One event hook (the configuration's {@code hooks:} list, docs/hooks.md): an executable the node
 * runs for each event of the kinds it names, with the event in environment variables and as
 * JSON on its standard input, like Pacemaker's alert agents.
 *
 * @param executable    absolute path of the program
 * @param events        the hook events it wants ({@link #EVENTS}); empty for all of them
 * @param timeoutMillis a run still going after this long is killed (with its process group)
 */
public record HookConfig(Path executable, Set<String> events, long timeoutMillis) {
    /** Every hook event name, in the order the documentation lists them. */
    public static final List<String> EVENTS = List.of("node-down", "node-fenced", "fence-failed", "workload-recovered",
            "workload-failed", "switchover-done", "migration-done", "migration-failed", "disk-degraded",
            "fence-device-unhealthy", "coordinator-changed");
    /** Long enough for a hook that posts to a chat or pages someone over a slow network. */
    public static final long DEFAULT_TIMEOUT_MILLIS = 10_000;
    /** Below this a hook has no time to start a shell on a loaded machine. */
    public static final long MIN_TIMEOUT_MILLIS = 100;
    /** A hook is a notification, not a job: ten minutes bounds how long a queue can wait behind it. */
    public static final long MAX_TIMEOUT_MILLIS = 600_000;
    /** Hooks per cluster: each has its own queue and thread. */
    public static final int MAX_HOOKS = 16;

    public HookConfig {
        events = Set.copyOf(events);
        if (!executable.isAbsolute() || timeoutMillis < MIN_TIMEOUT_MILLIS || timeoutMillis > MAX_TIMEOUT_MILLIS
                || !EVENTS.containsAll(events)) {
            throw new IllegalArgumentException("hook out of range: " + executable + " " + events + " " + timeoutMillis);
        }
    }

    /** Whether this hook runs for hook event {@code event}. */
    public boolean wants(String event) {
        return events.isEmpty() || events.contains(event);
    }
}
