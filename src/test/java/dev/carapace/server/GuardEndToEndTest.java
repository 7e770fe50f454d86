package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carapace.agent.AgentRuntime;
import dev.carapace.agent.RunInfo;
import dev.carapace.agent.RunStatus;
import dev.carapace.identity.Principal;
import dev.carapace.store.AuditRecords;
import dev.carapace.testing.ScriptedUpstream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The guard as the composition root wires it from the config: an attached policy decides each tool call, an
 * {@code ask} waits for an operator over {@code /api/approvals}, a denial reaches the model as a structured result,
 * and every decision is in the audit log.
 */
class GuardEndToEndTest {

    static final Duration WAIT = Duration.ofSeconds(30);
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void thePolicyAsksDeniesAndAllowsAndEveryDecisionIsAudited() throws Exception {
        Path ws = Files.createDirectories(dir.resolve("agents/coder"));
        Files.writeString(ws.resolve("AGENTS.md"), "You write code.");
        Path policy = Files.createDirectories(dir.resolve("policies")).resolve("coder.yaml");
        Files.writeString(policy, """
                filesystem_policy: {include_workdir: true}
                tools:
                  allow: [read]
                  ask: [write]
                """);
        String yaml = """
                guard:
                  policies:
                    coder: {file: %s, agents: [coder]}
                agents:
                  coder:
                    workspace: %s
                    model: m-solo
                    tools: [read, write]
                    owner: {user: alice}
                """.formatted(policy, ws);
        try (GatewayHarness h = new GatewayHarness(dir.resolve("data"), yaml)) {
            h.a.enqueue(ScriptedUpstream.sse(ScriptedUpstream.openAiToolCallStream(
                            new ScriptedUpstream.ToolCall("w1", "write", "{\"path\":\"out.txt\",\"content\":\"hello\"}"),
                            new ScriptedUpstream.ToolCall("r1", "read", "{\"path\":\"/etc/hostname\"}")), 0),
                    ScriptedUpstream.sse(ScriptedUpstream.openAiTextStream(List.of("done"), 30, 2), 0));
            AgentRuntime rt = h.carapace.agentRuntime();
            // bob runs alice's agent: the records name bob, who asked, not alice alone
            Principal bob = new Principal("acme", "platform", "bob", Principal.Role.MEMBER, "cpk_bob");
            String run = rt.start("coder", "main", "write the file", bob);

            // The write waits for an operator; the read outside every root is refused at once.
            String[] id = new String[1];
            await().atMost(WAIT).until(() -> {
                JsonNode list = JSON.readTree(h.get("/api/approvals", h.adminKey).body()).path("data");
                if (list.isEmpty()) return false;
                id[0] = list.get(0).path("id").asText();
                return true;
            });
            JsonNode pending = JSON.readTree(h.get("/api/approvals/" + id[0], h.adminKey).body());
            assertThat(pending.path("tool").asText()).isEqualTo("write");
            assertThat(pending.path("agent").asText()).isEqualTo("coder");
            HttpResponse<String> ok = h.post("/api/approvals/" + id[0] + "/approve", h.adminKey, "{\"reason\":\"fine\"}");
            assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);

            RunInfo info = rt.await(run, WAIT);
            assertThat(info.status()).as(info.reason()).isEqualTo(RunStatus.COMPLETED);
            assertThat(Files.readString(ws.resolve("out.txt"))).isEqualTo("hello");

            h.a.take();
            String results = ScriptedUpstream.body(h.a.take());
            // The model learns what was refused, by which layer, and what an operator could do about it.
            assertThat(results).contains("\\\"error\\\":\\\"denied\\\"").contains("\\\"layer\\\":\\\"filesystem\\\"")
                    .contains("/etc/hostname").contains("remedy");

            assertThat(h.carapace.auditLog().flush(WAIT)).isTrue();
            List<AuditRecords.AuditRow> rows = h.carapace.store().auditRecords()
                    .search(new AuditRecords.Filter("coder", null, null, null, null, null, 0), 50);
            assertThat(rows).extracting(AuditRecords.AuditRow::outcome).contains("ask", "approved", "deny");
            assertThat(rows).filteredOn(r -> List.of("ask", "approved", "deny").contains(r.outcome()))
                    .extracting(AuditRecords.AuditRow::principal).containsOnly("acme/platform/bob");
            assertThat(pending.path("principal").asText()).isEqualTo("acme/platform/bob");
            assertThat(rows).filteredOn(r -> r.outcome().equals("deny")).singleElement()
                    .satisfies(r -> assertThat(r.target()).isEqualTo("/etc/hostname"));
            assertThat(h.get("/api/audit/verify", h.adminKey).body()).contains("\"ok\":true");
        }
    }
}
