package baton.core.fence;

import java.util.HashSet;
import java.util.List;

/**
 * One fencing level of a node: devices that must <em>all</em> confirm power off for the level
 * to succeed (for example the two PDU outlets of a dual-supply server). They run in parallel.
 */
public record FenceLevel(List<String> devices) {
    /** A level with more devices than this is a configuration mistake, not a server. */
    public static final int MAX_DEVICES = 8;
    /** Device names appear in logs and key=value reports: bounded, printable, no spaces or quotes. */
    public static final int MAX_DEVICE_NAME_CHARS = 64;

    public FenceLevel {
        if (devices == null || devices.isEmpty()) {
            throw new IllegalArgumentException("a fencing level needs at least one device");
        }
        if (devices.size() > MAX_DEVICES) {
            throw new IllegalArgumentException("a fencing level has " + devices.size() + " devices, at most " + MAX_DEVICES);
        }
        devices = List.copyOf(devices);
        var seen = new HashSet<String>();
        for (String d : devices) {
            if (d.isEmpty() || d.length() > MAX_DEVICE_NAME_CHARS || !d.chars().allMatch(c -> c > ' ' && c < 127 && c != '"')) {
                throw new IllegalArgumentException("device name \"" + d + "\": 1.." + MAX_DEVICE_NAME_CHARS
                        + " printable characters, no spaces or quotes");
            }
            if (!seen.add(d)) {
                throw new IllegalArgumentException("device " + d + " appears twice in one level");
            }
        }
    }

    public static FenceLevel of(String... devices) {
        return new FenceLevel(List.of(devices));
    }

    String label() {
        return String.join("+", devices);
    }
}
