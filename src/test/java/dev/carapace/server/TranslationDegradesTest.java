package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.testing.ScriptedUpstream;
import dev.carapace.testing.SignedThinkingScript;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Over real HTTP: a request whose API differs from its upstream's is translated, and what cannot go is left out and
 * named in {@code x-carapace-dropped}, or refused by name when its loss would change the answer; {@code max_tokens}
 * above the model's limit is lowered to it and said in {@code x-carapace-clamped}; a request rebuilt after a
 * redaction keeps its signed thinking, which the upstream checks.
 */
class TranslationDegradesTest {

    @TempDir
    static Path dir;
    static GatewayHarness h;
    static SignedThinkingScript thinking;

    @BeforeAll
    static void start() throws Exception {
        h = new GatewayHarness(dir, """
                privacy:
                  actions: {redact: [pii]}
                server:
                  max_body_bytes: 300000
                """);
        thinking = new SignedThinkingScript("k", body -> new SignedThinkingScript.Answer("Done thinking.", "Noted.", null,
                40, 0, 5));
        h.claude.respond(thinking);
    }

    @AfterAll
    static void stop() { h.close(); }

    private static final String BETA = "interleaved-thinking-2025-05-14,context-management-2025-06-27";

    private static HttpResponse<String> messages(String body) {
        return h.post("/v1/messages", h.memberKey, body, "anthropic-version", "2023-06-01", "anthropic-beta", BETA);
    }

    @Test
    void anAnthropicRequestToAnOpenAiUpstreamLosesWhatItMustAndSaysSo() {
        h.a.enqueue(ScriptedUpstream.openAiText("hello", 20, 2));
        HttpResponse<String> r = messages("""
                {"model":"m-solo","max_tokens":100000,"thinking":{"type":"enabled","budget_tokens":2048},
                 "output_config":{"effort":"high"},"bad,key\\u00e9":1,
                 "tools":[{"name":"f","input_schema":{"type":"object"},"defer_loading":true}],
                 "messages":[{"role":"user","content":"hi"}]}""");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(GatewayHarness.json(r.body()).path("content").get(0).path("text").asText()).isEqualTo("hello");
        assertThat(r.headers().firstValue("x-carapace-dropped"))
                .hasValue("thinking,output_config,bad?key?,tools[].defer_loading,anthropic-beta");
        assertThat(r.headers().firstValue("x-carapace-clamped")).hasValue("max_tokens=100000->4096");
        JsonNode up = GatewayHarness.json(ScriptedUpstream.body(h.a.take()));
        assertThat(up.path("max_tokens").asInt()).isEqualTo(4096);
        assertThat(up.has("thinking")).isFalse();
        assertThat(up.toString()).doesNotContain("bad").doesNotContain("defer_loading");
    }

    @Test
    void whatALossWouldChangeIsRefusedByNameBeforeAnythingGoesUp() {
        int before = h.a.requestCount();
        HttpResponse<String> r = messages("""
                {"model":"m-solo","max_tokens":100,"messages":[{"role":"user","content":"news?"}],
                 "tools":[{"type":"web_search_20250305","name":"web_search","max_uses":2}]}""");
        assertThat(r.statusCode()).isEqualTo(400);
        JsonNode err = GatewayHarness.json(r.body());
        assertThat(err.path("type").asText()).isEqualTo("error");
        assertThat(err.path("error").path("type").asText()).isEqualTo("invalid_request_error");
        assertThat(err.path("error").path("message").asText()).startsWith("tools[0] ('web_search_20250305' tool): cannot"
                + " be sent to the chosen model, which is served by an OpenAI Chat Completions upstream");
        assertThat(h.a.requestCount()).isEqualTo(before);
    }

    @Test
    void anOpenAiRequestToAnAnthropicUpstreamDropsSamplingHintsAndRefusesAFormat() {
        HttpResponse<String> ok = h.post("/v1/chat/completions", h.memberKey, """
                {"model":"m-claude","seed":7,"presence_penalty":0.5,"max_completion_tokens":9000,
                 "messages":[{"role":"user","content":"hi"}]}""");
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
        assertThat(GatewayHarness.json(ok.body()).path("choices").get(0).path("message").path("content").asText())
                .isEqualTo("Noted.");
        assertThat(ok.headers().firstValue("x-carapace-dropped")).hasValue("seed,presence_penalty");
        assertThat(ok.headers().firstValue("x-carapace-clamped")).hasValue("max_tokens=9000->8192");
        JsonNode up = thinking.answered().getLast().body();
        assertThat(up.has("seed")).isFalse();
        assertThat(up.path("max_tokens").asInt()).isEqualTo(8192);

        HttpResponse<String> refused = h.post("/v1/chat/completions", h.memberKey, """
                {"model":"m-claude","response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{}}},
                 "messages":[{"role":"user","content":"hi"}]}""");
        assertThat(refused.statusCode()).isEqualTo(400);
        JsonNode err = GatewayHarness.json(refused.body()).path("error");
        assertThat(err.path("param").asText()).isEqualTo("response_format");
        assertThat(err.path("message").asText()).contains("Anthropic Messages upstream")
                .contains("would change what the request asks");
    }

    @Test
    void aRelayedRequestKeepsWhatCarapaceDoesNotModelAndNamesNothing() {
        h.a.enqueue(ScriptedUpstream.openAiText("relayed", 3, 1));
        HttpResponse<String> r = h.post("/v1/chat/completions", h.memberKey, """
                {"model":"m-solo","vendor_knob":{"level":3},"messages":[{"role":"user","content":"hi",
                 "reasoning_content":"earlier"}]}""");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-carapace-dropped")).isEmpty();
        JsonNode up = GatewayHarness.json(ScriptedUpstream.body(h.a.take()));
        assertThat(up.path("vendor_knob").path("level").asInt()).isEqualTo(3);
        assertThat(up.path("messages").get(0).path("reasoning_content").asText()).isEqualTo("earlier");
    }

    @Test
    void aStreamedRelayIsClampedAndSaysSoInItsHeaders() {
        HttpResponse<String> r = messages("""
                {"model":"m-claude","max_tokens":128000,"stream":true,"context_management":{"edits":[]},
                 "messages":[{"role":"user","content":"hi"}]}""");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-carapace-clamped")).hasValue("max_tokens=128000->8192");
        assertThat(r.headers().firstValue("x-carapace-dropped")).isEmpty();
        assertThat(GatewayHarness.frames(r.body())).extracting(GatewayHarness.Frame::event).contains("message_stop");
        // thinking reaches the client as the upstream sent it, signature and all
        assertThat(r.body()).contains("\"signature_delta\"").contains(thinking.sign("Done thinking."));
        JsonNode up = thinking.answered().getLast().body();
        assertThat(up.path("max_tokens").asInt()).isEqualTo(8192);
        assertThat(up.has("context_management")).isTrue();
    }

    @Test
    void aRelayedCompleteAnswerKeepsItsThinkingAsTheUpstreamWroteIt() {
        HttpResponse<String> r = messages("""
                {"model":"m-claude","max_tokens":1000,"thinking":{"type":"enabled","budget_tokens":512},
                 "messages":[{"role":"user","content":"hi"}]}""");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode block = GatewayHarness.json(r.body()).path("content").get(0);
        assertThat(block.path("type").asText()).isEqualTo("thinking");
        assertThat(block.path("thinking").asText()).isEqualTo("Done thinking.");
        assertThat(block.path("signature").asText()).isEqualTo(thinking.sign("Done thinking."));
        assertThat(GatewayHarness.json(r.body()).path("model").asText()).isEqualTo("m-claude");
    }

    @Test
    void aRedactedToolRoundKeepsItsSignedThinkingSoTheUpstreamAcceptsIt() {
        String signature = thinking.sign("Look it up.");
        HttpResponse<String> r = messages("""
                {"model":"m-claude","max_tokens":1000,"thinking":{"type":"enabled","budget_tokens":512},
                 "messages":[{"role":"user","content":"who owns the account?"},
                  {"role":"assistant","content":[{"type":"thinking","thinking":"Look it up.","signature":"%s"},
                   {"type":"tool_use","id":"toolu_9","name":"lookup","input":{"q":"owner"}}]},
                  {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_9",
                   "content":"owner: bob.smith@example.com"}]}],
                 "tools":[{"name":"lookup","input_schema":{"type":"object"}}]}""".formatted(signature));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode up = thinking.answered().getLast().body();
        assertThat(up.toString()).doesNotContain("bob.smith@example.com");   // redacted, so rebuilt, not relayed
        JsonNode assistant = up.path("messages").get(1);
        assertThat(assistant.path("content").get(0).path("signature").asText()).isEqualTo(signature);
        assertThat(up.path("thinking").path("budget_tokens").asInt()).isEqualTo(512);
        // the betas still describe what goes up, so they go too
        assertThat(thinking.answered().getLast().beta()).isEqualTo(BETA);
        assertThat(r.headers().firstValue("x-carapace-dropped")).isEmpty();
    }

    @Test
    void aRedactedRequestIsStillRelayedAndItsAnswerKeepsItsThinkingForTheNextTurn() {
        // The redacted body goes up with every field as it came, and the answer comes back in the upstream's own
        // frames: the client gets the thinking block and its signature, so its next turn can send them back.
        HttpResponse<String> r = messages("""
                {"model":"m-claude","max_tokens":1000,"thinking":{"type":"enabled","budget_tokens":512},
                 "context_management":{"edits":[{"type":"clear_thinking_20251015","keep":"all"}]},
                 "messages":[{"role":"user","content":"mail dave.brown@example.com a summary"}],
                 "tools":[{"name":"send","input_schema":{"type":"object"},"defer_loading":false}]}""");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-carapace-dropped")).isEmpty();
        JsonNode up = thinking.answered().getLast().body();
        assertThat(up.toString()).doesNotContain("dave.brown");
        assertThat(up.path("messages").get(0).path("content").asText()).isEqualTo("mail <EMAIL_1> a summary");
        assertThat(up.has("context_management")).isTrue();
        assertThat(up.path("tools").get(0).has("defer_loading")).isTrue();
        JsonNode content = GatewayHarness.json(r.body()).path("content");
        assertThat(content.get(0).path("type").asText()).isEqualTo("thinking");
        assertThat(content.get(0).path("signature").asText()).isEqualTo(thinking.sign(content.get(0).path("thinking").asText()));
    }

    @Test
    void textInABlockCarapaceDoesNotModelIsRedactedWhereItIs() {
        HttpResponse<String> r = messages("""
                {"model":"m-claude","max_tokens":100,"messages":[{"role":"user","content":[
                  {"type":"text","text":"summarize"},
                  {"type":"document","source":{"type":"text","media_type":"text/plain",
                   "data":"contact carol.jones@example.com"}}]}]}""");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(thinking.answered().getLast().body().path("messages").get(0).path("content").get(1).path("source")
                .path("data").asText()).isEqualTo("contact <EMAIL_1>");
        assertThat(thinking.seen()).noneMatch(s -> String.valueOf(s.body()).contains("carol.jones"));
    }

    @Test
    void dataARuleRedactsInAFieldCarapaceDoesNotModelIsRedactedThere() {
        int before = thinking.seen().size();
        HttpResponse<String> top = messages("""
                {"model":"m-claude","max_tokens":100,"messages":[{"role":"user","content":"hi"}],
                 "container":{"notes":"owner erin.white@example.com"}}""");
        HttpResponse<String> nested = messages("""
                {"model":"m-claude","max_tokens":100,"messages":[{"role":"user","content":"hi",
                 "annotation":"from frank.green@example.com"}]}""");
        h.a.enqueue(dev.carapace.testing.ScriptedUpstream.openAiText("ok", 3, 1));
        HttpResponse<String> openai = h.post("/v1/chat/completions", h.memberKey, """
                {"model":"m-solo","prediction":{"type":"content","content":"to grace.hall@example.com"},
                 "messages":[{"role":"user","content":"hi"}]}""");
        for (HttpResponse<String> r : List.of(top, nested, openai)) assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        // The fields go up where they were, with a placeholder for the value.
        assertThat(thinking.seen()).hasSize(before + 2);
        assertThat(thinking.seen().get(before).body().path("container").path("notes").asText()).isEqualTo("owner <EMAIL_1>");
        assertThat(thinking.seen().get(before + 1).body().path("messages").get(0).path("annotation").asText())
                .isEqualTo("from <EMAIL_1>");
        assertThat(thinking.seen()).noneMatch(s -> String.valueOf(s.body()).contains("example.com"));
        assertThat(dev.carapace.testing.ScriptedUpstream.body(h.a.take())).contains("to <EMAIL_1>").doesNotContain("grace.hall");
    }

    @Test
    void aHistoryThatLostItsThinkingIsRefusedByTheUpstreamInItsOwnWords() {
        HttpResponse<String> r = messages("""
                {"model":"m-claude","max_tokens":1000,"thinking":{"type":"enabled","budget_tokens":512},
                 "messages":[{"role":"user","content":"go"},
                  {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"lookup","input":{}}]},
                  {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"42"}]}],
                 "tools":[{"name":"lookup","input_schema":{"type":"object"}}]}""");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(GatewayHarness.json(r.body()).path("error").path("message").asText())
                .contains("messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`");
    }

    @Test
    void anUnknownFieldCountsAgainstTheBodyLimitAndADuplicateIsRefused() {
        HttpResponse<String> big = messages("{\"model\":\"m-claude\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\","
                + "\"content\":\"hi\"}],\"padding\":\"" + "x".repeat(400_000) + "\"}");
        assertThat(big.statusCode()).isEqualTo(413);
        assertThat(GatewayHarness.json(big.body()).path("error").path("type").asText()).isEqualTo("request_too_large");

        HttpResponse<String> dup = messages("{\"model\":\"m-claude\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\","
                + "\"content\":\"hi\"}],\"output_config\":{},\"output_config\":{\"format\":{}}}");
        assertThat(dup.statusCode()).isEqualTo(400);
        assertThat(GatewayHarness.json(dup.body()).path("error").path("message").asText())
                .contains("Duplicate field 'output_config'");
        assertThat(List.of(big.statusCode(), dup.statusCode())).doesNotContain(500);
    }
}
