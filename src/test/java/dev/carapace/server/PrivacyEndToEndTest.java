package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.config.ConfigLoader;
import dev.carapace.identity.Principal;
import dev.carapace.store.UsageLog.UsageRecord;
import dev.carapace.testing.ScriptedUpstream;
import mockwebserver3.RecordedRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The privacy router in a real gateway: requests over HTTP, scripted upstreams that echo what they were sent, the
 * usage record in SQLite, /metrics, and /api/privacy/scan.
 */
class PrivacyEndToEndTest {

    static final ScriptedUpstream external = new ScriptedUpstream();
    static final ScriptedUpstream local = new ScriptedUpstream();
    static Carapace carapace;
    static String platformKey, researchKey, adminKey;
    static GatewayHarnessClient http;

    /** The HTTP helpers of {@link GatewayHarness}, against this test's own gateway. */
    record GatewayHarnessClient(int port) {
        HttpResponse<String> post(String path, String key, String body) {
            var r = java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + path))
                    .header("content-type", "application/json").header("authorization", "Bearer " + key)
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body)).build();
            try {
                return java.net.http.HttpClient.newHttpClient().send(r, HttpResponse.BodyHandlers.ofString());
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }

        HttpResponse<String> get(String path, String key) {
            var r = java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + path))
                    .header("authorization", "Bearer " + key).GET().build();
            try {
                return java.net.http.HttpClient.newHttpClient().send(r, HttpResponse.BodyHandlers.ofString());
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }
    }

    @BeforeAll
    static void start(@TempDir Path dir) throws Exception {
        String yaml = """
                org: acme
                providers:
                  ext: {kind: openai, base_url: %s, api_key_env: EXT_KEY}
                  vllm: {kind: openai, base_url: %s}
                models:
                  gpt-ext: {tier: mid, context_window: 128000, max_output_tokens: 4096, price: {input: 3, output: 6}, deployments: [{provider: ext, model: up}]}
                  llama-local: {tier: mid, privacy: private, context_window: 32000, max_output_tokens: 4096, price: {input: 0, output: 0}, deployments: [{provider: vllm, model: llama}]}
                teams:
                  platform: {}
                  research: {models: [gpt-ext]}
                privacy:
                  actions: {block: [secret], redact: [pii], private: [confidential]}
                  dictionaries:
                    code_name: {class: confidential, terms: [Bluebird]}
                """.formatted(external.openAiBaseUrl(), local.openAiBaseUrl());
        carapace = Carapace.start(ConfigLoader.load(yaml, "privacy.yaml"), dir, Map.of("EXT_KEY", "k")::get, Clock.systemUTC(), 0);
        platformKey = carapace.keyAdmin().create("alice", "platform", Principal.Role.MEMBER, null).secret();
        adminKey = carapace.keyAdmin().create("root", "platform", Principal.Role.ADMIN, null).secret();
        researchKey = carapace.keyAdmin().create("rita", "research", Principal.Role.MEMBER, null).secret();
        http = new GatewayHarnessClient(carapace.port());
    }

    @AfterAll
    static void stop() {
        carapace.close();
        external.close();
        local.close();
    }

    static String chat(String model, boolean stream, String user) {
        return "{\"model\":\"" + model + "\",\"stream\":" + stream + ",\"messages\":[{\"role\":\"user\",\"content\":"
                + ScriptedUpstream.quote(user) + "}]}";
    }

    static UsageRecord record(HttpResponse<String> r) {
        assertThat(carapace.ledger().flush(5000)).isTrue();
        return carapace.store().usageLog().byRequestId(r.headers().firstValue("x-request-id").orElseThrow()).orElseThrow();
    }

    @Test
    void redactsBeforeTheUpstreamAndRestoresTheAnswer() {
        external.enqueue(ScriptedUpstream.openAiText("I wrote to <EMAIL_1> and <EMAIL_2>.", 10, 5));
        HttpResponse<String> r = http.post("/v1/chat/completions", platformKey,
                chat("gpt-ext", false, "Mail carol@example.com and dave@example.org about the invoice"));
        assertThat(r.statusCode()).isEqualTo(200);
        String sent = ScriptedUpstream.body(external.take());
        assertThat(sent).contains("Mail <EMAIL_1> and <EMAIL_2> about the invoice").doesNotContain("carol@", "dave@");
        assertThat(GatewayHarness.json(r.body()).at("/choices/0/message/content").asText())
                .isEqualTo("I wrote to carol@example.com and dave@example.org.");
        UsageRecord rec = record(r);
        assertThat(rec.privacyDecision()).isEqualTo("redact");
        assertThat(rec.privacyClasses()).isEqualTo("pii");
        assertThat(http.get("/metrics", adminKey).body())
                .contains("carapace_privacy_findings_total{action=\"redact\",type=\"email\"}")
                .contains("carapace_privacy_decisions_total{decision=\"redact\"}");
    }

    /**
     * A card spelled with zero-width spaces and fullwidth digits reads as a card to the model, and went out as
     * written: the detectors read ASCII. Now redacted over all its chars, and restored as the client wrote it.
     */
    @Test
    void aCardSpelledWithInvisibleCharsAndFullwidthDigitsIsRedactedToo() {
        external.enqueue(ScriptedUpstream.openAiText("Charged <CARD_1>.", 10, 5));
        String card = "\uff14111\u200b1111\u200b1111\u200b1111";
        HttpResponse<String> r = http.post("/v1/chat/completions", platformKey,
                chat("gpt-ext", false, "Please charge " + card + " today"));
        assertThat(r.statusCode()).isEqualTo(200);
        String sent = ScriptedUpstream.body(external.take());
        assertThat(sent).contains("Please charge <CARD_1> today").doesNotContain("1111", "\\u200b", "\u200b");
        assertThat(GatewayHarness.json(r.body()).at("/choices/0/message/content").asText()).isEqualTo("Charged " + card + ".");
        assertThat(record(r).privacyClasses()).isEqualTo("pii");
    }

    @Test
    void restoresAPlaceholderSplitAcrossStreamedChunks() {
        external.enqueue(ScriptedUpstream.sse(ScriptedUpstream.openAiTextStream(
                List.of("Calling <PH", "ONE_", "1> now; card <CA", "RD_1>."), 10, 6), 5));
        HttpResponse<String> r = http.post("/v1/chat/completions", platformKey,
                chat("gpt-ext", true, "Call +44 20 7946 0958 and charge 4111 1111 1111 1111"));
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(ScriptedUpstream.body(external.take())).contains("Call <PHONE_1> and charge <CARD_1>");
        StringBuilder text = new StringBuilder();
        for (GatewayHarness.Frame f : GatewayHarness.frames(r.body())) {
            if (f.data().equals("[DONE]")) continue;
            JsonNode c = f.json().at("/choices/0/delta/content");
            if (!c.isMissingNode() && !c.isNull()) text.append(c.asText());
        }
        assertThat(text.toString()).isEqualTo("Calling +44 20 7946 0958 now; card 4111 1111 1111 1111.");
    }

    @Test
    void aResponsesRequestIsRedactedAndItsEventsRestored() {
        external.enqueue(ScriptedUpstream.sse(ScriptedUpstream.openAiTextStream(
                List.of("Mailing <EMA", "IL_1> now."), 10, 4), 0));
        HttpResponse<String> r = http.post("/v1/responses", platformKey, "{\"model\":\"gpt-ext\",\"stream\":true,"
                + "\"store\":false,\"input\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_text\","
                + "\"text\":\"Mail erin@example.com today\"}]}]}");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(ScriptedUpstream.body(external.take())).contains("Mail <EMAIL_1> today").doesNotContain("erin@");
        StringBuilder deltas = new StringBuilder();
        String done = null;
        for (GatewayHarness.Frame f : GatewayHarness.frames(r.body())) {
            if ("response.output_text.delta".equals(f.event())) deltas.append(f.json().get("delta").asText());
            if ("response.completed".equals(f.event())) done = f.json().at("/response/output/0/content/0/text").asText();
        }
        assertThat(deltas.toString()).isEqualTo("Mailing erin@example.com now.");
        assertThat(done).isEqualTo("Mailing erin@example.com now.");
        assertThat(record(r).privacyDecision()).isEqualTo("redact");
    }

    @Test
    void blocksSecretsWith400NamingTheClassNeverTheValue() {
        int before = external.requestCount();
        String key = "AKIAIOSFODNN7EXAMPLE";
        HttpResponse<String> r = http.post("/v1/chat/completions", platformKey, chat("gpt-ext", false, "deploy with " + key));
        assertThat(r.statusCode()).isEqualTo(400);
        JsonNode err = GatewayHarness.json(r.body()).get("error");
        assertThat(err.get("code").asText()).isEqualTo("privacy_blocked");
        assertThat(err.get("message").asText()).contains("class secret", "aws_access_key").doesNotContain(key);
        assertThat(r.body()).doesNotContain(key);
        assertThat(external.requestCount()).isEqualTo(before);
        UsageRecord rec = record(r);
        assertThat(rec.privacyDecision()).isEqualTo("block");
        assertThat(rec.privacyClasses()).isEqualTo("secret");
        assertThat(rec.status()).isEqualTo(400);
    }

    @Test
    void confidentialTermsGoOnlyToAPrivateModelOrAreRefused() {
        local.enqueue(ScriptedUpstream.openAiText("Bluebird ships Friday.", 8, 4));
        HttpResponse<String> r = http.post("/v1/chat/completions", platformKey, chat("gpt-ext", false, "When does Bluebird ship?"));
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-carapace-model")).hasValue("llama-local");
        RecordedRequest onLocal = local.take();
        assertThat(ScriptedUpstream.body(onLocal)).contains("When does Bluebird ship?");
        assertThat(record(r).privacyDecision()).isEqualTo("private");

        // research may only use the external model: refused, and nothing leaves.
        int before = external.requestCount();
        HttpResponse<String> refused = http.post("/v1/chat/completions", researchKey, chat("gpt-ext", false, "Status of bluebird?"));
        assertThat(refused.statusCode()).isEqualTo(403);
        assertThat(GatewayHarness.json(refused.body()).at("/error/code").asText()).isEqualTo("no_private_model");
        assertThat(GatewayHarness.json(refused.body()).at("/error/message").asText()).contains("confidential", "code_name");
        assertThat(external.requestCount()).isEqualTo(before);
    }

    @Test
    void scanApiReportsFindingsAndTheCallersActions() {
        String text = "Grüße 🙂 from eve@example.com, key sk-ant-api03-AbCdEf0123456789AbCdEf0123456789";
        HttpResponse<String> r = http.post("/api/privacy/scan", platformKey,
                "{\"text\":" + ScriptedUpstream.quote(text) + ",\"redact\":true}");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode body = GatewayHarness.json(r.body());
        JsonNode first = body.get("findings").get(0);
        assertThat(first.get("type").asText()).isEqualTo("email");
        assertThat(first.get("start").asInt()).isEqualTo(text.indexOf("eve@"));
        assertThat(first.get("end").asInt()).isEqualTo(text.indexOf(", key"));
        assertThat(first.get("action").asText()).isEqualTo("redact");
        assertThat(body.get("findings").get(1).get("class").asText()).isEqualTo("secret");
        assertThat(body.get("decision").asText()).isEqualTo("block");
        assertThat(body.get("redacted").asText()).isEqualTo("Grüße 🙂 from <EMAIL_1>, key <ANTHROPIC_KEY_1>");

        HttpResponse<String> bad = http.post("/api/privacy/scan", platformKey, "{\"txt\":\"x\"}");
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(bad.body()).contains("txt: unknown field");
        HttpResponse<String> twice = http.post("/api/privacy/scan", platformKey, "{\"text\":\"x\",\"text\":\"y\"}");
        assertThat(twice.statusCode()).isEqualTo(400);
        assertThat(twice.body()).contains("gives a field twice");
    }
}
