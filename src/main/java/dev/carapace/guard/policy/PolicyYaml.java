package dev.carapace.guard.policy;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A policy document as a tree whose nodes know their line and column, and a reader over its mappings that
 * remembers which fields were read, so that every field nobody asked for is reported (a policy field is never
 * ignored in silence: it might grant or restrict access).
 */
final class PolicyYaml {

    private static final YAMLFactory FACTORY = YAMLFactory.builder().enable(YAMLParser.Feature.EMPTY_STRING_AS_NULL).build();
    private static final Pattern PLAIN_KEY = Pattern.compile("[A-Za-z0-9_-]+");

    private PolicyYaml() {}

    sealed interface Node permits MapNode, ListNode, Scalar {
        int line();

        int column();
    }

    record Entry(String key, int line, int column, Node value) {}

    record MapNode(Map<String, Entry> entries, int line, int column) implements Node {}

    record ListNode(List<Node> items, int line, int column) implements Node {}

    /** @param quoted whether the scalar was a string for YAML (quoted or a plain word), not a number/bool/null */
    record Scalar(String text, boolean quoted, boolean isNull, int line, int column) implements Node {}

    /** Collects problems of one file. */
    static final class Problems {
        private final String file;
        private final List<PolicyProblem> list = new ArrayList<>();

        Problems(String file) { this.file = file; }

        void add(int line, int column, String path, String message) {
            list.add(new PolicyProblem(file, line, column, path, message));
        }

        void add(Node at, String path, String message) { add(at.line(), at.column(), path, message); }

        boolean any() { return !list.isEmpty(); }

        int count() { return list.size(); }

        List<PolicyProblem> sorted() {
            List<PolicyProblem> l = new ArrayList<>(list);
            l.sort((a, b) -> a.line() != b.line() ? Integer.compare(a.line(), b.line()) : Integer.compare(a.column(), b.column()));
            return l;
        }
    }

    static String key(String parent, String key) {
        String k = PLAIN_KEY.matcher(key).matches() ? key : "\"" + key.replace("\"", "\\\"") + "\"";
        return parent.isEmpty() ? k : PLAIN_KEY.matcher(key).matches() ? parent + "." + k : parent + "[" + k + "]";
    }

    static String index(String parent, int i) { return parent + "[" + i + "]"; }

    static String describe(Node n) {
        return switch (n) {
            case MapNode m -> "a mapping";
            case ListNode l -> "a list";
            case Scalar s when s.isNull() -> "nothing";
            case Scalar s -> "'" + (s.text().length() > 60 ? s.text().substring(0, 60) + "..." : s.text()) + "'";
        };
    }

    /** Parses one YAML document; null (with the reason in {@code problems}) if it cannot be read. */
    static Node parse(String text, Problems problems) {
        if (!text.isEmpty() && text.charAt(0) == '\uFEFF') text = text.substring(1);
        try (JsonParser p = FACTORY.createParser(text)) {
            JsonToken first = p.nextToken();
            if (first == null) return null;
            Node root = value(p, first, "", problems);
            if (p.nextToken() != null) {
                JsonLocation at = p.currentTokenLocation();
                problems.add(at.getLineNr(), at.getColumnNr(), "", "a second YAML document starts here; a policy is one document");
            }
            return root;
        } catch (JsonProcessingException e) {
            syntax(e, problems);
            return null;
        } catch (IOException e) {
            problems.add(1, 1, "", "cannot read YAML: " + e.getMessage());
            return null;
        }
    }

    private static void syntax(JsonProcessingException e, Problems problems) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof org.yaml.snakeyaml.error.MarkedYAMLException m && m.getProblemMark() != null) {
                problems.add(m.getProblemMark().getLine() + 1, m.getProblemMark().getColumn() + 1, "",
                        "YAML syntax error: " + oneLine(m.getProblem())
                                + (m.getContext() != null && m.getContextMark() != null ? " (" + oneLine(m.getContext())
                                + " at line " + (m.getContextMark().getLine() + 1) + ")" : ""));
                return;
            }
        }
        JsonLocation at = e.getLocation();
        problems.add(at == null ? 1 : at.getLineNr(), at == null ? 1 : at.getColumnNr(), "",
                "YAML syntax error: " + oneLine(e.getOriginalMessage()));
    }

    private static String oneLine(String s) { return s == null ? "" : s.replaceAll("\\s+", " ").trim(); }

    private static Node value(JsonParser p, JsonToken t, String path, Problems problems) throws IOException {
        JsonLocation at = p.currentTokenLocation();
        int line = at.getLineNr(), col = at.getColumnNr();
        switch (t) {
            case START_OBJECT -> {
                Map<String, Entry> entries = new LinkedHashMap<>();
                for (JsonToken k = p.nextToken(); k != JsonToken.END_OBJECT; k = p.nextToken()) {
                    String name = p.currentName();
                    JsonLocation kat = p.currentTokenLocation();
                    Node v = value(p, p.nextToken(), key(path, name), problems);
                    Entry first = entries.get(name);
                    if (first != null) {
                        problems.add(kat.getLineNr(), kat.getColumnNr(), key(path, name),
                                "duplicate field '" + name + "' (first given at line " + first.line() + ")");
                    } else {
                        entries.put(name, new Entry(name, kat.getLineNr(), kat.getColumnNr(), v));
                    }
                }
                return new MapNode(Collections.unmodifiableMap(entries), line, col);
            }
            case START_ARRAY -> {
                List<Node> items = new ArrayList<>();
                for (JsonToken i = p.nextToken(); i != JsonToken.END_ARRAY; i = p.nextToken()) {
                    items.add(value(p, i, index(path, items.size()), problems));
                }
                return new ListNode(List.copyOf(items), line, col);
            }
            case VALUE_STRING -> {
                if (p instanceof YAMLParser y && y.isCurrentAlias()) {
                    problems.add(line, col, path, "YAML aliases are not supported in a policy; write the value out");
                }
                return new Scalar(p.getText(), true, false, line, col);
            }
            case VALUE_NULL -> {
                return new Scalar("", false, true, line, col);
            }
            default -> {
                return new Scalar(p.getText(), false, false, line, col);
            }
        }
    }

    /**
     * Reads the fields of one mapping. Every field read is marked; {@link #finish} reports the rest. A field that
     * Carapace knows but does not implement is reported with {@link #unsupported}, saying why.
     */
    static final class Fields {
        private final MapNode node;
        private final String path;
        private final Problems problems;
        private final Set<String> known = new LinkedHashSet<>();
        private final Map<String, String> unsupported = new LinkedHashMap<>();

        Fields(MapNode node, String path, Problems problems) {
            this.node = node;
            this.path = path;
            this.problems = problems;
        }

        /** Fields of {@code n} if it is a mapping; otherwise reports it and returns an empty reader. */
        static Fields of(Node n, String path, String what, Problems problems) {
            if (n instanceof MapNode m) return new Fields(m, path, problems);
            if (n != null && !(n instanceof Scalar s && s.isNull())) {
                problems.add(n, path, "expected " + what + ", got " + describe(n));
            }
            return new Fields(new MapNode(Map.of(), n == null ? 0 : n.line(), n == null ? 0 : n.column()), path, problems);
        }

        MapNode node() { return node; }

        String path() { return path; }

        String pathOf(String key) { return PolicyYaml.key(path, key); }

        boolean has(String key) { return node.entries().containsKey(key); }

        /** The value of {@code key} (null if absent or written empty); marks it read. */
        Node get(String key) {
            known.add(key);
            Entry e = node.entries().get(key);
            if (e == null || e.value() instanceof Scalar s && s.isNull()) return null;
            return e.value();
        }

        Entry entry(String key) {
            known.add(key);
            return node.entries().get(key);
        }

        /** Declares {@code key} as a field Carapace refuses, with the reason shown when it is present. */
        void unsupported(String key, String why) { unsupported.put(key, why); }

        String string(String key, String what) {
            Node n = get(key);
            if (n == null) return null;
            if (n instanceof Scalar s && (s.quoted() || !s.text().isEmpty())) {
                if (s.text().isBlank()) {
                    problems.add(n, pathOf(key), "expected " + what + ", got an empty string");
                    return null;
                }
                return s.text();
            }
            problems.add(n, pathOf(key), "expected " + what + ", got " + describe(n));
            return null;
        }

        String requiredString(String key, String what) {
            if (!has(key)) {
                known.add(key);
                problems.add(node, path, "missing field '" + key + "' (" + what + ")");
                return null;
            }
            Node n = get(key);
            if (n == null) {
                problems.add(node.entries().get(key).line(), node.entries().get(key).column(), pathOf(key),
                        "missing value for '" + key + "' (expected " + what + ")");
                return null;
            }
            return string(key, what);
        }

        Boolean bool(String key) {
            Node n = get(key);
            if (n == null) return null;
            if (n instanceof Scalar s && !s.quoted() && (s.text().equals("true") || s.text().equals("false"))) {
                return Boolean.parseBoolean(s.text());
            }
            problems.add(n, pathOf(key), "expected true or false, got " + describe(n));
            return null;
        }

        /** The items of a list field (empty when absent); a non-list is reported. */
        List<Node> list(String key, String what) {
            Node n = get(key);
            if (n == null) return List.of();
            if (n instanceof ListNode l) return l.items();
            problems.add(n, pathOf(key), "expected " + what + ", got " + describe(n));
            return List.of();
        }

        /** A list of non-empty strings. */
        List<Scalar> strings(String key, String what) {
            List<Scalar> out = new ArrayList<>();
            List<Node> items = list(key, "a list of " + what);
            for (int i = 0; i < items.size(); i++) {
                Node n = items.get(i);
                if (n instanceof Scalar s && !s.isNull() && !s.text().isBlank()) {
                    out.add(s);
                } else {
                    problems.add(n, index(pathOf(key), i), "expected " + what + ", got " + describe(n));
                }
            }
            return out;
        }

        /** Reports every field that was neither read nor declared. */
        void finish() {
            for (Entry e : node.entries().values()) {
                String why = unsupported.get(e.key());
                if (why != null) {
                    problems.add(e.line(), e.column(), pathOf(e.key()), "unsupported field '" + e.key() + "': " + why);
                } else if (!known.contains(e.key())) {
                    problems.add(e.line(), e.column(), pathOf(e.key()), "unknown field '" + e.key() + "' (expected one of: "
                            + String.join(", ", known) + ")");
                }
            }
        }
    }
}
