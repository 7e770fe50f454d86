package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.store.UsageLog.UsageRecord;
import dev.carapace.testing.HarnessProcess;
import dev.carapace.testing.ScriptedUpstream;
import dev.carapace.testing.VendorTrap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static dev.carapace.testing.ScriptedUpstream.sse;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Codex CLI (npm {@code @openai/codex} 0.171.0, which speaks only the Responses API) run unchanged with
 * {@code codex exec} against a real Carapace: "say hi", and a task with a tool round (the model asks for a shell
 * command, Codex runs it in the work directory, the model then answers), through a Chat Completions upstream
 * (translated), an Anthropic one (translated) and a Responses one (relayed). Every upstream call is metered exactly,
 * and Codex reaches no one but Carapace. {@code run-tests} installs Codex; this test fails when it is missing.
 */
class CodexHarnessTest {

    @TempDir Path data;
    @TempDir Path home;
    @TempDir Path work;
    GatewayHarness h;
    VendorTrap trap;

    @BeforeEach
    void start() throws Exception {
        h = new GatewayHarness(data);
        trap = new VendorTrap();
    }

    @AfterEach
    void stop() {
        h.close();
        trap.close();
    }

    private static final ScriptedUpstream.ToolCall WRITE_FILE =
            new ScriptedUpstream.ToolCall("call_w1", "exec_command", "{\"cmd\":\"echo hi > out.txt\"}");

    @Test
    void saysHiThroughAnAnthropicUpstream() throws Exception {
        h.claude.respond(req -> sse(ScriptedUpstream.anthropicTextStream(List.of("hi ", "there"), 1200, 7), 0));
        List<JsonNode> events = codex("m-claude", "say hi");

        assertThat(agentMessages(events)).containsExactly("hi there");
        assertMetered(h.claude.requestCount(), 1200L * h.claude.requestCount(), 7L * h.claude.requestCount(), 0);
        JsonNode usage = last(events, "turn.completed").get("usage");
        assertThat(usage.get("input_tokens").asLong()).isEqualTo(1200);
        assertThat(usage.get("output_tokens").asLong()).isEqualTo(7);
        JsonNode up = GatewayHarness.json(ScriptedUpstream.body(h.claude.take()));
        assertThat(up.get("system").toString()).contains("Codex");   // its developer messages are the system prompt
        assertThat(up.get("tools").toString()).contains("exec_command").doesNotContain("web_search");
    }

    @Test
    void runsAToolRoundThroughAnAnthropicUpstream() throws Exception {
        h.claude.respond(req -> ScriptedUpstream.body(req).contains("\"tool_result\"")
                ? sse(ScriptedUpstream.anthropicTextStream(List.of("Wrote out.txt."), 1300, 5), 0)
                : sse(ScriptedUpstream.anthropicFrames(
                        "message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_t\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-up\",\"content\":[],\"usage\":{\"input_tokens\":1250,\"cache_read_input_tokens\":0,\"output_tokens\":1}}}",
                        "content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_w1\",\"name\":\"exec_command\",\"input\":{}}}",
                        "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"cmd\\\":\\\"echo hi\"}}",
                        "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\" > out.txt\\\"}\"}}",
                        "content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}",
                        "message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":15}}",
                        "message_stop", "{\"type\":\"message_stop\"}"), 0));
        List<JsonNode> events = codex("m-claude", "write hi into out.txt");

        assertThat(Files.readString(work.resolve("out.txt")).strip()).isEqualTo("hi");
        assertThat(agentMessages(events)).containsExactly("Wrote out.txt.");
        assertThat(h.claude.requestCount()).isEqualTo(2);
        assertMetered(2, 1250 + 1300, 15 + 5, 0);
        h.claude.take();
        JsonNode second = GatewayHarness.json(ScriptedUpstream.body(h.claude.take()));
        JsonNode messages = second.get("messages");
        assertThat(messages.get(messages.size() - 2).toString()).contains("\"tool_use\"").contains("toolu_w1");
        assertThat(messages.get(messages.size() - 1).toString()).contains("\"tool_result\"").contains("toolu_w1");
    }

    @Test
    void runsAToolRoundThroughAChatUpstream() throws Exception {
        h.a.respond(req -> ScriptedUpstream.body(req).contains("\"role\":\"tool\"")
                ? sse(ScriptedUpstream.openAiTextStream(List.of("Wrote ", "out.txt."), 900, 6), 0)
                : sse(ScriptedUpstream.openAiToolCallStream(WRITE_FILE, 800, 12), 0));
        List<JsonNode> events = codex("m-solo", "write hi into out.txt");

        assertThat(Files.readString(work.resolve("out.txt")).strip()).isEqualTo("hi");
        assertThat(commands(events)).singleElement().satisfies(c -> {
            assertThat(c.get("command").asText()).contains("echo hi > out.txt");
            assertThat(c.get("exit_code").asInt()).isZero();
        });
        assertThat(agentMessages(events)).containsExactly("Wrote out.txt.");
        assertThat(h.a.requestCount()).isEqualTo(2);
        assertMetered(2, 800 + 900, 12 + 6, 0);

        JsonNode first = GatewayHarness.json(ScriptedUpstream.body(h.a.take()));
        assertThat(first.at("/messages/0/role").asText()).isEqualTo("system");
        JsonNode second = GatewayHarness.json(ScriptedUpstream.body(h.a.take()));
        JsonNode messages = second.get("messages");
        JsonNode call = messages.get(messages.size() - 2);
        assertThat(call.at("/tool_calls/0/id").asText()).isEqualTo("call_w1");
        assertThat(call.at("/tool_calls/0/function/name").asText()).isEqualTo("exec_command");
        assertThat(messages.get(messages.size() - 1).get("tool_call_id").asText()).isEqualTo("call_w1");
    }

    @Test
    void runsAToolRoundThroughAResponsesUpstreamRelayed() throws Exception {
        h.resp.respond(req -> ScriptedUpstream.body(req).contains("function_call_output")
                ? sse(ScriptedUpstream.responsesTextStream("Wrote out.txt.", 1500, 1024, 8), 0)
                : sse(ScriptedUpstream.responsesToolCallStream(WRITE_FILE, 1400, 0, 20), 0));
        List<JsonNode> events = codex("m-resp", "write hi into out.txt");

        assertThat(Files.readString(work.resolve("out.txt")).strip()).isEqualTo("hi");
        assertThat(agentMessages(events)).containsExactly("Wrote out.txt.");
        assertThat(h.resp.requestCount()).isEqualTo(2);
        assertMetered(2, 1400 + 1500, 20 + 8, 1024);
        JsonNode usage = last(events, "turn.completed").get("usage");
        assertThat(usage.get("cached_input_tokens").asLong()).isEqualTo(1024);

        JsonNode first = GatewayHarness.json(ScriptedUpstream.body(h.resp.take()));
        assertThat(first.get("model").asText()).isEqualTo("up-resp");
        assertThat(first.get("store").asBoolean()).isFalse();
        assertThat(first.get("tools").toString()).contains("\"namespace\"").contains("web_search");  // relayed as sent
        JsonNode second = GatewayHarness.json(ScriptedUpstream.body(h.resp.take()));
        assertThat(second.get("input").toString()).contains("\"call_id\":\"call_w1\"").contains("function_call_output");
    }

    /**
     * The {@code config.toml} settings that keep Codex from reaching anyone but its provider: no update check, no
     * analytics or trace export, no plugin sync (which clones from GitHub at start-up). Top-level keys first, so it
     * can open a config file.
     */
    static final String QUIET_CONFIG = """
            check_for_update_on_startup = false

            [analytics]
            enabled = false

            [otel]
            exporter = "none"

            [features]
            plugins = false
            remote_plugin = false
            """;

    /** Runs {@code codex exec PROMPT} on {@code model}; returns its JSON events, after checking it exited cleanly. */
    private List<JsonNode> codex(String model, String prompt) throws Exception {
        Files.writeString(home.resolve("config.toml"), ("""
                model = "%s"
                model_provider = "carapace"
                """ + QUIET_CONFIG + """

                [model_providers.carapace]
                name = "Carapace"
                base_url = "%s"
                env_key = "CARAPACE_KEY"
                wire_api = "responses"
                request_max_retries = 0
                stream_max_retries = 0
                """).formatted(model, h.url("/v1")));
        HarnessProcess.Result run = HarnessProcess.command(home, HarnessProcess.bin("codex"), "exec", "--strict-config",
                        "--skip-git-repo-check", "--ephemeral", "--json", "--dangerously-bypass-approvals-and-sandbox",
                        "-C", work, prompt)
                .directory(work)
                .env("CODEX_HOME", home.toString())
                .env("CARAPACE_KEY", h.memberKey)
                .proxyTo(trap)
                .run(Duration.ofSeconds(90));
        assertThat(run.exitCode()).as("codex exit code; " + run.describe()).isZero();
        assertThat(trap.attempts()).as("Codex reached for something other than Carapace").isEmpty();
        List<JsonNode> events = new ArrayList<>();
        for (String line : run.stdout().split("\n")) {
            if (line.startsWith("{")) events.add(GatewayHarness.json(line));
        }
        assertThat(events).as("codex events:\n" + run.stdout()).anyMatch(e -> e.path("type").asText().equals("turn.completed"));
        return events;
    }

    private static List<String> agentMessages(List<JsonNode> events) {
        return events.stream().filter(e -> e.path("type").asText().equals("item.completed"))
                .map(e -> e.get("item")).filter(i -> i.path("type").asText().equals("agent_message"))
                .map(i -> i.get("text").asText()).toList();
    }

    private static List<JsonNode> commands(List<JsonNode> events) {
        return events.stream().filter(e -> e.path("type").asText().equals("item.completed"))
                .map(e -> e.get("item")).filter(i -> i.path("type").asText().equals("command_execution")).toList();
    }

    private static JsonNode last(List<JsonNode> events, String type) {
        JsonNode found = null;
        for (JsonNode e : events) if (e.path("type").asText().equals(type)) found = e;
        assertThat(found).as(type).isNotNull();
        return found;
    }

    /** One usage record per upstream call, each answered, with exactly the upstream's figures summed. */
    private void assertMetered(int calls, long input, long output, long cached) {
        assertThat(h.carapace.ledger().flush(5000)).isTrue();
        List<UsageRecord> records = h.carapace.store().usageLog().recent(100);
        assertThat(records).hasSize(calls);
        assertThat(records).allSatisfy(r -> {
            assertThat(r.api()).isEqualTo("responses");
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.estimated()).isFalse();
        });
        assertThat(records.stream().mapToLong(UsageRecord::inputTokens).sum()).isEqualTo(input);
        assertThat(records.stream().mapToLong(UsageRecord::outputTokens).sum()).isEqualTo(output);
        assertThat(records.stream().mapToLong(UsageRecord::cachedInputTokens).sum()).isEqualTo(cached);
    }
}
