package baton.runtime.proc;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ProcessTreeTest {
    @Test
    void statFieldsAreCountedFromTheLastParenthesisSinceTheCommandNameMayHoldAny() {
        ProcessTree.Stat stat = ProcessTree.parse(4242, "4242 (evil) S 1 2 (x) R 17 4000 4242 0 -1 4194560 100 0 0 0");

        assertThat(stat).isEqualTo(new ProcessTree.Stat(4242, 'R', 17, 4242));
        assertThat(stat.live()).isTrue();
        assertThat(ProcessTree.parse(7, "7 (sleep) Z 1 7 7 0 -1").live()).isFalse();
    }
}
