package baton.runtime.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** Binds the {@code migration:} section (docs/switchover.md); every key is optional. */
final class MigrationBinding {
    private MigrationBinding() {}

    static final List<String> KEYS = List.of("portBase", "downtimeLimitMillis", "maxBandwidthMiBps", "autoConverge", "deadlineMillis",
            "maxParallel", "checkpointDir");
    private static final String EXAMPLE = "migration: {downtimeLimitMillis: 30, maxParallel: 2, checkpointDir: /shared/baton/checkpoints}";

    static Optional<MigrationConfig> bind(YamlNode value, String path, int line, Path folder, Problems problems) {
        Optional<Section> section = Section.of(value, path, line, problems, KEYS, EXAMPLE);
        if (section.isEmpty()) {
            return Optional.empty();
        }
        Section s = section.get();
        MigrationConfig d = MigrationConfig.DEFAULTS;
        int before = problems.count();
        long port = FenceBinding.millis(s, "portBase", d.portBase(), MigrationConfig.MIN_PORT_BASE, MigrationConfig.MAX_PORT_BASE, problems);
        long downtime = FenceBinding.millis(s, "downtimeLimitMillis", d.downtimeLimitMillis(), 1, 60_000, problems);
        long mibps = FenceBinding.millis(s, "maxBandwidthMiBps", 0, 0, 1 << 20, problems);
        long deadline = FenceBinding.millis(s, "deadlineMillis", d.deadlineMillis(), 1_000, MigrationConfig.MAX_MILLIS, problems);
        long parallel = FenceBinding.millis(s, "maxParallel", d.maxParallel(), 1, baton.core.disk.SlotWorkloads.MAX_MIGRATIONS, problems);
        boolean autoConverge = WorkloadsBinding.flag(s, "autoConverge", d.autoConverge(), problems);
        Optional<Path> dir = s.optional("checkpointDir")
                .flatMap(v -> Scalars.path(v, s.path("checkpointDir"), folder, problems, "checkpointDir: /shared/baton/checkpoints"));
        return problems.count() == before
                ? Optional.of(new MigrationConfig((int) port, downtime, mibps << 20, autoConverge, deadline, (int) parallel, dir))
                : Optional.empty();
    }

}
