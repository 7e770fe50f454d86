package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.store.UsageLog.UsageRecord;
import mockwebserver3.RecordedRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.carapace.server.GatewayHarness.json;
import static dev.carapace.testing.ScriptedUpstream.anthropicFrames;
import static dev.carapace.testing.ScriptedUpstream.body;
import static dev.carapace.testing.ScriptedUpstream.sse;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A client and an upstream speaking the same API: the request goes up and the answer comes back as they were, with
 * only what Carapace must change changed (the model name both ways, the usage report on the way up), and the call
 * metered from what the upstream reported.
 */
class SameApiRelayTest {

    @TempDir Path data;
    GatewayHarness h;

    @BeforeEach
    void start() throws Exception { h = new GatewayHarness(data); }

    @AfterEach
    void stop() { h.close(); }

    private UsageRecord record(HttpResponse<?> r) { return h.record(r); }

    private static final String OPENAI_REQUEST = """
            {"model":"m-solo","messages":[{"role":"developer","content":"be brief"},{"role":"user","content":"hi"}],
             "max_completion_tokens":50,"seed":7,"temperature":0.25,"stop":"END","user":"u-1",
             "response_format":{"type":"json_object"}}""";

    @Test
    void openAiRequestGoesUpAsTheClientWroteItButForTheModel() {
        h.a.enqueue(openAiAnswer());
        HttpResponse<String> r = h.post("/v1/chat/completions", h.memberKey, OPENAI_REQUEST);
        assertThat(r.statusCode()).isEqualTo(200);

        ObjectNode expected = (ObjectNode) json(OPENAI_REQUEST);
        expected.put("model", "up-model");   // and nothing else: the client's own field names and forms stay
        assertThat(json(body(h.a.take()))).isEqualTo(expected);
    }

    @Test
    void openAiAnswerComesBackAsItCameButForTheModel() {
        String upstream = openAiAnswerBody();
        h.a.enqueue(GatewayHarness.okJson(upstream));
        HttpResponse<String> r = h.post("/v1/chat/completions", h.memberKey, OPENAI_REQUEST);

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo(upstream.replace("\"model\":\"up-model\"", "\"model\":\"m-solo\""));
        UsageRecord rec = record(r);
        assertThat(rec.inputTokens()).isEqualTo(21);
        assertThat(rec.cachedInputTokens()).isEqualTo(4);
        assertThat(rec.outputTokens()).isEqualTo(9);
        assertThat(rec.estimated()).isFalse();
    }

    @Test
    void aRelayedAnswerWithoutUsageIsReadWholeForAnEstimate() {
        String upstream = "{\"id\":\"c\",\"object\":\"chat.completion\",\"model\":\"up-model\",\"choices\":[{\"index\":0,"
                + "\"message\":{\"role\":\"assistant\",\"content\":\"The quick brown fox jumps over the lazy dog.\"},"
                + "\"finish_reason\":\"stop\"}]}";
        h.a.enqueue(GatewayHarness.okJson(upstream));
        HttpResponse<String> r = h.post("/v1/chat/completions", h.memberKey, OPENAI_REQUEST);

        assertThat(r.body()).isEqualTo(upstream.replace("up-model", "m-solo"));
        UsageRecord rec = record(r);
        assertThat(rec.estimated()).isTrue();
        assertThat(rec.outputTokens()).isBetween(8L, 14L);   // 10 tokens in o200k
    }

    @Test
    void aRelayedAnswerThatIsNotAnAnswerIsRefusedAsBefore() {
        h.a.enqueue(GatewayHarness.okJson("{\"error\":{\"message\":\"quota gone for sk-live-abcdefghijkl0123\"},"
                + "\"usage\":{\"prompt_tokens\":1},\"choices\":[]}"));
        HttpResponse<String> r = h.post("/v1/chat/completions", h.memberKey, OPENAI_REQUEST);
        assertThat(r.statusCode()).isGreaterThanOrEqualTo(400);
        assertThat(r.body()).doesNotContain("abcdefghijkl0123");
    }

    @Test
    void aRelayedAnswerThatIsNotJsonIsRefusedAsBefore() {
        h.a.enqueue(GatewayHarness.okJson("{\"usage\":{\"prompt_tokens\":1},\"choices\":[}"));   // not JSON
        HttpResponse<String> broken = h.post("/v1/chat/completions", h.memberKey, OPENAI_REQUEST);
        assertThat(broken.statusCode()).isEqualTo(502);
        assertThat(json(broken.body()).at("/error/message").asText()).contains("invalid");
    }

    @Test
    void openAiStreamIsRelayedFrameForFrame() {
        List<String> up = openAiStreamFrames();
        h.a.enqueue(sse(up, 0));
        HttpResponse<String> r = h.post("/v1/chat/completions", h.memberKey,
                "{\"model\":\"m-solo\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");

        assertThat(r.statusCode()).isEqualTo(200);
        List<String> expected = new ArrayList<>();
        for (String f : up.subList(0, up.size() - 2)) expected.add(f.replace("\"model\":\"up-model\"", "\"model\":\"m-solo\""));
        expected.add("data: [DONE]\n\n");   // the usage chunk is left out: this client did not ask for it
        assertThat(r.body()).isEqualTo(String.join("", expected));

        JsonNode sent = json(body(h.a.take()));
        assertThat(sent.at("/stream_options/include_usage").asBoolean()).as("Carapace bills from it").isTrue();
        UsageRecord rec = record(r);
        assertThat(rec.inputTokens()).isEqualTo(30);
        assertThat(rec.outputTokens()).isEqualTo(12);
        assertThat(rec.estimated()).isFalse();
    }

    @Test
    void openAiUsageChunkReachesAClientThatAskedForIt() {
        List<String> up = openAiStreamFrames();
        h.a.enqueue(sse(up, 0));
        HttpResponse<String> r = h.post("/v1/chat/completions", h.memberKey, "{\"model\":\"m-solo\",\"stream\":true,"
                + "\"stream_options\":{\"include_usage\":true},\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");

        String usage = up.get(up.size() - 2).replace("\"model\":\"up-model\"", "\"model\":\"m-solo\"");
        assertThat(r.body()).endsWith(usage + "data: [DONE]\n\n");
    }

    @Test
    void anUpstreamErrorInAStreamIsNotRelayedAsItCame() {
        h.a.enqueue(sse(List.of(
                "data: " + chunk("{\"role\":\"assistant\",\"content\":\"\"}") + "\n\n",
                "data: " + chunk("{\"content\":\"one \"}") + "\n\n",
                "data: " + chunk("{\"content\":\"two \"}") + "\n\n",
                "data: {\"error\":{\"message\":\"overloaded; your key sk-live-abcdefghijkl0123\",\"type\":\"server_error\"}}\n\n"), 0));
        HttpResponse<String> r = h.post("/v1/chat/completions", h.memberKey,
                "{\"model\":\"m-solo\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");

        assertThat(r.body()).contains("one ", "two ").doesNotContain("abcdefghijkl0123");
        List<GatewayHarness.Frame> frames = GatewayHarness.frames(r.body());
        assertThat(frames.getLast().json().at("/error/message").asText()).contains("overloaded");
    }

    @Test
    void aRepeatedKeyIsRefusedAsItCouldMeanOneThingHereAndAnotherUpstream() {
        HttpResponse<String> r = h.post("/v1/chat/completions", h.memberKey, """
                {"model":"m-solo","messages":[{"role":"user","content":"SMUGGLED"}],
                 "messages":[{"role":"user","content":"what Carapace read"}]}""");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(json(r.body()).at("/error/message").asText()).contains("Duplicate field 'messages'");
        HttpResponse<String> a = h.post("/v1/messages", h.memberKey, """
                {"model":"m-claude","max_tokens":9,"messages":[{"role":"user","content":"hi","role":"assistant"}]}""",
                "anthropic-version", "2023-06-01");
        assertThat(a.statusCode()).isEqualTo(400);
        assertThat(json(a.body()).at("/error/message").asText()).contains("Duplicate field 'role'");
        // the same key twice, once spelled with an escape: one key to a parser, so refused too
        HttpResponse<String> spelled = h.post("/v1/chat/completions", h.memberKey,
                "{\"model\":\"m-solo\",\"mod\\u0065l\":\"m-mid\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertThat(spelled.statusCode()).isEqualTo(400);
        assertThat(json(spelled.body()).at("/error/message").asText()).contains("Duplicate field 'model'");
        assertThat(h.a.requestCount() + h.claude.requestCount()).isZero();
    }

    @Test
    void aKeySpelledWithEscapesGoesUpPlainOnce() {
        h.a.enqueue(openAiAnswer());
        h.post("/v1/chat/completions", h.memberKey,
                "{\"mod\\u0065l\":\"m-solo\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        String sent = body(h.a.take());
        assertThat(json(sent).get("model").asText()).isEqualTo("up-model");
        assertThat(sent).doesNotContain("\\u0065").contains("\"model\"");
    }

    @Test
    void anthropicAnswerKeepsThinkingAndFieldsCarapaceDoesNotModel() {
        String upstream = """
                {"id":"msg_1","type":"message","role":"assistant","model":"claude-up","content":[\
                {"type":"thinking","thinking":"Let me see.","signature":"EqQBCgIYAhIM1gbcDa9GJwZA"},\
                {"type":"text","text":"Hi!","citations":null}],"stop_reason":"end_turn","stop_sequence":null,\
                "usage":{"input_tokens":17,"cache_creation_input_tokens":0,"cache_read_input_tokens":3,"output_tokens":11,\
                "service_tier":"standard"},"container":null}""";
        h.claude.enqueue(GatewayHarness.okJson(upstream));
        String request = """
                {"model":"m-claude","max_tokens":2048,"thinking":{"type":"enabled","budget_tokens":1024},\
                "messages":[{"role":"user","content":"hi"}],"metadata":{"user_id":"u-2"},"top_k":5}""";
        HttpResponse<String> r = h.post("/v1/messages", h.memberKey, request, "anthropic-version", "2023-06-01");

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo(upstream.replace("\"model\":\"claude-up\"", "\"model\":\"m-claude\""));
        ObjectNode expected = (ObjectNode) json(request);
        expected.put("model", "claude-up");
        assertThat(json(body(h.claude.take()))).isEqualTo(expected);
        UsageRecord rec = record(r);
        assertThat(rec.outputTokens()).isEqualTo(11);
        assertThat(rec.cachedInputTokens()).isEqualTo(3);
    }

    @Test
    void anthropicStreamKeepsThinkingSignaturesAndServerToolBlocks() {
        List<String> up = anthropicFrames(
                "message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_s\",\"type\":\"message\",\"role\":\"assistant\","
                        + "\"model\":\"claude-up\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,"
                        + "\"usage\":{\"input_tokens\":25,\"cache_read_input_tokens\":5,\"output_tokens\":1}}}",
                "ping", "{\"type\":\"ping\"}",
                "content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}",
                "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"Think \"}}",
                "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"harder.\"}}",
                "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"EqQBCgIYAhIM\"}}",
                "content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}",
                "content_block_start", "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"server_tool_use\",\"id\":\"srvtoolu_1\",\"name\":\"web_search\",\"input\":{}}}",
                "content_block_stop", "{\"type\":\"content_block_stop\",\"index\":1}",
                "content_block_start", "{\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}",
                "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello \"}}",
                "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"text_delta\",\"text\":\"there.\"}}",
                "content_block_stop", "{\"type\":\"content_block_stop\",\"index\":2}",
                "message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":40}}",
                "message_stop", "{\"type\":\"message_stop\"}");
        h.claude.enqueue(sse(up, 0));
        HttpResponse<String> r = h.post("/v1/messages", h.memberKey, """
                {"model":"m-claude","max_tokens":2048,"stream":true,"thinking":{"type":"enabled","budget_tokens":1024},\
                "messages":[{"role":"user","content":"hi"}]}""", "anthropic-version", "2023-06-01");

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo(String.join("", up).replace("\"model\":\"claude-up\"", "\"model\":\"m-claude\""));
        UsageRecord rec = record(r);
        assertThat(rec.inputTokens()).as("the upstream's figure, as the client saw it in message_start").isEqualTo(30);
        assertThat(rec.outputTokens()).isEqualTo(40);
        assertThat(rec.estimated()).isFalse();
    }

    @Test
    void anthropicBetasGoUpWithARelayedRequestOnly() throws Exception {
        String betas = "interleaved-thinking-2025-05-14,context-management-2025-06-27";
        h.claude.enqueue(GatewayHarness.okJson(ANTHROPIC_ANSWER));
        java.net.http.HttpRequest request = java.net.http.HttpRequest.newBuilder(java.net.URI.create(h.url("/v1/messages")))
                .header("x-api-key", h.memberKey).header("anthropic-version", "2023-06-01")
                .header("anthropic-beta", "interleaved-thinking-2025-05-14")
                .header("anthropic-beta", "context-management-2025-06-27")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(
                        "{\"model\":\"m-claude\",\"max_tokens\":9,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")).build();
        assertThat(h.send(request).statusCode()).isEqualTo(200);
        RecordedRequest up = h.claude.take();
        assertThat(up.getHeaders().get("anthropic-beta")).isEqualTo(betas);
        assertThat(up.getHeaders().get("x-api-key")).isEqualTo("secret-claude");

        // translated for an OpenAI upstream: the betas mean nothing there and stay behind
        h.a.enqueue(openAiAnswer());
        h.post("/v1/messages", h.memberKey, "{\"model\":\"m-solo\",\"max_tokens\":9,\"messages\":[{\"role\":\"user\","
                + "\"content\":\"hi\"}]}", "anthropic-version", "2023-06-01", "anthropic-beta", betas);
        assertThat(h.a.take().getHeaders().get("anthropic-beta")).isNull();
    }

    @Test
    void anOversizedBetaHeaderIsRefusedNamingIt() {
        HttpResponse<String> r = h.post("/v1/messages", h.memberKey,
                "{\"model\":\"m-claude\",\"max_tokens\":9,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                "anthropic-version", "2023-06-01", "anthropic-beta", "x".repeat(3000));
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(json(r.body()).at("/error/message").asText()).contains("anthropic-beta", "2048");
        assertThat(h.claude.requestCount()).isZero();
    }

    private static final String ANTHROPIC_ANSWER = "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\","
            + "\"model\":\"claude-up\",\"content\":[{\"type\":\"text\",\"text\":\"Hi\"}],\"stop_reason\":\"end_turn\","
            + "\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}";

    // ---- scripted answers ----

    private static String chunk(String delta) {
        return "{\"id\":\"chatcmpl-r\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"up-model\","
                + "\"system_fingerprint\":\"fp_9\",\"choices\":[{\"index\":0,\"delta\":" + delta
                + ",\"logprobs\":null,\"finish_reason\":null}],\"obfuscation\":\"x1\"}";
    }

    /** Ten content chunks, a finish chunk and a usage chunk, with fields Carapace does not model, then [DONE]. */
    private static List<String> openAiStreamFrames() {
        List<String> frames = new ArrayList<>();
        frames.add("data: " + chunk("{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null}") + "\n\n");
        for (int i = 0; i < 10; i++) frames.add("data: " + chunk("{\"content\":\"w" + i + " \\\"q\\\" \"}") + "\n\n");
        frames.add("data: {\"id\":\"chatcmpl-r\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"up-model\","
                + "\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}\n\n");
        frames.add("data: {\"id\":\"chatcmpl-r\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"up-model\","
                + "\"choices\":[],\"usage\":{\"prompt_tokens\":30,\"completion_tokens\":12,\"total_tokens\":42}}\n\n");
        frames.add("data: [DONE]\n\n");
        return frames;
    }

    private static String openAiAnswerBody() {
        return "{\"id\":\"chatcmpl-9\",\"object\":\"chat.completion\",\"created\":1733,\"model\":\"up-model\","
                + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"{\\\"ok\\\":true}\","
                + "\"refusal\":null,\"annotations\":[]},\"logprobs\":null,\"finish_reason\":\"stop\"}],"
                + "\"usage\":{\"prompt_tokens\":21,\"completion_tokens\":9,\"total_tokens\":30,"
                + "\"prompt_tokens_details\":{\"cached_tokens\":4,\"audio_tokens\":0},"
                + "\"completion_tokens_details\":{\"reasoning_tokens\":0,\"accepted_prediction_tokens\":0}},"
                + "\"service_tier\":\"default\",\"system_fingerprint\":\"fp_9\"}";
    }

    private static mockwebserver3.MockResponse openAiAnswer() { return GatewayHarness.okJson(openAiAnswerBody()); }
}
