package dev.carapace.model.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.model.ApiException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static dev.carapace.model.openai.TestJson.bytes;
import static dev.carapace.model.openai.TestJson.parseError;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/** Every way a request body can be wrong gets an INVALID_REQUEST that names the field and says what to send. */
class OpenAiRequestValidationTest {

    private final OpenAiFormat format = new OpenAiFormat();

    private static final String USER_HI = "{\"role\": \"user\", \"content\": \"hi\"}";
    private static final String TOOL_F = "{\"type\": \"function\", \"function\": {\"name\": \"f\"}}";

    /** A valid request with {@code extra} (a fragment like {@code "n": 2}) added at the top level. */
    private static String with(String extra) {
        return "{\"model\": \"m\", \"messages\": [" + USER_HI + "], " + extra + "}";
    }

    /** A valid request whose messages are {@code messages} (the inside of the array). */
    private static String messages(String messages) {
        return "{\"model\": \"m\", \"messages\": [" + messages + "]}";
    }

    static Stream<Arguments> malformed() {
        return Stream.of(
                // body-level problems: no param
                arguments("truncated JSON", "{\"model\": \"m\", \"messages\": [", null,
                        List.of("Request body is not valid JSON", "line 1, column")),
                arguments("trailing garbage", with("\"n\": 1") + " {}", null, List.of("not valid JSON")),
                arguments("single quotes", "{'model': 'm'}", null, List.of("not valid JSON", "column 2")),
                arguments("empty body", "", null, List.of("empty")),
                arguments("array body", "[1, 2]", null, List.of("must be a JSON object", "got an array")),
                arguments("string body", "\"hello\"", null, List.of("must be a JSON object", "got 'hello'")),
                arguments("nesting depth 10000", "{\"model\": \"m\", \"seed\": " + "[".repeat(10_000)
                        + "]".repeat(10_000) + "}", null, List.of("not valid JSON", "nesting depth", "64")),
                arguments("2000-digit number", with("\"seed\": " + "9".repeat(2000)), null,
                        List.of("not valid JSON", "Number value length")),
                // top-level fields
                arguments("deprecated functions", with("\"functions\": []"), "functions", List.of("use tools")),
                arguments("n=2", with("\"n\": 2"), "n", List.of("only n=1", "got 2")),
                arguments("model missing", "{\"messages\": [" + USER_HI + "]}", "model", List.of("missing")),
                arguments("model a number", "{\"model\": 4, \"messages\": [" + USER_HI + "]}", "model",
                        List.of("expected a string", "got 4")),
                arguments("messages missing", "{\"model\": \"m\"}", "messages", List.of("missing")),
                arguments("messages empty", "{\"model\": \"m\", \"messages\": []}", "messages",
                        List.of("at least one message")),
                arguments("messages an object", "{\"model\": \"m\", \"messages\": {}}", "messages",
                        List.of("expected a non-empty array", "got an object")),
                arguments("temperature 3", with("\"temperature\": 3"), "temperature",
                        List.of("from 0 to 2", "got 3")),
                arguments("temperature 1e400", with("\"temperature\": 1e400"), "temperature",
                        List.of("from 0 to 2")),
                arguments("temperature a string", with("\"temperature\": \"hot\""), "temperature",
                        List.of("a number", "got 'hot'")),
                arguments("top_p negative", with("\"top_p\": -0.1"), "top_p", List.of("from 0 to 1", "got -0.1")),
                arguments("max_tokens zero", with("\"max_tokens\": 0"), "max_tokens",
                        List.of("positive integer", "got 0")),
                arguments("max_tokens fractional", with("\"max_tokens\": 1.5"), "max_tokens",
                        List.of("positive integer")),
                arguments("max_tokens beyond int", with("\"max_tokens\": 99999999999"), "max_tokens",
                        List.of("positive integer")),
                arguments("max_completion_tokens a string", with("\"max_completion_tokens\": \"100\""),
                        "max_completion_tokens", List.of("positive integer", "got '100'")),
                arguments("conflicting token limits", with("\"max_tokens\": 10, \"max_completion_tokens\": 20"),
                        "max_completion_tokens", List.of("set only one")),
                arguments("five stop sequences", with("\"stop\": [\"a\",\"b\",\"c\",\"d\",\"e\"]"), "stop",
                        List.of("at most 4", "got 5")),
                arguments("stop a number", with("\"stop\": 7"), "stop", List.of("a string or an array")),
                arguments("stop element not a string", with("\"stop\": [\"a\", 1]"), "stop[1]",
                        List.of("expected a string")),
                arguments("stream a string", with("\"stream\": \"yes\""), "stream", List.of("true or false")),
                arguments("stream_options without stream", with("\"stream_options\": {\"include_usage\": true}"),
                        "stream_options", List.of("only allowed when stream is true")),
                arguments("stream_options unknown key",
                        with("\"stream\": true, \"stream_options\": {\"include_usag\": true}"),
                        "stream_options.include_usag", List.of("unrecognized")),
                arguments("parallel_tool_calls a number", with("\"parallel_tool_calls\": 1"), "parallel_tool_calls",
                        List.of("true or false")),
                arguments("user an object", with("\"user\": {}"), "user", List.of("a string", "got an object")),
                // messages
                arguments("bad role", messages(USER_HI + ", {\"role\": \"robot\", \"content\": \"beep\"}"),
                        "messages[1].role", List.of("messages[1].role: expected one of system, developer, user, "
                                + "assistant, tool; got 'robot'")),
                arguments("role missing", messages("{\"content\": \"x\"}"), "messages[0].role", List.of("missing")),
                arguments("message not an object", messages("\"hi\""), "messages[0]",
                        List.of("a message object", "got 'hi'")),
                arguments("user content missing", messages("{\"role\": \"user\"}"), "messages[0].content",
                        List.of("missing", "a string or an array of content parts")),
                arguments("user content a number", messages("{\"role\": \"user\", \"content\": 5}"),
                        "messages[0].content", List.of("got 5")),
                arguments("unsupported part type", messages("{\"role\": \"user\", \"content\": [{\"type\": "
                        + "\"input_audio\", \"input_audio\": {}}]}"), "messages[0].content[0].type",
                        List.of("unsupported content part type 'input_audio'", "text or image_url")),
                arguments("image in a system message", messages("{\"role\": \"system\", \"content\": [{\"type\": "
                                + "\"image_url\", \"image_url\": {\"url\": \"https://x/y.png\"}}]}, " + USER_HI),
                        "messages[0].content[0].type", List.of("system messages may only contain text")),
                arguments("image without url", messages("{\"role\": \"user\", \"content\": [{\"type\": "
                        + "\"image_url\", \"image_url\": {}}]}"), "messages[0].content[0].image_url.url",
                        List.of("missing")),
                arguments("text part without text", messages("{\"role\": \"user\", \"content\": [{\"type\": "
                        + "\"text\"}]}"), "messages[0].content[0].text", List.of("missing")),
                arguments("assistant with neither content nor tool_calls", messages(USER_HI
                        + ", {\"role\": \"assistant\"}"), "messages[1].content", List.of("content or tool_calls")),
                arguments("tool_calls on a user message", messages("{\"role\": \"user\", \"content\": \"x\", "
                        + "\"tool_calls\": []}"), "messages[0].tool_calls", List.of("only assistant messages")),
                arguments("tool call arguments as an object", messages(USER_HI + ", {\"role\": \"assistant\", "
                                + "\"tool_calls\": [{\"id\": \"c1\", \"type\": \"function\", \"function\": "
                                + "{\"name\": \"f\", \"arguments\": {\"a\": 1}}}]}"),
                        "messages[1].tool_calls[0].function.arguments",
                        List.of("a string holding the JSON arguments", "got an object")),
                arguments("tool call without id", messages(USER_HI + ", {\"role\": \"assistant\", \"tool_calls\": "
                                + "[{\"type\": \"function\", \"function\": {\"name\": \"f\", \"arguments\": \"{}\"}}]}"),
                        "messages[1].tool_calls[0].id", List.of("missing")),
                arguments("tool message missing tool_call_id", messages(USER_HI + ", {\"role\": \"assistant\", "
                                + "\"content\": \"ok\"}, {\"role\": \"tool\", \"content\": \"42\"}"),
                        "messages[2].tool_call_id", List.of("missing", "must name the tool call")),
                // tools
                arguments("tools an object", with("\"tools\": {}"), "tools", List.of("an array of tools")),
                arguments("tool type retrieval", with("\"tools\": [{\"type\": \"retrieval\"}]"), "tools[0].type",
                        List.of("'function'", "got 'retrieval'")),
                arguments("tool without function", with("\"tools\": [{\"type\": \"function\"}]"),
                        "tools[0].function", List.of("missing")),
                arguments("tool name with a space", with("\"tools\": [{\"type\": \"function\", \"function\": "
                        + "{\"name\": \"get weather\"}}]"), "tools[0].function.name",
                        List.of("1 to 64 characters", "got 'get weather'")),
                arguments("tool name of 65 characters", with("\"tools\": [{\"type\": \"function\", \"function\": "
                        + "{\"name\": \"" + "a".repeat(65) + "\"}}]"), "tools[0].function.name",
                        List.of("1 to 64 characters")),
                arguments("invalid tool schema: string type", with("\"tools\": [" + TOOL_F + ", {\"type\": "
                                + "\"function\", \"function\": {\"name\": \"g\", \"parameters\": {\"type\": \"string\"}}}]"),
                        "tools[1].function.parameters", List.of("invalid tool schema", "\"type\" must be \"object\"",
                                "got 'string'")),
                arguments("invalid tool schema: not an object", with("\"tools\": [{\"type\": \"function\", "
                                + "\"function\": {\"name\": \"g\", \"parameters\": [1]}}]"),
                        "tools[0].function.parameters", List.of("invalid tool schema", "got an array")),
                arguments("misspelt parameters", with("\"tools\": [{\"type\": \"function\", \"function\": "
                                + "{\"name\": \"g\", \"parameter\": {}}}]"), "tools[0].function.parameter",
                        List.of("unrecognized field")),
                arguments("duplicate tool names", with("\"tools\": [" + TOOL_F + ", " + TOOL_F + "]"),
                        "tools[1].function.name", List.of("duplicate tool name 'f'")),
                // tool_choice
                arguments("tool_choice unknown string", with("\"tools\": [" + TOOL_F + "], \"tool_choice\": \"any\""),
                        "tool_choice", List.of("'auto', 'none', 'required'", "got 'any'")),
                arguments("tool_choice names an absent tool", with("\"tools\": [" + TOOL_F + "], \"tool_choice\": "
                                + "{\"type\": \"function\", \"function\": {\"name\": \"g\"}}"),
                        "tool_choice.function.name", List.of("no tool named 'g'")),
                arguments("tool_choice required without tools", with("\"tool_choice\": \"required\""),
                        "tool_choice", List.of("at least one tool")),
                arguments("tool_choice of another type", with("\"tools\": [" + TOOL_F + "], \"tool_choice\": "
                        + "{\"type\": \"allowed_tools\"}"), "tool_choice.type", List.of("'function'")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformed")
    void namesTheParamAndSaysWhatIsExpected(String name, String body, String param, List<String> phrases) {
        ApiException e = parseError(format, body);
        assertThat(e.kind()).isEqualTo(ApiException.Kind.INVALID_REQUEST);
        assertThat(e.retryable()).isFalse();
        assertThat(e.param()).isEqualTo(param);
        assertThat(e.getMessage()).contains(phrases);
        if (param != null) assertThat(e.getMessage()).startsWith(param.equals("frobnicate") ? "Unrecognized" : param);
        assertThat(e.getMessage()).hasSizeLessThan(300).doesNotContain("Source:").doesNotContain("`");
        // The rendered body carries the same param, so SDKs can show it.
        assertThat(TestJson.tree(format.renderError(e)).path("error").path("param").textValue()).isEqualTo(param);
    }

    @Test
    void neverEchoesHugeInputBack() {
        ApiException unknown = parseError(format, with("\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"g\", \""
                + "k".repeat(10_000) + "\": 1}}]"));
        assertThat(unknown.getMessage()).hasSizeLessThan(160);
        assertThat(unknown.param()).hasSizeLessThan(80);

        // Beyond Jackson's name length limit it is a JSON error, still short.
        ApiException tooLongKey = parseError(format, with("\"" + "k".repeat(100_000) + "\": 1"));
        assertThat(tooLongKey.param()).isNull();
        assertThat(tooLongKey.getMessage()).startsWith("Request body is not valid JSON").hasSizeLessThan(300);

        ApiException badToken = parseError(format, "{\"model\": " + "x".repeat(100_000) + "}");
        assertThat(badToken.getMessage()).hasSizeLessThan(300).contains("xxx...");

        ApiException badRole = parseError(format, messages("{\"role\": \"" + "r".repeat(10_000) + "\"}"));
        assertThat(badRole.getMessage()).hasSizeLessThan(200);
    }

    /**
     * Whatever a client sends, parsing ends in a request or an ApiException: never another exception. Every
     * prefix of a rich body, and every value in it swapped for every JSON kind, is tried.
     */
    @Test
    void arbitraryCorruptionOnlyEverYieldsApiExceptions() {
        String valid = """
                {"model": "m", "messages": [
                  {"role": "system", "content": [{"type": "text", "text": "s"}]},
                  {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/a.png"}}]},
                  {"role": "assistant", "content": null, "tool_calls": [{"id": "c", "type": "function",
                    "function": {"name": "f", "arguments": "{}"}}]},
                  {"role": "tool", "tool_call_id": "c", "content": "r"}],
                 "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
                 "tool_choice": {"type": "function", "function": {"name": "f"}}, "stop": ["x"], "temperature": 1,
                 "stream": true, "stream_options": {"include_usage": true}, "max_tokens": 5, "seed": 1}""";
        format.parseRequest(bytes(valid)); // the baseline is valid

        int attempts = 0;
        for (int i = 0; i < valid.length(); i++) {
            tryParse(valid.substring(0, i));
            attempts++;
        }
        ObjectNode root = (ObjectNode) TestJson.tree(valid);
        List<JsonNode> replacements = List.of(TestJson.tree("null"), TestJson.tree("-1"), TestJson.tree("1e400"),
                TestJson.tree("\"\""), TestJson.tree("[]"), TestJson.tree("{}"), TestJson.tree("true"),
                TestJson.tree("123456789012345678901234567890"), TestJson.tree("[[[[1]]]]"));
        for (Runnable mutation : mutations(root, root, replacements)) {
            mutation.run();
            attempts++;
        }
        assertThat(attempts).isGreaterThan(1000);
    }

    /** For each value in the tree and each replacement: set it, parse the whole, restore it. */
    private List<Runnable> mutations(ObjectNode root, JsonNode node, List<JsonNode> replacements) {
        List<Runnable> out = new ArrayList<>();
        if (node instanceof ObjectNode obj) {
            for (String field : iterable(obj)) {
                JsonNode original = obj.get(field);
                for (JsonNode r : replacements) {
                    out.add(() -> {
                        obj.set(field, r);
                        tryParse(root.toString());
                        obj.set(field, original);
                    });
                }
                out.addAll(mutations(root, original, replacements));
            }
        } else if (node instanceof ArrayNode arr) {
            for (int i = 0; i < arr.size(); i++) {
                int index = i;
                JsonNode original = arr.get(i);
                for (JsonNode r : replacements) {
                    out.add(() -> {
                        arr.set(index, r);
                        tryParse(root.toString());
                        arr.set(index, original);
                    });
                }
                out.addAll(mutations(root, original, replacements));
            }
        }
        return out;
    }

    private static List<String> iterable(ObjectNode obj) {
        List<String> names = new ArrayList<>();
        obj.fieldNames().forEachRemaining(names::add);
        return names;
    }

    private void tryParse(String body) {
        try {
            format.parseRequest(bytes(body));
        } catch (ApiException e) {
            assertThat(e.kind()).isEqualTo(ApiException.Kind.INVALID_REQUEST);
            assertThat(e.getMessage()).isNotBlank();
        }
    }
}
