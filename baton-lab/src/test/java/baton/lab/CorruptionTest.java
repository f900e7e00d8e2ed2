package baton.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CorruptionTest {
    @TempDir
    Path dir;

    @Test
    void flipByteInvertsOneByteAndTwiceRestoresIt() throws IOException {
        Path f = dir.resolve("f");
        Files.write(f, new byte[] {0x00, 0x0F, 0x33});
        Corruption.flipByte(f, 1);
        assertThat(Files.readAllBytes(f)).containsExactly(0x00, 0xF0, 0x33);
        Corruption.flipByte(f, 1);
        assertThat(Files.readAllBytes(f)).containsExactly(0x00, 0x0F, 0x33);
    }

    @Test
    void flipBytePastTheEndIsRefused() throws IOException {
        Path f = dir.resolve("f");
        Files.write(f, new byte[] {1, 2});
        assertThatThrownBy(() -> Corruption.flipByte(f, 2)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("past the end");
        assertThat(Files.readAllBytes(f)).containsExactly(1, 2);
    }
}
