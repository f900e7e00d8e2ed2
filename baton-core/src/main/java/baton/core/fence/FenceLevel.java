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
    /**
     * The pseudo-device of disk-based fencing: the coordinator writes a poison pill for the
     * victim's incarnation to the quorum disk and counts it fenced after the pill deadline.
     * It makes a level of its own.
     */
    public static final String POISON_PILL = "poison-pill";

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
        if (devices.contains(POISON_PILL) && devices.size() > 1) {
            throw new IllegalArgumentException(POISON_PILL + " makes a level of its own, found it with " + devices);
        }
    }

    /** Whether this is the disk-based level. */
    public boolean isPoisonPill() {
        return devices.equals(List.of(POISON_PILL));
    }

    public static FenceLevel of(String... devices) {
        return new FenceLevel(List.of(devices));
    }

    String label() {
        return String.join("+", devices);
    }
}
