package baton.lab.client;

import baton.lab.client.TransferWatch.Result;
import baton.lab.client.TransferWatch.Settings;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One HTTP/1.0 download at a fixed receive rate, measured as its user would see it: see
 * {@link TransferWatch} for what and why. Single-threaded and single-use.
 *
 * <p><b>The rate.</b> A token bucket: tokens (bytes) accrue at the rate up to {@link #bucketBytes},
 * two chunks. With less than one chunk ({@link #chunkBytes}, 10 ms of the rate, 256 B..16 KiB) the
 * client sleeps until it has one; then it reads at most what it has. The bucket is small on
 * purpose: after a stall the client does not catch up by reading fast, as a player consuming a
 * stream at its bit rate would not.
 *
 * <p><b>Stalls.</b> Every read() is timed: it starts only with tokens in hand, so the time it
 * blocks is time the client wanted data and got none, and the sleeps for the rate are never in
 * it. The wait for the response's first byte counts too (a server answers in milliseconds); the
 * connect does not. A read that ends in a timeout or a reset counts up to that moment.
 */
final class Download {
    /** Bounds the response head (status line and headers); busybox httpd and Python's http.server send a few hundred bytes. */
    static final int MAX_HEAD_BYTES = 64 * 1024;

    /** A stall at least this long is reported on the progress stream as it ends. */
    static final Duration REPORTED_STALL = Duration.ofMillis(100);

    private static final Pattern STATUS_LINE = Pattern.compile("HTTP/\\d\\.\\d (\\d{3})(?: .*)?");

    private final URI uri;
    private final Settings settings;
    private final PrintStream progress;
    private final int chunkBytes;
    private final int bucketBytes;
    private final byte[] buffer;
    private final MessageDigest sha256;

    // The clock: wall-clock time is the anchor plus monotonic time since, so times in a result
    // are ordered as they happened and comparable with other processes' Instant.now().
    private final long anchorNanos = System.nanoTime();
    private final long anchorEpochNanos = epochNanos(Instant.now());

    // What the server sent so far.
    private final byte[] head = new byte[MAX_HEAD_BYTES];
    private int headBytes;
    private boolean headDone;
    private int status;
    private long contentLength = -1;
    private long bodyBytes;

    // How it went.
    private boolean completed;
    private boolean reset;
    private boolean timedOut;
    private String error = "";
    private int receiveBufferBytes;
    private long longestStallNanos;
    private long longestStallStart;
    private int stallsOver100Millis;
    private int stallsOver300Millis;
    private int stallsOver1Second;

    Download(URI uri, Settings settings, PrintStream progress) {
        this.uri = checkUri(uri);
        this.settings = settings;
        this.progress = progress;
        this.chunkBytes = Math.clamp(settings.bytesPerSecond() / 100, 256, 16 * 1024);
        this.bucketBytes = 2 * chunkBytes;
        this.buffer = new byte[bucketBytes];
        try {
            this.sha256 = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    /** Checks that {@code uri} is an http URL this client can fetch; returns it. */
    static URI checkUri(URI uri) {
        if (!"http".equalsIgnoreCase(uri.getScheme())) {
            throw new IllegalArgumentException("not an http:// URL: " + uri);
        }
        if (uri.getHost() == null) {
            throw new IllegalArgumentException("no host in " + uri);
        }
        if (uri.getRawUserInfo() != null) {
            throw new IllegalArgumentException("user info is not supported: " + uri);
        }
        return uri;
    }

    /** Downloads once; never throws for what the network or the server did, the result says it. */
    Result run() {
        long start = System.nanoTime();
        long deadline = start + settings.maxDuration().toNanos();
        String host = uri.getHost();
        int port = uri.getPort() < 0 ? 80 : uri.getPort();
        try (Socket socket = new Socket()) {
            // Before connect, so the window the client advertises from its SYN on is this small:
            // the server cannot push the file into the client's buffers ahead of the reader.
            socket.setReceiveBufferSize(settings.receiveBufferBytes());
            socket.connect(new InetSocketAddress(InetAddress.getByName(host), port), timeoutMillis(settings.connectTimeout()));
            receiveBufferBytes = socket.getReceiveBufferSize();
            say("connected to " + host + ":" + port + " at " + Instant.now() + "; receive buffer " + receiveBufferBytes
                    + " bytes, rate " + settings.bytesPerSecond() + " B/s");
            OutputStream out = socket.getOutputStream();
            out.write(request(host, uri.getPort()).getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            receive(socket, deadline);
        } catch (SocketTimeoutException e) {
            timedOut = true;
            fail("connect to " + host + ":" + port + " timed out after " + settings.connectTimeout());
        } catch (ConnectException e) {
            fail("cannot connect to " + host + ":" + port + ": " + e.getMessage());
        } catch (UnknownHostException e) {
            fail("unknown host " + host);
        } catch (SocketException e) {
            // Writing the request or reading: a reset is a result, the rest is reported as an error.
            reset = isReset(e);
            fail((reset ? "connection reset" : "socket error") + " after " + bodyBytes + " body bytes: " + e.getMessage());
        } catch (IOException e) {
            fail("I/O error after " + bodyBytes + " body bytes: " + e);
        }
        long end = System.nanoTime();
        String hex = HexFormat.of().formatHex(sha256.digest());
        Result r = new Result(uri.toString(), settings.bytesPerSecond(), receiveBufferBytes, status, contentLength, bodyBytes, hex,
                completed, reset, timedOut, error, epoch(start), epoch(end), longestStallNanos,
                longestStallNanos > 0 ? epoch(longestStallStart) : 0, stallsOver100Millis, stallsOver300Millis, stallsOver1Second);
        say((completed ? "completed: " : "not completed: ") + r);
        return r;
    }

    /** Reads the response at the rate until its end, a failure, or the deadline. */
    private void receive(Socket socket, long deadline) throws IOException {
        InputStream in = socket.getInputStream();
        double tokens = chunkBytes;
        long last = System.nanoTime();
        long nextProgress = last + settings.progressInterval().toNanos();
        while (true) {
            long now = System.nanoTime();
            if (now - deadline >= 0) {
                timedOut = true;
                fail("the transfer took longer than its limit of " + settings.maxDuration());
                return;
            }
            if (now - nextProgress >= 0) {
                progressLine();
                nextProgress = now + settings.progressInterval().toNanos();
            }
            tokens = Math.min(bucketBytes, tokens + (now - last) * (double) settings.bytesPerSecond() / 1e9);
            last = now;
            if (tokens < chunkBytes) {
                long sleepNanos = (long) Math.ceil((chunkBytes - tokens) * 1e9 / settings.bytesPerSecond());
                try {
                    Thread.sleep(Duration.ofNanos(Math.min(sleepNanos, deadline - now)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    fail("interrupted after " + bodyBytes + " body bytes");
                    return;
                }
                continue;
            }
            socket.setSoTimeout(timeoutMillis(Duration.ofNanos(Math.min(settings.readTimeout().toNanos(), deadline - now))));
            int want = (int) Math.min(tokens, buffer.length);
            long before = System.nanoTime();
            int n;
            try {
                n = in.read(buffer, 0, want);
            } catch (SocketTimeoutException e) {
                stalled(before, System.nanoTime());
                timedOut = true;
                boolean limit = System.nanoTime() - deadline >= 0;
                fail(limit ? "the transfer took longer than its limit of " + settings.maxDuration()
                        : "no byte for " + settings.readTimeout() + " after " + bodyBytes + " body bytes");
                return;
            } catch (IOException e) {
                stalled(before, System.nanoTime());
                throw e;
            }
            stalled(before, System.nanoTime());
            if (n < 0) {
                ended();
                return;
            }
            tokens -= n;
            if (take(n)) {
                return;
            }
        }
    }

    /** Takes {@code n} bytes of the buffer; true when the response is over (complete, or failed). */
    private boolean take(int n) {
        int from = 0;
        if (!headDone) {
            int before = headBytes;
            int copy = Math.min(n, head.length - headBytes);
            System.arraycopy(buffer, 0, head, headBytes, copy);
            headBytes += copy;
            int bodyAt = endOfHead(Math.max(0, before - 3));
            if (bodyAt < 0) {
                if (headBytes == head.length) {
                    fail("the response head is longer than " + MAX_HEAD_BYTES + " bytes");
                    return true;
                }
                return false;
            }
            headDone = true;
            if (!parseHead(new String(head, 0, bodyAt, StandardCharsets.ISO_8859_1))) {
                return true;
            }
            // The head ended inside this read (an earlier read would have found its end): the rest is body.
            from = bodyAt - before;
        }
        int bodyHere = n - from;
        int use = contentLength < 0 ? bodyHere : (int) Math.min(bodyHere, contentLength - bodyBytes);
        sha256.update(buffer, from, use);
        bodyBytes += use;
        if (use < bodyHere) {
            fail("the server sent more than its Content-Length of " + contentLength + " bytes");
            return true;
        }
        if (bodyBytes == contentLength) {
            completed = true;
            return true;
        }
        return false;
    }

    /** Where the body starts (after the blank line ending the head), or -1 while the head goes on. Accepts bare LF line ends. */
    private int endOfHead(int scanFrom) {
        for (int i = scanFrom; i < headBytes; i++) {
            if (head[i] != '\n') {
                continue;
            }
            if (i + 1 < headBytes && head[i + 1] == '\n') {
                return i + 2;
            }
            if (i + 2 < headBytes && head[i + 1] == '\r' && head[i + 2] == '\n') {
                return i + 3;
            }
        }
        return -1;
    }

    /** Reads the status and the headers this client cares about; false (with the error set) when the body is not to be read. */
    private boolean parseHead(String text) {
        String[] lines = text.split("\r?\n");
        Matcher m = STATUS_LINE.matcher(lines[0]);
        if (!m.matches()) {
            fail("not an HTTP status line: " + lines[0]);
            return false;
        }
        status = Integer.parseInt(m.group(1));
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon <= 0) {
                continue;
            }
            String name = lines[i].substring(0, colon).strip().toLowerCase(Locale.ROOT);
            String value = lines[i].substring(colon + 1).strip();
            if (name.equals("content-length")) {
                try {
                    contentLength = Long.parseLong(value);
                } catch (NumberFormatException e) {
                    contentLength = -1;
                }
                if (contentLength < 0) {
                    fail("bad Content-Length: " + value);
                    return false;
                }
            } else if (name.equals("transfer-encoding") && !value.equalsIgnoreCase("identity")) {
                fail("Transfer-Encoding " + value + " in an answer to HTTP/1.0");
                return false;
            }
        }
        if (status != 200) {
            fail("HTTP status " + status + ": " + lines[0]);
            return false;
        }
        say("HTTP " + status + ", Content-Length " + (contentLength < 0 ? "none (the body ends at EOF)" : contentLength)
                + ": " + TransferWatch.BODY_STARTED);
        if (contentLength == 0) {
            completed = true;
            return false;
        }
        return true;
    }

    /** The server closed the connection (EOF). */
    private void ended() {
        if (!headDone) {
            fail("the connection closed after " + headBytes + " bytes, inside the response head");
        } else if (contentLength < 0) {
            completed = true;
        } else {
            fail("the connection closed after " + bodyBytes + " of " + contentLength + " body bytes");
        }
    }

    /** Records one read's wait: it began with tokens in hand, so all of it was the network's (or the server's). */
    private void stalled(long from, long to) {
        long d = to - from;
        if (d > longestStallNanos) {
            longestStallNanos = d;
            longestStallStart = from;
        }
        if (d > TransferWatch.STALL_100_MILLIS.toNanos()) {
            stallsOver100Millis++;
        }
        if (d > TransferWatch.STALL_300_MILLIS.toNanos()) {
            stallsOver300Millis++;
        }
        if (d > TransferWatch.STALL_1_SECOND.toNanos()) {
            stallsOver1Second++;
        }
        if (d >= REPORTED_STALL.toNanos()) {
            say("stall of " + d / 1_000_000 + " ms from " + Instant.ofEpochSecond(0, epoch(from)) + " after " + bodyBytes + " body bytes");
        }
    }

    private void progressLine() {
        long elapsedNanos = System.nanoTime() - anchorNanos;
        long rate = elapsedNanos <= 0 ? 0 : (long) (bodyBytes * 1e9 / elapsedNanos);
        say(bodyBytes + (contentLength < 0 ? "" : " of " + contentLength) + " body bytes, " + rate + " B/s on average, longest stall "
                + longestStallNanos / 1_000_000 + " ms");
    }

    private void fail(String why) {
        // The first failure is the cause; later ones (a close after it) are its consequences.
        if (error.isEmpty()) {
            error = why;
        }
    }

    private void say(String line) {
        progress.println(TransferWatch.PROGRESS_PREFIX + line);
    }

    private String request(String host, int port) {
        String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
        String query = uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery();
        return "GET " + path + query + " HTTP/1.0\r\nHost: " + host + (port < 0 ? "" : ":" + port)
                + "\r\nUser-Agent: baton-transfer-watch\r\nAccept: */*\r\n\r\n";
    }

    /** "Connection reset" (ECONNRESET on a read) or "Connection reset by peer" (on a write), as the JDK words them. */
    static boolean isReset(SocketException e) {
        return e.getMessage() != null && e.getMessage().contains("Connection reset");
    }

    private long epoch(long monotonicNanos) {
        return anchorEpochNanos + (monotonicNanos - anchorNanos);
    }

    static long epochNanos(Instant t) {
        return Math.addExact(Math.multiplyExact(t.getEpochSecond(), 1_000_000_000L), t.getNano());
    }

    /** A socket timeout in whole milliseconds, at least 1 (0 would mean none). */
    private static int timeoutMillis(Duration d) {
        return Math.clamp(d.toMillis(), 1, Integer.MAX_VALUE);
    }
}
