package dev.carapace.guard.policy;

import java.util.List;

/** A policy file that cannot be used; {@link #problems()} says every reason, each with its line. */
public final class PolicyException extends Exception {

    private final List<PolicyProblem> problems;

    public PolicyException(List<PolicyProblem> problems) {
        super(problems.isEmpty() ? "invalid policy" : String.join("\n", problems.stream().map(Object::toString).toList()));
        this.problems = List.copyOf(problems);
    }

    public List<PolicyProblem> problems() { return problems; }
}
