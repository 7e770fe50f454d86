package dev.carapace.guard.policy;

import dev.carapace.yaml.Dialect;
import dev.carapace.yaml.KeyPath;
import dev.carapace.yaml.Problems;
import dev.carapace.yaml.YamlTree;
import dev.carapace.yaml.YamlTree.Entry;
import dev.carapace.yaml.YamlTree.ListNode;
import dev.carapace.yaml.YamlTree.MapNode;
import dev.carapace.yaml.YamlTree.Node;
import dev.carapace.yaml.YamlTree.Scalar;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads the fields of one policy mapping. Every field read is marked; {@link #finish} reports the rest, so a policy
 * field is never ignored in silence (it might grant or restrict access). A field that Carapace knows but does not
 * implement is reported with {@link #unsupported}, saying why.
 */
final class Fields {

    /** How the YAML reader words a policy's problems; a policy calls its keys fields. */
    static final Dialect POLICY = new Dialect("field", "a policy is one document",
            "YAML aliases are not supported in a policy; write the value out", false, false, Fields::key);

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

    /**
     * The path of {@code key} under {@code parent}: a key that is not a plain word is quoted, and bracketed below the
     * top level ({@code "a.b"}, {@code credentials["a.b"]}).
     */
    static String key(String parent, String key) {
        boolean plain = KeyPath.isPlain(key);
        String k = plain ? key : "\"" + key.replace("\"", "\\\"") + "\"";
        return parent.isEmpty() ? k : plain ? parent + "." + k : parent + "[" + k + "]";
    }

    /** Fields of {@code n} if it is a mapping; otherwise reports it and returns an empty reader. */
    static Fields of(Node n, String path, String what, Problems problems) {
        if (n instanceof MapNode m) return new Fields(m, path, problems);
        if (n != null && !(n instanceof Scalar s && s.isNull())) {
            problems.error(n, path, "expected " + what + ", got " + YamlTree.describe(n));
        }
        return new Fields(new MapNode(Map.of(), n == null ? 0 : n.line(), n == null ? 0 : n.column()), path, problems);
    }

    MapNode node() { return node; }

    String path() { return path; }

    String pathOf(String key) { return key(path, key); }

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
        if (n instanceof Scalar s && (s.isString() || !s.text().isEmpty())) {
            if (s.text().isBlank()) {
                problems.error(n, pathOf(key), "expected " + what + ", got an empty string");
                return null;
            }
            return s.text();
        }
        problems.error(n, pathOf(key), "expected " + what + ", got " + YamlTree.describe(n));
        return null;
    }

    String requiredString(String key, String what) {
        if (!has(key)) {
            known.add(key);
            problems.error(node, path, "missing field '" + key + "' (" + what + ")");
            return null;
        }
        Node n = get(key);
        if (n == null) {
            problems.error(node.entries().get(key).line(), node.entries().get(key).column(), pathOf(key),
                    "missing value for '" + key + "' (expected " + what + ")");
            return null;
        }
        return string(key, what);
    }

    Boolean bool(String key) {
        Node n = get(key);
        if (n == null) return null;
        if (n instanceof Scalar s && !s.isString() && (s.text().equals("true") || s.text().equals("false"))) {
            return Boolean.parseBoolean(s.text());
        }
        problems.error(n, pathOf(key), "expected true or false, got " + YamlTree.describe(n));
        return null;
    }

    /** The items of a list field (empty when absent); a non-list is reported. */
    List<Node> list(String key, String what) {
        Node n = get(key);
        if (n == null) return List.of();
        if (n instanceof ListNode l) return l.items();
        problems.error(n, pathOf(key), "expected " + what + ", got " + YamlTree.describe(n));
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
                problems.error(n, KeyPath.index(pathOf(key), i), "expected " + what + ", got " + YamlTree.describe(n));
            }
        }
        return out;
    }

    /** Reports every field that was neither read nor declared. */
    void finish() {
        for (Entry e : node.entries().values()) {
            String why = unsupported.get(e.key());
            if (why != null) {
                problems.error(e.line(), e.column(), pathOf(e.key()), "unsupported field '" + e.key() + "': " + why);
            } else if (!known.contains(e.key())) {
                problems.error(e.line(), e.column(), pathOf(e.key()), "unknown field '" + e.key() + "' (expected one of: "
                        + String.join(", ", known) + ")");
            }
        }
    }
}
