package baton.it;

import static org.assertj.core.api.Assertions.assertThat;

import baton.lab.MachineCgroup;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Baton's own parts failing inside a node: one thread of the real daemon is frozen (its own
 * freezer cgroup) while the rest of the process runs on — the event loop (which drives the
 * disk loop), the heartbeat send thread, a workload's monitor. The node must notice through its
 * supervisor, stop what it runs and exit (status 9), so that the others see it down, fence it
 * through its BMC and recover its service; the never-two-owners checker runs as everywhere.
 */
class SelfFenceIT {
    /** Freezes {@code thread} of node-1 (which runs alpha) and checks the whole chain. */
    static void selfFences(String thread, String part) throws Exception {
        ServiceLab.withServices(s -> {
            java.time.Instant frozenAt = java.time.Instant.now();
            MachineCgroup frozen = s.p().freezeThreads(1, thread);
            try {
                assertThat(s.p().await(1, "event=self-fence reason=\"" + Pattern.quote(part) + ": ", ServiceLab.WAIT))
                        .as(s.p().log(1)).isTrue();
                assertThat(s.p().await(1, "event=exit reason=self-fence status=9", ServiceLab.WAIT)).as(s.p().log(1)).isTrue();
                int watcher = 3;
                assertThat(s.p().await(watcher, "event=verdict " + ServiceLab.peer(1) + " from=[a-z-]+ to=down", ServiceLab.WAIT))
                        .as(s.p().log(watcher)).isTrue();
                assertThat(s.awaitRunningOn(watcher, "alpha", "node-2")).as(s.p().log(2) + s.p().log(3)).isTrue();
                String fencer = s.p().log(2).contains("event=fenced " + ServiceLab.peer(1)) ? s.p().log(2) : s.p().log(3);
                assertThat(fencer).contains("event=fenced " + ServiceLab.peer(1));
                assertThat(fencer.indexOf("event=workload-owner workload=alpha change=recover"))
                        .as(fencer).isGreaterThan(fencer.indexOf("event=fenced " + ServiceLab.peer(1)));
                timeline(part, frozenAt, "self-fence", s.p().log(1), "event=self-fence");
                timeline(part, frozenAt, "down", s.p().log(watcher), "event=verdict " + ServiceLab.peer(1) + " from=[a-z-]+ to=down");
                timeline(part, frozenAt, "fenced", fencer, "event=fenced " + ServiceLab.peer(1));
                timeline(part, frozenAt, "recovered", fencer, "event=workload-owner workload=alpha change=recover");
            } finally {
                frozen.destroy();
            }
        });
    }

    /** Prints when the first line matching {@code regex} was logged, in ms after the freeze. */
    static void timeline(String part, java.time.Instant from, String what, String log, String regex) {
        java.util.regex.Matcher m = Pattern.compile("ts=(\\S+) [^\\n]*" + regex).matcher(log);
        if (m.find()) {
            long ms = java.time.Duration.between(from, java.time.Instant.parse(m.group(1))).toMillis();
            System.out.printf("SelfFenceIT timeline %s +%d ms %s%n", part, ms, what);
        }
    }

    @Test
    void aStuckEventLoopAndDiskLoopMakesTheNodeFenceItself() throws Exception {
        selfFences("baton-loop", "event-loop");
    }

    @Test
    void aStuckHeartbeatLoopMakesTheNodeFenceItself() throws Exception {
        selfFences("baton-hb-send", "heartbeat-loop");
    }

    @Test
    void aStuckWorkloadMonitorMakesTheNodeFenceItself() throws Exception {
        selfFences("baton-wl-10", "workload-monitor");
    }
}
