package baton.runtime.ve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The pure parts of {@link VeMigration} and the incoming command line; the rest runs against real QEMU in VeMigrationIT. */
class VeMigrationTest {
    @Test
    void anIncomingVeHasTheSameCommandLinePlusIncomingDeferAndItsRamFaultedInAtStart() {
        VeSpec spec = new VeSpec("web", 128, 1, new VeSpec.Boot.Kernel(Path.of("/vmlinuz"), Optional.empty(), ""),
                List.of(new VeSpec.Nic("52:54:00:00:00:01", "br0")), VeSpec.Accel.TCG);
        VeFiles files = VeFiles.under(Path.of("/run/baton/ve"), "web");
        List<String> normal = QemuCommand.build(spec, files, VeSpec.Accel.TCG);
        List<String> incoming = QemuCommand.buildIncoming(spec, files, VeSpec.Accel.TCG);

        assertThat(incoming.subList(0, normal.size())).isEqualTo(normal);
        assertThat(incoming.subList(normal.size(), incoming.size())).containsExactly("-incoming", "defer", "-mem-prealloc");
    }

    @Test
    void urisAndFailureReasons() {
        assertThat(VeMigration.tcpUri("198.18.0.2", 49152)).isEqualTo("tcp:198.18.0.2:49152");
        assertThat(VeMigration.tcpUri("fd00::2", 49152)).isEqualTo("tcp:[fd00::2]:49152");
        assertThatThrownBy(() -> VeMigration.tcpUri("a b", 1)).hasMessageContaining("not a host name");
        assertThatThrownBy(() -> VeMigration.tcpUri("h,x=y", 1)).hasMessageContaining("not a host name");
        assertThatThrownBy(() -> VeMigration.tcpUri("h", 0)).hasMessageContaining("port 0 outside 1..65535");

        String uri = "tcp:198.18.0.2:49152";
        assertThat(VeMigration.liveFailure("Failed to connect to '198.18.0.2:49152': Connection refused", uri, 12,
                Duration.ofMillis(1500), Duration.ofSeconds(2), 0))
                .startsWith("target refused the connection to tcp:198.18.0.2:49152 (12 attempts in 1.5 s; the deadline of 2 s");
        assertThat(VeMigration.liveFailure("Failed to connect to '198.18.0.9:49152': No route to host", uri, 1,
                Duration.ofSeconds(3), Duration.ofSeconds(120), 0))
                .isEqualTo("cannot connect to the target at " + uri + ": Failed to connect to '198.18.0.9:49152': No route to host");
        assertThat(VeMigration.liveFailure("Unable to write to socket: Broken pipe", uri, 1, Duration.ofSeconds(3),
                Duration.ofSeconds(120), 8444263))
                .isEqualTo("connection lost to the target at " + uri + " after 8.1 MiB sent: Unable to write to socket: Broken pipe");
        assertThat(VeMigration.liveFailure("Unable to write to socket: Connection reset by peer", uri, 1, Duration.ofSeconds(3),
                Duration.ofSeconds(120), 200L << 20)).startsWith("connection lost to the target at " + uri + " after 200 MiB sent");
        assertThat(VeMigration.liveFailure("State blocked by non-migratable device '0000:00:02.0/x'", uri, 1, Duration.ZERO,
                Duration.ofSeconds(120), 0)).isEqualTo("the migration failed: State blocked by non-migratable device '0000:00:02.0/x'");
        assertThat(VeMigration.seconds(Duration.ofMillis(500))).isEqualTo("0.5 s");
        assertThat(VeMigration.seconds(Duration.ofSeconds(120))).isEqualTo("120 s");
    }
}
