package baton.core.lease;

/**
 * Block 64: the last acquisition an owner published. Every owner writes it once it holds a
 * generation, so {@code baton disk inspect} can show the coordinator from one block. It has
 * many writers over time, so a late write can put an older record back: it is a hint, true
 * when it was written ("generation g was decided for this owner"), never proof of the latest
 * state. Nodes learn decisions from it but never rely on it for safety.
 */
public record LeaderRecord(long generation, Owner owner, long acquiredEpochMillis) {
    public LeaderRecord {
        if (generation < 1 || owner.isNone()) {
            throw new IllegalArgumentException("leader record of generation " + generation + " for " + owner);
        }
    }
}
