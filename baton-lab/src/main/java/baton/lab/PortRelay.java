package baton.lab;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A way from this JVM's network (the root namespace, where an operator's or a test's browser
 * runs) to a TCP service in a lab host's namespace (a node's API): the lab's addresses exist only
 * inside its namespaces, and the lab puts nothing in the root namespace. The demo forwards a port
 * per node this way; the dashboard test reaches node-1 through one.
 *
 * <pre>
 *   browser ──TCP──▶ 127.0.0.1:P (this JVM) ──unix socket──▶ relay JVM in a lab host ──TCP──▶ node:7480
 * </pre>
 *
 * A Unix socket is a file, not part of any network namespace, so it crosses from one to the
 * other: the relay {@link Inside#main} runs inside the host ({@code ip netns exec}, a lab process that
 * the lab kills when it closes) and listens on one; {@link #open} starts it and listens on
 * 127.0.0.1 here. The bytes go through unchanged: TLS is between the browser and the node.
 */
public final class PortRelay implements AutoCloseable {
    /** Open connections through one relay; a browser needs a handful (the page, its files, the event stream). */
    static final int MAX_CONNECTIONS = 64;
    static final int BUFFER_BYTES = 64 * 1024;
    static final Duration START_LIMIT = Duration.ofSeconds(30);

    private final LabProcess inside;
    private final ServerSocketChannel listener;
    private final List<SocketChannel> open = new ArrayList<>();
    private final Thread acceptor;
    private final Path socket;

    private PortRelay(LabProcess inside, ServerSocketChannel listener, Path socket) {
        this.inside = inside;
        this.listener = listener;
        this.socket = socket;
        this.acceptor = Thread.ofVirtual().name("browser-relay-accept").start(this::accept);
    }

    /**
     * Relays 127.0.0.1:{@link #port()} of this JVM (a free port) to {@code target:port} as seen from
     * {@code host}; {@code socket} is a fresh path for the Unix socket, the relay's log beside it.
     */
    public static PortRelay open(Host host, Path socket, InetAddress target, int port) throws IOException {
        return open(host, socket, target, port, 0);
    }

    /**
     * As {@link #open(Host, Path, InetAddress, int)}, listening on 127.0.0.1:{@code localPort}
     * (0: any free port); fails when that port is taken.
     */
    public static PortRelay open(Host host, Path socket, InetAddress target, int port, int localPort) throws IOException {
        Files.deleteIfExists(socket);
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        LabProcess inside = host.start(List.of(java, "-Xmx32m", "-XX:TieredStopAtLevel=1", "-cp", LabProcess.classPathOf(PortRelay.class),
                Inside.class.getName(), socket.toString(), target.getHostAddress(), Integer.toString(port)),
                socket.resolveSibling(socket.getFileName() + ".log"), Map.of());
        try {
            if (!Poll.until(START_LIMIT, () -> inside.log().contains("relay listening") || !inside.isAlive())
                    || !inside.isAlive()) {
                throw new IllegalStateException("the relay did not start in " + host + ": " + inside.log());
            }
            ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.INET);
            listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), localPort));
            return new PortRelay(inside, listener, socket);
        } catch (IOException | RuntimeException e) {
            inside.kill9();
            throw e;
        }
    }

    /** The port on 127.0.0.1 of this JVM. */
    public int port() {
        try {
            return ((InetSocketAddress) listener.getLocalAddress()).getPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void accept() {
        while (listener.isOpen()) {
            try {
                SocketChannel browser = listener.accept();
                SocketChannel relay;
                try {
                    relay = SocketChannel.open(UnixDomainSocketAddress.of(socket));
                } catch (IOException e) {
                    browser.close();
                    continue;
                }
                if (!track(browser, relay)) {
                    browser.close();
                    relay.close();
                    continue;
                }
                Inside.pipePair(browser, relay, this::untrack);
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                if (!listener.isOpen()) {
                    return;
                }
            }
        }
    }

    private synchronized boolean track(SocketChannel a, SocketChannel b) {
        if (!listener.isOpen() || open.size() + 2 > 2 * MAX_CONNECTIONS) {
            return false;
        }
        open.add(a);
        open.add(b);
        return true;
    }

    private synchronized void untrack(SocketChannel a, SocketChannel b) {
        open.remove(a);
        open.remove(b);
    }

    /** Cuts every connection through the relay, as a network failure would; new ones are relayed as before. */
    public void dropConnections() {
        List<SocketChannel> all;
        synchronized (this) {
            all = List.copyOf(open);
            open.clear();
        }
        all.forEach(Inside::closeQuietly);
    }

    @Override
    public void close() {
        try {
            listener.close();
        } catch (IOException e) {
            // Closing anyway.
        }
        dropConnections();
        acceptor.interrupt();
        inside.kill9();
        try {
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            // The lab's folder goes with the cluster.
        }
    }

    /**
     * What runs inside the host, in a JVM of its own; it uses the JDK only, so its class path is
     * just this module's jar or classes folder.
     */
    public static final class Inside {
        private Inside() {}

        /** Copies both ways on two virtual threads; when either side ends, both are closed and {@code done} is told. */
        static void pipePair(SocketChannel a, SocketChannel b, java.util.function.BiConsumer<SocketChannel, SocketChannel> done) {
            java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
            Runnable closeBoth = () -> {
                if (closed.compareAndSet(false, true)) {
                    closeQuietly(a);
                    closeQuietly(b);
                    done.accept(a, b);
                }
            };
            Thread.ofVirtual().name("relay-a").start(() -> copy(a, b, closeBoth));
            Thread.ofVirtual().name("relay-b").start(() -> copy(b, a, closeBoth));
        }

        private static void copy(SocketChannel from, SocketChannel to, Runnable closeBoth) {
            ByteBuffer buffer = ByteBuffer.allocate(BUFFER_BYTES);
            try {
                while (from.read(buffer) >= 0) {
                    buffer.flip();
                    while (buffer.hasRemaining()) {
                        to.write(buffer);
                    }
                    buffer.clear();
                }
            } catch (IOException e) {
                // One side went away: the connection ends.
            } finally {
                closeBoth.run();
            }
        }

        static void closeQuietly(SocketChannel c) {
            try {
                c.close();
            } catch (IOException e) {
                // Closing anyway.
            }
        }

        /**
         * The relay inside a host: {@code SOCKET TARGET PORT}. Each connection on the Unix socket
         * {@code SOCKET} is joined to a new TCP connection to {@code TARGET:PORT}. It runs until killed.
         */
        public static void main(String[] args) throws Exception {
            if (args.length != 3) {
                System.err.println("usage: PortRelay$Inside SOCKET TARGET PORT");
                System.exit(2);
            }
            Path socket = Path.of(args[0]);
            InetSocketAddress target = new InetSocketAddress(InetAddress.getByName(args[1]), Integer.parseInt(args[2]));
            Files.deleteIfExists(socket);
            try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
                server.bind(UnixDomainSocketAddress.of(socket), MAX_CONNECTIONS);
                System.out.println("relay listening on " + socket + " for " + target);
                System.out.flush();
                java.util.concurrent.Semaphore slots = new java.util.concurrent.Semaphore(MAX_CONNECTIONS);
                while (true) {
                    SocketChannel browser = server.accept();
                    if (!slots.tryAcquire()) {
                        System.out.println("relay: over " + MAX_CONNECTIONS + " connections; one refused");
                        browser.close();
                        continue;
                    }
                    SocketChannel node;
                    try {
                        node = SocketChannel.open(target);
                    } catch (IOException e) {
                        System.out.println("relay: cannot connect to " + target + ": " + e);
                        browser.close();
                        slots.release();
                        continue;
                    }
                    pipePair(browser, node, (a, b) -> slots.release());
                }
            }
        }
    }
}
