package baton.runtime.config;

import static baton.runtime.config.ConfigProblemsTest.FILE;
import static baton.runtime.config.ConfigProblemsTest.VALID;
import static baton.runtime.config.ConfigProblemsTest.assertProblem;
import static baton.runtime.config.ConfigProblemsTest.onlyProblemIn;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code hooks:} list: what it binds to, and a problem with file, line, key and fix for each mistake. */
class HooksConfigTest {
    /** The line of {@code hooks:} after VALID; its first item is on the next line. */
    static final int HOOKS = (int) VALID.lines().count() + 1;

    @TempDir
    Path dir;

    private Path executable(String name, String mode) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, "#!/bin/sh\nexit 0\n");
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(mode));
        return p;
    }

    @Test
    void withoutTheListThereAreNoHooks() throws Exception {
        assertThat(ConfigLoader.parse(FILE, VALID).hooks()).isEmpty();
    }

    @Test
    void everyKeyIsReadAndTheDefaultsHold() throws Exception {
        Path page = executable("page-oncall", "rwxr-xr-x");
        Path audit = executable("audit", "rwx------");
        List<HookConfig> hooks = ConfigLoader.parse(FILE, VALID + """
                hooks:
                  - executable: %s
                    events: [node-down, node-fenced, fence-failed]
                    timeoutMillis: 2000
                  - executable: %s
                """.formatted(page, audit)).hooks();
        assertThat(hooks).containsExactly(
                new HookConfig(page, Set.of("node-down", "node-fenced", "fence-failed"), 2000),
                new HookConfig(audit, Set.of(), HookConfig.DEFAULT_TIMEOUT_MILLIS));
        assertThat(hooks.get(0).wants("node-down")).isTrue();
        assertThat(hooks.get(0).wants("disk-degraded")).isFalse();
        assertThat(hooks.get(1).wants("disk-degraded")).isTrue();
        assertThat(HookConfig.EVENTS).allMatch(hooks.get(1)::wants);
    }

    @Test
    void anUnknownEventNamesItsPlaceInTheListAndTheNearestEvent() throws Exception {
        Path page = executable("page-oncall", "rwxr-xr-x");
        Problem p = onlyProblemIn(VALID + "hooks:\n  - executable: " + page + "\n    events: [node-down, node-fencd]\n");
        assertProblem(p, HOOKS + 2, "hooks[0].events[1]", "unknown event 'node-fencd'", "did you mean 'node-fenced'?");
        assertThat(p.fix()).contains("the events are " + String.join(", ", HookConfig.EVENTS));
        Problem far = onlyProblemIn(VALID + "hooks:\n  - executable: " + page + "\n    events:\n      - reboot\n");
        assertProblem(far, HOOKS + 3, "hooks[0].events[0]", "unknown event 'reboot'", "the events are node-down, node-fenced");
        assertProblem(onlyProblemIn(VALID + "hooks:\n  - executable: " + page + "\n    events: []\n"), HOOKS + 2, "hooks[0].events",
                "lists no events", "leave the key out for every event");
        assertProblem(onlyProblemIn(VALID + "hooks:\n  - executable: " + page + "\n    events: node-down\n"), HOOKS + 2,
                "hooks[0].events", "expected a list of event names", "events: [node-down, node-fenced]");
    }

    @Test
    void theExecutableMustExistAndBeExecutable() throws Exception {
        Path plain = executable("plain", "rw-r--r--");
        assertProblem(onlyProblemIn(VALID + "hooks:\n  - executable: " + plain + "\n"), HOOKS + 1, "hooks[0].executable",
                plain + " is not executable", "chmod 755 " + plain);
        Path missing = dir.resolve("missing");
        assertProblem(onlyProblemIn(VALID + "hooks:\n  - executable: " + missing + "\n"), HOOKS + 1, "hooks[0].executable",
                missing + " does not exist", "install the hook there");
        assertProblem(onlyProblemIn(VALID + "hooks:\n  - executable: " + dir + "\n"), HOOKS + 1, "hooks[0].executable",
                dir + " is not a regular file", "name the hook program itself");
        // Relative to the configuration's folder.
        assertProblem(onlyProblemIn(VALID + "hooks:\n  - executable: hooks/page\n"), HOOKS + 1, "hooks[0].executable",
                "/etc/baton/hooks/page does not exist", "install the hook there");
        assertProblem(onlyProblemIn(VALID + "hooks:\n  - events: [node-down]\n"), HOOKS + 1, "hooks[0].executable",
                "missing", "executable: /etc/baton/hooks/page-oncall");
    }

    @Test
    void aBadTimeoutNamesTheRange() throws Exception {
        Path page = executable("page-oncall", "rwxr-xr-x");
        String hook = VALID + "hooks:\n  - executable: " + page + "\n    timeoutMillis: ";
        assertProblem(onlyProblemIn(hook + "50\n"), HOOKS + 2, "hooks[0].timeoutMillis", "must be between 100 and 600000, is 50",
                "use a value from 100 to 600000");
        assertProblem(onlyProblemIn(hook + "3600000\n"), HOOKS + 2, "hooks[0].timeoutMillis", "is 3600000", "from 100 to 600000");
        assertProblem(onlyProblemIn(hook + "10s\n"), HOOKS + 2, "hooks[0].timeoutMillis", "expected a whole number", "timeoutMillis: 10");
    }

    @Test
    void theListItselfAndItsItemsAreChecked() throws Exception {
        Path page = executable("page-oncall", "rwxr-xr-x");
        assertProblem(onlyProblemIn(VALID + "hooks: " + page + "\n"), HOOKS, "hooks", "expected a list of hooks", "hooks: [{executable:");
        assertProblem(onlyProblemIn(VALID + "hooks:\n  - executabel: " + page + "\n"), HOOKS + 1, "hooks[0].executabel",
                "unknown key 'executabel'", "did you mean 'executable'?");
        StringBuilder many = new StringBuilder(VALID + "hooks:\n");
        for (int i = 0; i <= HookConfig.MAX_HOOKS; i++) {
            many.append("  - executable: ").append(page).append('\n');
        }
        assertProblem(onlyProblemIn(many.toString()), HOOKS, "hooks", "lists 17 hooks, at most 16", "use at most 16 hooks");
    }
}
