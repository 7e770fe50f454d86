package dev.carapace.model.anthropic;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.model.ApiException;
import dev.carapace.model.Message;
import dev.carapace.model.Part;
import dev.carapace.model.Role;
import dev.carapace.model.ToolCall;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static dev.carapace.model.JsonFields.clip;
import static dev.carapace.model.JsonFields.describe;
import static dev.carapace.model.anthropic.AnthropicFields.blockType;
import static dev.carapace.model.anthropic.AnthropicFields.cacheControl;
import static dev.carapace.model.anthropic.AnthropicFields.requiredString;
import static dev.carapace.model.anthropic.AnthropicFields.requiredText;
import static dev.carapace.model.anthropic.AnthropicFields.typeError;

/**
 * Reads the conversation of a {@code /v1/messages} body: the top-level {@code system} prompt and the {@code messages}
 * with their content blocks (text, image, tool_use, tool_result, thinking), into neutral {@link Message}s. Blocks of a
 * type Carapace does not model go to {@link AnthropicRequestExtras}. Part of {@link AnthropicRequestParser}.
 */
final class AnthropicContentReader {

    private AnthropicContentReader() {}

    private static final Set<String> MEDIA_TYPES = Set.of("image/jpeg", "image/png", "image/gif", "image/webp");

    // ---- system ----

    /** A system turn inside {@code messages}: a string or text blocks, like the top-level system prompt. */
    static void systemMessage(JsonNode content, String p, List<Message> out) {
        if (content.isTextual()) {
            if (!content.textValue().isEmpty()) out.add(Message.of(Role.SYSTEM, content.textValue()));
            return;
        }
        List<Part> parts = new ArrayList<>(content.size());
        for (int j = 0; j < content.size(); j++) {
            String bp = p + ".content[" + j + "]";
            JsonNode b = content.get(j);
            String type = blockType(b, bp);
            if (!type.equals("text")) {
                throw ApiException.invalid(bp + ".type", bp + ".type: system messages may only hold text blocks, got '"
                        + clip(type) + "'");
            }
            parts.add(textPart(b, bp));
        }
        if (!parts.isEmpty()) out.add(new Message(Role.SYSTEM, parts, List.of(), null, false));
    }

    static List<Message> system(JsonNode v) {
        if (v.isNull()) return List.of();
        if (v.isTextual()) {
            return v.textValue().isEmpty() ? List.of() : List.of(Message.of(Role.SYSTEM, v.textValue()));
        }
        if (!v.isArray()) throw typeError("system", "a string or an array of text blocks", v);
        if (v.isEmpty()) return List.of();
        List<Part> parts = new ArrayList<>(v.size());
        for (int i = 0; i < v.size(); i++) {
            String p = "system[" + i + "]";
            JsonNode b = v.get(i);
            String type = blockType(b, p);
            if (!type.equals("text")) {
                throw ApiException.invalid(p + ".type", p + ".type: system blocks must be of type 'text', got '"
                        + clip(type) + "'");
            }
            parts.add(textPart(b, p));
        }
        return List.of(new Message(Role.SYSTEM, parts, List.of(), null, false));
    }

    // ---- messages ----

    static List<Message> messages(JsonNode v, AnthropicRequestExtras extras) {
        if (!v.isArray()) throw typeError("messages", "a non-empty array of messages", v);
        if (v.isEmpty()) {
            throw ApiException.invalid("messages", "messages: at least one message is required");
        }
        List<Message> out = new ArrayList<>(v.size() + 2);
        for (int i = 0; i < v.size(); i++) {
            String p = "messages[" + i + "]";
            JsonNode m = v.get(i);
            if (!m.isObject()) throw typeError(p, "an object with role and content", m);
            JsonNode role = null;
            JsonNode content = null;
            for (Map.Entry<String, JsonNode> e : m.properties()) {
                switch (e.getKey()) {
                    case "role" -> role = e.getValue();
                    case "content" -> content = e.getValue();
                    default -> extras.lossy("messages[]." + e.getKey());   // e.g. a system turn's own output_config
                }
            }
            if (role == null) {
                throw ApiException.invalid(p + ".role", p + ".role: Field required; expected 'user', 'assistant' "
                        + "or 'system'");
            }
            if (content == null || content.isNull()) {
                throw ApiException.invalid(p + ".content", p + ".content: Field required; expected a string or "
                        + "an array of content blocks");
            }
            if (!content.isTextual() && !content.isArray()) {
                throw typeError(p + ".content", "a string or an array of content blocks", content);
            }
            String r = role.isTextual() ? role.textValue() : null;
            if ("user".equals(r)) {
                userMessage(content, p, out, extras);
            } else if ("assistant".equals(r)) {
                assistantMessage(content, p, out, extras);
            } else if ("system".equals(r)) {
                // Claude Code sends per-turn instructions this way; in neutral form it is a system message in place.
                systemMessage(content, p, out);
            } else {
                throw ApiException.invalid(p + ".role", p + ".role: expected 'user', 'assistant' or 'system', got "
                        + describe(role));
            }
        }
        return out;
    }

    /**
     * A user message holds the results of the previous turn's tool calls (tool_result blocks) and/or new input.
     * In neutral form each result is its own TOOL message, and they come first: OpenAI upstreams require tool
     * messages to follow the assistant's tool calls directly.
     */
    static void userMessage(JsonNode content, String p, List<Message> out, AnthropicRequestExtras extras) {
        if (content.isTextual()) {
            out.add(Message.of(Role.USER, content.textValue()));
            return;
        }
        List<Part> parts = new ArrayList<>(content.size());
        int results = 0;
        for (int j = 0; j < content.size(); j++) {
            String bp = p + ".content[" + j + "]";
            JsonNode b = content.get(j);
            String type = blockType(b, bp);
            switch (type) {
                case "text" -> parts.add(textPart(b, bp));
                case "image" -> parts.add(imagePart(b, bp));
                case "tool_result" -> {
                    out.add(toolResult(b, bp, extras));
                    results++;
                }
                case "tool_use", "thinking", "redacted_thinking" -> throw ApiException.invalid(bp + ".type",
                        bp + ".type: " + type + " blocks may only appear in assistant messages");
                default -> extras.block(b, bp, type, parts);
            }
        }
        if (!parts.isEmpty() || results == 0) out.add(new Message(Role.USER, parts, List.of(), null, false));
    }

    static void assistantMessage(JsonNode content, String p, List<Message> out, AnthropicRequestExtras extras) {
        if (content.isTextual()) {
            if (!content.textValue().isEmpty()) out.add(Message.of(Role.ASSISTANT, content.textValue()));
            return;
        }
        List<Part> parts = new ArrayList<>(content.size());
        List<ToolCall> calls = new ArrayList<>(2);
        boolean said = false;
        for (int j = 0; j < content.size(); j++) {
            String bp = p + ".content[" + j + "]";
            JsonNode b = content.get(j);
            String type = blockType(b, bp);
            switch (type) {
                case "text" -> {
                    parts.add(textPart(b, bp));
                    said = true;
                }
                case "tool_use" -> calls.add(toolUse(b, bp));
                // Signed by the model that wrote it: kept as it came for an Anthropic upstream, which wants it back
                // before the results of the tool calls it preceded; any other API has no place for it.
                case "thinking" -> parts.add(new Part.Reasoning(requiredText(b, "thinking", bp),
                        requiredText(b, "signature", bp)));
                case "redacted_thinking" -> parts.add(new Part.Reasoning(null, requiredText(b, "data", bp)));
                case "tool_result", "image" -> throw ApiException.invalid(bp + ".type",
                        bp + ".type: " + type + " blocks may only appear in user messages");
                default -> said |= extras.block(b, bp, type, parts);
            }
        }
        // An assistant turn that said nothing (or only thought) has nothing to pass on.
        if (said || !calls.isEmpty()) {
            out.add(new Message(Role.ASSISTANT, parts, calls, null, false));
        }
    }

    static Part.Text textPart(JsonNode b, String bp) {
        JsonNode text = b.get("text");
        if (text == null) {
            throw ApiException.invalid(bp + ".text", bp + ".text: Field required; expected a string");
        }
        if (!text.isTextual()) throw typeError(bp + ".text", "a string", text);
        return new Part.Text(text.textValue(), cacheControl(b, bp));
    }

    static Part.Image imagePart(JsonNode b, String bp) {
        cacheControl(b, bp); // validated; Part.Image has no breakpoint, so it is dropped
        JsonNode src = b.get("source");
        String sp = bp + ".source";
        if (src == null) {
            throw ApiException.invalid(sp, sp + ": Field required; expected {\"type\": \"base64\", \"media_type\", "
                    + "\"data\"} or {\"type\": \"url\", \"url\"}");
        }
        if (!src.isObject()) throw typeError(sp, "an object", src);
        JsonNode type = src.get("type");
        String t = type != null && type.isTextual() ? type.textValue() : null;
        if ("base64".equals(t)) {
            JsonNode mt = src.get("media_type");
            if (mt == null || !mt.isTextual() || !MEDIA_TYPES.contains(mt.textValue())) {
                throw ApiException.invalid(sp + ".media_type", sp + ".media_type: expected one of image/jpeg, "
                        + "image/png, image/gif, image/webp, got " + (mt == null ? "nothing" : describe(mt)));
            }
            JsonNode data = src.get("data");
            if (data == null || !data.isTextual() || data.textValue().isEmpty()) {
                throw ApiException.invalid(sp + ".data", sp + ".data: expected the base64-encoded image as a "
                        + "non-empty string");
            }
            return new Part.Image(null, mt.textValue(), data.textValue());
        }
        if ("url".equals(t)) {
            JsonNode url = src.get("url");
            if (url == null || !url.isTextual() || url.textValue().isEmpty()) {
                throw ApiException.invalid(sp + ".url", sp + ".url: expected the image URL as a non-empty string");
            }
            return new Part.Image(url.textValue(), null, null);
        }
        throw ApiException.invalid(sp + ".type", sp + ".type: expected 'base64' or 'url', got "
                + (type == null ? "nothing" : describe(type)));
    }

    static ToolCall toolUse(JsonNode b, String bp) {
        String id = requiredString(b, "id", bp);
        String name = requiredString(b, "name", bp);
        JsonNode input = b.get("input");
        if (input == null) {
            throw ApiException.invalid(bp + ".input", bp + ".input: Field required; expected a JSON object");
        }
        if (!input.isObject()) throw typeError(bp + ".input", "a JSON object", input);
        cacheControl(b, bp); // validated; ToolCall has no breakpoint, so it is dropped
        return new ToolCall(id, name, input.toString());
    }

    static Message toolResult(JsonNode b, String bp, AnthropicRequestExtras extras) {
        String id = requiredString(b, "tool_use_id", bp);
        JsonNode c = b.get("content");
        List<Part> parts;
        if (c == null || c.isNull()) {
            parts = new ArrayList<>(1);
        } else if (c.isTextual()) {
            parts = new ArrayList<>(1);
            parts.add(new Part.Text(c.textValue()));
        } else if (c.isArray()) {
            parts = new ArrayList<>(c.size());
            for (int k = 0; k < c.size(); k++) {
                String cp = bp + ".content[" + k + "]";
                JsonNode inner = c.get(k);
                String type = blockType(inner, cp);
                switch (type) {
                    case "text" -> parts.add(textPart(inner, cp));
                    case "image" -> parts.add(imagePart(inner, cp));
                    default -> extras.block(inner, cp, type, parts);
                }
            }
        } else {
            throw typeError(bp + ".content", "a string or an array of text and image blocks", c);
        }
        // cache_control on the result itself marks the end of the result as a breakpoint; the neutral types keep
        // breakpoints on text, so the last text part carries it.
        if (cacheControl(b, bp)) {
            for (int k = parts.size() - 1; k >= 0; k--) {
                if (parts.get(k) instanceof Part.Text t) {
                    parts.set(k, new Part.Text(t.text(), true));
                    break;
                }
            }
        }
        JsonNode err = b.get("is_error");
        boolean isError = false;
        if (err != null && !err.isNull()) {
            if (!err.isBoolean()) throw typeError(bp + ".is_error", "a boolean", err);
            isError = err.booleanValue();
        }
        return new Message(Role.TOOL, parts, List.of(), id, isError);
    }
}
