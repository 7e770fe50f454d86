package dev.carapace.config;

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
 * what a config file needs: mappings (in file order), lists and scalars. Problems found while building the tree
 * (syntax errors, duplicate keys, aliases) go to a {@link Problems}.
 */
final class YamlTree {

    /** A plain empty value ({@code key:} with nothing after it) must come out as null, not as "". */
    private static final YAMLFactory FACTORY = YAMLFactory.builder()
            .enable(YAMLParser.Feature.EMPTY_STRING_AS_NULL)
            .build();

    private YamlTree() {}

    /** Any node of the tree. */
    sealed interface Node permits MapNode, ListNode, Scalar {
        int line();

        int column();
    }

    /** One {@code key: value} of a mapping; line and column are the key's. */
    record Entry(String key, int line, int column, Node value) {}

    record MapNode(Map<String, Entry> entries, int line, int column) implements Node {
        Entry get(String key) { return entries.get(key); }
    }

    record ListNode(List<Node> items, int line, int column) implements Node {}

    /** What the YAML parser made of a scalar. A quoted scalar is always a STRING. */
    enum Kind { STRING, NUMBER, BOOLEAN, NULL, INVALID }

    /**
     * @param text the scalar as written (without quotes), so {@code 0.15} stays exact
     * @param kind STRING for quoted text and plain words; NUMBER, BOOLEAN or NULL for plain scalars YAML reads
     *             that way; INVALID for something already reported (an alias), which readers skip silently
     */
    record Scalar(String text, Kind kind, int line, int column) implements Node {
        boolean isNull() { return kind == Kind.NULL; }
    }

    /**
     * Parses one YAML document. Returns null when nothing usable could be read (a syntax error, an empty file);
     * the reason is then in {@code problems}.
     */
    static Node parse(String text, Problems problems) {
        if (!text.isEmpty() && text.charAt(0) == '\uFEFF') {
            text = text.substring(1);
        }
        try (JsonParser parser = FACTORY.createParser(text)) {
            JsonToken first = parser.nextToken();
            if (first == null) {
                problems.error(1, 1, "", "file is empty");
                return null;
            }
            Node root = new Builder(parser, problems).value(first, "");
            if (parser.nextToken() != null) {
                JsonLocation at = parser.currentTokenLocation();
                problems.error(at.getLineNr(), at.getColumnNr(), "",
                        "a second YAML document starts here; the config is one document");
            }
            return root;
        } catch (JsonProcessingException e) {
            syntaxError(e, problems);
            return null;
        } catch (IOException e) {
            problems.error(1, 1, "", "cannot read YAML: " + e.getMessage());
            return null;
        }
    }

    private static void syntaxError(JsonProcessingException e, Problems problems) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof org.yaml.snakeyaml.error.MarkedYAMLException marked && marked.getProblemMark() != null) {
                var mark = marked.getProblemMark();
                String message = "YAML syntax error: " + oneLine(marked.getProblem());
                var context = marked.getContextMark();
                if (marked.getContext() != null && context != null) {
                    message += " (" + oneLine(marked.getContext()) + " at line " + (context.getLine() + 1)
                            + ", column " + (context.getColumn() + 1) + ")";
                }
                problems.error(mark.getLine() + 1, mark.getColumn() + 1, "", message);
                return;
            }
        }
        JsonLocation at = e.getLocation();
        String message = oneLine(e.getOriginalMessage());
        if (message.startsWith("Expected a field name")) {
            message = "a mapping key must be a single value, not a list or a mapping";
        }
        problems.error(at == null ? 1 : at.getLineNr(), at == null ? 1 : at.getColumnNr(), "",
                "YAML syntax error: " + message);
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.replace("\\t(TAB)", "tab").replaceAll("\\s+", " ").trim();
    }

    /** Turns the parser's token stream into nodes. */
    private record Builder(JsonParser parser, Problems problems) {

        Node value(JsonToken token, String path) throws IOException {
            JsonLocation at = parser.currentTokenLocation();
            int line = at.getLineNr();
            int column = at.getColumnNr();
            return switch (token) {
                case START_OBJECT -> mapping(line, column, path);
                case START_ARRAY -> list(line, column, path);
                case VALUE_STRING -> {
                    if (parser instanceof YAMLParser yaml && yaml.isCurrentAlias()) {
                        problems.error(line, column, path, "YAML aliases (*" + parser.getText()
                                + ") are not supported; write the value out in full");
                        yield new Scalar(parser.getText(), Kind.INVALID, line, column);
                    }
                    yield new Scalar(parser.getText(), Kind.STRING, line, column);
                }
                case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> new Scalar(parser.getText(), Kind.NUMBER, line, column);
                case VALUE_TRUE, VALUE_FALSE -> new Scalar(parser.getText(), Kind.BOOLEAN, line, column);
                case VALUE_NULL -> new Scalar(parser.getText(), Kind.NULL, line, column);
                default -> {
                    problems.error(line, column, path, "unsupported YAML value");
                    yield new Scalar(String.valueOf(parser.getText()), Kind.INVALID, line, column);
                }
            };
        }

        private MapNode mapping(int line, int column, String path) throws IOException {
            Map<String, Entry> entries = new LinkedHashMap<>();
            for (JsonToken t = parser.nextToken(); t != JsonToken.END_OBJECT; t = parser.nextToken()) {
                String key = parser.currentName();
                JsonLocation at = parser.currentTokenLocation();
                String childPath = KeyPath.key(path, key);
                Node value = value(parser.nextToken(), childPath);
                Entry first = entries.get(key);
                if (first != null) {
                    problems.error(at.getLineNr(), at.getColumnNr(), childPath,
                            "duplicate key '" + key + "' (first given at line " + first.line() + ")");
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
