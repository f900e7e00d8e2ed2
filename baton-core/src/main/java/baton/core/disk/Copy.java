package baton.core.disk;

/** The two copies of the quorum disk. Readers prefer the primary. */
public enum Copy {
    PRIMARY, SHADOW;

    public Copy other() {
        return this == PRIMARY ? SHADOW : PRIMARY;
    }

    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
