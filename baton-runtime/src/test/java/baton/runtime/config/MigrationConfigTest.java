package baton.runtime.config;

import static baton.runtime.config.ConfigProblemsTest.FILE;
import static baton.runtime.config.ConfigProblemsTest.VALID;
import static baton.runtime.config.ConfigProblemsTest.assertProblem;
import static baton.runtime.config.ConfigProblemsTest.onlyProblemIn;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The {@code migration:} section: defaults, every key, and a clear problem for each bad value. */
class MigrationConfigTest {
    @Test
    void withoutTheSectionTheDefaultsHold() throws Exception {
        MigrationConfig m = ConfigLoader.parse(FILE, VALID).migration();
        assertThat(m).isEqualTo(MigrationConfig.DEFAULTS);
        assertThat(m.port(7)).isEqualTo(MigrationConfig.DEFAULT_PORT_BASE + 7);
        assertThat(m.downtimeLimitMillis()).isEqualTo(30);
        assertThat(m.checkpointFile("web", 5)).isEmpty();
    }

    @Test
    void everyKeyIsRead() throws Exception {
        MigrationConfig m = ConfigLoader.parse(FILE, VALID + """
                migration:
                  portBase: 9000
                  downtimeLimitMillis: 40
                  maxBandwidthMiBps: 100
                  autoConverge: false
                  deadlineMillis: 60000
                  maxParallel: 3
                  checkpointDir: checkpoints
                """).migration();
        assertThat(m).isEqualTo(new MigrationConfig(9000, 40, 100L << 20, false, 60_000, 3, Optional.of(Path.of("/etc/baton/checkpoints"))));
        assertThat(m.checkpointFile("web", -1)).contains(Path.of("/etc/baton/checkpoints/web-4294967295.state"));
    }

    @Test
    void badValuesNameTheKeyAndTheFix() {
        int line = (int) VALID.lines().count() + 2;
        assertProblem(onlyProblemIn(VALID + "migration:\n  maxParallel: 9\n"), line, "migration.maxParallel", "between 1 and 8",
                "from 1 to 8");
        assertProblem(onlyProblemIn(VALID + "migration:\n  portBase: 65500\n"), line, "migration.portBase", "is 65500", "from 1024");
        assertProblem(onlyProblemIn(VALID + "migration:\n  autoConverge: maybe\n"), line, "migration.autoConverge",
                "expected true or false", "autoConverge: true");
        assertProblem(onlyProblemIn(VALID + "migration:\n  downtimeMillis: 50\n"), line, "migration.downtimeMillis", "unknown key",
                "downtimeLimitMillis");
    }
}
