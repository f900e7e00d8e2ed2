package baton.runtime.hooks;

import baton.runtime.config.HookConfig;
import baton.runtime.events.Event;
import java.util.Objects;

/**
 * One event a hook is run for (docs/hooks.md).
 *
 * @param name    one of {@link HookConfig#EVENTS}, e.g. {@code node-down}
 * @param subject the node, workload, disk copy or fence device concerned, e.g. {@code node-3}
 * @param source  the log line it comes from: its sequence number, time, level and fields are
 *                what the hook is given
 */
public record HookEvent(String name, String subject, Event source) {
    public HookEvent {
        Objects.requireNonNull(subject, "subject");
        Objects.requireNonNull(source, "source");
        if (!HookConfig.EVENTS.contains(name)) {
            throw new IllegalArgumentException("not a hook event: " + name);
        }
    }
}
