package dev.carapace.config;

import dev.carapace.yaml.Problem;

import java.util.List;
import java.util.stream.Collectors;

/** The config file could not be used. {@link #getMessage()} lists every problem, one per line. */
public class ConfigException extends Exception {

    private final List<Problem> problems;

    public ConfigException(List<Problem> problems) {
        super(problems.stream().map(Problem::toString).collect(Collectors.joining("\n")));
        this.problems = List.copyOf(problems);
    }

    /** The errors, in file order. */
    public List<Problem> problems() {
        return problems;
    }
}
