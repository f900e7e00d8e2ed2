package baton.core.disk;

/** What reading one copy of one slot found. */
public sealed interface SlotRead {
    record Valid(Slot slot) implements SlotRead {}

    /** Never written (all zero). */
    record Empty() implements SlotRead {}

    /** Present but not trustworthy; {@code problem} says why. */
    record Invalid(Problem problem, String detail) implements SlotRead {}

    /** The I/O failed. */
    record Unreadable(String error) implements SlotRead {}

    enum Problem {
        /** CRC32C mismatch: a flipped bit or a torn write. */
        CHECKSUM,
        /** Checksum fine but the slot's MAC is wrong: written with another key, or forged. */
        MAC,
        /** Not a slot: wrong magic or unknown slot format version. */
        FORMAT,
        /** A well-formed slot of another node id or another cluster, in this place. */
        MISPLACED
    }

    default boolean valid() {
        return this instanceof Valid;
    }

    default String describe() {
        return switch (this) {
            case Valid v -> "ok";
            case Empty e -> "empty";
            case Invalid i -> i.problem().name().toLowerCase(java.util.Locale.ROOT) + ": " + i.detail();
            case Unreadable u -> "unreadable: " + u.error();
        };
    }
}
