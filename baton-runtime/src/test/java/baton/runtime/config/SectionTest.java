package baton.runtime.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class SectionTest {
    static final List<String> KEYS = List.of("diskIntervalMillis", "missedDiskIntervals", "name", "nodes");

    @Test
    void editDistanceCountsInsertionsDeletionsSubstitutionsAndSwaps() {
        assertThat(Section.editDistance("name", "name")).isZero();
        assertThat(Section.editDistance("nmae", "name")).isEqualTo(1);
        assertThat(Section.editDistance("nam", "name")).isEqualTo(1);
        assertThat(Section.editDistance("names", "name")).isEqualTo(1);
        assertThat(Section.editDistance("nome", "name")).isEqualTo(1);
        assertThat(Section.editDistance("", "name")).isEqualTo(4);
        assertThat(Section.editDistance("id", "name")).isEqualTo(4);
    }

    @Test
    void suggestsOnlyAKnownKeyWithinTwoEdits() {
        assertThat(Section.closest("nmae", KEYS)).contains("name");
        assertThat(Section.closest("node", KEYS)).contains("nodes");
        assertThat(Section.closest("missedDiskInterval", KEYS)).contains("missedDiskIntervals");
        assertThat(Section.closest("DISKINTERVALMILLIS", KEYS)).contains("diskIntervalMillis");
        assertThat(Section.closest("diskIntervalMs", KEYS)).isEmpty();
        assertThat(Section.closest("colour", KEYS)).isEmpty();
        assertThat(Section.closest("x".repeat(10_000), KEYS)).isEmpty();
    }
}
