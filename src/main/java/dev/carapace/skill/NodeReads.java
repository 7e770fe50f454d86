package dev.carapace.skill;

import dev.carapace.text.Invisible;
import dev.carapace.yaml.KeyPath;
import dev.carapace.yaml.Problems;
import dev.carapace.yaml.YamlTree;
import dev.carapace.yaml.YamlTree.Entry;
import dev.carapace.yaml.YamlTree.ListNode;
import dev.carapace.yaml.YamlTree.MapNode;
import dev.carapace.yaml.YamlTree.Node;
import dev.carapace.yaml.YamlTree.Scalar;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Typed reads of front-matter nodes for {@link SkillDocuments}: each read reports a wrong type to {@link Problems}
 * (with the key's path and position) and returns a neutral value, so parsing goes on and finds the next problem.
 */
final class NodeReads {

    /** Longest list read in the front matter (bins, env, tools, hosts...). */
    static final int MAX_ITEMS = 256;
    /** Longest string item in such a list. */
    static final int MAX_ITEM_CHARS = 512;

    private final Problems problems;

    NodeReads(Problems problems) {
        this.problems = problems;
    }

    /** The value under {@code key}, or null when absent or written as nothing / {@code null}. */
    static Node value(MapNode map, String key) {
        if (map == null) return null;
        Entry e = map.get(key);
        return e == null || e.value() instanceof Scalar s && s.isNull() ? null : e.value();
    }

    /** A text value, or null when absent (or of another type, reported). */
    String string(Node node, String path) {
        if (node == null) return null;
        if (node instanceof Scalar s && s.isString()) return s.text();
        if (!(node instanceof Scalar s && s.isOpaque())) {
            problems.error(node, path, "expected text, got " + describe(node));
        }
        return null;
    }

    /** A boolean, or {@code fallback} when absent (or of another type, reported). {@code "true"} in quotes is read too. */
    boolean bool(Node node, String path, boolean fallback) {
        if (node == null) return fallback;
        if (node instanceof Scalar s && (s.kind() == YamlTree.Kind.BOOLEAN || s.kind() == YamlTree.Kind.STRING)) {
            String t = s.text().trim().toLowerCase(Locale.ROOT);
            if (t.equals("true")) return true;
            if (t.equals("false")) return false;
        }
        if (!(node instanceof Scalar s && s.isOpaque())) {
            problems.error(node, path, "expected true or false, got " + describe(node));
        }
        return fallback;
    }

    /** A list of texts; a single text is a list of one. Empty when absent or wrong (reported). */
    List<String> strings(Node node, String path) {
        if (node == null) return List.of();
        if (node instanceof Scalar s && s.isString()) return item(s, path) == null ? List.of() : List.of(s.text());
        if (!(node instanceof ListNode list)) {
            if (!(node instanceof Scalar s && s.isOpaque())) {
                problems.error(node, path, "expected a list of texts such as [\"a\", \"b\"], got " + describe(node));
            }
            return List.of();
        }
        if (list.items().size() > MAX_ITEMS) {
            problems.error(node, path, "the list has " + list.items().size() + " items; at most " + MAX_ITEMS
                    + " are read");
            return List.of();
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < list.items().size(); i++) {
            Node item = list.items().get(i);
            String itemPath = KeyPath.index(path, i);
            if (item instanceof Scalar s && s.isString()) {
                String text = item(s, itemPath);
                if (text != null) out.add(text);
            } else if (!(item instanceof Scalar s && s.isOpaque())) {
                problems.error(item, itemPath, "expected text, got " + describe(item));
            }
        }
        return List.copyOf(out);
    }

    private String item(Scalar s, String path) {
        if (s.text().isBlank()) {
            problems.error(s, path, "an item is empty; expected a name");
            return null;
        }
        if (s.text().length() > MAX_ITEM_CHARS) {
            problems.error(s, path, "an item is " + s.text().length() + " characters long; at most "
                    + MAX_ITEM_CHARS);
            return null;
        }
        String text = s.text().strip();
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            if (Invisible.is(cp)) {
                problems.error(s, path, "the item " + SkillText.quote(text) + " holds a control or hidden character;"
                        + " expected a plain name");
                return null;
            }
        }
        return text;
    }

    /** A mapping, or null when absent or of another type (reported). */
    MapNode map(Node node, String path) {
        if (node == null) return null;
        if (node instanceof MapNode m) return m;
        if (!(node instanceof Scalar s && s.isOpaque())) {
            problems.error(node, path, "expected a mapping (key: value), got " + describe(node));
        }
        return null;
    }

    /** How a value is named in a message: its type, and the value itself for a scalar. */
    static String describe(Node node) {
        if (node instanceof Scalar s) {
            String type = switch (s.kind()) {
                case NUMBER -> " (a number)";
                case BOOLEAN -> " (a boolean)";
                default -> "";
            };
            return s.isNull() ? "nothing" : SkillText.quote(s.text()) + type;
        }
        return YamlTree.describe(node);
    }

    /** The node as plain Java values: maps (in file order), lists, strings, numbers, booleans and nulls. */
    static Object plain(Node node) {
        return switch (node) {
            case MapNode m -> {
                Map<String, Object> out = new LinkedHashMap<>();
                m.entries().forEach((k, e) -> out.put(k, plain(e.value())));
                yield Collections.unmodifiableMap(out);
            }
            case ListNode l -> l.items().stream().map(NodeReads::plain).toList();   // unmodifiable, nulls allowed
            case Scalar s -> switch (s.kind()) {
                case NULL -> null;
                case BOOLEAN -> Boolean.valueOf(isTrue(s.text()));
                case NUMBER -> number(s.text());
                default -> s.text();
            };
        };
    }

    private static boolean isTrue(String text) {
        return switch (text.toLowerCase(Locale.ROOT)) {
            case "true", "yes", "on", "y" -> true;
            default -> false;
        };
    }

    private static Object number(String text) {
        String t = text.replace("_", "");
        try {
            return Long.parseLong(t);
        } catch (NumberFormatException e) {
            try {
                return new BigDecimal(t);
            } catch (NumberFormatException e2) {
                return text;   // .inf, .nan, 0x1F: kept as written
            }
        }
    }
}
