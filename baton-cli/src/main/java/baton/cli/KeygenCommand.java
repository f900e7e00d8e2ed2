package baton.cli;

import baton.runtime.config.KeyFile;
import baton.runtime.config.KeyFileException;
import baton.runtime.node.ExitStatus;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "keygen", mixinStandardHelpOptions = true,
        description = "Write a new random cluster key (32 bytes, hex) to FILE with mode 0600. Copy the same file to every node.")
final class KeygenCommand implements Callable<Integer> {
    @Parameters(paramLabel = "FILE", description = "Where to write the key, e.g. /etc/baton/cluster.key")
    Path file;

    @Option(names = "--force", description = "Overwrite an existing key file (every node must then get the new key).")
    boolean force;

    @Override
    public Integer call() {
        try {
            KeyFile.generate(file, force);
        } catch (KeyFileException e) {
            throw new CliFailure(ExitStatus.FAILURE, e.getMessage());
        }
        System.out.println("wrote cluster key " + file + " (mode 0600)");
        return ExitStatus.OK;
    }
}
