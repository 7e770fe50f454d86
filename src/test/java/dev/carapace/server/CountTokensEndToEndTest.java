package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.ledger.Budgets;
import dev.carapace.model.TokenCounter;
import dev.carapace.model.anthropic.AnthropicFormat;
import dev.carapace.store.UsageLog.UsageRecord;
import dev.carapace.testing.ScriptedUpstream;
import mockwebserver3.RecordedRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static dev.carapace.server.GatewayHarness.json;
import static dev.carapace.testing.ScriptedUpstream.body;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code POST /v1/messages/count_tokens} on a real gateway: forwarded to an Anthropic upstream (its own count),
 * counted with o200k for a model on an OpenAI upstream, recorded at no cost, and refused in Anthropic's error shape
 * when malformed.
 */
class CountTokensEndToEndTest {

    private static final String REQUEST = """
            {"model":"m-claude","system":[{"type":"text","text":"be brief","cache_control":{"type":"ephemeral"}}],
             "messages":[{"role":"user","content":"What is the weather in Paris?"}],
             "tools":[{"name":"get_weather","description":"Current weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}],
             "thinking":{"type":"enabled","budget_tokens":2048}}""";

    @TempDir Path data;
    GatewayHarness h;

    @BeforeEach
    void start() throws Exception { h = new GatewayHarness(data); }

    @AfterEach
    void stop() { h.close(); }

    private HttpResponse<String> count(String key, String body, String... headers) {
        String[] all = new String[headers.length + 2];
        all[0] = "anthropic-version";
        all[1] = "2023-06-01";
        System.arraycopy(headers, 0, all, 2, headers.length);
        return h.post("/v1/messages/count_tokens", key, body, all);
    }

    @Test
    void anAnthropicUpstreamCountsTheRequestAsTheClientWroteIt() {
        h.claude.enqueue(ScriptedUpstream.anthropicTokenCount(473));
        HttpResponse<String> r = count(h.memberKey, REQUEST, "anthropic-beta", "token-counting-2024-11-01");

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(json(r.body())).isEqualTo(json("{\"input_tokens\":473}"));
        assertThat(r.headers().firstValue("x-carapace-model")).hasValue("m-claude");
        assertThat(r.headers().firstValue("request-id")).isPresent();

        RecordedRequest up = h.claude.take();
        assertThat(up.getUrl().encodedPath()).isEqualTo("/v1/messages/count_tokens");
        assertThat(up.getHeaders().get("x-api-key")).isEqualTo("secret-claude");
        assertThat(up.getHeaders().get("anthropic-beta")).isEqualTo("token-counting-2024-11-01");
        ObjectNode expected = (ObjectNode) json(REQUEST);
        expected.put("model", "claude-up");
        assertThat(json(body(up))).as("no max_tokens added: count_tokens refuses it").isEqualTo(expected);

        UsageRecord rec = h.record(r);
        assertThat(rec.status()).isEqualTo(200);
        assertThat(rec.model()).isEqualTo("m-claude");
        assertThat(rec.costNanos()).isZero();
        assertThat(rec.inputTokens()).isZero();
        assertThat(rec.outputTokens()).isZero();
    }

    @Test
    void theBetaClientsQueryStringIsTheSameEndpoint() {
        // Claude Code and the SDK's beta client call /v1/messages/count_tokens?beta=true
        h.claude.enqueue(ScriptedUpstream.anthropicTokenCount(9));
        HttpResponse<String> r = h.post("/v1/messages/count_tokens?beta=true", h.memberKey, REQUEST,
                "anthropic-version", "2023-06-01");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(json(r.body()).get("input_tokens").asInt()).isEqualTo(9);
    }

    @Test
    void aModelOnAnOpenAiUpstreamIsCountedHereWithO200k() {
        String request = REQUEST.replace("m-claude", "m-mid").replace(",\n \"thinking\":{\"type\":\"enabled\",\"budget_tokens\":2048}", "");
        HttpResponse<String> r = count(h.memberKey, request);

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        long expected = TokenCounter.prompt(new AnthropicFormat().parseCountTokens(request.getBytes(StandardCharsets.UTF_8)));
        assertThat(json(r.body()).get("input_tokens").asLong()).isEqualTo(expected).isBetween(20L, 80L);
        assertThat(h.a.requestCount() + h.b.requestCount()).isZero();
        assertThat(r.headers().firstValue("x-carapace-deployment")).as("no deployment was asked").isEmpty();
        UsageRecord rec = h.record(r);
        assertThat(rec.costNanos()).isZero();
        assertThat(rec.deployment()).isNull();
    }

    @Test
    void countingCostsNothingSoAnExhaustedBudgetStillCounts() {
        h.carapace.ledger().budgets().set(new Budgets.Request("team", "platform", null, 0L, "day", "UTC", null, null, null));
        HttpResponse<String> chat = h.post("/v1/messages", h.memberKey, GatewayHarness.messages("m-claude", false, ""),
                "anthropic-version", "2023-06-01");
        assertThat(chat.statusCode()).isEqualTo(429);

        h.claude.enqueue(ScriptedUpstream.anthropicTokenCount(12));
        HttpResponse<String> counted = count(h.memberKey, REQUEST);
        assertThat(counted.statusCode()).as(counted.body()).isEqualTo(200);
        assertThat(json(counted.body()).get("input_tokens").asInt()).isEqualTo(12);
    }

    @Test
    void malformedRequestsAreRefusedInAnthropicsShape() {
        String[][] cases = {
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "model: Field required"},
                {"{\"model\":\"m-claude\"}", "messages: Field required"},
                {"{\"model\":\"m-claude\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":\"many\"}", "max_tokens"},
                {"{\"model\":\"m-claude\",\"messages\":\"hi\"}", "messages"},
                {"{\"model\":\"m-claude\",\"messages\":[{\"role\":\"user\",\"content\":5}]}", "messages[0].content"},
                {"not json", ""},
        };
        for (String[] c : cases) {
            HttpResponse<String> r = count(h.memberKey, c[0]);
            assertThat(r.statusCode()).as(c[0]).isEqualTo(400);
            JsonNode body = json(r.body());
            assertThat(body.get("type").asText()).isEqualTo("error");
            assertThat(body.at("/error/type").asText()).isEqualTo("invalid_request_error");
            assertThat(body.at("/error/message").asText()).as(c[0]).contains(c[1]);
        }
        HttpResponse<String> embedding = count(h.memberKey, "{\"model\":\"m-embed\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertThat(embedding.statusCode()).isEqualTo(400);
        assertThat(json(embedding.body()).at("/error/message").asText()).contains("'m-embed' is an embedding model");
        HttpResponse<String> unknown = count(h.memberKey, "{\"model\":\"claude-9\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(json(unknown.body()).at("/error/type").asText()).isEqualTo("not_found_error");
        HttpResponse<String> anonymous = count(null, REQUEST);
        assertThat(anonymous.statusCode()).isEqualTo(401);
        assertThat(json(anonymous.body()).at("/error/type").asText()).isEqualTo("authentication_error");
        assertThat(h.claude.requestCount()).isZero();
    }

    @Test
    void anUpstreamRefusalIsPassedOnAndAnAnswerWithoutACountIsAnUpstreamError() {
        h.claude.enqueue(ScriptedUpstream.json(400, "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"thinking.budget_tokens: must be less than max_tokens\"}}"));
        HttpResponse<String> refused = count(h.memberKey, REQUEST);
        assertThat(refused.statusCode()).isEqualTo(400);
        assertThat(json(refused.body()).at("/error/message").asText()).contains("thinking.budget_tokens");

        h.claude.enqueue(ScriptedUpstream.json(200, "{\"tokens\":3}"));
        HttpResponse<String> odd = count(h.memberKey, REQUEST);
        assertThat(odd.statusCode()).isEqualTo(502);
        assertThat(json(odd.body()).at("/error/message").asText()).contains("without a count");
    }

    /** One malformed count cooled the model's deployment down for 30 s, and its Messages calls got 529 meanwhile. */
    @Test
    void aCountTheUpstreamFailsDoesNotCoolDownTheDeploymentForModelCalls() {
        for (int i = 0; i < 3; i++) {
            h.claude.enqueue(ScriptedUpstream.json(404, "{\"type\":\"error\",\"error\":{\"type\":\"not_found_error\",\"message\":\"no such endpoint\"}}"));
            assertThat(count(h.memberKey, REQUEST).statusCode()).isGreaterThanOrEqualTo(400);
        }
        h.claude.enqueue(ScriptedUpstream.anthropicText("still here", 5, 2));
        HttpResponse<String> chat = h.post("/v1/messages", h.memberKey,
                GatewayHarness.messages("m-claude", false, ""), "anthropic-version", "2023-06-01");
        assertThat(chat.statusCode()).as(chat.body()).isEqualTo(200);
        assertThat(chat.body()).contains("still here");
    }
}
