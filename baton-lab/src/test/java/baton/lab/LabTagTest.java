package baton.lab;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class LabTagTest {
    @Test
    void namesRoundTrip() {
        LabTag tag = new LabTag(300, 4242, 987654321L);
        assertThat(tag.netns("client")).isEqualTo("baton-lab-300-4242-987654321-client");
        assertThat(LabTag.parse(tag.netns("n12"))).contains(tag);
        assertThat(LabTag.parse(tag.id() + ".loops")).contains(tag);
    }

    @Test
    void otherNamesAreNotLabs() {
        assertThat(LabTag.parse("baton-lab-1-2-3")).isEmpty();
        assertThat(LabTag.parse("somebody-elses-netns")).isEmpty();
        assertThat(LabTag.parse("baton-lab-512-1-1-sw")).isEmpty();
        assertThat(LabTag.parse("baton-lab-1-2-3-sw-extra")).isEmpty();
    }

    @Test
    void subnetsCoverTheBenchmarkRangeOnly() {
        assertThat(new LabTag(0, 1, 1).address(1)).isEqualTo("198.18.0.1");
        assertThat(new LabTag(255, 1, 1).address(250)).isEqualTo("198.18.255.250");
        assertThat(new LabTag(256, 1, 1).address(2)).isEqualTo("198.19.0.2");
        assertThat(new LabTag(511, 1, 1).address(254)).isEqualTo("198.19.255.254");
    }

    @Test
    void ownerAliveKnowsThisJvmAndNotAReusedPid() {
        ProcStat self = ProcStat.self();
        assertThat(new LabTag(0, self.pid(), self.startTicks()).ownerAlive()).isTrue();
        assertThat(new LabTag(0, self.pid(), self.startTicks() + 1).ownerAlive()).as("same pid, another start").isFalse();
    }
}
