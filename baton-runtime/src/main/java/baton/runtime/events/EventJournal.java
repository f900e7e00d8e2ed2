package baton.runtime.events;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The node's recent events, in order, and the listeners that want each new one (the API's
 * streams, the hook runner, the metrics). Keeps the last {@code capacity} events; a reader
 * that asks for older ones learns where the kept ones begin. Thread-safe: the log appends from
 * any thread; listeners are called on the appending thread and must not block (queue instead).
 */
public final class EventJournal {
    public static final int DEFAULT_CAPACITY = 2048;

    private final int capacity;
    private final ArrayDeque<Event> events = new ArrayDeque<>();
    private final List<Consumer<Event>> listeners = new CopyOnWriteArrayList<>();
    private long lastSeq;

    public EventJournal() {
        this(DEFAULT_CAPACITY);
    }

    public EventJournal(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity " + capacity);
        }
        this.capacity = capacity;
    }

    /** Records one log line ({@code fields} as written after {@code node=}) and tells every listener. */
    public Event append(long epochMillis, String level, String node, String fields) {
        Map<String, String> parsed = KvFields.parse(fields);
        String type = parsed.getOrDefault("event", "log");
        Event e;
        synchronized (this) {
            e = new Event(++lastSeq, epochMillis, level, node, type, parsed);
            events.addLast(e);
            if (events.size() > capacity) {
                events.removeFirst();
            }
        }
        for (Consumer<Event> l : listeners) {
            try {
                l.accept(e);
            } catch (RuntimeException ex) {
                // A listener's bug must not break logging; the event is in the journal anyway.
            }
        }
        return e;
    }

    /** The kept events with a sequence number above {@code after}, oldest first, at most {@code limit}. */
    public synchronized List<Event> since(long after, int limit) {
        List<Event> out = new ArrayList<>();
        for (Event e : events) {
            if (e.seq() > after) {
                out.add(e);
                if (out.size() >= limit) {
                    break;
                }
            }
        }
        return out;
    }

    /** The last {@code n} kept events, oldest first. */
    public synchronized List<Event> last(int n) {
        List<Event> all = new ArrayList<>(events);
        return all.subList(Math.max(0, all.size() - n), all.size());
    }

    public synchronized long lastSeq() {
        return lastSeq;
    }

    /** A listener's registration; closing it ends the calls. */
    public interface Subscription extends AutoCloseable {
        @Override
        void close();
    }

    /** Calls {@code listener} with every event appended from now on, until the returned handle is closed. */
    public Subscription subscribe(Consumer<Event> listener) {
        listeners.add(listener);
        return () -> listeners.remove(listener);
    }
}
