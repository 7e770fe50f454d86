package dev.carapace.model.anthropic;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carapace.model.ApiException;
import dev.carapace.model.ApiException.Kind;
import dev.carapace.model.ChatResponse;
import dev.carapace.model.FinishReason;
import dev.carapace.model.ToolCall;
import dev.carapace.model.Usage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class AnthropicResponseAndErrorTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private final AnthropicFormat format = new AnthropicFormat();

    @Test
    void rendersAResponseWithTextAndToolCalls() throws IOException {
        ChatResponse r = new ChatResponse("chatcmpl-7", "smart", "Let me look.", List.of(
                new ToolCall("call_1", "lookup", "{\"q\": \"cats\", \"n\": 2}"),
                new ToolCall("call_2", "lookup", "{\"q\": \"do")),
                FinishReason.TOOL_CALLS, new Usage(1000, 40, 700, 200, 0, false));
        JsonNode out = JSON.readTree(format.renderResponse(r));
        assertThat(out).isEqualTo(JSON.readTree("""
                {"id": "chatcmpl-7", "type": "message", "role": "assistant", "model": "smart",
                 "content": [{"type": "text", "text": "Let me look."},
                             {"type": "tool_use", "id": "call_1", "name": "lookup", "input": {"q": "cats", "n": 2}},
                             {"type": "tool_use", "id": "call_2", "name": "lookup", "input": {}}],
                 "stop_reason": "tool_use", "stop_sequence": null,
                 "usage": {"input_tokens": 100, "output_tokens": 40, "cache_read_input_tokens": 700,
                           "cache_creation_input_tokens": 200}}
                """));
    }

    @Test
    void emptyTextIsOmittedAndStopReasonsMap() throws IOException {
        JsonNode toolsOnly = JSON.readTree(format.renderResponse(new ChatResponse("msg_1", "m", "",
                List.of(new ToolCall("c", "f", "")), FinishReason.STOP, null)));
        assertThat(toolsOnly.path("content")).hasSize(1);
        assertThat(toolsOnly.path("content").get(0).path("type").asText()).isEqualTo("tool_use");
        assertThat(toolsOnly.path("content").get(0).path("input").toString()).isEqualTo("{}");
        assertThat(toolsOnly.path("stop_reason").asText()).isEqualTo("tool_use"); // STOP with tool calls
        assertThat(toolsOnly.path("usage").path("output_tokens").asInt()).isZero();

        assertThat(stopReason(FinishReason.STOP)).isEqualTo("end_turn");
        assertThat(stopReason(FinishReason.LENGTH)).isEqualTo("max_tokens");
        assertThat(stopReason(FinishReason.CONTENT_FILTER)).isEqualTo("refusal");
        assertThat(JSON.readTree(format.renderResponse(new ChatResponse(null, "m", null, List.of(),
                FinishReason.STOP, null))).path("id").asText()).startsWith("msg_");
    }

    private String stopReason(FinishReason reason) throws IOException {
        return JSON.readTree(format.renderResponse(new ChatResponse("i", "m", "x", List.of(), reason, null)))
                .path("stop_reason").asText();
    }

    @ParameterizedTest
    @CsvSource({
            "INVALID_REQUEST, invalid_request_error, 400",
            "UNSUPPORTED_MEDIA_TYPE, invalid_request_error, 415",
            "AUTHENTICATION, authentication_error, 401",
            "PERMISSION, permission_error, 403",
            "NOT_FOUND, not_found_error, 404",
            "TOO_LARGE, request_too_large, 413",
            "RATE_LIMITED, rate_limit_error, 429",
            "UNAVAILABLE, overloaded_error, 529",
            "UPSTREAM, api_error, 502",
            "TIMEOUT, api_error, 504",
            "INTERNAL, api_error, 500"})
    void rendersErrors(Kind kind, String type, int status) throws IOException {
        ApiException e = ApiException.of(kind, "code", "what went wrong");
        assertThat(new String(format.renderError(e), StandardCharsets.UTF_8)).isEqualTo(
                "{\"type\":\"error\",\"error\":{\"type\":\"" + type + "\",\"message\":\"what went wrong\"}}");
        assertThat(format.status(e)).isEqualTo(status);
    }

    @Test
    void parsesAnUpstreamResponse() {
        String body = """
                {"id": "msg_013", "type": "message", "role": "assistant", "model": "claude-opus-4-1",
                 "content": [{"type": "thinking", "thinking": "...", "signature": "x"},
                             {"type": "text", "text": "Sure. "},
                             {"type": "tool_use", "id": "toolu_9", "name": "calc", "input": {"expr": "2 + 2"}},
                             {"type": "text", "text": "Done."}],
                 "stop_reason": "tool_use", "stop_sequence": null,
                 "usage": {"input_tokens": 15, "cache_creation_input_tokens": 5, "cache_read_input_tokens": 80,
                           "output_tokens": 33}}
                """;
        ChatResponse r = format.parseUpstreamResponse(body.getBytes(StandardCharsets.UTF_8));
        assertThat(r).isEqualTo(new ChatResponse("msg_013", "claude-opus-4-1", "Sure. Done.",
                List.of(new ToolCall("toolu_9", "calc", "{\"expr\":\"2 + 2\"}")), FinishReason.TOOL_CALLS,
                new Usage(100, 33, 80, 5, 0, false)));

        ChatResponse noUsage = format.parseUpstreamResponse(
                "{\"id\":\"m\",\"content\":[],\"stop_reason\":\"refusal\"}".getBytes(StandardCharsets.UTF_8));
        assertThat(noUsage.usage()).isNull();
        assertThat(noUsage.text()).isNull();
        assertThat(noUsage.finishReason()).isEqualTo(FinishReason.CONTENT_FILTER);
    }

    @Test
    void malformedUpstreamResponsesAreUpstreamErrors() {
        for (String body : List.of("<html>502</html>", "{\"id\":\"m\"}", "[]", "")) {
            ApiException e = catchThrowableOfType(ApiException.class,
                    () -> format.parseUpstreamResponse(body.getBytes(StandardCharsets.UTF_8)));
            assertThat(e).as(body).isNotNull();
            assertThat(e.kind()).isEqualTo(Kind.UPSTREAM);
            assertThat(e.code()).isEqualTo("upstream_invalid_response");
        }
    }

    @ParameterizedTest
    @CsvSource({
            "400, INVALID_REQUEST, invalid_request, false",
            "401, UPSTREAM, upstream_auth, false",
            "403, UPSTREAM, upstream_auth, false",
            "404, UPSTREAM, upstream_model_not_found, false",
            "408, TIMEOUT, upstream_timeout, true",
            "413, TOO_LARGE, request_too_large, false",
            "429, RATE_LIMITED, upstream_rate_limited, true",
            "500, UPSTREAM, upstream_error, true",
            "503, UNAVAILABLE, upstream_overloaded, true",
            "504, TIMEOUT, upstream_timeout, true",
            "529, UNAVAILABLE, upstream_overloaded, true"})
    void mapsUpstreamErrors(int status, Kind kind, String code, boolean retryable) {
        String body = "{\"type\":\"error\",\"error\":{\"type\":\"x_error\",\"message\":\"detail " + status + "\"}}";
        ApiException e = format.upstreamError(status, body.getBytes(StandardCharsets.UTF_8));
        assertThat(e.kind()).isEqualTo(kind);
        assertThat(e.code()).isEqualTo(code);
        assertThat(e.retryable()).isEqualTo(retryable);
        // an auth failure quotes nothing of the upstream's words (they can hold part of Carapace's key)
        if (status == 401 || status == 403) assertThat(e.getMessage()).doesNotContain("detail").contains("not your API key");
        else assertThat(e.getMessage()).contains("detail " + status);
        if (status == 400) assertThat(e.getMessage()).startsWith("upstream rejected the request: ");
    }

    @Test
    void upstreamErrorMessagesAreShortAndToleratesNonJson() {
        String longMessage = "y".repeat(5000);
        ApiException e = format.upstreamError(500, ("{\"type\":\"error\",\"error\":{\"type\":\"api_error\","
                + "\"message\":\"" + longMessage + "\"}}").getBytes(StandardCharsets.UTF_8));
        assertThat(e.getMessage()).hasSizeLessThan(400);

        ApiException html = format.upstreamError(502, "<html>Bad gateway</html>".getBytes(StandardCharsets.UTF_8));
        assertThat(html.kind()).isEqualTo(Kind.UPSTREAM);
        assertThat(html.getMessage()).contains("HTTP 502").doesNotContain("<html>");
    }

    /** Regression: Anthropic-kind upstream messages were only shortened, so a quoted key reached the client. */
    @Test
    void aKeyQuotedInAnUpstreamErrorIsMasked() {
        String quoted = "boom key=sk-ant-UPSTREAMSECRET-anth-0987654321";
        ApiException status = format.upstreamError(400, ("{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\","
                + "\"message\":\"" + quoted + "\"}}").getBytes(StandardCharsets.UTF_8));
        ApiException event = AnthropicFormat.upstreamErrorEvent(new com.fasterxml.jackson.databind.ObjectMapper()
                .createObjectNode().put("type", "api_error").put("message", quoted));
        for (ApiException e : List.of(status, event)) {
            assertThat(e.getMessage()).contains("boom key=sk-***").doesNotContain("UPSTREAMSECRET");
        }
    }
}
