package baton.lab.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import baton.lab.Cmd;
import baton.lab.Host;
import baton.lab.Lab;
import baton.lab.LabProcess;
import baton.lab.client.TransferWatch.Result;
import baton.lab.client.TransferWatch.Settings;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The transfer watch on real sockets: a scripted HTTP server on loopback in this JVM (pauses,
 * resets, silence, short bodies), the watch's own process, and a watch in one lab host fetching
 * from Python's http.server in another while the server's cable is pulled.
 */
class TransferWatchTest {
    private static final long RATE = 2L << 20;
    private static final int BODY_BYTES = 2 << 20;
    private static final Duration PAUSE = Duration.ofMillis(500);
    private static final Duration BOUND = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    private static byte[] body(int bytes) {
        byte[] b = new byte[bytes];
        new Random(bytes).nextBytes(b);
        return b;
    }

    private static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    private static Result measure(String url, Settings settings) {
        ByteArrayOutputStream progress = new ByteArrayOutputStream();
        Result r = TransferWatch.measure(url, settings, new PrintStream(progress, true, StandardCharsets.UTF_8));
        // Shown when an assertion fails: the progress lines name every stall over 100 ms.
        System.out.print(progress.toString(StandardCharsets.UTF_8));
        return r;
    }

    @Test
    void aServerPauseMidwayIsTheLongestStallAndTheBodyIsComplete() throws Exception {
        byte[] body = body(BODY_BYTES);
        try (ScriptedServer server = new ScriptedServer((s, out) -> {
            out.write(head(body.length));
            write(out, body, 0, body.length / 2);
            sleep(PAUSE);
            write(out, body, body.length / 2, body.length);
        })) {
            Result r = measure(server.url(), Settings.rate(RATE));
            assertThat(r.completed()).as("%s", r).isTrue();
            assertThat(r.reset()).isFalse();
            assertThat(r.timedOut()).isFalse();
            assertThat(r.error()).isEmpty();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.bodyBytes()).isEqualTo(body.length);
            assertThat(r.sha256()).isEqualTo(sha256(body));
            // The server was ahead by at most its send buffer and the client's receive buffer, which drain in tens of ms at this rate.
            assertThat(r.longestStall()).as("%s", r).isGreaterThanOrEqualTo(Duration.ofMillis(400)).isLessThan(Duration.ofMillis(1500));
            assertThat(r.stallsOver300Millis()).as("%s", r).isEqualTo(1);
            assertThat(r.stallsOver1Second()).isZero();
            assertThat(r.longestStallStart()).hasValueSatisfying(t -> assertThat(t).isBetween(r.start(), r.end()));
            server.check();
        }
    }

    @Test
    void sleepsForTheRateAreNoStalls() throws Exception {
        byte[] body = body(BODY_BYTES);
        try (ScriptedServer server = new ScriptedServer((s, out) -> {
            out.write(head(body.length));
            write(out, body, 0, body.length);
        })) {
            Result r = measure(server.url(), Settings.rate(RATE));
            assertThat(r.completed()).as("%s", r).isTrue();
            assertThat(r.sha256()).isEqualTo(sha256(body));
            // About a second of the transfer was sleeping for the rate (the body is one second of it): none of it is a stall.
            assertThat(r.elapsed()).as("%s", r).isGreaterThanOrEqualTo(Duration.ofMillis(900));
            assertThat(r.longestStall()).as("%s", r).isLessThan(Duration.ofMillis(200));
            assertThat(r.stallsOver300Millis()).isZero();
            server.check();
        }
    }

    @Test
    void aResetConnectionIsReportedAsResetNotCompleted() throws Exception {
        byte[] body = body(BODY_BYTES);
        try (ScriptedServer server = new ScriptedServer((s, out) -> {
            out.write(head(body.length));
            write(out, body, 0, body.length / 4);
            // Linger 0: close sends a RST instead of a FIN.
            s.setSoLinger(true, 0);
            s.close();
        })) {
            Result r = measure(server.url(), Settings.rate(RATE));
            assertThat(r.reset()).as("%s", r).isTrue();
            assertThat(r.completed()).isFalse();
            assertThat(r.timedOut()).isFalse();
            assertThat(r.bodyBytes()).isLessThan(body.length);
            assertThat(r.error()).contains("connection reset");
            server.check();
        }
    }

    @Test
    void silenceLongerThanTheReadTimeoutIsATimeout() throws Exception {
        byte[] body = body(BODY_BYTES);
        try (ScriptedServer server = new ScriptedServer((s, out) -> {
            out.write(head(body.length));
            write(out, body, 0, body.length / 4);
            // Holds the connection open, silent, until the client gives up and closes it.
            s.setSoTimeout(30_000);
            while (s.getInputStream().read() >= 0) {
                // The client sends nothing after its request.
            }
        })) {
            Result r = measure(server.url(), Settings.rate(RATE).withReadTimeout(Duration.ofSeconds(1)));
            assertThat(r.timedOut()).as("%s", r).isTrue();
            assertThat(r.completed()).isFalse();
            assertThat(r.reset()).isFalse();
            assertThat(r.bodyBytes()).isEqualTo(body.length / 4);
            assertThat(r.error()).contains("no byte for PT1S");
            assertThat(r.longestStall()).isGreaterThanOrEqualTo(Duration.ofMillis(990)).isLessThan(Duration.ofSeconds(5));
            assertThat(r.stallsOver300Millis()).isEqualTo(1);
            server.check();
        }
    }

    @Test
    void aBodyCutShortByACleanCloseIsIncompleteButNoReset() throws Exception {
        byte[] body = body(64 * 1024);
        try (ScriptedServer server = new ScriptedServer((s, out) -> {
            out.write(head(body.length));
            write(out, body, 0, 1000);
        })) {
            Result r = measure(server.url(), Settings.rate(RATE));
            assertThat(r.completed()).isFalse();
            assertThat(r.reset()).isFalse();
            assertThat(r.timedOut()).isFalse();
            assertThat(r.bodyBytes()).isEqualTo(1000);
            assertThat(r.sha256()).isEqualTo(sha256(Arrays.copyOf(body, 1000)));
            assertThat(r.error()).isEqualTo("the connection closed after 1000 of 65536 body bytes");
            server.check();
        }
    }

    @Test
    void aBodyWithoutContentLengthEndsAtEof() throws Exception {
        byte[] body = body(100_000);
        try (ScriptedServer server = new ScriptedServer((s, out) -> {
            out.write("HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            write(out, body, 0, body.length);
        })) {
            Result r = measure(server.url(), Settings.rate(RATE));
            assertThat(r.completed()).as("%s", r).isTrue();
            assertThat(r.contentLength()).isEqualTo(-1);
            assertThat(r.sha256()).isEqualTo(sha256(body));
            server.check();
        }
    }

    @Test
    void aStatusOtherThan200IsNoCompleteBody() throws Exception {
        try (ScriptedServer server = new ScriptedServer((s, out) ->
                out.write("HTTP/1.0 404 Not Found\r\nContent-Length: 9\r\n\r\nnot here\n".getBytes(StandardCharsets.US_ASCII)))) {
            Result r = measure(server.url(), Settings.rate(RATE));
            assertThat(r.status()).isEqualTo(404);
            assertThat(r.completed()).isFalse();
            assertThat(r.error()).startsWith("HTTP status 404");
        }
    }

    @Test
    void aRefusedConnectionIsAnErrorWithNoStatus() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Result r = measure("http://127.0.0.1:" + port + "/x", Settings.rate(RATE));
        assertThat(r.completed()).isFalse();
        assertThat(r.status()).isZero();
        assertThat(r.receiveBufferBytes()).isZero();
        assertThat(r.error()).startsWith("cannot connect to 127.0.0.1:" + port);
    }

    @Test
    void theResultIsOneJsonLineThatReadsBackTheSame() {
        Result r = new Result("http://198.18.0.1/data.bin?x=\"1\"", RATE, 65536, 200, 10, 5, "ab", false, true, false,
                "a \"quoted\"\\ error\non two lines\u0001", 1_795_000_000_000_000_000L, 1_795_000_001_000_000_000L, 5_000_000,
                1_795_000_000_500_000_000L, 1, 0, 0);
        String json = r.toJson();
        assertThat(json).doesNotContain("\n").startsWith("{\"url\":");
        assertThat(Result.fromJson(json)).isEqualTo(r);
        assertThatThrownBy(() -> Result.fromJson("{\"url\":\"x\"}")).hasMessageContaining("18 members");
        assertThatThrownBy(() -> Result.fromJson(json.replace("\"completed\":false", "\"completed\":0")))
                .hasMessageContaining("completed");
    }

    @Test
    void settingsSurviveTheCommandLineAndBadOnesAreRefused() {
        Settings s = Settings.rate(RATE).withReceiveBufferBytes(16384).withReadTimeout(Duration.ofSeconds(5))
                .withConnectTimeout(Duration.ofSeconds(2)).withMaxDuration(Duration.ofMinutes(3)).withProgressInterval(Duration.ofMillis(250));
        assertThat(Settings.parse(s.arguments())).isEqualTo(s);
        assertThat(Settings.parseRate("2MiB")).isEqualTo(RATE);
        assertThat(Settings.parseRate("512KiB")).isEqualTo(512 * 1024);
        assertThatThrownBy(() -> Settings.parse(List.of("fast"))).hasMessageContaining("not an integer");
        assertThatThrownBy(() -> Settings.parse(List.of("1000", "--rcvbuf", "100"))).hasMessageContaining("1 KiB..64 MiB");
        assertThatThrownBy(() -> Settings.parse(List.of("1000", "--bogus", "1"))).hasMessageContaining("unknown option --bogus");
        assertThatThrownBy(() -> Settings.rate(0)).hasMessageContaining("outside 1..");
        assertThatThrownBy(() -> TransferWatch.command("https://198.18.0.1/x", s)).hasMessageContaining("not an http:// URL");
    }

    /** The watch as its own JVM, as a lab host runs it, here without a namespace: one JSON line on stdout, progress on stderr. */
    @Test
    void theProcessPrintsItsResultAsOneJsonLine() throws Exception {
        byte[] body = body(512 * 1024);
        try (ScriptedServer server = new ScriptedServer((s, out) -> {
            out.write(head(body.length));
            write(out, body, 0, body.length);
        })) {
            Path out = dir.resolve("out");
            Path err = dir.resolve("err");
            Process p = new ProcessBuilder(TransferWatch.command(server.url(), Settings.rate(RATE).withProgressInterval(Duration.ofMillis(100))))
                    .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            try {
                assertThat(p.waitFor(BOUND.toSeconds(), TimeUnit.SECONDS)).as("the watch exits").isTrue();
            } finally {
                p.destroyForcibly();
            }
            List<String> stdout = Files.readAllLines(out);
            // The JVM itself may say "Picked up JAVA_TOOL_OPTIONS: ..."; everything else on stderr is the watch's progress.
            List<String> stderr = Files.readAllLines(err).stream().filter(l -> !l.startsWith("Picked up ")).toList();
            assertThat(p.exitValue()).as("exit status; stderr: %s", stderr).isZero();
            assertThat(stdout).hasSize(1);
            Result r = Result.fromJson(stdout.getFirst());
            assertThat(r.completed()).isTrue();
            assertThat(r.sha256()).isEqualTo(sha256(body));
            assertThat(r.receiveBufferBytes()).isEqualTo(Settings.DEFAULT_RECEIVE_BUFFER_BYTES);
            assertThat(stderr).isNotEmpty().allSatisfy(l -> assertThat(l).startsWith(TransferWatch.PROGRESS_PREFIX));
            assertThat(stderr).anySatisfy(l -> assertThat(l).contains(TransferWatch.BODY_STARTED));
            server.check();
        }
    }

    /**
     * In a lab: Python's http.server in n1, the watch in the client host. Pulling n1's cable for a
     * second mid-transfer is one stall that spans the cut, and the body still arrives whole.
     */
    @Test
    void inALabHostAPulledCableIsOneStallSpanningTheCut() throws Exception {
        // The install script is what CI runs first; here it makes sure Debian's python3 is there.
        Cmd.check(Duration.ofMinutes(5), "../scripts/install-test-deps");
        byte[] body = body(4 << 20);
        Files.write(dir.resolve("data.bin"), body);
        try (Lab lab = Lab.create(1, true)) {
            Host n1 = lab.node(1);
            String address = n1.address().getHostAddress();
            LabProcess http = n1.start(List.of("/usr/bin/python3", "-u", "-m", "http.server", "--bind", address, "8080",
                    "--directory", dir.toString()), dir.resolve("http.log"), Map.of());
            assertThat(http.awaitLog("Serving HTTP", BOUND)).as("http.server: %s", http.log()).isTrue();
            try (TransferWatch watch = TransferWatch.start(lab.client(), "http://" + address + ":8080/data.bin", RATE)) {
                assertThat(watch.awaitBody(BOUND)).as("the watch: %s", watch.log()).isTrue();
                sleep(Duration.ofMillis(300));
                Instant cut = Instant.now();
                n1.linkDown();
                sleep(Duration.ofSeconds(1));
                n1.linkUp();
                Instant healed = Instant.now();
                Result r = watch.awaitResult(BOUND);
                System.out.printf("cable out from %s to %s; the watch:%n%s", cut, healed, watch.log());
                assertThat(r.completed()).as("%s", r).isTrue();
                assertThat(r.sha256()).isEqualTo(sha256(body));
                assertThat(r.reset()).isFalse();
                // The client's buffer (64 KiB) runs dry within tens of ms of the cut, and no byte can arrive before the
                // heal: one read waits across the cut (TCP's retransmission timer may stretch it past the heal).
                Instant stallStart = r.longestStallStart().orElseThrow();
                assertThat(stallStart).as("%s; cut at %s", r, cut).isBetween(cut.minusMillis(100), cut.plusMillis(300));
                assertThat(stallStart.plus(r.longestStall())).as("%s; healed at %s", r, healed).isAfterOrEqualTo(healed);
                assertThat(r.stallsOver300Millis()).as("%s", r).isGreaterThanOrEqualTo(1);
            }
        }
    }

    private static byte[] head(long contentLength) {
        return ("HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " + contentLength + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
    }

    private static void write(OutputStream out, byte[] body, int from, int to) throws IOException {
        for (int i = from; i < to; i += 16 * 1024) {
            out.write(body, i, Math.min(16 * 1024, to - i));
        }
        out.flush();
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** What the server does with one connection after reading its request. */
    interface Answer {
        void write(Socket socket, OutputStream out) throws Exception;
    }

    /** An HTTP server on loopback for one connection, whose answer is scripted; {@link #check} rethrows what went wrong in it. */
    static final class ScriptedServer implements AutoCloseable {
        /** Small, so the server is not far ahead of the client: a pause here is soon a stall there. */
        static final int SEND_BUFFER_BYTES = 8 * 1024;

        private final ServerSocket listener;
        private final Thread thread;
        private volatile Throwable failure;

        ScriptedServer(Answer answer) throws IOException {
            listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
            thread = Thread.ofPlatform().name("scripted-http").daemon().start(() -> {
                try (Socket s = listener.accept()) {
                    s.setSendBufferSize(SEND_BUFFER_BYTES);
                    readRequest(s.getInputStream());
                    answer.write(s, s.getOutputStream());
                } catch (Throwable t) {
                    failure = t;
                }
            });
        }

        String url() {
            return "http://127.0.0.1:" + listener.getLocalPort() + "/data.bin";
        }

        private static void readRequest(InputStream in) throws IOException {
            StringBuilder request = new StringBuilder();
            while (!request.toString().endsWith("\r\n\r\n")) {
                int c = in.read();
                if (c < 0 || request.length() > 8192) {
                    throw new IOException("no complete request: " + request);
                }
                request.append((char) c);
            }
            if (!request.toString().startsWith("GET /data.bin HTTP/1.0\r\n")) {
                throw new IOException("unexpected request: " + request);
            }
        }

        void check() throws InterruptedException {
            assertThat(thread.join(Duration.ofSeconds(30))).as("the server's answer ends").isTrue();
            assertThat(failure).as("the server's failure").isNull();
        }

        @Override
        public void close() throws IOException {
            listener.close();
            // The thread ends when its connection does: the client has closed it by now. A thread
            // still writing to a client that went away is a daemon, and its failure is check()'s.
            try {
                thread.join(Duration.ofSeconds(30));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
