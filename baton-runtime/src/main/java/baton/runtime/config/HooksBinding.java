package baton.runtime.config;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** Binds the {@code hooks:} list (docs/hooks.md). */
final class HooksBinding {
    private HooksBinding() {}

    static final List<String> KEYS = List.of("executable", "events", "timeoutMillis");
    private static final String ITEM_EXAMPLE = "{executable: /etc/baton/hooks/page-oncall, events: [node-down, node-fenced]}";
    private static final String EXAMPLE = "hooks: [" + ITEM_EXAMPLE + "]";

    static List<HookConfig> bind(YamlNode value, String path, int line, Path folder, Problems problems) {
        if (!(value instanceof YamlNode.Sequence list)) {
            problems.add(value.line(), path, "expected a list of hooks, found " + value.describe(), "write it as " + EXAMPLE);
            return List.of();
        }
        if (list.items().size() > HookConfig.MAX_HOOKS) {
            problems.add(line, path, "lists " + list.items().size() + " hooks, at most " + HookConfig.MAX_HOOKS + " are supported",
                    "use at most " + HookConfig.MAX_HOOKS + " hooks; one hook may take many events and dispatch them itself");
            return List.of();
        }
        List<HookConfig> hooks = new ArrayList<>();
        for (int i = 0; i < list.items().size(); i++) {
            YamlNode item = list.items().get(i);
            // Counted before the section: an unknown key it reports may stand for a required one.
            int before = problems.count();
            Optional<Section> section = Section.of(item, path + "[" + i + "]", item.line(), problems, KEYS, ITEM_EXAMPLE);
            if (section.isPresent()) {
                hook(section.get(), folder, before, problems).ifPresent(hooks::add);
            }
        }
        return hooks;
    }

    private static Optional<HookConfig> hook(Section s, Path folder, int before, Problems problems) {
        Optional<Path> executable = s.required("executable", "executable: /etc/baton/hooks/page-oncall")
                .flatMap(v -> Scalars.path(v, s.path("executable"), folder, problems, "/etc/baton/hooks/page-oncall"));
        executable.ifPresent(p -> checkExecutable(p, s, problems));
        Set<String> events = new LinkedHashSet<>();
        s.optional("events").ifPresent(v -> events(v, s, events, problems));
        long timeout = FenceBinding.millis(s, "timeoutMillis", HookConfig.DEFAULT_TIMEOUT_MILLIS, HookConfig.MIN_TIMEOUT_MILLIS,
                HookConfig.MAX_TIMEOUT_MILLIS, problems);
        return problems.count() == before ? Optional.of(new HookConfig(executable.orElseThrow(), events, timeout)) : Optional.empty();
    }

    /** Checked at load, as fence agents are: a hook that cannot run would fail silently on the day it matters. */
    private static void checkExecutable(Path p, Section s, Problems problems) {
        int line = s.lineOf("executable");
        String key = s.path("executable");
        if (!Files.exists(p)) {
            problems.add(line, key, p + " does not exist", "install the hook there, or correct the path");
        } else if (!Files.isRegularFile(p)) {
            problems.add(line, key, p + " is not a regular file", "name the hook program itself, not a folder");
        } else if (!Files.isExecutable(p)) {
            problems.add(line, key, p + " is not executable", "chmod 755 " + p);
        }
    }

    private static void events(YamlNode v, Section s, Set<String> events, Problems problems) {
        String key = s.path("events");
        if (!(v instanceof YamlNode.Sequence names)) {
            problems.add(v.line(), key, "expected a list of event names, found " + v.describe(),
                    "write it as events: [node-down, node-fenced], or leave it out for every event");
            return;
        }
        if (names.items().isEmpty()) {
            problems.add(v.line(), key, "lists no events, so the hook would never run",
                    "name the events, e.g. events: [node-down, node-fenced], or leave the key out for every event");
            return;
        }
        for (int j = 0; j < names.items().size(); j++) {
            YamlNode n = names.items().get(j);
            String at = key + "[" + j + "]";
            Scalars.text(n, at, problems, "node-down").ifPresent(name -> {
                if (HookConfig.EVENTS.contains(name)) {
                    events.add(name);
                    return;
                }
                String near = Section.closest(name, HookConfig.EVENTS).map(k -> "did you mean '" + k + "'? ").orElse("");
                problems.add(n.line(), at, "unknown event '" + YamlNode.shown(name) + "'",
                        near + "the events are " + String.join(", ", HookConfig.EVENTS));
            });
        }
    }
}
