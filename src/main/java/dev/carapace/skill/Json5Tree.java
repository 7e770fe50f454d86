package dev.carapace.skill;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import dev.carapace.yaml.KeyPath;
import dev.carapace.yaml.Problems;
import dev.carapace.yaml.YamlTree.Entry;
import dev.carapace.yaml.YamlTree.Kind;
import dev.carapace.yaml.YamlTree.ListNode;
import dev.carapace.yaml.YamlTree.MapNode;
import dev.carapace.yaml.YamlTree.Node;
import dev.carapace.yaml.YamlTree.Scalar;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads JSON5 (what OpenClaw writes in {@code metadata}: unquoted keys, single quotes, trailing commas, comments) into
 * the same nodes {@link dev.carapace.yaml.YamlTree} makes, positioned in the file it was found in, so one reader
 * handles a {@code metadata} block whether YAML already parsed it or it came as a JSON5 string.
 */
final class Json5Tree {

    /** Deeper than any real metadata; a hostile file stops here instead of exhausting the stack. */
    static final int MAX_DEPTH = 32;

    private static final JsonFactory FACTORY = JsonFactory.builder()
            .enable(JsonReadFeature.ALLOW_TRAILING_COMMA, JsonReadFeature.ALLOW_UNQUOTED_FIELD_NAMES,
                    JsonReadFeature.ALLOW_SINGLE_QUOTES, JsonReadFeature.ALLOW_JAVA_COMMENTS,
                    JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS, JsonReadFeature.ALLOW_LEADING_PLUS_SIGN_FOR_NUMBERS,
                    JsonReadFeature.ALLOW_LEADING_DECIMAL_POINT_FOR_NUMBERS,
                    JsonReadFeature.ALLOW_TRAILING_DECIMAL_POINT_FOR_NUMBERS,
                    JsonReadFeature.ALLOW_BACKSLASH_ESCAPING_ANY_CHARACTER)
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(MAX_DEPTH).maxStringLength(SkillDocuments.MAX_BYTES).build())
            .build();

    private Json5Tree() {}

    /**
     * Parses {@code text}, found at {@code line}:{@code column} of the file. Returns null after reporting to
     * {@code problems} when it is not JSON5 or holds more than one value.
     */
    static Node parse(String text, int line, int column, String path, Problems problems) {
        try (JsonParser parser = FACTORY.createParser(text)) {
            Builder b = new Builder(parser, line, column, path, problems);
            JsonToken first = parser.nextToken();
            if (first == null) {
                problems.error(line, column, path, "the JSON5 value is empty; expected an object such as "
                        + "{ \"openclaw\": { ... } }");
                return null;
            }
            Node root = b.value(first, path);
            if (parser.nextToken() != null) {
                b.error(parser.currentTokenLocation(), path, "text after the JSON5 value; expected one object");
                return null;
            }
            return root;
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            String reason = e.getOriginalMessage().replaceAll("\\s+", " ");
            reason = reason.length() > 160 ? reason.substring(0, 160) + "..." : reason;
            new Builder(null, line, column, path, problems).error(at, path, "invalid JSON5: " + reason);
            return null;
        } catch (IOException e) {
            problems.error(line, column, path, "cannot read the JSON5 value");
            return null;
        }
    }

    /** Turns the token stream into nodes whose positions are the file's. */
    private record Builder(JsonParser parser, int line, int column, String path, Problems problems) {

        Node value(JsonToken token, String at) throws IOException {
            int l = lineOf(parser.currentTokenLocation());
            int c = columnOf(parser.currentTokenLocation());
            return switch (token) {
                case START_OBJECT -> object(l, c, at);
                case START_ARRAY -> array(l, c, at);
                case VALUE_STRING -> new Scalar(parser.getText(), Kind.STRING, l, c);
                case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> new Scalar(parser.getText(), Kind.NUMBER, l, c);
                case VALUE_TRUE, VALUE_FALSE -> new Scalar(parser.getText(), Kind.BOOLEAN, l, c);
                case VALUE_NULL -> new Scalar("null", Kind.NULL, l, c);
                default -> new Scalar(String.valueOf(parser.getText()), Kind.UNTYPED, l, c);
            };
        }

        private MapNode object(int l, int c, String at) throws IOException {
            Map<String, Entry> entries = new LinkedHashMap<>();
            for (JsonToken t = parser.nextToken(); t != JsonToken.END_OBJECT; t = parser.nextToken()) {
                String key = parser.currentName();
                JsonLocation loc = parser.currentTokenLocation();
                String child = KeyPath.key(at, key);
                Node value = value(parser.nextToken(), child);
                Entry first = entries.get(key);
                if (first != null) {
                    error(loc, child, "duplicate key '" + key + "' (first given at line " + first.line() + ")");
                } else {
                    entries.put(key, new Entry(key, lineOf(loc), columnOf(loc), value));
                }
            }
            return new MapNode(Collections.unmodifiableMap(entries), l, c);
        }

        private ListNode array(int l, int c, String at) throws IOException {
            List<Node> items = new ArrayList<>();
            for (JsonToken t = parser.nextToken(); t != JsonToken.END_ARRAY; t = parser.nextToken()) {
                items.add(value(t, KeyPath.index(at, items.size())));
            }
            return new ListNode(List.copyOf(items), l, c);
        }

        void error(JsonLocation loc, String at, String message) {
            problems.error(lineOf(loc), columnOf(loc), at, message);
        }

        /** The JSON5 text's first line is the file's {@code line}; its first column, the file's {@code column}. */
        private int lineOf(JsonLocation loc) {
            return loc == null || loc.getLineNr() < 1 ? line : line + loc.getLineNr() - 1;
        }

        private int columnOf(JsonLocation loc) {
            if (loc == null || loc.getColumnNr() < 1) return column;
            return loc.getLineNr() <= 1 ? column + loc.getColumnNr() - 1 : loc.getColumnNr();
        }
    }
}
