package baton.core.lease;

import baton.core.disk.SlotRead;

/** What reading one copy of one node's Disk Paxos block found. */
public sealed interface BlockRead {
    record Valid(LeaseBlock block) implements BlockRead {}

    /** Never written (all zeros in the used bytes). */
    record Empty() implements BlockRead {}

    /** Present but not trustworthy (the same problems as a slot: checksum, MAC, format, misplaced). */
    record Invalid(SlotRead.Problem problem, String detail) implements BlockRead {}

    /** Valid or empty: a reader knows what the writer last put there. */
    default boolean known() {
        return !(this instanceof Invalid);
    }

    default String describe() {
        return switch (this) {
            case Valid v -> "ok (" + v.block().summary() + ")";
            case Empty e -> "empty";
            case Invalid i -> i.problem().name().toLowerCase(java.util.Locale.ROOT) + ": " + i.detail();
        };
    }
}
