package baton.lab;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test that leaves {@code ip netns list} different from how it found it. Only this
 * JVM's lab namespaces are compared: other test runs on the machine may create and remove
 * theirs meanwhile.
 */
final class NetnsUnchanged implements BeforeEachCallback, AfterEachCallback {
    private static final ExtensionContext.Namespace STORE = ExtensionContext.Namespace.create(NetnsUnchanged.class);

    @Override
    public void beforeEach(ExtensionContext context) {
        context.getStore(STORE).put("before", ours());
    }

    @Override
    public void afterEach(ExtensionContext context) {
        @SuppressWarnings("unchecked")
        List<String> before = (List<String>) context.getStore(STORE).get("before", List.class);
        assertThat(ours()).as("this JVM's namespaces after the test").isEqualTo(before);
    }

    static List<String> ours() {
        long pid = ProcessHandle.current().pid();
        Predicate<String> mine = n -> LabTag.parse(n).map(t -> t.pid() == pid).orElse(false);
        return Cmd.check(Netns.COMMAND_TIMEOUT, "ip", "netns", "list").lines()
                .map(l -> l.split(" ")[0])
                .filter(mine)
                .sorted()
                .toList();
    }
}
