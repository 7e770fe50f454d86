package dev.carapace.privacy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.carapace.model.StreamEvent;
import dev.carapace.model.StreamSink;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Restores a redacted request's placeholders in an answer relayed as the upstream sent it: in each stream frame and
 * in a complete body, wherever text is (text, tool-call arguments, the whole response of a Responses
 * {@code response.completed}), in the upstream's own framing, so thinking blocks, their signatures and fields Carapace
 * does not model reach the client as they came.
 *
 * <p>Signed content is left as the model wrote it, placeholders and all: a thinking block's signature covers its
 * text, and the client sends the block back in its next turn, where a value restored into it could not be redacted
 * again. A placeholder split across two deltas ({@code "<EMA"}, {@code "IL_1>"}) is put together: the tail of a delta
 * that may begin one is held back and put in front of the next delta of the same block, or sent in a copy of its
 * frame before any other frame. One per streamed answer.
 */
final class RelayRestorer {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Objects written by the model under a signature, or opaque to anyone but the upstream. */
    private static final Set<String> SIGNED_TYPES = Set.of("thinking", "redacted_thinking", "thinking_delta",
            "signature_delta");
    private static final Set<String> OPAQUE_KEYS = Set.of("signature", "encrypted_content");
    /** Keys whose strings are JSON text (tool-call arguments), where values are written escaped. */
    private static final Set<String> JSON_KEYS = Set.of("arguments", "partial_json");

    private final Redaction redaction;
    /** The delta held back: which block it belongs to, its frame (the tail to send), and where its string is. */
    private String heldSlot;
    private String heldEvent;
    private ObjectNode heldFrame;
    private Consumer<String> heldSet;
    private String heldTail;
    private boolean heldJson;

    RelayRestorer(Redaction redaction) { this.redaction = redaction; }

    /** A complete relayed answer, restored. */
    byte[] body(byte[] relayed) {
        JsonNode root;
        try {
            root = JSON.readTree(relayed);
        } catch (IOException | RuntimeException notJson) {
            return relayed;
        }
        if (!(root instanceof ObjectNode o) || !restoreAll(o, false)) return relayed;
        return bytes(o);
    }

    /** One relayed frame, restored; a held tail that cannot join it goes first, through {@code earlier}. */
    StreamEvent.Frame frame(StreamEvent.Frame f, StreamSink earlier) {
        byte[] data = f.data();
        if (heldSlot == null && !hasAngle(data)) return f;
        ObjectNode root = null;
        if (data.length > 0 && data[0] == '{') {
            try {
                root = JSON.readTree(data) instanceof ObjectNode o ? o : null;
            } catch (IOException | RuntimeException notJson) {
                root = null;
            }
        }
        if (root == null) {
            release(earlier);
            return f;
        }
        Slot slot = slot(f.event(), root);
        if (heldSlot != null && (slot == null || !heldSlot.equals(slot.id))) release(earlier);
        boolean changed = restoreAll(root, false);
        if (slot != null) {
            String text = slot.text();
            String all = heldSlot != null ? heldTail + text : text;
            heldSlot = null;
            int cut = redaction.safeEnd(all);
            String head = redaction.restore(all.substring(0, cut), slot.json);
            slot.set.accept(head);
            changed |= !head.equals(text);
            if (cut < all.length()) {
                heldSlot = slot.id;
                heldEvent = f.event();
                heldFrame = root;
                heldSet = slot.set;
                heldTail = all.substring(cut);
                heldJson = slot.json;
            }
        }
        return changed ? new StreamEvent.Frame(f.event(), bytes(root), f.decoded(), f.unreadChars()) : f;
    }

    /** Whether a frame's data holds a {@code <}, which every placeholder starts with (UTF-8 never uses 0x3C otherwise). */
    private static boolean hasAngle(byte[] data) {
        for (byte b : data) if (b == '<') return true;
        return false;
    }

    private static byte[] bytes(ObjectNode root) { return root.toString().getBytes(StandardCharsets.UTF_8); }

    /** Sends what is held back, in a copy of its frame: it was not the start of a placeholder after all. */
    private void release(StreamSink earlier) {
        if (heldSlot == null) return;
        heldSlot = null;
        heldSet.accept(redaction.restore(heldTail, heldJson));
        earlier.accept(new StreamEvent.Frame(heldEvent, bytes(heldFrame), true, 0));
    }

    /** The string of a frame that is one delta of a block's text or arguments, which may end inside a placeholder. */
    private record Slot(String id, boolean json, ObjectNode parent, String key, Consumer<String> set) {
        String text() { return parent.get(key).asText(); }
    }

    /**
     * The delta of a frame, in the three APIs' shapes: Anthropic {@code content_block_delta} ({@code delta.text},
     * {@code delta.partial_json}), OpenAI chunks ({@code choices[0].delta.content}, a tool call's
     * {@code function.arguments}), Responses {@code *.delta} events ({@code delta}); null for any other frame.
     */
    private static Slot slot(String event, ObjectNode root) {
        if ("content_block_delta".equals(event) && root.get("delta") instanceof ObjectNode d) {
            String index = "a" + root.path("index").asText();
            if (d.get("text") instanceof TextNode) return slot(index, false, d, "text");
            if (d.get("partial_json") instanceof TextNode) return slot(index, true, d, "partial_json");
            return null;
        }
        if (event != null && event.endsWith(".delta") && root.get("delta") instanceof TextNode) {
            if (event.contains("reasoning")) return null;
            return slot(event + "/" + root.path("item_id").asText() + "/" + root.path("content_index").asText(),
                    event.contains("arguments"), root, "delta");
        }
        if (root.get("choices") instanceof ArrayNode choices && choices.get(0) instanceof ObjectNode choice
                && choice.get("delta") instanceof ObjectNode d) {
            if (d.get("content") instanceof TextNode) return slot("c", false, d, "content");
            if (d.get("tool_calls") instanceof ArrayNode calls && calls.get(0) instanceof ObjectNode call
                    && call.get("function") instanceof ObjectNode fn && fn.get("arguments") instanceof TextNode) {
                return slot("t" + call.path("index").asText(), true, fn, "arguments");
            }
        }
        return null;
    }

    private static Slot slot(String id, boolean json, ObjectNode parent, String key) {
        return new Slot(id, json, parent, key, s -> parent.put(key, s));
    }

    /**
     * Restores every complete placeholder in the strings of {@code node}, signed content and identifiers aside (an id
     * or name the API checks, which the client sends back next turn where a value could not be redacted again); says
     * whether any changed.
     *
     * @param free whether {@code node} is the model's own data (a tool's input), where {@code name} or {@code id} is text
     */
    private boolean restoreAll(JsonNode node, boolean free) {
        boolean changed = false;
        if (node instanceof ObjectNode o) {
            JsonNode type = o.get("type");
            if (type != null && SIGNED_TYPES.contains(type.asText())) return false;
            for (Map.Entry<String, JsonNode> e : o.properties()) {
                JsonNode v = e.getValue();
                if (OPAQUE_KEYS.contains(e.getKey()) || !free && BodyWalk.IDENTIFIERS.contains(e.getKey())) continue;
                if (v instanceof TextNode t) {
                    String s = t.textValue();
                    if (s.indexOf('<') < 0) continue;
                    String r = redaction.restore(s, JSON_KEYS.contains(e.getKey()));
                    if (!r.equals(s)) {
                        e.setValue(TextNode.valueOf(r));
                        changed = true;
                    }
                } else {
                    changed |= restoreAll(v, free || BodyWalk.FREE.contains(e.getKey()));
                }
            }
        } else if (node instanceof ArrayNode a) {
            for (int i = 0; i < a.size(); i++) {
                JsonNode v = a.get(i);
                if (v instanceof TextNode t && t.textValue().indexOf('<') >= 0) {
                    String r = redaction.restore(t.textValue(), false);
                    if (!r.equals(t.textValue())) {
                        a.set(i, TextNode.valueOf(r));
                        changed = true;
                    }
                } else if (!(v instanceof TextNode)) {
                    changed |= restoreAll(v, free);
                }
            }
        }
        return changed;
    }
}
