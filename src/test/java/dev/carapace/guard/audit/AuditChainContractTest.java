package dev.carapace.guard.audit;

import dev.carapace.guard.AuditEvent;
import dev.carapace.guard.audit.AuditChain.Anchor;
import dev.carapace.guard.audit.AuditChain.Kind;
import dev.carapace.guard.audit.AuditChain.Problem;
import dev.carapace.guard.audit.AuditChain.Verification;
import dev.carapace.store.AuditRecords;
import dev.carapace.store.AuditRecords.AuditRow;
import dev.carapace.store.Store;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The audit chain on a real database: what the gateway writes verifies, across restarts and concurrent writers, and
 * every kind of tampering done directly in the database (the way an attacker with database access would) is found
 * and named. Subclasses give SQLite and PostgreSQL.
 */
abstract class AuditChainContractTest {

    static final Instant T0 = Instant.parse("2026-11-23T10:00:00.123456Z");

    protected abstract String newDatabaseUrl();

    protected abstract String user();

    /** Drops the triggers that make the table append-only: what tampering takes first. */
    protected abstract void dropAppendOnlyTriggers(Store store);

    String url;
    Store store;
    AuditLog audit;

    @BeforeEach
    void open() {
        url = newDatabaseUrl();
        store = Store.open(url, user(), "pw", 4);
        audit = new AuditLog(store.auditRecords());
    }

    @AfterEach
    void close() {
        audit.close();
        store.close();
    }

    static AuditEvent event(int i) {
        return new AuditEvent(T0.plusSeconds(i), "acme/platform/alice", "coder", "agent:coder:main", "tool", "read",
                "notes-" + i + ".txt", i % 3 == 0 ? "deny" : "allow", "policy.tools[" + i + "]", "reason " + i);
    }

    void write(int n) throws InterruptedException {
        for (int i = 1; i <= n; i++) audit.record(event(i));
        assertThat(audit.flush(Duration.ofSeconds(20))).isTrue();
    }

    void sql(String statement) {
        store.jdbi().useHandle(h -> h.execute(statement));
    }

    static List<Kind> kinds(Verification v) { return v.problems().stream().map(Problem::kind).toList(); }

    // ---- what is written verifies ------------------------------------------------------------------------------------

    @Test
    void anUntouchedLogVerifiesAcrossARestart() throws Exception {
        write(25);
        Verification v = audit.verify(null);
        assertThat(v.ok()).as(v.problems().toString()).isTrue();
        assertThat(v.records()).isEqualTo(25);
        assertThat(v.headSeq()).isEqualTo(25);
        assertThat(v.headHash()).hasSize(64).isNotEqualTo(AuditRecords.GENESIS);

        audit.close();
        store.close();
        store = Store.open(url, user(), "pw", 4);
        audit = new AuditLog(store.auditRecords());
        write(5);   // appends continue the same chain after a restart
        Verification after = audit.verify(new Anchor(25, v.headHash()));
        assertThat(after.ok()).as(after.problems().toString()).isTrue();
        assertThat(after.records()).isEqualTo(30);
        AuditRow first = store.auditRecords().after(0, 1).get(0);
        assertThat(first.prevHash()).isEqualTo(AuditRecords.GENESIS);
        assertThat(first.at()).isEqualTo(Instant.parse("2026-11-23T10:00:01.123Z"));   // milliseconds kept
        assertThat(store.auditRecords().after(25, 1).get(0).prevHash()).isEqualTo(v.headHash());
    }

    @Test
    void textThatADatabaseWouldAlterIsCleanedBeforeItIsSealed() throws Exception {
        String nul = "a\u0000b";
        String lone = "x\uD800y";
        String pair = "emoji \uD83D\uDE00 ok";
        String longText = "p".repeat(10_000);
        audit.record(new AuditEvent(T0, nul, lone, pair, "network", "GET", longText, "deny", "r", "\uDC00"));
        assertThat(audit.flush(Duration.ofSeconds(10))).isTrue();
        AuditRow r = store.auditRecords().after(0, 1).get(0);
        assertThat(r.principal()).isEqualTo("a\uFFFDb");
        assertThat(r.agent()).isEqualTo("x\uFFFDy");
        assertThat(r.session()).isEqualTo(pair);
        assertThat(r.target()).hasSizeLessThanOrEqualTo(AuditLog.MAX_LONG_FIELD).endsWith("more]");
        assertThat(r.reason()).isEqualTo("\uFFFD");
        Verification v = audit.verify(null);
        assertThat(v.ok()).as(v.problems().toString()).isTrue();
    }

    @Test
    void theTableRefusesUpdatesAndDeletes() throws Exception {
        write(3);
        assertThatThrownBy(() -> sql("UPDATE audit_log SET outcome = 'allow' WHERE seq = 3"))
                .hasMessageContaining("append-only");
        assertThatThrownBy(() -> sql("DELETE FROM audit_log WHERE seq = 2")).hasMessageContaining("append-only");
        assertThat(store.auditRecords().count()).isEqualTo(3);
    }

    // ---- tampering -----------------------------------------------------------------------------------------------------

    @Test
    void anEditedFieldIsFound() throws Exception {
        write(10);
        dropAppendOnlyTriggers(store);
        sql("UPDATE audit_log SET outcome = 'allow' WHERE seq = 6");   // a denial made to look allowed
        Verification v = audit.verify(null);
        assertThat(v.problems()).singleElement().satisfies(p -> {
            assertThat(p.kind()).isEqualTo(Kind.EDITED);
            assertThat(p.seq()).isEqualTo(6);
            assertThat(p.message()).contains("record 6 was edited");
        });
    }

    @Test
    void anEditResealedWithAFreshHashBreaksTheNextLink() throws Exception {
        write(10);
        dropAppendOnlyTriggers(store);
        AuditRow six = store.auditRecords().after(5, 1).get(0);
        AuditRow forged = new AuditRow(6, six.at(), six.principal(), six.agent(), six.session(), six.layer(),
                six.action(), "/etc/shadow", six.outcome(), six.rule(), six.reason(), six.prevHash(), null);
        String hash = AuditChain.hash(forged, 6, six.prevHash());
        sql("UPDATE audit_log SET target = '/etc/shadow', hash = '" + hash + "' WHERE seq = 6");
        Verification v = audit.verify(null);
        assertThat(v.problems()).singleElement().satisfies(p -> {
            assertThat(p.kind()).isEqualTo(Kind.BROKEN_LINK);
            assertThat(p.seq()).isEqualTo(7);
            assertThat(p.message()).contains("record 7 does not follow record 6");
        });
    }

    @Test
    void aDeletedRecordIsFound() throws Exception {
        write(10);
        dropAppendOnlyTriggers(store);
        sql("DELETE FROM audit_log WHERE seq IN (4, 5)");
        Verification v = audit.verify(null);
        assertThat(v.problems()).singleElement().satisfies(p -> {
            assertThat(p.kind()).isEqualTo(Kind.MISSING);
            assertThat(p.seq()).isEqualTo(4);
            assertThat(p.message()).contains("records 4 to 5 are missing");
        });
        assertThat(v.records()).isEqualTo(8);
    }

    @Test
    void aDeletionHiddenByRenumberingIsFound() throws Exception {
        write(10);
        dropAppendOnlyTriggers(store);
        sql("DELETE FROM audit_log WHERE seq = 4");
        sql("UPDATE audit_log SET seq = -seq WHERE seq > 4");
        sql("UPDATE audit_log SET seq = -seq - 1 WHERE seq < 0");
        Verification v = audit.verify(null);
        assertThat(v.problems()).first().satisfies(p -> {
            assertThat(p.kind()).isEqualTo(Kind.MOVED);
            assertThat(p.seq()).isEqualTo(4);
            assertThat(p.message()).contains("record 4 was written as record 5").contains("deleted");
        });
    }

    @Test
    void swappedRecordsAreFound() throws Exception {
        write(10);
        dropAppendOnlyTriggers(store);
        sql("UPDATE audit_log SET seq = -1 WHERE seq = 3");
        sql("UPDATE audit_log SET seq = 3 WHERE seq = 5");
        sql("UPDATE audit_log SET seq = 5 WHERE seq = -1");
        Verification v = audit.verify(null);
        assertThat(v.problems()).filteredOn(p -> p.kind() == Kind.MOVED).extracting(Problem::seq).containsExactly(3L, 5L);
        assertThat(v.problems()).extracting(Problem::message)
                .contains("record 3 was written as record 5 (records were reordered, or deleted before it)",
                        "record 5 was written as record 3 (records were reordered, or inserted before it)");
    }

    @Test
    void aForgedRecordInsertedWithAValidHashIsFoundByItsSuccessor() throws Exception {
        write(10);
        dropAppendOnlyTriggers(store);
        AuditRow five = store.auditRecords().after(4, 1).get(0);
        sql("UPDATE audit_log SET seq = -seq WHERE seq > 5");
        sql("UPDATE audit_log SET seq = -seq + 1 WHERE seq < 0");
        AuditRow forged = new AuditRow(6, five.at(), "acme/platform/alice", "coder", "agent:coder:main", "approval",
                "exec", "rm -rf /", "approved", "grant:fake", "approved by root", five.hash(), null);
        String hash = AuditChain.hash(forged, 6, five.hash());
        sql("INSERT INTO audit_log (seq, at, principal, agent, session, layer, action, target, outcome, rule, reason, "
                + "prev_hash, hash) VALUES (6, " + five.at().toEpochMilli() + ", 'acme/platform/alice', 'coder', "
                + "'agent:coder:main', 'approval', 'exec', 'rm -rf /', 'approved', 'grant:fake', 'approved by root', '"
                + five.hash() + "', '" + hash + "')");
        Verification v = audit.verify(null);
        assertThat(v.problems()).first().satisfies(p -> {
            assertThat(p.kind()).isEqualTo(Kind.MOVED);
            assertThat(p.seq()).isEqualTo(7);
            assertThat(p.message()).contains("record 7 was written as record 6").contains("inserted before it");
        });
    }

    @Test
    void aForgedRecordAppendedWithoutTheRightHashIsFound() throws Exception {
        write(4);
        AuditRow head = store.auditRecords().head().orElseThrow();
        sql("INSERT INTO audit_log (seq, at, layer, outcome, prev_hash, hash) VALUES (5, 1, 'tool', 'allow', '"
                + head.hash() + "', '" + "ab".repeat(32) + "')");
        Verification v = audit.verify(null);
        assertThat(v.problems()).extracting(Problem::kind, Problem::seq).containsExactly(
                org.assertj.core.groups.Tuple.tuple(Kind.EDITED, 5L));
    }

    @Test
    void aTruncatedTailIsFoundAgainstANotedAnchor() throws Exception {
        write(8);
        Verification before = audit.verify(null);
        dropAppendOnlyTriggers(store);
        sql("DELETE FROM audit_log WHERE seq > 6");
        Verification v = audit.verify(new Anchor(before.headSeq(), before.headHash()));
        assertThat(v.problems()).singleElement().satisfies(p -> {
            assertThat(p.kind()).isEqualTo(Kind.ANCHOR);
            assertThat(p.message()).contains("record 8").contains("truncated");
        });
    }

    // ---- several writers ----------------------------------------------------------------------------------------------

    /** Two gateways (two pools, two logs) on one database append concurrently: still one linear chain. */
    @Test
    void twoGatewaysKeepOneLinearChain() throws Exception {
        try (Store second = Store.open(url, user(), "pw", 4); AuditLog other = new AuditLog(second.auditRecords())) {
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<?>> work = new ArrayList<>();
                for (int t = 0; t < 4; t++) {
                    AuditLog target = t % 2 == 0 ? audit : other;
                    int thread = t;
                    work.add(pool.submit(() -> {
                        for (int i = 0; i < 150; i++) target.record(event(thread * 1000 + i));
                        return null;
                    }));
                }
                for (Future<?> f : work) f.get(60, TimeUnit.SECONDS);
            } finally {
                pool.shutdownNow();
            }
            assertThat(audit.flush(Duration.ofSeconds(30))).isTrue();
            assertThat(other.flush(Duration.ofSeconds(30))).isTrue();
        }
        Verification v = audit.verify(null);
        assertThat(v.ok()).as(v.problems().toString()).isTrue();
        assertThat(v.records()).isEqualTo(600);
        assertThat(v.headSeq()).isEqualTo(600);
    }

    @Test
    void closingWritesEverythingRecorded() {
        for (int i = 1; i <= 300; i++) audit.record(event(i));
        audit.close();
        assertThat(store.auditRecords().count()).isEqualTo(300);
        audit.record(event(301));   // late: written at once
        assertThat(store.auditRecords().count()).isEqualTo(301);
        assertThat(audit.verify(null).ok()).isTrue();
    }

    @Test
    void aStoreOutageDelaysRecordsWithoutLosingOrReorderingThem() throws Exception {
        write(2);
        dropAppendOnlyTriggers(store);
        sql("ALTER TABLE audit_log RENAME TO audit_log_away");   // appends fail
        for (int i = 3; i <= 6; i++) audit.record(event(i));
        assertThat(audit.flush(Duration.ofMillis(300))).isFalse();
        sql("ALTER TABLE audit_log_away RENAME TO audit_log");
        assertThat(audit.flush(Duration.ofSeconds(15))).isTrue();
        assertThat(store.auditRecords().after(0, 10)).extracting(AuditRow::target)
                .containsExactly("notes-1.txt", "notes-2.txt", "notes-3.txt", "notes-4.txt", "notes-5.txt", "notes-6.txt");
        assertThat(audit.verify(null).ok()).isTrue();
    }
}
