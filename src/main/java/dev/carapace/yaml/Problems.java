package dev.carapace.yaml;

import dev.carapace.yaml.YamlTree.Node;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** Collects the errors and warnings found in one file, each at its line and column, to be listed in file order. */
public final class Problems {

    private static final Comparator<Problem> BY_POSITION =
            Comparator.comparingInt(Problem::line).thenComparingInt(Problem::column);

    private final String file;
    private final List<Problem> errors = new ArrayList<>();
    private final List<Problem> warnings = new ArrayList<>();

    /** @param file the file as it is named in messages */
    public Problems(String file) {
        this.file = file;
    }

    public void error(int line, int column, String path, String message) {
        errors.add(new Problem(file, line, column, path, message));
    }

    /** An error at {@code at}'s line and column. */
    public void error(Node at, String path, String message) {
        error(at.line(), at.column(), path, message);
    }

    public void warning(int line, int column, String path, String message) {
        warnings.add(new Problem(file, line, column, path, message));
    }

    public boolean hasErrors() {
        return !errors.isEmpty();
    }

    /** How many errors so far: a reader compares counts to tell whether one part of the file added any. */
    public int errorCount() {
        return errors.size();
    }

    /** The errors in file order. */
    public List<Problem> errors() {
        return errors.stream().sorted(BY_POSITION).toList();
    }

    /** The warnings in file order. */
    public List<Problem> warnings() {
        return warnings.stream().sorted(BY_POSITION).toList();
    }
}
