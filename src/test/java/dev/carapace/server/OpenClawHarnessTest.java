package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.store.UsageLog.UsageRecord;
import dev.carapace.testing.HarnessProcess;
import dev.carapace.testing.ScriptedUpstream;
import dev.carapace.testing.VendorTrap;
import mockwebserver3.RecordedRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static dev.carapace.server.GatewayHarness.json;
import static dev.carapace.testing.ScriptedUpstream.chunk;
import static dev.carapace.testing.ScriptedUpstream.openAiFrames;
import static dev.carapace.testing.ScriptedUpstream.openAiTextStream;
import static dev.carapace.testing.ScriptedUpstream.sse;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * OpenClaw (npm {@code openclaw} 2026.9.6), unchanged, run as its one-shot agent turn ({@code openclaw agent exec})
 * against a real Carapace: its config names Carapace as a custom OpenAI-compatible provider (base URL Carapace's
 * {@code /v1}, API key a Carapace key), in a temporary home and state directory, with update checks and telemetry
 * off. It completes "say hi" and a task with a tool round (the model asks for OpenClaw's {@code read} tool on a
 * file in its workspace, then answers), every call metered exactly as the upstream reported it; and a spent budget's
 * refusal reaches the person whole within 10 s. {@code run-tests} installs OpenClaw; this test fails when it is
 * missing.
 */
class OpenClawHarnessTest {

    /** m-solo's price: 3 USD per million input tokens, 6 per million output tokens, in nanodollars per token. */
    static final long INPUT_NANOS = 3_000, OUTPUT_NANOS = 6_000;

    @TempDir Path data;
    @TempDir Path home;
    GatewayHarness h;
    VendorTrap trap;
    Path workspace;
    Path config;

    @BeforeEach
    void start() throws Exception {
        h = new GatewayHarness(data);
        trap = new VendorTrap();
        workspace = Files.createDirectories(home.resolve("workspace"));
        Files.createDirectories(home.resolve("state"));
        config = home.resolve("openclaw.json");
        Files.writeString(config, config(h.url("/v1")).toPrettyString());
    }

    @AfterEach
    void stop() {
        h.close();
        trap.close();
    }

    /**
     * Carapace as OpenClaw's only provider, its key read from the environment (never written to disk); the model is
     * one of Carapace's. Nothing else is configured: no channel, no plugin, no update check, no telemetry.
     */
    static ObjectNode config(String carapaceV1) {
        ObjectNode c = GatewayHarness.JSON.createObjectNode();
        ObjectNode provider = c.putObject("models").put("mode", "replace").putObject("providers").putObject("carapace");
        provider.put("baseUrl", carapaceV1).put("apiKey", "${CARAPACE_KEY}").put("api", "openai-completions");
        provider.putArray("models").addObject().put("id", "m-solo").put("name", "m-solo").put("reasoning", false)
                .put("contextWindow", 128000).put("maxTokens", 4096).putArray("input").add("text");
        c.putObject("agents").putObject("defaults").putObject("model").put("primary", "carapace/m-solo");
        c.putObject("plugins").put("enabled", false);   // the provider and the coding tools are OpenClaw's own
        c.putObject("update").put("checkOnStart", false);
        c.putObject("telemetry").put("enabled", false);
        return c;
    }

    /**
     * One agent turn on {@code prompt}, in the workspace; {@code --json} for the result envelope. Whatever it would
     * send past Carapace goes to {@link #trap}.
     */
    HarnessProcess.Builder turn(String prompt, boolean json) {
        List<Object> argv = new ArrayList<>(List.of(HarnessProcess.bin("openclaw"), "agent", "exec", prompt,
                "--config", config, "--cwd", workspace, "--model", "carapace/m-solo", "--timeout", "300"));
        if (json) argv.add("--json");
        return HarnessProcess.command(home, argv.toArray())
                .env("OPENCLAW_HOME", home.toString())
                .env("OPENCLAW_STATE_DIR", home.resolve("state").toString())
                .env("CARAPACE_KEY", h.memberKey)
                .proxyTo(trap);
    }

    /** Runs a turn that must succeed; its {@code --json} envelope. */
    JsonNode succeed(String prompt) {
        try (HarnessProcess.Run run = turn(prompt, true).start()) {
            HarnessProcess.Result r = run.awaitExit(BudgetRefusalHarnessTest.STARTED_WITHIN.plusSeconds(60));
            assertThat(r.exitCode()).as(r.describe()).isZero();
            JsonNode out = json(r.stdout());
            assertThat(out.path("ok").asBoolean()).as(r.describe()).isTrue();
            assertThat(out.path("provider").asText()).isEqualTo("carapace");
            assertThat(trap.attempts()).as("OpenClaw reached for something other than Carapace; " + r.describe())
                    .isEmpty();
            return out;
        }
    }

    @Test
    void saysHi() {
        h.a.respond(req -> sse(openAiTextStream(List.of("Hi", " there!"), 1234, 7), 0));

        JsonNode out = succeed("say hi");

        assertThat(out.path("final").asText()).isEqualTo("Hi there!");
        assertThat(h.a.requestCount()).as("model calls of the turn").isEqualTo(1);
        JsonNode up = json(ScriptedUpstream.body(h.a.take()));
        assertThat(up.path("model").asText()).isEqualTo("up-model");
        assertThat(up.path("stream").asBoolean()).isTrue();
        assertThat(up.path("messages").toString()).contains("say hi");
        assertThat(up.path("tools").findValuesAsText("name")).as("OpenClaw's tools reach the model").contains("read", "exec");
        assertMetered(List.<long[]>of(new long[] {1234, 7}));
        assertThat(out.at("/usage/input").asLong()).as("what OpenClaw counted").isEqualTo(1234);
        assertThat(out.at("/usage/output").asLong()).isEqualTo(7);
    }

    @Test
    void runsAToolRoundOnItsWorkspace() throws Exception {
        Files.writeString(workspace.resolve("hello.txt"), "the secret word is pelican\n");
        h.a.respond(req -> ScriptedUpstream.body(req).contains("\"role\":\"tool\"")
                ? sse(openAiTextStream(List.of("The secret word", " is pelican."), 900, 9), 0)
                : sse(toolCallStream("call_r1", "read", "{\"path\":\"hello.txt\"}", 800, 12), 0));

        JsonNode out = succeed("What is the secret word in hello.txt?");

        assertThat(out.path("final").asText()).isEqualTo("The secret word is pelican.");
        assertThat(out.at("/toolSummary/tools").toString()).isEqualTo("[\"read\"]");
        assertThat(h.a.requestCount()).isEqualTo(2);
        h.a.take();
        RecordedRequest second = h.a.take();
        JsonNode messages = json(ScriptedUpstream.body(second)).path("messages");
        JsonNode toolResult = null;
        for (JsonNode m : messages) if (m.path("role").asText().equals("tool")) toolResult = m;
        assertThat(toolResult).as("the tool's result went up: %s", messages).isNotNull();
        assertThat(toolResult.path("content").toString()).as("OpenClaw read the file").contains("pelican");
        assertMetered(List.of(new long[] {800, 12}, new long[] {900, 9}));
        assertThat(out.at("/usage/input").asLong()).as("what OpenClaw counted").isEqualTo(1700);
        assertThat(out.at("/usage/output").asLong()).isEqualTo(21);
    }

    /**
     * Issue 14's case: OpenClaw's turn is a body of tens of KB (its system prompt and tool schemas), which its UTF-8
     * bytes alone would reserve as more than a 30,000-token daily budget; reserved at its o200k estimate, it is served.
     */
    @Test
    void aTurnFitsAThirtyThousandTokenDailyBudget() {
        HttpResponse<String> set = h.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(h.url("/api/budgets/team:platform")))
                .header("authorization", "Bearer " + h.adminKey).header("content-type", "application/json")
                .PUT(java.net.http.HttpRequest.BodyPublishers.ofString("{\"tokens\": 30000, \"period\": \"day\"}")).build());
        assertThat(set.statusCode()).as(set.body()).isEqualTo(200);
        h.a.respond(req -> sse(openAiTextStream(List.of("Hi", " there!"), 1234, 7), 0));

        JsonNode out = succeed("say hi");

        assertThat(out.path("final").asText()).isEqualTo("Hi there!");
        String body = ScriptedUpstream.body(h.a.take());
        dev.carapace.model.ChatRequest request = new dev.carapace.model.openai.OpenAiFormat()
                .parseRequest(body.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        long o200k = dev.carapace.model.TokenCounter.prompt(request);
        assertThat(dev.carapace.ledger.LedgerTestKit.promptBound(request) + 4096)
                .as("what the byte bound would reserve for a body of %d bytes", body.length()).isGreaterThan(30_000);
        String id = h.carapace.store().usageLog().recent(10).get(0).requestId();
        long reserved = h.carapace.store().jdbi().withHandle(x -> x.createQuery(
                "SELECT tokens FROM reservations WHERE request_id = :id").bind("id", id).mapTo(Long.class).one());
        assertThat(reserved - 4096).as("prompt tokens reserved for %d o200k tokens", o200k)
                .isBetween(o200k, o200k + o200k / 10 + 500);
    }

    @Test
    void showsABudgetRefusalWithinTenSeconds() {
        BudgetRefusalHarnessTest.spendTheBudget(h);
        BudgetRefusalHarnessTest.assertRefusalShown(h, trap, turn("say hi", false), h.a, h.b);
    }

    /**
     * The usage records of the answered calls are exactly the upstream's reported usage, call by call in order, and
     * each is charged at m-solo's price; nothing estimated.
     */
    void assertMetered(List<long[]> expected) {
        assertThat(h.carapace.ledger().flush(5000)).isTrue();
        List<UsageRecord> records = h.carapace.store().usageLog().recent(100).reversed();
        assertThat(records).as("one record per upstream call").hasSize(expected.size());
        for (int i = 0; i < expected.size(); i++) {
            UsageRecord r = records.get(i);
            long in = expected.get(i)[0], out = expected.get(i)[1];
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.model()).isEqualTo("m-solo");
            assertThat(r.user()).isEqualTo("alice");
            assertThat(r.estimated()).as("usage as the upstream reported it").isFalse();
            assertThat(r.inputTokens()).isEqualTo(in);
            assertThat(r.outputTokens()).isEqualTo(out);
            assertThat(r.costNanos()).isEqualTo(in * INPUT_NANOS + out * OUTPUT_NANOS);
        }
    }

    /** An OpenAI stream asking for one tool call, then its usage. */
    static List<String> toolCallStream(String id, String name, String arguments, int promptTokens, int completionTokens) {
        return openAiFrames(
                chunk("{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"index\":0,\"id\":" + ScriptedUpstream.quote(id)
                        + ",\"type\":\"function\",\"function\":{\"name\":" + ScriptedUpstream.quote(name) + ",\"arguments\":"
                        + ScriptedUpstream.quote(arguments) + "}}]}", null),
                chunk("{}", "tool_calls"),
                "{\"id\":\"chatcmpl-s\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"up-model\",\"choices\":[],"
                        + "\"usage\":{\"prompt_tokens\":" + promptTokens + ",\"completion_tokens\":" + completionTokens
                        + ",\"total_tokens\":" + (promptTokens + completionTokens) + "}}");
    }
}
