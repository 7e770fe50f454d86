package dev.carapace.guard.policy;

import dev.carapace.yaml.Problem;

import java.util.List;

/** A policy file that cannot be used; {@link #problems()} says every reason, each with its line. */
public final class PolicyException extends Exception {

    private final List<Problem> problems;

    public PolicyException(List<Problem> problems) {
        super(problems.isEmpty() ? "invalid policy" : String.join("\n", problems.stream().map(Object::toString).toList()));
        this.problems = List.copyOf(problems);
    }

    public List<Problem> problems() { return problems; }
}
