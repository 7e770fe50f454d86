package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.store.UsageLog.UsageRecord;
import dev.carapace.testing.ScriptedUpstream;
import mockwebserver3.RecordedRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.carapace.server.GatewayHarness.chat;
import static dev.carapace.server.GatewayHarness.frames;
import static dev.carapace.server.GatewayHarness.json;
import static dev.carapace.server.GatewayHarness.messages;
import static dev.carapace.testing.ScriptedUpstream.anthropicFrames;
import static dev.carapace.testing.ScriptedUpstream.body;
import static dev.carapace.testing.ScriptedUpstream.chunk;
import static dev.carapace.testing.ScriptedUpstream.openAiFrames;
import static dev.carapace.testing.ScriptedUpstream.openAiText;
import static dev.carapace.testing.ScriptedUpstream.openAiTextStream;
import static dev.carapace.testing.ScriptedUpstream.sse;
import static org.assertj.core.api.Assertions.assertThat;

/** Both client APIs against both upstream kinds, through a real gateway over real HTTP. */
class GatewayEndToEndTest {

    @TempDir Path data;
    GatewayHarness h;

    @BeforeEach
    void start() throws Exception { h = new GatewayHarness(data); }

    @AfterEach
    void stop() { h.close(); }

    private UsageRecord record(HttpResponse<?> r) { return h.record(r); }

    @Test
    void openAiClientToOpenAiUpstream() {
        h.a.enqueue(openAiText("Hi!", 12, 3));
        HttpResponse<String> r = h.post("/v1/chat/completions", h.memberKey, chat("m-solo", false, ""));

        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode body = json(r.body());
        assertThat(body.at("/choices/0/message/content").asText()).isEqualTo("Hi!");
        assertThat(body.at("/model").asText()).isEqualTo("m-solo");
        assertThat(body.at("/usage/prompt_tokens").asInt()).isEqualTo(12);
        assertThat(r.headers().firstValue("x-carapace-deployment")).hasValue("a/up-model");

        RecordedRequest up = h.a.take();
        assertThat(up.getHeaders().get("authorization")).isEqualTo("Bearer secret-a");
        JsonNode sent = json(body(up));
        assertThat(sent.at("/model").asText()).isEqualTo("up-model");
        assertThat(sent.at("/messages/0/role").asText()).isEqualTo("system");

        UsageRecord rec = record(r);
        assertThat(rec.user()).isEqualTo("alice");
        assertThat(rec.team()).isEqualTo("platform");
        assertThat(rec.model()).isEqualTo("m-solo");
        assertThat(rec.tier()).isEqualTo("mid");
        assertThat(rec.deployment()).isEqualTo("a/up-model");
        assertThat(rec.inputTokens()).isEqualTo(12);
        assertThat(rec.outputTokens()).isEqualTo(3);
        assertThat(rec.estimated()).isFalse();
        assertThat(rec.status()).isEqualTo(200);
        assertThat(rec.keyPrefix()).startsWith("cpk_");
    }

    @Test
    void openAiClientStreamsFromAnthropicUpstreamWithParallelToolCalls() {
        h.claude.enqueue(sse(anthropicFrames(
                "message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-up\",\"content\":[],\"usage\":{\"input_tokens\":40,\"output_tokens\":1,\"cache_read_input_tokens\":10}}}",
                "content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}",
                "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Checking.\"}}",
                "content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}",
                "content_block_start", "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"weather\",\"input\":{}}}",
                "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"city\\\":\"}}",
                "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\\\"Oslo\\\"}\"}}",
                "content_block_stop", "{\"type\":\"content_block_stop\",\"index\":1}",
                "content_block_start", "{\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_2\",\"name\":\"time\",\"input\":{}}}",
                "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"tz\\\":\\\"CET\\\"}\"}}",
                "content_block_stop", "{\"type\":\"content_block_stop\",\"index\":2}",
                "message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":25}}",
                "message_stop", "{\"type\":\"message_stop\"}"), 0));
        String tools = ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"weather\",\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}}},"
                + "{\"type\":\"function\",\"function\":{\"name\":\"time\",\"parameters\":{\"type\":\"object\"}}}]";
        HttpResponse<String> r = h.post("/v1/chat/completions", h.memberKey, chat("m-claude", true, tools));

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type").orElse("")).startsWith("text/event-stream");
        List<GatewayHarness.Frame> frames = frames(r.body());
        assertThat(frames.get(frames.size() - 1).data()).isEqualTo("[DONE]");
        StringBuilder text = new StringBuilder();
        Map<Integer, StringBuilder> args = new java.util.TreeMap<>();
        Map<Integer, String> names = new java.util.TreeMap<>();
        String finish = null;
        for (GatewayHarness.Frame f : frames.subList(0, frames.size() - 1)) {
            JsonNode c = f.json();
            assertThat(c.at("/object").asText()).isEqualTo("chat.completion.chunk");
            assertThat(c.has("usage") && !c.get("usage").isNull()).as("no usage chunk unless asked").isFalse();
            JsonNode choice = c.at("/choices/0");
            if (choice.at("/delta/content").isTextual()) text.append(choice.at("/delta/content").asText());
            for (JsonNode tc : choice.at("/delta/tool_calls")) {
                int i = tc.get("index").asInt();
                if (tc.at("/function/name").isTextual()) names.put(i, tc.at("/function/name").asText());
                args.computeIfAbsent(i, k -> new StringBuilder()).append(tc.at("/function/arguments").asText(""));
            }
            if (choice.at("/finish_reason").isTextual()) finish = choice.at("/finish_reason").asText();
        }
        assertThat(text.toString()).isEqualTo("Checking.");
        assertThat(names).isEqualTo(Map.of(0, "weather", 1, "time"));
        assertThat(json(args.get(0).toString())).isEqualTo(json("{\"city\":\"Oslo\"}"));
        assertThat(json(args.get(1).toString())).isEqualTo(json("{\"tz\":\"CET\"}"));
        assertThat(finish).isEqualTo("tool_calls");

        RecordedRequest up = h.claude.take();
        assertThat(up.getUrl().encodedPath()).isEqualTo("/v1/messages");
        assertThat(up.getHeaders().get("x-api-key")).isEqualTo("secret-claude");
        JsonNode sent = json(body(up));
        assertThat(sent.at("/system/0/text").asText("") + sent.at("/system").asText("")).contains("be brief");
        assertThat(sent.at("/tools/0/input_schema/type").asText()).isEqualTo("object");
        assertThat(sent.at("/max_tokens").asInt()).isEqualTo(8192);

        UsageRecord rec = record(r);
        assertThat(rec.inputTokens()).isEqualTo(50);
        assertThat(rec.cachedInputTokens()).isEqualTo(10);
        assertThat(rec.outputTokens()).isEqualTo(25);
        assertThat(rec.estimated()).isFalse();
        assertThat(rec.ttftMicros()).isNotNull().isPositive();
    }

    @Test
    void anthropicClientStreamsFromOpenAiUpstream() {
        h.a.enqueue(sse(openAiTextStream(List.of("Hel", "lo", "!"), 9, 3), 5));
        HttpResponse<String> r = h.post("/v1/messages", h.memberKey, messages("m-solo", true, ""),
                "anthropic-version", "2023-06-01");

        assertThat(r.statusCode()).isEqualTo(200);
        List<GatewayHarness.Frame> frames = frames(r.body());
        assertThat(frames.get(0).event()).isEqualTo("message_start");
        assertThat(frames.get(frames.size() - 1).event()).isEqualTo("message_stop");
        StringBuilder text = new StringBuilder();
        JsonNode delta = null;
        for (GatewayHarness.Frame f : frames) {
            assertThat(f.json().get("type").asText()).isEqualTo(f.event());
            if (f.event().equals("content_block_delta")) text.append(f.json().at("/delta/text").asText());
            if (f.event().equals("message_delta")) delta = f.json();
        }
        assertThat(text.toString()).isEqualTo("Hello!");
        assertThat(delta).isNotNull();
        assertThat(delta.at("/delta/stop_reason").asText()).isEqualTo("end_turn");
        assertThat(delta.at("/usage/output_tokens").asInt()).isEqualTo(3);
        // message_start cannot have the upstream's count yet (it comes at the end): it has Carapace's own, not 0,
        // and message_delta then carries the upstream's
        assertThat(frames.get(0).json().at("/message/usage/input_tokens").asInt()).isBetween(5, 30);
        assertThat(delta.at("/usage/input_tokens").asInt()).isEqualTo(9);

        JsonNode sent = json(body(h.a.take()));
        assertThat(sent.at("/stream_options/include_usage").asBoolean())
                .as("Carapace asks the upstream for usage even when the client did not").isTrue();
    }

    @Test
    void anthropicClientToAnthropicUpstreamNonStreaming() {
        h.claude.enqueue(ScriptedUpstream.anthropicText("Bonjour", 20, 4));
        HttpResponse<String> r = h.post("/v1/messages", h.memberKey, messages("m-claude", false, ""),
                "anthropic-version", "2023-06-01");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode body = json(r.body());
        assertThat(body.at("/type").asText()).isEqualTo("message");
        assertThat(body.at("/content/0/text").asText()).isEqualTo("Bonjour");
        assertThat(body.at("/usage/input_tokens").asInt()).isEqualTo(20);
        assertThat(body.at("/stop_reason").asText()).isEqualTo("end_turn");
        assertThat(r.headers().firstValue("request-id")).isPresent();
    }

    @Test
    void usageChunkIsForwardedOnlyWhenTheClientAskedForIt() {
        h.a.enqueue(sse(openAiTextStream(List.of("a", "b"), 7, 2), 0));
        HttpResponse<String> r = h.post("/v1/chat/completions", h.memberKey,
                chat("m-solo", true, ",\"stream_options\":{\"include_usage\":true}"));
        List<GatewayHarness.Frame> frames = frames(r.body());
        JsonNode last = frames.get(frames.size() - 2).json();
        assertThat(last.at("/choices").size()).isZero();
        assertThat(last.at("/usage/prompt_tokens").asInt()).isEqualTo(7);
        assertThat(last.at("/usage/completion_tokens").asInt()).isEqualTo(2);
    }

    @Test
    void streamWithoutUsageIsCountedAndMarkedEstimated() {
        h.a.enqueue(sse(openAiTextStream(List.of("The quick brown fox ", "jumps over the lazy dog."), null, null), 0));
        HttpResponse<String> r = h.post("/v1/chat/completions", h.memberKey, chat("m-solo", true, ""));
        assertThat(r.statusCode()).isEqualTo(200);
        UsageRecord rec = record(r);
        assertThat(rec.estimated()).isTrue();
        assertThat(rec.outputTokens()).isBetween(8L, 14L);   // 10 tokens in o200k
        assertThat(rec.inputTokens()).isBetween(5L, 30L);
    }

    @Test
    void failsOverBeforeTheFirstByte() {
        AtomicInteger calls = new AtomicInteger();
        java.util.function.Function<RecordedRequest, mockwebserver3.MockResponse> firstFails = req ->
                calls.incrementAndGet() == 1
                        ? ScriptedUpstream.json(500, "{\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}")
                        : openAiText("from the other one", 5, 4);
        h.a.respond(firstFails);
        h.b.respond(firstFails);

        HttpResponse<String> r = h.post("/v1/chat/completions", h.memberKey, chat("m-mid", false, ""));

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(json(r.body()).at("/choices/0/message/content").asText()).isEqualTo("from the other one");
        assertThat(h.a.requestCount() + h.b.requestCount()).isEqualTo(2);
        assertThat(h.a.requestCount()).isEqualTo(1);
        assertThat(h.b.requestCount()).isEqualTo(1);
        assertThat(h.get("/metrics", h.adminKey).body()).contains("carapace_deployment_cooldowns_total");
    }

    @Test
    void neverRetriesOnceTheFirstByteReachedTheClient() {
        AtomicInteger calls = new AtomicInteger();
        java.util.function.Function<RecordedRequest, mockwebserver3.MockResponse> firstDrops = req ->
                calls.incrementAndGet() == 1
                        ? ScriptedUpstream.sseThenDrop(List.of(
                                "data: " + chunk("{\"role\":\"assistant\",\"content\":\"\"}", null) + "\n\n",
                                "data: " + chunk("{\"content\":\"partial\"}", null) + "\n\n"))
                        : sse(openAiTextStream(List.of("whole"), 1, 1), 0);
        h.a.respond(firstDrops);
        h.b.respond(firstDrops);

        HttpResponse<String> r = h.post("/v1/chat/completions", h.memberKey, chat("m-mid", true, ""));

        assertThat(r.statusCode()).isEqualTo(200);
        List<GatewayHarness.Frame> frames = frames(r.body());
        assertThat(r.body()).contains("partial").doesNotContain("whole");
        JsonNode last = frames.get(frames.size() - 1).json();
        assertThat(last.at("/error/message").asText()).isNotEmpty();
        assertThat(calls.get()).isEqualTo(1);
        UsageRecord rec = record(r);
        assertThat(rec.status()).isEqualTo(502);
        assertThat(rec.estimated()).isTrue();
        assertThat(rec.outputTokens()).isPositive();
    }

    @Test
    void upstreamRetryAfterCoolsTheDeploymentAndItRecovers() throws Exception {
        h.a.enqueue(ScriptedUpstream.json(429, "{\"error\":{\"message\":\"slow down\",\"type\":\"rate_limit_error\"}}",
                "retry-after-ms", "400"));
        h.a.enqueue(openAiText("back", 1, 1));

        HttpResponse<String> first = h.post("/v1/chat/completions", h.memberKey, chat("m-solo", false, ""));
        assertThat(first.statusCode()).isEqualTo(429);
        assertThat(first.headers().firstValue("retry-after")).isPresent();
        assertThat(Long.parseLong(first.headers().firstValue("retry-after-ms").orElseThrow())).isBetween(1L, 400L);
        assertThat(json(first.body()).at("/error/type").asText()).isEqualTo("rate_limit_error");

        HttpResponse<String> during = h.post("/v1/chat/completions", h.memberKey, chat("m-solo", false, ""));
        assertThat(during.statusCode()).isEqualTo(503);
        assertThat(during.headers().firstValue("retry-after")).isPresent();
        assertThat(h.a.requestCount()).as("a cooling deployment is not called").isEqualTo(1);

        Thread.sleep(450);
        HttpResponse<String> after = h.post("/v1/chat/completions", h.memberKey, chat("m-solo", false, ""));
        assertThat(after.statusCode()).isEqualTo(200);
        assertThat(h.a.requestCount()).isEqualTo(2);
    }

    @Test
    void sessionAffinityKeepsAConversationOnOneDeployment() {
        h.a.respond(req -> openAiText("a", 1, 1));
        h.b.respond(req -> openAiText("b", 1, 1));
        String first = null;
        for (int i = 0; i < 12; i++) {
            HttpResponse<String> r = h.post("/v1/chat/completions", h.memberKey, chat("m-mid", false, ""),
                    "x-session-id", "conversation-42");
            String d = r.headers().firstValue("x-carapace-deployment").orElseThrow();
            if (first == null) first = d;
            assertThat(d).isEqualTo(first);
        }
        java.util.Set<String> used = new java.util.HashSet<>();
        for (int i = 0; i < 24; i++) {
            used.add(h.post("/v1/chat/completions", h.memberKey, chat("m-mid", false, ""), "x-session-id", "s-" + i)
                    .headers().firstValue("x-carapace-deployment").orElseThrow());
        }
        assertThat(used).containsExactlyInAnyOrder("a/up-model", "b/up-model");
    }

    @Test
    void tiersResolveAndTeamsAreRestricted() {
        h.claude.respond(req -> ScriptedUpstream.anthropicText("high", 1, 1));
        h.a.respond(req -> openAiText("mid", 1, 1));
        h.b.respond(req -> openAiText("mid", 1, 1));

        HttpResponse<String> byTier = h.post("/v1/chat/completions", h.memberKey, chat("tier:high", false, ""));
        assertThat(byTier.statusCode()).isEqualTo(200);
        assertThat(json(byTier.body()).at("/model").asText()).isEqualTo("m-claude");

        HttpResponse<String> denied = h.post("/v1/chat/completions", h.researchKey, chat("m-claude", false, ""));
        assertThat(denied.statusCode()).isEqualTo(403);
        assertThat(json(denied.body()).at("/error/message").asText()).contains("research").contains("high").contains("mid");
        assertThat(denied.headers().firstValue("x-should-retry")).hasValue("false");

        HttpResponse<String> deniedTier = h.post("/v1/chat/completions", h.researchKey, chat("tier:ultra", false, ""));
        assertThat(deniedTier.statusCode()).isEqualTo(403);

        assertThat(h.post("/v1/chat/completions", h.researchKey, chat("tier:mid", false, "")).statusCode()).isEqualTo(200);

        HttpResponse<String> unknown = h.post("/v1/chat/completions", h.memberKey, chat("gpt-9", false, ""));
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(json(unknown.body()).at("/error/code").asText()).isEqualTo("model_not_found");
        assertThat(h.post("/v1/chat/completions", h.memberKey, chat("tier:nope", false, "")).statusCode()).isEqualTo(404);

        JsonNode models = json(h.get("/v1/models", h.researchKey).body());
        assertThat(models.at("/object").asText()).isEqualTo("list");
        List<String> ids = new java.util.ArrayList<>();
        models.at("/data").forEach(m -> ids.add(m.get("id").asText()));
        assertThat(ids).containsExactly("m-mid", "m-solo");
        JsonNode anthropicModels = json(h.get("/v1/models", h.memberKey, "anthropic-version", "2023-06-01").body());
        assertThat(anthropicModels.at("/data/0/type").asText()).isEqualTo("model");
        assertThat(anthropicModels.at("/has_more").asBoolean()).isFalse();
    }

    @Test
    void keyLifecycleOverTheApi() {
        h.a.respond(req -> openAiText("ok", 1, 1));
        // a key's name is read by people in lists: no control or format characters (found by a tester)
        HttpResponse<String> badName = h.post("/api/keys", h.adminKey,
                "{\"user\":\"bob\",\"team\":\"research\",\"name\":\"evil\\u0000\\u202e\\nINJECT\"}");
        assertThat(badName.statusCode()).as(badName.body()).isEqualTo(400);
        assertThat(badName.body()).contains("name: control, format and other invisible characters are not allowed");
        // found by a tester: the /api bodies skipped the UTF-8 check (a UTF-16 body made a key), and an exponent no
        // Java decimal holds was a 500 (Jackson's unchecked NumberFormatException)
        HttpResponse<String> utf16 = h.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(h.url("/api/keys")))
                .header("authorization", "Bearer " + h.adminKey).header("content-type", "application/json")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray("{\"user\":\"u16\",\"team\":\"research\"}"
                        .getBytes(java.nio.charset.StandardCharsets.UTF_16LE))).build());
        assertThat(utf16.statusCode()).as(utf16.body()).isEqualTo(400);
        assertThat(utf16.body()).contains("not UTF-8");
        for (String n : new String[] {"1e99999999999", "1e-2147483649"}) {
            HttpResponse<String> huge = h.post("/api/keys", h.adminKey, "{\"user\":\"bob\",\"team\":\"research\",\"x\":" + n + "}");
            assertThat(huge.statusCode()).as(huge.body()).isEqualTo(400);
            assertThat(huge.body()).contains("exponent is out of range");
        }
        HttpResponse<String> created = h.post("/api/keys", h.adminKey, "{\"user\":\"bob\",\"team\":\"research\"}");
        assertThat(created.statusCode()).isEqualTo(201);
        String key = json(created.body()).get("key").asText();
        String prefix = json(created.body()).get("prefix").asText();
        assertThat(key).startsWith(prefix + "_");

        assertThat(h.post("/v1/chat/completions", key, chat("m-solo", false, "")).statusCode()).isEqualTo(200);
        JsonNode me = json(h.get("/api/me", key).body());
        assertThat(me.get("user").asText()).isEqualTo("bob");
        assertThat(me.get("team").asText()).isEqualTo("research");

        String listed = h.get("/api/keys", h.adminKey).body();
        HttpResponse<String> withQuery = h.get("/api/keys?user=bob", h.adminKey);
        assertThat(withQuery.statusCode()).as("a filter it does not have is refused, not ignored").isEqualTo(400);
        assertThat(withQuery.body()).contains("user: unknown parameter");
        assertThat(listed).contains(prefix).doesNotContain(key);
        assertThat(h.post("/api/keys", key, "{\"user\":\"eve\",\"team\":\"platform\"}").statusCode())
                .as("members cannot create keys").isEqualTo(403);

        var revoke = h.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(h.url("/api/keys/" + prefix)))
                .header("authorization", "Bearer " + h.adminKey).DELETE().build());
        assertThat(revoke.statusCode()).isEqualTo(200);

        HttpResponse<String> after = h.post("/v1/chat/completions", key, chat("m-solo", false, ""));
        assertThat(after.statusCode()).isEqualTo(401);
        assertThat(json(after.body()).at("/error/code").asText()).isEqualTo("revoked_api_key");
        assertThat(after.body()).doesNotContain(key);

        HttpResponse<String> anthropic = h.post("/v1/messages", "cpk_nothing_here", messages("m-solo", false, ""));
        assertThat(anthropic.statusCode()).isEqualTo(401);
        assertThat(json(anthropic.body()).at("/type").asText()).isEqualTo("error");
        assertThat(json(anthropic.body()).at("/error/type").asText()).isEqualTo("authentication_error");
        assertThat(h.post("/v1/chat/completions", null, chat("m-solo", false, "")).statusCode()).isEqualTo(401);
    }

    @Test
    void silentUpstreamTimesOutAndFailsOver() {
        AtomicInteger calls = new AtomicInteger();
        java.util.function.Function<RecordedRequest, mockwebserver3.MockResponse> firstHangs = req ->
                calls.incrementAndGet() == 1 ? ScriptedUpstream.delayed(openAiText("late", 1, 1), 3000)
                        : openAiText("on time", 1, 1);
        h.a.respond(firstHangs);
        h.b.respond(firstHangs);
        HttpResponse<String> r = h.post("/v1/chat/completions", h.memberKey, chat("m-mid", false, ""));
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(json(r.body()).at("/choices/0/message/content").asText()).isEqualTo("on time");
    }

    @Test
    void maxTokensAboveTheModelLimitIsLoweredToItAndSaid() {
        h.a.enqueue(ScriptedUpstream.openAiText("ok", 5, 1));
        HttpResponse<String> r = h.post("/v1/chat/completions", h.memberKey, chat("m-solo", false, ",\"max_tokens\":100000"));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-carapace-clamped")).hasValue("max_tokens=100000->4096");
        assertThat(json(ScriptedUpstream.body(h.a.take())).path("max_tokens").asInt()).isEqualTo(4096);
    }
}
