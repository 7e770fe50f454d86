package dev.carapace.config;

import dev.carapace.yaml.Problems;
import dev.carapace.yaml.YamlTree.Scalar;

import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * The checks that every section of the config shares: names, references to what another section defines, and the
 * names of environment variables. Each reports to the {@link Problems} of the file being read.
 */
final class ConfigChecks {

    static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9_-]{0,62}");
    static final Pattern ENV_NAME = Pattern.compile("[A-Z_][A-Z0-9_]*");

    static final String NAME_RULE = "lowercase letters, digits, '_' and '-', starting with a letter or digit, "
            + "at most 63 characters";

    private final Problems problems;
    private final Function<String, String> env;

    /** @param env looks up environment variables; only used to warn about variables that are not set */
    ConfigChecks(Problems problems, Function<String, String> env) {
        this.problems = problems;
        this.env = env;
    }

    /** The file these checks report to. */
    Problems problems() {
        return problems;
    }

    /** The same checks reporting to another file's problems (a discovered agent file). */
    ConfigChecks reportingTo(Problems other) {
        return new ConfigChecks(other, env);
    }

    /** A required reference to one of {@code known}; reports an unknown name with the known ones. */
    String reference(MapReader r, String key, Collection<String> known, String what) {
        Scalar s = r.requiredScalar(key, "the name of a " + what);
        if (s == null) {
            return null;
        }
        if (!known.contains(s.text())) {
            r.error(s, key, unknownReference(s.text(), known, what));
        }
        return s.text();
    }

    /** An optional list of references; empty when absent. */
    Set<String> references(MapReader r, String key, Collection<String> known, String what) {
        List<Scalar> items = r.scalars(key, "a list of " + what + " names", "a " + what + " name");
        Set<String> names = new LinkedHashSet<>();
        if (items == null) {
            return names;
        }
        for (Scalar s : items) {
            if (!known.contains(s.text())) {
                problems.error(s.line(), s.column(), r.pathOf(key), unknownReference(s.text(), known, what));
            }
            names.add(s.text());
        }
        return names;
    }

    static String unknownReference(String name, Collection<String> known, String what) {
        String knownText = known.isEmpty() ? "no " + what + "s are configured"
                : "known " + what + "s: " + String.join(", ", known);
        return "unknown " + what + " '" + name + "' (" + knownText + ")";
    }

    /** Checks a name against {@link #NAME}; line and column locate it. */
    boolean checkName(int line, int column, String path, String name, String what) {
        if (NAME.matcher(name).matches()) {
            return true;
        }
        problems.error(line, column, path, "invalid " + what + " '" + name + "' (expected " + NAME_RULE + ")");
        return false;
    }

    /**
     * The name of an environment variable, or null. The value is never shown in messages: a value that is not a
     * variable name may be the secret itself. A variable that is not set is a warning.
     */
    String envName(MapReader r, String key) {
        Scalar s = r.scalar(key, "the name of an environment variable");
        if (s == null) {
            return null;
        }
        if (!ENV_NAME.matcher(s.text()).matches()) {
            r.error(s, key, "expected the NAME of an environment variable (capital letters, digits and '_', "
                    + "like OPENAI_API_KEY), not its value");
            return null;
        }
        String value = env.apply(s.text());
        if (value == null || value.isEmpty()) {
            problems.warning(s.line(), s.column(), r.pathOf(key), "environment variable " + s.text() + " is not set");
        }
        return s.text();
    }

    /** The enum's constants by their lowercase names, in declaration order. */
    static <E extends Enum<E>> Map<String, E> options(E[] values) {
        Map<String, E> options = new LinkedHashMap<>();
        for (E e : values) {
            options.put(e.name().toLowerCase(Locale.ROOT), e);
        }
        return Collections.unmodifiableMap(options);
    }
}
