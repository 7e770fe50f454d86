package dev.carapace.model.anthropic;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.model.ApiException;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.Message;
import dev.carapace.model.Part;
import dev.carapace.model.Role;
import dev.carapace.model.Tool;
import dev.carapace.model.ToolCall;
import dev.carapace.model.ToolChoice;
import dev.carapace.model.WireApi;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

import static dev.carapace.model.JsonFields.clip;
import static dev.carapace.model.JsonFields.describe;
import static dev.carapace.model.JsonFields.jsonProblem;
import static dev.carapace.model.anthropic.AnthropicFormat.MAPPER;
import static dev.carapace.model.anthropic.AnthropicFormat.MAX_NESTING_DEPTH;

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
 */
final class AnthropicRequestParser {

    private AnthropicRequestParser() {}

    /** Kept top-level parameters that hold settings, never text a privacy rule should see. */
    /** A repeated key is refused, as it could mean one thing to Carapace and another upstream. */
    private static final ObjectReader CLIENT = MAPPER.reader().with(StreamReadFeature.STRICT_DUPLICATE_DETECTION);
    private static final Pattern TOOL_NAME = Pattern.compile("^[a-zA-Z0-9_-]{1,64}$");
    private static final Set<String> MEDIA_TYPES = Set.of("image/jpeg", "image/png", "image/gif", "image/webp");

    static ChatRequest parse(byte[] body) { return parse(body, true); }

    /**
     * @param messagesCall false for a {@code count_tokens} body: a Messages request without {@code max_tokens}, which
     *                     it does not need (one given is still checked)
     */
    static ChatRequest parse(byte[] body, boolean messagesCall) {
        JsonNode root = read(body);
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
        Extras extras = new Extras();

        // One pass over the body's keys: each is validated where it is met, anything unknown is kept for a relay.
        for (Map.Entry<String, JsonNode> e : root.properties()) {
            String key = e.getKey();
            JsonNode v = e.getValue();
            switch (key) {
                case "model" -> model = modelName(v);
                case "max_tokens" -> maxTokens = maxTokens(v);
                case "messages" -> messages = messages(v, extras);
                case "system" -> system = system(v);
                case "tools" -> tools = tools(v, extras);
                case "tool_choice" -> {
                    if (v.isNull()) break;
                    toolChoice = toolChoice(v);
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

    private static JsonNode read(byte[] body) {
        if (body == null || body.length == 0) {
            throw ApiException.invalid(null, "Request body is empty; expected a JSON object");
        }
        try {
            JsonNode root = CLIENT.readTree(body);
            if (root == null || root.isMissingNode()) {
                throw ApiException.invalid(null, "Request body is empty; expected a JSON object");
            }
            return root;
        } catch (JsonProcessingException e) {
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof StreamConstraintsException) {
                    throw ApiException.invalid(null, "Request body nests JSON arrays and objects deeper than "
                            + MAX_NESTING_DEPTH + " levels; flatten the structure");
                }
            }
            throw ApiException.invalid(null, "Request body is not valid JSON: " + jsonProblem(e));
        } catch (IOException e) {
            throw ApiException.invalid(null, "Request body could not be read: " + e.getClass().getSimpleName());
        }
    }

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

    private static String metadataUser(JsonNode v, Extras extras) {
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
    private static void checkPassthrough(String key, JsonNode v, Extras extras) {
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

    // ---- system ----

    /** A system turn inside {@code messages}: a string or text blocks, like the top-level system prompt. */
    private static void systemMessage(JsonNode content, String p, List<Message> out) {
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

    private static List<Message> system(JsonNode v) {
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

    private static List<Message> messages(JsonNode v, Extras extras) {
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
    private static void userMessage(JsonNode content, String p, List<Message> out, Extras extras) {
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

    private static void assistantMessage(JsonNode content, String p, List<Message> out, Extras extras) {
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

    private static Part.Text textPart(JsonNode b, String bp) {
        JsonNode text = b.get("text");
        if (text == null) {
            throw ApiException.invalid(bp + ".text", bp + ".text: Field required; expected a string");
        }
        if (!text.isTextual()) throw typeError(bp + ".text", "a string", text);
        return new Part.Text(text.textValue(), cacheControl(b, bp));
    }

    /** Anthropic's only cache type is "ephemeral"; its optional ttl cannot be carried and is dropped. */
    private static boolean cacheControl(JsonNode b, String bp) {
        JsonNode cc = b.get("cache_control");
        if (cc == null || cc.isNull()) return false;
        String p = bp + ".cache_control";
        if (!cc.isObject()) throw typeError(p, "an object like {\"type\": \"ephemeral\"}", cc);
        JsonNode t = cc.get("type");
        if (t == null || !"ephemeral".equals(t.textValue())) {
            throw ApiException.invalid(p + ".type", p + ".type: expected 'ephemeral', got "
                    + (t == null ? "nothing" : describe(t)));
        }
        return true;
    }

    private static Part.Image imagePart(JsonNode b, String bp) {
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

    private static ToolCall toolUse(JsonNode b, String bp) {
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

    private static Message toolResult(JsonNode b, String bp, Extras extras) {
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

    // ---- tools ----

    private static List<Tool> tools(JsonNode v, Extras extras) {
        if (v.isNull()) return List.of();
        if (!v.isArray()) throw typeError("tools", "an array of tool definitions", v);
        List<Tool> out = new ArrayList<>(v.size());
        Set<String> names = new HashSet<>();
        for (int i = 0; i < v.size(); i++) {
            String p = "tools[" + i + "]";
            JsonNode t = v.get(i);
            if (!t.isObject()) throw typeError(p, "an object with name, description and input_schema", t);
            JsonNode type = t.get("type");
            if (type != null && !type.isNull() && !"custom".equals(type.textValue())) {
                // Server tools (web_search, code_execution, ...) and Anthropic-defined client tools (bash,
                // text_editor, computer) only exist at Anthropic: relayed as they are, refused in a translation.
                if (!type.isTextual()) throw typeError(p + ".type", "a string naming the tool type", type);
                JsonNode name = t.get("name");
                if (name == null || !name.isTextual() || name.textValue().isEmpty()) {
                    throw typeError(p + ".name", "a non-empty string", name == null ? MissingNode.getInstance() : name);
                }
                if (!names.add(name.textValue())) {
                    throw ApiException.invalid(p + ".name", p + ".name: tool names must be unique; '"
                            + clip(name.textValue()) + "' is defined twice");
                }
                extras.serverTools.add(name.textValue());
                extras.untranslatable.add(p + " ('" + clip(type.textValue()) + "' tool)");
                continue;
            }
            for (var field : t.properties()) {
                switch (field.getKey()) {
                    case "type", "name", "description", "input_schema", "cache_control" -> { }
                    default -> extras.lossy("tools[]." + field.getKey());   // defer_loading, strict, input_examples...
                }
            }
            JsonNode name = t.get("name");
            if (name == null || !name.isTextual() || !TOOL_NAME.matcher(name.textValue()).matches()) {
                throw ApiException.invalid(p + ".name", p + ".name: expected a name matching ^[a-zA-Z0-9_-]{1,64}$, "
                        + "got " + (name == null ? "nothing" : describe(name)));
            }
            if (!names.add(name.textValue())) {
                throw ApiException.invalid(p + ".name", p + ".name: tool names must be unique; '"
                        + name.textValue() + "' is defined twice");
            }
            JsonNode desc = t.get("description");
            if (desc != null && !desc.isNull() && !desc.isTextual()) {
                throw typeError(p + ".description", "a string", desc);
            }
            JsonNode schema = t.get("input_schema");
            if (schema == null || !schema.isObject() || !"object".equals(schema.path("type").textValue())) {
                String got = schema == null ? "nothing"
                        : !schema.isObject() ? describe(schema)
                        : schema.has("type") ? "an object with \"type\": " + describe(schema.get("type"))
                        : "an object without \"type\"";
                throw ApiException.invalid(p + ".input_schema", p + ".input_schema: expected a JSON Schema object "
                        + "with \"type\": \"object\", got " + got);
            }
            cacheControl(t, p); // validated; a breakpoint on a tool has no neutral representation and is dropped
            out.add(new Tool(name.textValue(), desc == null || desc.isNull() ? null : desc.textValue(),
                    (ObjectNode) schema));
        }
        return out;
    }

    private static ToolChoice toolChoice(JsonNode v) {
        if (!v.isObject()) throw typeError("tool_choice", "an object like {\"type\": \"auto\"}", v);
        JsonNode type = v.get("type");
        String t = type != null && type.isTextual() ? type.textValue() : null;
        if (t == null) {
            throw ApiException.invalid("tool_choice.type", "tool_choice.type: "
                    + (type == null ? "Field required; expected" : "expected") + " one of 'auto', 'any', 'tool', "
                    + "'none'" + (type == null ? "" : ", got " + describe(type)));
        }
        return switch (t) {
            case "auto" -> ToolChoice.AUTO;
            case "any" -> new ToolChoice(ToolChoice.Mode.REQUIRED, null);
            case "none" -> new ToolChoice(ToolChoice.Mode.NONE, null);
            case "tool" -> new ToolChoice(ToolChoice.Mode.TOOL, requiredString(v, "name", "tool_choice"));
            default -> throw ApiException.invalid("tool_choice.type", "tool_choice.type: expected one of 'auto', "
                    + "'any', 'tool', 'none', got " + describe(type));
        };
    }

    // ---- what the neutral view leaves out ----

    /** What one request holds beyond the neutral view: see {@link ChatRequest.Passthrough}. */
    private static final class Extras {
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

    // ---- helpers ----

    private static String requiredText(JsonNode obj, String field, String p) {
        JsonNode v = obj.get(field);
        String fp = p + "." + field;
        if (v == null || v.isNull()) throw ApiException.invalid(fp, fp + ": Field required; expected a string");
        if (!v.isTextual()) throw typeError(fp, "a string", v);
        return v.textValue();
    }

    private static String blockType(JsonNode b, String bp) {
        if (!b.isObject()) throw typeError(bp, "a content block object with a type", b);
        JsonNode t = b.get("type");
        if (t == null) throw ApiException.invalid(bp + ".type", bp + ".type: Field required");
        if (!t.isTextual()) throw typeError(bp + ".type", "a string", t);
        return t.textValue();
    }

    private static String requiredString(JsonNode obj, String field, String p) {
        JsonNode v = obj.get(field);
        String fp = p + "." + field;
        if (v == null || v.isNull()) {
            throw ApiException.invalid(fp, fp + ": Field required; expected a non-empty string");
        }
        if (!v.isTextual() || v.textValue().isEmpty()) throw typeError(fp, "a non-empty string", v);
        return v.textValue();
    }

    /** Like {@link dev.carapace.model.JsonFields#wrongType}, in this API's wording (", got"). */
    private static ApiException typeError(String path, String expected, JsonNode got) {
        return ApiException.invalid(path, path + ": expected " + expected + ", got " + describe(got));
    }
}
