package dev.carapace.model.openai;

import dev.carapace.model.ApiException;
import dev.carapace.model.ApiException.Kind;
import dev.carapace.model.ChatResponse;
import dev.carapace.model.FinishReason;
import dev.carapace.model.ToolCall;
import dev.carapace.model.Usage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;

import static dev.carapace.model.openai.TestJson.bytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Complete upstream responses and upstream HTTP errors. */
class OpenAiUpstreamTest {

    private final OpenAiFormat format = new OpenAiFormat();

    @Test
    void parsesAToolCallResponseWithDetailedUsage() {
        ChatResponse r = format.parseUpstreamResponse(bytes("""
                {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-2024-08-06",
                 "choices": [{"index": 0, "message": {"role": "assistant", "content": null, "refusal": null,
                   "tool_calls": [{"id": "call_a", "type": "function", "function": {"name": "f", "arguments": "{\\"x\\":1}"}},
                                  {"id": "call_b", "type": "function", "function": {"name": "g", "arguments": "{}"}}]},
                   "logprobs": null, "finish_reason": "tool_calls"}],
                 "usage": {"prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500,
                   "prompt_tokens_details": {"cached_tokens": 1024}, "completion_tokens_details": {"reasoning_tokens": 128}}}
                """));
        assertThat(r.id()).isEqualTo("chatcmpl-1");
        assertThat(r.model()).isEqualTo("gpt-4o-2024-08-06");
        assertThat(r.text()).isNull();
        assertThat(r.toolCalls()).containsExactly(new ToolCall("call_a", "f", "{\"x\":1}"), new ToolCall("call_b", "g", "{}"));
        assertThat(r.finishReason()).isEqualTo(FinishReason.TOOL_CALLS);
        assertThat(r.usage()).isEqualTo(new Usage(1200, 300, 1024, 0, 128, false));
    }

    @Test
    void missingUsageIsNullAndMissingDetailsAreZero() {
        String body = """
                {"id": "c", "model": "llama3", "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"},
                 "finish_reason": "length"}]%s}""";
        ChatResponse noUsage = format.parseUpstreamResponse(bytes(body.formatted("")));
        assertThat(noUsage.usage()).isNull();
        assertThat(noUsage.text()).isEqualTo("Hi");
        assertThat(noUsage.finishReason()).isEqualTo(FinishReason.LENGTH);

        ChatResponse plainUsage = format.parseUpstreamResponse(bytes(body.formatted(
                ", \"usage\": {\"prompt_tokens\": 9, \"completion_tokens\": 4, \"total_tokens\": 13}")));
        assertThat(plainUsage.usage()).isEqualTo(Usage.of(9, 4));
    }

    @Test
    void toleratesObjectArgumentsMissingIdsAndStopWithToolCalls() {
        ChatResponse r = format.parseUpstreamResponse(bytes("""
                {"model": "qwen", "choices": [{"message": {"role": "assistant", "content": "",
                  "tool_calls": [{"function": {"name": "f", "arguments": {"a": [1, 2]}}}]}, "finish_reason": "stop"}]}"""));
        assertThat(r.id()).startsWith("chatcmpl-");
        assertThat(r.toolCalls()).singleElement().satisfies(c -> {
            assertThat(c.id()).startsWith("call_");
            assertThat(c.arguments()).isEqualTo("{\"a\":[1,2]}");
        });
        assertThat(r.finishReason()).isEqualTo(FinishReason.TOOL_CALLS);
    }

    @Test
    void renderedResponseParsesBackUnchanged() {
        ChatResponse original = new ChatResponse("chatcmpl-rt", "m", "Sure.", List.of(new ToolCall("c1", "f", "{}")),
                FinishReason.TOOL_CALLS, new Usage(50, 10, 20, 0, 3, false));
        assertThat(format.parseUpstreamResponse(format.renderResponse(original))).isEqualTo(original);
    }

    @Test
    void malformedBodiesAreUpstreamErrors() {
        for (String body : List.of("", "<html>502 Bad Gateway</html>", "{\"choices\": []}", "[1]",
                "{\"choices\": [{\"message\": {\"content\": 5}}]}",
                "{\"choices\": [{\"message\": {\"tool_calls\": [{\"function\": {}}]}}]}")) {
            assertThatThrownBy(() -> format.parseUpstreamResponse(bytes(body)))
                    .as(body)
                    .isInstanceOfSatisfying(ApiException.class, e -> {
                        assertThat(e.kind()).isEqualTo(Kind.UPSTREAM);
                        assertThat(e.code()).isEqualTo("upstream_invalid_response");
                        assertThat(e.getMessage()).doesNotContain("<html>");
                    });
        }
    }

    @Test
    void errorBodyWithStatus200IsAnUpstreamError() {
        assertThatThrownBy(() -> format.parseUpstreamResponse(bytes("{\"error\": {\"message\": \"model crashed\"}}")))
                .isInstanceOfSatisfying(ApiException.class, e -> {
                    assertThat(e.kind()).isEqualTo(Kind.UPSTREAM);
                    assertThat(e.getMessage()).contains("model crashed");
                });
    }

    // ---- upstream HTTP errors ----

    @Test
    void badRequestPassesTheUpstreamMessageAndCode() {
        ApiException e = format.upstreamError(400, bytes("""
                {"error": {"message": "This model's maximum context length is 8192 tokens.", "type": "invalid_request_error",
                 "param": "messages", "code": "context_length_exceeded"}}"""));
        assertThat(e.kind()).isEqualTo(Kind.INVALID_REQUEST);
        assertThat(e.getMessage()).isEqualTo(
                "upstream rejected the request: This model's maximum context length is 8192 tokens.");
        assertThat(e.code()).isEqualTo("context_length_exceeded");
        assertThat(e.retryable()).isFalse();
    }

    @Test
    void authFailuresBlameTheGatewayAndLeakNothing() {
        byte[] body = bytes("{\"error\": {\"message\": \"Incorrect API key provided: sk-proj-abc1*****wxyz. You can "
                + "find your API key at https://platform.openai.com/account/api-keys.\", \"code\": \"invalid_api_key\"}}");
        for (int status : new int[]{401, 403}) {
            ApiException e = format.upstreamError(status, body);
            assertThat(e.kind()).isEqualTo(Kind.UPSTREAM);
            assertThat(e.code()).isEqualTo("upstream_auth");
            assertThat(e.getMessage()).doesNotContain("sk-").doesNotContain("Incorrect API key")
                    .contains("not your API key");
        }
    }

    @ParameterizedTest
    @CsvSource({
            "404, UPSTREAM, upstream_model_not_found, false",
            "408, TIMEOUT, upstream_timeout, true",
            "504, TIMEOUT, upstream_timeout, true",
            "429, RATE_LIMITED, upstream_rate_limited, true",
            "500, UPSTREAM, upstream_error, true",
            "502, UPSTREAM, upstream_error, true",
            "503, UNAVAILABLE, upstream_overloaded, true",
            "418, UPSTREAM, upstream_error, false"})
    void mapsStatuses(int status, Kind kind, String code, boolean retryable) {
        ApiException e = format.upstreamError(status, bytes("{\"error\": {\"message\": \"nope\"}}"));
        assertThat(e.kind()).isEqualTo(kind);
        assertThat(e.code()).isEqualTo(code);
        if (status != 404) assertThat(e.retryable()).isEqualTo(retryable);
        assertThat(e.getMessage()).contains("nope").contains(String.valueOf(status));
    }

    @Test
    void upstreamMessagesAreShortenedAndScrubbed() {
        ApiException longOne = format.upstreamError(500, bytes("{\"detail\": \"" + "y".repeat(10_000) + "\"}"));
        assertThat(longOne.getMessage()).hasSizeLessThan(360).contains("yyy...");

        ApiException html = format.upstreamError(502, bytes("<html><body><h1>502 Bad Gateway</h1></body></html>"));
        assertThat(html.getMessage()).doesNotContain("<").contains("502");

        ApiException plain = format.upstreamError(500, bytes("upstream connect error, key=sk-live-123456789abc"));
        assertThat(plain.getMessage()).contains("upstream connect error").doesNotContain("123456789abc");

        ApiException empty = format.upstreamError(503, new byte[0]);
        assertThat(empty.getMessage()).isEqualTo("the upstream is overloaded (HTTP 503)");
    }
}
