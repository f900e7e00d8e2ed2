package baton.lab;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * A TAP interface in a lab namespace whose frames this JVM reads and writes, through libc
 * (java.lang.foreign): the JDK has no API for /dev/net/tun or setns.
 *
 * <p>The interface exists while this object's descriptor is open (it is not made persistent):
 * if the JVM dies, the kernel removes it, so a TAP device can never outlive its owner.
 *
 * <p>Needs {@code --enable-native-access=ALL-UNNAMED} on the java command line to run without
 * the JDK's warning about restricted methods.
 */
@SuppressWarnings("restricted")
final class TapDevice implements AutoCloseable {
    /** The largest frame read at once: eth0's 1500-byte MTU plus header, with room for a larger MTU. */
    static final int MAX_FRAME_BYTES = 65_536;

    private static final int O_RDWR = 0x2;
    private static final int O_RDONLY = 0x0;
    private static final int O_CLOEXEC = 0x80000;
    private static final int CLONE_NEWNET = 0x40000000;
    /** _IOW('T', 202, int) from linux/if_tun.h. */
    private static final long TUNSETIFF = 0x400454caL;
    private static final short IFF_TAP = 0x0002;
    private static final short IFF_NO_PI = 0x1000;
    private static final short POLLIN = 0x1;
    private static final int EINTR = 4;
    private static final int EAGAIN = 11;
    /** struct ifreq: char ifr_name[16], then a union whose first member we use is short ifr_flags; 40 bytes in all. */
    private static final int IFREQ_BYTES = 40;
    private static final int IFNAMSIZ = 16;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle OPEN = downcall("open", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), 2);
    private static final MethodHandle IOCTL = downcall("ioctl", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), 2);
    private static final MethodHandle SETNS = downcall("setns", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), -1);
    private static final MethodHandle READ = downcall("read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), -1);
    private static final MethodHandle WRITE = downcall("write", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), -1);
    private static final MethodHandle POLL = downcall("poll", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), -1);
    private static final MethodHandle CLOSE = downcall("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT), -1);
    private static final MethodHandle STRERROR = LINKER.downcallHandle(
            LINKER.defaultLookup().find("strerror").orElseThrow(), FunctionDescriptor.of(ADDRESS, JAVA_INT));

    private final String name;
    private final int fd;
    private boolean closed;

    private TapDevice(String name, int fd) {
        this.name = name;
        this.fd = fd;
    }

    private static MethodHandle downcall(String function, FunctionDescriptor descriptor, int firstVariadicArg) {
        MemorySegment address = LINKER.defaultLookup().find(function)
                .orElseThrow(() -> new IllegalStateException("libc has no " + function));
        Linker.Option errno = Linker.Option.captureCallState("errno");
        return firstVariadicArg < 0
                ? LINKER.downcallHandle(address, descriptor, errno)
                : LINKER.downcallHandle(address, descriptor, errno, Linker.Option.firstVariadicArg(firstVariadicArg));
    }

    /**
     * Creates TAP interface {@code name} (down, no address) in namespace {@code netns}. setns
     * changes the namespace of the calling thread only, so it runs on a platform thread of its
     * own that ends right after: the descriptor stays tied to the namespace it was opened in,
     * and no other thread of this JVM ever changes namespace.
     */
    static TapDevice create(String netns, String name) {
        if (name.getBytes(StandardCharsets.US_ASCII).length >= IFNAMSIZ) {
            throw new IllegalArgumentException("interface name " + name + " is longer than " + (IFNAMSIZ - 1));
        }
        CompletableFuture<TapDevice> result = new CompletableFuture<>();
        Thread.ofPlatform().name("baton-lab-tap-" + name).start(() -> {
            try {
                result.complete(createHere(netns, name));
            } catch (Throwable t) {
                result.completeExceptionally(t);
            }
        });
        try {
            return result.get();
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while creating " + name, e);
        }
    }

    private static TapDevice createHere(String netns, String name) throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int nsFd = (int) OPEN.invokeExact(state, arena.allocateFrom(Netns.RUN_DIR.resolve(netns).toString()), O_RDONLY | O_CLOEXEC, 0);
            check(nsFd, state, "open /run/netns/" + netns);
            try {
                check((int) SETNS.invokeExact(state, nsFd, CLONE_NEWNET), state, "setns " + netns);
            } finally {
                int ignored = (int) CLOSE.invokeExact(state, nsFd);
            }
            int fd = (int) OPEN.invokeExact(state, arena.allocateFrom("/dev/net/tun"), O_RDWR | O_CLOEXEC, 0);
            check(fd, state, "open /dev/net/tun");
            MemorySegment ifreq = arena.allocate(IFREQ_BYTES);
            ifreq.setString(0, name, StandardCharsets.US_ASCII);
            ifreq.set(JAVA_SHORT, IFNAMSIZ, (short) (IFF_TAP | IFF_NO_PI));
            int rc = (int) IOCTL.invokeExact(state, fd, TUNSETIFF, ifreq);
            if (rc < 0) {
                int errno = (int) ERRNO.get(state, 0L);
                int ignored = (int) CLOSE.invokeExact(state, fd);
                throw new IllegalStateException("TUNSETIFF " + name + " in " + netns + " failed: " + describe(errno));
            }
            return new TapDevice(name, fd);
        }
    }

    String name() {
        return name;
    }

    /**
     * Reads one frame into {@code buffer} (at least {@link #MAX_FRAME_BYTES}), waiting at most
     * {@code timeoutMillis}; returns its length, or 0 when none came in time. The bounded wait
     * lets the reading thread notice that it should stop.
     */
    int read(MemorySegment buffer, int timeoutMillis) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            // struct pollfd { int fd; short events; short revents; }
            MemorySegment pollfd = arena.allocate(8);
            pollfd.set(JAVA_INT, 0, fd);
            pollfd.set(JAVA_SHORT, 4, POLLIN);
            int ready = (int) POLL.invokeExact(state, pollfd, 1L, timeoutMillis);
            if (ready == 0 || (ready < 0 && (int) ERRNO.get(state, 0L) == EINTR)) {
                return 0;
            }
            check(ready, state, "poll " + name);
            long n = (long) READ.invokeExact(state, fd, buffer, (long) MAX_FRAME_BYTES);
            if (n < 0 && ((int) ERRNO.get(state, 0L) == EAGAIN || (int) ERRNO.get(state, 0L) == EINTR)) {
                return 0;
            }
            check(n, state, "read " + name);
            return (int) n;
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** Sends one frame into the namespace, as if it had arrived on the wire of this interface. */
    void write(MemorySegment frame, int length) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            check((long) WRITE.invokeExact(state, fd, frame, (long) length), state, "write " + name);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** Closes the descriptor, which removes the interface. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try (Arena arena = Arena.ofConfined()) {
            int ignored = (int) CLOSE.invokeExact(arena.allocate(CALL_STATE), fd);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private static void check(long rc, MemorySegment state, String what) {
        if (rc < 0) {
            throw new IllegalStateException(what + " failed: " + describe((int) ERRNO.get(state, 0L)));
        }
    }

    private static String describe(int errno) {
        try {
            MemorySegment text = (MemorySegment) STRERROR.invokeExact(errno);
            return text.reinterpret(256).getString(0) + " (errno " + errno + ")";
        } catch (Throwable t) {
            return "errno " + errno;
        }
    }
}
