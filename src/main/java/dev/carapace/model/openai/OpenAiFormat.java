package dev.carapace.model.openai;

import com.fasterxml.jackson.core.ErrorReportConfiguration;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.model.ApiException;
import dev.carapace.model.ApiException.Kind;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.ChatResponse;
import dev.carapace.model.FinishReason;
import dev.carapace.model.JsonBytes;
import dev.carapace.model.JsonSplice;
import dev.carapace.model.Message;
import dev.carapace.model.Part;
import dev.carapace.model.Role;
import dev.carapace.model.StreamEvent;
import dev.carapace.model.StreamSink;
import dev.carapace.model.Tool;
import dev.carapace.model.ToolCall;
import dev.carapace.model.ToolChoice;
import dev.carapace.model.UpstreamStatus;
import dev.carapace.model.Translation;
import dev.carapace.model.Usage;
import dev.carapace.model.WireApi;
import dev.carapace.model.WireFormat;
import dev.carapace.model.responses.ResponsesFormat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;

/**
 * OpenAI Chat Completions ({@code /v1/chat/completions}), both as Carapace serves it to clients and as it speaks it
 * to OpenAI-compatible upstreams (OpenAI itself, vLLM, Ollama, llama.cpp, ...).
 *
 * <p>The client side checks every field Carapace reads, and each error names the offending JSON path, so a client
 * learns what to fix from one response. Top-level parameters and message fields it does not model are kept: relayed
 * to an OpenAI-compatible upstream as they came, left out of a translation and named, or refused by name when their
 * loss would change the answer ({@link Translation}). The upstream side is lenient: OpenAI-compatible servers differ
 * in small ways, and a quirk that still carries the meaning is accepted rather than turned into an outage.
 *
 * <p>JSON is read into Jackson's tree model and written with a streaming generator; no data binding by reflection.
 * Stateless and thread-safe; the stream encoders and decoders it hands out are per-stream.
 */
public final class OpenAiFormat implements WireFormat {

    /** Deep enough for any real JSON Schema, shallow enough that nesting cannot be used to exhaust the stack. */
    static final int MAX_NESTING_DEPTH = 64;
    private static final int ECHO_LIMIT = 40;
    private static final int UPSTREAM_MESSAGE_LIMIT = 300;

    static final JsonFactory JSON_FACTORY = JsonFactory.builder()
            .recyclerPool(JsonBytes.RECYCLER_POOL)
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_NESTING_DEPTH).build())
            // Parser messages quote the offending token; keep that short and never quote the raw document.
            .errorReportConfiguration(ErrorReportConfiguration.builder()
                    .maxErrorTokenLength(ECHO_LIMIT).maxRawContentLength(0).build())
            .build();
    private static final ObjectMapper MAPPER = JsonMapper.builder(JSON_FACTORY)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    /** Client bodies: a repeated key is refused, as it could mean one thing to Carapace and another upstream. */
    private static final ObjectReader CLIENT = MAPPER.reader().with(StreamReadFeature.STRICT_DUPLICATE_DETECTION);

    private static final byte[] EMPTY = new byte[0];
    private static final byte[] DATA_PREFIX = "data: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] FRAME_END = "\n\n".getBytes(StandardCharsets.US_ASCII);
    static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);

    private static final String ROLES = "one of system, developer, user, assistant, tool";

    /** Looks like an API key; upstream errors sometimes quote (part of) Carapace's own key back. */
    private static final Pattern SECRET = Pattern.compile("\\b(sk|key|rk)-[A-Za-z0-9_*.\\-]{6,}");
    private static final Pattern ERROR_CODE = Pattern.compile("[a-z][a-z0-9_]{0,63}");

    @Override
    public WireApi api() { return WireApi.OPENAI; }

    // =====================================================================================================
    // Client side: parsing requests
    // =====================================================================================================

    @Override
    public ChatRequest parseRequest(byte[] body) {
        JsonNode root = readClientBody(body);
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
        StringBuilder unmodeled = new StringBuilder();

        for (Map.Entry<String, JsonNode> field : root.properties()) {
            String key = field.getKey();
            JsonNode v = field.getValue();
            switch (key) {
                case "model" -> model = requiredString(v, "model", "a model id");
                case "messages" -> messages = parseMessages(v, lossy, unmodeled);
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
                    texts(v, unmodeled);
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
                        : new ChatRequest.Passthrough(WireApi.OPENAI, passthrough, List.copyOf(lossy), untranslatable,
                                unmodeled.toString()),
                new ChatRequest.Original(WireApi.OPENAI, (ObjectNode) root, body));
    }

    private static JsonNode readClientBody(byte[] body) {
        JsonNode root;
        try {
            root = body == null ? null : CLIENT.readTree(body);
        } catch (IOException e) {
            throw ApiException.invalid(null, "Request body is not valid JSON: " + jsonProblem(e));
        }
        if (root == null || root.isMissingNode()) {
            throw ApiException.invalid(null, "Request body is empty; expected a JSON object");
        }
        return root;
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

    /** The string leaves of {@code n}, one a line: what privacy rules screen of a field Carapace does not model. */
    private static void texts(JsonNode n, StringBuilder out) {
        if (n.isTextual()) {
            if (!out.isEmpty()) out.append('\n');
            out.append(n.textValue());
        } else if (n.isContainerNode()) {
            for (JsonNode e : n) texts(e, out);
        }
    }

    private static List<Message> parseMessages(JsonNode v, Set<String> lossy, StringBuilder unmodeled) {
        if (!v.isArray()) throw wrongType("messages", "a non-empty array of messages", v);
        if (v.isEmpty()) throw fail("messages", "expected at least one message; got an empty array");
        List<Message> out = new ArrayList<>(v.size());
        for (int i = 0; i < v.size(); i++) out.add(parseMessage(v.get(i), "messages[" + i + "]", lossy, unmodeled));
        return out;
    }

    private static Message parseMessage(JsonNode m, String path, Set<String> lossy, StringBuilder unmodeled) {
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
                    texts(v, unmodeled);
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

    // ---- small field readers: null means "not given" for optional fields ----

    private static String requiredString(JsonNode v, String path, String what) {
        if (v == null || v.isNull()) throw fail(path, "missing; expected a string (" + what + ")");
        if (!v.isTextual()) throw wrongType(path, "a string (" + what + ")", v);
        return v.textValue();
    }

    private static String nonEmpty(String s, String path) {
        if (s.isEmpty()) throw fail(path, "must not be empty");
        return s;
    }

    private static String optString(JsonNode v, String path) {
        if (v.isNull()) return null;
        if (!v.isTextual()) throw wrongType(path, "a string", v);
        return v.textValue();
    }

    private static Boolean optBoolean(JsonNode v, String path) {
        if (v.isNull()) return null;
        if (!v.isBoolean()) throw wrongType(path, "true or false", v);
        return v.booleanValue();
    }

    private static Integer optPositiveInt(JsonNode v, String path) {
        if (v.isNull()) return null;
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < 1) {
            throw wrongType(path, "a positive integer", v);
        }
        return v.intValue();
    }

    private static Double optNumber(JsonNode v, String path, int min, int max) {
        if (v.isNull()) return null;
        double d = v.isNumber() ? v.doubleValue() : Double.NaN;
        if (!(d >= min && d <= max)) throw wrongType(path, "a number from " + min + " to " + max, v);
        return d;
    }

    private static ApiException fail(String path, String problem) {
        return ApiException.invalid(path, path + ": " + problem);
    }

    private static ApiException wrongType(String path, String expected, JsonNode got) {
        return fail(path, "expected " + expected + "; got " + describe(got));
    }

    /** What the client sent, short enough to echo: strings quoted and clipped, containers only by kind. */
    private static String describe(JsonNode v) {
        if (v == null || v.isMissingNode()) return "nothing";
        return switch (v.getNodeType()) {
            case STRING -> "'" + clip(v.textValue()) + "'";
            case NUMBER, BOOLEAN -> clip(v.asText());
            case NULL -> "null";
            case OBJECT -> "an object";
            case ARRAY -> "an array";
            default -> "a " + v.getNodeType().name().toLowerCase();
        };
    }

    private static String clip(String s) {
        return s.length() <= ECHO_LIMIT ? s : s.substring(0, ECHO_LIMIT) + "...";
    }

    /** A one-line reason for a JSON read failure, with its position, and without Jackson's internals. */
    public static String jsonProblem(IOException e) {
        if (!(e instanceof JsonProcessingException jpe)) return "could not be read";
        String msg = jpe.getOriginalMessage();
        if (msg == null) msg = "malformed";
        if (msg.startsWith("Trailing token")) msg = "unexpected content after the end of the JSON value";
        int nl = msg.indexOf('\n');
        if (nl >= 0) msg = msg.substring(0, nl);
        // Constraint violations name the Jackson setting that tripped; the client only needs the limit.
        msg = msg.replaceAll(", from `[^`]*`", "");
        // Jackson's position notes name a redacted source; keep just the line and column.
        msg = msg.replace("start marker at ", "opened at ")
                .replaceAll("\\[Source: [^;\\]]*; line: (\\d+), column: (\\d+)]", "line $1, column $2");
        if (msg.length() > 200) msg = msg.substring(0, 200) + "...";
        JsonLocation loc = jpe.getLocation();
        if (loc != null && loc.getLineNr() > 0) {
            msg += " (line " + loc.getLineNr() + ", column " + loc.getColumnNr() + ")";
        }
        return msg;
    }

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
        return new Encoder(model, request.includeUsage());
    }

    @Override
    public byte[] renderError(ApiException error) {
        return json(g -> writeError(g, error));
    }

    /**
     * A budget's refusal is a 400 in OpenAI's shape (Chat Completions and the Responses API alike), every other error
     * keeps its kind's status. Codex, which speaks only the Responses API, shows a 429's body to no one ("exceeded
     * retry limit, last status: 429") and retries any other status but 400 five times; a 400 it shows at once, and
     * the OpenAI SDK (the Agents SDK, OpenClaw) never retries one. Measured per harness: BENCHMARKS.md, "Budget
     * refusals in the harnesses".
     */
    @Override
    public int status(ApiException error) {
        return error.budgetExceeded() ? 400 : error.kind().status;
    }

    private static void writeError(JsonGenerator g, ApiException e) throws IOException {
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
            case INVALID_REQUEST, TOO_LARGE, UNSUPPORTED_MEDIA_TYPE -> "invalid_request_error";
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

    private static String finishName(FinishReason reason) {
        if (reason == null) return "stop";
        return switch (reason) {
            case STOP -> "stop";
            case LENGTH -> "length";
            case TOOL_CALLS -> "tool_calls";
            case CONTENT_FILTER -> "content_filter";
        };
    }

    /**
     * Renders one streamed answer as chat.completion.chunk frames, all under the same id and timestamp. The frames
     * are written by hand into one reused buffer (see {@link JsonBytes}), in exactly the bytes a Jackson generator
     * wrote before; the part every chunk shares is rendered once.
     */
    static final class Encoder implements StreamEncoder {
        private static final byte[] ID_FIELD = JsonBytes.ascii("{\"id\":");
        private static final byte[] OBJECT_CREATED = JsonBytes.ascii(",\"object\":\"chat.completion.chunk\",\"created\":");
        private static final byte[] MODEL = JsonBytes.ascii(",\"model\":");
        private static final byte[] DELTA = JsonBytes.ascii(",\"choices\":[{\"index\":0,\"delta\":{");
        private static final byte[] ROLE = JsonBytes.ascii("\"role\":\"assistant\",\"content\":\"\"");
        private static final byte[] CONTENT = JsonBytes.ascii("\"content\":");
        private static final byte[] TOOL_CALL_INDEX = JsonBytes.ascii("\"tool_calls\":[{\"index\":");
        private static final byte[] ID = JsonBytes.ascii(",\"id\":");
        private static final byte[] FUNCTION_NAME = JsonBytes.ascii(",\"type\":\"function\",\"function\":{\"name\":");
        private static final byte[] NO_ARGUMENTS = JsonBytes.ascii(",\"arguments\":\"\"}}]");
        private static final byte[] FUNCTION_ARGUMENTS = JsonBytes.ascii(",\"function\":{\"arguments\":");
        private static final byte[] CLOSE_TOOL_CALL = JsonBytes.ascii("}}]");
        private static final byte[] NOT_FINISHED = JsonBytes.ascii("},\"finish_reason\":null}]}\n\n");
        private static final byte[] FINISH_REASON = JsonBytes.ascii("},\"finish_reason\":");
        private static final byte[] FINISHED = JsonBytes.ascii("}]}\n\n");
        private static final byte[] USAGE = JsonBytes.ascii(",\"choices\":[],\"usage\":{\"prompt_tokens\":");
        private static final byte[] COMPLETION_TOKENS = JsonBytes.ascii(",\"completion_tokens\":");
        private static final byte[] TOTAL_TOKENS = JsonBytes.ascii(",\"total_tokens\":");
        private static final byte[] CACHED_TOKENS = JsonBytes.ascii(",\"prompt_tokens_details\":{\"cached_tokens\":");
        private static final byte[] REASONING_TOKENS = JsonBytes.ascii("},\"completion_tokens_details\":{\"reasoning_tokens\":");
        private static final byte[] USAGE_END = JsonBytes.ascii("}}}\n\n");

        private final String model;
        private final boolean includeUsage;
        private final long created = nowSeconds();
        private final JsonBytes out = new JsonBytes(256);
        private String id;
        /** What every chunk starts with, {@code data: {"id":...,"model":...,}}, fixed once the first is written. */
        private byte[] head;
        private boolean roleSent;

        Encoder(String model, boolean includeUsage) {
            this.model = model;
            this.includeUsage = includeUsage;
        }

        @Override
        public byte[] encode(StreamEvent event) {
            if (event instanceof StreamEvent.Started s) {
                if (id == null && s.id() != null && !s.id().isEmpty()) id = s.id();
                if (roleSent) return EMPTY;
                out.reset();
                roleChunk();
                return out.toByteArray();
            }
            if (event instanceof StreamEvent.UsageReport u) {
                // Carapace always asks the upstream for usage; the client only sees it when it asked too.
                if (!includeUsage) return EMPTY;
                Usage usage = u.usage();
                out.reset().raw(head()).raw(USAGE).number(usage.inputTokens())
                        .raw(COMPLETION_TOKENS).number(usage.outputTokens())
                        .raw(TOTAL_TOKENS).number(usage.inputTokens() + usage.outputTokens())
                        .raw(CACHED_TOKENS).number(usage.cachedInputTokens())
                        .raw(REASONING_TOKENS).number(usage.reasoningTokens()).raw(USAGE_END);
                return out.toByteArray();
            }
            if (event instanceof StreamEvent.ReasoningDelta) return EMPTY;   // see StreamEvent.ReasoningDelta
            if (event instanceof StreamEvent.Frame) return EMPTY;            // for a relay's encoder
            out.reset();
            // Clients key on the first delta's role; if the upstream skipped Started, supply it here.
            if (!roleSent) roleChunk();
            out.raw(head()).raw(DELTA);
            switch (event) {
                case StreamEvent.TextDelta t -> out.raw(CONTENT).string(t.text()).raw(NOT_FINISHED);
                case StreamEvent.ToolCallStarted t -> out.raw(TOOL_CALL_INDEX).number(t.index())
                        .raw(ID).string(t.id()).raw(FUNCTION_NAME).string(t.name()).raw(NO_ARGUMENTS).raw(NOT_FINISHED);
                case StreamEvent.ToolCallDelta t -> out.raw(TOOL_CALL_INDEX).number(t.index())
                        .raw(FUNCTION_ARGUMENTS).string(t.argumentsDelta()).raw(CLOSE_TOOL_CALL).raw(NOT_FINISHED);
                case StreamEvent.Finished f -> out.raw(FINISH_REASON).string(finishName(f.reason())).raw(FINISHED);
                case StreamEvent.Started s -> throw new AssertionError(s);
                case StreamEvent.UsageReport u -> throw new AssertionError(u);
                case StreamEvent.ReasoningDelta r -> throw new AssertionError(r);
                case StreamEvent.Frame f -> throw new AssertionError(f);
            }
            return out.toByteArray();
        }

        @Override
        public byte[] error(ApiException error) {
            return sse(g -> writeError(g, error));
        }

        @Override
        public byte[] end() { return DONE.clone(); }

        private void roleChunk() {
            roleSent = true;
            out.raw(head()).raw(DELTA).raw(ROLE).raw(NOT_FINISHED);
        }

        private byte[] head() {
            if (head == null) {
                if (id == null) id = newId("chatcmpl-");
                head = new JsonBytes(128).raw(DATA_PREFIX).raw(ID_FIELD).string(id).raw(OBJECT_CREATED).number(created)
                        .raw(MODEL).string(model).toByteArray();
            }
            return head;
        }
    }

    // =====================================================================================================
    // Upstream side: requests
    // =====================================================================================================

    @Override
    public byte[] upstreamRequest(ChatRequest r, String upstreamModel, int defaultMaxTokens) {
        if (r.relaysTo(WireApi.OPENAI)) return relayedRequest(r, upstreamModel);
        Translation.check(r, WireApi.OPENAI);
        // Another API's own parameters (Anthropic's thinking, context_management, ...) are left out, and named to the
        // client (see #dropped); a Responses request's own ones are mapped to their Chat Completions spelling.
        ChatRequest.Passthrough pt = switch (r.passthrough().api()) {
            case OPENAI -> r.passthrough();
            case RESPONSES -> ResponsesFormat.chatPassthrough(r.passthrough());
            case null, default -> ChatRequest.Passthrough.NONE;
        };
        // defaultMaxTokens is unused: OpenAI-compatible servers need no limit and pick their own default.
        return json(g -> {
            g.writeStartObject();
            g.writeStringField("model", upstreamModel);
            g.writeArrayFieldStart("messages");
            for (Message m : r.messages()) writeUpstreamMessage(g, m);
            g.writeEndArray();
            // OpenAI refuses tool_choice and parallel_tool_calls without tools; requests translated from
            // Anthropic can carry them anyway, so they follow the tools.
            if (!r.tools().isEmpty()) {
                g.writeArrayFieldStart("tools");
                for (Tool t : r.tools()) writeTool(g, t);
                g.writeEndArray();
                if (r.toolChoice() != null) writeToolChoice(g, r.toolChoice());
                if (r.parallelToolCalls() != null) g.writeBooleanField("parallel_tool_calls", r.parallelToolCalls());
            }
            // max_tokens rather than max_completion_tokens: every compatible server (vLLM, Ollama, llama.cpp) knows it.
            if (r.maxTokens() != null) g.writeNumberField("max_tokens", r.maxTokens());
            if (r.temperature() != null) g.writeNumberField("temperature", r.temperature());
            if (r.topP() != null) g.writeNumberField("top_p", r.topP());
            if (!r.stop().isEmpty()) {
                g.writeArrayFieldStart("stop");
                for (String s : r.stop()) g.writeString(s);
                g.writeEndArray();
            }
            if (r.user() != null) g.writeStringField("user", r.user());
            if (r.stream()) {
                g.writeBooleanField("stream", true);
                // Always: usage is billed whether or not the client asked to see it.
                g.writeObjectFieldStart("stream_options");
                g.writeBooleanField("include_usage", true);
                g.writeEndObject();
            }
            if (!pt.isEmpty()) {
                for (Map.Entry<String, JsonNode> f : pt.fields().properties()) {
                    g.writeFieldName(f.getKey());
                    g.writeTree(f.getValue());
                }
            }
            g.writeEndObject();
        });
    }

    /**
     * The client's own request, every field as it came but the model, the output limit (set by Carapace when the
     * client set none, under the client's own key when it set one) and, when streaming, the usage report, which
     * Carapace always asks for.
     */
    private static byte[] relayedRequest(ChatRequest r, String upstreamModel) {
        ObjectNode body = r.original().body();
        byte[][] values = new byte[RELAY_KEYS.length][];
        values[0] = new JsonBytes(upstreamModel.length() + 2).string(upstreamModel).toByteArray();
        if (r.maxTokens() != null) {
            JsonNode completion = body.get("max_completion_tokens");
            values[completion != null && !completion.isNull() ? 2 : 1] = JsonBytes.ascii(r.maxTokens().toString());
        }
        if (r.stream() && !body.path("stream_options").path("include_usage").asBoolean(false)) {
            ObjectNode options = body.get("stream_options") instanceof ObjectNode o ? o.deepCopy() : MAPPER.createObjectNode();
            values[3] = json(g -> g.writeTree(options.put("include_usage", true)));
        }
        return r.original().withTopLevel(RELAY_KEYS, values);
    }

    private static final byte[][] RELAY_KEYS = JsonSplice.path("model", "max_tokens", "max_completion_tokens", "stream_options");

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

    private static void writeUpstreamMessage(JsonGenerator g, Message m) throws IOException {
        if (hasReasoning(m)) {
            List<Part> shown = new ArrayList<>(m.content().size());
            for (Part p : m.content()) if (!(p instanceof Part.Reasoning)) shown.add(p);
            m = new Message(m.role(), shown, m.toolCalls(), m.toolCallId(), m.toolError());
        }
        g.writeStartObject();
        switch (m.role()) {
            case SYSTEM -> {
                g.writeStringField("role", "system");
                writeContent(g, m.content());
            }
            case USER -> {
                g.writeStringField("role", "user");
                writeContent(g, m.content());
            }
            case ASSISTANT -> {
                g.writeStringField("role", "assistant");
                if (m.content().isEmpty() && !m.toolCalls().isEmpty()) g.writeNullField("content");
                else writeContent(g, m.content());
                writeToolCalls(g, m.toolCalls());
            }
            case TOOL -> {
                // OpenAI has no error flag on tool results; the text itself says what went wrong.
                g.writeStringField("role", "tool");
                g.writeStringField("tool_call_id", m.toolCallId());
                writeContent(g, m.content());
            }
        }
        g.writeEndObject();
    }

    private static boolean hasReasoning(Message m) {
        for (Part p : m.content()) if (p instanceof Part.Reasoning) return true;
        return false;
    }

    /** A lone text part as a plain string (which every compatible server accepts), anything else as parts. */
    private static void writeContent(JsonGenerator g, List<Part> content) throws IOException {
        if (content.isEmpty()) {
            g.writeStringField("content", "");
            return;
        }
        if (content.size() == 1 && content.get(0) instanceof Part.Text t) {
            g.writeStringField("content", t.text());
            return;
        }
        g.writeArrayFieldStart("content");
        for (Part p : content) {
            g.writeStartObject();
            switch (p) {
                case Part.Text t -> {
                    g.writeStringField("type", "text");
                    g.writeStringField("text", t.text());
                }
                case Part.Image img -> {
                    g.writeStringField("type", "image_url");
                    g.writeObjectFieldStart("image_url");
                    g.writeStringField("url", img.url() != null ? img.url()
                            : "data:" + img.mediaType() + ";base64," + img.data());
                    g.writeEndObject();
                }
                case Part.Reasoning th -> throw new IllegalStateException("reasoning is left out before this");
            }
            g.writeEndObject();
        }
        g.writeEndArray();
    }

    private static void writeTool(JsonGenerator g, Tool t) throws IOException {
        g.writeStartObject();
        g.writeStringField("type", "function");
        g.writeObjectFieldStart("function");
        g.writeStringField("name", t.name());
        if (t.description() != null) g.writeStringField("description", t.description());
        if (t.parameters() != null) {
            g.writeFieldName("parameters");
            g.writeTree(t.parameters());
        }
        g.writeEndObject();
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
                g.writeObjectFieldStart("function");
                g.writeStringField("name", c.name());
                g.writeEndObject();
                g.writeEndObject();
            }
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
    private static FinishReason mapFinish(String reason, boolean sawToolCalls) {
        FinishReason r = reason == null ? FinishReason.STOP : switch (reason) {
            case "length", "max_tokens" -> FinishReason.LENGTH;
            case "tool_calls", "function_call" -> FinishReason.TOOL_CALLS;
            case "content_filter" -> FinishReason.CONTENT_FILTER;
            default -> FinishReason.STOP;
        };
        return r == FinishReason.STOP && sawToolCalls ? FinishReason.TOOL_CALLS : r;
    }

    @Override
    public StreamDecoder streamDecoder() { return new Decoder(); }

    @Override
    public StreamDecoder relayDecoder(boolean everyFrame) { return OpenAiRelay.decoder(everyFrame); }

    @Override
    public ChatResponse relayedResponse(byte[] body) { return OpenAiRelay.answer(body, this); }

    @Override
    public StreamEncoder relayEncoder(ChatRequest request, String model) {
        return new OpenAiRelay.Encoder(model, request.includeUsage());
    }

    /**
     * Turns one upstream SSE stream back into neutral events, coping with the differences between servers: tool
     * call names arriving after their ids, ids repeated or reused, usage on the finish chunk or on every chunk,
     * and no finish_reason before {@code [DONE]}.
     */
    static final class Decoder implements StreamDecoder {
        /** One tool call being streamed; {@code index} stays -1 until its name is known and it has been announced. */
        private static final class Call {
            String id, name;
            int index = -1;
            StringBuilder pendingArguments;
        }

        private final Map<Integer, Call> byUpstreamIndex = new HashMap<>();
        private Call lastCall;
        private int announcedCalls;
        private boolean started, finished, done, usageReported;
        private Usage latestUsage;

        @Override
        public boolean done() { return done; }

        @Override
        public void decode(String event, String data, StreamSink sink) {
            if (done || data == null) return;
            String payload = data.strip();
            if (payload.isEmpty()) return;
            if (payload.equals("[DONE]")) {
                done = true;
                if (started && !finished) finish(null, sink);
                if (latestUsage != null && !usageReported) reportUsage(sink);
                return;
            }
            if ("error".equals(event)) throw upstreamFailure(lenientJson(payload));
            byte[] json = payload.getBytes(StandardCharsets.UTF_8);
            OpenAiChunk chunk = OpenAiChunk.read(JSON_FACTORY, json, !started);
            if (chunk == null) chunk = OpenAiChunk.of(chunkTree(json));   // whatever the fast reading left
            if (!started) {
                started = true;
                sink.accept(new StreamEvent.Started(chunk.id == null || chunk.id.isEmpty() ? newId("chatcmpl-") : chunk.id,
                        chunk.model));
            }
            for (OpenAiChunk.Choice choice : chunk.choices) decodeChoice(choice, sink);
            if (chunk.usage != null) {
                latestUsage = chunk.usage;
                // Usage before the finish (vLLM's continuous stats) is partial; the report waits for the end.
                if (finished && !usageReported) reportUsage(sink);
            }
        }

        private static JsonNode chunkTree(byte[] json) {
            JsonNode chunk = readUpstream(json);
            if (isErrorBody(chunk)) throw upstreamFailure(chunk);
            if (!chunk.isObject()) throw invalidUpstream("a stream chunk is not a JSON object");
            return chunk;
        }

        private void decodeChoice(OpenAiChunk.Choice choice, StreamSink sink) {
            if (choice.delta && !finished) {
                if (choice.reasoning != null && !choice.reasoning.isEmpty()) {
                    sink.accept(new StreamEvent.ReasoningDelta(choice.reasoning));
                }
                if (choice.content != null && !choice.content.isEmpty()) sink.accept(new StreamEvent.TextDelta(choice.content));
                if (choice.toolCalls != null) {
                    for (OpenAiChunk.ToolEntry call : choice.toolCalls) decodeToolCall(call, sink);
                }
            }
            if (choice.finishReason != null && !finished) finish(choice.finishReason, sink);
        }

        private void decodeToolCall(OpenAiChunk.ToolEntry entry, StreamSink sink) {
            String id = nonEmpty(entry.id());
            String name = nonEmpty(entry.name());
            String args = entry.arguments();
            Call call = callFor(entry.index(), id);
            if (call.id == null) call.id = id;
            if (call.name == null) call.name = name;
            if (call.index < 0) {
                if (call.name == null) {
                    // Cannot announce a call without its name; hold its arguments until the name comes.
                    if (args != null) {
                        if (call.pendingArguments == null) call.pendingArguments = new StringBuilder();
                        call.pendingArguments.append(args);
                    }
                    return;
                }
                call.index = announcedCalls++;
                if (call.id == null) call.id = newId("call_");
                sink.accept(new StreamEvent.ToolCallStarted(call.index, call.id, call.name));
                if (call.pendingArguments != null && !call.pendingArguments.isEmpty()) {
                    sink.accept(new StreamEvent.ToolCallDelta(call.index, call.pendingArguments.toString()));
                }
                call.pendingArguments = null;
            }
            if (args != null && !args.isEmpty()) sink.accept(new StreamEvent.ToolCallDelta(call.index, args));
        }

        /**
         * Finds the call an entry continues. Normally the upstream index says; but some servers give every call
         * index 0 and tell them apart only by id, and some omit the index, so a new id always opens a new call.
         */
        private Call callFor(Integer index, String id) {
            Call call;
            if (index != null) {
                call = byUpstreamIndex.get(index);
                if (call == null || (id != null && call.id != null && !id.equals(call.id))) {
                    call = new Call();
                    byUpstreamIndex.put(index, call);
                }
            } else {
                call = lastCall;
                if (call == null || (id != null && call.id != null && !id.equals(call.id))) call = new Call();
            }
            lastCall = call;
            return call;
        }

        private void finish(String reason, StreamSink sink) {
            finished = true;
            sink.accept(new StreamEvent.Finished(mapFinish(reason, announcedCalls > 0)));
        }

        private void reportUsage(StreamSink sink) {
            usageReported = true;
            sink.accept(new StreamEvent.UsageReport(latestUsage));
        }

        private static String nonEmpty(String s) {
            return s != null && !s.isEmpty() ? s : null;
        }
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
            String raw = new String(body, 0, Math.min(body.length, 4 * UPSTREAM_MESSAGE_LIMIT), StandardCharsets.UTF_8);
            msg = raw.stripLeading().startsWith("<") ? null : raw;
        }
        return msg == null ? null : sanitize(msg);
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
    private static JsonNode lenientJson(String payload) {
        try {
            return MAPPER.readTree(payload);
        } catch (IOException e) {
            return MAPPER.getNodeFactory().textNode(payload);
        }
    }

    private static boolean isErrorBody(JsonNode n) {
        JsonNode err = n.get("error");
        return (err != null && !err.isNull()) || "error".equals(n.path("object").textValue());
    }

    private static ApiException upstreamFailure(JsonNode n) {
        String msg = errorMessageOf(n);
        return ApiException.of(Kind.UPSTREAM, "upstream_error",
                "upstream error: " + (msg == null ? "no message" : sanitize(msg)));
    }

    /** An upstream's error message made fit for a client: one line, at most 300 characters, anything like a key masked. */
    public static String sanitize(String msg) {
        String s = SECRET.matcher(msg.strip().replaceAll("\\s+", " ")).replaceAll("$1-***");
        return s.length() <= UPSTREAM_MESSAGE_LIMIT ? s : s.substring(0, UPSTREAM_MESSAGE_LIMIT) + "...";
    }

    static JsonNode readUpstream(byte[] body) {
        try {
            JsonNode n = body == null ? null : MAPPER.readTree(body);
            if (n == null || n.isMissingNode()) throw invalidUpstream("empty body");
            return n;
        } catch (IOException e) {
            throw invalidUpstream("not valid JSON: " + jsonProblem(e));
        }
    }

    private static ApiException invalidUpstream(String why) {
        return ApiException.of(Kind.UPSTREAM, "upstream_invalid_response",
                "the upstream sent an invalid Chat Completions response: " + why);
    }

    // =====================================================================================================
    // Plumbing
    // =====================================================================================================

    @FunctionalInterface
    private interface JsonBody {
        void write(JsonGenerator g) throws IOException;
    }

    private static byte[] json(JsonBody body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(512);
        writeJson(out, body);
        return out.toByteArray();
    }

    private static byte[] sse(JsonBody body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        out.writeBytes(DATA_PREFIX);
        writeJson(out, body);
        out.writeBytes(FRAME_END);
        return out.toByteArray();
    }

    private static void writeJson(ByteArrayOutputStream out, JsonBody body) {
        try (JsonGenerator g = MAPPER.createGenerator(out)) {
            body.write(g);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // in-memory output: only a bug gets here
        }
    }

    private static long nowSeconds() { return System.currentTimeMillis() / 1000; }

    private static final char[] ID_CHARS =
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".toCharArray();

    private static String newId(String prefix) {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        StringBuilder sb = new StringBuilder(prefix.length() + 24).append(prefix);
        for (int i = 0; i < 24; i++) sb.append(ID_CHARS[random.nextInt(ID_CHARS.length)]);
        return sb.toString();
    }

    /** {@code "tool_calls": [...]} as both the API's answers and its assistant messages carry it; nothing if none. */
    private static void writeToolCalls(JsonGenerator g, List<ToolCall> calls) throws IOException {
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
