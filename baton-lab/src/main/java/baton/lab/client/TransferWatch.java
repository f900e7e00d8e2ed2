package baton.lab.client;

import baton.lab.Host;
import baton.lab.LabProcess;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * What a user of a VE's service sees while the VE moves: one HTTP/1.0 download at a fixed receive
 * rate, from a lab host, with the longest time the client waited for data and got none.
 *
 * <p><b>Why this shape.</b> A live switchover must not break a client's connection, and its pause
 * should be short. A client reading as fast as it can would hide the pause: the server would have
 * pushed much of the file into the client's socket buffers beforehand, and a fast reader spends
 * its time in read() anyway. So this client reads at a fixed rate (a token bucket, e.g. 2 MiB/s,
 * as a player of a stream would), with a small receive buffer (SO_RCVBUF set before connect,
 * default 64 KiB, so the server can be at most that far ahead), and counts as a <em>stall</em>
 * only time spent blocked in read() while it had tokens to spend: time it wanted data. Sleeps for
 * the rate never count. See {@link Download} for the bucket and the timing.
 *
 * <p><b>What it reports</b> ({@link Result}): body bytes and their SHA-256, whether the body is
 * complete (Content-Length reached, or EOF when there is none), whether the connection was reset
 * or timed out (no byte for the read timeout, default 60 s), the longest stall and when it began,
 * how many stalls exceeded 100 ms, 300 ms and 1 s, and the start and end, all as wall-clock
 * nanoseconds so a test can lay them next to a migration's events.
 *
 * <p><b>Where it runs.</b> Inside a lab host, as its own JVM: {@code ip netns exec NS java -cp
 * CLASSES baton.lab.client.TransferWatch URL RATE [options]} ({@link #start} does that through
 * {@link Host#start}); it prints progress lines, prefixed {@value #PROGRESS_PREFIX}, on stderr
 * and its result as one JSON line on stdout at the end, and exits 0 when the body is complete, 1
 * when not, 2 on bad arguments. {@link #measure} runs the same download in this JVM, in this
 * JVM's network namespace.
 */
public final class TransferWatch implements AutoCloseable {
    /** Every progress line on stderr starts with this. */
    public static final String PROGRESS_PREFIX = "transfer-watch: ";

    /** Ends the progress line that says the body is flowing; see {@link #awaitBody}. */
    static final String BODY_STARTED = "receiving the body";

    public static final Duration STALL_100_MILLIS = Duration.ofMillis(100);
    public static final Duration STALL_300_MILLIS = Duration.ofMillis(300);
    public static final Duration STALL_1_SECOND = Duration.ofSeconds(1);

    /** The watch's JVM: a small heap is plenty for one socket and a 32 KiB buffer; the serial collector's pauses are short at that size. */
    static final List<String> JVM_OPTIONS = List.of("-Xms16m", "-Xmx64m", "-XX:+UseSerialGC");

    /** How long close() waits for a killed watch to be gone. */
    static final Duration KILL_TIMEOUT = Duration.ofSeconds(10);

    /**
     * How a watch downloads.
     *
     * @param bytesPerSecond the receive rate (1 B/s .. 16 GiB/s)
     * @param receiveBufferBytes SO_RCVBUF, set before connect (1 KiB .. 64 MiB; Linux doubles it and uses the extra for its bookkeeping)
     * @param readTimeout give up after this long without a byte (reported as timed out)
     * @param connectTimeout give up connecting after this long (reported as timed out)
     * @param maxDuration give up when the whole transfer takes longer (reported as timed out): the bound on the process
     * @param progressInterval how often a progress line goes to stderr
     */
    public record Settings(long bytesPerSecond, int receiveBufferBytes, Duration readTimeout, Duration connectTimeout,
                           Duration maxDuration, Duration progressInterval) {
        public static final long MAX_BYTES_PER_SECOND = 16L << 30;
        /** Small enough that the server is at most about 64 KiB ahead of the reader: at 2 MiB/s, 30 ms of data. */
        public static final int DEFAULT_RECEIVE_BUFFER_BYTES = 64 * 1024;
        /** A switchover pauses a VE for well under a second; a minute without a byte is a broken connection, not a pause. */
        public static final Duration DEFAULT_READ_TIMEOUT = Duration.ofSeconds(60);
        /** A lab host answers a SYN in a millisecond; ten seconds is generous even for a VE that is still booting its network. */
        public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);
        /** No lab transfer should last an hour; the bound keeps a trickling server from holding a watch forever. */
        public static final Duration DEFAULT_MAX_DURATION = Duration.ofHours(1);
        public static final Duration DEFAULT_PROGRESS_INTERVAL = Duration.ofSeconds(1);

        public Settings {
            if (bytesPerSecond < 1 || bytesPerSecond > MAX_BYTES_PER_SECOND) {
                throw new IllegalArgumentException("rate " + bytesPerSecond + " B/s is outside 1.." + MAX_BYTES_PER_SECOND);
            }
            if (receiveBufferBytes < 1024 || receiveBufferBytes > 64 << 20) {
                throw new IllegalArgumentException("receive buffer " + receiveBufferBytes + " bytes is outside 1 KiB..64 MiB");
            }
            checkPositive("read timeout", readTimeout);
            checkPositive("connect timeout", connectTimeout);
            checkPositive("max duration", maxDuration);
            checkPositive("progress interval", progressInterval);
        }

        /** The defaults at {@code bytesPerSecond}. */
        public static Settings rate(long bytesPerSecond) {
            return new Settings(bytesPerSecond, DEFAULT_RECEIVE_BUFFER_BYTES, DEFAULT_READ_TIMEOUT, DEFAULT_CONNECT_TIMEOUT,
                    DEFAULT_MAX_DURATION, DEFAULT_PROGRESS_INTERVAL);
        }

        public Settings withReceiveBufferBytes(int bytes) {
            return new Settings(bytesPerSecond, bytes, readTimeout, connectTimeout, maxDuration, progressInterval);
        }

        public Settings withReadTimeout(Duration timeout) {
            return new Settings(bytesPerSecond, receiveBufferBytes, timeout, connectTimeout, maxDuration, progressInterval);
        }

        public Settings withConnectTimeout(Duration timeout) {
            return new Settings(bytesPerSecond, receiveBufferBytes, readTimeout, timeout, maxDuration, progressInterval);
        }

        public Settings withMaxDuration(Duration limit) {
            return new Settings(bytesPerSecond, receiveBufferBytes, readTimeout, connectTimeout, limit, progressInterval);
        }

        public Settings withProgressInterval(Duration interval) {
            return new Settings(bytesPerSecond, receiveBufferBytes, readTimeout, connectTimeout, maxDuration, interval);
        }

        /** The command-line arguments after URL that say these settings to {@link #main}. */
        List<String> arguments() {
            return List.of(Long.toString(bytesPerSecond), "--rcvbuf", Integer.toString(receiveBufferBytes),
                    "--read-timeout-ms", Long.toString(readTimeout.toMillis()), "--connect-timeout-ms", Long.toString(connectTimeout.toMillis()),
                    "--max-duration-ms", Long.toString(maxDuration.toMillis()), "--progress-ms", Long.toString(progressInterval.toMillis()));
        }

        /** The settings from {@code RATE [options]}, as {@link #arguments} writes them; throws with a reason. */
        static Settings parse(List<String> args) {
            if (args.isEmpty()) {
                throw new IllegalArgumentException("no RATE");
            }
            Settings s = rate(parseRate(args.getFirst()));
            for (int i = 1; i < args.size(); i += 2) {
                String option = args.get(i);
                if (i + 1 >= args.size()) {
                    throw new IllegalArgumentException(option + " needs a value");
                }
                long value = parseLong(option, args.get(i + 1));
                s = switch (option) {
                    case "--rcvbuf" -> s.withReceiveBufferBytes(Math.clamp(value, 0, Integer.MAX_VALUE));
                    case "--read-timeout-ms" -> s.withReadTimeout(Duration.ofMillis(value));
                    case "--connect-timeout-ms" -> s.withConnectTimeout(Duration.ofMillis(value));
                    case "--max-duration-ms" -> s.withMaxDuration(Duration.ofMillis(value));
                    case "--progress-ms" -> s.withProgressInterval(Duration.ofMillis(value));
                    default -> throw new IllegalArgumentException("unknown option " + option);
                };
            }
            return s;
        }

        /** Bytes per second: an integer, or one followed by KiB or MiB ("2MiB" is 2097152). */
        static long parseRate(String text) {
            long unit = 1;
            String digits = text;
            if (text.endsWith("MiB")) {
                unit = 1L << 20;
                digits = text.substring(0, text.length() - 3);
            } else if (text.endsWith("KiB")) {
                unit = 1L << 10;
                digits = text.substring(0, text.length() - 3);
            }
            return Math.multiplyExact(parseLong("RATE", digits), unit);
        }

        private static long parseLong(String what, String text) {
            try {
                return Long.parseLong(text);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(what + " " + text + " is not an integer");
            }
        }

        private static void checkPositive(String what, Duration d) {
            if (d.isNegative() || d.isZero() || d.compareTo(Duration.ofDays(1)) > 0) {
                throw new IllegalArgumentException(what + " " + d + " is outside (0, 1 day]");
            }
        }
    }

    /**
     * How one download went.
     *
     * @param url what was fetched
     * @param bytesPerSecond the receive rate it read at
     * @param receiveBufferBytes SO_RCVBUF as the JDK read it back after connect, 0 if it never connected (Linux keeps twice
     *     the size asked for, half of it for its bookkeeping; the JDK reports the size asked for)
     * @param status the HTTP status, 0 if none arrived
     * @param contentLength the Content-Length header, -1 if there was none
     * @param bodyBytes body bytes received (and hashed); at most the Content-Length
     * @param sha256 lowercase hex SHA-256 of those body bytes
     * @param completed status 200 and the whole body: Content-Length bytes, or EOF when there was no Content-Length
     * @param reset the connection was reset ("Connection reset")
     * @param timedOut no byte for the read timeout, no connection within the connect timeout, or the whole transfer past its limit
     * @param error why it did not complete, empty when it did
     * @param startEpochNanos wall-clock time at the start of the connect, in nanoseconds since the epoch
     * @param endEpochNanos wall-clock time at the end
     * @param longestStallNanos the longest single wait in read() (with tokens in hand) for data
     * @param longestStallStartEpochNanos wall-clock time when that wait began, 0 if there was no read
     * @param stallsOver100Millis waits longer than 100 ms; a longer wait counts in each shorter threshold too
     */
    public record Result(String url, long bytesPerSecond, int receiveBufferBytes, int status, long contentLength, long bodyBytes,
                         String sha256, boolean completed, boolean reset, boolean timedOut, String error, long startEpochNanos,
                         long endEpochNanos, long longestStallNanos, long longestStallStartEpochNanos, int stallsOver100Millis,
                         int stallsOver300Millis, int stallsOver1Second) {
        public Result {
            Objects.requireNonNull(url, "url");
            Objects.requireNonNull(sha256, "sha256");
            Objects.requireNonNull(error, "error");
        }

        public Instant start() {
            return Instant.ofEpochSecond(0, startEpochNanos);
        }

        public Instant end() {
            return Instant.ofEpochSecond(0, endEpochNanos);
        }

        public Duration elapsed() {
            return Duration.ofNanos(endEpochNanos - startEpochNanos);
        }

        public Duration longestStall() {
            return Duration.ofNanos(longestStallNanos);
        }

        /** When the longest stall began; empty if the client never read. */
        public Optional<Instant> longestStallStart() {
            return longestStallStartEpochNanos == 0 ? Optional.empty() : Optional.of(Instant.ofEpochSecond(0, longestStallStartEpochNanos));
        }

        /** One JSON line: every component by its name, in order. */
        public String toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("url", url);
            m.put("bytesPerSecond", bytesPerSecond);
            m.put("receiveBufferBytes", receiveBufferBytes);
            m.put("status", status);
            m.put("contentLength", contentLength);
            m.put("bodyBytes", bodyBytes);
            m.put("sha256", sha256);
            m.put("completed", completed);
            m.put("reset", reset);
            m.put("timedOut", timedOut);
            m.put("error", error);
            m.put("startEpochNanos", startEpochNanos);
            m.put("endEpochNanos", endEpochNanos);
            m.put("longestStallNanos", longestStallNanos);
            m.put("longestStallStartEpochNanos", longestStallStartEpochNanos);
            m.put("stallsOver100Millis", stallsOver100Millis);
            m.put("stallsOver300Millis", stallsOver300Millis);
            m.put("stallsOver1Second", stallsOver1Second);
            return JsonLine.write(m);
        }

        /** The result {@link #toJson} wrote; throws on a missing member or one of the wrong type. */
        public static Result fromJson(String line) {
            Map<String, Object> m = JsonLine.parse(line);
            if (m.size() != 18) {
                throw new IllegalArgumentException("a transfer result has 18 members, this line " + m.size() + ": " + line);
            }
            return new Result(str(m, "url"), num(m, "bytesPerSecond"), (int) num(m, "receiveBufferBytes"), (int) num(m, "status"),
                    num(m, "contentLength"), num(m, "bodyBytes"), str(m, "sha256"), bool(m, "completed"), bool(m, "reset"),
                    bool(m, "timedOut"), str(m, "error"), num(m, "startEpochNanos"), num(m, "endEpochNanos"),
                    num(m, "longestStallNanos"), num(m, "longestStallStartEpochNanos"), (int) num(m, "stallsOver100Millis"),
                    (int) num(m, "stallsOver300Millis"), (int) num(m, "stallsOver1Second"));
        }

        private static String str(Map<String, Object> m, String key) {
            return member(m, key, String.class);
        }

        private static long num(Map<String, Object> m, String key) {
            return member(m, key, Long.class);
        }

        private static boolean bool(Map<String, Object> m, String key) {
            return member(m, key, Boolean.class);
        }

        private static <T> T member(Map<String, Object> m, String key, Class<T> type) {
            Object v = m.get(key);
            if (!type.isInstance(v)) {
                throw new IllegalArgumentException("transfer result member " + key + " is " + v + ", not a " + type.getSimpleName());
            }
            return type.cast(v);
        }

        @Override
        public String toString() {
            return (completed ? "complete" : "incomplete") + (reset ? ", reset" : "") + (timedOut ? ", timed out" : "")
                    + ": " + bodyBytes + (contentLength < 0 ? "" : " of " + contentLength) + " body bytes from " + url + " (HTTP " + status
                    + ") at " + bytesPerSecond + " B/s in " + elapsed().toMillis() + " ms; longest stall " + longestStall().toMillis()
                    + " ms" + longestStallStart().map(t -> " from " + t).orElse("") + "; stalls over 100 ms/300 ms/1 s: "
                    + stallsOver100Millis + "/" + stallsOver300Millis + "/" + stallsOver1Second + "; sha256 " + sha256
                    + (error.isEmpty() ? "" : "; " + error);
        }
    }

    private final String url;
    private final LabProcess process;
    private final Path log;
    private final boolean ownsLog;
    private boolean closed;

    private TransferWatch(String url, LabProcess process, Path log, boolean ownsLog) {
        this.url = url;
        this.process = process;
        this.log = log;
        this.ownsLog = ownsLog;
    }

    /** Starts a watch in {@code client} fetching {@code url} at {@code bytesPerSecond}, with the other settings' defaults. */
    public static TransferWatch start(Host client, String url, long bytesPerSecond) {
        return start(client, url, Settings.rate(bytesPerSecond));
    }

    /** Starts a watch in {@code client}; its output goes to a temporary log that {@link #close} deletes. */
    public static TransferWatch start(Host client, String url, Settings settings) {
        Path log;
        try {
            log = Files.createTempFile("baton-transfer-watch-", ".log");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the transfer watch's log", e);
        }
        try {
            return start(client, url, settings, log, true);
        } catch (RuntimeException e) {
            deleteQuietly(log);
            throw e;
        }
    }

    /** Starts a watch in {@code client} whose output (progress and result) is appended to {@code logFile}, which the caller keeps. */
    public static TransferWatch start(Host client, String url, Settings settings, Path logFile) {
        return start(client, url, settings, logFile, false);
    }

    private static TransferWatch start(Host client, String url, Settings settings, Path logFile, boolean ownsLog) {
        LabProcess p = client.start(command(url, settings), logFile, Map.of());
        return new TransferWatch(url, p, logFile, ownsLog);
    }

    /** The command that runs a watch: this JVM's java, with this module's classes, on {@code url}. */
    static List<String> command(String url, Settings settings) {
        Download.checkUri(uri(url));
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(JVM_OPTIONS);
        command.addAll(List.of("-cp", classPath(), TransferWatch.class.getName(), url));
        command.addAll(settings.arguments());
        return command;
    }

    /**
     * Downloads {@code url} in this JVM (in its network namespace), writing progress lines to
     * {@code progress}; returns when the download ends. Never throws for what the network or the
     * server did.
     */
    public static Result measure(String url, Settings settings, PrintStream progress) {
        return new Download(uri(url), settings, progress).run();
    }

    /** Waits until the watch says the response's body is flowing; false at the timeout or if the watch exited first. */
    public boolean awaitBody(Duration timeout) {
        return process.awaitLog(BODY_STARTED, timeout);
    }

    /**
     * Waits for the watch to end and returns its result. Throws {@link baton.lab.LabTimeoutException}
     * if it still runs after {@code timeout} (it keeps running: {@link #close} stops it), and
     * {@link IllegalStateException}, with its log, if it ended without a result.
     */
    public Result awaitResult(Duration timeout) {
        int exit = process.waitFor(timeout);
        String text = process.log();
        List<String> lines = text.lines().filter(l -> l.startsWith("{\"url\":")).toList();
        if (lines.isEmpty()) {
            throw new IllegalStateException("the transfer watch of " + url + " exited " + exit + " without a result; its log:\n" + text);
        }
        return Result.fromJson(lines.getLast());
    }

    /** Everything the watch wrote so far (progress, then the result line). */
    public String log() {
        return process.log();
    }

    public long pid() {
        return process.pid();
    }

    /** Kills the watch if it still runs and deletes its log unless the caller gave it. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (process.isAlive()) {
            process.kill9();
        }
        process.waitFor(KILL_TIMEOUT);
        if (ownsLog) {
            deleteQuietly(log);
        }
    }

    /**
     * {@code java baton.lab.client.TransferWatch URL RATE [--rcvbuf BYTES] [--read-timeout-ms MS]
     * [--connect-timeout-ms MS] [--max-duration-ms MS] [--progress-ms MS]}: RATE in bytes per
     * second, or with a KiB or MiB suffix.
     */
    public static void main(String[] args) {
        Settings settings;
        if (args.length < 2 || args[0].equals("-h") || args[0].equals("--help")) {
            System.err.println("usage: TransferWatch URL RATE [--rcvbuf BYTES] [--read-timeout-ms MS] [--connect-timeout-ms MS]"
                    + " [--max-duration-ms MS] [--progress-ms MS]   (RATE: bytes per second, or e.g. 2MiB, 512KiB)");
            System.exit(2);
            return;
        }
        try {
            Download.checkUri(uri(args[0]));
            settings = Settings.parse(List.of(args).subList(1, args.length));
        } catch (IllegalArgumentException | ArithmeticException e) {
            System.err.println(PROGRESS_PREFIX + "error: " + e.getMessage());
            System.exit(2);
            return;
        }
        Result r = measure(args[0], settings, System.err);
        // All progress first: stdout and stderr often share one file, and the result must be a line of its own.
        System.err.flush();
        System.out.println(r.toJson());
        System.out.flush();
        System.exit(r.completed() ? 0 : 1);
    }

    private static URI uri(String url) {
        try {
            return new URI(url);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("not a URL: " + url + ": " + e.getMessage());
        }
    }

    /**
     * Where this class is: the folder or jar of baton-lab's classes, which is all the watch needs
     * besides the JDK (as for the Redfish BMC's server). This JVM's whole class path would do
     * too, at the cost of a long command line.
     */
    private static String classPath() {
        return baton.lab.LabProcess.classPathOf(TransferWatch.class);
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            // A leftover log of a finished watch holds no secret and no state.
        }
    }

    @Override
    public String toString() {
        return "transfer watch of " + url + " (" + process + ")";
    }
}
