package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.store.UsageLog.UsageRecord;
import dev.carapace.testing.HarnessProcess;
import dev.carapace.testing.ScriptedUpstream;
import dev.carapace.testing.VendorTrap;
import mockwebserver3.MockResponse;
import mockwebserver3.RecordedRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static dev.carapace.testing.ScriptedUpstream.quote;
import static dev.carapace.testing.ScriptedUpstream.sse;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The OpenAI Agents SDK (npm {@code @openai/agents} 0.20.0) run unchanged against a real Carapace by
 * {@code harness-tests/agents.mjs}: an agent with a function tool answers "say hi" and a weather question that takes
 * a tool round, streamed and not, in the SDK's default mode (the Responses API) and in its Chat Completions mode,
 * through a chat upstream (translated) and a Responses upstream (relayed). Every upstream call is metered exactly,
 * and the SDK reaches no one but Carapace (tracing off). {@code run-tests} installs the SDK; this test fails when
 * it is missing.
 */
class AgentsSdkHarnessTest {

    @TempDir Path data;
    @TempDir Path work;
    GatewayHarness h;
    VendorTrap trap;

    @BeforeEach
    void start() throws Exception {
        h = new GatewayHarness(data);
        trap = new VendorTrap();
        h.a.respond(AgentsSdkHarnessTest::chatUpstream);
        h.resp.respond(AgentsSdkHarnessTest::responsesUpstream);
    }

    @AfterEach
    void stop() {
        h.close();
        trap.close();
    }

    @Test
    void responsesModeThroughAChatUpstream() throws Exception {
        JsonNode out = agents("responses", "m-solo");
        assertRuns(out);
        assertMetered(h.a.requestCount());
        assertThat(h.carapace.store().usageLog().recent(100)).allSatisfy(r -> assertThat(r.api()).isEqualTo("responses"));
    }

    @Test
    void responsesModeThroughAResponsesUpstream() throws Exception {
        JsonNode out = agents("responses", "m-resp");
        assertRuns(out);
        assertMetered(h.resp.requestCount());
        JsonNode first = GatewayHarness.json(ScriptedUpstream.body(h.resp.take()));
        assertThat(first.get("model").asText()).isEqualTo("up-resp");
        assertThat(first.get("store").asBoolean(true)).isFalse();
    }

    @Test
    void chatCompletionsModeThroughAChatUpstream() throws Exception {
        JsonNode out = agents("chat_completions", "m-solo");
        assertRuns(out);
        assertMetered(h.a.requestCount());
        assertThat(h.carapace.store().usageLog().recent(100)).allSatisfy(r -> assertThat(r.api()).isEqualTo("openai"));
    }

    private JsonNode agents(String mode, String model) throws Exception {
        HarnessProcess.module("@openai/agents");
        HarnessProcess.Result run = HarnessProcess.command(work, HarnessProcess.node(),
                        HarnessProcess.HARNESS_TESTS.resolve("agents.mjs"), mode)
                .directory(HarnessProcess.HARNESS_TESTS)
                .env("CARAPACE_URL", h.url("/v1"))
                .env("CARAPACE_KEY", h.memberKey)
                .env("CARAPACE_MODEL", model)
                .proxyTo(trap)
                .run(Duration.ofSeconds(60));
        assertThat(run.exitCode()).as("node exit code; " + run.describe()).isZero();
        assertThat(trap.attempts()).as("the SDK reached for something other than Carapace").isEmpty();
        String[] lines = run.stdout().strip().split("\n");
        return GatewayHarness.json(lines[lines.length - 1]);
    }

    private static void assertRuns(JsonNode out) {
        assertThat(out.at("/hi/output").asText()).isEqualTo("hi there");
        assertThat(out.at("/weather/output").asText()).isEqualTo("It is sunny and 21C in Paris.");
        assertThat(out.at("/hiStream/output").asText()).isEqualTo("hi there");
        assertThat(out.at("/hiStream/streamed").asText()).isEqualTo("hi there");
        assertThat(out.at("/weatherStream/output").asText()).isEqualTo("It is sunny and 21C in Oslo.");
        assertThat(out.get("toolCalls")).extracting(JsonNode::asText).containsExactly("Paris", "Oslo");
        // the SDK's own accounting: the upstream's figures, reported through Carapace
        assertThat(out.at("/hi/usage/inputTokens").asLong()).isEqualTo(10);
        assertThat(out.at("/weather/usage/inputTokens").asLong()).isEqualTo(25 + 30);
        assertThat(out.at("/weatherStream/usage/outputTokens").asLong()).isEqualTo(9 + 6);
    }

    /** Two "say hi" calls and two tool rounds of two calls each, every one metered with the upstream's figures. */
    private void assertMetered(int upstreamCalls) {
        assertThat(upstreamCalls).isEqualTo(6);
        assertThat(h.carapace.ledger().flush(5000)).isTrue();
        List<UsageRecord> records = h.carapace.store().usageLog().recent(100);
        assertThat(records).hasSize(upstreamCalls);
        assertThat(records).allSatisfy(r -> {
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.estimated()).isFalse();
        });
        assertThat(records.stream().mapToLong(UsageRecord::inputTokens).sum()).isEqualTo(2 * (10 + 25 + 30));
        assertThat(records.stream().mapToLong(UsageRecord::outputTokens).sum()).isEqualTo(2 * (2 + 9 + 6));
        assertThat(records.stream().filter(UsageRecord::stream).count()).isEqualTo(3);
    }

    // ---- the scripted model: "hi there"; for weather, a get_weather call, then an answer from its result ----

    private static String city(String body) { return body.contains("Oslo") ? "Oslo" : "Paris"; }

    private static MockResponse chatUpstream(RecordedRequest req) {
        String body = ScriptedUpstream.body(req);
        boolean stream = body.contains("\"stream\":true");
        ScriptedUpstream.ToolCall call = new ScriptedUpstream.ToolCall("call_" + city(body), "get_weather",
                "{\"city\":\"" + city(body) + "\"}");
        if (body.contains("\"role\":\"tool\"")) {
            String text = "It is sunny and 21C in " + city(body) + ".";
            return stream ? sse(ScriptedUpstream.openAiTextStream(List.of(text), 30, 6), 0) : ScriptedUpstream.openAiText(text, 30, 6);
        }
        if (body.contains("weather in")) {
            return stream ? sse(ScriptedUpstream.openAiToolCallStream(call, 25, 9), 0) : ScriptedUpstream.json(200, """
                    {"id":"chatcmpl-t","object":"chat.completion","created":1,"model":"up-model","choices":[{"index":0,
                     "message":{"role":"assistant","content":null,"tool_calls":[{"id":%s,"type":"function",
                     "function":{"name":"get_weather","arguments":%s}}]},"finish_reason":"tool_calls"}],
                     "usage":{"prompt_tokens":25,"completion_tokens":9,"total_tokens":34}}""".formatted(quote(call.id()), quote(call.arguments())));
        }
        return stream ? sse(ScriptedUpstream.openAiTextStream(List.of("hi ", "there"), 10, 2), 0) : ScriptedUpstream.openAiText("hi there", 10, 2);
    }

    private static MockResponse responsesUpstream(RecordedRequest req) {
        String body = ScriptedUpstream.body(req);
        boolean stream = body.contains("\"stream\":true");
        ScriptedUpstream.ToolCall call = new ScriptedUpstream.ToolCall("call_" + city(body), "get_weather",
                "{\"city\":\"" + city(body) + "\"}");
        List<String> frames;
        if (body.contains("function_call_output")) {
            frames = ScriptedUpstream.responsesTextStream("It is sunny and 21C in " + city(body) + ".", 30, 0, 6);
        } else if (body.contains("weather in")) {
            frames = ScriptedUpstream.responsesToolCallStream(call, 25, 0, 9);
        } else {
            frames = ScriptedUpstream.responsesTextStream("hi there", 10, 0, 2);
        }
        if (stream) return sse(frames, 0);
        // a complete answer is the response object that the stream's last event carries
        String last = frames.get(frames.size() - 1);
        JsonNode completed = GatewayHarness.json(last.substring(last.indexOf("data: ") + 6).strip());
        return ScriptedUpstream.json(200, completed.get("response").toString());
    }
}
