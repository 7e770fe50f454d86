package dev.carapace.model.anthropic;

import com.fasterxml.jackson.core.ErrorReportConfiguration;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carapace.model.ApiException;
import dev.carapace.model.ApiException.Kind;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.ChatResponse;
import dev.carapace.model.FinishReason;
import dev.carapace.model.JsonBytes;
import dev.carapace.model.JsonFields;
import dev.carapace.model.JsonOutput;
import dev.carapace.model.JsonSplice;
import dev.carapace.model.Message;
import dev.carapace.model.Part;
import dev.carapace.model.Role;
import dev.carapace.model.Tool;
import dev.carapace.model.ToolCall;
import dev.carapace.model.ToolChoice;
import dev.carapace.model.UpstreamStatus;
import dev.carapace.model.Translation;
import dev.carapace.model.Usage;
import dev.carapace.model.WireApi;
import dev.carapace.model.WireFormat;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The Anthropic Messages API ({@code POST /v1/messages}), both as Carapace serves it to clients and as Carapace
 * speaks it to {@code api.anthropic.com} or a compatible upstream.
 *
 * <p>Client requests are validated in {@link AnthropicRequestParser}; streams are rendered by
 * {@link AnthropicStreamEncoder} and read by {@link AnthropicStreamDecoder}. This class holds the rest: response and
 * error rendering, the upstream request body, and upstream response and error parsing.
 *
 * <p>What the neutral types cannot carry is lost in translation, and named to the client
 * ({@link Translation}): {@code cache_control} anywhere but on text, tool fields such as {@code defer_loading}, the
 * matched stop sequence, citations. Signed thinking blocks are carried ({@link Part.Reasoning}).
 */
public final class AnthropicFormat implements WireFormat {

    /** Deeper JSON than this is refused before a tree is built (a cheap guard against stack-exhausting bodies). */
    static final int MAX_NESTING_DEPTH = 64;

    /** Shared and thread-safe once configured; every request and response of this format goes through it. */
    static final ObjectMapper MAPPER = new ObjectMapper(JsonFactory.builder()
            .recyclerPool(JsonBytes.RECYCLER_POOL)
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_NESTING_DEPTH).build())
            // Parser messages quote the offending token; keep that short and never quote the raw document.
            .errorReportConfiguration(ErrorReportConfiguration.builder()
                    .maxErrorTokenLength(JsonFields.ECHO_LIMIT).maxRawContentLength(0).build())
            .build())
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /** Upstream error messages are passed on to clients, so keep them short. */
    private static final int MAX_UPSTREAM_MESSAGE = 300;

    @Override
    public WireApi api() { return WireApi.ANTHROPIC; }

    // =====================================================================================================
    // client side
    // =====================================================================================================

    @Override
    public ChatRequest parseRequest(byte[] body) { return AnthropicRequestParser.parse(body); }

    /** Parses a {@code POST /v1/messages/count_tokens} body: a Messages request that needs no {@code max_tokens}. */
    public ChatRequest parseCountTokens(byte[] body) { return AnthropicRequestParser.parse(body, false); }

    @Override
    public byte[] renderResponse(ChatResponse r) {
        if (r.relayed() != null) return JsonSplice.replaceString(r.relayed(), r.model(), AnthropicRelay.MODEL);
        return write(g -> {
            g.writeStartObject();
            g.writeStringField("id", r.id() != null ? r.id() : newMessageId());
            g.writeStringField("type", "message");
            g.writeStringField("role", "assistant");
            g.writeStringField("model", r.model());
            g.writeArrayFieldStart("content");
            if (r.text() != null && !r.text().isEmpty()) {
                g.writeStartObject();
                g.writeStringField("type", "text");
                g.writeStringField("text", r.text());
                g.writeEndObject();
            }
            for (ToolCall c : r.toolCalls()) {
                g.writeStartObject();
                g.writeStringField("type", "tool_use");
                g.writeStringField("id", c.id());
                g.writeStringField("name", c.name());
                g.writeFieldName("input");
                g.writeTree(argumentsObject(c.arguments()));
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeStringField("stop_reason", stopReason(r.finishReason(), !r.toolCalls().isEmpty()));
            g.writeNullField("stop_sequence");
            g.writeFieldName("usage");
            writeUsage(g, r.usage() != null ? r.usage() : Usage.ZERO);
            g.writeEndObject();
        });
    }

    @Override
    public StreamEncoder streamEncoder(ChatRequest request, String model) {
        return new AnthropicStreamEncoder(model, request);
    }

    @Override
    public byte[] renderError(ApiException e) {
        return write(g -> writeError(g, e));
    }

    static void writeError(JsonGenerator g, ApiException e) throws IOException {
        g.writeStartObject();
        g.writeStringField("type", "error");
        g.writeObjectFieldStart("error");
        g.writeStringField("type", errorType(e.kind()));
        g.writeStringField("message", e.getMessage() != null ? e.getMessage() : errorType(e.kind()));
        g.writeEndObject();
        g.writeEndObject();
    }

    static String errorType(Kind kind) {
        return switch (kind) {
            case INVALID_REQUEST, UNSUPPORTED_MEDIA_TYPE -> "invalid_request_error";
            case AUTHENTICATION -> "authentication_error";
            case PERMISSION -> "permission_error";
            case NOT_FOUND -> "not_found_error";
            case TOO_LARGE -> "request_too_large";
            case RATE_LIMITED -> "rate_limit_error";
            case UNAVAILABLE -> "overloaded_error";
            case UPSTREAM, TIMEOUT, INTERNAL -> "api_error";
        };
    }

    /**
     * Some OpenAI-compatible servers (vLLM, older Ollama) answer {@code finish_reason: "stop"} even when the
     * answer holds tool calls. Anthropic clients only run tools on {@code stop_reason: "tool_use"}, so an answer
     * with tool calls that "just stopped" is reported as tool_use.
     */
    static String stopReason(FinishReason reason, boolean hasToolCalls) {
        if (reason == null || reason == FinishReason.STOP) return hasToolCalls ? "tool_use" : "end_turn";
        return switch (reason) {
            case LENGTH -> "max_tokens";
            case TOOL_CALLS -> "tool_use";
            case CONTENT_FILTER -> "refusal";
            case STOP -> "end_turn";
        };
    }

    /**
     * Anthropic counts {@code input_tokens} without the cache reads and writes, which it reports beside them;
     * the neutral {@link Usage} counts the whole prompt in {@code inputTokens}.
     */
    static void writeUsage(JsonGenerator g, Usage u) throws IOException {
        g.writeStartObject();
        g.writeNumberField("input_tokens", uncachedInput(u));
        g.writeNumberField("output_tokens", u.outputTokens());
        g.writeNumberField("cache_read_input_tokens", u.cachedInputTokens());
        g.writeNumberField("cache_creation_input_tokens", u.cacheWriteTokens());
        g.writeEndObject();
    }

    static long uncachedInput(Usage u) {
        return Math.max(0, u.inputTokens() - u.cachedInputTokens() - u.cacheWriteTokens());
    }

    /**
     * A tool call's arguments as the JSON object Anthropic's {@code input} must be. Models behind OpenAI-style
     * upstreams occasionally emit broken or empty argument text; Anthropic has no way to carry that, so it
     * becomes {@code {}} rather than failing the whole answer.
     */
    static JsonNode argumentsObject(String arguments) {
        if (arguments == null || arguments.isBlank()) return MAPPER.createObjectNode();
        try {
            JsonNode n = MAPPER.readTree(arguments);
            return n != null && n.isObject() ? n : MAPPER.createObjectNode();
        } catch (JsonProcessingException e) {
            return MAPPER.createObjectNode();
        }
    }

    static String newMessageId() {
        return "msg_" + UUID.randomUUID().toString().replace("-", "");
    }

    // =====================================================================================================
    // upstream side
    // =====================================================================================================

    @Override
    public byte[] upstreamRequest(ChatRequest r, String upstreamModel, int defaultMaxTokens) {
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
                for (ToolCall c : o.message().toolCalls()) {
                    g.writeStartObject();
                    g.writeStringField("type", "tool_use");
                    g.writeStringField("id", c.id());
                    g.writeStringField("name", c.name());
                    g.writeFieldName("input");
                    g.writeTree(argumentsObject(c.arguments()));
                    g.writeEndObject();
                }
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

    @Override
    public ChatResponse parseUpstreamResponse(byte[] body) {
        JsonNode root = readUpstream(body);
        if (!root.isObject()) throw invalidUpstream("the body is not a JSON object");
        if ("error".equals(root.path("type").asText())) throw upstreamErrorEvent(root.path("error"));
        JsonNode content = root.get("content");
        if (content == null || !content.isArray()) throw invalidUpstream("it has no content array");
        StringBuilder text = null;
        List<ToolCall> calls = new ArrayList<>();
        for (JsonNode block : content) {
            switch (block.path("type").asText()) {
                case "text" -> {
                    if (text == null) text = new StringBuilder();
                    text.append(block.path("text").asText());
                }
                case "tool_use" -> {
                    JsonNode input = block.get("input");
                    calls.add(new ToolCall(block.path("id").asText(), block.path("name").asText(),
                            input == null || input.isNull() ? "{}" : input.toString()));
                }
                default -> { } // thinking, server tool results: nothing neutral can carry them
            }
        }
        JsonNode usage = root.get("usage");
        return new ChatResponse(root.path("id").asText(null), root.path("model").asText(null),
                text == null ? null : text.toString(), calls, finishReason(root.path("stop_reason").asText(null)),
                usage == null || !usage.isObject() ? null : usage(usage.path("input_tokens").asLong(),
                        usage.path("output_tokens").asLong(), usage.path("cache_read_input_tokens").asLong(),
                        usage.path("cache_creation_input_tokens").asLong()));
    }

    static FinishReason finishReason(String stopReason) {
        if (stopReason == null) return FinishReason.STOP;
        return switch (stopReason) {
            case "max_tokens", "model_context_window_exceeded" -> FinishReason.LENGTH;
            case "tool_use" -> FinishReason.TOOL_CALLS;
            case "refusal" -> FinishReason.CONTENT_FILTER;
            default -> FinishReason.STOP; // end_turn, stop_sequence, pause_turn, and whatever comes next
        };
    }

    /** Anthropic's usage, turned into the neutral count where input includes cache reads and writes. */
    static Usage usage(long input, long output, long cacheRead, long cacheWrite) {
        return new Usage(input + cacheRead + cacheWrite, output, cacheRead, cacheWrite, 0, false);
    }

    @Override
    public StreamDecoder streamDecoder() { return new AnthropicStreamDecoder(); }

    @Override
    public StreamDecoder relayDecoder(boolean everyFrame) { return AnthropicRelay.decoder(everyFrame); }

    @Override
    public ChatResponse relayedResponse(byte[] body) { return AnthropicRelay.answer(body, this); }

    @Override
    public List<String> relayedHeaders() { return List.of("anthropic-beta"); }

    /** The parameters that ask for thinking, or manage it, and go or stay together. */
    private static final List<String> THINKING_FIELDS = List.of("thinking", "context_management");

    /** Besides what every rebuild leaves out: thinking, when the history no longer allows it. */
    @Override
    public java.util.Set<String> dropped(ChatRequest r) {
        java.util.Set<String> out = Translation.dropped(r, WireApi.ANTHROPIC);
        if (r.relaysTo(WireApi.ANTHROPIC) || !thinkingCannotGo(r)) return out;
        java.util.Set<String> all = new java.util.LinkedHashSet<>(out);
        for (String f : THINKING_FIELDS) if (r.passthrough().fields().has(f)) all.add(f);
        return Translation.bounded(all);
    }

    /**
     * Whether a rebuilt request asks for thinking that Anthropic would refuse: with thinking on, the assistant turn
     * whose tool calls the last results answer must start with its signed thinking block, and an answer Carapace had
     * to rewrite (a redacted one) reached the client without it. Thinking is then left out for this turn, and named,
     * rather than the call failing upstream; the model still sees the tool results and answers.
     */
    private static boolean thinkingCannotGo(ChatRequest r) {
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

    @Override
    public StreamEncoder relayEncoder(ChatRequest request, String model) { return new AnthropicRelay.Encoder(model); }

    @Override
    public ApiException upstreamError(int status, byte[] body) {
        String type = null;
        String message = null;
        if (body != null && body.length > 0) {
            try {
                JsonNode err = MAPPER.readTree(body).path("error");
                type = err.path("type").asText(null);
                message = err.path("message").asText(null);
            } catch (IOException | RuntimeException e) {
                // Not Anthropic's error shape (a proxy's HTML page, say): report the status alone.
            }
        }
        return UpstreamStatus.error(status, truncate(message != null ? message : type, MAX_UPSTREAM_MESSAGE), null);
    }

    /** The exception for an {@code error} object sent by the upstream in a 200 body or mid-stream. */
    static ApiException upstreamErrorEvent(JsonNode error) {
        String type = error.path("type").asText("");
        String message = truncate(error.path("message").asText(type.isEmpty() ? "unknown error" : type),
                MAX_UPSTREAM_MESSAGE);
        return switch (type) {
            case "overloaded_error" -> ApiException.of(Kind.UNAVAILABLE, "upstream_overloaded",
                    "the upstream is overloaded: " + message);
            case "rate_limit_error" -> ApiException.of(Kind.RATE_LIMITED, "upstream_rate_limited",
                    "the upstream is rate limiting: " + message);
            default -> ApiException.of(Kind.UPSTREAM, "upstream_error", "the upstream failed: " + message);
        };
    }

    static JsonNode readUpstream(byte[] body) {
        try {
            JsonNode n = MAPPER.readTree(body);
            if (n == null || n.isMissingNode()) throw invalidUpstream("the body is empty");
            return n;
        } catch (IOException e) {
            throw invalidUpstream("the body is not valid JSON");
        }
    }

    static ApiException invalidUpstream(String why) {
        return ApiException.of(Kind.UPSTREAM, "upstream_invalid_response",
                "the upstream returned an invalid response: " + why);
    }

    // =====================================================================================================
    // helpers
    // =====================================================================================================

    static byte[] write(JsonOutput.Body w) { return write(512, w); }

    /** {@code sizeHint}: the expected output size, so that large bodies are not copied over and over as they grow. */
    static byte[] write(int sizeHint, JsonOutput.Body w) { return JsonOutput.json(MAPPER, sizeHint, w); }

    static String truncate(String s, int max) {
        if (s == null || s.length() <= max) return s;
        return s.substring(0, max) + "…";
    }
}
