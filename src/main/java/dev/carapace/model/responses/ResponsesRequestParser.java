package dev.carapace.model.responses;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.model.JsonFields;
import dev.carapace.model.ApiException;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.Message;
import dev.carapace.model.Part;
import dev.carapace.model.Role;
import dev.carapace.model.ToolCall;
import dev.carapace.model.ToolChoice;
import dev.carapace.model.WireApi;

import java.util.ArrayList;
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

/**
 * Reads a {@code POST /v1/responses} body into the neutral {@link ChatRequest} and the {@link ResponsesContext} its
 * answer needs. Strict like the other client parsers: a field of the wrong type, an unknown field or item type, or a
 * repeated key is a 400 that names the JSON path and says what was expected.
 *
 * <p>The mapping: {@code instructions} and {@code developer}/{@code system} messages are system messages;
 * {@code function_call} items join the assistant turn before them as tool calls; {@code function_call_output} items
 * are tool results; {@code reasoning} items are kept only in the client's own body, which an upstream speaking the
 * Responses API is sent as it came (a translation to another API drops them, as it cannot carry them). A
 * {@code namespace} tool's functions are flattened to {@code namespace__name}, and a {@code custom} (freeform) tool
 * becomes a function of one {@code input} string. Hosted tools that only OpenAI runs ({@code web_search},
 * {@code file_search}, ...) reach a Responses upstream as sent; another upstream cannot run them, so a translated
 * request is refused for them, unless the client marked them optional, when they are dropped.
 *
 * <p>This class reads the body, its input items and its other fields; {@code tools} and {@code tool_choice} are read
 * by {@link ResponsesToolsReader}.
 */
final class ResponsesRequestParser {

    private static final Set<String> INCLUDES = Set.of("reasoning.encrypted_content", "message.output_text.logprobs",
            "web_search_call.action.sources", "web_search_call.results", "code_interpreter_call.outputs",
            "computer_call_output.output.image_url", "file_search_call.results", "message.input_image.image_url");
    /** Fields that change nothing Carapace does, accepted and (for a Responses upstream) sent on as they came. */
    private static final Set<String> ACCEPTED = Set.of("metadata", "service_tier", "truncation", "client_metadata",
            "safety_identifier", "prompt_cache_retention", "top_logprobs", "max_tool_calls", "stream_options");
    /**
     * Items of the API that hosted tools and OpenAI's own service produce (and clients send back in a conversation):
     * an upstream speaking the Responses API gets them as they came; a translation cannot carry them and drops them,
     * like reasoning items.
     */
    private static final Set<String> OPAQUE_ITEMS = Set.of("web_search_call", "file_search_call", "computer_call",
            "computer_call_output", "code_interpreter_call", "image_generation_call", "local_shell_call",
            "local_shell_call_output", "shell_call", "shell_call_output", "apply_patch_call", "apply_patch_call_output",
            "mcp_call", "mcp_list_tools", "mcp_approval_request", "mcp_approval_response", "compaction",
            "tool_search_call", "tool_search_output");
    private static final String ROLES = "one of user, assistant, system, developer";
    private static final String ITEM_TYPES = "message, function_call, function_call_output, custom_tool_call, "
            + "custom_tool_call_output, reasoning, or an item of a hosted tool (web_search_call, ...)";

    private ResponsesRequestParser() {}

    /** An input item type that only an upstream speaking the Responses API can take. */
    static boolean untranslatable(String itemType) {
        return "reasoning".equals(itemType) || OPAQUE_ITEMS.contains(itemType);
    }

    /** A tool type that only OpenAI's service runs. */
    static boolean hosted(String toolType) { return ResponsesToolsReader.HOSTED.contains(toolType); }

    /**
     * @param optionalHosted hosted tool types the client said it can do without: dropped from a translated request
     *                       instead of refusing it
     */
    static ResponsesFormat.Parsed parse(byte[] body, Set<String> optionalHosted) {
        JsonNode root = JsonFields.clientBody(ResponsesJson.CLIENT, body);
        if (!root.isObject()) throw ApiException.invalid(null, "Request body must be a JSON object; got " + describe(root));
        return parse((ObjectNode) root, body, optionalHosted);
    }

    static ResponsesFormat.Parsed parse(ObjectNode root, byte[] raw, Set<String> optionalHosted) {
        String model = null, instructions = null, user = null, previous = null;
        JsonNode input = null, toolsNode = null, toolChoiceNode = null;
        Integer maxTokens = null;
        Double temperature = null, topP = null;
        Boolean stream = null, parallel = null, store = null;
        ObjectNode passthrough = null;
        ObjectNode echo = ResponsesJson.object();

        for (Map.Entry<String, JsonNode> field : root.properties()) {
            String key = field.getKey();
            JsonNode v = field.getValue();
            switch (key) {
                case "model" -> model = requiredString(v, "model", "a model id");
                case "input" -> input = v;
                case "instructions" -> instructions = optString(v, "instructions");
                case "tools" -> toolsNode = v;
                case "tool_choice" -> toolChoiceNode = v;
                case "parallel_tool_calls" -> parallel = optBoolean(v, key);
                case "max_output_tokens" -> maxTokens = optPositiveInt(v, key);
                case "temperature" -> temperature = optNumber(v, key, 0, 2);
                case "top_p" -> topP = optNumber(v, key, 0, 1);
                case "stream" -> stream = optBoolean(v, key);
                case "store" -> store = optBoolean(v, key);
                case "user" -> user = optString(v, key);
                case "previous_response_id" -> previous = optString(v, key);
                case "prompt_cache_key" -> optString(v, key);
                case "reasoning" -> checkReasoning(v);
                case "include" -> checkInclude(v);
                case "text" -> {
                    JsonNode format = checkText(v);
                    if (format != null) {
                        if (passthrough == null) passthrough = ResponsesJson.object();
                        passthrough.set(ResponsesFormat.TEXT_FORMAT, format);
                    }
                }
                case "background" -> {
                    if (Boolean.TRUE.equals(optBoolean(v, key))) {
                        throw fail(key, "background responses are not supported by this gateway; send the request"
                                + " without background, streamed if it takes long");
                    }
                }
                case "conversation" -> {
                    if (!v.isNull()) throw fail(key, "the Conversations API is not supported by this gateway; chain"
                            + " responses with previous_response_id instead");
                }
                case "prompt" -> {
                    if (!v.isNull()) throw fail(key, "stored prompt templates are not supported by this gateway;"
                            + " send the prompt as instructions and input");
                }
                default -> {
                    if (!ACCEPTED.contains(key)) {
                        throw ApiException.invalid(clip(key), "Unknown parameter: '" + clip(key)
                                + "'. The Responses API takes model, input, instructions, tools, tool_choice,"
                                + " parallel_tool_calls, reasoning, text, max_output_tokens, include, store,"
                                + " previous_response_id, prompt_cache_key, stream, temperature, top_p, user, metadata.");
                    }
                    checkAccepted(key, v);
                }
            }
            if (!"input".equals(key) && !"stream".equals(key) && !"model".equals(key)) echo.set(key, v);
        }
        if (model == null) throw fail("model", "missing; expected a string naming the model");
        if (input == null || input.isNull()) {
            throw fail("input", "missing; expected a string or an array of input items");
        }

        ResponsesToolsReader.Tools tools = ResponsesToolsReader.parseTools(toolsNode, optionalHosted);
        if (tools.hosted() != null) {
            if (passthrough == null) passthrough = ResponsesJson.object();
            passthrough.setAll(tools.hosted());
        }
        ArrayNode items = inputItems(input);
        List<Message> messages = new ArrayList<>(items.size() + 1);
        if (instructions != null && !instructions.isEmpty()) messages.add(Message.of(Role.SYSTEM, instructions));
        readItems(items, messages, tools);
        if (messages.isEmpty()) throw fail("input", "expected at least one input item; got an empty array");

        ToolChoice toolChoice = ResponsesToolsReader.parseToolChoice(toolChoiceNode, tools);
        boolean streaming = Boolean.TRUE.equals(stream);
        ChatRequest chat = new ChatRequest(model, messages, tools.neutral(), toolChoice, maxTokens, temperature, topP,
                List.of(), parallel, streaming, streaming, user,
                passthrough == null ? ChatRequest.Passthrough.NONE : new ChatRequest.Passthrough(WireApi.RESPONSES, passthrough),
                new ChatRequest.Original(WireApi.RESPONSES, root, raw));
        ResponsesContext context = new ResponsesContext(tools.namespaced(), tools.custom(), store == null || store,
                previous, items, echo);
        return new ResponsesFormat.Parsed(chat, context);
    }

    /** A string input is one user message; otherwise the array of items, each checked as it is read. */
    private static ArrayNode inputItems(JsonNode input) {
        if (input.isTextual()) {
            ArrayNode items = ResponsesJson.MAPPER.createArrayNode();
            items.addObject().put("type", "message").put("role", "user").put("content", input.textValue());
            return items;
        }
        if (!input.isArray()) throw wrongType("input", "a string or an array of input items", input);
        return (ArrayNode) input;
    }

    private static void readItems(ArrayNode items, List<Message> out, ResponsesToolsReader.Tools tools) {
        for (int i = 0; i < items.size(); i++) {
            String path = "input[" + i + "]";
            JsonNode item = items.get(i);
            if (!item.isObject()) throw wrongType(path, "an input item object", item);
            JsonNode typeNode = item.get("type");
            String type;
            if (typeNode == null || typeNode.isNull()) {
                if (!item.has("role")) throw fail(path + ".type", "missing; expected " + ITEM_TYPES);
                type = "message";   // the easy input message: {role, content} without a type
            } else if (!typeNode.isTextual()) {
                throw wrongType(path + ".type", ITEM_TYPES, typeNode);
            } else {
                type = typeNode.textValue();
            }
            switch (type) {
                case "message" -> out.add(message(item, path));
                case "function_call" -> {
                    checkKeys(item, path, "type", "id", "call_id", "name", "namespace", "arguments", "status");
                    String name = requiredString(item.get("name"), path + ".name", "the function's name");
                    JsonNode ns = item.get("namespace");
                    if (ns != null && !ns.isNull()) {
                        name = requiredString(ns, path + ".namespace", "the namespace's name")
                                + ResponsesContext.NAMESPACE_SEPARATOR + name;
                    }
                    addCall(out, new ToolCall(requiredString(item.get("call_id"), path + ".call_id", "the call's id"),
                            name, requiredString(item.get("arguments"), path + ".arguments", "the JSON arguments")));
                }
                case "custom_tool_call" -> {
                    checkKeys(item, path, "type", "id", "call_id", "name", "input", "status");
                    String name = requiredString(item.get("name"), path + ".name", "the tool's name");
                    String text = requiredString(item.get("input"), path + ".input", "the tool's input");
                    addCall(out, new ToolCall(requiredString(item.get("call_id"), path + ".call_id", "the call's id"),
                            name, ResponsesJson.object().put("input", text).toString()));
                }
                case "function_call_output", "custom_tool_call_output" -> {
                    checkKeys(item, path, "type", "id", "call_id", "output", "status");
                    String callId = requiredString(item.get("call_id"), path + ".call_id", "the id of the call it answers");
                    out.add(new Message(Role.TOOL, toolOutput(item.get("output"), path + ".output"), List.of(), callId, false));
                }
                case "reasoning" -> checkReasoningItem(item, path);
                case String t when OPAQUE_ITEMS.contains(t) -> { }
                case "item_reference" -> throw fail(path + ".type", "item references need the item store of OpenAI's"
                        + " own service; send the item itself, or chain with previous_response_id");
                default -> throw fail(path + ".type", "unsupported input item type "
                        + clip(type) + "; expected " + ITEM_TYPES);
            }
        }
    }

    /** A tool call joins the assistant turn just before it; a call after anything else opens a new turn. */
    private static void addCall(List<Message> out, ToolCall call) {
        Message last = out.isEmpty() ? null : out.get(out.size() - 1);
        if (last != null && last.role() == Role.ASSISTANT) {
            List<ToolCall> calls = new ArrayList<>(last.toolCalls());
            calls.add(call);
            out.set(out.size() - 1, new Message(Role.ASSISTANT, last.content(), calls, null, false));
        } else {
            out.add(new Message(Role.ASSISTANT, List.of(), List.of(call), null, false));
        }
    }

    private static Message message(JsonNode item, String path) {
        checkKeys(item, path, "type", "id", "role", "content", "status");
        JsonNode roleNode = item.get("role");
        if (roleNode == null || roleNode.isNull()) throw fail(path + ".role", "missing; expected " + ROLES);
        if (!roleNode.isTextual()) throw wrongType(path + ".role", ROLES, roleNode);
        String role = roleNode.textValue();
        Role neutral = switch (role) {
            case "system", "developer" -> Role.SYSTEM;
            case "user" -> Role.USER;
            case "assistant" -> Role.ASSISTANT;
            default -> throw fail(path + ".role", "expected " + ROLES + "; got '" + clip(role) + "'");
        };
        return new Message(neutral, content(item.get("content"), path + ".content", neutral), List.of(), null, false);
    }

    private static List<Part> content(JsonNode v, String path, Role role) {
        String expected = "a string or an array of content parts";
        if (v == null || v.isNull()) throw fail(path, "missing; expected " + expected);
        if (v.isTextual()) return List.of(new Part.Text(v.textValue()));
        if (!v.isArray()) throw wrongType(path, expected, v);
        List<Part> parts = new ArrayList<>(v.size());
        for (int i = 0; i < v.size(); i++) {
            String pp = path + "[" + i + "]";
            JsonNode p = v.get(i);
            if (!p.isObject()) throw wrongType(pp, "a content part object", p);
            String type = requiredString(p.get("type"), pp + ".type", "the part's type");
            switch (type) {
                case "input_text", "output_text" -> {
                    // Assistant turns are output_text as the API answered them; clients also send input_text.
                    parts.add(new Part.Text(requiredString(p.get("text"), pp + ".text", "the text")));
                }
                case "refusal" -> parts.add(new Part.Text(requiredString(p.get("refusal"), pp + ".refusal", "the refusal")));
                case "input_image" -> {
                    if (role != Role.USER) throw fail(pp + ".type", "only user messages may carry images");
                    parts.add(image(p, pp));
                }
                case "input_file" -> throw fail(pp + ".type", "file inputs are not supported by this gateway; send"
                        + " the file's text as input_text");
                default -> throw fail(pp + ".type", "unsupported content part type '" + clip(type)
                        + "'; expected input_text, output_text, refusal or input_image");
            }
        }
        return parts;
    }

    private static Part.Image image(JsonNode p, String path) {
        JsonNode fileId = p.get("file_id");
        if (fileId != null && !fileId.isNull()) {
            throw fail(path + ".file_id", "uploaded files are not supported by this gateway; send the image as"
                    + " image_url (an https or data: URL)");
        }
        JsonNode detail = p.get("detail");
        if (detail != null && !detail.isNull() && !detail.isTextual()) {
            throw wrongType(path + ".detail", "'auto', 'low' or 'high'", detail);
        }
        String url = requiredString(p.get("image_url"), path + ".image_url", "an https or data: URL");
        if (url.isEmpty()) throw fail(path + ".image_url", "must not be empty");
        return new Part.Image(url, null, null);
    }

    /** A tool's output: a string, or parts of text and images. */
    private static List<Part> toolOutput(JsonNode v, String path) {
        if (v == null || v.isNull()) throw fail(path, "missing; expected a string or an array of content parts");
        if (v.isTextual()) return List.of(new Part.Text(v.textValue()));
        if (!v.isArray()) throw wrongType(path, "a string or an array of content parts", v);
        List<Part> parts = content(v, path, Role.USER);
        return parts.isEmpty() ? List.of(new Part.Text("")) : parts;
    }

    private static void checkReasoningItem(JsonNode item, String path) {
        checkKeys(item, path, "type", "id", "summary", "content", "encrypted_content", "status");
        JsonNode summary = item.get("summary");
        if (summary != null && !summary.isNull() && !summary.isArray()) {
            throw wrongType(path + ".summary", "an array of summary_text parts", summary);
        }
        JsonNode enc = item.get("encrypted_content");
        if (enc != null && !enc.isNull() && !enc.isTextual()) throw wrongType(path + ".encrypted_content", "a string", enc);
    }

    // ---- other fields ----

    private static void checkReasoning(JsonNode v) {
        if (v.isNull()) return;
        if (!v.isObject()) throw wrongType("reasoning", "an object such as {\"effort\": \"medium\", \"summary\": \"auto\"}", v);
        for (Map.Entry<String, JsonNode> f : v.properties()) {
            String path = "reasoning." + f.getKey();
            switch (f.getKey()) {
                case "effort" -> oneOf(f.getValue(), path, "none", "minimal", "low", "medium", "high", "xhigh");
                case "summary", "generate_summary" -> oneOf(f.getValue(), path, "auto", "concise", "detailed", "none");
                default -> throw fail("reasoning." + clip(f.getKey()), "unknown field; expected effort or summary");
            }
        }
    }

    /** The structured output format, or null when the answer is plain text. */
    private static JsonNode checkText(JsonNode v) {
        if (v.isNull()) return null;
        if (!v.isObject()) throw wrongType("text", "an object such as {\"format\": {\"type\": \"text\"}}", v);
        JsonNode structured = null;
        for (Map.Entry<String, JsonNode> f : v.properties()) {
            switch (f.getKey()) {
                case "verbosity" -> oneOf(f.getValue(), "text.verbosity", "low", "medium", "high");
                case "format" -> {
                    JsonNode format = f.getValue();
                    if (format.isNull()) continue;
                    if (!format.isObject()) throw wrongType("text.format", "an object with a type", format);
                    String type = requiredString(format.get("type"), "text.format.type", "text, json_object or json_schema");
                    switch (type) {
                        case "text" -> { }
                        case "json_object" -> structured = format;
                        case "json_schema" -> {
                            requiredString(format.get("name"), "text.format.name", "the schema's name");
                            JsonNode schema = format.get("schema");
                            if (schema == null || !schema.isObject()) throw wrongType("text.format.schema", "a JSON Schema object", schema);
                            structured = format;
                        }
                        default -> throw fail("text.format.type", "expected text, json_object or json_schema; got '"
                                + clip(type) + "'");
                    }
                }
                default -> throw fail("text." + clip(f.getKey()), "unknown field; expected format or verbosity");
            }
        }
        return structured;
    }

    private static void checkInclude(JsonNode v) {
        if (v.isNull()) return;
        if (!v.isArray()) throw wrongType("include", "an array of strings such as [\"reasoning.encrypted_content\"]", v);
        for (int i = 0; i < v.size(); i++) {
            JsonNode s = v.get(i);
            String path = "include[" + i + "]";
            if (!s.isTextual()) throw wrongType(path, "a string", s);
            if (!INCLUDES.contains(s.textValue())) {
                throw fail(path, "unknown value '" + clip(s.textValue()) + "'; expected one of "
                        + String.join(", ", new java.util.TreeSet<>(INCLUDES)));
            }
        }
    }

    private static void checkAccepted(String key, JsonNode v) {
        switch (key) {
            case "metadata", "client_metadata" -> {
                if (v.isNull()) return;
                if (!v.isObject()) throw wrongType(key, "an object of string values", v);
                for (Map.Entry<String, JsonNode> f : v.properties()) {
                    if (!f.getValue().isTextual()) throw wrongType(key + "." + clip(f.getKey()), "a string", f.getValue());
                }
            }
            case "truncation" -> oneOf(v, key, "auto", "disabled");
            case "service_tier", "safety_identifier", "prompt_cache_retention" -> optString(v, key);
            case "top_logprobs" -> {
                if (!v.isNull() && (!v.isIntegralNumber() || v.intValue() < 0 || v.intValue() > 20)) {
                    throw wrongType(key, "an integer from 0 to 20", v);
                }
            }
            case "max_tool_calls" -> optPositiveInt(v, key);
            case "stream_options" -> {
                if (!v.isNull() && !v.isObject()) throw wrongType(key, "an object", v);
            }
            default -> { }
        }
    }

    // ---- small readers ----

    static void checkKeys(JsonNode item, String path, String... allowed) {
        for (var it = item.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            boolean ok = false;
            for (String a : allowed) if (a.equals(k)) { ok = true; break; }
            if (!ok) {
                throw fail(path + "." + clip(k), "unknown field; expected " + String.join(", ", allowed));
            }
        }
    }

    private static void oneOf(JsonNode v, String path, String... values) {
        if (v.isNull()) return;
        if (v.isTextual()) for (String s : values) if (s.equals(v.textValue())) return;
        throw wrongType(path, "one of " + String.join(", ", values), v);
    }
}
