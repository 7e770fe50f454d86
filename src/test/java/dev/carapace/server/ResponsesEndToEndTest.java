package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.store.UsageLog.UsageRecord;
import dev.carapace.testing.ScriptedUpstream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.carapace.server.GatewayHarness.frames;
import static dev.carapace.server.GatewayHarness.json;
import static dev.carapace.testing.ScriptedUpstream.body;
import static dev.carapace.testing.ScriptedUpstream.sse;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code POST /v1/responses} through a real Carapace: translated to a Chat Completions upstream and to an Anthropic
 * one, relayed to a Responses upstream, streamed and not; a function-call round; the stored chain
 * ({@code previous_response_id}, {@code GET}/{@code DELETE}), private to its key; and every call metered with the
 * upstream's own figures.
 */
class ResponsesEndToEndTest {

    @TempDir Path data;
    GatewayHarness h;

    @BeforeEach
    void start() throws Exception { h = new GatewayHarness(data); }

    @AfterEach
    void stop() { h.close(); }

    private HttpResponse<String> responses(String key, String body, String... headers) {
        return h.post("/v1/responses", key, body, headers);
    }

    @Test
    void aPlainAnswerFromAChatUpstreamIsAResponseObjectMeteredExactly() {
        h.a.enqueue(ScriptedUpstream.openAiText("hello there", 11, 3));
        HttpResponse<String> r = responses(h.memberKey, """
                {"model":"m-solo","instructions":"be brief","input":"say hi","store":false,"max_output_tokens":64}""");

        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode up = json(body(h.a.take()));
        assertThat(up.at("/messages/0/role").asText()).isEqualTo("system");
        assertThat(up.at("/messages/0/content").asText()).isEqualTo("be brief");
        assertThat(up.at("/messages/1/content").asText()).isEqualTo("say hi");
        assertThat(up.at("/max_tokens").asInt()).isEqualTo(64);

        JsonNode resp = json(r.body());
        assertThat(resp.at("/object").asText()).isEqualTo("response");
        assertThat(resp.at("/id").asText()).startsWith("resp_");
        assertThat(resp.at("/status").asText()).isEqualTo("completed");
        assertThat(resp.at("/model").asText()).isEqualTo("m-solo");
        assertThat(resp.at("/output/0/type").asText()).isEqualTo("message");
        assertThat(resp.at("/output/0/role").asText()).isEqualTo("assistant");
        assertThat(resp.at("/output/0/content/0/type").asText()).isEqualTo("output_text");
        assertThat(resp.at("/output/0/content/0/text").asText()).isEqualTo("hello there");
        assertThat(resp.at("/usage/input_tokens").asLong()).isEqualTo(11);
        assertThat(resp.at("/usage/output_tokens").asLong()).isEqualTo(3);
        assertThat(resp.at("/usage/total_tokens").asLong()).isEqualTo(14);
        assertThat(resp.at("/store").asBoolean()).isFalse();

        UsageRecord rec = h.record(r);
        assertThat(rec.api()).isEqualTo("responses");
        assertThat(rec.inputTokens()).isEqualTo(11);
        assertThat(rec.outputTokens()).isEqualTo(3);
        assertThat(rec.estimated()).isFalse();
        assertThat(rec.status()).isEqualTo(200);
    }

    @Test
    void aStreamFromAnAnthropicUpstreamIsTheResponsesEventSequence() {
        h.claude.enqueue(sse(ScriptedUpstream.anthropicTextStream(List.of("Hel", "lo"), 9, 4), 0));
        HttpResponse<String> r = responses(h.memberKey, """
                {"model":"m-claude","input":[{"role":"developer","content":"be brief"},
                 {"type":"message","role":"user","content":[{"type":"input_text","text":"say hi"}]}],"stream":true}""");

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type").orElseThrow()).startsWith("text/event-stream");
        JsonNode up = json(body(h.claude.take()));
        assertThat(up.at("/system").toString()).contains("be brief");
        assertThat(up.at("/messages/0/role").asText()).isEqualTo("user");

        List<GatewayHarness.Frame> events = frames(r.body());
        List<String> types = new ArrayList<>();
        for (int i = 0; i < events.size(); i++) {
            JsonNode e = events.get(i).json();
            assertThat(events.get(i).event()).isEqualTo(e.get("type").asText());
            assertThat(e.get("sequence_number").asInt()).isEqualTo(i);
            types.add(e.get("type").asText());
        }
        assertThat(types).containsExactly("response.created", "response.in_progress", "response.output_item.added",
                "response.content_part.added", "response.output_text.delta", "response.output_text.delta",
                "response.output_text.done", "response.content_part.done", "response.output_item.done",
                "response.completed");
        JsonNode done = events.get(events.size() - 1).json().get("response");
        assertThat(done.at("/status").asText()).isEqualTo("completed");
        assertThat(done.at("/output/0/content/0/text").asText()).isEqualTo("Hello");
        assertThat(done.at("/usage/input_tokens").asLong()).isEqualTo(9);
        assertThat(done.at("/usage/output_tokens").asLong()).isEqualTo(4);
        assertThat(events.get(6).json().get("text").asText()).isEqualTo("Hello");
        // every event of one answer names the same item and response
        assertThat(events.get(0).json().at("/response/id").asText()).isEqualTo(done.at("/id").asText());
        assertThat(events.get(4).json().get("item_id").asText()).isEqualTo(done.at("/output/0/id").asText());

        // stored (store is the API's default) as the last event showed it
        JsonNode stored = json(h.get("/v1/responses/" + done.at("/id").asText(), h.memberKey).body());
        assertThat(stored).isEqualTo(done);

        UsageRecord rec = h.record(r);
        assertThat(rec.inputTokens()).isEqualTo(9);
        assertThat(rec.outputTokens()).isEqualTo(4);
        assertThat(rec.stream()).isTrue();
        assertThat(rec.estimated()).isFalse();
    }

    @Test
    void aFunctionCallRoundTripsThroughAChatUpstream() {
        h.a.enqueue(sse(ScriptedUpstream.openAiToolCallStream(new ScriptedUpstream.ToolCall("call_7", "get_weather",
                "{\"city\":\"Paris\"}")), 0));
        String tools = """
                "tools":[{"type":"function","name":"get_weather","description":"Weather now","strict":true,
                  "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],
                  "additionalProperties":false}}],"tool_choice":"auto","parallel_tool_calls":false""";
        HttpResponse<String> first = responses(h.memberKey, """
                {"model":"m-solo","input":"weather in Paris?","stream":true,%s}""".formatted(tools));
        assertThat(first.statusCode()).isEqualTo(200);
        JsonNode up1 = json(body(h.a.take()));
        assertThat(up1.at("/tools/0/function/name").asText()).isEqualTo("get_weather");
        assertThat(up1.at("/parallel_tool_calls").asBoolean(true)).isFalse();

        List<GatewayHarness.Frame> events = frames(first.body());
        List<String> types = events.stream().map(GatewayHarness.Frame::event).toList();
        assertThat(types).containsSubsequence("response.output_item.added", "response.function_call_arguments.delta",
                "response.function_call_arguments.done", "response.output_item.done", "response.completed");
        JsonNode call = events.get(events.size() - 1).json().at("/response/output/0");
        assertThat(call.get("type").asText()).isEqualTo("function_call");
        assertThat(call.get("call_id").asText()).isEqualTo("call_7");
        assertThat(call.get("name").asText()).isEqualTo("get_weather");
        assertThat(json(call.get("arguments").asText()).get("city").asText()).isEqualTo("Paris");

        h.a.enqueue(ScriptedUpstream.openAiText("It is sunny.", 40, 5));
        HttpResponse<String> second = responses(h.memberKey, """
                {"model":"m-solo","input":[{"role":"user","content":"weather in Paris?"},
                  {"type":"function_call","id":"fc_1","call_id":"call_7","name":"get_weather","arguments":"{\\"city\\":\\"Paris\\"}","status":"completed"},
                  {"type":"function_call_output","call_id":"call_7","output":"sunny, 21C"}],%s}""".formatted(tools));
        assertThat(second.statusCode()).isEqualTo(200);
        JsonNode up2 = json(body(h.a.take()));
        assertThat(up2.at("/messages/1/role").asText()).isEqualTo("assistant");
        assertThat(up2.at("/messages/1/tool_calls/0/id").asText()).isEqualTo("call_7");
        assertThat(up2.at("/messages/2/role").asText()).isEqualTo("tool");
        assertThat(up2.at("/messages/2/tool_call_id").asText()).isEqualTo("call_7");
        assertThat(up2.at("/messages/2/content").asText()).isEqualTo("sunny, 21C");
        assertThat(json(second.body()).at("/output/0/content/0/text").asText()).isEqualTo("It is sunny.");
        assertThat(h.record(second).inputTokens()).isEqualTo(40);
    }

    /** An answer as a Responses upstream streams it: reasoning kept encrypted, a function call, cached and reasoning usage. */
    static List<String> responsesUpstreamStream() {
        return ScriptedUpstream.anthropicFrames(
                "response.created", "{\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_up1\",\"object\":\"response\",\"status\":\"in_progress\",\"model\":\"up-resp\",\"output\":[]}}",
                "response.output_item.added", "{\"type\":\"response.output_item.added\",\"sequence_number\":1,\"output_index\":0,\"item\":{\"id\":\"rs_1\",\"type\":\"reasoning\",\"summary\":[]}}",
                "response.output_item.done", "{\"type\":\"response.output_item.done\",\"sequence_number\":2,\"output_index\":0,\"item\":{\"id\":\"rs_1\",\"type\":\"reasoning\",\"summary\":[],\"encrypted_content\":\"gAAAA-opaque\"}}",
                "response.output_item.added", "{\"type\":\"response.output_item.added\",\"sequence_number\":3,\"output_index\":1,\"item\":{\"id\":\"fc_9\",\"type\":\"function_call\",\"status\":\"in_progress\",\"call_id\":\"call_9\",\"name\":\"exec_command\",\"arguments\":\"\"}}",
                "response.function_call_arguments.delta", "{\"type\":\"response.function_call_arguments.delta\",\"sequence_number\":4,\"item_id\":\"fc_9\",\"output_index\":1,\"delta\":\"{\\\"cmd\\\":\\\"ls\\\"}\"}",
                "response.output_item.done", "{\"type\":\"response.output_item.done\",\"sequence_number\":5,\"output_index\":1,\"item\":{\"id\":\"fc_9\",\"type\":\"function_call\",\"status\":\"completed\",\"call_id\":\"call_9\",\"name\":\"exec_command\",\"arguments\":\"{\\\"cmd\\\":\\\"ls\\\"}\"}}",
                "response.completed", "{\"type\":\"response.completed\",\"sequence_number\":6,\"response\":{\"id\":\"resp_up1\",\"object\":\"response\",\"status\":\"completed\",\"model\":\"up-resp\",\"output\":[{\"id\":\"rs_1\",\"type\":\"reasoning\",\"summary\":[],\"encrypted_content\":\"gAAAA-opaque\"},{\"id\":\"fc_9\",\"type\":\"function_call\",\"status\":\"completed\",\"call_id\":\"call_9\",\"name\":\"exec_command\",\"arguments\":\"{\\\"cmd\\\":\\\"ls\\\"}\"}],\"usage\":{\"input_tokens\":120,\"input_tokens_details\":{\"cached_tokens\":100},\"output_tokens\":30,\"output_tokens_details\":{\"reasoning_tokens\":20},\"total_tokens\":150}}}");
    }

    @Test
    void aResponsesUpstreamGetsTheClientsOwnRequestAndItsStreamComesBackAsItCame() {
        List<String> upstream = responsesUpstreamStream();
        h.resp.enqueue(sse(upstream, 0));
        String request = """
                {"model":"m-resp","input":[{"type":"reasoning","id":"rs_0","summary":[],"encrypted_content":"gAAAA-earlier"},
                 {"role":"user","content":"list files"}],"stream":true,"store":false,"include":["reasoning.encrypted_content"],
                 "reasoning":{"summary":"auto"},"prompt_cache_key":"sess-1",
                 "tools":[{"type":"function","name":"exec_command","strict":false,"parameters":{"type":"object","properties":{}}},
                          {"type":"web_search","external_web_access":true}]}""";
        HttpResponse<String> r = responses(h.memberKey, request);
        assertThat(r.statusCode()).isEqualTo(200);

        var recorded = h.resp.take();
        assertThat(recorded.getUrl().encodedPath()).isEqualTo("/v1/responses");
        assertThat(recorded.getHeaders().get("authorization")).isEqualTo("Bearer secret-resp");
        JsonNode up = json(body(recorded));
        JsonNode expected = json(request);
        ((com.fasterxml.jackson.databind.node.ObjectNode) expected).put("model", "up-resp");
        assertThat(up).isEqualTo(expected);   // reasoning, hosted tool and all: only the model changed

        String expectedBody = String.join("", upstream).replace("\"model\":\"up-resp\"", "\"model\":\"m-resp\"");
        assertThat(r.body()).isEqualTo(expectedBody);
        assertThat(r.headers().firstValue("x-carapace-dropped")).isEmpty();   // relayed: nothing left out

        UsageRecord rec = h.record(r);
        assertThat(rec.inputTokens()).isEqualTo(120);
        assertThat(rec.cachedInputTokens()).isEqualTo(100);
        assertThat(rec.outputTokens()).isEqualTo(30);
        assertThat(rec.reasoningTokens()).isEqualTo(20);
        assertThat(rec.deployment()).contains("resp");
    }

    @Test
    void aRelayedStreamCutMidWayEndsWithResponseFailedInSequence() {
        List<String> frames = responsesUpstreamStream();
        h.resp.enqueue(ScriptedUpstream.sseThenDrop(frames.subList(0, 3)));
        HttpResponse<String> r = responses(h.memberKey, "{\"model\":\"m-resp\",\"input\":\"x\",\"stream\":true,\"store\":false}");
        assertThat(r.statusCode()).isEqualTo(200);
        List<GatewayHarness.Frame> events = frames(r.body());
        assertThat(events).hasSize(4);
        JsonNode failed = events.get(3).json();
        assertThat(failed.get("type").asText()).isEqualTo("response.failed");
        assertThat(failed.get("sequence_number").asInt()).isEqualTo(3);
        assertThat(failed.at("/response/status").asText()).isEqualTo("failed");
        assertThat(failed.at("/response/error/code").asText()).isNotEmpty();
        assertThat(h.record(r).status()).isNotEqualTo(200);
    }

    @Test
    void aStoredResponseIsSentUpStoreFalseAndAskedForItsEncryptedReasoning() {
        h.resp.enqueue(sse(responsesUpstreamStream(), 0));
        HttpResponse<String> r = responses(h.memberKey, """
                {"model":"m-resp","input":"list files","stream":true}""");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode up = json(body(h.resp.take()));
        assertThat(up.get("store").asBoolean(true)).isFalse();
        assertThat(up.get("include").toString()).contains("reasoning.encrypted_content");
        assertThat(up.has("previous_response_id")).isFalse();

        // the stored chain, rebuilt by Carapace, carries the reasoning item back with its encrypted content
        h.resp.enqueue(sse(responsesUpstreamStream(), 0));
        HttpResponse<String> next = responses(h.memberKey, """
                {"model":"m-resp","previous_response_id":"resp_up1","stream":true,
                 "input":[{"type":"function_call_output","call_id":"call_9","output":"a.txt"}]}""");
        assertThat(next.statusCode()).isEqualTo(200);
        JsonNode up2 = json(body(h.resp.take()));
        assertThat(up2.has("previous_response_id")).isFalse();
        assertThat(up2.at("/input/0/content").asText()).isEqualTo("list files");
        assertThat(up2.at("/input/1/type").asText()).isEqualTo("reasoning");
        assertThat(up2.at("/input/1/encrypted_content").asText()).isEqualTo("gAAAA-opaque");
        assertThat(up2.at("/input/2/type").asText()).isEqualTo("function_call");
        assertThat(up2.at("/input/3/type").asText()).isEqualTo("function_call_output");
    }

    /**
     * Regression (found from outside): listed input items had no id or type, so first_id/last_id were null, `after`
     * was ignored (the same page again) and items past the first page could not be read; unknown parameters passed.
     */
    @Test
    void inputItemsPageWithIdsAndAfter() {
        h.a.enqueue(ScriptedUpstream.openAiText("ok", 7, 1));
        StringBuilder input = new StringBuilder("[");
        for (int i = 0; i < 25; i++) input.append(i == 0 ? "" : ",").append("{\"role\":\"user\",\"content\":\"m").append(i).append("\"}");
        HttpResponse<String> made = responses(h.memberKey, "{\"model\":\"m-solo\",\"input\":" + input + "]}");
        assertThat(made.statusCode()).as(made.body()).isEqualTo(200);
        h.a.take();
        String id = json(made.body()).get("id").asText();

        List<String> seen = new ArrayList<>();
        String after = null;
        for (int page = 0; page < 10; page++) {
            JsonNode list = json(h.get("/v1/responses/" + id + "/input_items?order=asc&limit=10"
                    + (after == null ? "" : "&after=" + after), h.memberKey).body());
            for (JsonNode item : list.get("data")) {
                assertThat(item.path("type").asText()).isEqualTo("message");
                seen.add(item.path("content").asText());
            }
            assertThat(list.get("first_id").asText()).isEqualTo(list.at("/data/0/id").asText()).isNotEmpty();
            after = list.get("last_id").asText();
            if (!list.get("has_more").asBoolean()) break;
        }
        assertThat(seen).hasSize(25).first().isEqualTo("m0");
        assertThat(seen).last().isEqualTo("m24");
        assertThat(seen).doesNotHaveDuplicates();

        HttpResponse<String> bogus = h.get("/v1/responses/" + id + "/input_items?bogus=1", h.memberKey);
        assertThat(bogus.statusCode()).isEqualTo(400);
        assertThat(json(bogus.body()).at("/error/param").asText()).isEqualTo("bogus");
        HttpResponse<String> nowhere = h.get("/v1/responses/" + id + "/input_items?after=msg_nope", h.memberKey);
        assertThat(nowhere.statusCode()).isEqualTo(400);
        assertThat(json(nowhere.body()).at("/error/param").asText()).isEqualTo("after");
    }

    @Test
    void previousResponseIdContinuesAStoredChainThatOnlyItsOwnKeyCanSee() {
        h.a.enqueue(ScriptedUpstream.openAiText("Hi! I am here.", 7, 5));
        HttpResponse<String> first = responses(h.memberKey, """
                {"model":"m-solo","instructions":"be brief","input":"hello"}""");
        assertThat(first.statusCode()).isEqualTo(200);
        String id = json(first.body()).get("id").asText();
        assertThat(json(first.body()).get("store").asBoolean()).isTrue();
        h.a.take();

        h.a.enqueue(ScriptedUpstream.openAiText("You said hello.", 20, 4));
        HttpResponse<String> second = responses(h.memberKey, """
                {"model":"m-solo","instructions":"be brief","previous_response_id":"%s","input":"what did I say?"}""".formatted(id));
        assertThat(second.statusCode()).isEqualTo(200);
        JsonNode up = json(body(h.a.take()));
        assertThat(up.at("/messages/0/role").asText()).isEqualTo("system");
        assertThat(up.at("/messages/1/content").asText()).isEqualTo("hello");
        assertThat(up.at("/messages/2/role").asText()).isEqualTo("assistant");
        assertThat(up.at("/messages/2/content").asText()).isEqualTo("Hi! I am here.");
        assertThat(up.at("/messages/3/content").asText()).isEqualTo("what did I say?");
        assertThat(up.get("messages").size()).isEqualTo(4);
        JsonNode secondBody = json(second.body());
        assertThat(secondBody.get("previous_response_id").asText()).isEqualTo(id);

        HttpResponse<String> got = h.get("/v1/responses/" + id, h.memberKey);
        assertThat(got.statusCode()).isEqualTo(200);
        assertThat(json(got.body()).at("/output/0/content/0/text").asText()).isEqualTo("Hi! I am here.");
        HttpResponse<String> items = h.get("/v1/responses/" + secondBody.get("id").asText() + "/input_items?order=asc", h.memberKey);
        assertThat(json(items.body()).at("/data/0/content").asText()).isEqualTo("what did I say?");

        // another key: the same id is not there, for reading, continuing or deleting
        HttpResponse<String> foreign = h.get("/v1/responses/" + id, h.researchKey);
        assertThat(foreign.statusCode()).isEqualTo(404);
        assertThat(json(foreign.body()).at("/error/code").asText()).isEqualTo("response_not_found");
        assertThat(foreign.body()).doesNotContain("Hi! I am here.");
        HttpResponse<String> foreignChain = responses(h.researchKey, """
                {"model":"m-solo","previous_response_id":"%s","input":"and?"}""".formatted(id));
        assertThat(foreignChain.statusCode()).isEqualTo(404);
        assertThat(json(foreignChain.body()).at("/error/code").asText()).isEqualTo("previous_response_not_found");
        assertThat(json(foreignChain.body()).at("/error/param").asText()).isEqualTo("previous_response_id");
        HttpResponse<String> foreignDelete = h.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(h.url("/v1/responses/" + id)))
                .header("authorization", "Bearer " + h.researchKey).DELETE().build());
        assertThat(foreignDelete.statusCode()).isEqualTo(404);

        HttpResponse<String> deleted = h.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(h.url("/v1/responses/" + id)))
                .header("authorization", "Bearer " + h.memberKey).DELETE().build());
        assertThat(deleted.statusCode()).isEqualTo(200);
        assertThat(json(deleted.body()).get("deleted").asBoolean()).isTrue();
        assertThat(h.get("/v1/responses/" + id, h.memberKey).statusCode()).isEqualTo(404);
        assertThat(h.a.requestCount()).isEqualTo(2);   // the refused chain never reached an upstream
    }

    @Test
    void hostedToolsAreRefusedForATranslatedRequestUnlessOptional() {
        HttpResponse<String> refused = responses(h.memberKey, """
                {"model":"m-solo","input":"find it","tools":[{"type":"file_search","vector_store_ids":["vs_1"]}]}""");
        assertThat(refused.statusCode()).isEqualTo(400);
        assertThat(json(refused.body()).at("/error/type").asText()).isEqualTo("invalid_request_error");
        assertThat(json(refused.body()).at("/error/message").asText()).contains("file_search").contains("tools[0]")
                .contains("x-carapace-optional-tools");
        assertThat(h.a.requestCount()).isZero();

        // web_search is optional by default (Codex sends it on every turn); file_search when the client says so
        h.a.enqueue(ScriptedUpstream.openAiText("ok", 5, 1));
        HttpResponse<String> dropped = responses(h.memberKey, """
                {"model":"m-solo","input":"find it","tools":[{"type":"web_search"},{"type":"file_search"}]}""",
                "x-carapace-optional-tools", "file_search");
        assertThat(dropped.statusCode()).isEqualTo(200);
        assertThat(json(body(h.a.take())).has("tools")).isFalse();
        assertThat(dropped.headers().firstValue("x-carapace-dropped")).contains("tools:file_search,tools:web_search");

        // reasoning items cannot reach a chat upstream: left out, and said so
        h.a.enqueue(sse(ScriptedUpstream.openAiTextStream(List.of("ok"), 5, 1), 0));
        HttpResponse<String> reasoning = responses(h.memberKey, """
                {"model":"m-solo","stream":true,"input":[{"role":"user","content":"hi"},
                 {"type":"reasoning","id":"rs_1","summary":[],"encrypted_content":"gAAA"},{"role":"assistant","content":"yo"},
                 {"role":"user","content":"again"}]}""");
        assertThat(reasoning.statusCode()).isEqualTo(200);
        assertThat(reasoning.headers().firstValue("x-carapace-dropped")).contains("reasoning");
        assertThat(body(h.a.take())).doesNotContain("gAAA");
    }

    /** A UTF-8 header value was quoted back as Jetty read it, one character per byte ("wÃ©b" for "wéb"). */
    @Test
    void aNonAsciiOptionalToolWasEchoedMangled() throws Exception {
        String body = "{\"model\":\"m-solo\",\"input\":\"hi\"}";
        byte[] request = ("POST /v1/responses HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + h.memberKey
                + "\r\nContent-Type: application/json\r\nx-carapace-optional-tools: wéb_search\r\nConnection: close"
                + "\r\nContent-Length: " + body.length() + "\r\n\r\n" + body).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        String answer;
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", h.carapace.port())) {
            s.getOutputStream().write(request);
            answer = new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
        assertThat(answer).startsWith("HTTP/1.1 400");
        String error = json(answer.substring(answer.indexOf("\r\n\r\n") + 4)).at("/error/message").asText();
        assertThat(error).contains("got 'wéb_search'");   // named as sent, and refused: a tool type is ASCII
        assertThat(h.a.requestCount()).isZero();
    }

    @Test
    void aStructuredOutputFormatBecomesResponseFormatOnAChatUpstream() {
        h.a.enqueue(ScriptedUpstream.openAiText("{\"n\":1}", 5, 3));
        HttpResponse<String> r = responses(h.memberKey, """
                {"model":"m-solo","input":"one","text":{"format":{"type":"json_schema","name":"num","strict":true,
                 "schema":{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}}}}""");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode up = json(body(h.a.take()));
        assertThat(up.at("/response_format/type").asText()).isEqualTo("json_schema");
        assertThat(up.at("/response_format/json_schema/name").asText()).isEqualTo("num");
        assertThat(up.at("/response_format/json_schema/schema/required/0").asText()).isEqualTo("n");
    }

    @Test
    void aChatClientReachesAResponsesUpstreamByTranslation() {
        h.resp.enqueue(sse(responsesUpstreamStream(), 0));
        HttpResponse<String> r = h.post("/v1/chat/completions", h.memberKey, GatewayHarness.chat("m-resp", true,
                ",\"stream_options\":{\"include_usage\":true}"));
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode up = json(body(h.resp.take()));
        assertThat(up.get("store").asBoolean(true)).isFalse();
        assertThat(up.at("/input/0/role").asText()).isEqualTo("system");
        assertThat(up.at("/input/1/content/0/text").asText()).isEqualTo("hello there");

        List<GatewayHarness.Frame> chunks = frames(r.body());
        String all = r.body();
        assertThat(all).contains("\"tool_calls\"").contains("exec_command").contains("\"finish_reason\":\"tool_calls\"");
        JsonNode usage = chunks.get(chunks.size() - 2).json().get("usage");
        assertThat(usage.get("prompt_tokens").asLong()).isEqualTo(120);
        assertThat(usage.at("/completion_tokens_details/reasoning_tokens").asLong()).isEqualTo(20);
        assertThat(h.record(r).cachedInputTokens()).isEqualTo(100);
    }

    @Test
    void hostileBodiesGetA4xxInOpenAisShapeNeverA500() {
        String deep = "{\"model\":\"m-solo\",\"input\":" + "[".repeat(3000) + "]".repeat(3000) + "}";
        List<String> bodies = List.of("", "null", "[]", "\"input\"", "{", "{\"model\":\"m-solo\",\"input\":\"x\"}}",
                "{\"model\":\"m-solo\",\"input\":\"\u0000\ud800\"", deep,
                "{\"model\":\"m-solo\",\"input\":[{\"type\":\"function_call_output\",\"call_id\":[],\"output\":{}}]}",
                "{\"model\":\"m-solo\",\"input\":\"x\",\"tools\":[{\"type\":\"namespace\",\"name\":\"n\",\"tools\":[{\"type\":\"namespace\"}]}]}",
                "{\"model\":\"m-solo\",\"input\":\"x\",\"previous_response_id\":7}",
                "{\"model\":\"m-solo\",\"input\":\"x\",\"max_output_tokens\":1e400}");
        for (String b : bodies) {
            HttpResponse<String> r = responses(h.memberKey, b);
            assertThat(r.statusCode()).as(b.length() > 80 ? b.substring(0, 80) : b).isBetween(400, 499);
            JsonNode err = json(r.body()).get("error");
            assertThat(err.get("type").asText()).isEqualTo("invalid_request_error");
            assertThat(err.get("message").asText()).isNotBlank().doesNotContain("Exception").doesNotContain("jackson");
        }
        assertThat(h.a.requestCount()).isZero();
        HttpResponse<String> form = h.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(h.url("/v1/responses")))
                .header("authorization", "Bearer " + h.memberKey).header("content-type", "text/plain")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString("hi")).build());
        assertThat(form.statusCode()).isEqualTo(415);
    }

    /** A chain of large requests grew in memory one link at a time until the heap ran out (a 500 at the fourth). */
    @Test
    void aChainLargerThanABodyMayBeIsRefusedWith413NotAnOutOfMemory() {
        String big = "x".repeat(4 * 1024 * 1024);
        String previous = null;
        for (int link = 1; link <= 2; link++) {
            h.a.enqueue(ScriptedUpstream.openAiText("ok", 5, 1));
            HttpResponse<String> r = responses(h.memberKey, "{\"model\":\"m-solo\",\"input\":\"" + big + "\""
                    + (previous == null ? "" : ",\"previous_response_id\":\"" + previous + "\"") + "}");
            assertThat(r.statusCode()).as("link " + link + ": " + r.body().substring(0, Math.min(300, r.body().length())))
                    .isEqualTo(200);
            previous = json(r.body()).get("id").asText();
        }
        int served = h.a.requestCount();
        HttpResponse<String> third = responses(h.memberKey, "{\"model\":\"m-solo\",\"input\":\"" + big
                + "\",\"previous_response_id\":\"" + previous + "\"}");
        assertThat(third.statusCode()).isEqualTo(413);
        JsonNode err = json(third.body()).get("error");
        assertThat(err.get("code").asText()).isEqualTo("conversation_too_large");
        assertThat(err.get("param").asText()).isEqualTo("previous_response_id");
        assertThat(h.a.requestCount()).isEqualTo(served);
    }

    @Test
    void anOutputLimitAboveTheModelsIsClampedAndSaidNotRefused() {
        h.a.respond(req -> dev.carapace.testing.ScriptedUpstream.openAiText("ok", 5, 1));
        HttpResponse<String> r = responses(h.memberKey, "{\"model\":\"m-solo\",\"input\":\"x\",\"max_output_tokens\":99999999}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-carapace-clamped").orElseThrow()).startsWith("max_tokens=99999999->");
        assertThat(h.a.requestCount()).isEqualTo(1);
    }

    @Test
    void errorsHaveOpenAisShapeAndNameTheField() {
        HttpResponse<String> r = responses(h.memberKey, """
                {"model":"m-solo","input":[{"type":"telepathy","thought":"hi"}]}""");
        assertThat(r.statusCode()).isEqualTo(400);
        JsonNode err = json(r.body()).get("error");
        assertThat(err.get("param").asText()).isEqualTo("input[0].type");
        assertThat(err.get("message").asText()).contains("telepathy").contains("function_call_output");
        assertThat(err.get("type").asText()).isEqualTo("invalid_request_error");

        assertThat(responses(null, "{\"model\":\"m-solo\",\"input\":\"x\"}").statusCode()).isEqualTo(401);
        assertThat(h.get("/v1/responses/resp_nope", h.memberKey).statusCode()).isEqualTo(404);
    }
}
