package dev.carapace.model.openai;

import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.model.JsonFields;
import dev.carapace.model.ApiException;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.Message;
import dev.carapace.model.Part;
import dev.carapace.model.Role;
import dev.carapace.model.Tool;
import dev.carapace.model.ToolCall;
import dev.carapace.model.ToolChoice;
import dev.carapace.model.WireApi;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static dev.carapace.model.JsonFields.clip;
import static dev.carapace.model.JsonFields.describe;
import static dev.carapace.model.JsonFields.fail;
import static dev.carapace.model.JsonFields.optBoolean;
import static dev.carapace.model.JsonFields.optNumber;
import static dev.carapace.model.JsonFields.optPositiveInt;
import static dev.carapace.model.JsonFields.optString;
import static dev.carapace.model.JsonFields.requiredString;
import static dev.carapace.model.JsonFields.wrongType;
import static dev.carapace.model.openai.OpenAiFormat.MAPPER;

/**
 * Parses and validates a client's {@code /v1/chat/completions} body into a neutral {@link ChatRequest}.
 *
 * <p>Every field Carapace reads is checked, and each error names the offending JSON path, so a client learns what to
 * fix from one response. Top-level parameters and message fields it does not model are kept: relayed to an
 * OpenAI-compatible upstream as they came, left out of a translation and named, or refused by name when their loss
 * would change the answer ({@link dev.carapace.model.Translation}).
 */
final class OpenAiRequestParser {

    private OpenAiRequestParser() {}


    /** Client bodies: a repeated key is refused, as it could mean one thing to Carapace and another upstream. */
    private static final ObjectReader CLIENT = MAPPER.reader().with(StreamReadFeature.STRICT_DUPLICATE_DETECTION);

    private static final String ROLES = "one of system, developer, user, assistant, tool";

    static ChatRequest parse(byte[] body) {
        JsonNode root = JsonFields.clientBody(CLIENT, body);
        if (!root.isObject()) {
            throw ApiException.invalid(null, "Request body must be a JSON object; got " + describe(root));
        }
        String model = null;
        List<Message> messages = null;
        List<Tool> tools = List.of();
        JsonNode toolChoiceNode = null;
        Integer maxTokens = null, maxCompletionTokens = null;
        Double temperature = null, topP = null;
        List<String> stop = null;
        Boolean stream = null, parallelToolCalls = null, includeUsage = null;
        boolean hasStreamOptions = false;
        String user = null;
        ObjectNode passthrough = null;
        Set<String> lossy = new java.util.LinkedHashSet<>();
        List<String> untranslatable = new ArrayList<>(1);

        for (Map.Entry<String, JsonNode> field : root.properties()) {
            String key = field.getKey();
            JsonNode v = field.getValue();
            switch (key) {
                case "model" -> model = requiredString(v, "model", "a model id");
                case "messages" -> messages = parseMessages(v, lossy);
                case "tools" -> tools = parseTools(v);
                case "tool_choice" -> toolChoiceNode = v;
                case "max_tokens" -> maxTokens = optPositiveInt(v, "max_tokens");
                case "max_completion_tokens" -> maxCompletionTokens = optPositiveInt(v, "max_completion_tokens");
                case "temperature" -> temperature = optNumber(v, "temperature", 0, 2);
                case "top_p" -> topP = optNumber(v, "top_p", 0, 1);
                case "stop" -> stop = parseStop(v);
                case "stream" -> stream = optBoolean(v, "stream");
                case "stream_options" -> {
                    hasStreamOptions = !v.isNull();
                    includeUsage = parseStreamOptions(v);
                }
                case "parallel_tool_calls" -> parallelToolCalls = optBoolean(v, "parallel_tool_calls");
                case "user" -> user = optString(v, "user");
                case "n" -> checkN(v);
                case "functions", "function_call" -> throw ApiException.invalid(key,
                        key + ": the deprecated functions API is not supported; use tools and tool_choice");
                // Parameters Carapace does not model go to an upstream of this API as they came (which judges them), and
                // are left out of a translation and named, or refused when that would change the answer.
                default -> {
                    if (v.isNull()) break;
                    if (changesTheAnswer(key, v)) untranslatable.add(key);
                    if (passthrough == null) passthrough = MAPPER.createObjectNode();
                    passthrough.set(key, v);
                }
            }
        }

        if (model == null) throw fail("model", "missing; expected a string naming the model");
        if (messages == null) throw fail("messages", "missing; expected a non-empty array of messages");
        boolean streaming = Boolean.TRUE.equals(stream);
        if (hasStreamOptions && !streaming) {
            throw fail("stream_options", "only allowed when stream is true");
        }
        if (maxTokens != null && maxCompletionTokens != null && !maxTokens.equals(maxCompletionTokens)) {
            throw fail("max_completion_tokens", "conflicts with max_tokens (" + maxTokens + " vs "
                    + maxCompletionTokens + "); set only one of them");
        }
        ToolChoice toolChoice = parseToolChoice(toolChoiceNode, tools);
        return new ChatRequest(model, messages, tools, toolChoice,
                maxCompletionTokens != null ? maxCompletionTokens : maxTokens,
                temperature, topP, stop, parallelToolCalls, streaming,
                streaming && Boolean.TRUE.equals(includeUsage), user,
                passthrough == null && lossy.isEmpty() ? ChatRequest.Passthrough.NONE
                        : new ChatRequest.Passthrough(WireApi.OPENAI, passthrough, List.copyOf(lossy), untranslatable),
                new ChatRequest.Original(WireApi.OPENAI, (ObjectNode) root, body));
    }

    /**
     * Whether leaving a parameter out of a translation would change what the answer is, not just how it is made: a
     * required output format, audio output, a hosted tool. Sampling hints, caching and reasoning settings would not.
     */
    private static boolean changesTheAnswer(String key, JsonNode v) {
        return switch (key) {
            case "response_format" -> !"text".equals(v.path("type").asText("text"));
            case "modalities" -> v.toString().contains("\"audio\"");
            case "audio", "web_search_options", "logprobs", "top_logprobs" ->
                    !(v.isBoolean() && !v.booleanValue()) && !(v.isIntegralNumber() && v.intValue() == 0);
            default -> false;
        };
    }

    private static List<Message> parseMessages(JsonNode v, Set<String> lossy) {
        if (!v.isArray()) throw wrongType("messages", "a non-empty array of messages", v);
        if (v.isEmpty()) throw fail("messages", "expected at least one message; got an empty array");
        List<Message> out = new ArrayList<>(v.size());
        for (int i = 0; i < v.size(); i++) out.add(parseMessage(v.get(i), "messages[" + i + "]", lossy));
        return out;
    }

    private static Message parseMessage(JsonNode m, String path, Set<String> lossy) {
        if (!m.isObject()) throw wrongType(path, "a message object", m);
        JsonNode roleNode = m.get("role");
        if (roleNode == null || roleNode.isNull()) throw fail(path + ".role", "missing; expected " + ROLES);
        if (!roleNode.isTextual()) throw wrongType(path + ".role", ROLES, roleNode);
        String role = roleNode.textValue();
        Role neutral = switch (role) {
            case "system", "developer" -> Role.SYSTEM;
            case "user" -> Role.USER;
            case "assistant" -> Role.ASSISTANT;
            case "tool" -> Role.TOOL;
            default -> throw wrongType(path + ".role", ROLES, roleNode);
        };

        JsonNode content = null, toolCalls = null, toolCallId = null;
        for (Map.Entry<String, JsonNode> field : m.properties()) {
            String key = field.getKey();
            JsonNode v = field.getValue();
            switch (key) {
                case "role" -> { }
                case "content" -> content = v;
                case "tool_calls" -> toolCalls = v;
                case "tool_call_id" -> toolCallId = v;
                // Documented fields with no neutral equivalent, harmless to drop; SDKs echo them back in history.
                case "name", "refusal", "annotations" -> { }
                // Serializers often write every field, unset ones as null; only a real value is a problem.
                case "audio", "function_call" -> {
                    if (!v.isNull()) throw fail(path + "." + key, "is not supported by this gateway");
                }
                // What other servers add and their clients echo back (reasoning_content, reasoning_details, prefix,
                // cache_control...): harmless to leave out of a translation, named when it is.
                default -> {
                    if (lossy.size() < 32) lossy.add("messages[]." + key);
                }
            }
        }
        boolean hasToolCalls = toolCalls != null && !toolCalls.isNull();
        if (hasToolCalls && neutral != Role.ASSISTANT) {
            throw fail(path + ".tool_calls", "only assistant messages carry tool_calls");
        }
        boolean hasToolCallId = toolCallId != null && !toolCallId.isNull();
        if (hasToolCallId && neutral != Role.TOOL) {
            throw fail(path + ".tool_call_id", "only tool messages carry tool_call_id");
        }

        return switch (neutral) {
            case SYSTEM -> new Message(Role.SYSTEM, parseContent(content, path + ".content", role, false, false),
                    List.of(), null, false);
            case USER -> new Message(Role.USER, parseContent(content, path + ".content", role, true, false),
                    List.of(), null, false);
            case TOOL -> {
                if (!hasToolCallId) {
                    throw fail(path + ".tool_call_id", "missing; a tool message must name the tool call it answers");
                }
                String id = requiredString(toolCallId, path + ".tool_call_id", "the id of a tool call");
                yield new Message(Role.TOOL, parseContent(content, path + ".content", role, false, false),
                        List.of(), id, false);
            }
            case ASSISTANT -> {
                List<ToolCall> calls = hasToolCalls ? parseToolCalls(toolCalls, path + ".tool_calls") : List.of();
                boolean noContent = content == null || content.isNull();
                if (noContent && calls.isEmpty()) {
                    throw fail(path + ".content", "missing; an assistant message needs content or tool_calls");
                }
                List<Part> parts = noContent ? List.of() : parseContent(content, path + ".content", role, false, true);
                yield new Message(Role.ASSISTANT, parts, calls, null, false);
            }
        };
    }

    /**
     * Message content: a string, or an array of parts. Which part types a role may use follows OpenAI: images only
     * from users, refusals only from the assistant, plain text everywhere.
     */
    private static List<Part> parseContent(JsonNode v, String path, String role, boolean images, boolean refusals) {
        String expected = "a string or an array of content parts";
        if (v == null || v.isNull()) throw fail(path, "missing; expected " + expected);
        if (v.isTextual()) return List.of(new Part.Text(v.textValue()));
        if (!v.isArray()) throw wrongType(path, expected, v);
        if (v.isEmpty()) throw fail(path, "expected at least one content part; got an empty array");
        String allowed = images ? "text or image_url" : refusals ? "text or refusal" : "text";
        List<Part> parts = new ArrayList<>(v.size());
        for (int i = 0; i < v.size(); i++) {
            JsonNode p = v.get(i);
            String pp = path + "[" + i + "]";
            if (!p.isObject()) throw wrongType(pp, "a content part object", p);
            JsonNode type = p.get("type");
            if (type == null || !type.isTextual()) throw wrongType(pp + ".type", allowed, type);
            switch (type.textValue()) {
                case "text" -> parts.add(new Part.Text(requiredString(p.get("text"), pp + ".text", "the text"),
                        // OpenRouter-style clients mark Anthropic cache breakpoints this way; honour it.
                        p.path("cache_control").isObject()));
                case "image_url" -> {
                    if (!images) throw fail(pp + ".type", role + " messages may only contain " + allowed + " parts");
                    parts.add(new Part.Image(parseImageUrl(p.get("image_url"), pp + ".image_url"), null, null));
                }
                case "refusal" -> {
                    if (!refusals) throw fail(pp + ".type", role + " messages may only contain " + allowed + " parts");
                    parts.add(new Part.Text(requiredString(p.get("refusal"), pp + ".refusal", "the refusal text")));
                }
                default -> throw fail(pp + ".type", "unsupported content part type " + describe(type)
                        + "; " + role + " messages may contain " + allowed + " parts");
            }
        }
        return parts;
    }

    private static String parseImageUrl(JsonNode v, String path) {
        // Some clients (and older vLLM examples) send the URL as a bare string; the meaning is unambiguous.
        if (v != null && v.isTextual()) return nonEmpty(v.textValue(), path);
        if (v == null || v.isNull()) throw fail(path, "missing; expected {\"url\": \"https://... or data:...\"}");
        if (!v.isObject()) throw wrongType(path, "an object with a url", v);
        JsonNode detail = v.get("detail");
        if (detail != null && !detail.isNull() && !detail.isTextual()) {
            throw wrongType(path + ".detail", "'auto', 'low' or 'high'", detail);
        }
        return nonEmpty(requiredString(v.get("url"), path + ".url", "an http(s) or data: URL"), path + ".url");
    }

    private static List<ToolCall> parseToolCalls(JsonNode v, String path) {
        if (!v.isArray()) throw wrongType(path, "an array of tool calls", v);
        List<ToolCall> calls = new ArrayList<>(v.size());
        for (int i = 0; i < v.size(); i++) {
            JsonNode c = v.get(i);
            String cp = path + "[" + i + "]";
            if (!c.isObject()) throw wrongType(cp, "a tool call object", c);
            String id = requiredString(c.get("id"), cp + ".id", "the tool call id");
            JsonNode type = c.get("type");
            if (type != null && !type.isNull() && !"function".equals(type.textValue())) {
                throw wrongType(cp + ".type", "'function'", type);
            }
            JsonNode fn = c.get("function");
            if (fn == null || !fn.isObject()) throw wrongType(cp + ".function", "an object with name and arguments", fn);
            String name = requiredString(fn.get("name"), cp + ".function.name", "the tool name");
            String args = requiredString(fn.get("arguments"), cp + ".function.arguments",
                    "a string holding the JSON arguments");
            calls.add(new ToolCall(id, name, args));
        }
        return calls;
    }

    private static List<Tool> parseTools(JsonNode v) {
        if (v.isNull()) return List.of();
        if (!v.isArray()) throw wrongType("tools", "an array of tools", v);
        List<Tool> tools = new ArrayList<>(v.size());
        Set<String> names = new HashSet<>();
        for (int i = 0; i < v.size(); i++) {
            String tp = "tools[" + i + "]";
            JsonNode t = v.get(i);
            if (!t.isObject()) throw wrongType(tp, "a tool object", t);
            JsonNode fn = null;
            boolean typed = false;
            for (Map.Entry<String, JsonNode> field : t.properties()) {
                switch (field.getKey()) {
                    case "type" -> {
                        if (!"function".equals(field.getValue().textValue())) {
                            throw wrongType(tp + ".type", "'function' (the only tool type supported)", field.getValue());
                        }
                        typed = true;
                    }
                    case "function" -> fn = field.getValue();
                    default -> throw fail(tp + "." + clip(field.getKey()), "unrecognized field in a tool");
                }
            }
            if (!typed) throw fail(tp + ".type", "missing; expected 'function'");
            if (fn == null || fn.isNull()) throw fail(tp + ".function", "missing; expected an object with a name");
            if (!fn.isObject()) throw wrongType(tp + ".function", "an object with a name", fn);
            Tool tool = parseFunction(fn, tp + ".function");
            if (!names.add(tool.name())) {
                throw fail(tp + ".function.name", "duplicate tool name '" + tool.name() + "'; tool names must be unique");
            }
            tools.add(tool);
        }
        return tools;
    }

    private static Tool parseFunction(JsonNode fn, String path) {
        String name = null, description = null;
        ObjectNode parameters = null;
        for (Map.Entry<String, JsonNode> field : fn.properties()) {
            JsonNode v = field.getValue();
            switch (field.getKey()) {
                case "name" -> {
                    name = requiredString(v, path + ".name", "the tool name");
                    if (!isValidToolName(name)) {
                        throw wrongType(path + ".name", "1 to 64 characters from a-z, A-Z, 0-9, _ and -", v);
                    }
                }
                case "description" -> description = optString(v, path + ".description");
                case "parameters" -> parameters = parseSchema(v, path + ".parameters");
                // Strict schema adherence has no neutral equivalent; the schema itself still goes upstream.
                case "strict" -> optBoolean(v, path + ".strict");
                default -> throw fail(path + "." + clip(field.getKey()), "unrecognized field in a function");
            }
        }
        if (name == null) throw fail(path + ".name", "missing; expected the tool name");
        return new Tool(name, description, parameters);
    }

    private static ObjectNode parseSchema(JsonNode v, String path) {
        if (v.isNull()) return null;
        if (!v.isObject()) {
            throw fail(path, "invalid tool schema: expected a JSON Schema object; got " + describe(v));
        }
        JsonNode type = v.get("type");
        if (type != null && !"object".equals(type.textValue())) {
            throw fail(path, "invalid tool schema: the top-level \"type\" must be \"object\" (the arguments are "
                    + "always a JSON object); got " + describe(type));
        }
        return (ObjectNode) v;
    }

    // A hand-written check: this runs for every tool on every request, a regex would allocate a matcher each time.
    private static boolean isValidToolName(String s) {
        if (s.isEmpty() || s.length() > 64) return false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
            if (!ok) return false;
        }
        return true;
    }

    private static ToolChoice parseToolChoice(JsonNode v, List<Tool> tools) {
        if (v == null || v.isNull()) return null;
        String expected = "'auto', 'none', 'required' or {\"type\": \"function\", \"function\": {\"name\": ...}}";
        if (v.isTextual()) {
            ToolChoice choice = switch (v.textValue()) {
                case "auto" -> ToolChoice.AUTO;
                case "none" -> new ToolChoice(ToolChoice.Mode.NONE, null);
                case "required" -> new ToolChoice(ToolChoice.Mode.REQUIRED, null);
                default -> throw wrongType("tool_choice", expected, v);
            };
            if (choice.mode() == ToolChoice.Mode.REQUIRED && tools.isEmpty()) {
                throw fail("tool_choice", "'required' needs at least one tool in tools");
            }
            return choice;
        }
        if (!v.isObject()) throw wrongType("tool_choice", expected, v);
        JsonNode type = v.get("type");
        if (type == null || !"function".equals(type.textValue())) throw wrongType("tool_choice.type", "'function'", type);
        JsonNode fn = v.get("function");
        if (fn == null || !fn.isObject()) throw wrongType("tool_choice.function", "an object with a name", fn);
        String name = requiredString(fn.get("name"), "tool_choice.function.name", "the name of one of the tools");
        for (Tool t : tools) {
            if (t.name().equals(name)) return new ToolChoice(ToolChoice.Mode.TOOL, name);
        }
        throw fail("tool_choice.function.name", "no tool named '" + clip(name) + "' in tools");
    }

    private static List<String> parseStop(JsonNode v) {
        if (v.isNull()) return null;
        if (v.isTextual()) return List.of(v.textValue());
        if (!v.isArray()) throw wrongType("stop", "a string or an array of up to 4 strings", v);
        if (v.size() > 4) throw fail("stop", "expected at most 4 stop sequences; got " + v.size());
        List<String> out = new ArrayList<>(v.size());
        for (int i = 0; i < v.size(); i++) {
            JsonNode s = v.get(i);
            if (!s.isTextual()) throw wrongType("stop[" + i + "]", "a string", s);
            out.add(s.textValue());
        }
        return out;
    }

    /** Returns include_usage, or null when not given. */
    private static Boolean parseStreamOptions(JsonNode v) {
        if (v.isNull()) return null;
        if (!v.isObject()) throw wrongType("stream_options", "an object like {\"include_usage\": true}", v);
        Boolean includeUsage = null;
        for (Map.Entry<String, JsonNode> field : v.properties()) {
            switch (field.getKey()) {
                case "include_usage" -> includeUsage = optBoolean(field.getValue(), "stream_options.include_usage");
                // Only shapes OpenAI's own chunk padding; nothing to forward.
                case "include_obfuscation" -> optBoolean(field.getValue(), "stream_options.include_obfuscation");
                default -> throw fail("stream_options." + clip(field.getKey()), "unrecognized stream option");
            }
        }
        return includeUsage;
    }

    private static void checkN(JsonNode v) {
        if (v.isNull() || (v.isIntegralNumber() && v.canConvertToInt() && v.intValue() == 1)) return;
        throw fail("n", "only n=1 is supported (one choice per request); got " + describe(v));
    }

    private static String nonEmpty(String s, String path) {
        if (s.isEmpty()) throw fail(path, "must not be empty");
        return s;
    }
}
