package dev.carapace.model.anthropic;

import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.model.JsonFields;
import dev.carapace.model.ApiException;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.Message;
import dev.carapace.model.Tool;
import dev.carapace.model.ToolChoice;
import dev.carapace.model.WireApi;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.carapace.model.JsonFields.clip;
import static dev.carapace.model.JsonFields.describe;
import static dev.carapace.model.anthropic.AnthropicFormat.MAPPER;
import static dev.carapace.model.anthropic.AnthropicFields.typeError;

/**
 * Parses and validates a client's {@code /v1/messages} body into a neutral {@link ChatRequest}.
 *
 * <p>Every refusal is {@link ApiException#invalid} with {@code param} the JSON path of the offending field
 * (e.g. {@code messages[1].content[0].tool_use_id}) and a message that starts with that path, says what is
 * wrong and what is expected, in this API's wording ({@code Field required}, {@code , got}). Values from the request
 * are echoed clipped ({@link dev.carapace.model.JsonFields#describe}), so an error can neither balloon nor carry much
 * of a prompt into logs.
 *
 * <p>What Carapace reads is checked; the rest is kept. Anthropic adds parameters, block types and tool fields with
 * every beta, and clients such as Claude Code send them on every call ({@code context_management},
 * {@code output_config}, tools with {@code defer_loading}, a {@code system} message inside {@code messages}): a relay
 * sends them up as they came (the upstream judges them), and a translation leaves them out and names them, or refuses
 * the ones whose loss would change the request ({@link dev.carapace.model.Translation}). Known fields of the wrong
 * type, malformed JSON and repeated keys are still refused here.
 *
 * <p>This class reads the body and its top-level parameters; the conversation is read by
 * {@link AnthropicContentReader}, the tools by {@link AnthropicToolsReader}, and what the neutral view leaves out is
 * gathered in {@link AnthropicRequestExtras}.
 */
final class AnthropicRequestParser {

    private AnthropicRequestParser() {}

    /** A repeated key is refused, as it could mean one thing to Carapace and another upstream. */
    private static final ObjectReader CLIENT = MAPPER.reader().with(StreamReadFeature.STRICT_DUPLICATE_DETECTION);

    static ChatRequest parse(byte[] body) { return parse(body, true); }

    /**
     * @param messagesCall false for a {@code count_tokens} body: a Messages request without {@code max_tokens}, which
     *                     it does not need (one given is still checked)
     */
    static ChatRequest parse(byte[] body, boolean messagesCall) {
        JsonNode root = JsonFields.clientBody(CLIENT, body);
        if (!root.isObject()) {
            throw ApiException.invalid(null, "Request body must be a JSON object, got " + describe(root));
        }
        String model = null;
        Integer maxTokens = null;
        List<Message> messages = null;
        List<Message> system = List.of();
        List<Tool> tools = List.of();
        ToolChoice toolChoice = null;
        Boolean parallel = null;
        Double temperature = null;
        Double topP = null;
        List<String> stop = null;
        boolean stream = false;
        String user = null;
        ObjectNode passthrough = null;
        AnthropicRequestExtras extras = new AnthropicRequestExtras();

        // One pass over the body's keys: each is validated where it is met, anything unknown is kept for a relay.
        for (Map.Entry<String, JsonNode> e : root.properties()) {
            String key = e.getKey();
            JsonNode v = e.getValue();
            switch (key) {
                case "model" -> model = modelName(v);
                case "max_tokens" -> maxTokens = maxTokens(v);
                case "messages" -> messages = AnthropicContentReader.messages(v, extras);
                case "system" -> system = AnthropicContentReader.system(v);
                case "tools" -> tools = AnthropicToolsReader.tools(v, extras);
                case "tool_choice" -> {
                    if (v.isNull()) break;
                    toolChoice = AnthropicToolsReader.toolChoice(v);
                    JsonNode d = v.get("disable_parallel_tool_use");
                    if (d != null && !d.isNull()) {
                        if (!d.isBoolean()) throw typeError("tool_choice.disable_parallel_tool_use", "a boolean", d);
                        parallel = !d.booleanValue();
                    }
                }
                case "temperature" -> temperature = unitInterval("temperature", v);
                case "top_p" -> topP = unitInterval("top_p", v);
                case "stop_sequences" -> stop = stopSequences(v);
                case "stream" -> {
                    if (v.isNull()) break;
                    if (!v.isBoolean()) throw typeError("stream", "a boolean", v);
                    stream = v.booleanValue();
                }
                case "metadata" -> user = metadataUser(v, extras);
                default -> {
                    if (v.isNull()) break;
                    checkPassthrough(key, v, extras);
                    if (passthrough == null) passthrough = MAPPER.createObjectNode();
                    passthrough.set(key, v);
                }
            }
        }
        if (model == null) throw ApiException.invalid("model", "model: Field required; expected a model id string");
        if (maxTokens == null && messagesCall) {
            throw ApiException.invalid("max_tokens", "max_tokens: Field required; expected a positive integer");
        }
        if (messages == null) {
            throw ApiException.invalid("messages", "messages: Field required; expected a non-empty array of messages");
        }
        if (toolChoice != null && toolChoice.mode() == ToolChoice.Mode.TOOL) {
            boolean known = extras.serverTools.contains(toolChoice.name());
            for (Tool t : tools) known |= t.name().equals(toolChoice.name());
            if (!known) {
                throw ApiException.invalid("tool_choice.name", "tool_choice.name: '" + clip(toolChoice.name())
                        + "' is not among the tools; expected the name of one of the given tools");
            }
        }
        List<Message> all = messages;
        if (!system.isEmpty()) {
            all = new ArrayList<>(system.size() + messages.size());
            all.addAll(system);
            all.addAll(messages);
        }
        ChatRequest.Passthrough pt = passthrough == null && extras.lossy.isEmpty() && extras.untranslatable.isEmpty()
                ? ChatRequest.Passthrough.NONE
                : new ChatRequest.Passthrough(WireApi.ANTHROPIC, passthrough, List.copyOf(extras.lossy),
                        extras.untranslatable);
        // includeUsage is always true: usage is part of every Anthropic stream (message_start, message_delta).
        return new ChatRequest(model, all, tools, toolChoice, maxTokens, temperature, topP, stop, parallel,
                stream, true, user, pt, new ChatRequest.Original(WireApi.ANTHROPIC, (ObjectNode) root, body));
    }

    // ---- body ----

    // ---- scalar parameters ----

    private static String modelName(JsonNode v) {
        if (!v.isTextual() || v.textValue().isEmpty()) throw typeError("model", "a non-empty model id string", v);
        return v.textValue();
    }

    private static Integer maxTokens(JsonNode v) {
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < 1) {
            throw typeError("max_tokens", "a positive integer (at most 2147483647)", v);
        }
        return v.intValue();
    }

    private static Double unitInterval(String key, JsonNode v) {
        if (v.isNull()) return null;
        if (!v.isNumber()) throw typeError(key, "a number between 0 and 1", v);
        double d = v.doubleValue();
        if (!(d >= 0.0 && d <= 1.0)) {
            throw ApiException.invalid(key, key + ": " + clip(v.asText()) + " is out of range; expected a "
                    + "number between 0 and 1");
        }
        return d;
    }

    private static List<String> stopSequences(JsonNode v) {
        if (v.isNull()) return null;
        if (!v.isArray()) throw typeError("stop_sequences", "an array of strings", v);
        List<String> out = new ArrayList<>(v.size());
        for (int i = 0; i < v.size(); i++) {
            JsonNode s = v.get(i);
            if (!s.isTextual()) throw typeError("stop_sequences[" + i + "]", "a string", s);
            out.add(s.textValue());
        }
        return out;
    }

    private static String metadataUser(JsonNode v, AnthropicRequestExtras extras) {
        if (v.isNull()) return null;
        if (!v.isObject()) throw typeError("metadata", "an object", v);
        String user = null;
        for (Map.Entry<String, JsonNode> e : v.properties()) {
            if (!e.getKey().equals("user_id")) {
                extras.lossy("metadata." + e.getKey());
                continue;
            }
            JsonNode u = e.getValue();
            if (u.isNull()) continue;
            if (!u.isTextual()) throw typeError("metadata.user_id", "a string", u);
            user = u.textValue();
        }
        return user;
    }

    /**
     * Parameters Carapace does not model go upstream verbatim; the shape of those it knows is checked here rather than
     * earn an upstream 400, and those whose loss in a translation would change the answer are marked so.
     */
    private static void checkPassthrough(String key, JsonNode v, AnthropicRequestExtras extras) {
        switch (key) {
            case "top_k" -> {
                if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < 0) {
                    throw typeError("top_k", "a non-negative integer", v);
                }
            }
            case "thinking" -> {
                if (!v.isObject()) throw typeError("thinking", "an object like {\"type\": \"enabled\", "
                        + "\"budget_tokens\": 2048}", v);
                JsonNode t = v.get("type");
                if (t == null || !t.isTextual()) {
                    throw ApiException.invalid("thinking.type", "thinking.type: Field required; expected "
                            + "'enabled', 'adaptive' or 'disabled'");
                }
                JsonNode budget = v.get("budget_tokens");
                if (budget != null && !budget.isNull() && (!budget.isIntegralNumber() || !budget.canConvertToInt()
                        || budget.intValue() < 0)) {
                    throw typeError("thinking.budget_tokens", "a non-negative integer", budget);
                }
            }
            case "service_tier" -> {
                if (!v.isTextual()) throw typeError("service_tier", "'auto' or 'standard_only'", v);
            }
            case "output_config" -> {
                if (!v.isObject()) throw typeError("output_config", "an object like {\"effort\": \"high\"}", v);
                JsonNode effort = v.get("effort");
                if (effort != null && !effort.isNull() && !effort.isTextual()) {
                    throw typeError("output_config.effort", "a string such as 'low', 'medium' or 'high'", effort);
                }
                JsonNode format = v.get("format");
                if (format != null && !format.isNull()) {
                    if (!format.isObject()) throw typeError("output_config.format", "an object", format);
                    extras.untranslatable.add("output_config.format");   // structured output is the answer's shape
                }
            }
            case "context_management" -> {
                if (!v.isObject()) throw typeError("context_management", "an object like {\"edits\": [...]}", v);
            }
            // Tools the model would call at Anthropic's side: leaving them out changes what it can do.
            case "mcp_servers" -> {
                if (!v.isArray()) throw typeError("mcp_servers", "an array of MCP server definitions", v);
                if (!v.isEmpty()) extras.untranslatable.add("mcp_servers");
            }
            case "container" -> {
                if (!v.isTextual() && !v.isObject()) throw typeError("container", "a container id or an object", v);
                extras.untranslatable.add("container");
            }
            default -> { }   // unknown here: the upstream it is relayed to judges it
        }
    }
}
