package dev.carapace.model.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.model.ApiException;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.ChatResponse;
import dev.carapace.model.FinishReason;
import dev.carapace.model.Message;
import dev.carapace.model.Part;
import dev.carapace.model.Role;
import dev.carapace.model.Tool;
import dev.carapace.model.ToolCall;
import dev.carapace.model.ToolChoice;
import dev.carapace.model.Usage;
import dev.carapace.model.WireApi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;

import static dev.carapace.model.openai.TestJson.bytes;
import static dev.carapace.model.openai.TestJson.tree;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Request parsing, upstream request rendering and response/error rendering. */
class OpenAiFormatTest {

    private final OpenAiFormat format = new OpenAiFormat();

    private static final String RICH_REQUEST = """
            {
              "model": "tier:standard",
              "messages": [
                {"role": "developer", "content": "Be terse."},
                {"role": "user", "content": [
                  {"type": "text", "text": "What is in this picture, and the weather?"},
                  {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}}
                ]},
                {"role": "assistant", "content": null, "tool_calls": [
                  {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\\"city\\":\\"Paris\\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "call_1", "content": "18C, cloudy"}
              ],
              "tools": [
                {"type": "function", "function": {"name": "get_weather", "description": "Weather now",
                  "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
              ],
              "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
              "max_completion_tokens": 256,
              "temperature": 0.2,
              "top_p": 0.9,
              "stop": ["END"],
              "stream": true,
              "stream_options": {"include_usage": false},
              "parallel_tool_calls": false,
              "user": "u-42",
              "n": 1,
              "seed": 7,
              "response_format": {"type": "json_object"},
              "logit_bias": {"1234": -100}
            }
            """;

    @Test
    void parsesEveryFieldOfARichRequest() {
        ChatRequest r = format.parseRequest(bytes(RICH_REQUEST));

        assertThat(r.model()).isEqualTo("tier:standard");
        assertThat(r.messages()).extracting(Message::role)
                .containsExactly(Role.SYSTEM, Role.USER, Role.ASSISTANT, Role.TOOL);
        assertThat(r.messages().get(0).text()).isEqualTo("Be terse.");
        assertThat(r.messages().get(1).content()).containsExactly(
                new Part.Text("What is in this picture, and the weather?"),
                new Part.Image("data:image/png;base64,iVBORw0KGgo=", null, null));
        Message assistant = r.messages().get(2);
        assertThat(assistant.content()).isEmpty();
        assertThat(assistant.toolCalls()).containsExactly(new ToolCall("call_1", "get_weather", "{\"city\":\"Paris\"}"));
        assertThat(r.messages().get(3).toolCallId()).isEqualTo("call_1");
        assertThat(r.messages().get(3).text()).isEqualTo("18C, cloudy");

        assertThat(r.tools()).singleElement().satisfies(t -> {
            assertThat(t.name()).isEqualTo("get_weather");
            assertThat(t.description()).isEqualTo("Weather now");
            assertThat(t.parameters().path("required").get(0).asText()).isEqualTo("city");
        });
        assertThat(r.toolChoice()).isEqualTo(new ToolChoice(ToolChoice.Mode.TOOL, "get_weather"));
        assertThat(r.maxTokens()).isEqualTo(256);
        assertThat(r.temperature()).isEqualTo(0.2);
        assertThat(r.topP()).isEqualTo(0.9);
        assertThat(r.stop()).containsExactly("END");
        assertThat(r.stream()).isTrue();
        assertThat(r.includeUsage()).isFalse();
        assertThat(r.parallelToolCalls()).isFalse();
        assertThat(r.user()).isEqualTo("u-42");
        assertThat(r.passthrough().api()).isEqualTo(WireApi.OPENAI);
        assertThat(r.passthrough().fields()).isEqualTo(tree("""
                {"seed": 7, "response_format": {"type": "json_object"}, "logit_bias": {"1234": -100}}"""));
    }

    @Test
    void roundTripsThroughTheUpstreamRequest() {
        ChatRequest r = translated(format.parseRequest(bytes(RICH_REQUEST)));
        JsonNode sent = tree(format.upstreamRequest(r, "gpt-4o-2024-08-06", 4096));

        // What the client sent, as an OpenAI upstream must see it: the upstream model name, developer as system,
        // max_tokens, usage always requested, n=1 dropped, image detail dropped, passthrough verbatim.
        JsonNode expected = tree("""
                {
                  "model": "gpt-4o-2024-08-06",
                  "messages": [
                    {"role": "system", "content": "Be terse."},
                    {"role": "user", "content": [
                      {"type": "text", "text": "What is in this picture, and the weather?"},
                      {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
                    ]},
                    {"role": "assistant", "content": null, "tool_calls": [
                      {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\\"city\\":\\"Paris\\"}"}}
                    ]},
                    {"role": "tool", "tool_call_id": "call_1", "content": "18C, cloudy"}
                  ],
                  "tools": [
                    {"type": "function", "function": {"name": "get_weather", "description": "Weather now",
                      "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
                  ],
                  "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
                  "parallel_tool_calls": false,
                  "max_tokens": 256,
                  "temperature": 0.2,
                  "top_p": 0.9,
                  "stop": ["END"],
                  "user": "u-42",
                  "stream": true,
                  "stream_options": {"include_usage": true},
                  "seed": 7,
                  "response_format": {"type": "json_object"},
                  "logit_bias": {"1234": -100}
                }
                """);
        assertThat(sent).isEqualTo(expected);
    }

    @Test
    void minimalRequestSendsOnlyWhatWasSet() {
        ChatRequest r = format.parseRequest(bytes("""
                {"model": "m", "messages": [{"role": "user", "content": "hi"}]}"""));
        JsonNode sent = tree(format.upstreamRequest(r, "llama3", 1000));
        assertThat(sent).isEqualTo(tree("""
                {"model": "llama3", "messages": [{"role": "user", "content": "hi"}]}"""));
    }

    @Test
    void nullOptionalFieldsCountAsAbsent() {
        ChatRequest r = format.parseRequest(bytes("""
                {"model": "m", "messages": [{"role": "user", "content": "hi", "name": null, "tool_calls": null}],
                 "tools": null, "tool_choice": null, "temperature": null, "top_p": null, "stop": null,
                 "max_tokens": null, "stream": null, "stream_options": null, "user": null, "n": null}"""));
        assertThat(r.tools()).isEmpty();
        assertThat(r.toolChoice()).isNull();
        assertThat(r.temperature()).isNull();
        assertThat(r.maxTokens()).isNull();
        assertThat(r.stop()).isEmpty();
        assertThat(r.stream()).isFalse();
    }

    @Test
    void includeUsageOnlyWhenStreamingAndAsked() {
        ChatRequest asked = format.parseRequest(bytes("""
                {"model": "m", "messages": [{"role": "user", "content": "hi"}],
                 "stream": true, "stream_options": {"include_usage": true}}"""));
        ChatRequest notAsked = format.parseRequest(bytes("""
                {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": true}"""));
        assertThat(asked.includeUsage()).isTrue();
        assertThat(notAsked.includeUsage()).isFalse();
        // Either way the upstream is asked, because Carapace bills from it.
        assertThat(tree(format.upstreamRequest(notAsked, "x", 1)).path("stream_options").path("include_usage")
                .asBoolean()).isTrue();
    }

    @Test
    void stopAsPlainStringAndMaxTokensEitherName() {
        ChatRequest r = format.parseRequest(bytes("""
                {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stop": "\\n\\n", "max_tokens": 9}"""));
        assertThat(r.stop()).containsExactly("\n\n");
        assertThat(r.maxTokens()).isEqualTo(9);
        assertThat(tree(format.upstreamRequest(translated(r), "x", 1)).path("stop").get(0).asText()).isEqualTo("\n\n");
        // relayed, the client's own form stays
        assertThat(tree(format.upstreamRequest(r, "x", 1)).path("stop").asText()).isEqualTo("\n\n");
    }

    @Test
    void cacheControlOnATextPartBecomesACacheBreakpoint() {
        ChatRequest r = format.parseRequest(bytes("""
                {"model": "m", "messages": [{"role": "system", "content": [
                  {"type": "text", "text": "long stable prompt", "cache_control": {"type": "ephemeral"}},
                  {"type": "text", "text": "volatile"}]}, {"role": "user", "content": "hi"}]}"""));
        assertThat(r.messages().get(0).content())
                .containsExactly(new Part.Text("long stable prompt", true), new Part.Text("volatile", false));
        // OpenAI would refuse the key, so it does not go upstream.
        assertThat(new String(format.upstreamRequest(translated(r), "x", 1))).doesNotContain("cache_control");
    }

    @Test
    void toolChoiceStrings() {
        String base = """
                {"model": "m", "messages": [{"role": "user", "content": "hi"}],
                 "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "%s"}""";
        assertThat(format.parseRequest(bytes(base.formatted("auto"))).toolChoice()).isEqualTo(ToolChoice.AUTO);
        assertThat(format.parseRequest(bytes(base.formatted("none"))).toolChoice().mode())
                .isEqualTo(ToolChoice.Mode.NONE);
        ChatRequest required = format.parseRequest(bytes(base.formatted("required")));
        assertThat(required.toolChoice().mode()).isEqualTo(ToolChoice.Mode.REQUIRED);
        assertThat(required.tools().get(0).parameters()).isNull();
        JsonNode sent = tree(format.upstreamRequest(required, "x", 1));
        assertThat(sent.path("tool_choice").asText()).isEqualTo("required");
        assertThat(sent.path("tools").get(0).path("function").has("parameters")).isFalse();
    }

    // ---- upstream request from neutral requests built elsewhere (e.g. translated from Anthropic) ----

    private static ChatRequest neutral(List<Message> messages, List<Tool> tools, ToolChoice choice,
                                       ChatRequest.Passthrough passthrough) {
        return new ChatRequest("m", messages, tools, choice, 1024, null, null, null, true, false, false, null,
                passthrough);
    }

    @Test
    void anthropicPassthroughIsDroppedAndNamedUnlessItChangesTheAnswer() throws Exception {
        ObjectNode fields = TestJson.MAPPER.createObjectNode().put("top_k", 40);
        ChatRequest r = neutral(List.of(Message.of(Role.USER, "hi")), List.of(), null,
                new ChatRequest.Passthrough(WireApi.ANTHROPIC, fields, List.of("tools[].defer_loading"), List.of()));
        JsonNode up = TestJson.MAPPER.readTree(format.upstreamRequest(r, "gpt", 1));
        assertThat(up.has("top_k")).isFalse();
        assertThat(format.dropped(r)).containsExactly("top_k", "tools[].defer_loading");

        ChatRequest meaningful = neutral(List.of(Message.of(Role.USER, "hi")), List.of(), null,
                new ChatRequest.Passthrough(WireApi.ANTHROPIC, fields, List.of(), List.of("output_config.format")));
        assertThatThrownBy(() -> format.upstreamRequest(meaningful, "gpt", 1))
                .isInstanceOfSatisfying(ApiException.class, e -> {
                    assertThat(e.kind()).isEqualTo(ApiException.Kind.INVALID_REQUEST);
                    assertThat(e.param()).isEqualTo("output_config.format");
                    assertThat(e.getMessage()).startsWith("output_config.format: cannot be sent to the chosen model,"
                            + " which is served by an OpenAI Chat Completions upstream");
                });
    }

    @Test
    void neutralContentRendersInOpenAiShapes() {
        Message user = new Message(Role.USER, List.of(new Part.Text("look"),
                new Part.Image(null, "image/jpeg", "QUJD")), List.of(), null, false);
        Message failedTool = Message.toolResult("toolu_1", "Error: city unknown", true);
        Message assistantText = new Message(Role.ASSISTANT, List.of(new Part.Text("Checking."), new Part.Text(" Now.")),
                List.of(new ToolCall("toolu_1", "weather", "{}")), null, false);
        ChatRequest r = neutral(List.of(Message.of(Role.SYSTEM, "sys"), user, assistantText, failedTool),
                List.of(), ToolChoice.AUTO, null);

        JsonNode sent = tree(format.upstreamRequest(r, "gpt", 1));
        JsonNode msgs = sent.path("messages");
        assertThat(msgs.get(0)).isEqualTo(tree("{\"role\":\"system\",\"content\":\"sys\"}"));
        assertThat(msgs.get(1).path("content").get(1)).isEqualTo(
                tree("{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/jpeg;base64,QUJD\"}}"));
        assertThat(msgs.get(2).path("content").size()).isEqualTo(2);
        assertThat(msgs.get(2).path("tool_calls").get(0).path("id").asText()).isEqualTo("toolu_1");
        assertThat(msgs.get(3)).isEqualTo(
                tree("{\"role\":\"tool\",\"tool_call_id\":\"toolu_1\",\"content\":\"Error: city unknown\"}"));
        // No tools: OpenAI refuses tool_choice and parallel_tool_calls on their own.
        assertThat(sent.has("tool_choice")).isFalse();
        assertThat(sent.has("parallel_tool_calls")).isFalse();
        assertThat(sent.path("max_tokens").asInt()).isEqualTo(1024);
        assertThat(sent.has("stream")).isFalse();
    }

    // ---- responses and errors rendered for clients ----

    @Test
    void rendersAToolCallResponse() {
        ChatResponse resp = new ChatResponse("chatcmpl-abc", "smart", null,
                List.of(new ToolCall("call_9", "lookup", "{\"q\":\"x\"}")), FinishReason.TOOL_CALLS,
                new Usage(100, 20, 64, 0, 5, false));
        JsonNode json = tree(format.renderResponse(resp));

        assertThat(json.path("id").asText()).isEqualTo("chatcmpl-abc");
        assertThat(json.path("object").asText()).isEqualTo("chat.completion");
        assertThat(json.path("created").asLong()).isCloseTo(System.currentTimeMillis() / 1000, org.assertj.core.data.Offset.offset(5L));
        assertThat(json.path("model").asText()).isEqualTo("smart");
        JsonNode choice = json.path("choices").get(0);
        assertThat(choice.path("index").asInt()).isZero();
        assertThat(choice.path("finish_reason").asText()).isEqualTo("tool_calls");
        assertThat(choice.path("message")).isEqualTo(tree("""
                {"role": "assistant", "content": null, "tool_calls": [
                  {"id": "call_9", "type": "function", "function": {"name": "lookup", "arguments": "{\\"q\\":\\"x\\"}"}}]}"""));
        assertThat(json.path("usage")).isEqualTo(tree("""
                {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120,
                 "prompt_tokens_details": {"cached_tokens": 64}, "completion_tokens_details": {"reasoning_tokens": 5}}"""));
    }

    @ParameterizedTest
    @CsvSource({"STOP,stop", "LENGTH,length", "TOOL_CALLS,tool_calls", "CONTENT_FILTER,content_filter"})
    void rendersATextResponseWithEachFinishReason(FinishReason reason, String wire) {
        JsonNode json = tree(format.renderResponse(
                new ChatResponse("id1", "m", "Hello", List.of(), reason, Usage.of(3, 1))));
        JsonNode message = json.path("choices").get(0).path("message");
        assertThat(message.path("content").asText()).isEqualTo("Hello");
        assertThat(message.has("tool_calls")).isFalse();
        assertThat(json.path("choices").get(0).path("finish_reason").asText()).isEqualTo(wire);
    }

    @ParameterizedTest
    @CsvSource({
            "INVALID_REQUEST,invalid_request_error", "TOO_LARGE,invalid_request_error",
            "UNSUPPORTED_MEDIA_TYPE,invalid_request_error", "AUTHENTICATION,authentication_error",
            "PERMISSION,permission_error", "NOT_FOUND,not_found_error", "RATE_LIMITED,rate_limit_error",
            "UPSTREAM,api_error", "UNAVAILABLE,api_error", "TIMEOUT,api_error", "INTERNAL,api_error"})
    void rendersErrorsWithTheTypeForTheirKind(ApiException.Kind kind, String type) {
        JsonNode json = tree(format.renderError(ApiException.of(kind, "some_code", "went wrong")));
        assertThat(json).isEqualTo(tree("""
                {"error": {"message": "went wrong", "type": "%s", "param": null, "code": "some_code"}}""".formatted(type)));
        assertThat(format.status(ApiException.of(kind, "c", "m"))).isEqualTo(kind.status);
    }

    @Test
    void errorCarriesParamAndNullCode() {
        ApiException e = new ApiException(ApiException.Kind.INVALID_REQUEST, "messages[0].role: bad", "messages[0].role",
                null, null, false);
        JsonNode err = tree(format.renderError(e)).path("error");
        assertThat(err.path("param").asText()).isEqualTo("messages[0].role");
        assertThat(err.has("code")).isTrue();
        assertThat(err.path("code").isNull()).isTrue();
    }

    /** The request as a filter's rewrite leaves it: without the client's original, so it is translated. */
    private static ChatRequest translated(ChatRequest r) {
        ChatRequest t = r.withMessages(r.messages());
        assertThat(t.relaysTo(WireApi.OPENAI)).isFalse();
        return t;
    }
}
