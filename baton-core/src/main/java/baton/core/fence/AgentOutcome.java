package baton.core.fence;

/** How one agent call ended, as the shell's agent driver reports it. */
public sealed interface AgentOutcome {
    /** Exit status 0 of an {@code off}. */
    record Success() implements AgentOutcome {}

    /** {@code status} said the power is on (exit 0). */
    record StatusOn() implements AgentOutcome {}

    /** {@code status} said the power is off (exit 2). */
    record StatusOff() implements AgentOutcome {}

    /** The agent failed; {@code reason} is its last meaningful stderr line. */
    record Failed(String reason) implements AgentOutcome {}

    /** The agent ran past its deadline and was killed. */
    record TimedOut() implements AgentOutcome {}

    AgentOutcome SUCCESS = new Success();
    AgentOutcome STATUS_ON = new StatusOn();
    AgentOutcome STATUS_OFF = new StatusOff();
    AgentOutcome TIMED_OUT = new TimedOut();

    static AgentOutcome failed(String reason) {
        return new Failed(reason);
    }
}
