package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.ledger.Budgets;
import dev.carapace.store.UsageLog.UsageRecord;
import dev.carapace.testing.ScriptedUpstream;
import mockwebserver3.RecordedRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;

import static dev.carapace.server.GatewayHarness.json;
import static dev.carapace.testing.ScriptedUpstream.body;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code POST /v1/embeddings} on a real gateway in front of a scripted OpenAI upstream: routed to an embedding model,
 * passed on as the client wrote it but for the model, metered and budgeted from the upstream's usage, and every
 * malformed request refused in OpenAI's error shape before anything goes up.
 */
class EmbeddingsEndToEndTest {

    @TempDir Path data;
    GatewayHarness h;

    @BeforeEach
    void start() throws Exception { h = new GatewayHarness(data); }

    @AfterEach
    void stop() { h.close(); }

    private HttpResponse<String> embed(String body) { return h.post("/v1/embeddings", h.memberKey, body); }

    @Test
    void aStringIsEmbeddedByTheModelsDeploymentAndTheAnswerComesBackAsItCameButForTheModel() {
        h.a.enqueue(ScriptedUpstream.openAiEmbeddings("text-embedding-3-small", 1, 4, 7));
        String request = "{\"model\":\"m-embed\",\"input\":\"The food was delicious.\",\"encoding_format\":\"float\",\"user\":\"u-1\"}";
        HttpResponse<String> r = embed(request);

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        RecordedRequest up = h.a.take();
        assertThat(up.getUrl().encodedPath()).isEqualTo("/v1/embeddings");
        assertThat(up.getHeaders().get("authorization")).isEqualTo("Bearer secret-a");
        ObjectNode expected = (ObjectNode) json(request);
        expected.put("model", "up-embed");
        assertThat(json(body(up))).isEqualTo(expected);

        JsonNode answer = json(r.body());
        assertThat(answer.get("model").asText()).isEqualTo("m-embed");
        assertThat(answer.at("/data/0/embedding")).hasSize(4);
        assertThat(answer.at("/data/0/embedding/1").asDouble()).isEqualTo(0.0011);
        assertThat(answer.at("/usage/prompt_tokens").asInt()).isEqualTo(7);
        assertThat(r.headers().firstValue("x-carapace-model")).hasValue("m-embed");
        assertThat(r.headers().firstValue("x-carapace-deployment")).hasValue("a/up-embed");

        UsageRecord rec = h.record(r);
        assertThat(rec.model()).isEqualTo("m-embed");
        assertThat(rec.inputTokens()).isEqualTo(7);
        assertThat(rec.outputTokens()).isZero();
        assertThat(rec.estimated()).isFalse();
        assertThat(rec.status()).isEqualTo(200);
        assertThat(rec.costNanos()).as("7 tokens at 0.5 USD per million").isEqualTo(3_500);
    }

    @Test
    void arraysOfStringsAndOfTokenIdsGoUpAsTheyCame() {
        for (String input : new String[] {"[\"first text\",\"second text\",\"third\"]", "[9906,1917]", "[[9906,1917],[15339]]"}) {
            h.a.enqueue(ScriptedUpstream.openAiEmbeddings("up-embed", 3, 2, 5));
            String request = "{\"model\":\"m-embed\",\"input\":" + input + ",\"dimensions\":2}";
            HttpResponse<String> r = embed(request);
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertThat(json(body(h.a.take())).get("input")).isEqualTo(json(input));
        }
    }

    @Test
    void aTokenBudgetReservesTheInputsAndIsChargedWhatTheUpstreamReported() {
        h.carapace.ledger().budgets().set(new Budgets.Request("team", "platform", null, 40L, "day", "UTC", null, null, null));
        h.a.enqueue(ScriptedUpstream.openAiEmbeddings("up-embed", 1, 2, 9));
        HttpResponse<String> ok = embed("{\"model\":\"m-embed\",\"input\":\"" + "word ".repeat(6).strip() + "\"}");
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
        assertThat(h.record(ok).inputTokens()).isEqualTo(9);

        // 31 tokens left: an input of 200 bytes (40 o200k tokens) does not fit, and nothing goes up
        HttpResponse<String> refused = embed("{\"model\":\"m-embed\",\"input\":\"" + "word ".repeat(40).strip() + "\"}");
        assertThat(refused.statusCode()).as("a budget refusal in OpenAI's shape").isEqualTo(400);
        JsonNode error = json(refused.body()).get("error");
        assertThat(error.get("code").asText()).isEqualTo("budget_exceeded");
        assertThat(error.get("message").asText()).contains("9 of 40 tokens spent this day").contains("(40 tokens)");
        assertThat(h.a.requestCount()).isEqualTo(1);
    }

    @Test
    void aChatModelAnUnknownModelAndAnEmbeddingModelUsedForChatAreRefusedClearly() {
        HttpResponse<String> chatModel = embed("{\"model\":\"m-mid\",\"input\":\"hi\"}");
        assertThat(chatModel.statusCode()).isEqualTo(400);
        assertThat(json(chatModel.body()).at("/error/message").asText())
                .contains("'m-mid' is a chat model").contains("kind: embedding");
        assertThat(json(chatModel.body()).at("/error/param").asText()).isEqualTo("model");

        HttpResponse<String> unknown = embed("{\"model\":\"text-embedding-9\",\"input\":\"hi\"}");
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(json(unknown.body()).at("/error/code").asText()).isEqualTo("model_not_found");

        HttpResponse<String> forChat = h.post("/v1/chat/completions", h.memberKey, GatewayHarness.chat("m-embed", false, ""));
        assertThat(forChat.statusCode()).isEqualTo(400);
        assertThat(json(forChat.body()).at("/error/message").asText()).contains("'m-embed' is an embedding model");

        HttpResponse<String> research = h.post("/v1/embeddings", h.researchKey, "{\"model\":\"m-embed\",\"input\":\"hi\"}");
        assertThat(research.statusCode()).as("research may use tier mid only").isEqualTo(403);
        assertThat(h.a.requestCount()).isZero();
    }

    @Test
    void hostileBodiesGetA400NamingTheFieldInOpenAisShape() {
        Map<String, String> cases = new java.util.LinkedHashMap<>();
        cases.put("{\"model\":\"m-embed\"}", "input: required");
        cases.put("{\"input\":\"hi\"}", "model: required");
        cases.put("{\"model\":\"m-embed\",\"input\":5}", "input: expected a string, an array of strings");
        cases.put("{\"model\":\"m-embed\",\"input\":\"\"}", "input: must not be an empty string");
        cases.put("{\"model\":\"m-embed\",\"input\":[]}", "input: must not be an empty array");
        cases.put("{\"model\":\"m-embed\",\"input\":[\"a\",\"\"]}", "input[1]: must not be an empty string");
        cases.put("{\"model\":\"m-embed\",\"input\":[\"a\",7]}", "input[1]: expected a string, like input[0]");
        cases.put("{\"model\":\"m-embed\",\"input\":[1,\"a\"]}", "input[1]: expected a token id");
        cases.put("{\"model\":\"m-embed\",\"input\":[[1],[2,\"x\"]]}", "input[1][1]: expected a token id");
        cases.put("{\"model\":\"m-embed\",\"input\":[[[1]]]}", "input[0][0]: expected a token id");
        cases.put("{\"model\":\"m-embed\",\"input\":[[]]}", "input[0]: must not be an empty array of token ids");
        cases.put("{\"model\":\"m-embed\",\"input\":[-3]}", "input[0]: expected a token id");
        cases.put("{\"model\":\"m-embed\",\"input\":[999999999]}", "not in cl100k_base");
        cases.put("{\"model\":\"m-embed\",\"input\":[{\"text\":\"a\"}]}", "input[0]: expected a string, a token id or an array of token ids");
        cases.put("{\"model\":\"m-embed\",\"input\":[\"" + "x\",\"".repeat(9_999) + "x\"]}", "at most 2048 inputs per request; got 10000");
        cases.put("{\"model\":\"m-embed\",\"input\":\"hi\",\"dimensions\":0}", "dimensions: expected a positive integer");
        cases.put("{\"model\":\"m-embed\",\"input\":\"hi\",\"dimensions\":\"256\"}", "dimensions: expected a positive integer");
        cases.put("{\"model\":\"m-embed\",\"input\":\"hi\",\"encoding_format\":\"hex\"}", "encoding_format: expected 'float' or 'base64'");
        cases.put("{\"model\":\"m-embed\",\"input\":\"hi\",\"user\":3}", "user: expected a string");
        cases.put("{\"model\":\"m-embed\",\"input\":\"hi\",\"temperature\":1}", "Unrecognized request argument supplied: temperature");
        cases.put("{\"model\":\"m-embed\",\"input\":\"hi\",\"input\":\"again\"}", "not valid JSON: Duplicate field 'input'");
        cases.put("{\"model\":7,\"input\":\"hi\"}", "model: expected a model id string");
        cases.put("[\"m-embed\"]", "must be a JSON object");
        cases.put("{\"model\":\"m-embed\",\"input\":\"hi\"", "not valid JSON");
        cases.forEach((request, message) -> {
            HttpResponse<String> r = embed(request);
            assertThat(r.statusCode()).as(request).isEqualTo(400);
            JsonNode error = json(r.body()).get("error");
            assertThat(error.get("type").asText()).as(request).isEqualTo("invalid_request_error");
            assertThat(error.get("message").asText()).as(request).contains(message);
        });
        assertThat(h.a.requestCount()).isZero();
    }

    @Test
    void anUpstreamFailureIsReportedInOpenAisShapeAndANonListAnswerIsAnUpstreamError() {
        h.a.enqueue(ScriptedUpstream.json(400, "{\"error\":{\"message\":\"This model's maximum context length is 8192 tokens\",\"type\":\"invalid_request_error\"}}"));
        HttpResponse<String> tooLong = embed("{\"model\":\"m-embed\",\"input\":\"hi\"}");
        assertThat(tooLong.statusCode()).isEqualTo(400);
        assertThat(json(tooLong.body()).at("/error/message").asText()).contains("maximum context length is 8192 tokens");

        h.a.enqueue(ScriptedUpstream.json(200, "{\"object\":\"chat.completion\",\"choices\":[]}"));
        HttpResponse<String> odd = embed("{\"model\":\"m-embed\",\"input\":\"hi\"}");
        assertThat(odd.statusCode()).isEqualTo(502);
        assertThat(json(odd.body()).at("/error/code").asText()).isEqualTo("upstream_invalid_response");
        assertThat(h.record(odd).status()).isEqualTo(502);
    }

    @Test
    void theModelListSaysWhichModelsEmbed() {
        JsonNode models = json(h.get("/v1/models", h.memberKey).body()).get("data");
        Map<String, String> kinds = new java.util.TreeMap<>();
        models.forEach(m -> kinds.put(m.get("id").asText(), m.get("kind").asText()));
        assertThat(kinds).containsEntry("m-embed", "embedding").containsEntry("m-mid", "chat");
    }
}
