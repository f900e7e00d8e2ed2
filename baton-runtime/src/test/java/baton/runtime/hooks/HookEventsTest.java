package baton.runtime.hooks;

import static org.assertj.core.api.Assertions.assertThat;

import baton.core.disk.Copy;
import baton.core.fence.FenceEvent;
import baton.core.fence.FenceWatch.DeviceState;
import baton.core.fence.FenceWatchEvent;
import baton.core.liveness.DiskEvent;
import baton.core.membership.MembershipEvent;
import baton.core.membership.Verdict;
import baton.runtime.events.Event;
import baton.runtime.events.KvFields;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Which log line is which hook event, on which node. The lines are the daemon's own: the cores'
 * event records where they are logged as they are, and the daemon's formats where it rewrites them.
 */
class HookEventsTest {
    private final HookEvents events = new HookEvents();
    private long seq;

    /** One line of node-1's log, as the journal makes it an event. */
    private Event line(String level, String fields) {
        var parsed = KvFields.parse(fields);
        return new Event(++seq, 1_700_000_000_000L + seq, level, "node-1", parsed.getOrDefault("event", "log"), parsed);
    }

    private List<HookEvent> step(String fields) {
        return events.step(line("info", fields));
    }

    /** As NodeDaemon logs a verdict: the node's name and id instead of its id alone. */
    private static String verdict(int peer, Verdict from, Verdict to) {
        return new MembershipEvent.VerdictChanged(peer, from, to, "slot stale 900 ms; silent on ring 0").fields()
                .replace("node-id=" + peer, "peer=node-" + peer + " peer-id=" + peer) + (to.alarm() ? " alarm=" + to.label() : "");
    }

    private static final String BECOME_COORDINATOR = "event=coordinator role=coordinator generation=4 note=\"this node takes the"
            + " cluster-wide decisions\"";
    private static final String CEASE = "event=coordinator role=follower generation=4 reason=\"lease lost\"";

    private static List<String> names(List<HookEvent> hs) {
        return hs.stream().map(h -> h.name() + " " + h.subject()).toList();
    }

    @Test
    void aFollowerReportsNoNodeDownTheCoordinatorDoes() {
        assertThat(step(verdict(3, Verdict.SUSPECT, Verdict.DOWN))).isEmpty();
        assertThat(step(verdict(3, Verdict.DOWN, Verdict.FENCED))).isEmpty();
        assertThat(names(step(BECOME_COORDINATOR))).containsExactly("coordinator-changed node-1");
        List<HookEvent> down = step(verdict(2, Verdict.SUSPECT, Verdict.DOWN));
        assertThat(names(down)).containsExactly("node-down node-2");
        assertThat(down.getFirst().source().fields()).containsEntry("peer-id", "2").containsEntry("from", "suspect")
                .containsEntry("evidence", "slot stale 900 ms; silent on ring 0").containsEntry("alarm", "down");
        assertThat(events.coordinator()).isTrue();
        assertThat(step(CEASE)).isEmpty();
        assertThat(step(verdict(3, Verdict.UP, Verdict.DOWN))).isEmpty();
    }

    @Test
    void aNodeThatBecomesCoordinatorReportsTheNodesAlreadyDownWithTheirOwnVerdictLine() {
        Event down = line("warn", verdict(3, Verdict.SUSPECT, Verdict.DOWN));
        assertThat(events.step(down)).isEmpty();
        step(verdict(2, Verdict.SUSPECT, Verdict.DOWN));
        step(verdict(2, Verdict.DOWN, Verdict.UP)); // came back before the takeover: not down any more
        List<HookEvent> takeover = step(BECOME_COORDINATOR);
        assertThat(names(takeover)).containsExactly("coordinator-changed node-1", "node-down node-3");
        assertThat(takeover.get(1).source()).isEqualTo(down);
        // Once: becoming coordinator again without having ceased reports nothing new.
        assertThat(step(BECOME_COORDINATOR)).isEmpty();
    }

    @Test
    void aRejoiningNodeIsNoLongerCoordinatorAndForgetsTheVerdicts() {
        step(BECOME_COORDINATOR);
        step(verdict(3, Verdict.SUSPECT, Verdict.DOWN));
        assertThat(step("event=rejoining incarnation=99")).isEmpty();
        assertThat(events.coordinator()).isFalse();
        assertThat(step(verdict(2, Verdict.SUSPECT, Verdict.DOWN))).isEmpty();
        // The new cores start from absent: node-3 is not known down, node-2 is.
        assertThat(names(step(BECOME_COORDINATOR))).containsExactly("coordinator-changed node-1", "node-down node-2");
    }

    @Test
    void nodeFencedComesFromTheDecisionNotFromTheFencingCoresReportOfIt() {
        step(BECOME_COORDINATOR);
        List<HookEvent> fenced = step("event=fenced peer=node-3 peer-id=3 incarnation=17 generation=4"
                + " how=\"level 1: ipmi-3 confirmed off\"");
        assertThat(names(fenced)).containsExactly("node-fenced node-3");
        assertThat(fenced.getFirst().source().field("how")).isEqualTo("level 1: ipmi-3 confirmed off");
        assertThat(step(new FenceEvent.Fenced(3, 17, "level 1: ipmi-3 confirmed off").fields() + " generation=4")).isEmpty();
    }

    @Test
    void fenceFailedIsTheAlarmAfterEveryLevelFailedNamedByTheNodesName() {
        step(verdict(3, Verdict.ABSENT, Verdict.UP)); // teaches node-3's name
        List<HookEvent> alarm = step(new FenceEvent.CannotDetermineState(3, 17, 1, "level 1: ipmi-3: Failed: Unable to obtain"
                + " correct plug status").fields() + " generation=4");
        assertThat(names(alarm)).containsExactly("fence-failed node-3");
        assertThat(alarm.getFirst().source().field("round")).isEqualTo("1");
        // A node never named in a verdict line keeps its id.
        assertThat(names(step(new FenceEvent.CannotDetermineState(7, 1, 2, "no levels").fields()))).containsExactly("fence-failed 7");
        assertThat(step(new FenceEvent.LevelFailed(3, 17, 1, 1, "ipmi-3", "timed out").fields())).isEmpty();
    }

    /** As WorkloadHost logs an owner record the coordinator wrote. */
    private static String owner(String change, String reason) {
        return "event=workload-owner workload=web1 change=" + change + " owner=node-2 owner-incarnation=5 desired=running epoch=3"
                + " table=12 generation=4 reason=\"" + reason + "\"";
    }

    @Test
    void workloadRecoveredMigrationDoneAndFailedComeFromTheCoordinatorsOwnerRecords() {
        assertThat(names(step(owner("recover", "node 3 was fenced")))).containsExactly("workload-recovered web1");
        assertThat(names(step(owner("migrate_finish", "migrated live from node 1")))).containsExactly("migration-done web1");
        assertThat(names(step(owner("migrate_cancel", "migration to node 2 failed")))).containsExactly("migration-failed web1");
        for (String other : List.of("place", "adopt", "move_begin", "move_finish", "migrate_begin", "refresh", "operator")) {
            assertThat(step(owner(other, "x"))).as(other).isEmpty();
        }
    }

    @Test
    void switchoverDoneNamesTheNodeThatWasEmptied() {
        List<HookEvent> done = step("event=switchover-done node=node-2 stayed=\"\"");
        assertThat(names(done)).containsExactly("switchover-done node-2");
        assertThat(done.getFirst().source().field("stayed")).isEmpty();
    }

    @Test
    void workloadFailedComesFromTheNodeThatRanIt() {
        assertThat(names(step("event=workload-failed workload=clock reason=\"monitor: not running\" action=stop")))
                .containsExactly("workload-failed clock");
        assertThat(names(step("event=workload-start-failed workload=web2 reason=\"qemu exited\""))).containsExactly("workload-failed web2");
        assertThat(step("event=workload-failed-out workload=clock note=\"failed more often than its restart limit allows\"")).isEmpty();
    }

    @Test
    void diskDegradedIsACopyThisNodeLost() {
        List<HookEvent> lost = step(new DiskEvent.CopyHealth(Copy.SHADOW, false, "read failed: EIO", true).fields()
                + " alarm=degraded-quorum-disk");
        assertThat(names(lost)).containsExactly("disk-degraded shadow");
        assertThat(lost.getFirst().source().field("alarm")).isEqualTo("degraded-quorum-disk");
        assertThat(step(new DiskEvent.CopyHealth(Copy.SHADOW, true, "read again", false).fields())).isEmpty();
    }

    @Test
    void fenceDeviceUnhealthyIsADeviceThisNodeWatchesFailing() {
        assertThat(names(step(new FenceWatchEvent.DeviceChanged("ipmi-2", DeviceState.OK, DeviceState.FAILED, "timed out").fields())))
                .containsExactly("fence-device-unhealthy ipmi-2");
        assertThat(names(step(new FenceWatchEvent.DeviceChanged("ipmi-3", DeviceState.UNKNOWN, DeviceState.FAILED, "refused").fields())))
                .containsExactly("fence-device-unhealthy ipmi-3");
        assertThat(step(new FenceWatchEvent.DeviceChanged("ipmi-2", DeviceState.FAILED, DeviceState.OK, "answers").fields())).isEmpty();
        assertThat(step(new FenceWatchEvent.NoFencingPath(2, "ipmi-2 failed").fields())).isEmpty();
    }

    @Test
    void theHooksOwnLinesNeverMapToAHookEvent() {
        step(BECOME_COORDINATOR);
        for (String own : List.of("event=hook-run hook=/x hook-event=node-down subject=node-3 event-seq=4 exit=0 millis=5",
                "event=hook-timeout hook=/x hook-event=node-fenced subject=node-3 event-seq=5 millis=300 timeout-ms=300 signal=TERM",
                "event=hook-dropped hook=/x hook-event=node-down subject=node-3 event-seq=6 dropped=1",
                "event=hook-run to=down peer=node-3 change=recover healthy=false")) {
            assertThat(step(own)).as(own).isEmpty();
        }
    }

    @Test
    void everyOtherLineMapsToNothing() {
        step(BECOME_COORDINATOR);
        for (String other : List.of("event=joined incarnation=5 proven=primary,shadow", verdict(2, Verdict.UP, Verdict.SUSPECT),
                new FenceEvent.Started(3, 17, 1, 1, "ipmi-3", "slot stale").fields(), "event=lease-acquired generation=4",
                "event=migration-sent workload=web1 to=node-2 downtime-ms=40", "plain text without an event")) {
            assertThat(step(other)).as(other).isEmpty();
        }
    }
}
