package dev.carapace.skill;

import dev.carapace.yaml.Problem;

import java.util.List;

/**
 * A {@code SKILL.md} that cannot be used: its message names the file and line, what was wrong and what is expected
 * ({@code skills/x/SKILL.md:3:7: name: ...}). {@link #problems()} holds every problem found, the first one first.
 */
public final class SkillFormatException extends Exception {

    private final transient List<Problem> problems;

    public SkillFormatException(List<Problem> problems) {
        super(message(problems), null, false, false);
        this.problems = List.copyOf(problems);
    }

    /** One problem without a position (the file as a whole). */
    public SkillFormatException(String where, String message) {
        this(List.of(new Problem(where, 0, 0, "", message)));
    }

    /** Every problem found, in file order. */
    public List<Problem> problems() {
        return problems;
    }

    private static String message(List<Problem> problems) {
        if (problems.isEmpty()) throw new IllegalArgumentException("no problems");
        String first = problems.getFirst().toString();
        return problems.size() == 1 ? first : first + " (and " + (problems.size() - 1) + " more)";
    }
}
