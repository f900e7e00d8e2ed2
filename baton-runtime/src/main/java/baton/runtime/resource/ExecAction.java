package baton.runtime.resource;

/** The three commands of an {@link ExecResource}. */
public enum ExecAction {
    START,
    STOP,
    /** Exit 0 = running, 3 (LSB) or 7 (OCF) = stopped, anything else = failed; see {@link ExecDriver}. */
    STATUS
}
