package baton.runtime.config;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Loads the cluster configuration file: reads it (bounded), parses the YAML into a tree
 * with line numbers (YamlTree), binds the tree to records (ConfigBinding), and throws one
 * {@link ConfigException} with every problem found. Validation happens here, once; the
 * rest of Baton trusts a {@link ClusterConfig}.
 */
public final class ConfigLoader {
    private ConfigLoader() {}

    /**
     * Limit: a 32-node configuration is a few kilobytes. A bigger file is the wrong file
     * (a disk image, a log), and reading it whole would only delay saying so.
     */
    public static final int MAX_FILE_BYTES = 1 << 20;

    public static ClusterConfig load(Path file) throws ConfigException {
        Problems problems = new Problems(file);
        Optional<String> text = read(file, problems);
        problems.throwIfAny();
        return parse(file, text.orElseThrow());
    }

    /**
     * Parses configuration text as if read from {@code nominalFile}: problems name that file,
     * and relative paths resolve against its folder. The file itself is not read.
     */
    public static ClusterConfig parse(Path nominalFile, String yamlText) throws ConfigException {
        Problems problems = new Problems(nominalFile);
        // A byte order mark, as some editors write, is not part of the YAML.
        String text = yamlText.startsWith("\uFEFF") ? yamlText.substring(1) : yamlText;
        Optional<ClusterConfig> config = YamlTree.read(text, problems)
                .flatMap(root -> ConfigBinding.bind(root, nominalFile, problems));
        problems.throwIfAny();
        return config.orElseThrow(); // no problem means a configuration was built
    }

    private static Optional<String> read(Path file, Problems problems) {
        if (Files.isDirectory(file)) {
            problems.add(0, Problem.WHOLE_FILE, "is a folder, not a file", "name the configuration file itself, e.g. "
                    + file.resolve("cluster.yaml"));
            return Optional.empty();
        }
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file)) {
            bytes = in.readNBytes(MAX_FILE_BYTES + 1);
        } catch (NoSuchFileException e) {
            problems.add(0, Problem.WHOLE_FILE, "the file does not exist",
                    "check the path, or write the cluster configuration to " + file.toAbsolutePath());
            return Optional.empty();
        } catch (AccessDeniedException e) {
            problems.add(0, Problem.WHOLE_FILE, "the file cannot be read: permission denied",
                    "run as a user that may read it, or let this user read it (chmod/chown)");
            return Optional.empty();
        } catch (IOException e) {
            problems.add(0, Problem.WHOLE_FILE, "the file cannot be read: " + e,
                    "check that the path names a readable file on a healthy file system");
            return Optional.empty();
        }
        if (bytes.length > MAX_FILE_BYTES) {
            problems.add(0, Problem.WHOLE_FILE, "the file is larger than " + MAX_FILE_BYTES
                    + " bytes, far larger than a cluster configuration", "check that this is the configuration file");
            return Optional.empty();
        }
        try {
            // Strict decoding: a replaced character would turn a binary file into odd YAML errors.
            return Optional.of(StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes))
                    .toString());
        } catch (CharacterCodingException e) {
            problems.add(0, Problem.WHOLE_FILE, "the file is not UTF-8 text",
                    "check that this is the configuration file, and save it as UTF-8");
            return Optional.empty();
        }
    }
}
