package baton.runtime.ve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Parsing of {@code query-migrate} answers as QEMU 7.2 gave them (copied from a real run), and the small records around it. */
class MigrationProgressTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static MigrationProgress parse(String json) throws Exception {
        return MigrationProgress.fromQueryMigrate(JSON.readTree(json));
    }

    @Test
    void anActiveMigrationGivesBytesRateRoundAndExpectedDowntime() throws Exception {
        MigrationProgress p = parse("""
                {"expected-downtime": 50, "status": "active", "setup-time": 1, "total-time": 290,
                 "ram": {"total": 134750208, "postcopy-requests": 0, "dirty-sync-count": 1, "multifd-bytes": 0,
                         "pages-per-second": 110512, "downtime-bytes": 0, "page-size": 4096, "remaining": 28938240,
                         "postcopy-bytes": 0, "mbps": 2190.8393846153845, "transferred": 79143193,
                         "dirty-sync-missed-zero-copy": 0, "precopy-bytes": 79143193, "duplicate": 6562,
                         "dirty-pages-rate": 0, "skipped": 0, "normal-bytes": 78929920, "normal": 19270}}""");

        assertThat(p).isEqualTo(new MigrationProgress("active", 79143193, 28938240, 134750208, 273854923, 1, 50));
    }

    @Test
    void aCompletedMigrationHasNoExpectedDowntime() throws Exception {
        MigrationProgress p = parse("""
                {"status": "completed", "setup-time": 1, "downtime": 26, "total-time": 365,
                 "ram": {"total": 134750208, "dirty-sync-count": 3, "remaining": 0, "mbps": 2211.0884835164834,
                         "transferred": 100444171}}""");

        assertThat(p.phase()).isEqualTo("completed");
        assertThat(p.transferredBytes()).isEqualTo(100444171);
        assertThat(p.remainingBytes()).isZero();
        assertThat(p.dirtySyncCount()).isEqualTo(3);
        assertThat(p.expectedDowntimeMillis()).isEqualTo(-1);
    }

    @Test
    void failedSetupAndNoMigrationAtAllHaveNoNumbers() throws Exception {
        assertThat(parse("{\"status\": \"failed\", \"error-desc\": \"Unable to write to socket: Broken pipe\"}"))
                .isEqualTo(new MigrationProgress("failed", 0, 0, 0, 0, 0, -1));
        assertThat(parse("{\"status\": \"setup\"}")).isEqualTo(new MigrationProgress("setup", 0, 0, 0, 0, 0, -1));
        assertThat(parse("{}").phase()).isEqualTo("none");
        // A target that listens: only where, no status yet.
        assertThat(parse("{\"socket-address\": [{\"port\": \"47001\", \"host\": \"198.18.0.2\", \"type\": \"inet\"}]}").phase())
                .isEqualTo("none");
    }

    @Test
    void aNegativeOrMissingRateIsZero() throws Exception {
        assertThat(parse("{\"status\": \"active\", \"ram\": {\"mbps\": -3}}").bytesPerSecond()).isZero();
        assertThat(parse("{\"status\": \"active\", \"ram\": {}}").bytesPerSecond()).isZero();
    }

    @Test
    void settingsDefaultsAndLimits() {
        MigrationSettings d = MigrationSettings.defaults();
        assertThat(d).isEqualTo(new MigrationSettings(Duration.ofMillis(30), 0, true, Duration.ofSeconds(120)));
        assertThat(d.qemuMaxBandwidth()).isEqualTo(Long.MAX_VALUE);
        assertThat(d.withMaxBandwidth(4_000_000).qemuMaxBandwidth()).isEqualTo(4_000_000);
        assertThat(d.withDeadline(Duration.ofSeconds(3)).deadline()).isEqualTo(Duration.ofSeconds(3));

        assertThatThrownBy(() -> new MigrationSettings(Duration.ZERO, 0, true, Duration.ofSeconds(1)))
                .hasMessageContaining("downtimeLimit 0 ms outside 1..2000000 ms");
        assertThatThrownBy(() -> new MigrationSettings(Duration.ofSeconds(2001), 0, true, Duration.ofSeconds(1)))
                .hasMessageContaining("downtimeLimit");
        assertThatThrownBy(() -> d.withMaxBandwidth(-1)).hasMessageContaining("0 means unlimited");
        assertThatThrownBy(() -> d.withDeadline(Duration.ZERO)).hasMessageContaining("deadline");
    }

    @Test
    void aResultHasAFailureExactlyWhenItDidNotComplete() {
        assertThat(new MigrationResult(true, Optional.empty(), Duration.ofSeconds(1), 30, 100, false).toString())
                .isEqualTo("completed after 1000 ms, downtime 30 ms, 100 bytes, source not running");
        assertThatThrownBy(() -> new MigrationResult(true, Optional.of("x"), Duration.ZERO, -1, 0, false))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new MigrationResult(false, Optional.empty(), Duration.ZERO, -1, 0, true))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
