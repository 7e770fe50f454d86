package dev.carapace.yaml;

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
import java.util.List;
import java.util.Map;

/**
 * A YAML document as a small tree whose nodes remember where they are in the file (1-based line and column). Only
 * what Carapace's files need: mappings (in file order), lists and scalars. Problems found while building the tree
 * (syntax errors, duplicate keys, aliases) go to a {@link Problems}, worded by the file's {@link Dialect}.
 *
 * <p>Hostile input stays bounded by the parser: aliases are never expanded (each one is reported), nesting deeper
 * than 1,000 levels and documents over 3 Mi code points are syntax errors.
 */
public final class YamlTree {

    /** The longest text read, in chars: a file past it is refused whole, before parsing. */
    public static final int MAX_CHARS = 1 << 20;

    /** A plain empty value ({@code key:} with nothing after it) must come out as null, not as "". */
    private static final YAMLFactory FACTORY = YAMLFactory.builder()
            .enable(YAMLParser.Feature.EMPTY_STRING_AS_NULL)
            .build();
    private static final int SHOWN_CHARS = 60;

    private YamlTree() {}

    /** Any node of the tree. */
    public sealed interface Node permits MapNode, ListNode, Scalar {
        int line();

        int column();
    }

    /** One {@code key: value} of a mapping; line and column are the key's. */
    public record Entry(String key, int line, int column, Node value) {}

    public record MapNode(Map<String, Entry> entries, int line, int column) implements Node {
        public Entry get(String key) { return entries.get(key); }
    }

    public record ListNode(List<Node> items, int line, int column) implements Node {}

    /**
     * What the YAML parser made of a scalar. A quoted scalar is always a STRING; ALIAS is a {@code *name} (its text
     * is the name); UNTYPED a value YAML gives no plain type, such as a {@code !!binary} scalar.
     */
    public enum Kind { STRING, NUMBER, BOOLEAN, NULL, ALIAS, UNTYPED }

    /**
     * @param text the scalar as written (without quotes), so {@code 0.15} stays exact
     * @param kind STRING for quoted text and plain words; NUMBER, BOOLEAN or NULL for plain scalars YAML reads
     *             that way; ALIAS or UNTYPED for what {@link #isOpaque()} says
     */
    public record Scalar(String text, Kind kind, int line, int column) implements Node {
        public boolean isNull() { return kind == Kind.NULL; }

        /** Whether YAML read it as a string (quoted, a plain word, or an alias's name), not a number, bool or null. */
        public boolean isString() { return kind == Kind.STRING || kind == Kind.ALIAS; }

        /** An alias or an untyped value: nothing to take as written; the parser reported it if its dialect refuses it. */
        public boolean isOpaque() { return kind == Kind.ALIAS || kind == Kind.UNTYPED; }
    }

    /** How a value is shown in messages: {@code 'text'} (shortened), "nothing", "a mapping" or "a list". */
    public static String describe(Node node) {
        return switch (node) {
            case MapNode m -> "a mapping";
            case ListNode l -> "a list";
            case Scalar s when s.isNull() -> "nothing";
            case Scalar s -> "'" + (s.text().length() > SHOWN_CHARS ? s.text().substring(0, SHOWN_CHARS) + "..." : s.text()) + "'";
        };
    }

    /**
     * Parses one YAML document. Returns null when nothing usable could be read: a syntax error (reported in
     * {@code problems}), or an empty document (not reported: each loader says what the file should hold).
     */
    public static Node parse(String text, Dialect dialect, Problems problems) {
        if (text.length() > MAX_CHARS) {
            // Refused before the parser sees it: SnakeYAML takes seconds to scan a multi-megabyte scalar.
            problems.error(1, 1, "", "the file is " + text.length() + " characters long; at most " + MAX_CHARS
                    + " are read (config, policy and agent files are far smaller)");
            return null;
        }
        if (!text.isEmpty() && text.charAt(0) == '\uFEFF') {
            text = text.substring(1);
        }
        try (JsonParser parser = FACTORY.createParser(text)) {
            JsonToken first = parser.nextToken();
            if (first == null) {
                return null;
            }
            Node root = new Builder(parser, dialect, problems).value(first, "");
            if (parser.nextToken() != null) {
                JsonLocation at = parser.currentTokenLocation();
                problems.error(at.getLineNr(), at.getColumnNr(), "",
                        "a second YAML document starts here; " + dialect.oneDocument());
            }
            return root;
        } catch (JsonProcessingException e) {
            syntaxError(e, dialect, problems);
            return null;
        } catch (IOException e) {
            problems.error(1, 1, "", "cannot read YAML: " + e.getMessage());
            return null;
        }
    }

    private static void syntaxError(JsonProcessingException e, Dialect dialect, Problems problems) {
        boolean explain = dialect.explainSyntax();
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof org.yaml.snakeyaml.error.MarkedYAMLException marked && marked.getProblemMark() != null) {
                var mark = marked.getProblemMark();
                String message = "YAML syntax error: " + oneLine(marked.getProblem(), explain);
                var context = marked.getContextMark();
                if (marked.getContext() != null && context != null) {
                    message += " (" + oneLine(marked.getContext(), explain) + " at line " + (context.getLine() + 1)
                            + (explain ? ", column " + (context.getColumn() + 1) : "") + ")";
                }
                problems.error(mark.getLine() + 1, mark.getColumn() + 1, "", message);
                return;
            }
        }
        JsonLocation at = e.getLocation();
        String message = oneLine(e.getOriginalMessage(), explain);
        if (explain && message.startsWith("Expected a field name")) {
            message = "a mapping key must be a single value, not a list or a mapping";
        }
        problems.error(at == null ? 1 : at.getLineNr(), at == null ? 1 : at.getColumnNr(), "",
                "YAML syntax error: " + message);
    }

    private static String oneLine(String s, boolean explain) {
        if (s == null) {
            return "";
        }
        return (explain ? s.replace("\\t(TAB)", "tab") : s).replaceAll("\\s+", " ").trim();
    }

    /** Turns the parser's token stream into nodes. */
    private record Builder(JsonParser parser, Dialect dialect, Problems problems) {

        Node value(JsonToken token, String path) throws IOException {
            JsonLocation at = parser.currentTokenLocation();
            int line = at.getLineNr();
            int column = at.getColumnNr();
            return switch (token) {
                case START_OBJECT -> mapping(line, column, path);
                case START_ARRAY -> list(line, column, path);
                case VALUE_STRING -> {
                    if (parser instanceof YAMLParser yaml && yaml.isCurrentAlias()) {
                        problems.error(line, column, path, dialect.aliasProblem().formatted(parser.getText()));
                        yield new Scalar(parser.getText(), Kind.ALIAS, line, column);
                    }
                    yield new Scalar(parser.getText(), Kind.STRING, line, column);
                }
                case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> new Scalar(parser.getText(), Kind.NUMBER, line, column);
                case VALUE_TRUE, VALUE_FALSE -> new Scalar(parser.getText(), Kind.BOOLEAN, line, column);
                case VALUE_NULL -> new Scalar(parser.getText(), Kind.NULL, line, column);
                default -> {
                    if (dialect.refuseUntyped()) {
                        problems.error(line, column, path, "unsupported YAML value");
                    }
                    yield new Scalar(String.valueOf(parser.getText()), Kind.UNTYPED, line, column);
                }
            };
        }

        private MapNode mapping(int line, int column, String path) throws IOException {
            Map<String, Entry> entries = new LinkedHashMap<>();
            for (JsonToken t = parser.nextToken(); t != JsonToken.END_OBJECT; t = parser.nextToken()) {
                String key = parser.currentName();
                JsonLocation at = parser.currentTokenLocation();
                String childPath = dialect.keyPath().apply(path, key);
                Node value = value(parser.nextToken(), childPath);
                Entry first = entries.get(key);
                if (first != null) {
                    problems.error(at.getLineNr(), at.getColumnNr(), childPath, "duplicate " + dialect.keyNoun()
                            + " '" + key + "' (first given at line " + first.line() + ")");
                } else {
                    entries.put(key, new Entry(key, at.getLineNr(), at.getColumnNr(), value));
                }
            }
            return new MapNode(Collections.unmodifiableMap(entries), line, column);
        }

        private ListNode list(int line, int column, String path) throws IOException {
            List<Node> items = new ArrayList<>();
            for (JsonToken t = parser.nextToken(); t != JsonToken.END_ARRAY; t = parser.nextToken()) {
                items.add(value(t, KeyPath.index(path, items.size())));
            }
            return new ListNode(List.copyOf(items), line, column);
        }
    }
}
