package baton.runtime.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import baton.core.disk.ClusterKey;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HexFormat;
import java.util.Locale;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KeyFileTest {
    static final String HEX = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    @TempDir
    Path dir;

    Path keyFile() {
        return dir.resolve("cluster.key");
    }

    Path writeKeyFile(String content, String mode) throws Exception {
        Path file = keyFile();
        Files.writeString(file, content, StandardCharsets.US_ASCII);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(mode));
        return file;
    }

    @Nested
    class Generate {
        @Test
        void writesOwnerOnly64LowercaseHexDigitsAndANewline() throws Exception {
            KeyFile.generate(keyFile(), false);

            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(keyFile()))).isEqualTo("rw-------");
            assertThat(Files.readString(keyFile())).matches("[0-9a-f]{64}\n");
        }

        @Test
        void theKeyReadsBackAsWritten() throws Exception {
            KeyFile.generate(keyFile(), false);

            byte[] written = HexFormat.of().parseHex(Files.readString(keyFile()).strip());
            assertThat(KeyFile.read(keyFile()).fingerprintHex()).isEqualTo(new ClusterKey(written).fingerprintHex());
        }

        @Test
        void everyKeyIsNew() throws Exception {
            KeyFile.generate(keyFile(), false);
            String first = Files.readString(keyFile());
            KeyFile.generate(keyFile(), true);

            assertThat(Files.readString(keyFile())).isNotEqualTo(first);
        }

        @Test
        void refusesToReplaceAnExistingFile() throws Exception {
            writeKeyFile(HEX + "\n", "rw-------");

            assertThatThrownBy(() -> KeyFile.generate(keyFile(), false))
                    .isInstanceOf(KeyFileException.class)
                    .hasMessage(keyFile() + " already exists; refusing to replace the cluster key; fix: use --force to"
                            + " replace it, then copy the new key file to every node");
            assertThat(Files.readString(keyFile())).isEqualTo(HEX + "\n");
        }

        @Test
        void refusesEvenADanglingSymbolicLink() throws Exception {
            Files.createSymbolicLink(keyFile(), dir.resolve("nowhere"));

            assertThatThrownBy(() -> KeyFile.generate(keyFile(), false)).hasMessageContaining("--force");
            assertThat(dir.resolve("nowhere")).doesNotExist();
        }

        @Test
        void forceReplacesTheFileWithAnOwnerOnlyOne() throws Exception {
            writeKeyFile(HEX + "\n", "rw-r--r--");

            KeyFile.generate(keyFile(), true);

            assertThat(Files.readString(keyFile())).matches("[0-9a-f]{64}\n").isNotEqualTo(HEX + "\n");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(keyFile()))).isEqualTo("rw-------");
        }

        @Test
        void leavesNoTemporaryFilesBehind() throws Exception {
            KeyFile.generate(keyFile(), false);
            KeyFile.generate(keyFile(), true);
            assertThatThrownBy(() -> KeyFile.generate(keyFile(), false)).isInstanceOf(KeyFileException.class);

            try (var files = Files.list(dir)) {
                assertThat(files).containsExactly(keyFile());
            }
        }

        @Test
        void aMissingFolderIsNamed() {
            Path file = dir.resolve("etc/baton/cluster.key");

            assertThatThrownBy(() -> KeyFile.generate(file, false))
                    .isInstanceOf(KeyFileException.class)
                    .hasMessage(file + " cannot be created: the folder " + file.getParent() + " does not exist; fix:"
                            + " create the folder first, e.g. mkdir -p " + file.getParent());
        }
    }

    @Nested
    class Read {
        @Test
        void readsAKeyWithOrWithoutNewlineInEitherCase() throws Exception {
            String expected = new ClusterKey(HexFormat.of().parseHex(HEX)).fingerprintHex();

            assertThat(KeyFile.read(writeKeyFile(HEX + "\n", "rw-------")).fingerprintHex()).isEqualTo(expected);
            assertThat(KeyFile.read(writeKeyFile(HEX, "r--------")).fingerprintHex()).isEqualTo(expected);
            assertThat(KeyFile.read(writeKeyFile(HEX.toUpperCase(Locale.ROOT) + "\n", "rw-------"))
                    .fingerprintHex()).isEqualTo(expected);
        }

        @Test
        void aMissingFile() {
            assertThatThrownBy(() -> KeyFile.read(keyFile()))
                    .isInstanceOf(KeyFileException.class)
                    .hasMessageStartingWith(keyFile() + " does not exist; fix: copy the key file from another node");
        }

        @Test
        void aFileReadableByOthers() throws Exception {
            writeKeyFile(HEX + "\n", "rw-r--r--");

            assertThatThrownBy(() -> KeyFile.read(keyFile()))
                    .isInstanceOf(KeyFileException.class)
                    .hasMessage(keyFile() + " is readable by others (mode 0644); fix: chmod 600 " + keyFile());
        }

        @Test
        void aFileReadableByTheGroup() throws Exception {
            writeKeyFile(HEX + "\n", "rw-r-----");

            assertThatThrownBy(() -> KeyFile.read(keyFile()))
                    .hasMessage(keyFile() + " is readable by others (mode 0640); fix: chmod 600 " + keyFile());
        }

        @Test
        void aFileWritableByOthers() throws Exception {
            writeKeyFile(HEX + "\n", "rw-----w-");

            assertThatThrownBy(() -> KeyFile.read(keyFile()))
                    .hasMessage(keyFile() + " is writable by others (mode 0602); fix: chmod 600 " + keyFile());
        }

        @Test
        void theModeIsCheckedBeforeTheContent() throws Exception {
            writeKeyFile("not a key", "rw-rw-rw-");

            assertThatThrownBy(() -> KeyFile.read(keyFile())).hasMessageContaining("(mode 0666)");
        }

        @Test
        void tooShort() throws Exception {
            writeKeyFile(HEX.substring(1) + "\n", "rw-------");

            assertThatThrownBy(() -> KeyFile.read(keyFile()))
                    .isInstanceOf(KeyFileException.class)
                    .hasMessage(keyFile() + " holds 64 bytes, but a cluster key is 64 hex digits and a newline; fix:"
                            + " copy the key file from another node of this cluster (all nodes need the same key)");
        }

        @Test
        void tooLong() throws Exception {
            writeKeyFile(HEX + HEX + "\n", "rw-------");

            assertThatThrownBy(() -> KeyFile.read(keyFile())).hasMessageContaining("holds more than 65 bytes");
        }

        @Test
        void empty() throws Exception {
            writeKeyFile("", "rw-------");

            assertThatThrownBy(() -> KeyFile.read(keyFile())).hasMessageContaining(" holds 0 bytes");
        }

        @Test
        void notHexWithoutShowingTheContent() throws Exception {
            writeKeyFile(HEX.substring(0, 10) + "g" + HEX.substring(11) + "\n", "rw-------");

            assertThatThrownBy(() -> KeyFile.read(keyFile()))
                    .hasMessage(keyFile() + " holds a character that is not a hex digit at position 11; fix: copy the"
                            + " key file from another node of this cluster (all nodes need the same key)")
                    .message().doesNotContain(HEX.substring(0, 10));
        }

        @Test
        void aFolder() throws Exception {
            Files.createDirectory(keyFile(), PosixFilePermissions.asFileAttribute(KeyFile.OWNER_ONLY));

            assertThatThrownBy(() -> KeyFile.read(keyFile())).hasMessageContaining(" is not a regular file");
        }
    }

    @Test
    void modesAreShownInOctal() {
        assertThat(KeyFile.mode(PosixFilePermissions.fromString("rw-------"))).isEqualTo("0600");
        assertThat(KeyFile.mode(PosixFilePermissions.fromString("rwxr-x--x"))).isEqualTo("0751");
        assertThat(KeyFile.mode(PosixFilePermissions.fromString("---------"))).isEqualTo("0000");
    }
}
