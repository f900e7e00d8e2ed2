package baton.runtime.ve;

import baton.runtime.proc.LastWords;
import baton.runtime.proc.ProcessCall;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A persistent tap device on a VE's host, attached to a bridge, for one NIC of one QEMU:
 * {@code ip tuntap add dev NAME mode tap; ip link set NAME master BRIDGE up}. QEMU opens it by
 * name ({@code -netdev tap,ifname=NAME,script=no}); once QEMU has exited, {@link #delete}
 * removes it. A tap left by a QEMU that died is reused.
 */
public final class Tap {
    /** {@code ip} answers in milliseconds; ten seconds means the host is in trouble. */
    public static final Duration IP_DEADLINE = Duration.ofSeconds(10);
    private static final int OUTPUT_LIMIT_BYTES = 16 << 10;
    private static final Pattern NO_PREFIX = Pattern.compile("^$");

    private final CommandPrefix host;
    private final String name;
    private final String bridge;

    private Tap(CommandPrefix host, String name, String bridge) {
        this.host = host;
        this.name = name;
        this.bridge = bridge;
    }

    /** Creates tap {@code name} on {@code host} (or reuses it) and attaches it to {@code bridge}, up. */
    public static Tap create(CommandPrefix host, String name, String bridge) throws IOException, InterruptedException {
        if (name.length() > QemuCommand.MAX_IFNAME_CHARS) {
            throw new IllegalArgumentException("tap name '" + name + "' is longer than " + QemuCommand.MAX_IFNAME_CHARS);
        }
        boolean exists = ip(host, "link", "show", "dev", name) instanceof ProcessCall.Outcome.Exited e && e.exitCode() == 0;
        if (!exists) {
            check(host, "tuntap", "add", "dev", name, "mode", "tap");
        }
        Tap tap = new Tap(host, name, bridge);
        try {
            check(host, "link", "set", "dev", name, "master", bridge, "up");
        } catch (IOException | InterruptedException e) {
            try {
                tap.delete();
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
        return tap;
    }

    public String name() {
        return name;
    }

    public String bridge() {
        return bridge;
    }

    /** Deletes tap {@code name} on {@code host} if it exists (left by a QEMU that was killed). */
    public static void forget(CommandPrefix host, String name) throws IOException, InterruptedException {
        new Tap(host, name, "").delete();
    }

    /** Deletes the tap; a tap that is already gone is fine. */
    public void delete() throws IOException, InterruptedException {
        ProcessCall.Outcome o = ip(host, "link", "del", "dev", name);
        if (o instanceof ProcessCall.Outcome.Exited e && e.exitCode() != 0
                && (e.output().stderr().contains("Cannot find device") || e.output().stderr().contains("does not exist"))) {
            return;
        }
        require(o, "ip link del dev " + name + " on " + host);
    }

    private static ProcessCall.Outcome ip(CommandPrefix host, String... args) throws InterruptedException {
        List<String> command = new ArrayList<>(List.of("ip"));
        command.addAll(List.of(args));
        return ProcessCall.run(host.apply(command), Optional.empty(), new byte[0], OUTPUT_LIMIT_BYTES, IP_DEADLINE);
    }

    /** Runs {@code ip ARGS} on {@code host}; anything but exit status 0 is an IOException saying why. */
    private static void check(CommandPrefix host, String... args) throws IOException, InterruptedException {
        require(ip(host, args), "ip " + String.join(" ", args) + " on " + host);
    }

    private static void require(ProcessCall.Outcome o, String what) throws IOException {
        switch (o) {
            case ProcessCall.Outcome.Exited e when e.exitCode() == 0 -> { }
            case ProcessCall.Outcome.Exited e -> {
                String why = LastWords.lastLine(e.output().stderr(), NO_PREFIX, List.of());
                throw new IOException("`" + what + "` failed: " + (why.isEmpty() ? LastWords.silentExit("ip", e.exitCode()) : why));
            }
            case ProcessCall.Outcome.TimedOut t -> throw new IOException("`" + what + "` took longer than " + IP_DEADLINE.toMillis() + " ms and was killed");
            case ProcessCall.Outcome.CouldNotStart c -> throw new IOException("`" + what + "` could not start: " + c.reason());
        }
    }

    @Override
    public String toString() {
        return "tap " + name + " on bridge " + bridge + " (" + host + ")";
    }
}
