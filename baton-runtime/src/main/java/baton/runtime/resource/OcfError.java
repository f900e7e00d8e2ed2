package baton.runtime.resource;

/**
 * The failing exit codes of the OCF resource agent API (ocf-returncodes of resource-agents,
 * and "OCF Return Codes" in Pacemaker Explained), each with how far the failure reaches.
 * 0 (OCF_SUCCESS), 7 (OCF_NOT_RUNNING) and 8 (OCF_RUNNING_PROMOTED) are not failures: they are
 * {@link ResourceResult.Ok}, {@link ResourceResult.NotRunning} and {@link ResourceResult.Promoted}.
 */
public enum OcfError {
    /** 1, OCF_ERR_GENERIC: the action failed; recovering in place may work. */
    GENERIC(1, Reach.SOFT),
    /** 2, OCF_ERR_ARGS: the parameters are wrong for this node. */
    INVALID_ARGUMENT(2, Reach.HARD),
    /** 3, OCF_ERR_UNIMPLEMENTED: the agent has no such action. */
    UNIMPLEMENTED(3, Reach.HARD),
    /** 4, OCF_ERR_PERM: the agent lacks privileges here. */
    INSUFFICIENT_PRIVILEGES(4, Reach.HARD),
    /** 5, OCF_ERR_INSTALLED: something the resource needs is not installed on this node. */
    NOT_INSTALLED(5, Reach.HARD),
    /** 6, OCF_ERR_CONFIGURED: the configuration is wrong and would be wrong on every node. */
    NOT_CONFIGURED(6, Reach.FATAL),
    /** 9, OCF_FAILED_PROMOTED: running in the promoted role, but failed. */
    FAILED_PROMOTED(9, Reach.SOFT),
    /** Any other status, including deaths by signal (128 + N): treated like a generic error. */
    OTHER(-1, Reach.SOFT);

    /** How far a failure reaches, as Pacemaker handles it. */
    public enum Reach {
        /** This attempt failed: recover in place (stop, start), then elsewhere per policy. */
        SOFT,
        /** The resource cannot run on this node: recover it elsewhere. */
        HARD,
        /** The resource cannot run anywhere until its configuration is fixed: stop it everywhere. */
        FATAL
    }

    private final int exitCode;
    private final Reach reach;

    OcfError(int exitCode, Reach reach) {
        this.exitCode = exitCode;
        this.reach = reach;
    }

    /** The exit code, or -1 for {@link #OTHER}. */
    public int exitCode() {
        return exitCode;
    }

    public Reach reach() {
        return reach;
    }

    /** The error of a failing exit code; {@link #OTHER} for codes without their own name. */
    public static OcfError of(int exitCode) {
        for (OcfError error : values()) {
            if (error.exitCode == exitCode) {
                return error;
            }
        }
        return OTHER;
    }
}
