package baton.lab.owners;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * {@link MacWatch}'s verdict over its poll windows, without I/O. A window in which one MAC
 * arrived on two ports is a violation, with one exception: a VE that moves. Its last frames
 * from the old port and its first from the new one (the target's announcement follows the
 * handover within milliseconds) can fall into one window, which cannot tell their order. Such
 * a window, from the port the MAC was last seen on alone to one other port, is held for
 * {@code confirm}: if in that time the old port (or a third) shows the MAC again, both copies
 * answer and the window is a violation after all; if only the new port does, it was a move.
 * With probes every {@link MacWatch#PROBE_INTERVAL}, two copies that both run answer within
 * that time, so {@code confirm} of two probe intervals still catches any split brain that
 * outlasts one window.
 */
final class MacWindows {
    /** A window from {@code oldPort} to {@code newPort}, a violation unless nothing but {@code newPort} follows until {@code until}. */
    record Pending(MacWatch.Violation window, String oldPort, String newPort, Instant until) {}

    private final Duration confirm;
    private final Map<String, String> lastPort = new HashMap<>();
    private final Map<String, Pending> pending = new HashMap<>();
    private long moves;

    MacWindows(Duration confirm) {
        if (confirm.isNegative() || confirm.isZero()) {
            throw new IllegalArgumentException("confirm " + confirm + " must be positive");
        }
        this.confirm = confirm;
    }

    /** The ports {@code mac} arrived on in the window (from, to]; returns the violations this window settles. */
    List<MacWatch.Violation> window(String mac, SortedSet<String> on, Instant from, Instant to) {
        List<MacWatch.Violation> found = new ArrayList<>();
        Pending p = pending.get(mac);
        if (p != null) {
            boolean other = on.stream().anyMatch(port -> !port.equals(p.newPort()));
            if (other) {
                pending.remove(mac);
                found.add(p.window());
                if (on.size() > 1) {
                    found.add(violation(mac, on, from, to));
                }
                lastPort.put(mac, on.size() == 1 ? on.first() : p.oldPort());
                return found;
            }
            if (!to.isBefore(p.until())) {
                pending.remove(mac);
                moves++;
            }
        }
        if (on.size() > 1) {
            String last = lastPort.get(mac);
            if (!pending.containsKey(mac) && on.size() == 2 && last != null && on.contains(last)) {
                String next = on.first().equals(last) ? on.last() : on.first();
                pending.put(mac, new Pending(violation(mac, on, from, to), last, next, to.plus(confirm)));
                lastPort.put(mac, next);
            } else {
                found.add(violation(mac, on, from, to));
            }
        } else if (on.size() == 1) {
            lastPort.put(mac, on.first());
        }
        return found;
    }

    /** Windows not yet settled either way: counted as violations, since a checker must not assume the best. */
    List<MacWatch.Violation> unsettled() {
        return pending.values().stream().map(Pending::window).toList();
    }

    /** Windows settled as a move (old port, then new port only). */
    long moves() {
        return moves;
    }

    private static MacWatch.Violation violation(String mac, SortedSet<String> on, Instant from, Instant to) {
        return new MacWatch.Violation(mac, Collections.unmodifiableSortedSet(new TreeSet<>(on)), from, to);
    }
}
