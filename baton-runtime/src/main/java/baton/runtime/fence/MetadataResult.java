package baton.runtime.fence;

import java.util.Objects;

/** An agent's metadata, or why it could not be had. */
public sealed interface MetadataResult {
    record Loaded(AgentMetadata metadata) implements MetadataResult {
        public Loaded {
            Objects.requireNonNull(metadata, "metadata");
        }
    }

    /** @param reason names the agent, what went wrong and, where there is one, the fix */
    record Unavailable(String reason) implements MetadataResult {
        public Unavailable {
            Objects.requireNonNull(reason, "reason");
        }
    }
}
