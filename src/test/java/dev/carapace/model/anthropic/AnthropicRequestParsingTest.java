package dev.carapace.model.anthropic;

import dev.carapace.model.ApiException;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.Message;
import dev.carapace.model.Part;
import dev.carapace.model.Role;
import dev.carapace.model.ToolCall;
import dev.carapace.model.ToolChoice;
import dev.carapace.model.WireApi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class AnthropicRequestParsingTest {

    private final AnthropicFormat format = new AnthropicFormat();

    /** A valid request with {@code extra} spliced in as further top-level keys. */
    private static String body(String extra) {
        return "{\"model\":\"claude-x\",\"max_tokens\":100,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]"
                + (extra.isEmpty() ? "" : "," + extra) + "}";
    }

    /** A request whose messages array is {@code messages}. */
    private static String withMessages(String messages) {
        return "{\"model\":\"claude-x\",\"max_tokens\":100,\"messages\":" + messages + "}";
    }

    private static final String TOOL_USE_TURN =
            "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"f\",\"input\":{}}]}";

    static Stream<Arguments> malformed() {
        return Stream.of(
                Arguments.of("truncated JSON", "{\"model\":\"claude-x\",\"max_tokens\":", null,
                        "Request body is not valid JSON: "),
                Arguments.of("trailing garbage", body("") + " x", null, "Request body is not valid JSON: "),
                Arguments.of("empty body", "", null, "Request body is empty"),
                Arguments.of("not an object", "[1,2]", null, "must be a JSON object, got an array"),
                Arguments.of("missing model",
                        "{\"max_tokens\":1,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                        "model", "model: Field required"),
                Arguments.of("missing max_tokens",
                        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                        "max_tokens", "max_tokens: Field required; expected a positive integer"),
                Arguments.of("max_tokens as string", body("").replace("100", "\"100\""),
                        "max_tokens", "max_tokens: expected a positive integer (at most 2147483647), got '100'"),
                Arguments.of("max_tokens zero", body("").replace("100", "0"), "max_tokens", "got 0"),
                Arguments.of("max_tokens fractional", body("").replace("100", "1.5"), "max_tokens", "got 1.5"),
                Arguments.of("max_tokens too large", body("").replace("100", "99999999999"), "max_tokens",
                        "positive integer"),
                Arguments.of("missing messages", "{\"model\":\"m\",\"max_tokens\":1}", "messages",
                        "messages: Field required"),
                Arguments.of("messages is an object", withMessages("{}"), "messages",
                        "messages: expected a non-empty array of messages, got an object"),
                Arguments.of("messages empty", withMessages("[]"), "messages", "at least one message"),
                Arguments.of("unknown role", withMessages("[{\"role\":\"robot\",\"content\":\"x\"}]"),
                        "messages[0].role", "expected 'user', 'assistant' or 'system', got 'robot'"),
                Arguments.of("image in a system message", withMessages("[{\"role\":\"system\",\"content\":"
                                + "[{\"type\":\"image\",\"source\":{}}]}]"),
                        "messages[0].content[0].type", "system messages may only hold text blocks, got 'image'"),
                Arguments.of("role missing", withMessages("[{\"content\":\"x\"}]"), "messages[0].role",
                        "Field required"),
                Arguments.of("content a number", withMessages("[{\"role\":\"user\",\"content\":5}]"),
                        "messages[0].content", "expected a string or an array of content blocks, got 5"),
                Arguments.of("text block without text",
                        withMessages("[{\"role\":\"user\",\"content\":[{\"type\":\"text\"}]}]"),
                        "messages[0].content[0].text", "Field required"),
                Arguments.of("tool_use in a user message",
                        withMessages("[{\"role\":\"user\",\"content\":[{\"type\":\"tool_use\",\"id\":\"a\","
                                + "\"name\":\"f\",\"input\":{}}]}]"),
                        "messages[0].content[0].type", "only appear in assistant messages"),
                Arguments.of("tool_result without tool_use_id",
                        withMessages("[{\"role\":\"user\",\"content\":\"go\"}," + TOOL_USE_TURN + ","
                                + "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"content\":\"42\"}]}]"),
                        "messages[2].content[0].tool_use_id", "messages[2].content[0].tool_use_id: Field required"),
                Arguments.of("tool_use input not an object",
                        withMessages("[{\"role\":\"user\",\"content\":\"go\"},{\"role\":\"assistant\",\"content\":"
                                + "[{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":\"{}\"}]}]"),
                        "messages[1].content[0].input", "expected a JSON object, got '{}'"),
                Arguments.of("image with bad media type",
                        withMessages("[{\"role\":\"user\",\"content\":[{\"type\":\"image\",\"source\":{\"type\":"
                                + "\"base64\",\"media_type\":\"image/bmp\",\"data\":\"AAA\"}}]}]"),
                        "messages[0].content[0].source.media_type", "got 'image/bmp'"),
                Arguments.of("cache_control of unknown type",
                        body("\"system\":[{\"type\":\"text\",\"text\":\"s\",\"cache_control\":{\"type\":\"forever\"}}]"),
                        "system[0].cache_control.type", "expected 'ephemeral', got 'forever'"),
                Arguments.of("system a number", body("\"system\":3"), "system",
                        "expected a string or an array of text blocks"),
                Arguments.of("tool schema without type object",
                        body("\"tools\":[{\"name\":\"f\",\"input_schema\":{\"properties\":{}}}]"),
                        "tools[0].input_schema", "tools[0].input_schema: expected a JSON Schema object with "
                                + "\"type\": \"object\", got an object without \"type\""),
                Arguments.of("tool schema of type array",
                        body("\"tools\":[{\"name\":\"f\",\"input_schema\":{\"type\":\"array\"}}]"),
                        "tools[0].input_schema", "got an object with \"type\": 'array'"),
                Arguments.of("tool schema not an object",
                        body("\"tools\":[{\"name\":\"f\",\"input_schema\":\"object\"}]"),
                        "tools[0].input_schema", "got 'object'"),
                Arguments.of("tool without schema", body("\"tools\":[{\"name\":\"ok\"},{\"name\":\"f\"}]"),
                        "tools[0].input_schema", "got nothing"),
                Arguments.of("server tool without a name",
                        body("\"tools\":[{\"type\":\"web_search_20250305\"}]"),
                        "tools[0].name", "expected a non-empty string, got nothing"),
                Arguments.of("bad tool name",
                        body("\"tools\":[{\"name\":\"my tool\",\"input_schema\":{\"type\":\"object\"}}]"),
                        "tools[0].name", "expected a name matching ^[a-zA-Z0-9_-]{1,64}$, got 'my tool'"),
                Arguments.of("duplicate tool name",
                        body("\"tools\":[{\"name\":\"f\",\"input_schema\":{\"type\":\"object\"}},"
                                + "{\"name\":\"f\",\"input_schema\":{\"type\":\"object\"}}]"),
                        "tools[1].name", "must be unique"),
                Arguments.of("tool_choice tool without name", body("\"tool_choice\":{\"type\":\"tool\"}"),
                        "tool_choice.name", "tool_choice.name: Field required"),
                Arguments.of("tool_choice names an unknown tool",
                        body("\"tools\":[{\"name\":\"f\",\"input_schema\":{\"type\":\"object\"}}],"
                                + "\"tool_choice\":{\"type\":\"tool\",\"name\":\"g\"}"),
                        "tool_choice.name", "'g' is not among the tools"),
                Arguments.of("tool_choice of unknown type", body("\"tool_choice\":{\"type\":\"required\"}"),
                        "tool_choice.type", "expected one of 'auto', 'any', 'tool', 'none', got 'required'"),
                Arguments.of("temperature above 1", body("\"temperature\":1.5"), "temperature",
                        "temperature: 1.5 is out of range; expected a number between 0 and 1"),
                Arguments.of("top_p as string", body("\"top_p\":\"high\""), "top_p", "got 'high'"),
                Arguments.of("stop_sequences with a number", body("\"stop_sequences\":[\"a\",1]"),
                        "stop_sequences[1]", "expected a string, got 1"),
                Arguments.of("stream as string", body("\"stream\":\"yes\""), "stream", "expected a boolean"),
                Arguments.of("negative top_k", body("\"top_k\":-1"), "top_k", "non-negative integer"),
                Arguments.of("thinking without type", body("\"thinking\":{\"budget_tokens\":1024}"),
                        "thinking.type", "Field required"),
                Arguments.of("deep nesting", body("\"thinking\":" + "[".repeat(200) + "]".repeat(200)), null,
                        "nesting depth (65) exceeds the maximum allowed (64)"),
                // once named as deep nesting: every limit of the reader was reported as that one
                Arguments.of("a 1,500-digit number", body("\"temperature\":0." + "1".repeat(1500)), null,
                        "Number value length"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformed")
    void refusesMalformedRequests(String name, String body, String param, String message) {
        ApiException e = parseFailure(body);
        assertThat(e.kind()).isEqualTo(ApiException.Kind.INVALID_REQUEST);
        assertThat(e.param()).isEqualTo(param);
        assertThat(e.getMessage()).contains(message);
        assertThat(e.getMessage()).doesNotContain("REDACTED").doesNotContain("Source:");
    }

    @Test
    void invalidJsonReportsLineAndColumn() {
        ApiException e = parseFailure("{\n  \"model\": \"m\",\n  \"max_tokens\": 10,,\n}");
        assertThat(e.getMessage()).startsWith("Request body is not valid JSON: ").contains("line 3, column");
    }

    @Test
    void echoedValuesAreTruncated() {
        String longRole = "r".repeat(500);
        ApiException e = parseFailure(withMessages("[{\"role\":\"" + longRole + "\",\"content\":\"x\"}]"));
        assertThat(e.getMessage()).contains("r".repeat(40) + "...").doesNotContain("r".repeat(41));

        String longName = "k".repeat(300);
        e = parseFailure(body("\"tools\":[{\"name\":\"" + longName + "\",\"input_schema\":{\"type\":\"object\"}}]"));
        assertThat(e.param()).isEqualTo("tools[0].name");
        assertThat(e.getMessage()).hasSizeLessThan(150).contains("k".repeat(40) + "...'");

        e = parseFailure("{\"model\": " + "x".repeat(500) + "}");
        assertThat(e.getMessage()).hasSizeLessThan(300).contains("x".repeat(40) + "...'")
                .contains("token 'null', 'true' or 'false'");
    }

    @Test
    void parsesAFullRequest() {
        String body = """
                {"model": "claude-sonnet", "max_tokens": 512, "temperature": 0.2, "top_p": 0.9,
                 "stop_sequences": ["END"], "stream": true, "metadata": {"user_id": "u-42"},
                 "top_k": 5, "thinking": {"type": "enabled", "budget_tokens": 2048}, "service_tier": "auto",
                 "system": [{"type": "text", "text": "You are terse."},
                            {"type": "text", "text": "Long stable context", "cache_control": {"type": "ephemeral"}}],
                 "tools": [{"name": "get_weather", "description": "Weather now",
                            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
                 "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
                 "messages": [
                   {"role": "user", "content": [
                      {"type": "text", "text": "Weather in Paris?"},
                      {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}},
                      {"type": "image", "source": {"type": "url", "url": "https://x.test/a.png"}}]},
                   {"role": "assistant", "content": [
                      {"type": "thinking", "thinking": "need the tool", "signature": "sig"},
                      {"type": "text", "text": "Checking."},
                      {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}]},
                   {"role": "user", "content": [
                      {"type": "text", "text": "and be quick"},
                      {"type": "tool_result", "tool_use_id": "toolu_1", "is_error": true,
                       "content": [{"type": "text", "text": "timeout"}], "cache_control": {"type": "ephemeral"}}]}
                 ]}
                """;
        ChatRequest r = format.parseRequest(body.getBytes(StandardCharsets.UTF_8));

        assertThat(r.model()).isEqualTo("claude-sonnet");
        assertThat(r.maxTokens()).isEqualTo(512);
        assertThat(r.temperature()).isEqualTo(0.2);
        assertThat(r.topP()).isEqualTo(0.9);
        assertThat(r.stop()).containsExactly("END");
        assertThat(r.stream()).isTrue();
        assertThat(r.includeUsage()).isTrue();
        assertThat(r.user()).isEqualTo("u-42");
        assertThat(r.toolChoice()).isEqualTo(new ToolChoice(ToolChoice.Mode.REQUIRED, null));
        assertThat(r.parallelToolCalls()).isFalse();
        assertThat(r.tools()).singleElement().satisfies(t -> {
            assertThat(t.name()).isEqualTo("get_weather");
            assertThat(t.description()).isEqualTo("Weather now");
            assertThat(t.parameters().path("properties").path("city").path("type").asText()).isEqualTo("string");
        });
        assertThat(r.passthrough().api()).isEqualTo(WireApi.ANTHROPIC);
        assertThat(r.passthrough().fields().properties()).extracting(java.util.Map.Entry::getKey)
                .containsExactly("top_k", "thinking", "service_tier");

        List<Message> m = r.messages();
        assertThat(m).extracting(Message::role)
                .containsExactly(Role.SYSTEM, Role.USER, Role.ASSISTANT, Role.TOOL, Role.USER);
        assertThat(m.get(0).content()).containsExactly(new Part.Text("You are terse.", false),
                new Part.Text("Long stable context", true));
        assertThat(m.get(1).content()).containsExactly(new Part.Text("Weather in Paris?"),
                new Part.Image(null, "image/png", "iVBOR"), new Part.Image("https://x.test/a.png", null, null));
        // the signed thinking block is kept, for an Anthropic upstream; text and the tool call remain
        assertThat(m.get(2).content()).containsExactly(new Part.Reasoning("need the tool", "sig"),
                new Part.Text("Checking."));
        assertThat(m.get(2).toolCalls()).containsExactly(new ToolCall("toolu_1", "get_weather", "{\"city\":\"Paris\"}"));
        // the tool result comes before the user's text, and carries the cache breakpoint on its text
        assertThat(m.get(3)).isEqualTo(new Message(Role.TOOL, List.of(new Part.Text("timeout", true)), List.of(),
                "toolu_1", true));
        assertThat(m.get(4).content()).containsExactly(new Part.Text("and be quick"));
    }

    @Test
    void minimalRequestDefaults() {
        ChatRequest r = format.parseRequest(body("\"system\":\"Be nice\"").getBytes(StandardCharsets.UTF_8));
        assertThat(r.messages()).containsExactly(Message.of(Role.SYSTEM, "Be nice"), Message.of(Role.USER, "hi"));
        assertThat(r.stream()).isFalse();
        assertThat(r.includeUsage()).isTrue();
        assertThat(r.toolChoice()).isNull();
        assertThat(r.parallelToolCalls()).isNull();
        assertThat(r.temperature()).isNull();
        assertThat(r.stop()).isEmpty();
        assertThat(r.passthrough().isEmpty()).isTrue();
    }

    @Test
    void toolChoiceVariants() {
        String tools = "\"tools\":[{\"name\":\"f\",\"input_schema\":{\"type\":\"object\"}}],";
        assertThat(parse(body(tools + "\"tool_choice\":{\"type\":\"auto\"}")).toolChoice()).isEqualTo(ToolChoice.AUTO);
        assertThat(parse(body(tools + "\"tool_choice\":{\"type\":\"none\"}")).toolChoice().mode())
                .isEqualTo(ToolChoice.Mode.NONE);
        ChatRequest named = parse(body(tools + "\"tool_choice\":{\"type\":\"tool\",\"name\":\"f\","
                + "\"disable_parallel_tool_use\":false}"));
        assertThat(named.toolChoice()).isEqualTo(new ToolChoice(ToolChoice.Mode.TOOL, "f"));
        assertThat(named.parallelToolCalls()).isTrue();
    }

    @Test
    void explicitCustomToolTypeIsAccepted() {
        ChatRequest r = parse(body("\"tools\":[{\"type\":\"custom\",\"name\":\"f\","
                + "\"input_schema\":{\"type\":\"object\"},\"cache_control\":{\"type\":\"ephemeral\"}}]"));
        assertThat(r.tools()).extracting(dev.carapace.model.Tool::name).containsExactly("f");
    }

    @Test
    void userMessageWithOnlyToolResultsHasNoEmptyUserMessage() {
        ChatRequest r = parse(withMessages("[{\"role\":\"user\",\"content\":\"go\"}," + TOOL_USE_TURN + ","
                + "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t1\",\"content\":\"ok\"}]}]"));
        assertThat(r.messages()).extracting(Message::role).containsExactly(Role.USER, Role.ASSISTANT, Role.TOOL);
        assertThat(r.messages().get(2).text()).isEqualTo("ok");
        assertThat(r.messages().get(2).toolError()).isFalse();
    }

    private ChatRequest parse(String body) {
        return format.parseRequest(body.getBytes(StandardCharsets.UTF_8));
    }

    private ApiException parseFailure(String body) {
        ApiException e = catchThrowableOfType(ApiException.class, () -> parse(body));
        assertThat(e).as("expected %s to be refused", body.length() > 200 ? body.substring(0, 200) : body).isNotNull();
        return e;
    }
}
