package dev.carapace.model.responses;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.model.ApiException;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.ChatResponse;
import dev.carapace.model.FinishReason;
import dev.carapace.model.JsonBytes;
import dev.carapace.model.JsonSplice;
import dev.carapace.model.Message;
import dev.carapace.model.Part;
import dev.carapace.model.Tool;
import dev.carapace.model.ToolCall;
import dev.carapace.model.ToolChoice;
import dev.carapace.model.UpstreamText;
import dev.carapace.model.Usage;
import dev.carapace.model.WireApi;
import dev.carapace.model.openai.OpenAiFormat;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The upstream side of the Responses API: the body sent to an upstream that speaks it (the client's own, relayed, or
 * a translation of a neutral request), and its complete answer read back.
 *
 * <p>Carapace keeps the chain of stored responses itself ({@code previous_response_id} is resolved before this), so
 * an upstream is always sent {@code store: false}: nothing is kept at the vendor, and every upstream kind works the
 * same. A client that wants its response stored also gets the upstream's reasoning back encrypted
 * ({@code include: ["reasoning.encrypted_content"]}), so that the next turn, built from Carapace's store, can carry
 * it.
 */
final class ResponsesUpstream {

    private static final byte[][] RELAY_KEYS = JsonSplice.path("model", "store", "max_output_tokens", "include");
    private static final String ENCRYPTED_REASONING = "reasoning.encrypted_content";

    private ResponsesUpstream() {}

    /** The client's own request with the model, {@code store: false} and the output limit Carapace chose. */
    static byte[] relayed(ChatRequest r, String upstreamModel) {
        ObjectNode body = r.original().body();
        byte[][] values = new byte[RELAY_KEYS.length][];
        values[0] = new JsonBytes(upstreamModel.length() + 2).string(upstreamModel).toByteArray();
        JsonNode store = body.get("store");
        boolean stored = store == null || store.isNull() || store.asBoolean(true);
        if (store == null || !store.isBoolean() || store.booleanValue()) values[1] = JsonBytes.ascii("false");
        JsonNode max = body.get("max_output_tokens");
        if (r.maxTokens() != null && (max == null || !max.isInt() || max.intValue() != r.maxTokens())) {
            values[2] = JsonBytes.ascii(r.maxTokens().toString());
        }
        if (stored) {
            ArrayNode include = body.get("include") instanceof ArrayNode a ? a.deepCopy() : ResponsesJson.MAPPER.createArrayNode();
            boolean has = false;
            for (JsonNode i : include) has |= ENCRYPTED_REASONING.equals(i.asText());
            if (!has) values[3] = ResponsesJson.json(g -> g.writeTree(include.add(ENCRYPTED_REASONING)));
        }
        return r.original().withTopLevel(RELAY_KEYS, values);
    }

    /** A neutral request (another API's client, or a rewritten one) as a Responses request. */
    static byte[] translated(ChatRequest r, String upstreamModel) {
        if (!r.stop().isEmpty()) {
            throw ApiException.invalid("stop", "stop: the chosen model is served by a Responses API upstream, which has"
                    + " no stop sequences; send the request without them");
        }
        ObjectNode extra = extraFields(r.passthrough());
        return ResponsesJson.json(g -> {
            g.writeStartObject();
            g.writeStringField("model", upstreamModel);
            g.writeArrayFieldStart("input");
            for (Message m : r.messages()) writeItems(g, m);
            g.writeEndArray();
            ArrayNode hosted = (ArrayNode) extra.remove("tools");
            if (!r.tools().isEmpty() || hosted != null) {
                g.writeArrayFieldStart("tools");
                for (Tool t : r.tools()) {
                    g.writeStartObject();
                    g.writeStringField("type", "function");
                    OpenAiFormat.writeFunctionFields(g, t);
                    g.writeBooleanField("strict", false);
                    g.writeEndObject();
                }
                if (hosted != null) for (JsonNode h : hosted) g.writeTree(h);
                g.writeEndArray();
                if (r.toolChoice() != null) writeToolChoice(g, r.toolChoice());
                if (r.parallelToolCalls() != null) g.writeBooleanField("parallel_tool_calls", r.parallelToolCalls());
            }
            if (r.maxTokens() != null) g.writeNumberField("max_output_tokens", r.maxTokens());
            if (r.temperature() != null) g.writeNumberField("temperature", r.temperature());
            if (r.topP() != null) g.writeNumberField("top_p", r.topP());
            if (r.user() != null) g.writeStringField("user", r.user());
            g.writeBooleanField("store", false);
            if (r.stream()) g.writeBooleanField("stream", true);
            for (Map.Entry<String, JsonNode> f : extra.properties()) {
                g.writeFieldName(f.getKey());
                g.writeTree(f.getValue());
            }
            g.writeEndObject();
        });
    }

    /**
     * What another API's own parameters become in a Responses request: structured output and reasoning effort map;
     * anything else the Responses API cannot take is refused, naming it.
     */
    private static ObjectNode extraFields(ChatRequest.Passthrough pt) {
        ObjectNode out = ResponsesJson.object();
        if (pt.isEmpty()) return out;
        for (Map.Entry<String, JsonNode> f : pt.fields().properties()) {
            String key = f.getKey();
            JsonNode v = f.getValue();
            if (pt.api() == WireApi.RESPONSES) {
                if (ResponsesFormat.TEXT_FORMAT.equals(key)) out.putObject("text").set("format", v);
                else out.withArray("tools").add(v);   // a hosted tool, which a Responses upstream runs
                continue;
            }
            if (pt.api() == WireApi.OPENAI && "response_format".equals(key) && v.isObject()) {
                String type = v.path("type").asText();
                if ("json_schema".equals(type)) {
                    ObjectNode format = out.putObject("text").putObject("format").put("type", "json_schema");
                    format.setAll((ObjectNode) v.path("json_schema").deepCopy());
                } else if (!"text".equals(type)) {
                    out.putObject("text").putObject("format").put("type", type);
                }
                continue;
            }
            if (pt.api() == WireApi.OPENAI && "reasoning_effort".equals(key)) {
                out.putObject("reasoning").set("effort", v);
                continue;
            }
            if (pt.api() == WireApi.OPENAI && ("metadata".equals(key) || "service_tier".equals(key))) {
                out.set(key, v);
                continue;
            }
            String owner = pt.api() == WireApi.ANTHROPIC ? "an Anthropic" : "a Chat Completions";
            throw ApiException.invalid(key, key + " is " + owner + " parameter that the Responses API has no"
                    + " equivalent for; the chosen model is served by a Responses API upstream");
        }
        return out;
    }

    private static void writeItems(JsonGenerator g, Message m) throws IOException {
        switch (m.role()) {
            case SYSTEM, USER -> {
                g.writeStartObject();
                g.writeStringField("type", "message");
                g.writeStringField("role", m.role() == dev.carapace.model.Role.SYSTEM ? "system" : "user");
                g.writeArrayFieldStart("content");
                // Anthropic's signed thinking only its own upstream can read back: left out here, as for chat.
                for (Part p : m.content()) if (!(p instanceof Part.Reasoning)) writeInputPart(g, p);
                g.writeEndArray();
                g.writeEndObject();
            }
            case ASSISTANT -> {
                String text = m.text();
                if (!text.isEmpty()) {
                    g.writeStartObject();
                    g.writeStringField("type", "message");
                    g.writeStringField("role", "assistant");
                    g.writeArrayFieldStart("content");
                    g.writeStartObject();
                    g.writeStringField("type", "output_text");
                    g.writeStringField("text", text);
                    g.writeEndObject();
                    g.writeEndArray();
                    g.writeEndObject();
                }
                for (ToolCall c : m.toolCalls()) {
                    g.writeStartObject();
                    g.writeStringField("type", "function_call");
                    g.writeStringField("call_id", c.id());
                    g.writeStringField("name", c.name());
                    g.writeStringField("arguments", c.arguments() == null ? "{}" : c.arguments());
                    g.writeEndObject();
                }
            }
            case TOOL -> {
                g.writeStartObject();
                g.writeStringField("type", "function_call_output");
                g.writeStringField("call_id", m.toolCallId());
                g.writeStringField("output", m.text());
                g.writeEndObject();
            }
        }
    }

    private static void writeInputPart(JsonGenerator g, Part p) throws IOException {
        g.writeStartObject();
        switch (p) {
            case Part.Text t -> {
                g.writeStringField("type", "input_text");
                g.writeStringField("text", t.text());
            }
            case Part.Image img -> {
                g.writeStringField("type", "input_image");
                g.writeStringField("image_url", img.asUrl());
            }
            case Part.Reasoning r -> throw new IllegalStateException("reasoning is left out before this");
        }
        g.writeEndObject();
    }

    private static void writeToolChoice(JsonGenerator g, ToolChoice c) throws IOException {
        switch (c.mode()) {
            case AUTO -> g.writeStringField("tool_choice", "auto");
            case NONE -> g.writeStringField("tool_choice", "none");
            case REQUIRED -> g.writeStringField("tool_choice", "required");
            case TOOL -> {
                g.writeObjectFieldStart("tool_choice");
                g.writeStringField("type", "function");
                g.writeStringField("name", c.name());
                g.writeEndObject();
            }
        }
    }

    // ---- answers ----

    /** An upstream's complete answer in neutral form. */
    static ChatResponse parse(byte[] body) {
        JsonNode root = ResponsesJson.readUpstream(body);
        if (root.path("error").isObject() && !"response".equals(root.path("object").asText())) {
            throw failure(root.get("error"));
        }
        if ("failed".equals(root.path("status").asText())) throw failure(root.path("error"));
        JsonNode output = root.get("output");
        if (output == null || !output.isArray()) throw ResponsesJson.invalidUpstream("no output in the response");
        StringBuilder text = new StringBuilder();
        List<ToolCall> calls = new ArrayList<>();
        for (JsonNode item : output) {
            ToolCall call = toolCall(item);
            if (call != null) {
                calls.add(call);
            } else if ("message".equals(item.path("type").asText())) {
                for (JsonNode part : item.path("content")) {
                    if ("output_text".equals(part.path("type").asText())) text.append(part.path("text").asText());
                    else if ("refusal".equals(part.path("type").asText())) text.append(part.path("refusal").asText());
                }
            }
        }
        JsonNode usage = root.get("usage");
        return new ChatResponse(root.path("id").asText(null), root.path("model").asText(null), text.toString(), calls,
                finish(root.path("status").asText(), root.path("incomplete_details").path("reason").asText(), !calls.isEmpty()),
                usage != null && usage.isObject() ? ResponsesJson.parseUsage(usage) : null);
    }

    /** A function or custom tool call item as a neutral tool call (a namespaced function flattened); null for others. */
    static ToolCall toolCall(JsonNode item) {
        String type = item.path("type").asText();
        if ("function_call".equals(type)) {
            String name = item.path("name").asText();
            String ns = item.path("namespace").asText(null);
            return new ToolCall(item.path("call_id").asText(), ns == null ? name : ns + ResponsesContext.NAMESPACE_SEPARATOR + name,
                    item.path("arguments").asText("{}"));
        }
        if ("custom_tool_call".equals(type)) {
            return new ToolCall(item.path("call_id").asText(), item.path("name").asText(),
                    ResponsesJson.object().put("input", item.path("input").asText()).toString());
        }
        return null;
    }

    static FinishReason finish(String status, String incompleteReason, boolean calls) {
        if ("incomplete".equals(status)) {
            return "content_filter".equals(incompleteReason) ? FinishReason.CONTENT_FILTER : FinishReason.LENGTH;
        }
        return calls ? FinishReason.TOOL_CALLS : FinishReason.STOP;
    }

    static ApiException failure(JsonNode error) {
        String message = error == null ? null : error.path("message").asText(null);
        return ApiException.of(ApiException.Kind.UPSTREAM, "upstream_error",
                "upstream error: " + (message == null ? "no message" : UpstreamText.clean(message)));
    }

    static Usage usage(JsonNode response) {
        JsonNode u = response.path("usage");
        return u.isObject() ? ResponsesJson.parseUsage(u) : null;
    }
}
