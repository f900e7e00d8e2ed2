package baton.core.lease;

import baton.core.disk.SlotRead;

/** What reading one copy of the leader record found. */
public sealed interface LeaderRead {
    record Valid(LeaderRecord record) implements LeaderRead {}

    record Empty() implements LeaderRead {}

    record Invalid(SlotRead.Problem problem, String detail) implements LeaderRead {}
}
