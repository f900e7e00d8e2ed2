package baton.runtime.ve;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * A client of QEMU's machine protocol (QMP) on a unix socket.
 *
 * <p>The protocol (qemu docs/interop/qmp-spec): on connect QEMU sends a greeting
 * {@code {"QMP": {"version": ..., "capabilities": [...]}}}; the client leaves capabilities
 * negotiation with {@code qmp_capabilities}; then every command
 * {@code {"execute": NAME, "arguments": {...}, "id": ID}} gets exactly one answer with the same
 * id, {@code {"return": ...}} or {@code {"error": {"class": ..., "desc": ...}}}, and
 * asynchronous events {@code {"event": NAME, "data": ..., "timestamp": ...}} come at any time,
 * also between a command and its answer. Each message is one line of JSON.
 *
 * <p>One reader thread (virtual) owns the socket's input: it hands each answer to the command
 * waiting for its id and queues each event. Callers block, each up to its own deadline, which
 * covers the send as well: a QEMU that stops reading its socket cannot hold a caller, the
 * connection is closed instead. A command that timed out leaves the connection usable; its
 * late answer is dropped and counted.
 *
 * <p>Limits: {@link #MAX_MESSAGE_BYTES} per message (a longer one ends the connection as a
 * protocol error), {@link #EVENT_QUEUE_LIMIT} queued events (the oldest is dropped and counted:
 * a slow consumer must never stall the answers), {@link #MAX_PENDING_COMMANDS} commands in
 * flight. QEMU serves one QMP client per socket at a time; a second one waits unanswered, which
 * {@link #connect} reports as a missing greeting.
 */
public final class QmpClient implements AutoCloseable {
    /** query-qmp-schema, the largest answer of QEMU 7.2, is about 200 KiB. */
    public static final int MAX_MESSAGE_BYTES = 4 << 20;
    public static final int EVENT_QUEUE_LIMIT = 1024;
    public static final int MAX_PENDING_COMMANDS = 64;
    /** How much of an offending message goes into an error message. */
    static final int SNIPPET_CHARS = 200;
    private static final int READ_CHUNK_BYTES = 64 << 10;
    private static final Pattern COMMAND = Pattern.compile("[A-Za-z0-9_-]{1,64}");
    private static final ObjectMapper JSON = new ObjectMapper();

    private record Pending(String command, CompletableFuture<JsonNode> reply) {}

    private final Path socket;
    private final SocketChannel channel;
    private final CompletableFuture<JsonNode> greeting = new CompletableFuture<>();
    private final Map<String, Pending> pending = new ConcurrentHashMap<>();
    private final AtomicLong nextId = new AtomicLong(1);
    private final AtomicLong lateReplies = new AtomicLong();
    private final Object writeLock = new Object();
    /** Guards events, droppedEvents; waiters wait on it. */
    private final Object eventLock = new Object();
    private final ArrayDeque<QmpEvent> events = new ArrayDeque<>();
    /** QEMU's timestamp of the latest event of each name, whoever read it. */
    private final Map<String, Instant> lastEventAt = new ConcurrentHashMap<>();
    private long droppedEvents;
    private volatile QmpException closedBy;
    private final Thread reader;

    private QmpClient(Path socket, SocketChannel channel) {
        this.socket = socket;
        this.channel = channel;
        this.reader = Thread.ofVirtual().name("qmp-reader " + socket).start(this::readLoop);
    }

    /**
     * Connects to QEMU's QMP socket, reads the greeting and negotiates capabilities, all within
     * {@code deadline}.
     */
    public static QmpClient connect(Path socket, Duration deadline) throws QmpException, InterruptedException {
        long deadlineNanos = deadlineNanos(deadline);
        SocketChannel channel;
        try {
            channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        } catch (IOException e) {
            throw QmpException.of(QmpException.Kind.CLOSED, "cannot open a unix socket: " + e.getMessage(), e);
        }
        // A unix socket's connect blocks while the listener's backlog is full.
        try {
            withDeadline(() -> channel.connect(UnixDomainSocketAddress.of(socket)), deadlineNanos, channel);
        } catch (QmpException e) {
            closeQuietly(channel);
            throw QmpException.of(e.kind(), "cannot connect to QMP socket " + socket + ": " + e.getMessage(), e);
        }
        QmpClient client = new QmpClient(socket, channel);
        try {
            client.awaitGreeting(deadlineNanos);
            client.execute("qmp_capabilities", Map.of(), remaining(deadlineNanos));
            return client;
        } catch (QmpException | InterruptedException | RuntimeException e) {
            client.close();
            throw e;
        }
    }

    private void awaitGreeting(long deadlineNanos) throws QmpException, InterruptedException {
        try {
            greeting.get(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            fail(QmpException.of(QmpException.Kind.TIMEOUT, "no QMP greeting on " + socket
                    + " within the deadline (is another client connected? QEMU serves one at a time)"));
            throw closedBy.copy();
        } catch (ExecutionException e) {
            throw rethrow(e);
        }
    }

    /** QEMU's greeting: {@code {"QMP": {"version": ..., "capabilities": [...]}}}. */
    public JsonNode greeting() {
        return greeting.getNow(JSON.nullNode());
    }

    /** The QEMU version from the greeting, e.g. {@code 7.2.22}. */
    public String qemuVersion() {
        JsonNode v = greeting().path("QMP").path("version").path("qemu");
        return v.path("major").asInt() + "." + v.path("minor").asInt() + "." + v.path("micro").asInt();
    }

    public JsonNode execute(String command, Duration timeout) throws QmpException, InterruptedException {
        return execute(command, Map.of(), timeout);
    }

    /**
     * Runs {@code command} with {@code arguments} (anything Jackson turns into a JSON object)
     * and returns its {@code return} value.
     *
     * @throws QmpException {@link QmpException.Kind#ERROR} with QEMU's class and description;
     *     {@link QmpException.Kind#TIMEOUT} when no answer came within {@code timeout};
     *     {@link QmpException.Kind#CLOSED} or {@link QmpException.Kind#PROTOCOL} when the
     *     connection is gone; {@link QmpException.Kind#BUSY} when too many commands are in flight
     */
    public JsonNode execute(String command, Map<String, ?> arguments, Duration timeout)
            throws QmpException, InterruptedException {
        if (!COMMAND.matcher(command).matches()) {
            throw new IllegalArgumentException("not a QMP command name: '" + command + "'");
        }
        long deadlineNanos = deadlineNanos(timeout);
        checkOpen();
        if (pending.size() >= MAX_PENDING_COMMANDS) {
            throw QmpException.of(QmpException.Kind.BUSY, "QMP " + command + " not sent: " + MAX_PENDING_COMMANDS
                    + " commands already wait for QEMU's answers");
        }
        String id = "baton-" + nextId.getAndIncrement();
        ObjectNode message = JSON.createObjectNode();
        message.put("execute", command);
        if (!arguments.isEmpty()) {
            message.set("arguments", JSON.valueToTree(arguments));
        }
        message.put("id", id);
        byte[] line;
        try {
            line = (JSON.writeValueAsString(message) + "\n").getBytes(StandardCharsets.UTF_8);
        } catch (JacksonException e) {
            throw new IllegalArgumentException("arguments of " + command + " are not JSON: " + e.getOriginalMessage(), e);
        }
        Pending p = new Pending(command, new CompletableFuture<>());
        pending.put(id, p);
        try {
            // fail() sets closedBy before it empties pending: either it saw this entry or this sees closedBy.
            checkOpen();
            send(command, line, deadlineNanos);
            JsonNode reply = p.reply().get(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
            JsonNode error = reply.get("error");
            if (error != null) {
                throw QmpException.error(command, error.path("class").asText("?"), error.path("desc").asText(""));
            }
            return reply.get("return");
        } catch (TimeoutException e) {
            throw QmpException.of(QmpException.Kind.TIMEOUT, "QMP " + command + ": no answer within "
                    + timeout.toMillis() + " ms");
        } catch (ExecutionException e) {
            throw rethrow(e);
        } finally {
            pending.remove(id);
        }
    }

    private void send(String command, byte[] line, long deadlineNanos) throws QmpException, InterruptedException {
        try {
            withDeadline(() -> {
                synchronized (writeLock) {
                    ByteBuffer buffer = ByteBuffer.wrap(line);
                    while (buffer.hasRemaining()) {
                        channel.write(buffer);
                    }
                }
            }, deadlineNanos, channel);
        } catch (QmpException e) {
            QmpException why = e.kind() == QmpException.Kind.TIMEOUT
                    ? QmpException.of(QmpException.Kind.TIMEOUT, "QMP " + command + ": QEMU did not take the command within "
                            + "the deadline; connection closed")
                    : QmpException.of(QmpException.Kind.CLOSED, "QMP " + command + " not sent: " + e.getMessage(), e);
            fail(why);
            throw why.copy();
        }
    }

    /**
     * The next event, waiting at most {@code timeout} for one; empty when none came, or at once
     * when the queue is empty and the connection closed.
     */
    public Optional<QmpEvent> nextEvent(Duration timeout) throws InterruptedException {
        return awaitEvent(e -> true, timeout);
    }

    /**
     * The first event that {@code match} accepts, waiting at most {@code timeout}. Events before
     * it are consumed and lost to other readers.
     */
    public Optional<QmpEvent> awaitEvent(Predicate<QmpEvent> match, Duration timeout) throws InterruptedException {
        long deadlineNanos = deadlineNanos(timeout);
        synchronized (eventLock) {
            while (true) {
                while (!events.isEmpty()) {
                    QmpEvent e = events.removeFirst();
                    if (match.test(e)) {
                        return Optional.of(e);
                    }
                }
                long left = deadlineNanos - System.nanoTime();
                if (left <= 0 || closedBy != null) {
                    return Optional.empty();
                }
                TimeUnit.NANOSECONDS.timedWait(eventLock, left);
            }
        }
    }

    /**
     * QEMU's own timestamp of the latest event {@code name} received, read or not: e.g. when a
     * guest stopped ({@code STOP}) or ran again ({@code RESUME}), to the microsecond.
     */
    public Optional<Instant> lastEventAt(String name) {
        return Optional.ofNullable(lastEventAt.get(name));
    }

    /** Every queued event, oldest first, taken from the queue. */
    public List<QmpEvent> drainEvents() {
        synchronized (eventLock) {
            List<QmpEvent> all = new ArrayList<>(events);
            events.clear();
            return all;
        }
    }

    /** Events dropped because {@link #EVENT_QUEUE_LIMIT} were queued unread. */
    public long droppedEvents() {
        synchronized (eventLock) {
            return droppedEvents;
        }
    }

    /** Answers that came after their command had timed out, and were dropped. */
    public long lateReplies() {
        return lateReplies.get();
    }

    public boolean isOpen() {
        return closedBy == null;
    }

    /** Why the connection closed; empty while it is open. */
    public Optional<QmpException> closeCause() {
        return Optional.ofNullable(closedBy);
    }

    /** Closes the connection; commands still waiting fail as {@link QmpException.Kind#CLOSED}. Idempotent. */
    @Override
    public void close() {
        fail(QmpException.of(QmpException.Kind.CLOSED, "QMP connection to " + socket + " closed by Baton"));
        try {
            reader.join(Duration.ofSeconds(1));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void checkOpen() throws QmpException {
        QmpException cause = closedBy;
        if (cause != null) {
            throw cause.copy();
        }
    }

    /** The first failure wins: it closes the channel, and every waiter learns it. */
    private void fail(QmpException cause) {
        synchronized (this) {
            if (closedBy != null) {
                return;
            }
            closedBy = cause;
        }
        closeQuietly(channel);
        greeting.completeExceptionally(cause);
        for (Pending p : pending.values()) {
            p.reply().completeExceptionally(cause);
        }
        synchronized (eventLock) {
            eventLock.notifyAll();
        }
    }

    private void readLoop() {
        ByteBuffer chunk = ByteBuffer.allocate(READ_CHUNK_BYTES);
        byte[] line = new byte[8192];
        int length = 0;
        try {
            while (true) {
                chunk.clear();
                int n = channel.read(chunk);
                if (n < 0) {
                    fail(QmpException.of(QmpException.Kind.CLOSED, "QEMU closed the QMP connection on " + socket));
                    return;
                }
                for (int i = 0; i < n; i++) {
                    byte b = chunk.get(i);
                    if (b == '\n') {
                        dispatch(line, length);
                        length = 0;
                        continue;
                    }
                    if (length == MAX_MESSAGE_BYTES) {
                        throw QmpException.of(QmpException.Kind.PROTOCOL, "QMP message on " + socket + " longer than "
                                + MAX_MESSAGE_BYTES + " bytes: " + snippet(Arrays.copyOf(line, SNIPPET_CHARS + 1), SNIPPET_CHARS));
                    }
                    if (length == line.length) {
                        line = Arrays.copyOf(line, Math.min(MAX_MESSAGE_BYTES, line.length * 2));
                    }
                    line[length++] = b;
                }
            }
        } catch (QmpException e) {
            fail(e);
        } catch (IOException e) {
            fail(QmpException.of(QmpException.Kind.CLOSED, "QMP connection on " + socket + " failed: " + e, e));
        } catch (RuntimeException e) {
            // A bug here must not leave callers waiting for a reader that is gone.
            fail(QmpException.of(QmpException.Kind.PROTOCOL, "QMP reader on " + socket + " failed: " + e, e));
            throw e;
        }
    }

    private void dispatch(byte[] line, int length) throws QmpException {
        int end = length;
        while (end > 0 && (line[end - 1] == '\r' || line[end - 1] == ' ' || line[end - 1] == '\t')) {
            end--;
        }
        if (end == 0) {
            return;
        }
        JsonNode message;
        try {
            message = JSON.readTree(line, 0, end);
        } catch (IOException e) {
            throw QmpException.of(QmpException.Kind.PROTOCOL, "QEMU sent malformed JSON on " + socket + ": "
                    + snippet(Arrays.copyOf(line, end), SNIPPET_CHARS), e);
        }
        if (message == null || !message.isObject()) {
            throw QmpException.of(QmpException.Kind.PROTOCOL, "QEMU sent a QMP message that is no JSON object on "
                    + socket + ": " + snippet(Arrays.copyOf(line, end), SNIPPET_CHARS));
        }
        if (message.has("QMP")) {
            if (!greeting.complete(message)) {
                throw QmpException.of(QmpException.Kind.PROTOCOL, "QEMU sent a second greeting on " + socket);
            }
        } else if (message.has("event")) {
            queue(event(message));
        } else if (message.has("return") || message.has("error")) {
            answer(message);
        } else {
            throw QmpException.of(QmpException.Kind.PROTOCOL, "QEMU sent an unknown QMP message on " + socket + ": "
                    + snippet(Arrays.copyOf(line, end), SNIPPET_CHARS));
        }
    }

    private void answer(JsonNode message) throws QmpException {
        if (!greeting.isDone()) {
            throw QmpException.of(QmpException.Kind.PROTOCOL, "QEMU answered before its greeting on " + socket);
        }
        JsonNode id = message.get("id");
        if (id == null) {
            // QEMU answers without an id only a request it could not parse; Baton sends none
            // such, so this answer belongs to no one and the stream can no longer be trusted.
            throw QmpException.of(QmpException.Kind.PROTOCOL, "QEMU answered without an id on " + socket + ": "
                    + message.path("error").path("desc").asText(message.toString()));
        }
        Pending p = pending.get(id.asText());
        if (p == null) {
            lateReplies.incrementAndGet();
            return;
        }
        p.reply().complete(message);
    }

    private static QmpEvent event(JsonNode message) throws QmpException {
        JsonNode name = message.get("event");
        if (!name.isTextual()) {
            throw QmpException.of(QmpException.Kind.PROTOCOL, "QMP event without a name: " + message);
        }
        JsonNode data = message.get("data");
        JsonNode ts = message.path("timestamp");
        Instant timestamp = Instant.ofEpochSecond(ts.path("seconds").asLong(), ts.path("microseconds").asLong() * 1000);
        return new QmpEvent(name.asText(), data == null || data.isNull() ? JSON.createObjectNode() : data, timestamp);
    }

    private void queue(QmpEvent e) {
        lastEventAt.put(e.name(), e.timestamp());
        synchronized (eventLock) {
            if (events.size() == EVENT_QUEUE_LIMIT) {
                events.removeFirst();
                droppedEvents++;
            }
            events.addLast(e);
            eventLock.notifyAll();
        }
    }

    private interface IoAction {
        void run() throws IOException;
    }

    /**
     * Runs a blocking socket operation on a virtual thread of its own and waits for it until
     * {@code deadlineNanos}; past it, closes {@code channel}, which ends the operation.
     */
    private static void withDeadline(IoAction action, long deadlineNanos, SocketChannel channel)
            throws QmpException, InterruptedException {
        CompletableFuture<Void> done = new CompletableFuture<>();
        Thread.ofVirtual().name("qmp-io").start(() -> {
            try {
                action.run();
                done.complete(null);
            } catch (IOException | RuntimeException e) {
                done.completeExceptionally(e);
            }
        });
        try {
            done.get(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            closeQuietly(channel);
            throw QmpException.of(QmpException.Kind.TIMEOUT, "deadline passed");
        } catch (InterruptedException e) {
            closeQuietly(channel);
            throw e;
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            throw QmpException.of(QmpException.Kind.CLOSED, String.valueOf(cause.getMessage()), cause);
        }
    }

    private static QmpException rethrow(ExecutionException e) {
        if (e.getCause() instanceof QmpException q) {
            return q.copy();
        }
        throw new IllegalStateException("unexpected failure in the QMP reader", e.getCause());
    }

    private static long deadlineNanos(Duration timeout) {
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("negative timeout " + timeout);
        }
        return System.nanoTime() + timeout.toNanos();
    }

    private static Duration remaining(long deadlineNanos) {
        return Duration.ofNanos(Math.max(0, deadlineNanos - System.nanoTime()));
    }

    static String snippet(byte[] bytes, int maxChars) {
        String s = new String(bytes, StandardCharsets.UTF_8);
        return s.length() <= maxChars ? s : s.substring(0, maxChars) + "...";
    }

    private static void closeQuietly(SocketChannel channel) {
        try {
            channel.close();
        } catch (IOException e) {
            // Closing a socket frees it even when close reports an error; nothing to do.
        }
    }

    @Override
    public String toString() {
        return "QMP " + socket + (isOpen() ? "" : " (closed)");
    }
}
