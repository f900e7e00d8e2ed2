package baton.runtime.hooks;

import baton.runtime.config.HookConfig;
import baton.runtime.events.Event;
import baton.runtime.log.KvLog;
import baton.runtime.proc.LastWords;
import baton.runtime.proc.ProcessCall;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * Runs the configured hooks (docs/hooks.md) for this node's events, like Pacemaker's alert
 * agents: the event in {@code BATON_*} environment variables and as one JSON object on standard
 * input.
 *
 * <p>A listener of the node's {@link baton.runtime.events.EventJournal}: {@link #accept} is called
 * on the thread that logged the line, which may be the daemon's event loop, and never blocks. It
 * asks {@link HookEvents} what the line stands for and queues a run on each hook that wants it.
 *
 * <p>Each hook has one lane: a queue of at most {@link #QUEUE_CAPACITY} runs and a virtual thread
 * that runs them one after the other, so a hook sees its events in the order they were logged and
 * never runs twice at once; different hooks run in parallel, and a slow one delays only itself.
 * A run that finds its lane's queue full is dropped, counted and logged
 * ({@code event=hook-dropped}): a hook must not hold back the node, nor its memory grow.
 *
 * <p>Limits: a run still going after the hook's {@code timeoutMillis} gets SIGTERM, and
 * {@link #KILL_GRACE} later SIGKILL, with every process it started (coreutils {@code timeout}
 * signals the run's process group; {@link ProcessCall} then sweeps its whole session). Each run
 * ends in one log line, {@code event=hook-run} or {@code event=hook-timeout}; those lines, like
 * every {@code hook-*} line, map to no hook event, so a hook's run never causes another.
 *
 * <p>{@link #close} stops it: queued runs are dropped and a running hook is killed.
 */
public final class HookRunner implements Consumer<Event>, AutoCloseable {
    /** Runs waiting per hook: far more than a cluster event makes (a handful), bounded memory for a hook that hangs. */
    public static final int QUEUE_CAPACITY = 256;
    /** Between SIGTERM and SIGKILL: time for a hook to clean up, short next to any useful timeout. */
    public static final Duration KILL_GRACE = Duration.ofSeconds(2);
    /** Signals the hook's process group after its timeout (coreutils, in every Debian system). */
    static final Path TIMEOUT = Path.of("/usr/bin/timeout");
    /** A hook's whole environment besides the BATON_* variables: no variable of the daemon leaks into it. */
    static final String PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    /** Output kept per stream: enough for the line that says why a hook failed. */
    static final int OUTPUT_LIMIT_BYTES = 4096;
    /** Beyond the timeout and the grace, Baton's own deadline: only if {@code timeout} itself were stuck. */
    static final Duration OUTER_SLACK = Duration.ofSeconds(5);
    /** Exit statuses of coreutils {@code timeout}: the command timed out (and ended on SIGTERM), or was SIGKILLed. */
    static final int TIMED_OUT_TERM = 124;
    static final int TIMED_OUT_KILL = 128 + 9;

    private static final String QUEUE_CAPACITY_NOTE = "the hook's queue is full: it is slower than the events it is run for";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern NO_PREFIX = Pattern.compile("^");

    private final String clusterName;
    private final String nodeName;
    private final KvLog log;
    private final Duration killGrace;
    private final List<Lane> lanes = new ArrayList<>();
    // Guarded by this.
    private final HookEvents events = new HookEvents();
    private boolean closed;
    private long dropped;

    /** One hook's queue and the virtual thread that runs it. */
    private final class Lane {
        final HookConfig hook;
        final BlockingQueue<HookEvent> queue;
        final Thread thread;

        Lane(HookConfig hook, int capacity) {
            this.hook = hook;
            this.queue = new ArrayBlockingQueue<>(capacity);
            this.thread = Thread.ofVirtual().name("baton-hook-" + hook.executable().getFileName()).unstarted(this::loop);
        }

        private void loop() {
            try {
                while (true) {
                    HookEvent h = queue.take();
                    run(hook, h);
                }
            } catch (InterruptedException e) {
                // closed
            }
        }
    }

    /**
     * @param hooks       the configured hooks, in file order
     * @param clusterName given to hooks as {@code BATON_CLUSTER}
     * @param nodeName    this node, given to hooks as {@code BATON_NODE}
     * @param log         where runs are logged
     */
    public HookRunner(List<HookConfig> hooks, String clusterName, String nodeName, KvLog log) {
        this(hooks, clusterName, nodeName, log, QUEUE_CAPACITY, KILL_GRACE);
    }

    /** With a queue capacity and a grace of its own (tests). */
    HookRunner(List<HookConfig> hooks, String clusterName, String nodeName, KvLog log, int queueCapacity, Duration killGrace) {
        if (queueCapacity < 1 || killGrace.isNegative() || killGrace.isZero()) {
            throw new IllegalArgumentException("queue capacity " + queueCapacity + ", grace " + killGrace);
        }
        this.clusterName = clusterName;
        this.nodeName = nodeName;
        this.log = log;
        this.killGrace = killGrace;
        for (HookConfig h : hooks) {
            if (deadline(h).compareTo(ProcessCall.MAX_DEADLINE) > 0) {
                throw new IllegalArgumentException("hook " + h.executable() + ": timeout " + h.timeoutMillis() + " ms is too long");
            }
            lanes.add(new Lane(h, queueCapacity));
        }
        lanes.forEach(l -> l.thread.start());
    }

    /** Queues a run on every hook that wants what {@code e} stands for; never blocks. */
    @Override
    public void accept(Event e) {
        if (lanes.isEmpty()) {
            return;
        }
        List<String> drops = new ArrayList<>();
        synchronized (this) {
            if (closed) {
                return;
            }
            for (HookEvent h : events.step(e)) {
                for (Lane l : lanes) {
                    if (l.hook.wants(h.name()) && !l.queue.offer(h)) {
                        dropped++;
                        drops.add("event=hook-dropped hook=" + token(l.hook.executable().toString()) + " hook-event=" + h.name()
                                + " subject=" + token(h.subject()) + " event-seq=" + h.source().seq() + " dropped=" + dropped
                                + " note=" + KvLog.q(QUEUE_CAPACITY_NOTE));
                    }
                }
            }
        }
        // Outside the lock: the line comes back to accept as an event (of no hook event).
        drops.forEach(log::warn);
    }

    /** Runs dropped so far because a hook's queue was full. */
    public synchronized long dropped() {
        return dropped;
    }

    /** Stops: no more runs; queued ones are dropped, running ones killed (bounded wait). */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        List<String> lines = new ArrayList<>();
        for (Lane l : lanes) {
            List<HookEvent> left = new ArrayList<>();
            l.queue.drainTo(left);
            if (!left.isEmpty()) {
                lines.add("event=hook-cancelled hook=" + token(l.hook.executable().toString()) + " queued=" + left.size()
                        + " note=" + KvLog.q("the node stops; these runs do not happen"));
            }
            l.thread.interrupt();
        }
        long until = System.nanoTime() + ProcessCall.KILL_CONFIRM_LIMIT.plus(ProcessCall.OUTPUT_DRAIN_LIMIT).toNanos();
        for (Lane l : lanes) {
            try {
                l.thread.join(Duration.ofNanos(Math.max(1, until - System.nanoTime())));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        lines.forEach(log::warn);
    }

    /** One run of {@code hook} for {@code h}, on its lane's thread; logs how it ended. */
    private void run(HookConfig hook, HookEvent h) throws InterruptedException {
        String what = "hook=" + token(hook.executable().toString()) + " hook-event=" + h.name() + " subject=" + token(h.subject())
                + " event-seq=" + h.source().seq();
        Optional<String> unstartable = ProcessCall.unstartable("hook", hook.executable(), "install the hook there");
        if (unstartable.isPresent()) {
            log.error("event=hook-run " + what + " exit=none millis=0 error=" + KvLog.q(unstartable.get()));
            return;
        }
        List<String> command = List.of(TIMEOUT.toString(), "--kill-after=" + seconds(killGrace.toMillis()),
                seconds(hook.timeoutMillis()), hook.executable().toString());
        ProcessCall.Outcome outcome;
        try {
            outcome = ProcessCall.run(command, Optional.of(environment(h)), json(h), OUTPUT_LIMIT_BYTES, deadline(hook),
                    ProcessCall.Leftovers.KILL);
        } catch (InterruptedException e) {
            log.warn("event=hook-cancelled " + what + " note=" + KvLog.q("the node stops; the running hook was killed"));
            throw e;
        }
        switch (outcome) {
            case ProcessCall.Outcome.Exited x -> {
                long millis = x.ran().toMillis();
                boolean timedOut = (x.exitCode() == TIMED_OUT_TERM || x.exitCode() == TIMED_OUT_KILL) && millis >= hook.timeoutMillis();
                if (timedOut) {
                    log.warn("event=hook-timeout " + what + " millis=" + millis + " timeout-ms=" + hook.timeoutMillis()
                            + " signal=" + (x.exitCode() == TIMED_OUT_TERM ? "TERM" : "KILL"));
                } else if (x.exitCode() == 0) {
                    log.info("event=hook-run " + what + " exit=0 millis=" + millis);
                } else {
                    String words = LastWords.lastLine(x.output().stderr(), NO_PREFIX, List.of());
                    if (words.isEmpty()) {
                        words = LastWords.lastLine(x.output().stdout(), NO_PREFIX, List.of());
                    }
                    log.warn("event=hook-run " + what + " exit=" + x.exitCode() + " millis=" + millis
                            + (words.isEmpty() ? "" : " output=" + KvLog.q(words)));
                }
            }
            case ProcessCall.Outcome.TimedOut t -> log.warn("event=hook-timeout " + what + " millis=" + t.after().toMillis()
                    + " timeout-ms=" + hook.timeoutMillis() + " signal=KILL"
                    + (t.survivingPids().isEmpty() ? "" : " survivors=" + KvLog.q(t.survivingPids())));
            case ProcessCall.Outcome.CouldNotStart c -> log.error("event=hook-run " + what + " exit=none millis=0 error="
                    + KvLog.q(c.reason()));
        }
    }

    private Duration deadline(HookConfig hook) {
        return Duration.ofMillis(hook.timeoutMillis()).plus(killGrace).plus(OUTER_SLACK);
    }

    /** The hook's whole environment: {@link #PATH} and the event. */
    Map<String, String> environment(HookEvent h) {
        Event e = h.source();
        Map<String, String> env = new LinkedHashMap<>();
        env.put("PATH", PATH);
        env.put("BATON_EVENT", h.name());
        env.put("BATON_CLUSTER", clusterName);
        env.put("BATON_NODE", nodeName);
        env.put("BATON_SUBJECT", clean(h.subject()));
        env.put("BATON_SEQ", Long.toString(e.seq()));
        env.put("BATON_TIMESTAMP", Instant.ofEpochMilli(e.epochMillis()).toString());
        env.put("BATON_LEVEL", e.level());
        e.fields().forEach((k, v) -> env.put("BATON_FIELD_" + envKey(k), clean(v)));
        return env;
    }

    /** The same as one JSON object and a newline; the fields with their keys as logged. */
    byte[] json(HookEvent h) {
        Event e = h.source();
        ObjectNode o = JSON.createObjectNode();
        o.put("event", h.name());
        o.put("cluster", clusterName);
        o.put("node", nodeName);
        o.put("subject", h.subject());
        o.put("seq", e.seq());
        o.put("timestamp", Instant.ofEpochMilli(e.epochMillis()).toString());
        o.put("level", e.level());
        ObjectNode fields = o.putObject("fields");
        e.fields().forEach(fields::put);
        return (o.toString() + "\n").getBytes(StandardCharsets.UTF_8);
    }

    /** A field key as a variable name: upper case, anything but letters, digits and '_' as '_'. */
    static String envKey(String key) {
        StringBuilder b = new StringBuilder(key.length());
        for (char c : key.toUpperCase(Locale.ROOT).toCharArray()) {
            b.append((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ? c : '_');
        }
        return b.toString();
    }

    /** An environment value cannot hold NUL. */
    private static String clean(String value) {
        return value.replace('\0', ' ');
    }

    /** "0.300": seconds for coreutils timeout (C locale). */
    static String seconds(long millis) {
        return String.format(Locale.ROOT, "%d.%03d", millis / 1000, millis % 1000);
    }

    /** A value for a key=value line: as it is, or quoted when it holds blanks or quotes. */
    private static String token(String value) {
        return value.isEmpty() || value.chars().anyMatch(c -> c == ' ' || c == '"' || c == '=' || c == '\\') ? KvLog.q(value) : value;
    }
}
