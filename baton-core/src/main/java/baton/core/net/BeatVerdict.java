package baton.core.net;

import java.util.Objects;

/** What a receiver does with one datagram: act on the beat, or drop it for a reason. */
public sealed interface BeatVerdict {
    /** Authentic, well-formed, fresh: the sender was alive when it sent {@code beat}. */
    record Accepted(Beat beat) implements BeatVerdict {
        public Accepted {
            Objects.requireNonNull(beat, "beat");
        }
    }

    /** Counted under {@code reason}, never acted on. */
    record Dropped(DropReason reason) implements BeatVerdict {
        public Dropped {
            Objects.requireNonNull(reason, "reason");
        }
    }
}
