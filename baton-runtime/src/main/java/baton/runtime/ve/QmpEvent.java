package baton.runtime.ve;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.Objects;

/**
 * An asynchronous QMP event, e.g. {@code STOP}, {@code RESUME}, {@code SHUTDOWN},
 * {@code POWERDOWN}, {@code MIGRATION}.
 *
 * @param name the event's name, as QEMU spells it
 * @param data its {@code data} member; an empty object when QEMU sent none
 * @param timestamp QEMU's timestamp of the event (host wall clock, microseconds)
 */
public record QmpEvent(String name, JsonNode data, Instant timestamp) {
    public QmpEvent {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(timestamp, "timestamp");
    }

    @Override
    public String toString() {
        return name + (data.isEmpty() ? "" : " " + data);
    }
}
