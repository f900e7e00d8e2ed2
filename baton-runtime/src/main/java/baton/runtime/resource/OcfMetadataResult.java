package baton.runtime.resource;

import java.util.Objects;

/** An OCF agent's metadata, or why it could not be had. */
public sealed interface OcfMetadataResult {
    record Loaded(OcfMetadata metadata) implements OcfMetadataResult {
        public Loaded {
            Objects.requireNonNull(metadata, "metadata");
        }
    }

    /** @param reason names the agent, what went wrong and, where there is one, the fix */
    record Unavailable(String reason) implements OcfMetadataResult {
        public Unavailable {
            Objects.requireNonNull(reason, "reason");
        }
    }
}
