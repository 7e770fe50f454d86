package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.agent.AgentRuntime;
import dev.carapace.agent.AgentSpec;
import dev.carapace.agent.Agents;
import dev.carapace.agent.Guard;
import dev.carapace.agent.RunEvent;
import dev.carapace.agent.RunEvents;
import dev.carapace.agent.RunInfo;
import dev.carapace.agent.RunStatus;
import dev.carapace.agent.tools.FileTools;
import dev.carapace.guard.ActingFor;
import dev.carapace.guard.approval.ApprovalQueue;
import dev.carapace.identity.Principal;
import dev.carapace.server.adapter.GrantingGuard;
import dev.carapace.server.adapter.QueuedApprovals;
import dev.carapace.server.adapter.StoreSessions;
import dev.carapace.store.AuditRecords;
import dev.carapace.store.AuditRecords.AuditRow;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static dev.carapace.server.AgentHarness.text;
import static dev.carapace.server.AgentHarness.toolCall;
import static dev.carapace.server.GatewayHarness.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Approvals end to end: a real gateway and store, a real {@link AgentRuntime} whose guard asks before every
 * {@code read}, a scripted upstream, and operators deciding through {@code /api/approvals}. The run waits, then the
 * tool runs (approved), or the model gets a structured refusal (rejected, timed out); every outcome is in the audit
 * log and on the run's live event stream.
 */
class ApprovalFlowTest {

    static final Duration WAIT = Duration.ofSeconds(15);

    @TempDir
    Path dir;
    AgentHarness harness;
    GatewayHarness h;
    final List<RunEvent> events = new CopyOnWriteArrayList<>();
    final List<AgentRuntime> runtimes = new CopyOnWriteArrayList<>();

    /** Asks about every read, with the path as target; allows everything else. */
    static final Guard ASK_ON_READ = (agent, session, tool, args) -> tool.equals("read")
            ? new Guard.Decision(Guard.Decision.Verdict.ASK, "reading files needs an operator's yes", "policy.tools.read",
                    "filesystem", args.path("path").asText(), "approve it, or add a read rule for the path")
            : Guard.Decision.allow("test");

    @BeforeEach
    void setUp() throws Exception {
        harness = new AgentHarness(dir);
        h = harness.h;
    }

    @AfterEach
    void tearDown() {
        runtimes.forEach(AgentRuntime::close);
        harness.close();
    }

    /** A runtime like the gateway's, with the asking guard, over the gateway's own approval queue and audit log. */
    AgentRuntime runtime(ApprovalQueue queue) {
        Agents agents = new Agents(List.of(new AgentSpec("reader", harness.workspace, "m-solo", List.of(),
                List.of("read", "list"), new AgentSpec.Owner(null, "platform"), AgentSpec.Limits.DEFAULT,
                AgentSpec.OnBusy.QUEUE, null)));
        var built = new java.util.concurrent.atomic.AtomicReference<AgentRuntime>();
        ActingFor actingFor = AgentWiring.actingFor("acme", agents, built::get);
        AgentRuntime rt = new AgentRuntime(agents, h.carapace.gateway(), new StoreSessions(h.carapace.store().sessions()),
                new GrantingGuard(ASK_ON_READ, queue, h.carapace.auditLog(), Clock.systemUTC(), actingFor),
                new QueuedApprovals(queue, actingFor), FileTools.all(),
                spec -> Principal.agent("acme", "platform", null, spec.id()), new RunEvents(), Clock.systemUTC());
        built.set(rt);
        runtimes.add(rt);
        rt.subscribeSession("agent:reader:main", events::add);
        return rt;
    }

    AgentRuntime runtime() { return runtime(h.carapace.approvals()); }

    /** Waits for the run's pending approval and returns its id, as an operator listing approvals would find it. */
    String pendingApproval() {
        String[] id = new String[1];
        await().atMost(WAIT).until(() -> {
            JsonNode list = json(h.get("/api/approvals", h.adminKey).body()).path("data");
            if (list.isEmpty()) return false;
            id[0] = list.get(0).path("id").asText();
            return true;
        });
        return id[0];
    }

    List<AuditRow> audit(String outcome) throws InterruptedException {
        assertThat(h.carapace.auditLog().flush(WAIT)).isTrue();
        return h.carapace.store().auditRecords().search(new AuditRecords.Filter("reader", null, outcome, null, null, null, 0), 50);
    }

    /**
     * A team's agent is run by several people: the approval, its record and a standing grant's record name the one
     * whose message started the run (they named the agent's owner, the team, whoever asked).
     */
    @Test
    void approvalsAndTheirRecordsNameWhoAskedForTheRun() throws Exception {
        harness.scriptReadThenAnswer();
        AgentRuntime rt = runtime();
        Principal bob = new Principal("acme", "platform", "bob", Principal.Role.MEMBER, "cpk_bob");
        String run = rt.start("reader", "main", "What is the secret word?", bob);
        String id = pendingApproval();
        assertThat(json(h.get("/api/approvals/" + id, h.adminKey).body()).path("principal").asText()).isEqualTo("acme/platform/bob");
        HttpResponse<String> ok = h.post("/api/approvals/" + id + "/approve", h.adminKey,
                "{\"reason\":\"fine\",\"remember\":true,\"target_pattern\":\"*.txt\"}");
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
        assertThat(rt.await(run, WAIT).status()).isEqualTo(RunStatus.COMPLETED);
        assertThat(audit("approved")).singleElement().satisfies(r -> assertThat(r.principal()).isEqualTo("acme/platform/bob"));

        // carol's run in the same session reads under bob's standing grant: the grant's record names carol
        harness.scriptReadThenAnswer();
        Principal carol = new Principal("acme", "platform", "carol", Principal.Role.MEMBER, "cpk_carol");
        assertThat(rt.await(rt.start("reader", "main", "And again?", carol), WAIT).status()).isEqualTo(RunStatus.COMPLETED);
        assertThat(audit("allow")).filteredOn(r -> r.rule().startsWith("grant:")).singleElement()
                .satisfies(r -> assertThat(r.principal()).isEqualTo("acme/platform/carol"));

        // no one known (a run the runtime started for no one): the agent's owner, as before
        harness.scriptReadThenAnswer();
        String unowned = rt.start("reader", "other", "Once more?");
        assertThat(rt.await(unowned, WAIT).status()).isEqualTo(RunStatus.COMPLETED);
        assertThat(audit("allow")).filteredOn(r -> r.rule().startsWith("grant:")).extracting(AuditRow::principal)
                .containsExactlyInAnyOrder("acme/platform/carol", "acme/platform");
    }

    @Test
    void anApprovedCallRunsAfterTheOperatorSaysYes() throws Exception {
        harness.scriptReadThenAnswer();
        AgentRuntime rt = runtime();
        String run = rt.start("reader", "main", "What is the secret word?");

        String id = pendingApproval();
        JsonNode pending = json(h.get("/api/approvals/" + id, h.adminKey).body());
        assertThat(pending.path("status").asText()).isEqualTo("pending");
        assertThat(pending.path("agent").asText()).isEqualTo("reader");
        assertThat(pending.path("run_id").asText()).isEqualTo(run);
        assertThat(pending.path("tool").asText()).isEqualTo("read");
        assertThat(pending.path("target").asText()).isEqualTo("notes.txt");
        assertThat(pending.path("rule").asText()).isEqualTo("policy.tools.read");
        assertThat(pending.path("principal").asText()).isEqualTo("acme/platform");
        assertThat(rt.run(run).status()).isEqualTo(RunStatus.RUNNING);   // waiting, not refused

        // a reason goes into the audit log and onto terminals: one that reads as something else is refused, nothing decided
        for (String reason : new String[]{"ok\\u001b[2K", "a\\u0000b", "fine\\u202e"}) {
            HttpResponse<String> bad = h.post("/api/approvals/" + id + "/approve", h.adminKey, "{\"reason\":\"" + reason + "\"}");
            assertThat(bad.statusCode()).as(bad.body()).isEqualTo(400);
            assertThat(json(bad.body()).path("error").path("param").asText()).isEqualTo("reason");
        }
        assertThat(json(h.get("/api/approvals/" + id, h.adminKey).body()).path("status").asText()).isEqualTo("pending");
        HttpResponse<String> ok = h.post("/api/approvals/" + id + "/approve", h.adminKey, "{\"reason\":\"fine\"}");
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
        assertThat(json(ok.body()).path("status").asText()).isEqualTo("approved");
        assertThat(json(ok.body()).path("decided_by").asText()).startsWith("root (key ");

        RunInfo info = rt.await(run, WAIT);
        assertThat(info.status()).isEqualTo(RunStatus.COMPLETED);
        h.a.take();
        JsonNode second = json(dev.carapace.testing.ScriptedUpstream.body(h.a.take()));
        assertThat(second.toString()).contains("kumquat");   // the file was read

        assertThat(events).filteredOn(e -> e instanceof RunEvent.ApprovalRequested).singleElement()
                .satisfies(e -> assertThat(((RunEvent.ApprovalRequested) e).approvalId()).isEqualTo(id));
        assertThat(events).filteredOn(e -> e instanceof RunEvent.ApprovalResolved).singleElement()
                .satisfies(e -> assertThat(((RunEvent.ApprovalResolved) e).outcome()).isEqualTo("approved"));
        assertThat(audit("approved")).singleElement().satisfies(r -> {
            assertThat(r.layer()).isEqualTo("approval");
            assertThat(r.action()).isEqualTo("read");
            assertThat(r.target()).isEqualTo("notes.txt");
            assertThat(r.reason()).contains(id).contains("approved by root (key ").contains("fine");
        });
        JsonNode listed = json(h.get("/api/audit?agent=reader&outcome=approved", h.adminKey).body());
        assertThat(listed.path("data")).singleElement().satisfies(r -> {
            assertThat(r.path("layer").asText()).isEqualTo("approval");
            assertThat(r.path("hash").asText()).hasSize(64);
        });
        JsonNode verified = json(h.get("/api/audit/verify", h.adminKey).body());
        assertThat(verified.path("ok").asBoolean()).isTrue();
        assertThat(verified.path("records").asLong()).isPositive();
        // decided once: a second decision is refused, saying by whom it was decided
        HttpResponse<String> again = h.post("/api/approvals/" + id + "/deny", h.adminKey, "{}");
        assertThat(again.statusCode()).isEqualTo(400);
        assertThat(again.body()).contains("already approved").contains("approval_already_decided");
    }

    @Test
    void aRejectedCallReachesTheModelAsAStructuredRefusal() throws Exception {
        harness.scriptReadThenAnswer();
        AgentRuntime rt = runtime();
        String run = rt.start("reader", "main", "What is the secret word?");
        String id = pendingApproval();

        assertThat(h.post("/api/approvals/" + id + "/deny", h.adminKey, "{\"reason\":\"not today\"}").statusCode())
                .isEqualTo(200);
        assertThat(rt.await(run, WAIT).status()).isEqualTo(RunStatus.COMPLETED);
        h.a.take();
        JsonNode second = json(dev.carapace.testing.ScriptedUpstream.body(h.a.take()));
        JsonNode refusal = toolContent(second);
        assertThat(refusal.path("error").asText()).isEqualTo("denied");
        assertThat(refusal.path("reason").asText()).isEqualTo("rejected by root (key " + keyPrefix() + "): not today");
        assertThat(refusal.path("approval").asText()).isEqualTo(id);
        assertThat(refusal.path("approval_status").asText()).isEqualTo("rejected");
        assertThat(refusal.path("rule").asText()).isEqualTo("policy.tools.read");
        assertThat(refusal.path("layer").asText()).isEqualTo("filesystem");
        assertThat(refusal.path("target").asText()).isEqualTo("notes.txt");
        assertThat(second.toString()).doesNotContain("kumquat");   // never read
        assertThat(audit("rejected")).singleElement().satisfies(r -> assertThat(r.reason()).contains("not today"));
    }

    @Test
    void anUnansweredApprovalTimesOutIntoADenial() throws Exception {
        harness.scriptReadThenAnswer();
        ApprovalQueue quick = new ApprovalQueue(h.carapace.store().approvalRecords(), h.carapace.auditLog(),
                Clock.systemUTC(), Duration.ofMillis(600), Duration.ofMillis(100));
        AgentRuntime rt = runtime(quick);
        String run = rt.start("reader", "main", "What is the secret word?");

        assertThat(rt.await(run, WAIT).status()).isEqualTo(RunStatus.COMPLETED);
        h.a.take();
        JsonNode refusal = toolContent(json(dev.carapace.testing.ScriptedUpstream.body(h.a.take())));
        assertThat(refusal.path("reason").asText()).isEqualTo("approval timed out");
        assertThat(refusal.path("approval_status").asText()).isEqualTo("expired");
        assertThat(audit("expired")).singleElement().satisfies(r -> {
            assertThat(r.reason()).contains("expired by carapace: approval timed out");
            assertThat(r.target()).isEqualTo("notes.txt");
        });
        JsonNode listed = json(h.get("/api/approvals?status=expired", h.adminKey).body()).path("data");
        assertThat(listed).hasSize(1);
        assertThat(listed.get(0).path("decision_reason").asText()).isEqualTo("approval timed out");
    }

    @Test
    void rememberingTurnsAnApprovalIntoAStandingGrantUntilItIsRevoked() throws Exception {
        AgentRuntime rt = runtime();
        h.a.enqueue(toolCall("c1", "read", "{\"path\":\"notes.txt\"}"), text("first", 10, 1));
        String first = rt.start("reader", "main", "read it");
        String id = pendingApproval();
        HttpResponse<String> ok = h.post("/api/approvals/" + id + "/approve", h.adminKey,
                "{\"remember\":true,\"target_pattern\":\"*.txt\"}");
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
        String grant = json(ok.body()).path("grant_id").asText();
        assertThat(grant).startsWith("grt_");
        assertThat(rt.await(first, WAIT).status()).isEqualTo(RunStatus.COMPLETED);

        // covered: no approval, allowed under the grant's rule
        h.a.enqueue(toolCall("c2", "read", "{\"path\":\"notes.txt\"}"), text("second", 10, 1));
        String second = rt.start("reader", "main", "again");
        assertThat(rt.await(second, WAIT).status()).isEqualTo(RunStatus.COMPLETED);
        assertThat(audit("allow")).singleElement().satisfies(r -> assertThat(r.rule()).isEqualTo("grant:" + grant));
        assertThat(json(h.get("/api/approvals?status=all", h.adminKey).body()).path("data")).hasSize(1);

        JsonNode grants = json(h.get("/api/grants", h.adminKey).body()).path("data");
        assertThat(grants).singleElement().satisfies(g -> {
            assertThat(g.path("agent").asText()).isEqualTo("reader");
            assertThat(g.path("tool").asText()).isEqualTo("read");
            assertThat(g.path("target_pattern").asText()).isEqualTo("*.txt");
        });
        HttpResponse<String> revoked = h.send(HttpRequest.newBuilder(URI.create(h.url("/api/grants/" + grant)))
                .header("authorization", "Bearer " + h.adminKey).DELETE().build());
        assertThat(revoked.statusCode()).as(revoked.body()).isEqualTo(200);
        assertThat(audit("revoked")).hasSize(1);

        // revoked: asks again
        h.a.enqueue(toolCall("c3", "read", "{\"path\":\"notes.txt\"}"), text("third", 10, 1));
        String third = rt.start("reader", "main", "and again");
        String again = pendingApproval();
        assertThat(again).isNotEqualTo(id);
        h.post("/api/approvals/" + again + "/deny", h.adminKey, "");
        assertThat(rt.await(third, WAIT).status()).isEqualTo(RunStatus.COMPLETED);
    }

    @Test
    void cancellingAWaitingRunWithdrawsItsApproval() throws Exception {
        harness.scriptReadThenAnswer();
        AgentRuntime rt = runtime();
        String run = rt.start("reader", "main", "What is the secret word?");
        String id = pendingApproval();
        assertThat(rt.cancel(run)).isTrue();
        assertThat(rt.await(run, WAIT).status()).isEqualTo(RunStatus.CANCELLED);
        // The waiting thread withdraws the approval as it unwinds, which may be just after the run reports its end
        // (seen on a loaded machine): allow it a moment, for the row as for its audit record.
        await().atMost(WAIT).untilAsserted(() -> {
            JsonNode a = json(h.get("/api/approvals/" + id, h.adminKey).body());
            assertThat(a.path("status").asText()).isEqualTo("expired");
            assertThat(a.path("decision_reason").asText()).isEqualTo("the run ended before a decision");
        });
        await().atMost(WAIT).untilAsserted(() -> assertThat(audit("expired")).hasSize(1));
        assertThat(h.post("/api/approvals/" + id + "/approve", h.adminKey, "{}").body()).contains("already expired");
    }

    @Test
    void onlyAdminsSeeAndDecideAndBadInputIsNamed() {
        assertThat(h.get("/api/approvals", h.memberKey).statusCode()).isEqualTo(403);
        assertThat(h.get("/api/audit", h.memberKey).statusCode()).isEqualTo(403);
        assertThat(h.post("/api/approvals/apr_x/approve", h.memberKey, "{}").statusCode()).isEqualTo(403);
        HttpResponse<String> missing = h.post("/api/approvals/apr_nope/approve", h.adminKey, "{}");
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(missing.body()).contains("approval_not_found");
        assertThat(h.get("/api/approvals?status=maybe", h.adminKey).body())
                .contains("status: expected one of approved, expired, pending, rejected; got 'maybe' (or all)");
        assertThat(h.get("/api/audit?since=yesterday", h.adminKey).body()).contains("since: expected an ISO instant")
                .contains("\"param\":\"since\"");
        assertThat(h.get("/api/audit?limit=0", h.adminKey).body()).contains("\"param\":\"limit\"");
        // Regression: a 500 (long overflow in the store's epoch milliseconds) for an instant out of its range
        for (String far : new String[] {"-999999999-01-01T00:00:00Z", "%2B999999999-12-31T00:00:00Z"}) {
            HttpResponse<String> r = h.get("/api/audit?until=" + far, h.adminKey);
            assertThat(r.statusCode()).as(far).isEqualTo(400);
            assertThat(r.body()).contains("outside the years 1 to 9999");
        }
        assertThat(h.get("/api/audit?outcome=maybe", h.adminKey).statusCode()).isEqualTo(400);
        // Regression (found from outside): spawns are written with layer agent, the egress scrubber with outcome scrub,
        // privacy with its decisions; the filters refused the values the log itself holds
        for (String q : new String[] {"layer=agent", "layer=privacy", "outcome=scrub", "outcome=redact", "outcome=block"}) {
            assertThat(h.get("/api/audit?" + q, h.adminKey).statusCode()).as(q).isEqualTo(200);
        }
        assertThat(h.get("/api/audit?colour=red", h.adminKey).body()).contains("colour: unknown parameter");
        HttpResponse<String> field = h.post("/api/approvals/apr_x/deny", h.adminKey, "{\"remember\":true}");
        assertThat(field.statusCode()).isEqualTo(400);
        assertThat(field.body()).contains("remember: unknown field (expected reason)");
    }

    private String keyPrefix() {
        return h.carapace.keyAdmin().list().stream().filter(k -> "root".equals(k.user())).findFirst().orElseThrow().prefix();
    }

    /** The (single) tool message of an upstream request, parsed. */
    private static JsonNode toolContent(JsonNode request) {
        for (JsonNode m : request.path("messages")) {
            if ("tool".equals(m.path("role").asText())) return json(m.path("content").asText());
        }
        throw new AssertionError("no tool message in " + request);
    }
}
