package baton.runtime.ve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.Function;

/**
 * A QMP server on a unix socket that says what the test tells it to: a greeting (or none), and
 * for each request the raw lines the responder returns (answers, events, garbage, or nothing).
 */
final class FakeQmp implements AutoCloseable {
    static final String GREETING = "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7},"
            + " \"package\": \"Debian 1:7.2+dfsg-7+deb12u18+b3\"}, \"capabilities\": [\"oob\"]}}";
    static final ObjectMapper JSON = new ObjectMapper();

    final Path socket;
    final BlockingQueue<JsonNode> requests = new LinkedBlockingQueue<>();
    private final ServerSocketChannel server;
    private final Function<JsonNode, List<String>> responder;
    private final boolean greet;
    private volatile SocketChannel client;

    private FakeQmp(Path socket, boolean greet, Function<JsonNode, List<String>> responder) throws IOException {
        this.socket = socket;
        this.greet = greet;
        this.responder = responder;
        this.server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        Thread.ofVirtual().name("fake-qmp").start(this::serve);
    }

    /** A server that greets, answers qmp_capabilities, and hands every other request to {@code responder}. */
    static FakeQmp start(Path dir, Function<JsonNode, List<String>> responder) throws IOException {
        return new FakeQmp(dir.resolve("qmp.sock"), true, r -> r.path("execute").asText().equals("qmp_capabilities")
                ? List.of(ok(r, "{}")) : responder.apply(r));
    }

    /** A server that accepts and then says nothing at all. */
    static FakeQmp silent(Path dir) throws IOException {
        return new FakeQmp(dir.resolve("qmp.sock"), false, r -> List.of());
    }

    static String ok(JsonNode request, String value) {
        return "{\"return\": " + value + ", \"id\": " + request.get("id") + "}";
    }

    static String error(JsonNode request, String errorClass, String desc) {
        return "{\"id\": " + request.get("id") + ", \"error\": {\"class\": \"" + errorClass + "\", \"desc\": \"" + desc + "\"}}";
    }

    static String event(String name, String data) {
        return "{\"timestamp\": {\"seconds\": 1795408376, \"microseconds\": 158005}, \"event\": \"" + name + "\""
                + (data == null ? "" : ", \"data\": " + data) + "}";
    }

    private void serve() {
        try {
            SocketChannel c = server.accept();
            client = c;
            if (greet) {
                send(GREETING);
            }
            BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(c), StandardCharsets.UTF_8));
            String line;
            while ((line = in.readLine()) != null) {
                JsonNode request = JSON.readTree(line);
                requests.add(request);
                for (String out : responder.apply(request)) {
                    send(out);
                }
            }
        } catch (IOException e) {
            // The test closed the server or the client went away.
        }
    }

    /** Writes {@code line} and QMP's CRLF to the client. */
    synchronized void send(String line) throws IOException {
        ByteBuffer b = ByteBuffer.wrap((line + "\r\n").getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
            client.write(b);
        }
    }

    /** Hangs up on the client, as QEMU does when it exits. */
    void hangUp() throws IOException {
        client.close();
    }

    @Override
    public void close() throws IOException {
        SocketChannel c = client;
        if (c != null) {
            c.close();
        }
        server.close();
        Files.deleteIfExists(socket);
    }
}
