package dev.carapace.model.openai;

import com.fasterxml.jackson.core.ErrorReportConfiguration;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
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
import dev.carapace.model.Tool;
import dev.carapace.model.ToolCall;
import dev.carapace.model.UpstreamStatus;
import dev.carapace.model.UpstreamText;
import dev.carapace.model.Translation;
import dev.carapace.model.Usage;
import dev.carapace.model.WireApi;
import dev.carapace.model.WireFormat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;

/**
 * OpenAI Chat Completions ({@code /v1/chat/completions}), both as Carapace serves it to clients and as it speaks it
 * to OpenAI-compatible upstreams (OpenAI itself, vLLM, Ollama, llama.cpp, ...).
 *
 * <p>Client requests are validated in {@link OpenAiRequestParser}; streams are rendered by {@link OpenAiStreamEncoder}
 * and read by {@link OpenAiStreamDecoder}; upstream requests are built by {@link OpenAiUpstreamRequest}. This class
 * holds the rest: response and error rendering, upstream responses and errors. The upstream side is lenient: OpenAI-compatible servers differ in small ways, and a
 * quirk that still carries the meaning is accepted rather than turned into an outage.
 *
 * <p>JSON is read into Jackson's tree model and written with a streaming generator; no data binding by reflection.
 * Stateless and thread-safe; the stream encoders and decoders it hands out are per-stream.
 */
public final class OpenAiFormat implements WireFormat {

    /** Deep enough for any real JSON Schema, shallow enough that nesting cannot be used to exhaust the stack. */
    static final int MAX_NESTING_DEPTH = 64;

    static final JsonFactory JSON_FACTORY = JsonFactory.builder()
            .recyclerPool(JsonBytes.RECYCLER_POOL)
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_NESTING_DEPTH).build())
            // Parser messages quote the offending token; keep that short and never quote the raw document.
            .errorReportConfiguration(ErrorReportConfiguration.builder()
                    .maxErrorTokenLength(JsonFields.ECHO_LIMIT).maxRawContentLength(0).build())
            .build();
    static final ObjectMapper MAPPER = JsonMapper.builder(JSON_FACTORY)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    static final byte[] DATA_PREFIX = "data: ".getBytes(StandardCharsets.US_ASCII);
    static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);

    private static final Pattern ERROR_CODE = Pattern.compile("[a-z][a-z0-9_]{0,63}");

    @Override
    public WireApi api() { return WireApi.OPENAI; }

    @Override
    public ChatRequest parseRequest(byte[] body) { return OpenAiRequestParser.parse(body); }

    // =====================================================================================================
    // Client side: rendering responses, streams and errors
    // =====================================================================================================

    @Override
    public byte[] renderResponse(ChatResponse r) {
        if (r.relayed() != null) return JsonSplice.replaceString(r.relayed(), r.model(), OpenAiRelay.MODEL);
        return json(g -> {
            g.writeStartObject();
            g.writeStringField("id", r.id() != null ? r.id() : newId("chatcmpl-"));
            g.writeStringField("object", "chat.completion");
            g.writeNumberField("created", nowSeconds());
            g.writeStringField("model", r.model());
            g.writeArrayFieldStart("choices");
            g.writeStartObject();
            g.writeNumberField("index", 0);
            g.writeObjectFieldStart("message");
            g.writeStringField("role", "assistant");
            boolean noText = r.text() == null || (r.text().isEmpty() && !r.toolCalls().isEmpty());
            if (noText) g.writeNullField("content");
            else g.writeStringField("content", r.text());
            writeToolCalls(g, r.toolCalls());
            g.writeEndObject();
            g.writeStringField("finish_reason", finishName(r.finishReason()));
            g.writeEndObject();
            g.writeEndArray();
            if (r.usage() != null) writeUsage(g, r.usage());
            g.writeEndObject();
        });
    }

    @Override
    public StreamEncoder streamEncoder(ChatRequest request, String model) {
        return new OpenAiStreamEncoder(model, request.includeUsage());
    }

    @Override
    public byte[] renderError(ApiException error) {
        return json(g -> writeError(g, error));
    }

    static void writeError(JsonGenerator g, ApiException e) throws IOException {
        g.writeStartObject();
        g.writeObjectFieldStart("error");
        g.writeStringField("message", e.getMessage() != null ? e.getMessage() : e.kind().name().toLowerCase());
        g.writeStringField("type", errorType(e.kind()));
        g.writeStringField("param", e.param());
        g.writeStringField("code", e.code());
        g.writeEndObject();
        g.writeEndObject();
    }

    private static String errorType(Kind kind) {
        return switch (kind) {
            case INVALID_REQUEST, METHOD_NOT_ALLOWED, TOO_LARGE, UNSUPPORTED_MEDIA_TYPE -> "invalid_request_error";
            case AUTHENTICATION -> "authentication_error";
            case PERMISSION -> "permission_error";
            case NOT_FOUND -> "not_found_error";
            case RATE_LIMITED -> "rate_limit_error";
            case UPSTREAM, UNAVAILABLE, TIMEOUT, INTERNAL -> "api_error";
        };
    }

    private static void writeUsage(JsonGenerator g, Usage u) throws IOException {
        g.writeObjectFieldStart("usage");
        g.writeNumberField("prompt_tokens", u.inputTokens());
        g.writeNumberField("completion_tokens", u.outputTokens());
        g.writeNumberField("total_tokens", u.inputTokens() + u.outputTokens());
        g.writeObjectFieldStart("prompt_tokens_details");
        g.writeNumberField("cached_tokens", u.cachedInputTokens());
        g.writeEndObject();
        g.writeObjectFieldStart("completion_tokens_details");
        g.writeNumberField("reasoning_tokens", u.reasoningTokens());
        g.writeEndObject();
        g.writeEndObject();
    }

    static String finishName(FinishReason reason) {
        if (reason == null) return "stop";
        return switch (reason) {
            case STOP -> "stop";
            case LENGTH -> "length";
            case TOOL_CALLS -> "tool_calls";
            case CONTENT_FILTER -> "content_filter";
        };
    }


    // =====================================================================================================
    // Upstream side: requests
    // =====================================================================================================

    @Override
    public byte[] upstreamRequest(ChatRequest r, String upstreamModel, int defaultMaxTokens) {
        // defaultMaxTokens is unused: OpenAI-compatible servers need no limit and pick their own default.
        return OpenAiUpstreamRequest.build(r, upstreamModel);
    }

    /**
     * Besides what every translation leaves out ({@link Translation#dropped}): earlier reasoning (signed thinking
     * blocks, which only the Anthropic model that wrote them can read) and cache breakpoints, which Chat Completions
     * has no field for.
     */
    @Override
    public Set<String> dropped(ChatRequest r) {
        Set<String> out = Translation.dropped(r, WireApi.OPENAI);
        if (r.relaysTo(WireApi.OPENAI)) return out;
        boolean thinking = false;
        boolean cache = false;
        for (Message m : r.messages()) {
            for (Part p : m.content()) {
                thinking |= p instanceof Part.Reasoning;
                cache |= p instanceof Part.Text t && t.cacheBreakpoint();
            }
        }
        if (!thinking && !cache) return out;
        Set<String> all = new java.util.LinkedHashSet<>(out);
        if (thinking) all.add("messages[].content[].thinking");
        if (cache) all.add("cache_control");
        return Translation.bounded(all);
    }


    /** A function tool's name, description and parameters, as both of OpenAI's APIs spell them. */
    public static void writeFunctionFields(JsonGenerator g, Tool t) throws IOException {
        g.writeStringField("name", t.name());
        if (t.description() != null) g.writeStringField("description", t.description());
        if (t.parameters() != null) {
            g.writeFieldName("parameters");
            g.writeTree(t.parameters());
        }
    }


    // =====================================================================================================
    // Upstream side: responses, streams and errors
    // =====================================================================================================

    @Override
    public ChatResponse parseUpstreamResponse(byte[] body) {
        JsonNode root = readUpstream(body);
        if (isErrorBody(root)) throw upstreamFailure(root);
        JsonNode choices = root.get("choices");
        if (choices == null || !choices.isArray() || choices.isEmpty()) {
            throw invalidUpstream("no choices in the response");
        }
        JsonNode choice = choices.get(0);
        JsonNode message = choice.get("message");
        if (message == null || !message.isObject()) throw invalidUpstream("choices[0].message is missing");

        String text = upstreamText(message.get("content"));
        List<ToolCall> calls = List.of();
        JsonNode tc = message.get("tool_calls");
        if (tc != null && tc.isArray() && !tc.isEmpty()) {
            calls = new ArrayList<>(tc.size());
            for (JsonNode c : tc) {
                JsonNode fn = c.path("function");
                String name = fn.path("name").textValue();
                if (name == null || name.isEmpty()) throw invalidUpstream("a tool call has no function name");
                String id = c.path("id").textValue();
                calls.add(new ToolCall(id == null || id.isEmpty() ? newId("call_") : id, name,
                        argumentsText(fn.get("arguments"))));
            }
        }
        FinishReason reason = mapFinish(choice.path("finish_reason").textValue(), !calls.isEmpty());
        JsonNode usage = root.get("usage");
        String id = root.path("id").textValue();
        return new ChatResponse(id == null || id.isEmpty() ? newId("chatcmpl-") : id, root.path("model").textValue(),
                text, calls, reason, usage != null && usage.isObject() ? parseUsage(usage) : null);
    }

    /** Content is normally a string or null; a few servers answer with text parts. */
    private static String upstreamText(JsonNode content) {
        if (content == null || content.isNull()) return null;
        if (content.isTextual()) return content.textValue();
        if (content.isArray()) {
            StringBuilder sb = new StringBuilder();
            for (JsonNode p : content) {
                JsonNode t = p.isTextual() ? p : p.get("text");
                if (t != null && t.isTextual()) sb.append(t.textValue());
            }
            return sb.toString();
        }
        throw invalidUpstream("choices[0].message.content is neither a string nor null");
    }

    /** Arguments are a JSON string per the spec; some servers send the object itself. */
    static String argumentsText(JsonNode args) {
        if (args == null || args.isNull()) return null;
        return args.isTextual() ? args.textValue() : args.toString();
    }

    static Usage parseUsage(JsonNode u) {
        return new Usage(u.path("prompt_tokens").asLong(0), u.path("completion_tokens").asLong(0),
                u.path("prompt_tokens_details").path("cached_tokens").asLong(0), 0,
                u.path("completion_tokens_details").path("reasoning_tokens").asLong(0), false);
    }

    /**
     * Maps a finish reason. Some servers (Ollama among them) report "stop" after emitting tool calls; clients
     * decide whether to run tools by this value, so tool calls win.
     */
    static FinishReason mapFinish(String reason, boolean sawToolCalls) {
        FinishReason r = reason == null ? FinishReason.STOP : switch (reason) {
            case "length", "max_tokens" -> FinishReason.LENGTH;
            case "tool_calls", "function_call" -> FinishReason.TOOL_CALLS;
            case "content_filter" -> FinishReason.CONTENT_FILTER;
            default -> FinishReason.STOP;
        };
        return r == FinishReason.STOP && sawToolCalls ? FinishReason.TOOL_CALLS : r;
    }

    @Override
    public StreamDecoder streamDecoder() { return new OpenAiStreamDecoder(); }

    @Override
    public StreamDecoder relayDecoder(boolean everyFrame) { return OpenAiRelay.decoder(everyFrame); }

    @Override
    public ChatResponse relayedResponse(byte[] body) { return OpenAiRelay.answer(body, this); }

    @Override
    public StreamEncoder relayEncoder(ChatRequest request, String model) {
        return new OpenAiRelay.Encoder(model, request.includeUsage());
    }


    @Override
    public ApiException upstreamError(int status, byte[] body) {
        return UpstreamStatus.error(status, upstreamMessage(body), status == 400 || status == 422 ? upstreamCode(body) : null);
    }

    /** The upstream's own error message, cleaned up for a client: short, one line, no keys, no HTML pages. */
    private static String upstreamMessage(byte[] body) {
        if (body == null || body.length == 0) return null;
        String msg;
        try {
            msg = errorMessageOf(MAPPER.readTree(body));
        } catch (IOException | RuntimeException e) {
            String raw = new String(body, 0, Math.min(body.length, 4 * UpstreamText.LIMIT), StandardCharsets.UTF_8);
            msg = raw.stripLeading().startsWith("<") ? null : raw;
        }
        return msg == null ? null : UpstreamText.clean(msg);
    }

    private static String upstreamCode(byte[] body) {
        try {
            String code = MAPPER.readTree(body).path("error").path("code").textValue();
            // Codes like context_length_exceeded are what OpenAI clients branch on; keep them when well-formed.
            if (code != null && ERROR_CODE.matcher(code).matches()) return code;
        } catch (IOException | RuntimeException e) {
            // not JSON: fall through
        }
        return "invalid_request";
    }

    /** Finds the message in the error shapes seen in the wild: OpenAI, vLLM, FastAPI, plain strings. */
    private static String errorMessageOf(JsonNode n) {
        if (n == null) return null;
        if (n.isTextual()) return n.textValue();
        JsonNode err = n.get("error");
        if (err != null && err.isObject()) return err.path("message").textValue();
        if (err != null && err.isTextual()) return err.textValue();
        for (String key : new String[]{"message", "detail"}) {
            JsonNode v = n.get(key);
            if (v != null && v.isTextual()) return v.textValue();
        }
        return null;
    }

    /** The payload as JSON if it is JSON, else as a plain string node (servers differ on error event bodies). */
    static JsonNode lenientJson(String payload) {
        try {
            return MAPPER.readTree(payload);
        } catch (IOException e) {
            return MAPPER.getNodeFactory().textNode(payload);
        }
    }

    static boolean isErrorBody(JsonNode n) {
        JsonNode err = n.get("error");
        return (err != null && !err.isNull()) || "error".equals(n.path("object").textValue());
    }

    static ApiException upstreamFailure(JsonNode n) {
        String msg = errorMessageOf(n);
        return ApiException.of(Kind.UPSTREAM, "upstream_error",
                "upstream error: " + (msg == null ? "no message" : UpstreamText.clean(msg)));
    }

    static JsonNode readUpstream(byte[] body) {
        try {
            JsonNode n = body == null ? null : MAPPER.readTree(body);
            if (n == null || n.isMissingNode()) throw invalidUpstream("empty body");
            return n;
        } catch (IOException e) {
            throw invalidUpstream("not valid JSON: " + JsonFields.jsonProblem(e));
        }
    }

    static ApiException invalidUpstream(String why) {
        return ApiException.of(Kind.UPSTREAM, "upstream_invalid_response",
                "the upstream sent an invalid Chat Completions response: " + why);
    }

    // =====================================================================================================
    // Plumbing
    // =====================================================================================================

    static byte[] json(JsonOutput.Body body) { return JsonOutput.json(MAPPER, 512, body); }

    /** One {@code data:} frame of a stream. */
    static byte[] sse(JsonOutput.Body body) { return JsonOutput.frame(MAPPER, null, body); }

    static long nowSeconds() { return System.currentTimeMillis() / 1000; }

    private static final char[] ID_CHARS =
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".toCharArray();

    static String newId(String prefix) {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        StringBuilder sb = new StringBuilder(prefix.length() + 24).append(prefix);
        for (int i = 0; i < 24; i++) sb.append(ID_CHARS[random.nextInt(ID_CHARS.length)]);
        return sb.toString();
    }

    /** {@code "tool_calls": [...]} as both the API's answers and its assistant messages carry it; nothing if none. */
    static void writeToolCalls(JsonGenerator g, List<ToolCall> calls) throws IOException {
        if (calls.isEmpty()) return;
        g.writeArrayFieldStart("tool_calls");
        for (ToolCall c : calls) {
            g.writeStartObject();
            g.writeStringField("id", c.id());
            g.writeStringField("type", "function");
            g.writeObjectFieldStart("function");
            g.writeStringField("name", c.name());
            g.writeStringField("arguments", c.arguments() != null ? c.arguments() : "{}");
            g.writeEndObject();
            g.writeEndObject();
        }
        g.writeEndArray();
    }
}
