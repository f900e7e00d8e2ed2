package baton.cli;

import baton.core.disk.ClusterKey;
import baton.runtime.config.ClusterConfig;
import baton.runtime.config.ConfigException;
import baton.runtime.config.ConfigLoader;
import baton.runtime.config.KeyFile;
import baton.runtime.config.KeyFileException;
import baton.runtime.node.ExitStatus;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The {@code --config} option shared by every command that needs the cluster configuration. */
final class ConfigOption {
    static final String DEFAULT = "/etc/baton/cluster.yaml";

    @Option(names = {"-c", "--config"}, paramLabel = "FILE", defaultValue = DEFAULT,
            description = "Cluster configuration file (default: ${DEFAULT-VALUE}).")
    Path file;

    ClusterConfig load() {
        try {
            return ConfigLoader.load(file);
        } catch (ConfigException e) {
            throw new CliFailure(ExitStatus.CONFIG, "invalid configuration:\n" + e.getMessage());
        }
    }

    static ClusterKey key(ClusterConfig config) {
        try {
            return KeyFile.read(config.keyFile());
        } catch (KeyFileException e) {
            throw new CliFailure(ExitStatus.CONFIG, e.getMessage());
        }
    }
}
