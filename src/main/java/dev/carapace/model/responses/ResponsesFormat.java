package dev.carapace.model.responses;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.model.ApiException;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.ChatResponse;
import dev.carapace.model.JsonSplice;
import dev.carapace.model.Usage;
import dev.carapace.model.WireApi;
import dev.carapace.model.WireFormat;
import dev.carapace.model.openai.OpenAiFormat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The OpenAI Responses API ({@code POST /v1/responses}), as Carapace serves it to clients (Codex, the OpenAI Agents
 * SDK) and as it speaks it to upstreams that take it ({@code kind: openai-responses}). Any client API reaches any
 * upstream through the neutral types; a Responses client in front of a Responses upstream is relayed, so reasoning
 * items, hosted tools and fields Carapace does not model go through as they are.
 *
 * <p>Errors have OpenAI's shape. Stateless and thread-safe; the encoders and decoders it hands out are per-stream.
 */
public final class ResponsesFormat implements WireFormat {

    /** The passthrough key of a structured output format ({@code text.format} of type json_object or json_schema). */
    static final String TEXT_FORMAT = "text.format";
    /** Hosted tools a client can do without unless it says otherwise: Codex sends web_search on every turn. */
    public static final Set<String> DEFAULT_OPTIONAL_TOOLS = Set.of("web_search", "web_search_preview");

    /** A parsed request and what its answer must reflect. */
    public record Parsed(ChatRequest chat, ResponsesContext context) {}

    /** An encoder that knows the response object its last event carried, for the store. */
    public interface Finals {
        /** The response as the client's last event showed it; null if the stream has not ended. */
        ObjectNode finalResponse();
    }

    private final OpenAiFormat openai = new OpenAiFormat();

    @Override
    public WireApi api() { return WireApi.RESPONSES; }

    // ---- client side ----

    @Override
    public ChatRequest parseRequest(byte[] body) {
        return parse(body, DEFAULT_OPTIONAL_TOOLS).chat();
    }

    /** @param optionalTools hosted tool types dropped from a translated request instead of refusing it */
    public Parsed parse(byte[] body, Set<String> optionalTools) {
        return ResponsesRequestParser.parse(body, optionalTools);
    }

    /**
     * The request continued from stored items ({@code previous_response_id}): {@code history} goes before the client's
     * input, as if it had sent them all, and the upstream is not told of the previous id. The context still names the
     * previous response and holds only the client's own new input (what the store keeps for this response).
     */
    public Parsed withHistory(Parsed parsed, ArrayNode history, Set<String> optionalTools) {
        ObjectNode body = parsed.chat().original().body().deepCopy();
        ArrayNode input = ResponsesJson.MAPPER.createArrayNode();
        input.addAll(history);
        input.addAll(parsed.context().input());
        body.set("input", input);
        body.remove("previous_response_id");
        byte[] raw = body.toString().getBytes(StandardCharsets.UTF_8);
        Parsed expanded = ResponsesRequestParser.parse(body, raw, optionalTools);
        ResponsesContext c = expanded.context();
        return new Parsed(expanded.chat(), new ResponsesContext(c.namespaced(), c.customTools(), c.store(),
                parsed.context().previousResponseId(), parsed.context().input(), parsed.context().echo()));
    }

    @Override
    public byte[] renderResponse(ChatResponse response) {
        return render(response, ResponsesContext.none());
    }

    /** A complete answer as a response object: the upstream's own (relayed, model renamed), or one made from it. */
    public byte[] render(ChatResponse response, ResponsesContext context) {
        if (response.relayed() != null) return JsonSplice.replaceString(response.relayed(), response.model(), ResponsesRelay.MODEL);
        ObjectNode body = ResponsesObjects.response(response, context);
        return ResponsesJson.json(g -> g.writeTree(body));
    }

    @Override
    public StreamEncoder streamEncoder(ChatRequest request, String model) {
        return streamEncoder(contextOf(request), model, null);
    }

    /**
     * @param recordedUsage the call's usage once it is recorded, shown when the upstream reported none; may be null
     */
    public StreamEncoder streamEncoder(ResponsesContext context, String model, Supplier<Usage> recordedUsage) {
        return new ResponsesStreamEncoder(context, model, recordedUsage);
    }

    @Override
    public StreamEncoder relayEncoder(ChatRequest request, String model) {
        return new ResponsesRelay.Encoder(model);
    }

    @Override
    public byte[] renderError(ApiException error) { return openai.renderError(error); }

    private ResponsesContext contextOf(ChatRequest request) {
        if (request.original() == null || request.original().api() != WireApi.RESPONSES) return ResponsesContext.none();
        return ResponsesRequestParser.parse(request.original().body(), request.original().raw(), DEFAULT_OPTIONAL_TOOLS).context();
    }

    // ---- upstream side ----

    @Override
    public byte[] upstreamRequest(ChatRequest request, String upstreamModel, int defaultMaxTokens) {
        return request.relaysTo(WireApi.RESPONSES) ? ResponsesUpstream.relayed(request, upstreamModel)
                : ResponsesUpstream.translated(request, upstreamModel);
    }

    @Override
    public ChatResponse parseUpstreamResponse(byte[] body) { return ResponsesUpstream.parse(body); }

    @Override
    public ChatResponse relayedResponse(byte[] body) { return ResponsesUpstream.parse(body).withRelayed(body); }

    @Override
    public StreamDecoder streamDecoder() { return new ResponsesStreamDecoder(); }

    @Override
    public StreamDecoder relayDecoder(boolean everyFrame) { return ResponsesRelay.decoder(everyFrame); }

    @Override
    public ApiException upstreamError(int status, byte[] body) { return openai.upstreamError(status, body); }

    // ---- for the other formats ----

    /**
     * What a Responses client's own parameters become in a Chat Completions request: a structured output format
     * becomes {@code response_format}; a hosted tool, which a chat upstream cannot run, is refused, naming it.
     */
    public static ChatRequest.Passthrough chatPassthrough(ChatRequest.Passthrough pt) {
        ObjectNode out = ResponsesJson.object();
        for (Map.Entry<String, JsonNode> f : pt.fields().properties()) {
            if (!TEXT_FORMAT.equals(f.getKey())) {
                throw ApiException.invalid(f.getKey().substring(0, f.getKey().indexOf(' ')), f.getKey()
                        + " cannot be used: the chosen model is served by a Chat Completions upstream, which cannot run it");
            }
            JsonNode format = f.getValue();
            if ("json_schema".equals(format.path("type").asText())) {
                ObjectNode schema = ResponsesJson.object();
                format.properties().forEach(e -> { if (!"type".equals(e.getKey())) schema.set(e.getKey(), e.getValue()); });
                out.putObject("response_format").put("type", "json_schema").set("json_schema", schema);
            } else {
                out.putObject("response_format").put("type", format.path("type").asText());
            }
        }
        return out.isEmpty() ? ChatRequest.Passthrough.NONE : new ChatRequest.Passthrough(WireApi.OPENAI, out);
    }

    /**
     * What a translation of this client's request leaves out, by type: input items no other API can carry (reasoning,
     * hosted tools' calls) and the optional hosted tools; empty when nothing is. A relayed request loses nothing.
     */
    public static Set<String> untranslated(ChatRequest request) {
        if (request.original() == null || request.original().api() != WireApi.RESPONSES) return Set.of();
        Set<String> out = new java.util.TreeSet<>();
        JsonNode body = request.original().body();
        for (JsonNode item : body.path("input")) {
            String type = item.path("type").asText("message");
            if (ResponsesRequestParser.untranslatable(type)) out.add(type);
        }
        for (JsonNode tool : body.path("tools")) {
            String type = tool.path("type").asText();
            if (ResponsesRequestParser.hosted(type)) out.add("tools:" + type);
        }
        return out;
    }

    /** The stored JSON of a response object or item list, read back. */
    public static JsonNode readStored(String json) {
        try {
            return ResponsesJson.MAPPER.readTree(json);
        } catch (IOException e) {
            throw new IllegalStateException("a stored response is not valid JSON", e);
        }
    }
}
