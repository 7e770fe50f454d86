package dev.carapace.server;

import dev.carapace.agent.AgentRuntime;
import dev.carapace.agent.RunInfo;
import dev.carapace.agent.RunStatus;
import dev.carapace.store.AuditRecords;
import dev.carapace.testing.ScriptedUpstream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The privacy router's decision on an agent's model call lands in the guard's audit log, without the value. */
class PrivacyAuditTest {

    @TempDir
    Path dir;

    @Test
    void aRedactedAgentCallIsAuditedWithClassesAndCountsButNoValue() throws Exception {
        Path ws = Files.createDirectories(dir.resolve("agents/helper"));
        Files.writeString(ws.resolve("AGENTS.md"), "You help.");
        String yaml = """
                privacy:
                  actions: {redact: [pii]}
                agents:
                  helper:
                    workspace: %s
                    model: m-solo
                    owner: {user: alice}
                """.formatted(ws);
        try (GatewayHarness h = new GatewayHarness(dir.resolve("data"), yaml)) {
            h.a.enqueue(ScriptedUpstream.sse(ScriptedUpstream.openAiTextStream(List.of("noted"), 30, 2), 0));
            AgentRuntime rt = h.carapace.agentRuntime();
            RunInfo run = rt.await(rt.start("helper", "main", "write to jane.doe@example.com please"), Duration.ofSeconds(30));
            assertThat(run.status()).as(run.reason()).isEqualTo(RunStatus.COMPLETED);
            assertThat(ScriptedUpstream.body(h.a.take())).contains("<EMAIL_1>").doesNotContain("jane.doe@example.com");

            assertThat(h.carapace.auditLog().flush(Duration.ofSeconds(10))).isTrue();
            List<AuditRecords.AuditRow> rows = h.carapace.store().auditRecords()
                    .search(new AuditRecords.Filter("helper", null, null, "privacy", null, null, 0), 10);
            assertThat(rows).singleElement().satisfies(r -> {
                assertThat(r.outcome()).isEqualTo("redact");
                assertThat(r.rule()).isEqualTo("privacy:pii");
                assertThat(r.reason()).contains("email x1");
                assertThat(r.session()).isEqualTo("agent:helper:main");
                assertThat(r.toString()).doesNotContain("jane.doe");
            });
        }
    }
}
