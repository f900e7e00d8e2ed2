package baton.runtime.hooks;

import static org.assertj.core.api.Assertions.assertThat;

import baton.runtime.config.HookConfig;
import baton.runtime.events.Event;
import baton.runtime.events.EventJournal;
import baton.runtime.log.KvLog;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real hooks (shell scripts in a temporary folder) run for events logged through a real
 * {@link KvLog} and {@link EventJournal}, as in the daemon: what they get, the deadline, the
 * order, the queue's limit.
 */
class HookRunnerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final String BECOME_COORDINATOR = "event=coordinator role=coordinator generation=4 note=\"this node takes the"
            + " cluster-wide decisions\"";

    @TempDir
    Path dir;

    private final EventJournal journal = new EventJournal();
    private final KvLog log = new KvLog(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), "node-1");
    private final List<AutoCloseable> open = new ArrayList<>();

    {
        log.journal(journal);
    }

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : open.reversed()) {
            c.close();
        }
    }

    /** A runner of {@code hooks} listening to the journal, as the daemon wires it. */
    private HookRunner runner(int capacity, Duration grace, HookConfig... hooks) {
        HookRunner r = new HookRunner(List.of(hooks), "lab", "node-1", log, capacity, grace);
        open.add(r);
        open.add(journal.subscribe(r));
        return r;
    }

    private HookRunner runner(HookConfig... hooks) {
        return runner(HookRunner.QUEUE_CAPACITY, HookRunner.KILL_GRACE, hooks);
    }

    private Path script(String name, String body) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, "#!/bin/sh\n" + body);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        return p;
    }

    /** A hook that writes its environment and its standard input to OUT/SEQ-EVENT.env and .json. */
    private Path dumpHook(String name, Path out) throws IOException {
        Files.createDirectories(out);
        return script(name + ".sh", """
                n="%s/$BATON_SEQ-$BATON_EVENT"
                env > "$n.env.tmp"
                cat > "$n.json.tmp"
                mv "$n.json.tmp" "$n.json"
                mv "$n.env.tmp" "$n.env"
                """.formatted(out));
    }

    private static HookConfig hook(Path executable, long timeoutMillis, String... events) {
        return new HookConfig(executable, Set.of(events), timeoutMillis);
    }

    private static boolean await(BooleanSupplier condition) throws InterruptedException {
        long until = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() - until < 0) {
            if (condition.getAsBoolean()) {
                return true;
            }
            Thread.sleep(10);
        }
        return condition.getAsBoolean();
    }

    private static Map<String, String> env(Path file) throws IOException {
        Map<String, String> env = new LinkedHashMap<>();
        for (String line : Files.readAllLines(file)) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                env.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        return env;
    }

    private List<Event> logged(String type) {
        return journal.last(EventJournal.DEFAULT_CAPACITY).stream().filter(e -> e.type().equals(type)).toList();
    }

    private Event lastLogged(String type) {
        List<Event> all = logged(type);
        return all.isEmpty() ? null : all.getLast();
    }

    private static List<String> files(Path folder, String suffix) throws IOException {
        try (var s = Files.list(folder)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(suffix)).sorted().toList();
        }
    }

    /** Whether the process is gone: no longer in /proc, or a zombie (it runs no code; who reaps it is not ours). */
    private static boolean gone(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            return state == 'Z' || state == 'X';
        } catch (IOException e) {
            return true;
        }
    }

    private static long pid(Path file) throws IOException {
        return Long.parseLong(Files.readString(file).strip());
    }

    @Test
    void theEventReachesEachHookThatWantsItAsEnvironmentAndJson() throws Exception {
        Path all = dir.resolve("all");
        Path downOnly = dir.resolve("down-only");
        runner(hook(dumpHook("all-events", all), 5_000), hook(dumpHook("down-only", downOnly), 5_000, "node-down"));

        log.info(BECOME_COORDINATOR);
        Event coordinator = lastLogged("coordinator");
        log.warn("event=fenced peer=node-3 peer-id=3 incarnation=17 generation=4 how=\"level 1: ipmi-3 confirmed off\"");
        Event fenced = lastLogged("fenced");
        Path envFile = all.resolve(fenced.seq() + "-node-fenced.env");
        assertThat(await(() -> Files.exists(envFile) && Files.exists(all.resolve(coordinator.seq() + "-coordinator-changed.env"))))
                .as("files: %s", java.util.Arrays.toString(all.toFile().list())).isTrue();

        Map<String, String> env = env(envFile);
        assertThat(env).containsEntry("BATON_EVENT", "node-fenced").containsEntry("BATON_CLUSTER", "lab")
                .containsEntry("BATON_NODE", "node-1").containsEntry("BATON_SUBJECT", "node-3")
                .containsEntry("BATON_SEQ", Long.toString(fenced.seq()))
                .containsEntry("BATON_TIMESTAMP", Instant.ofEpochMilli(fenced.epochMillis()).toString())
                .containsEntry("BATON_LEVEL", "warn").containsEntry("BATON_FIELD_EVENT", "fenced")
                .containsEntry("BATON_FIELD_PEER", "node-3").containsEntry("BATON_FIELD_PEER_ID", "3")
                .containsEntry("BATON_FIELD_INCARNATION", "17").containsEntry("BATON_FIELD_HOW", "level 1: ipmi-3 confirmed off")
                .containsEntry("PATH", HookRunner.PATH);
        // Nothing of the daemon's own environment.
        assertThat(env.keySet()).allMatch(k -> k.startsWith("BATON_") || k.equals("PATH") || k.equals("PWD") || k.equals("SHLVL")
                || k.equals("_"), "only BATON_* and PATH (and what sh adds)");

        JsonNode json = JSON.readTree(all.resolve(fenced.seq() + "-node-fenced.json").toFile());
        assertThat(json.path("event").asText()).isEqualTo("node-fenced");
        assertThat(json.path("cluster").asText()).isEqualTo("lab");
        assertThat(json.path("node").asText()).isEqualTo("node-1");
        assertThat(json.path("subject").asText()).isEqualTo("node-3");
        assertThat(json.path("seq").asLong()).isEqualTo(fenced.seq());
        assertThat(Instant.parse(json.path("timestamp").asText()).toEpochMilli()).isEqualTo(fenced.epochMillis());
        assertThat(json.path("level").asText()).isEqualTo("warn");
        assertThat(json.path("fields").path("peer-id").asText()).isEqualTo("3");
        assertThat(json.path("fields").path("how").asText()).isEqualTo("level 1: ipmi-3 confirmed off");
        assertThat(env(all.resolve(coordinator.seq() + "-coordinator-changed.env"))).containsEntry("BATON_SUBJECT", "node-1")
                .containsEntry("BATON_LEVEL", "info").containsEntry("BATON_FIELD_ROLE", "coordinator");

        // Each run is logged, and those lines run nothing: two runs for 'all', none for 'down-only'.
        assertThat(await(() -> logged("hook-run").size() == 2)).as("%s", logged("hook-run")).isTrue();
        Event run = logged("hook-run").stream().filter(e -> e.field("hook-event").equals("node-fenced")).findFirst().orElseThrow();
        assertThat(run.fields()).containsEntry("hook", dir.resolve("all-events.sh").toString()).containsEntry("subject", "node-3")
                .containsEntry("event-seq", Long.toString(fenced.seq())).containsEntry("exit", "0").containsKey("millis");
        assertThat(run.level()).isEqualTo("info");
        Thread.sleep(200);
        assertThat(files(all, ".env")).hasSize(2);
        assertThat(files(downOnly, ".env")).isEmpty();

        log.warn("event=verdict peer=node-2 peer-id=2 from=suspect to=down evidence=\"slot stale\" alarm=down");
        Event down = lastLogged("verdict");
        assertThat(await(() -> Files.exists(downOnly.resolve(down.seq() + "-node-down.env")))).isTrue();
        assertThat(env(downOnly.resolve(down.seq() + "-node-down.env"))).containsEntry("BATON_FIELD_ALARM", "down")
                .containsEntry("BATON_FIELD_EVIDENCE", "slot stale");
    }

    @Test
    void aHookThatHangsIsKilledWithItsChildAfterItsTimeoutAndTheNextEventStillRuns() throws Exception {
        Path out = dir.resolve("out");
        Files.createDirectories(out);
        // The first run forks a sleeper and sleeps itself; later runs only say they ran.
        Path hung = script("hangs-once", """
                if [ ! -e %1$s/first ]; then
                  touch %1$s/first
                  sleep 600 &
                  echo $! > %1$s/child.pid
                  echo $$ > %1$s/hook.pid
                  sleep 600
                fi
                echo "$BATON_SEQ" > %1$s/ran-$BATON_SEQ
                """.formatted(out));
        runner(hook(hung, 300));

        long t0 = System.nanoTime();
        log.info(BECOME_COORDINATOR);
        assertThat(await(() -> Files.exists(out.resolve("hook.pid")))).isTrue();
        long child = pid(out.resolve("child.pid"));
        long hook = pid(out.resolve("hook.pid"));
        log.warn("event=verdict peer=node-2 peer-id=2 from=suspect to=down evidence=\"slot stale\" alarm=down");
        long next = lastLogged("verdict").seq();

        assertThat(await(() -> Files.exists(out.resolve("ran-" + next)))).isTrue();
        assertThat(gone(hook)).isTrue();
        assertThat(await(() -> gone(child))).as("the hook's child %d", child).isTrue();
        Event timeout = lastLogged("hook-timeout");
        assertThat(timeout).isNotNull();
        assertThat(timeout.level()).isEqualTo("warn");
        assertThat(timeout.fields()).containsEntry("hook", hung.toString()).containsEntry("hook-event", "coordinator-changed")
                .containsEntry("timeout-ms", "300").containsEntry("signal", "TERM");
        assertThat(Long.parseLong(timeout.field("millis"))).isBetween(300L, 5_000L);
        // Well before the hook's own 600 s, and the later run was not held back by more than the kill.
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(10));
        assertThat(await(() -> logged("hook-run").size() == 1)).isTrue();
        assertThat(logged("hook-run").getFirst().fields()).containsEntry("hook-event", "node-down").containsEntry("exit", "0");
    }

    @Test
    void aHookThatIgnoresSigtermIsKilledAfterTheGrace() throws Exception {
        Path out = dir.resolve("out");
        Files.createDirectories(out);
        Path stubborn = script("stubborn", """
                trap '' TERM
                sleep 600 &
                echo $! > %1$s/child.pid
                echo $$ > %1$s/hook.pid
                while :; do sleep 1; done
                """.formatted(out));
        runner(HookRunner.QUEUE_CAPACITY, Duration.ofMillis(200), hook(stubborn, 300));

        log.info(BECOME_COORDINATOR);
        assertThat(await(() -> lastLogged("hook-timeout") != null)).isTrue();
        assertThat(lastLogged("hook-timeout").fields()).containsEntry("signal", "KILL");
        assertThat(Long.parseLong(lastLogged("hook-timeout").field("millis"))).isGreaterThanOrEqualTo(500);
        assertThat(await(() -> gone(uncheckedPid(out.resolve("hook.pid"))) && gone(uncheckedPid(out.resolve("child.pid"))))).isTrue();
    }

    private static long uncheckedPid(Path file) {
        try {
            return pid(file);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void aHookThatFailsIsLoggedAsAWarningWithItsLastWords() throws Exception {
        runner(hook(script("fails", "echo 'posting to the pager' ; echo 'pager unreachable' >&2; exit 3\n"), 5_000));

        log.info(BECOME_COORDINATOR);
        assertThat(await(() -> lastLogged("hook-run") != null)).isTrue();
        Event run = lastLogged("hook-run");
        assertThat(run.level()).isEqualTo("warn");
        assertThat(run.fields()).containsEntry("exit", "3").containsEntry("output", "pager unreachable")
                .containsEntry("hook-event", "coordinator-changed");
    }

    @Test
    void aHookRunsItsEventsOneAtATimeInOrderWhileAnotherHookRunsInParallel() throws Exception {
        Path order = dir.resolve("order.log");
        Path slow = script("slow", "echo \"start $BATON_SEQ\" >> " + order + "; sleep 0.05; echo \"end $BATON_SEQ\" >> " + order + "\n");
        Path out = dir.resolve("fast");
        runner(hook(slow, 5_000, "node-down"), hook(dumpHook("fast", out), 5_000, "node-down"));

        log.info(BECOME_COORDINATOR);
        List<Long> seqs = new ArrayList<>();
        for (int i = 2; i <= 7; i++) {
            log.warn("event=verdict peer=node-" + i + " peer-id=" + i + " from=suspect to=down evidence=\"slot stale\" alarm=down");
            seqs.add(lastLogged("verdict").seq());
        }
        assertThat(await(() -> logged("hook-run").size() == 12)).as("%s", logged("hook-run")).isTrue();
        List<String> expected = new ArrayList<>();
        seqs.forEach(s -> {
            expected.add("start " + s);
            expected.add("end " + s);
        });
        assertThat(Files.readAllLines(order)).containsExactlyElementsOf(expected);
        assertThat(files(out, ".env")).hasSize(6);
    }

    @Test
    void aFullQueueDropsRunsCountsAndLogsThemWhileOtherHooksGoOn() throws Exception {
        Path out = dir.resolve("out");
        Files.createDirectories(out);
        Path stuck = script("stuck", "echo $$ > " + out + "/hook-$BATON_SEQ.pid; sleep 600\n");
        Path fast = dumpHook("fast", dir.resolve("fast"));
        HookRunner runner = runner(1, HookRunner.KILL_GRACE, hook(stuck, 60_000, "node-down"), hook(fast, 5_000, "node-down"));

        log.info(BECOME_COORDINATOR);
        log.warn("event=verdict peer=node-2 peer-id=2 from=suspect to=down evidence=\"slot stale\" alarm=down");
        long first = lastLogged("verdict").seq();
        assertThat(await(() -> Files.exists(out.resolve("hook-" + first + ".pid")))).isTrue();
        long running = pid(out.resolve("hook-" + first + ".pid"));
        // The stuck hook runs the first; the second waits in its queue of one; the third has no room.
        // (The fast hook's queue is one long too: each of its runs ends before the next event.)
        assertThat(await(() -> logged("hook-run").size() == 1)).isTrue();
        log.warn("event=verdict peer=node-3 peer-id=3 from=suspect to=down evidence=\"slot stale\" alarm=down");
        assertThat(await(() -> logged("hook-run").size() == 2)).isTrue();
        log.warn("event=verdict peer=node-4 peer-id=4 from=suspect to=down evidence=\"slot stale\" alarm=down");
        long third = lastLogged("verdict").seq();
        assertThat(runner.dropped()).isEqualTo(1);
        Event drop = lastLogged("hook-dropped");
        assertThat(drop.level()).isEqualTo("warn");
        assertThat(drop.fields()).containsEntry("hook", stuck.toString()).containsEntry("hook-event", "node-down")
                .containsEntry("subject", "node-4").containsEntry("event-seq", Long.toString(third)).containsEntry("dropped", "1");
        // The other hook is not held back.
        assertThat(await(() -> logged("hook-run").size() == 3)).isTrue();
        assertThat(Files.exists(dir.resolve("fast").resolve(third + "-node-down.env"))).isTrue();

        long t0 = System.nanoTime();
        runner.close();
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(10));
        assertThat(await(() -> gone(running))).isTrue();
        assertThat(logged("hook-cancelled")).extracting(e -> e.field("queued") + "/" + e.field("hook-event"))
                .containsExactlyInAnyOrder("1/", "/node-down");
        // Closed: nothing runs any more.
        log.warn("event=verdict peer=node-5 peer-id=5 from=suspect to=down evidence=\"slot stale\" alarm=down");
        Thread.sleep(200);
        assertThat(files(dir.resolve("fast"), ".env")).hasSize(3);
    }

    @Test
    void variableNamesAndTimeoutArguments() {
        assertThat(HookRunner.envKey("peer-id")).isEqualTo("PEER_ID");
        assertThat(HookRunner.envKey("delay.ms")).isEqualTo("DELAY_MS");
        assertThat(HookRunner.seconds(300)).isEqualTo("0.300");
        assertThat(HookRunner.seconds(600_000)).isEqualTo("600.000");
    }
}
