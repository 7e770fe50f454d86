package dev.carapace.model.anthropic;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.model.ApiException;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.Message;
import dev.carapace.model.Part;
import dev.carapace.model.Role;
import dev.carapace.model.Tool;
import dev.carapace.model.ToolCall;
import dev.carapace.model.ToolChoice;
import dev.carapace.model.Translation;
import dev.carapace.model.WireApi;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static dev.carapace.model.anthropic.AnthropicFormat.write;
import static dev.carapace.model.anthropic.AnthropicFormat.writeToolUse;

/**
 * The body Carapace sends an Anthropic upstream for a neutral {@link ChatRequest} rebuilt from another API (or
 * relayed, see {@link AnthropicRelay}): system messages joined into the top-level prompt, turns merged to keep
 * Anthropic's strict user/assistant alternation, tool results first in a user turn, and thinking left out when the
 * history no longer allows it. The upstream side of {@link AnthropicFormat}.
 */
final class AnthropicUpstreamRequest {

    private AnthropicUpstreamRequest() {}

    static byte[] build(ChatRequest r, String upstreamModel, int defaultMaxTokens) {
        if (r.relaysTo(WireApi.ANTHROPIC)) return AnthropicRelay.request(r, upstreamModel, defaultMaxTokens);
        Translation.check(r, WireApi.ANTHROPIC);
        // Another API's own parameters are left out (and named to the client: see Translation#dropped).
        ChatRequest.Passthrough pt = r.passthrough().api() == WireApi.ANTHROPIC ? r.passthrough()
                : ChatRequest.Passthrough.NONE;
        // Anthropic has no system role inside the conversation: every SYSTEM message, wherever it stands, joins
        // the top-level system prompt in order. Keeping it a system instruction preserves its authority, which
        // turning it into user text would not.
        List<Part.Text> system = new ArrayList<>();
        List<Turn> turns = new ArrayList<>();
        List<Message> messages = r.messages();
        long size = 1024;
        for (int i = 0; i < messages.size(); i++) {
            Message m = messages.get(i);
            for (Part p : m.content()) {
                size += p instanceof Part.Text t ? t.text().length() + 64
                        : p instanceof Part.Image img && img.data() != null ? img.data().length() + 128
                        : p instanceof Part.Reasoning th ? th.signature().length() + (th.redacted() ? 64 : th.text().length() + 96)
                        : 256;
            }
            if (m.role() == Role.SYSTEM) {
                for (Part p : m.content()) if (p instanceof Part.Text t && !t.text().isEmpty()) system.add(t);
                continue;
            }
            if (isEmptyTurnContent(m)) continue;
            boolean user = m.role() != Role.ASSISTANT;
            // Anthropic requires strict user/assistant alternation; consecutive messages of one side merge.
            Turn last = turns.isEmpty() ? null : turns.get(turns.size() - 1);
            if (last == null || last.user != user) turns.add(last = new Turn(user));
            last.add(m, i);
        }

        return write((int) Math.min(size + size / 8, 64L << 20), g -> {
            g.writeStartObject();
            g.writeStringField("model", upstreamModel);
            g.writeNumberField("max_tokens", r.maxTokens() != null ? r.maxTokens() : defaultMaxTokens);
            if (!system.isEmpty()) {
                g.writeArrayFieldStart("system");
                for (Part.Text t : system) writeTextBlock(g, t);
                g.writeEndArray();
            }
            g.writeArrayFieldStart("messages");
            for (Turn t : turns) t.write(g);
            g.writeEndArray();
            if (!r.tools().isEmpty()) {
                g.writeArrayFieldStart("tools");
                for (Tool tool : r.tools()) {
                    g.writeStartObject();
                    g.writeStringField("name", tool.name());
                    if (tool.description() != null) g.writeStringField("description", tool.description());
                    g.writeFieldName("input_schema");
                    if (tool.parameters() != null) g.writeTree(tool.parameters());
                    else g.writeRawValue("{\"type\":\"object\",\"properties\":{}}");
                    g.writeEndObject();
                }
                g.writeEndArray();
                writeToolChoice(g, r.toolChoice(), r.parallelToolCalls());
            }
            // OpenAI clients may send up to 2; Anthropic refuses anything above 1. Clamping keeps "as random as
            // allowed" instead of failing a request the client had no way of knowing was routed here.
            if (r.temperature() != null) g.writeNumberField("temperature", Math.min(1.0, r.temperature()));
            if (r.topP() != null) g.writeNumberField("top_p", r.topP());
            if (!r.stop().isEmpty()) {
                g.writeArrayFieldStart("stop_sequences");
                for (String s : r.stop()) g.writeString(s);
                g.writeEndArray();
            }
            if (r.user() != null) {
                g.writeObjectFieldStart("metadata");
                g.writeStringField("user_id", r.user());
                g.writeEndObject();
            }
            if (r.stream()) g.writeBooleanField("stream", true);
            if (!pt.isEmpty()) {
                boolean withoutThinking = thinkingCannotGo(r);
                for (var e : pt.fields().properties()) {
                    if (withoutThinking && THINKING_FIELDS.contains(e.getKey())) continue;
                    g.writeFieldName(e.getKey());
                    g.writeTree(e.getValue());
                }
            }
            g.writeEndObject();
        });
    }

    private static boolean isEmptyTurnContent(Message m) {
        if (m.role() == Role.TOOL || !m.toolCalls().isEmpty()) return false;
        for (Part p : m.content()) {
            if (p instanceof Part.Image || (p instanceof Part.Text t && !t.text().isEmpty())) return false;
        }
        // Anthropic rejects empty content blocks and empty messages; an empty message says nothing anyway.
        return true;
    }

    private static void writeToolChoice(JsonGenerator g, ToolChoice tc, Boolean parallel) throws IOException {
        boolean disableParallel = Boolean.FALSE.equals(parallel);
        if (tc == null && !disableParallel) return;
        g.writeObjectFieldStart("tool_choice");
        ToolChoice.Mode mode = tc == null ? ToolChoice.Mode.AUTO : tc.mode();
        switch (mode) {
            case AUTO -> g.writeStringField("type", "auto");
            case REQUIRED -> g.writeStringField("type", "any");
            case TOOL -> {
                g.writeStringField("type", "tool");
                g.writeStringField("name", tc.name());
            }
            case NONE -> g.writeStringField("type", "none");
        }
        // With "none" no tool runs at all, so the parallelism flag would be meaningless (and is refused).
        if (disableParallel && mode != ToolChoice.Mode.NONE) g.writeBooleanField("disable_parallel_tool_use", true);
        g.writeEndObject();
    }

    /** One Anthropic message in the making: consecutive neutral messages of the same side. */
    private static final class Turn {
        final boolean user;
        /** TOOL messages; Anthropic wants tool_result blocks before any other content of a user message. */
        final List<Indexed> results = new ArrayList<>();
        final List<Indexed> others = new ArrayList<>();

        Turn(boolean user) { this.user = user; }

        void add(Message m, int index) {
            (m.role() == Role.TOOL ? results : others).add(new Indexed(m, index));
        }

        void write(JsonGenerator g) throws IOException {
            g.writeStartObject();
            g.writeStringField("role", user ? "user" : "assistant");
            g.writeArrayFieldStart("content");
            for (Indexed r : results) writeToolResult(g, r.message(), r.index());
            for (Indexed o : others) {
                List<Part> content = o.message().content();
                for (int j = 0; j < content.size(); j++) {
                    writePart(g, content.get(j), "messages[" + o.index() + "].content[" + j + "]");
                }
                for (ToolCall c : o.message().toolCalls()) writeToolUse(g, c);
            }
            g.writeEndArray();
            g.writeEndObject();
        }
    }

    /** A neutral message with its position in the request, for error paths. */
    private record Indexed(Message message, int index) {}

    private static void writeToolResult(JsonGenerator g, Message m, int index) throws IOException {
        g.writeStartObject();
        g.writeStringField("type", "tool_result");
        g.writeStringField("tool_use_id", m.toolCallId());
        List<Part> content = m.content();
        boolean cache = false;
        int texts = 0;
        int images = 0;
        Part.Text single = null;
        for (Part p : content) {
            if (p instanceof Part.Text t) {
                cache |= t.cacheBreakpoint();
                if (!t.text().isEmpty()) {
                    texts++;
                    single = t;
                }
            } else {
                images++;
            }
        }
        if (texts + images > 0) {
            if (texts == 1 && images == 0) {
                g.writeStringField("content", single.text()); // the common case, in its most compact form
            } else {
                g.writeArrayFieldStart("content");
                for (int j = 0; j < content.size(); j++) {
                    Part p = content.get(j);
                    if (p instanceof Part.Text t) {
                        if (t.text().isEmpty()) continue;
                        g.writeStartObject();
                        g.writeStringField("type", "text");
                        g.writeStringField("text", t.text());
                        g.writeEndObject();
                    } else {
                        writePart(g, p, "messages[" + index + "].content[" + j + "]");
                    }
                }
                g.writeEndArray();
            }
        }
        if (m.toolError()) g.writeBooleanField("is_error", true);
        // The breakpoint of any text inside the result is carried by the tool_result block: that is where
        // Anthropic documents cache_control for tool results, and the prefix it marks ends there anyway.
        if (cache) writeCacheControl(g);
        g.writeEndObject();
    }

    private static void writePart(JsonGenerator g, Part p, String path) throws IOException {
        switch (p) {
            case Part.Text t -> {
                if (!t.text().isEmpty()) writeTextBlock(g, t);
            }
            case Part.Image img -> writeImage(g, img, path);
            case Part.Reasoning th -> {
                g.writeStartObject();
                if (th.redacted()) {
                    g.writeStringField("type", "redacted_thinking");
                    g.writeStringField("data", th.signature());
                } else {
                    g.writeStringField("type", "thinking");
                    g.writeStringField("thinking", th.text());
                    g.writeStringField("signature", th.signature());
                }
                g.writeEndObject();
            }
        }
    }

    private static void writeTextBlock(JsonGenerator g, Part.Text t) throws IOException {
        g.writeStartObject();
        g.writeStringField("type", "text");
        g.writeStringField("text", t.text());
        if (t.cacheBreakpoint()) writeCacheControl(g);
        g.writeEndObject();
    }

    private static void writeCacheControl(JsonGenerator g) throws IOException {
        g.writeObjectFieldStart("cache_control");
        g.writeStringField("type", "ephemeral");
        g.writeEndObject();
    }

    private static void writeImage(JsonGenerator g, Part.Image img, String path) throws IOException {
        g.writeStartObject();
        g.writeStringField("type", "image");
        g.writeObjectFieldStart("source");
        if (img.data() != null) {
            g.writeStringField("type", "base64");
            g.writeStringField("media_type", img.mediaType());
            g.writeStringField("data", img.data());
        } else if (img.url() != null && img.url().regionMatches(true, 0, "data:", 0, 5)) {
            // data:<media type>[;param]*;base64,<data> — Anthropic takes inline images only as base64 sources.
            String url = img.url();
            int comma = url.indexOf(',');
            String header = comma < 0 ? "" : url.substring(5, comma);
            if (comma < 0 || !header.toLowerCase().endsWith(";base64")) {
                throw ApiException.invalid(path, path + ": an image data URI must be base64-encoded "
                        + "(data:<media type>;base64,<data>)");
            }
            int semi = header.indexOf(';');
            String mediaType = header.substring(0, semi);
            if (mediaType.isEmpty()) {
                throw ApiException.invalid(path, path + ": the image data URI names no media type "
                        + "(expected e.g. data:image/png;base64,...)");
            }
            g.writeStringField("type", "base64");
            g.writeStringField("media_type", mediaType);
            g.writeStringField("data", url.substring(comma + 1));
        } else {
            g.writeStringField("type", "url");
            g.writeStringField("url", img.url());
        }
        g.writeEndObject();
        g.writeEndObject();
    }

    /** The parameters that ask for thinking, or manage it, and go or stay together. */
    static final List<String> THINKING_FIELDS = List.of("thinking", "context_management");

    /**
     * Whether a rebuilt request asks for thinking that Anthropic would refuse: with thinking on, the assistant turn
     * whose tool calls the last results answer must start with its signed thinking block, and an answer Carapace had
     * to rewrite (a redacted one) reached the client without it. Thinking is then left out for this turn, and named,
     * rather than the call failing upstream; the model still sees the tool results and answers.
     */
    static boolean thinkingCannotGo(ChatRequest r) {
        ChatRequest.Passthrough pt = r.passthrough();
        if (pt.api() != WireApi.ANTHROPIC || pt.isEmpty()) return false;
        JsonNode thinking = pt.fields().get("thinking");
        if (thinking == null || "disabled".equals(thinking.path("type").asText())) return false;
        List<Message> messages = r.messages();
        boolean answered = false;
        for (int i = messages.size() - 1; i >= 0; i--) {
            Message m = messages.get(i);
            if (m.role() == Role.TOOL) answered = true;
            if (m.role() != Role.ASSISTANT) continue;
            if (!answered || m.toolCalls().isEmpty()) return false;
            return m.content().isEmpty() || !(m.content().get(0) instanceof Part.Reasoning);
        }
        return false;
    }
}
