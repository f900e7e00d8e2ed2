package baton.runtime.fence;

import java.util.Objects;

/**
 * One thing wrong with the parameters of a fence device (or of an OCF resource, see
 * {@code baton.runtime.resource.OcfMetadata}), with what to do about it. The
 * configuration loader turns it into a problem of the configuration file by adding the file,
 * line and key of {@link #parameter()}.
 *
 * @param agent the agent's name, e.g. {@code fence_ipmilan}
 * @param parameter the parameter concerned, as given (or, when missing, as it should be given)
 * @param problem what is wrong, naming the parameter; never a secret value
 * @param fix a concrete change that makes the problem go away
 */
public record ParameterProblem(String agent, String parameter, String problem, String fix) {
    public ParameterProblem {
        Objects.requireNonNull(agent, "agent");
        Objects.requireNonNull(parameter, "parameter");
        Objects.requireNonNull(problem, "problem");
        Objects.requireNonNull(fix, "fix");
    }

    /** {@code AGENT: parameter 'NAME': PROBLEM; fix: FIX}. */
    public String message() {
        return agent + ": parameter '" + parameter + "': " + problem + "; fix: " + fix;
    }

    @Override
    public String toString() {
        return message();
    }
}
