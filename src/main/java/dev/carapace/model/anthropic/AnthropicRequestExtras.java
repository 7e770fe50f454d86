package dev.carapace.model.anthropic;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.Part;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import static dev.carapace.model.JsonFields.clip;

/** What one request holds beyond the neutral view: see {@link ChatRequest.Passthrough}. */
final class AnthropicRequestExtras {
    /** More than enough to name what a translation drops; a request with thousands of odd keys is not listed whole. */
    private static final int MAX = 32;
    /**
     * Keys of a block of a type Carapace does not model that hold no text for the view: ids, signatures, and
     * {@code data} beside {@code "type": "base64"} (a plain-text source keeps its text in {@code data}).
     */
    private static final Set<String> OPAQUE = Set.of("type", "id", "signature", "media_type", "tool_use_id",
            "cache_control", "citations");

    final Set<String> lossy = new LinkedHashSet<>();
    final List<String> untranslatable = new ArrayList<>();
    /** Names of server tools, which tool_choice may name. */
    final Set<String> serverTools = new HashSet<>();

    void lossy(String path) {
        if (lossy.size() < MAX) lossy.add(path);
    }

    /**
     * A content block of a type Carapace does not model (a document, a server tool's result, ...): kept for a
     * relay, refused by a translation. Its text joins the view as a text part all the same, so that privacy rules
     * and token counts see it; since a translation of the request is refused, that part is never sent as text.
     * True when it added text.
     */
    boolean block(JsonNode b, String bp, String type, List<Part> parts) {
        if ("tool_reference".equals(type)) {   // a tool search's result: the tools it names are all sent anyway
            lossy("tool_reference");
            return false;
        }
        if (untranslatable.size() < MAX) untranslatable.add(bp + " ('" + clip(type) + "' block)");
        StringBuilder text = new StringBuilder();
        leaves(b, text);
        if (text.isEmpty()) return false;
        parts.add(new Part.Text(text.toString()));
        return true;
    }

    static void leaves(JsonNode n, StringBuilder out) {
        if (n.isTextual()) {
            if (!out.isEmpty()) out.append('\n');
            out.append(n.textValue());
        } else if (n.isArray()) {
            for (JsonNode e : n) leaves(e, out);
        } else if (n.isObject()) {
            boolean base64 = "base64".equals(n.path("type").textValue());
            for (var e : n.properties()) {
                String k = e.getKey();
                if (!OPAQUE.contains(k) && !(base64 && k.equals("data"))) leaves(e.getValue(), out);
            }
        }
    }
}
