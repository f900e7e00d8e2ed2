package baton.core.disk;

/** What decoding a header block found. A reader never writes over anything but {@link Valid}. */
public sealed interface HeaderRead {
    /** A well-formed header of a version this code understands. */
    record Valid(DiskHeader header) implements HeaderRead {}

    /** All zeros: nothing was ever initialised here. */
    record Blank() implements HeaderRead {}

    /** Baton's magic but a format version this code does not know: written by another Baton release. */
    record UnknownVersion(int version) implements HeaderRead {}

    /** Baton's magic and version, but the checksum or a field is wrong. */
    record Corrupt(String reason) implements HeaderRead {}

    /** Not a Baton header at all (a file system, another program's data, random bytes). */
    record NotBaton(String reason) implements HeaderRead {}

    /** The block could not be read. */
    record Unreadable(String error) implements HeaderRead {}

    default String describe() {
        return switch (this) {
            case Valid v -> "the valid header of cluster '" + v.header().clusterName() + "' (id " + v.header().clusterId() + ")";
            case Blank b -> "blank (never initialised)";
            case UnknownVersion u -> "unknown format version " + u.version();
            case Corrupt c -> "corrupt: " + c.reason();
            case NotBaton n -> "not a Baton quorum disk: " + n.reason();
            case Unreadable u -> "unreadable: " + u.error();
        };
    }
}
