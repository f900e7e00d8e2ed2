package baton.runtime.events;

import java.util.Map;

/**
 * One line of the node's log as a structured event: what the API lists and streams, the
 * dashboard's timeline shows, hooks are run for and metrics count.
 *
 * @param seq          this node's event number, from 1, growing by one per event of the daemon's run
 * @param epochMillis  when it was logged (wall clock)
 * @param level        {@code info}, {@code warn} or {@code error}
 * @param node         the node that logged it
 * @param type         the line's {@code event=} value (e.g. {@code verdict}, {@code fenced}), or {@code "log"} without one
 * @param fields       every {@code key=value} of the line after {@code node=}, in order, values unquoted
 */
public record Event(long seq, long epochMillis, String level, String node, String type, Map<String, String> fields) {
    public Event {
        fields = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(fields));
    }

    /** A field's value, or {@code ""}. */
    public String field(String key) {
        return fields.getOrDefault(key, "");
    }
}
