package baton.lab.bmc;

/** What a BMC says about its machine's power, or that it said nothing in time. */
public enum PowerStatus {
    ON,
    OFF,
    /** The BMC did not answer (stopped, unreachable) or answered something unexpected. */
    NO_ANSWER
}
