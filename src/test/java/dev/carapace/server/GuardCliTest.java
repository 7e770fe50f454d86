package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.guard.AuditEvent;
import dev.carapace.guard.approval.ApprovalQueue;
import dev.carapace.guard.audit.AuditLog;
import dev.carapace.store.Store;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static dev.carapace.server.CliTest.run;
import static org.assertj.core.api.Assertions.assertThat;

/** {@code carapace audit ...} and {@code carapace approvals ...} against a store written the way a gateway writes it. */
class GuardCliTest {

    static final Instant T0 = Instant.parse("2026-11-23T09:00:00Z");

    @TempDir Path dir;
    Path data;
    String approvalId;

    @BeforeEach
    void fill() throws Exception {
        data = dir.resolve("data");
        try (Store store = Store.open("jdbc:sqlite:" + data.resolve("carapace.db").toAbsolutePath(), null, null, 2);
             AuditLog audit = new AuditLog(store.auditRecords())) {
            audit.record(new AuditEvent(T0, "acme/platform", "coder", "agent:coder:main", "tool", "read", "a.txt", "allow", "r1", "ok"));
            audit.record(new AuditEvent(T0.plusSeconds(60), "acme/platform", "coder", "agent:coder:main", "network", "GET",
                    "evil.example:443/", "deny", "default-deny", "host not allowed"));
            audit.record(new AuditEvent(T0.plusSeconds(120), "acme/research", "lab", "agent:lab:main", "tool", "exec", "ls",
                    "ask", "p.exec", "needs approval"));
            ApprovalQueue q = new ApprovalQueue(store.approvalRecords(), audit, Clock.systemUTC(), Duration.ofMinutes(5));
            approvalId = q.open(new ApprovalQueue.Request("acme/research", "lab", "agent:lab:main", null, "c1", "exec",
                    "process", "ls -la", "p.exec", "needs approval", null)).id();
        }
    }

    CliTest.Result cli(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--config", CliTest.EXAMPLE.toString(), "--data", data.toString()));
        return run(all.toArray(String[]::new));
    }

    @Test
    void verifySearchAndTail() {
        CliTest.Result ok = cli("audit", "verify");
        assertThat(ok.exit()).as(ok.err()).isZero();
        assertThat(ok.out()).startsWith("ok: 3 records, chain intact; head 3:");

        CliTest.Result denied = cli("audit", "search", "--outcome", "deny", "--json");
        assertThat(denied.exit()).as(denied.err()).isZero();
        assertThat(denied.json()).singleElement().satisfies(r -> {
            assertThat(r.path("target").asText()).isEqualTo("evil.example:443/");
            assertThat(r.path("layer").asText()).isEqualTo("network");
            assertThat(r.path("hash").asText()).hasSize(64);
        });
        JsonNode window = cli("audit", "search", "--since", "2026-11-23T09:00:30Z", "--until", "2026-11-23T09:01:30Z", "--json").json();
        assertThat(window).singleElement().satisfies(r -> assertThat(r.path("seq").asLong()).isEqualTo(2));
        assertThat(cli("audit", "search", "--agent", "lab", "--json").json()).hasSize(1);
        assertThat(cli("audit", "search", "--session", "agent:coder:main", "--layer", "tool", "--json").json()).hasSize(1);

        CliTest.Result tail = cli("audit", "tail", "-n", "2");
        assertThat(tail.out().lines().toList()).hasSize(3).satisfies(l -> {
            assertThat(l.get(1)).startsWith("2 ");
            assertThat(l.get(2)).startsWith("3 ").contains("exec").contains("ask");
        });

        CliTest.Result bad = cli("audit", "search", "--since", "yesterday");
        assertThat(bad.exit()).isEqualTo(2);
        assertThat(bad.err()).contains("--since: expected an ISO instant").contains("got 'yesterday'");
        assertThat(cli("audit", "search", "--outcome", "maybe").err()).contains("--outcome: expected one of allow, allowed, approved").contains("got 'maybe'");
        assertThat(cli("audit", "verify", "--anchor", "3:xyz").err()).contains("--anchor: expected SEQ:HASH");
    }

    @Test
    void verifyExitsNonZeroAndNamesTheTamperedRecord() {
        String head = cli("audit", "verify", "--json").json().path("head_hash").asText();
        try (Store store = Store.open("jdbc:sqlite:" + data.resolve("carapace.db").toAbsolutePath(), null, null, 2)) {
            store.jdbi().useHandle(h -> {
                h.execute("DROP TRIGGER audit_log_no_update");
                h.execute("UPDATE audit_log SET outcome = 'allow' WHERE seq = 2");
            });
        }
        CliTest.Result r = cli("audit", "verify");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("edited: record 2 was edited").contains("TAMPERED: 1 problem(s) in 3 records");
        JsonNode json = cli("audit", "verify", "--json", "--anchor", "3:" + head).json();
        assertThat(json.path("ok").asBoolean()).isFalse();
        assertThat(json.path("problems").get(0).path("kind").asText()).isEqualTo("edited");
    }

    @Test
    void approvalsFromTheCommandLine() {
        CliTest.Result list = cli("approvals", "list");
        assertThat(list.exit()).as(list.err()).isZero();
        assertThat(list.out()).contains(approvalId).contains("lab").contains("ls -la");

        CliTest.Result show = cli("approvals", "show", approvalId, "--json");
        assertThat(show.json().path("status").asText()).isEqualTo("pending");

        CliTest.Result ok = cli("approvals", "approve", approvalId, "--remember", "--pattern", "ls *", "--reason", "harmless");
        assertThat(ok.exit()).as(ok.err()).isZero();
        assertThat(ok.out()).startsWith("approved " + approvalId).contains("standing grant grt_");

        CliTest.Result again = cli("approvals", "deny", approvalId);
        assertThat(again.exit()).isEqualTo(1);
        assertThat(again.err()).contains("is already approved (by cli:");

        JsonNode grants = cli("approvals", "grants", "--json").json();
        assertThat(grants).singleElement().satisfies(g -> assertThat(g.path("target_pattern").asText()).isEqualTo("ls *"));
        String grant = grants.get(0).path("id").asText();
        assertThat(cli("approvals", "revoke", grant).out()).contains("revoked " + grant);
        assertThat(cli("approvals", "grants").out()).contains("No active grants.");
        assertThat(cli("approvals", "revoke", grant).exit()).isEqualTo(1);

        JsonNode audited = cli("audit", "search", "--layer", "approval", "--json").json();
        assertThat(audited).extracting(n -> n.path("outcome").asText()).containsExactly("revoked", "approved");
        assertThat(audited.get(1).path("reason").asText()).contains("approved by cli:").contains("harmless");
        assertThat(cli("audit", "verify").exit()).isZero();

        assertThat(cli("approvals", "show", "apr_nope").err()).contains("no approval 'apr_nope'");
        assertThat(cli("approvals", "approve", approvalId, "--pattern", "x").err()).contains("--pattern: only with --remember");
        assertThat(cli("approvals", "list", "--status", "maybe").err()).contains("--status: expected one of");
    }

}
