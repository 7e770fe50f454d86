package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.config.ConfigLoader;
import dev.carapace.identity.Principal;
import dev.carapace.store.UsageLog.UsageRecord;
import dev.carapace.testing.ScriptedUpstream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;

import static dev.carapace.server.GatewayHarness.json;
import static dev.carapace.testing.ScriptedUpstream.body;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The privacy router on {@code /v1/embeddings} and {@code /v1/messages/count_tokens}, as on chat: a secret blocks
 * the call, personal data is redacted before it goes up, confidential data keeps the call on a private model.
 */
class PrivacyEmbeddingsAndCountTokensTest {

    @TempDir Path dir;
    final ScriptedUpstream external = new ScriptedUpstream();
    final ScriptedUpstream local = new ScriptedUpstream();
    final ScriptedUpstream claude = new ScriptedUpstream();
    Carapace carapace;
    String key;
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeEach
    void start() throws Exception {
        String yaml = """
                org: acme
                providers:
                  ext: {kind: openai, base_url: %s, api_key_env: EXT_KEY}
                  vllm: {kind: openai, base_url: %s}
                  claude: {kind: anthropic, base_url: %s, api_key_env: EXT_KEY}
                models:
                  embed-ext: {kind: embedding, tier: mid, context_window: 8191, price: {input: 0.02}, deployments: [{provider: ext, model: text-embedding-3-small}]}
                  embed-local: {kind: embedding, tier: mid, privacy: private, context_window: 8191, price: {input: 0}, deployments: [{provider: vllm, model: bge}]}
                  claude-ext: {tier: mid, context_window: 200000, max_output_tokens: 8192, price: {input: 3, output: 15}, deployments: [{provider: claude, model: claude-up}]}
                teams:
                  platform: {}
                privacy:
                  actions: {block: [secret], redact: [pii], private: [confidential]}
                  dictionaries:
                    code_name: {class: confidential, terms: [Bluebird]}
                """.formatted(external.openAiBaseUrl(), local.openAiBaseUrl(), claude.anthropicBaseUrl());
        carapace = Carapace.start(ConfigLoader.load(yaml, "privacy.yaml"), dir, Map.of("EXT_KEY", "k")::get, Clock.systemUTC(), 0);
        key = carapace.keyAdmin().create("alice", "platform", Principal.Role.MEMBER, null).secret();
    }

    @AfterEach
    void stop() {
        carapace.close();
        external.close();
        local.close();
        claude.close();
    }

    private HttpResponse<String> post(String path, String body) {
        HttpRequest r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + carapace.port() + path))
                .header("content-type", "application/json").header("authorization", "Bearer " + key)
                .header("anthropic-version", "2023-06-01").POST(HttpRequest.BodyPublishers.ofString(body)).build();
        try {
            return http.send(r, HttpResponse.BodyHandlers.ofString());
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private UsageRecord record(HttpResponse<?> r) {
        return carapace.store().usageLog().byRequestId(r.headers().firstValue("x-request-id").orElseThrow()).orElseThrow();
    }

    @Test
    void embeddingsInputsAreRedactedBeforeTheyGoUp() {
        external.enqueue(ScriptedUpstream.openAiEmbeddings("text-embedding-3-small", 2, 3, 12));
        HttpResponse<String> r = post("/v1/embeddings",
                "{\"model\":\"embed-ext\",\"input\":[\"Mail carol@example.com today\",\"nothing personal\"]}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode sent = json(body(external.take()));
        assertThat(sent.get("model").asText()).isEqualTo("text-embedding-3-small");
        assertThat(sent.get("input")).isEqualTo(json("[\"Mail <EMAIL_1> today\",\"nothing personal\"]"));
        assertThat(json(r.body()).get("model").asText()).isEqualTo("embed-ext");
        assertThat(record(r).privacyDecision()).isEqualTo("redact");
    }

    @Test
    void embeddingsOfTokenIdsAreScreenedByTheirText() {
        // cl100k_base ids of "AKIAIOSFODNN7EXAMPLE": a secret, whatever form it is sent in
        int[] ids = com.knuddels.jtokkit.Encodings.newLazyEncodingRegistry()
                .getEncoding(com.knuddels.jtokkit.api.EncodingType.CL100K_BASE).encode("key AKIAIOSFODNN7EXAMPLE").toArray();
        HttpResponse<String> r = post("/v1/embeddings", "{\"model\":\"embed-ext\",\"input\":" + java.util.Arrays.toString(ids) + "}");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(json(r.body()).at("/error/code").asText()).isEqualTo("privacy_blocked");
        assertThat(json(r.body()).at("/error/param").asText()).isEqualTo("input");
        assertThat(json(r.body()).at("/error/message").asText()).contains("aws_access_key in input[0]");
        assertThat(r.body()).doesNotContain("AKIA");
        assertThat(external.requestCount()).isZero();
    }

    @Test
    void confidentialEmbeddingsStayOnAPrivateModel() {
        local.enqueue(ScriptedUpstream.openAiEmbeddings("bge", 1, 3, 4));
        HttpResponse<String> r = post("/v1/embeddings", "{\"model\":\"embed-ext\",\"input\":\"Project Bluebird launch plan\"}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(json(body(local.take())).get("model").asText()).isEqualTo("bge");
        assertThat(json(r.body()).get("model").asText()).isEqualTo("embed-local");
        assertThat(external.requestCount()).isZero();
    }

    @Test
    void countTokensIsBlockedOrRedactedLikeChat() {
        HttpResponse<String> blocked = post("/v1/messages/count_tokens",
                "{\"model\":\"claude-ext\",\"messages\":[{\"role\":\"user\",\"content\":\"deploy with AKIAIOSFODNN7EXAMPLE\"}]}");
        assertThat(blocked.statusCode()).isEqualTo(400);
        assertThat(json(blocked.body()).at("/error/type").asText()).isEqualTo("invalid_request_error");
        assertThat(blocked.body()).doesNotContain("AKIA");
        assertThat(claude.requestCount()).isZero();

        claude.enqueue(ScriptedUpstream.anthropicTokenCount(21));
        HttpResponse<String> redacted = post("/v1/messages/count_tokens", """
                {"model":"claude-ext","system":"be brief","temperature":0.5,
                 "messages":[{"role":"user","content":"Mail carol@example.com about it"}]}""");
        assertThat(redacted.statusCode()).as(redacted.body()).isEqualTo(200);
        assertThat(json(redacted.body()).get("input_tokens").asInt()).isEqualTo(21);
        JsonNode sent = json(body(claude.take()));
        assertThat(sent.toString()).contains("<EMAIL_1>").doesNotContain("carol@");
        assertThat(sent.get("model").asText()).isEqualTo("claude-up");
        assertThat(sent.has("max_tokens")).as("count_tokens takes no max_tokens").isFalse();
        assertThat(sent.path("temperature").asDouble()).as("relayed as it came, but for the value").isEqualTo(0.5);
        assertThat(sent.has("system")).isTrue();
    }
}
