package dev.carapace.config;

import dev.carapace.config.ConfigLoader.Problem;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** Collects the errors and warnings found in one file. */
final class Problems {

    private static final Comparator<Problem> BY_POSITION =
            Comparator.comparingInt(Problem::line).thenComparingInt(Problem::column);

    private final String file;
    private final List<Problem> errors = new ArrayList<>();
    private final List<Problem> warnings = new ArrayList<>();

    Problems(String file) {
        this.file = file;
    }

    void error(int line, int column, String path, String message) {
        errors.add(new Problem(file, line, column, path, message));
    }

    void warning(int line, int column, String path, String message) {
        warnings.add(new Problem(file, line, column, path, message));
    }

    boolean hasErrors() {
        return !errors.isEmpty();
    }

    /** The errors in file order. */
    List<Problem> errors() {
        return errors.stream().sorted(BY_POSITION).toList();
    }

    /** The warnings in file order. */
    List<Problem> warnings() {
        return warnings.stream().sorted(BY_POSITION).toList();
    }
}
