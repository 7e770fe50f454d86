package dev.carapace.privacy;

import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Screens every string of a JSON request body, whatever field it is in: message texts, tool names, descriptions and
 * input schemas (their descriptions, enums and defaults too), {@code user} and {@code metadata}, citations, documents,
 * thinking, tool results in every shape, and fields no version of Carapace has heard of. One walk over the body, not
 * a list of fields, so a field an API adds next month is screened too. Object keys are screened as well.
 *
 * <p>Each string with a finding becomes a {@link Piece} whose {@code replace} writes into the walked tree, so the
 * router redacts by walking a copy of the client's body and sends that on. Some strings must go up exactly as they
 * came ({@link Piece#fixed}): an Anthropic {@code thinking} or {@code redacted_thinking} block is signed by the model
 * (the upstream checks the signature against the text, so one changed character makes it refuse the request), a
 * Responses reasoning item's {@code encrypted_content} is the upstream's own ciphertext (its {@code summary} is plain
 * text, which the API does not check against the ciphertext, so it is redacted like any other), identifiers ({@code type},
 * {@code id}, tool names...) are checked by the API, and a key cannot be replaced without changing what the object
 * means. Base64 payloads (images, PDFs) are bytes, not text: the image class of the policy covers them.
 */
final class BodyWalk {

    static final String SIGNED = "signed by the model, which checks the signature against its text";
    static final String ENCRYPTED = "the upstream's own encrypted content";
    static final String IDENTIFIER = "an identifier the API checks";
    static final String KEY = "an object key";

    /** Block types whose every string is covered by a signature. */
    private static final Set<String> SIGNED_BLOCKS = Set.of("thinking", "redacted_thinking");
    /** Fields whose values the APIs check as names, ids or enums: a placeholder there would make the request invalid. */
    static final Set<String> IDENTIFIERS = Set.of("type", "role", "id", "tool_use_id", "tool_call_id", "call_id",
            "name", "signature", "media_type", "status", "encrypted_content");
    /**
     * Members whose values are the client's own data, not the API's structure (a tool's input, a JSON schema): a
     * {@code name} or {@code type} in them is free text, which a placeholder may replace.
     */
    static final Set<String> FREE = Set.of("input", "input_schema", "parameters", "schema", "properties",
            "default", "examples", "enum", "const", "arguments", "metadata");
    /**
     * Keys the APIs and JSON Schema define: they hold no data and are the bulk of a request's keys (a Claude Code
     * request has ~750 in its tools alone), so they are not scanned. Any other key is.
     */
    private static final Set<String> KNOWN_KEYS = Set.of("type", "role", "content", "text", "name", "description",
            "input_schema", "parameters", "properties", "required", "enum", "default", "items", "function", "tools",
            "messages", "system", "model", "max_tokens", "tool_choice", "id", "tool_use_id", "tool_call_id", "input",
            "arguments", "call_id", "output", "source", "media_type", "data", "cache_control", "metadata", "user_id",
            "thinking", "signature", "citations", "stream", "temperature", "additionalProperties", "format", "title",
            "minimum", "maximum", "minLength", "maxLength", "pattern", "anyOf", "oneOf", "allOf", "$schema", "$ref",
            "$defs", "definitions", "const", "examples", "strict", "status", "summary", "instructions", "user",
            "tool_calls", "image_url", "url", "detail", "is_error", "budget_tokens", "top_p", "top_k", "stop",
            "stop_sequences", "ephemeral", "ttl", "effort", "reasoning", "include", "store", "defer_loading");
    /**
     * Reads JSON held in a string. A duplicate key fails the read: the tree would keep only the last value, while the
     * model reads the text, every value of it, so such a string is screened as text.
     */
    private static final ObjectReader NESTED = new ObjectMapper().reader()
            .with(StreamReadFeature.STRICT_DUPLICATE_DETECTION);
    private static final int MAX_KEY_SHOWN = 40;

    private final Scanner scanner;
    private final List<Piece> out;
    /** Run after a string was replaced: a walk of JSON held in a string writes that string back. */
    private final Runnable changed;

    private BodyWalk(Scanner scanner, List<Piece> out, Runnable changed) {
        this.scanner = scanner;
        this.out = out;
        this.changed = changed;
    }

    /** The pieces of {@code body} (the whole request), with replacements that write into {@code body}. */
    static List<Piece> request(Scanner scanner, ObjectNode body) {
        List<Piece> out = new ArrayList<>();
        new BodyWalk(scanner, out, null).object(body, "", null, true, false);
        return out;
    }

    /** Adds the pieces of {@code node}, found at {@code path} in a request, to {@code out}. */
    static void value(Scanner scanner, JsonNode node, String path, List<Piece> out) {
        BodyWalk w = new BodyWalk(scanner, out, null);
        if (node.isObject()) w.object((ObjectNode) node, path, null, false, true);
        else if (node.isArray()) w.array((ArrayNode) node, path, null, true);
    }

    /** Every string of {@code node}, keys included, for {@link Redaction#reserve}. */
    static void strings(JsonNode node, Consumer<String> each) {
        if (node.isTextual()) {
            each.accept(node.textValue());
        } else if (node.isObject()) {
            for (Map.Entry<String, JsonNode> e : node.properties()) {
                each.accept(e.getKey());
                strings(e.getValue(), each);
            }
        } else if (node.isArray()) {
            for (JsonNode v : node) strings(v, each);
        }
    }

    /** @param free whether the object is the client's own data (see {@link #FREE}) */
    private void object(ObjectNode o, String path, String fixed, boolean top, boolean free) {
        JsonNode type = o.get("type");
        String inner = fixed != null ? fixed : type != null && SIGNED_BLOCKS.contains(type.asText()) ? SIGNED : null;
        boolean base64 = type != null && "base64".equals(type.asText());
        for (Map.Entry<String, JsonNode> e : o.properties()) {
            String key = e.getKey();
            JsonNode v = e.getValue();
            List<Finding> inKey = KNOWN_KEYS.contains(key) ? List.of() : keyFindings(key);
            String at = join(path, key, inKey.isEmpty());
            if (!inKey.isEmpty()) out.add(new Piece(at + " (its key)", key, false, KEY, inKey, null));
            // A base64 source's data is bytes. The model id is Carapace's to replace with the upstream's, so it never
            // leaves as sent and needs no placeholder; but it is screened, so a secret sent as one is refused before
            // a "no such model" error could quote it.
            if (base64 && "data".equals(key)) continue;
            if (top && "model".equals(key)) {
                if (v.isTextual()) string(v.textValue(), key, at, null, replaced -> {});
                continue;
            }
            boolean data = free || !top && FREE.contains(key);
            if (v.isTextual()) {
                String f = inner != null ? inner : "encrypted_content".equals(key) ? ENCRYPTED
                        : !data && IDENTIFIERS.contains(key) ? IDENTIFIER : null;
                string(v.textValue(), key, at, f, s -> o.put(key, s));
            } else if (v.isObject()) {
                object((ObjectNode) v, at, inner, false, data);
            } else if (v.isArray()) {
                array((ArrayNode) v, at, inner, data);
            }
        }
    }

    private void array(ArrayNode a, String path, String fixed, boolean free) {
        for (int i = 0; i < a.size(); i++) {
            JsonNode v = a.get(i);
            String at = path + "[" + i + "]";
            int index = i;
            if (v.isTextual()) string(v.textValue(), null, at, fixed, s -> a.set(index, TextNode.valueOf(s)));
            else if (v.isObject()) object((ObjectNode) v, at, fixed, false, free);
            else if (v.isArray()) array((ArrayNode) v, at, fixed, free);
        }
    }

    /** @param key the member's key, or null for an array element */
    private void string(String text, String key, String at, String fixed, Consumer<String> set) {
        if (text.isEmpty() || text.startsWith("data:") && text.contains(";base64,")) return;
        boolean json = looksLikeJson(text);
        boolean escapes = text.contains("\\u");
        // JSON in a string (tool-call arguments) may spell a value with \\u escapes, which the model reads as the
        // value: such a string is read as JSON and its own strings screened.
        if (json && escapes) {
            if (nested(text, at, fixed, set)) return;
            json = false;   // braces around text that does not parse: it is text, and its escapes are read below
        }
        List<Finding> found = key == null ? scanner.scan(text) : member(key, text);
        if (escapes && !json) {
            // Text that spells characters as \\u escapes of its own is screened as the model would read it, and
            // redacted in that form (the rest of the string means the same either way).
            String read = Json.unescape(text);
            List<Finding> decoded = key == null ? scanner.scan(read) : member(key, read);
            if (decoded.size() > found.size()) {
                text = read;
                found = decoded;
            }
        }
        if (found.isEmpty()) return;
        Consumer<String> replace = fixed != null ? null : changed == null ? set : s -> {
            set.accept(s);
            changed.run();
        };
        out.add(new Piece(at, text, json, fixed, found, replace));
    }

    /** The findings in an object key, read as written and, when it spells characters as \\u escapes, as a model reads it. */
    private List<Finding> keyFindings(String key) {
        List<Finding> found = scanner.scan(key);
        if (!key.contains("\\u")) return found;
        List<Finding> decoded = scanner.scan(Json.unescape(key));
        return decoded.size() > found.size() ? decoded : found;
    }

    private boolean nested(String text, String at, String fixed, Consumer<String> set) {
        JsonNode inner;
        try {
            inner = NESTED.readTree(text);
        } catch (IOException | RuntimeException notJson) {
            return false;
        }
        if (inner == null || !inner.isContainerNode()) return false;
        Runnable write = () -> {
            set.accept(inner.toString());
            if (changed != null) changed.run();
        };
        BodyWalk w = new BodyWalk(scanner, out, write);
        if (inner.isObject()) w.object((ObjectNode) inner, at, fixed, false, true);
        else w.array((ArrayNode) inner, at, fixed, true);
        return true;
    }

    /**
     * The findings in a member's string, read with its key in front ({@code apiKey="..."}), as a credential is known by
     * the name it is given: in a JSON object the name is the key, not part of the string.
     */
    private List<Finding> member(String key, String text) {
        if (!Assignments.credentialName(key)) return scanner.scan(text);
        String prefix = key + "=\"";
        List<Finding> all = scanner.scan(prefix + text + "\"");
        List<Finding> found = new ArrayList<>(all.size());
        int p = prefix.length();
        for (Finding f : all) {
            if (f.start() < p || f.start() >= p + text.length()) continue;   // in the key, or the quote after
            found.add(new Finding(f.type(), f.dataClass(), f.start() - p, Math.min(f.end() - p, text.length()),
                    f.confidence()));
        }
        return found;
    }

    static boolean looksLikeJson(String s) {
        int i = 0, j = s.length() - 1;
        while (i <= j && Character.isWhitespace(s.charAt(i))) i++;
        while (j > i && Character.isWhitespace(s.charAt(j))) j--;
        return i < j && (s.charAt(i) == '{' && s.charAt(j) == '}' || s.charAt(i) == '[' && s.charAt(j) == ']');
    }

    /** {@code path.key}; a key that is odd, long or carries data itself is shown as {@code *}, never as written. */
    private static String join(String path, String key, boolean clean) {
        boolean plain = clean && !key.isEmpty() && key.length() <= MAX_KEY_SHOWN;
        for (int i = 0; plain && i < key.length(); i++) {
            char c = key.charAt(i);
            plain = Text.asciiAlnum(c) || c == '_' || c == '-' || c == '$';
        }
        String k = plain ? key : "*";
        return path.isEmpty() ? k : path + "." + k;
    }
}
