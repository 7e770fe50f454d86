package dev.carapace.config;

import dev.carapace.text.Durations;
import dev.carapace.yaml.Dialect;
import dev.carapace.yaml.KeyPath;
import dev.carapace.yaml.Problems;
import dev.carapace.yaml.YamlTree;
import dev.carapace.yaml.YamlTree.Entry;
import dev.carapace.yaml.YamlTree.ListNode;
import dev.carapace.yaml.YamlTree.MapNode;
import dev.carapace.yaml.YamlTree.Node;
import dev.carapace.yaml.YamlTree.Scalar;

import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the settings of one mapping, key by key, reporting every problem to {@link Problems} and carrying on.
 * Each typed read returns a usable value even after an error (the default, or a neutral fallback), so binding goes
 * on and finds the next problem; the caller never builds a config when there were errors.
 * {@link #finish()} then reports every key that no read asked for.
 */
final class MapReader {

    /** How the YAML reader words the problems of the config and of agent files. */
    private static final Dialect CONFIG = new Dialect("key", "the config is one document",
            "YAML aliases (*%s) are not supported; write the value out in full", true, true, KeyPath::key);

    private static final Pattern WHOLE = Pattern.compile("[+-]?[0-9](_?[0-9])*");
    private static final Pattern DECIMAL = Pattern.compile("[+-]?([0-9](_?[0-9])*)?(\\.[0-9]+)?([eE][+-]?[0-9]+)?");
    private static final Pattern SIZE = Pattern.compile("([0-9](_?[0-9])*)\\s*(b|kb|mb|gb|kib|mib|gib)?",
            Pattern.CASE_INSENSITIVE);
    private static final Map<String, Long> SIZE_UNITS = Map.of("b", 1L,
            "kb", 1000L, "mb", 1000L * 1000, "gb", 1000L * 1000 * 1000,
            "kib", 1024L, "mib", 1024L * 1024, "gib", 1024L * 1024 * 1024);
    private static final int SHOWN_CHARS = 60;

    private final MapNode node;
    private final String path;
    private final int line;
    private final int column;
    private final boolean quiet;
    private final Problems problems;
    private final Set<String> expected = new LinkedHashSet<>();

    /**
     * @param node   the mapping, or null when the section is absent (every read then gives its default)
     * @param line   where a missing required key is reported (the key that introduced this mapping)
     * @param quiet  true when the section itself was already reported (wrong type, missing): required keys are
     *               then not reported again
     */
    private MapReader(MapNode node, String path, int line, int column, boolean quiet, Problems problems) {
        this.node = node;
        this.path = path;
        this.line = line;
        this.column = column;
        this.quiet = quiet;
        this.problems = problems;
    }

    /**
     * Parses the YAML of the config or of an agent file; null when nothing usable could be read, the reason (a
     * syntax error, an empty file) being in {@code problems}.
     */
    static Node parse(String text, Problems problems) {
        Node root = YamlTree.parse(text, CONFIG, problems);
        if (root == null && !problems.hasErrors()) {
            problems.error(1, 1, "", "file is empty");
        }
        return root;
    }

    /**
     * Reads a YAML file of settings found next to the config (an agent's definition, an agent's jobs): its mapping,
     * or null when it cannot be read, does not parse or holds something else, reported to {@code problems}.
     *
     * @param what what the file holds, for the message: "the agent's settings (key: value lines)"
     */
    static MapNode readFile(Path file, Problems problems, String what) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            problems.error(0, 0, "", "cannot read the file: " + e.getClass().getSimpleName());
            return null;
        }
        Node node = parse(text, problems);
        if (node == null) return null;
        if (!(node instanceof MapNode map)) {
            problems.error(node.line(), node.column(), "", "expected " + what + ", got " + YamlTree.describe(node));
            return null;
        }
        return map;
    }

    static MapReader root(MapNode root, Problems problems) {
        return new MapReader(root, "", root.line(), root.column(), false, problems);
    }

    /**
     * A reader for a mapping found somewhere else than under a key of another reader (a list item, the value of a
     * named entry). {@code line}/{@code column} locate the owner, for missing required keys. A null value (nothing
     * written) is an empty mapping.
     */
    static MapReader of(Node value, String path, int line, int column, Problems problems) {
        if (value instanceof MapNode map) {
            return new MapReader(map, path, line, column, false, problems);
        }
        if (value == null || value instanceof Scalar s && s.isNull()) {
            return new MapReader(null, path, line, column, false, problems);
        }
        if (!(value instanceof Scalar s && s.isOpaque())) {
            problems.error(value.line(), value.column(), path, "expected a mapping (key: value lines), got "
                    + YamlTree.describe(value));
        }
        return new MapReader(null, path, line, column, true, problems);
    }

    String path() { return path; }

    Problems problems() { return problems; }

    String pathOf(String key) { return KeyPath.key(path, key); }

    // ---- sections and raw access -------------------------------------------------------------------------------

    /** The entry for {@code key}, or null when absent. Marks the key as known. */
    Entry entry(String key) {
        expected.add(key);
        return node == null ? null : node.get(key);
    }

    /** The value of {@code key}, or null when absent or written as nothing / {@code null} / {@code ~}. */
    Node value(String key) {
        Entry e = entry(key);
        return e == null || e.value() instanceof Scalar s && s.isNull() ? null : e.value();
    }

    /** An optional sub-mapping; absent or empty gives a reader whose reads all return their defaults. */
    MapReader object(String key) {
        Entry e = entry(key);
        if (e == null) {
            return new MapReader(null, pathOf(key), line, column, false, problems);
        }
        return of(e.value(), pathOf(key), e.line(), e.column(), problems);
    }

    /** A required sub-mapping. */
    MapReader requiredObject(String key, String what) {
        Entry e = entry(key);
        if (e == null || e.value() instanceof Scalar s && s.isNull()) {
            missing(e, key, what);
            return new MapReader(null, pathOf(key), line, column, true, problems);
        }
        return of(e.value(), pathOf(key), e.line(), e.column(), problems);
    }

    /** The entries of a mapping whose keys are names (providers, models, teams); empty when absent. */
    List<Entry> entries(String key) {
        Node v = value(key);
        if (v == null) {
            return List.of();
        }
        if (v instanceof MapNode map) {
            return List.copyOf(map.entries().values());
        }
        wrongType(v, key, "a mapping (name: settings lines)");
        return List.of();
    }

    /** A list; null when absent, after reporting when not a list. */
    ListNode list(String key, String what) {
        Node v = value(key);
        if (v == null || v instanceof ListNode) {
            return (ListNode) v;
        }
        wrongType(v, key, what);
        return null;
    }

    /** A required list; null when missing or not a list (both reported). */
    ListNode requiredList(String key, String what) {
        Entry e = entry(key);
        if (e == null || e.value() instanceof Scalar s && s.isNull()) {
            missing(e, key, what);
            return null;
        }
        return list(key, what);
    }

    /** The scalar items of a list; null when absent. Items that are not scalars are reported and left out. */
    List<Scalar> scalars(String key, String listWhat, String what) {
        ListNode list = list(key, listWhat);
        if (list == null) {
            return null;
        }
        List<Scalar> out = new ArrayList<>();
        for (int i = 0; i < list.items().size(); i++) {
            Node item = list.items().get(i);
            if (item instanceof Scalar s && !s.isNull()) {
                if (!s.isOpaque()) {
                    out.add(s);
                }
            } else {
                problems.error(item.line(), item.column(), KeyPath.index(pathOf(key), i),
                        "expected " + what + ", got " + YamlTree.describe(item));
            }
        }
        return out;
    }

    // ---- scalars -----------------------------------------------------------------------------------------------

    /** An optional scalar; null when absent, null, or (after reporting) not a scalar. */
    Scalar scalar(String key, String what) {
        Node v = value(key);
        if (v == null) {
            return null;
        }
        if (v instanceof Scalar s) {
            return s.isOpaque() ? null : s;
        }
        wrongType(v, key, what);
        return null;
    }

    /** A required scalar; reports it missing. */
    Scalar requiredScalar(String key, String what) {
        Entry e = entry(key);
        if (e == null || e.value() instanceof Scalar s && s.isNull()) {
            missing(e, key, what);
            return null;
        }
        return scalar(key, what);
    }

    String string(String key, String what, String defaultValue) {
        Scalar s = scalar(key, what);
        return s == null ? defaultValue : nonEmpty(s, key, what);
    }

    String requiredString(String key, String what) {
        Scalar s = requiredScalar(key, what);
        return s == null ? null : nonEmpty(s, key, what);
    }

    private String nonEmpty(Scalar s, String key, String what) {
        if (s.text().isBlank()) {
            error(s, key, "must not be empty (expected " + what + ")");
            return null;
        }
        return s.text();
    }

    boolean bool(String key, boolean defaultValue) {
        Scalar s = scalar(key, "true or false");
        if (s == null) {
            return defaultValue;
        }
        if (s.text().equalsIgnoreCase("true")) {
            return true;
        }
        if (s.text().equalsIgnoreCase("false")) {
            return false;
        }
        wrongType(s, key, "true or false");
        return defaultValue;
    }

    int integer(String key, int min, int max, int defaultValue) {
        Scalar s = scalar(key, "a whole number");
        return s == null ? defaultValue : toInt(s, key, min, max, defaultValue);
    }

    /** A required whole number; 0 when missing or invalid (reported). */
    int requiredInteger(String key, int min, int max) {
        Scalar s = requiredScalar(key, "a whole number");
        return s == null ? 0 : toInt(s, key, min, max, 0);
    }

    private int toInt(Scalar s, String key, int min, int max, int fallback) {
        if (!WHOLE.matcher(s.text()).matches()) {
            wrongType(s, key, "a whole number");
            return fallback;
        }
        BigInteger value = new BigInteger(s.text().replace("_", ""));
        if (value.compareTo(BigInteger.valueOf(min)) < 0 || value.compareTo(BigInteger.valueOf(max)) > 0) {
            error(s, key, range(min, max, Integer.MAX_VALUE) + ", got " + value);
            return fallback;
        }
        return value.intValue();
    }

    /** A number of bytes: a whole number, or one with a unit: B, KB, MB, GB (powers of 1000), KiB, MiB, GiB. */
    long size(String key, long min, long max, long defaultValue) {
        String what = "a size in bytes like 1048576, 512KiB, 10MiB or 1GB";
        Scalar s = scalar(key, what);
        if (s == null) {
            return defaultValue;
        }
        Matcher m = SIZE.matcher(s.text().trim());
        if (!m.matches()) {
            wrongType(s, key, what);
            return defaultValue;
        }
        String unit = m.group(3) == null ? "b" : m.group(3).toLowerCase(Locale.ROOT);
        BigInteger bytes = new BigInteger(m.group(1).replace("_", "")).multiply(BigInteger.valueOf(SIZE_UNITS.get(unit)));
        if (bytes.compareTo(BigInteger.valueOf(min)) < 0 || bytes.compareTo(BigInteger.valueOf(max)) > 0) {
            error(s, key, range(min, max, Long.MAX_VALUE) + " bytes, got " + bytes);
            return defaultValue;
        }
        return bytes.longValue();
    }

    /**
     * A duration as {@link Durations} reads it: {@code 250ms}, {@code 5s}, {@code 2m}, {@code 1h}, {@code 3d},
     * {@code 2h30m} or ISO-8601 ({@code PT2H}).
     */
    Duration duration(String key, Duration min, Duration defaultValue) {
        String what = "a duration like 250ms, 5s, 2m or 1h";
        Scalar s = scalar(key, what);
        if (s == null) {
            return defaultValue;
        }
        Optional<Duration> parsed;
        try {
            parsed = Durations.parse(s.text());
        } catch (ArithmeticException e) {
            error(s, key, "duration " + YamlTree.describe(s) + " is too long");
            return defaultValue;
        }
        if (parsed.isEmpty()) {
            String hint = WHOLE.matcher(s.text()).matches() ? " (add a unit: ms, s, m or h)" : "";
            error(s, key, "expected " + what + ", got " + YamlTree.describe(s) + hint);
            return defaultValue;
        }
        Duration d = parsed.get();
        if (d.compareTo(min) < 0) {
            error(s, key, "must be at least " + format(min) + ", got " + s.text().trim());
            return defaultValue;
        }
        return d;
    }

    /** A decimal number read from the scalar's text (never through a double), at least zero. */
    BigDecimal decimal(String key, BigDecimal defaultValue) {
        Scalar s = scalar(key, "a decimal number");
        return s == null ? defaultValue : toDecimal(s, key, defaultValue);
    }

    BigDecimal requiredDecimal(String key) {
        Scalar s = requiredScalar(key, "a decimal number");
        return s == null ? BigDecimal.ZERO : toDecimal(s, key, BigDecimal.ZERO);
    }

    private BigDecimal toDecimal(Scalar s, String key, BigDecimal fallback) {
        String text = s.text().trim();
        if (!DECIMAL.matcher(text).matches() || !text.matches(".*[0-9].*")) {
            wrongType(s, key, "a decimal number");
            return fallback;
        }
        BigDecimal value;
        try {
            value = new BigDecimal(text.replace("_", ""));
        } catch (NumberFormatException e) {
            wrongType(s, key, "a decimal number");
            return fallback;
        }
        if (value.signum() < 0) {
            error(s, key, "must not be negative, got " + text);
            return fallback;
        }
        return value;
    }

    /** A number greater than zero; {@code defaultValue} when absent. */
    double positiveNumber(String key, double defaultValue) {
        Scalar s = scalar(key, "a number");
        if (s == null) {
            return defaultValue;
        }
        BigDecimal value = toDecimal(s, key, null);
        if (value == null) {
            return defaultValue;
        }
        if (value.signum() == 0) {
            error(s, key, "must be greater than 0 (leave it out for none), got " + s.text().trim());
            return defaultValue;
        }
        return value.doubleValue();
    }

    /** One of a fixed set of words, matched exactly. */
    <T> T choice(String key, Map<String, T> options, T defaultValue) {
        Scalar s = scalar(key, "one of: " + String.join(", ", options.keySet()));
        return s == null ? defaultValue : toChoice(s, key, options, defaultValue);
    }

    <T> T requiredChoice(String key, Map<String, T> options) {
        Scalar s = requiredScalar(key, "one of: " + String.join(", ", options.keySet()));
        return s == null ? null : toChoice(s, key, options, null);
    }

    private <T> T toChoice(Scalar s, String key, Map<String, T> options, T fallback) {
        T value = options.get(s.text());
        if (value == null) {
            error(s, key, "unknown value " + YamlTree.describe(s) + " (expected one of: " + String.join(", ", options.keySet()) + ")");
            return fallback;
        }
        return value;
    }

    // ---- end ---------------------------------------------------------------------------------------------------

    /** Reports every key of the mapping that no read asked for. Secret-looking keys are reported elsewhere. */
    void finish() {
        if (node == null) {
            return;
        }
        for (Entry e : node.entries().values()) {
            boolean reportedAsSecret = SecretsSection.isSecretKey(e.key()) && !SecretsSection.namesSecret(path, e.key());
            if (!expected.contains(e.key()) && !reportedAsSecret) {
                problems.error(e.line(), e.column(), pathOf(e.key()), "unknown key '" + e.key()
                        + "' (expected one of: " + String.join(", ", expected) + ")");
            }
        }
    }

    // ---- reporting ---------------------------------------------------------------------------------------------

    /** Reports a problem with this mapping as a whole, at the key that introduced it (unless already reported). */
    void errorHere(String message) {
        if (!quiet) problems.error(line, column, path, message);
    }

    /** Reports a problem with the value of {@code key}. */
    void error(Node at, String key, String message) {
        problems.error(at.line(), at.column(), pathOf(key), message);
    }

    /** Reports a problem at {@code at} (at the key that introduced this mapping when null), under {@code path}. */
    void errorAt(Node at, String path, String message) {
        if (at == null) problems.error(line, column, path, message);
        else problems.error(at.line(), at.column(), path, message);
    }

    /** Warns about the value of {@code key}. */
    void warning(Node at, String key, String message) {
        problems.warning(at.line(), at.column(), pathOf(key), message);
    }

    void wrongType(Node at, String key, String what) {
        error(at, key, "expected " + what + ", got " + YamlTree.describe(at));
    }

    private void missing(Entry e, String key, String what) {
        if (quiet) {
            return;
        }
        if (e == null) {
            problems.error(line, column, path, "missing required key '" + key + "' (" + what + ")");
        } else {
            problems.error(e.line(), e.column(), pathOf(key), "missing value for '" + key + "' (expected " + what + ")");
        }
    }

    private static String range(long min, long max, long unbounded) {
        return max == unbounded ? "must be at least " + min : "must be between " + min + " and " + max;
    }

    private static String format(Duration d) {
        return d.toMillis() % 1000 != 0 ? d.toMillis() + "ms" : d.toSeconds() + "s";
    }
}
