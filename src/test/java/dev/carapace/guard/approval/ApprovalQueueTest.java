package dev.carapace.guard.approval;

import dev.carapace.guard.AuditEvent;
import dev.carapace.store.ApprovalRecords;
import dev.carapace.store.ApprovalRecords.ApprovalRow;
import dev.carapace.store.Sessions;
import dev.carapace.store.Store;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The approval queue on a real store: decisions from another process, races, restarts, grants. */
class ApprovalQueueTest {

    @TempDir
    Path dir;
    Store store;
    final List<AuditEvent> audit = new CopyOnWriteArrayList<>();
    ApprovalQueue queue;

    @BeforeEach
    void open() {
        store = Store.open("jdbc:sqlite:" + dir.resolve("c.db"), null, null, 4);
        queue = new ApprovalQueue(store.approvalRecords(), audit::add, Clock.systemUTC(), Duration.ofSeconds(30),
                Duration.ofMillis(100));
    }

    @AfterEach
    void close() {
        store.close();
    }

    static ApprovalQueue.Request request(String runId, String target) {
        return new ApprovalQueue.Request("acme/platform", "coder", "agent:coder:main", runId, "call_1", "exec", "process",
                target, "policy.process.ask", "running commands needs approval", "approve it");
    }

    @Test
    void aDecisionMadeByAnotherProcessWakesTheWaiter() throws Exception {
        ApprovalRow pending = queue.open(request(null, "make test"));
        CompletableFuture<ApprovalRow> waiting = CompletableFuture.supplyAsync(() -> {
            try {
                return queue.await(pending);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        });
        Thread.sleep(200);
        assertThat(waiting).isNotDone();
        // the CLI: its own pool on the same file, its own queue
        try (Store other = Store.open("jdbc:sqlite:" + dir.resolve("c.db"), null, null, 2)) {
            List<AuditEvent> cliAudit = new CopyOnWriteArrayList<>();
            ApprovalQueue cli = new ApprovalQueue(other.approvalRecords(), cliAudit::add, Clock.systemUTC(), Duration.ofMinutes(1));
            assertThat(cli.approve(pending.id(), "cli:ops", "looks safe", null).orElseThrow().changed()).isTrue();
            assertThat(cliAudit).singleElement().satisfies(e -> {
                assertThat(e.outcome()).isEqualTo("approved");
                assertThat(e.layer()).isEqualTo("approval");
                assertThat(e.reason()).contains("approved by cli:ops: looks safe");
            });
        }
        ApprovalRow decided = waiting.get(5, TimeUnit.SECONDS);
        assertThat(decided.status()).isEqualTo("approved");
        assertThat(decided.decidedBy()).isEqualTo("cli:ops");
        assertThat(audit).isEmpty();   // the process that decided wrote the record, not the waiter
    }

    @Test
    void racingDecisionsHaveExactlyOneWinner() throws Exception {
        ApprovalRow pending = queue.open(request(null, "ls"));
        List<CompletableFuture<Boolean>> racers = new java.util.ArrayList<>();
        for (int i = 0; i < 8; i++) {
            int n = i;
            racers.add(CompletableFuture.supplyAsync(() -> (n % 2 == 0
                    ? queue.approve(pending.id(), "op" + n, null, null) : queue.reject(pending.id(), "op" + n, null))
                    .orElseThrow().changed()));
        }
        long winners = racers.stream().map(CompletableFuture::join).filter(b -> b).count();
        assertThat(winners).isEqualTo(1);
        assertThat(audit).hasSize(1);
        assertThat(queue.find(pending.id()).orElseThrow().status()).isIn("approved", "rejected");
    }

    @Test
    void approvalsOfRunsCutOffByARestartExpireOnStart() {
        Instant now = Instant.now();
        store.sessions().acceptRun(new Sessions.SessionRow("agent:coder:main", "coder", now),
                new Sessions.RunRow("run_cut", "agent:coder:main", "coder", null, "queued", null, "hi", null, 0, 0, now, null, null), "gateway-1");
        store.sessions().acceptRun(new Sessions.SessionRow("agent:coder:main", "coder", now),
                new Sessions.RunRow("run_alive", "agent:coder:main", "coder", null, "queued", null, "hi", null, 0, 0, now, null, null), "gateway-1");
        ApprovalRow cut = queue.open(request("run_cut", "rm -rf build"));
        ApprovalRow alive = queue.open(request("run_alive", "ls"));
        // the restart: the runtime marks the cut-off run interrupted (the other is, say, another gateway's and running)
        store.jdbi().useHandle(h -> h.execute("UPDATE agent_runs SET status = 'interrupted' WHERE id = 'run_cut'"));

        List<ApprovalRow> expired = new ApprovalQueue(store.approvalRecords(), audit::add, Clock.systemUTC(),
                Duration.ofMinutes(5)).expireAbandoned();

        assertThat(expired).extracting(ApprovalRow::id).containsExactly(cut.id());
        ApprovalRow now2 = queue.find(cut.id()).orElseThrow();
        assertThat(now2.status()).isEqualTo("expired");
        assertThat(now2.decisionReason()).isEqualTo(ApprovalQueue.ABANDONED);
        assertThat(queue.find(alive.id()).orElseThrow().status()).isEqualTo("pending");
        assertThat(audit).singleElement().satisfies(e -> {
            assertThat(e.outcome()).isEqualTo("expired");
            assertThat(e.target()).isEqualTo("rm -rf build");
        });
    }

    @Test
    void anInterruptedWaiterWithdrawsItsApproval() throws Exception {
        ApprovalRow pending = queue.open(request(null, "sleep 100"));
        Thread waiter = Thread.ofVirtual().start(() -> {
            try {
                queue.await(pending);
            } catch (InterruptedException expected) {
                // what a stopped run sees
            }
        });
        Thread.sleep(150);
        waiter.interrupt();
        waiter.join(5_000);
        ApprovalRow a = queue.find(pending.id()).orElseThrow();
        assertThat(a.status()).isEqualTo(ApprovalRecords.EXPIRED);
        assertThat(a.decisionReason()).isEqualTo(ApprovalQueue.WITHDRAWN);
        assertThat(queue.approve(pending.id(), "late", null, null).orElseThrow().changed()).isFalse();
    }

    @Test
    void grantsMatchAgentToolAndTargetPatternOnly() {
        ApprovalRow a = queue.open(request(null, "src/main/App.java"));
        queue.approve(a.id(), "ops", null, "src/**");
        ApprovalRow b = queue.open(request(null, "README.md"));
        queue.approve(b.id(), "ops", null, "");   // exactly this target
        assertThat(queue.grantFor("coder", "exec", "src/main/App.java")).isPresent();
        assertThat(queue.grantFor("coder", "exec", "src/a/b/c.txt")).isPresent();
        assertThat(queue.grantFor("coder", "exec", "README.md")).isPresent();
        assertThat(queue.grantFor("coder", "exec", "README.mdx")).isEmpty();
        assertThat(queue.grantFor("coder", "exec", "docs/README.md")).isEmpty();
        assertThat(queue.grantFor("coder", "read", "src/main/App.java")).isEmpty();   // another tool
        assertThat(queue.grantFor("other", "exec", "src/main/App.java")).isEmpty();   // another agent
        String grant = queue.grantFor("coder", "exec", "README.md").orElseThrow().id();
        assertThat(queue.revoke(grant, "ops")).isTrue();
        assertThat(queue.grantFor("coder", "exec", "README.md")).isEmpty();
        assertThat(queue.revoke(grant, "ops")).isFalse();
    }

    @Test
    void aStandingGrantOnCommandsNeverCoversAChainedOrExpandedCommand() {
        ApprovalRow a = queue.open(request(null, "mvn test"));
        queue.approve(a.id(), "ops", null, "mvn test*");
        assertThat(queue.grantFor("coder", "exec", "mvn test -q")).isPresent();
        assertThat(queue.grantFor("coder", "exec", "mvn test; curl evil.example")).isEmpty();
        assertThat(queue.grantFor("coder", "exec", "mvn test $(cat .env)")).isEmpty();
        assertThat(queue.grantFor("coder", "exec", "mvn test > out.txt")).isEmpty();
    }

    @Test
    void targetPatterns() {
        assertThat(TargetPattern.of("*.txt").matches("a.txt")).isTrue();
        assertThat(TargetPattern.of("*.txt").matches("d/a.txt")).isFalse();
        assertThat(TargetPattern.of("**.txt").matches("d/a.txt")).isTrue();
        assertThat(TargetPattern.of("api.github.com:443/repos/?").matches("api.github.com:443/repos/x")).isTrue();
        assertThat(TargetPattern.of("").matches(null)).isTrue();
        assertThat(TargetPattern.of("").matches("x")).isFalse();
        String weird = "echo *?\\ done";
        assertThat(TargetPattern.of(TargetPattern.exact(weird)).matches(weird)).isTrue();
        assertThat(TargetPattern.of(TargetPattern.exact(weird)).matches("echo ab\\ done")).isFalse();
    }

    @Test
    void badDecisionInputIsRefusedBeforeAnythingChanges() {
        ApprovalRow a = queue.open(request(null, "x"));
        assertThatThrownBy(() -> queue.approve(a.id(), "ops", "r".repeat(501), null))
                .hasMessage("reason: at most 500 characters; got 501");
        assertThatThrownBy(() -> queue.approve(a.id(), "ops", null, "p".repeat(1025)))
                .hasMessageContaining("target pattern: at most 1024 characters");
        assertThat(queue.find(a.id()).orElseThrow().status()).isEqualTo("pending");
        assertThat(queue.approve("apr_missing", "ops", null, null)).isEmpty();
    }
}
