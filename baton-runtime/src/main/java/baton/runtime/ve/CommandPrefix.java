package baton.runtime.ve;

import java.util.ArrayList;
import java.util.List;

/**
 * What runs a command on a VE's host: nothing on a real node; {@code ip netns exec NS} for a
 * host of the lab, which this module cannot depend on. The prefix must exec the command, not
 * fork it ({@code ip netns exec} and {@code nsenter} do), so that the pid Baton holds is the
 * command's own and a kill reaches it.
 *
 * @param words prepended to every command; empty for none
 */
public record CommandPrefix(List<String> words) {
    public CommandPrefix {
        words = List.copyOf(words);
    }

    /** Runs commands as they are, on this host. */
    public static CommandPrefix none() {
        return new CommandPrefix(List.of());
    }

    /** Runs commands inside network namespace {@code netns} ({@code ip netns exec NETNS}). */
    public static CommandPrefix netns(String netns) {
        if (netns.isEmpty() || netns.contains("/")) {
            throw new IllegalArgumentException("not a network namespace name: '" + netns + "'");
        }
        return new CommandPrefix(List.of("ip", "netns", "exec", netns));
    }

    public List<String> apply(List<String> command) {
        List<String> full = new ArrayList<>(words.size() + command.size());
        full.addAll(words);
        full.addAll(command);
        return List.copyOf(full);
    }

    @Override
    public String toString() {
        return words.isEmpty() ? "this host" : String.join(" ", words);
    }
}
