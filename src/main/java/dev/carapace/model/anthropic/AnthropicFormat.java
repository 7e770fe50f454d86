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
import dev.carapace.model.Part;
import dev.carapace.model.ToolCall;
import dev.carapace.model.UpstreamStatus;
import dev.carapace.model.UpstreamText;
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
 * {@link AnthropicStreamEncoder} and read by {@link AnthropicStreamDecoder}; the upstream request body is built by
 * {@link AnthropicUpstreamRequest}. This class holds the rest: response and error rendering, and upstream response
 * and error parsing.
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
            for (ToolCall c : r.toolCalls()) writeToolUse(g, c);
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
            case INVALID_REQUEST, METHOD_NOT_ALLOWED, UNSUPPORTED_MEDIA_TYPE -> "invalid_request_error";
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

    /** A {@code tool_use} content block, as answers and assistant turns carry a tool call. */
    static void writeToolUse(JsonGenerator g, ToolCall c) throws IOException {
        g.writeStartObject();
        g.writeStringField("type", "tool_use");
        g.writeStringField("id", c.id());
        g.writeStringField("name", c.name());
        g.writeFieldName("input");
        g.writeTree(argumentsObject(c.arguments()));
        g.writeEndObject();
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
        return AnthropicUpstreamRequest.build(r, upstreamModel, defaultMaxTokens);
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

    /** Besides what every rebuild leaves out: thinking, when the history no longer allows it. */
    @Override
    public java.util.Set<String> dropped(ChatRequest r) {
        java.util.Set<String> out = Translation.dropped(r, WireApi.ANTHROPIC);
        if (r.relaysTo(WireApi.ANTHROPIC) || !AnthropicUpstreamRequest.thinkingCannotGo(r)) return out;
        java.util.Set<String> all = new java.util.LinkedHashSet<>(out);
        for (String f : AnthropicUpstreamRequest.THINKING_FIELDS) if (r.passthrough().fields().has(f)) all.add(f);
        return Translation.bounded(all);
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
        String said = message != null ? message : type;
        return UpstreamStatus.error(status, said == null ? null : UpstreamText.clean(said), null);
    }

    /** The exception for an {@code error} object sent by the upstream in a 200 body or mid-stream. */
    static ApiException upstreamErrorEvent(JsonNode error) {
        String type = error.path("type").asText("");
        String message = UpstreamText.clean(error.path("message").asText(type.isEmpty() ? "unknown error" : type));
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
}
