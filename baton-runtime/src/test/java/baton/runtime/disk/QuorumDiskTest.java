package baton.runtime.disk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import baton.core.disk.ClusterKey;
import baton.core.disk.Copy;
import baton.core.disk.DiskLayout;
import baton.core.disk.HeaderRead;
import baton.runtime.config.QuorumDiskConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Real files on a real file system: init, refusal of foreign disks, header repair, direct I/O. */
class QuorumDiskTest {
    static final ClusterKey KEY = new ClusterKey(new byte[32]);
    Path dir;

    @BeforeEach
    void dir() throws Exception {
        // /var/tmp rather than /tmp: on this kind of machine it is a disk file system that takes O_DIRECT.
        dir = Files.createTempDirectory(Path.of("/var/tmp"), "baton-qd-test-");
    }

    @AfterEach
    void clean() throws Exception {
        try (var s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    QuorumDiskConfig single() {
        return new QuorumDiskConfig(dir.resolve("q.img"), null);
    }

    @Test
    void initWritesBothCopiesOfAFreshFileAndVerifyAcceptsThem() throws Exception {
        QuorumDisk.init(single(), "alpha", KEY, false, 1234);
        assertThat(Files.size(dir.resolve("q.img"))).isEqualTo(2 * DiskLayout.REGION_SIZE_BYTES);
        try (QuorumDisk d = QuorumDisk.open(single(), true)) {
            assertThat(d.readHeader(Copy.PRIMARY)).isInstanceOf(HeaderRead.Valid.class);
            assertThat(d.readHeader(Copy.SHADOW)).isInstanceOfSatisfying(HeaderRead.Valid.class,
                    v -> assertThat(v.header().copy()).isEqualTo(Copy.SHADOW));
            QuorumDisk.Verified v = d.verify("alpha", KEY, true);
            assertThat(v.header().clusterName()).isEqualTo("alpha");
            assertThat(v.notes()).isEmpty();
            assertThat(d.copy(Copy.PRIMARY).direct()).isTrue();
        }
    }

    @Test
    void initRefusesAnInitialisedDiskAndLeavesItsBytesUnchanged() throws Exception {
        QuorumDisk.init(single(), "alpha", KEY, false, 1234);
        String before = sha(dir.resolve("q.img"));
        assertThatThrownBy(() -> QuorumDisk.init(single(), "beta", KEY, false, 99))
                .isInstanceOf(DiskRefusedException.class)
                .hasMessageContaining("refusing to initialise").hasMessageContaining("alpha").hasMessageContaining("--force");
        assertThat(sha(dir.resolve("q.img"))).isEqualTo(before);
        QuorumDisk.init(single(), "beta", KEY, true, 99);
        assertThat(sha(dir.resolve("q.img"))).isNotEqualTo(before);
    }

    @Test
    void initRefusesAFileWithOtherContent() throws Exception {
        byte[] junk = new byte[(int) (2 * DiskLayout.REGION_SIZE_BYTES)];
        new Random(1).nextBytes(junk);
        Files.write(dir.resolve("q.img"), junk);
        assertThatThrownBy(() -> QuorumDisk.init(single(), "alpha", KEY, false, 1))
                .isInstanceOf(DiskRefusedException.class).hasMessageContaining("not a Baton quorum disk");
        assertThat(Files.readAllBytes(dir.resolve("q.img"))).isEqualTo(junk);
    }

    @Test
    void aNodeRefusesAnotherClustersDiskAnotherKeyAndAnUnknownVersion() throws Exception {
        QuorumDisk.init(single(), "alpha", KEY, false, 1);
        try (QuorumDisk d = QuorumDisk.open(single(), true)) {
            assertThatThrownBy(() -> d.verify("beta", KEY, true)).hasMessageContaining("belongs to cluster 'alpha'");
            byte[] other = new byte[32];
            other[5] = 1;
            assertThatThrownBy(() -> d.verify("alpha", new ClusterKey(other), true)).hasMessageContaining("another cluster key");
        }
        try (var ch = java.nio.channels.FileChannel.open(dir.resolve("q.img"), java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(new byte[] {0, 0, 0, 2}), 8); // format version 2 in the primary header
        }
        String before = sha(dir.resolve("q.img"));
        try (QuorumDisk d = QuorumDisk.open(single(), true)) {
            assertThatThrownBy(() -> d.verify("alpha", KEY, true))
                    .isInstanceOf(DiskRefusedException.class).hasMessageContaining("format version 2");
        }
        assertThat(sha(dir.resolve("q.img"))).isEqualTo(before);
    }

    @Test
    void aCorruptHeaderCopyIsRepairedFromTheOtherAndBothCorruptIsRefused() throws Exception {
        QuorumDisk.init(single(), "alpha", KEY, false, 1);
        flip(dir.resolve("q.img"), 40);
        try (QuorumDisk d = QuorumDisk.open(single(), true)) {
            assertThat(d.readHeader(Copy.PRIMARY)).isInstanceOf(HeaderRead.Corrupt.class);
            assertThat(d.verify("alpha", KEY, true).notes()).singleElement().asString().contains("repaired the primary header");
            assertThat(d.readHeader(Copy.PRIMARY)).isInstanceOf(HeaderRead.Valid.class);
        }
        flip(dir.resolve("q.img"), 40);
        flip(dir.resolve("q.img"), DiskLayout.REGION_SIZE_BYTES + 40);
        try (QuorumDisk d = QuorumDisk.open(single(), true)) {
            assertThatThrownBy(() -> d.verify("alpha", KEY, true))
                    .isInstanceOfSatisfying(DiskRefusedException.class, e -> assertThat(e.ioFailure()).isFalse())
                    .hasMessageContaining("no valid header on either copy");
        }
    }

    @Test
    void primaryAndShadowSwappedAreRefused() throws Exception {
        QuorumDiskConfig two = new QuorumDiskConfig(dir.resolve("a.img"), dir.resolve("b.img"));
        QuorumDisk.init(two, "alpha", KEY, false, 1);
        try (QuorumDisk d = QuorumDisk.open(new QuorumDiskConfig(dir.resolve("b.img"), dir.resolve("a.img")), true)) {
            assertThatThrownBy(() -> d.verify("alpha", KEY, true)).hasMessageContaining("swapped");
        }
    }

    @Test
    void withoutODirectTheCopyFallsBackToFdatasyncAndSaysSo() throws Exception {
        Path file = dir.resolve("buffered.img");
        Files.write(file, new byte[(int) DiskLayout.REGION_SIZE_BYTES]);
        try (DiskCopy c = DiskCopy.open(Copy.PRIMARY, file, 0, true, null)) {
            assertThat(c.direct()).isFalse();
            assertThat(c.ioMode()).startsWith("buffered+dsync+fdatasync (O_DIRECT refused");
            byte[] block = new byte[4096];
            block[7] = 42;
            c.write(4096, block);
            assertThat(c.read(4096, 4096)).isEqualTo(block);
        }
        assertThat(Files.readAllBytes(file)[4096 + 7]).isEqualTo((byte) 42);
    }

    @Test
    void aDeviceSmallerThanTheLayoutIsReportedNotMisread() throws Exception {
        Path small = dir.resolve("small.img");
        Files.write(small, new byte[8192]);
        try (DiskCopy c = DiskCopy.open(Copy.PRIMARY, small, 0, false)) {
            assertThatThrownBy(() -> c.read(0, DiskLayout.LIVENESS_AREA_BYTES)).hasMessageContaining("smaller than the quorum disk layout");
        }
    }

    static void flip(Path file, long offset) throws Exception {
        try (var ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE)) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(1);
            ch.read(b, offset);
            b.put(0, (byte) (b.get(0) ^ 0xff)).rewind();
            ch.write(b, offset);
            ch.force(true);
        }
    }

    static String sha(Path file) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }
}
