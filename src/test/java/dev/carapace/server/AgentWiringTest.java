package dev.carapace.server;

import dev.carapace.agent.AgentRuntime;
import dev.carapace.agent.RunInfo;
import dev.carapace.agent.RunStatus;
import dev.carapace.agent.TranscriptEntry;
import dev.carapace.testing.ScriptedUpstream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The agent runtime as the composition root builds it from the config, across a restart. */
class AgentWiringTest {

    @TempDir
    Path dir;

    private String agents(Path ws) {
        return """
                agents:
                  helper:
                    workspace: %s
                    model: m-solo
                    tools: [read, list]
                    owner: {user: alice}
                """.formatted(ws);
    }

    @Test
    void configuredAgentsRunAsTheirOwnerAndSurviveARestart() throws Exception {
        Path ws = Files.createDirectories(dir.resolve("ws"));
        Files.writeString(ws.resolve("AGENTS.md"), "You help.");
        Path data = dir.resolve("data");
        String runId;
        try (GatewayHarness h = new GatewayHarness(data, agents(ws))) {
            AgentRuntime rt = h.carapace.agentRuntime();
            assertThat(rt.agents().list()).extracting(a -> a.id()).containsExactly("helper");
            h.a.enqueue(ScriptedUpstream.sse(ScriptedUpstream.openAiTextStream(List.of("hello"), 30, 2), 0));
            RunInfo done = rt.await(rt.start("helper", "chat", "hi"), Duration.ofSeconds(10));
            assertThat(done.status()).isEqualTo(RunStatus.COMPLETED);
            h.carapace.ledger().flush(5000);
            String who = h.carapace.store().jdbi().withHandle(x -> x.createQuery(
                    "SELECT agent || '/' || team || '/' || user_id FROM usage_records").mapTo(String.class).one());
            assertThat(who).isEqualTo("helper/platform/alice");   // the team came from alice's key

            // A run in flight when the gateway shuts down ends interrupted.
            h.a.enqueue(ScriptedUpstream.sse(ScriptedUpstream.openAiTextStream(List.of("a", "b", "c", "d"), 30, 2), 1000));
            runId = rt.start("helper", "chat", "tell me more");
            await().atMost(Duration.ofSeconds(10)).until(() -> rt.run(runId).status() == RunStatus.RUNNING);
        }
        try (GatewayHarness h = new GatewayHarness(data, agents(ws))) {
            AgentRuntime rt = h.carapace.agentRuntime();
            RunInfo cut = rt.run(runId);
            assertThat(cut.status()).isEqualTo(RunStatus.INTERRUPTED);
            assertThat(cut.reason()).contains("shut down");
            h.a.enqueue(ScriptedUpstream.sse(ScriptedUpstream.openAiTextStream(List.of("more"), 40, 2), 0));
            RunInfo resumed = rt.await(rt.resume("agent:helper:chat"), Duration.ofSeconds(10));
            assertThat(resumed.status()).isEqualTo(RunStatus.COMPLETED);
            List<TranscriptEntry> t = rt.transcript("agent:helper:chat");
            assertThat(t).extracting(TranscriptEntry::role).startsWith("user", "assistant", "user").endsWith("assistant");
            assertThat(t.get(t.size() - 1).content().path("text").asText()).isEqualTo("more");
        }
    }

    /**
     * Regression: an agent whose owner had every key revoked went on running as them (its heartbeats, its channels,
     * and a run already going). Its run in progress stops before its next model call, and no new one starts.
     */
    @Test
    void anAgentOfAUserWithEveryKeyRevokedStopsBeforeItsNextModelCallAndStartsNoMore() throws Exception {
        Path ws = Files.createDirectories(dir.resolve("ws"));
        Files.writeString(ws.resolve("AGENTS.md"), "You help.");
        try (GatewayHarness h = new GatewayHarness(dir.resolve("data"), agents(ws))) {
            AgentRuntime rt = h.carapace.agentRuntime();
            // the first answer asks for a tool, slowly: alice's key is revoked while it streams
            h.a.enqueue(ScriptedUpstream.sse(ScriptedUpstream.openAiToolCallStream(
                    new ScriptedUpstream.ToolCall("c1", "list", "{}"), 20, 5), 400));
            h.a.enqueue(ScriptedUpstream.sse(ScriptedUpstream.openAiTextStream(List.of("never asked"), 30, 2), 0));
            String runId = rt.start("helper", "chat", "look around");
            await().atMost(Duration.ofSeconds(10)).until(() -> h.a.requestCount() == 1);
            String prefix = h.carapace.keyAdmin().list().stream().filter(k -> k.user().equals("alice")).findFirst().orElseThrow().prefix();
            assertThat(h.carapace.keyAdmin().revoke(prefix)).isTrue();

            RunInfo cut = rt.await(runId, Duration.ofSeconds(15));
            assertThat(cut.status()).isEqualTo(RunStatus.FAILED);
            assertThat(cut.reason()).contains("user 'alice'", "every API key revoked");
            assertThat(h.a.requestCount()).as("no model call after the revocation").isEqualTo(1);

            RunInfo next = rt.await(rt.start("helper", "chat2", "hi"), Duration.ofSeconds(10));
            assertThat(next.status()).isEqualTo(RunStatus.FAILED);
            assertThat(next.reason()).contains("every API key revoked");
            assertThat(h.a.requestCount()).isEqualTo(1);
        }
    }

    /**
     * Regression: a member's own run of a team's agent went on calling models, charged to her, after her last key was
     * revoked. Revoking the key that started a run stops it before its next model call.
     */
    @Test
    void revokingTheKeyThatStartedARunStopsItBeforeItsNextModelCall() throws Exception {
        Path ws = Files.createDirectories(dir.resolve("ws"));
        Files.writeString(ws.resolve("AGENTS.md"), "You help.");
        try (GatewayHarness h = new GatewayHarness(dir.resolve("data"), agents(ws).replace("owner: {user: alice}", "owner: {team: platform}"))) {
            AgentRuntime rt = h.carapace.agentRuntime();
            h.a.enqueue(ScriptedUpstream.sse(ScriptedUpstream.openAiToolCallStream(
                    new ScriptedUpstream.ToolCall("c1", "list", "{}"), 20, 5), 400));
            h.a.enqueue(ScriptedUpstream.sse(ScriptedUpstream.openAiTextStream(List.of("never asked"), 30, 2), 0));
            var started = h.post("/api/agents/helper/runs", h.memberKey, "{\"message\":\"look around\",\"session\":\"s\"}");
            assertThat(started.statusCode()).as(started.body()).isEqualTo(202);
            String runId = GatewayHarness.json(started.body()).path("run_id").asText();
            await().atMost(Duration.ofSeconds(10)).until(() -> h.a.requestCount() == 1);
            String prefix = h.carapace.keyAdmin().list().stream().filter(k -> k.user().equals("alice")).findFirst().orElseThrow().prefix();
            assertThat(h.carapace.keyAdmin().revoke(prefix)).isTrue();

            RunInfo cut = rt.await(runId, Duration.ofSeconds(15));
            assertThat(cut.status()).isEqualTo(RunStatus.FAILED);
            assertThat(cut.reason()).contains("The API key " + prefix, "was revoked");
            assertThat(h.a.requestCount()).as("no model call after the revocation").isEqualTo(1);
        }
    }

    @Test
    void execRunsOnlyWhenTheConfigChoseTheLocalRunner() throws Exception {
        Path ws = Files.createDirectories(dir.resolve("ops"));
        Files.writeString(ws.resolve("AGENTS.md"), "You run commands.");
        String yaml = """
                tools: {exec: local}
                agents:
                  ops:
                    workspace: %s
                    model: m-solo
                    tools: [exec]
                    owner: {user: alice}
                """.formatted(ws);
        try (GatewayHarness h = new GatewayHarness(dir.resolve("data"), yaml)) {
            h.a.enqueue(ScriptedUpstream.sse(ScriptedUpstream.openAiToolCallStream(new ScriptedUpstream.ToolCall("x1", "exec",
                    "{\"command\":\"echo sum=$((40+2)) > out.txt; cat out.txt; pwd\"}")), 0),
                    ScriptedUpstream.sse(ScriptedUpstream.openAiTextStream(List.of("done"), 30, 2), 0));
            AgentRuntime rt = h.carapace.agentRuntime();
            RunInfo done = rt.await(rt.start("ops", "s", "add"), Duration.ofSeconds(20));
            assertThat(done.status()).as(done.reason()).isEqualTo(RunStatus.COMPLETED);

            h.a.take();
            String second = ScriptedUpstream.body(h.a.take());
            assertThat(second).contains("sum=42").contains(ws.toRealPath().toString()).contains("exit code 0");
            assertThat(Files.readString(ws.resolve("out.txt"))).isEqualTo("sum=42\n");
        }
    }
}
