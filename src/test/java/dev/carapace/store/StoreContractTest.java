package dev.carapace.store;

import dev.carapace.store.ApiKeys.StoredKey;
import dev.carapace.store.UsageLog.UsageRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The behaviour every database must show. Subclasses only say how to get a fresh, empty database; each test
 * gets its own.
 */
abstract class StoreContractTest {

    static final Instant T0 = Instant.parse("2025-03-04T05:06:07.123Z");

    /** The JDBC URL of a new, empty database. */
    protected abstract String newDatabaseUrl();

    protected abstract String user();

    protected abstract String password();

    protected abstract boolean expectPostgres();

    protected String url;
    protected Store store;

    @BeforeEach
    void openFreshStore() {
        url = newDatabaseUrl();
        store = open();
    }

    @AfterEach
    void closeStore() {
        if (store != null) store.close();
    }

    protected Store open() {
        return Store.open(url, user(), password(), 4);
    }

    // ---- schema -------------------------------------------------------------------------------------------------

    @Test
    void opensTheExpectedVendorWithAnEmptySchema() {
        assertThat(store.postgres()).isEqualTo(expectPostgres());
        assertThat(store.apiKeys().count()).isZero();
        assertThat(store.usageLog().count()).isZero();
        assertThat(appliedMigrations(store)).isPositive();
    }

    @Test
    void migrationsAreIdempotent() {
        store.apiKeys().insert(key("k1", T0));
        int applied = appliedMigrations(store);

        try (Store second = open()) {   // while the first is still open
            assertThat(appliedMigrations(second)).isEqualTo(applied);
            assertThat(second.apiKeys().count()).isEqualTo(1);
        }
        store.close();
        store = open();                 // and after it was closed
        assertThat(appliedMigrations(store)).isEqualTo(applied);
        assertThat(store.apiKeys().findByPrefix("k1-prefix")).isPresent();
    }

    @Test
    void usageRecordsAreIndexedForTheirReadsOnly() {
        List<List<String>> indexed = store.postgres()
                ? store.jdbi().withHandle(h -> h.createQuery("""
                        SELECT array_to_string(array_agg(a.attname ORDER BY k.ord), ',')
                        FROM pg_index i
                        JOIN pg_class t ON t.oid = i.indrelid
                        CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                        JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
                        WHERE t.relname = 'usage_records'
                        GROUP BY i.indexrelid""").mapTo(String.class).list())
                .stream().map(s -> List.of(s.split(","))).toList()
                : store.jdbi().withHandle(h -> h.createQuery(
                        "SELECT name FROM pragma_index_list('usage_records')").mapTo(String.class).list())
                .stream().map(ix -> store.jdbi().withHandle(h -> h.createQuery(
                        "SELECT name FROM pragma_index_info(:ix) ORDER BY seqno").bind("ix", ix)
                        .mapTo(String.class).list())).toList();
        // newest first and by request id; spend is read from the rollups, so team and user indexes would only slow
        // every insert (V9)
        assertThat(indexed).contains(List.of("at"), List.of("request_id"))
                .doesNotContain(List.of("team", "at"), List.of("user_id", "at"));
    }

    // ---- api keys -----------------------------------------------------------------------------------------------

    @Test
    void keyRoundTripsEveryField() {
        StoredKey full = new StoredKey("id-1", "cpk_abc", "hash-1", "alice", "research", "admin", "laptop",
                Instant.parse("2025-01-02T03:04:05.678Z"), Instant.parse("2025-06-07T08:09:10.987Z"));
        StoredKey sparse = new StoredKey("id-2", "cpk_def", "hash-2", null, null, "member", null,
                Instant.parse("2025-01-02T03:04:05.679Z"), null);
        store.apiKeys().insert(full);
        store.apiKeys().insert(sparse);

        assertThat(store.apiKeys().findByHash("hash-1")).contains(full);
        assertThat(store.apiKeys().findByHash("hash-2")).contains(sparse);
        assertThat(store.apiKeys().findByPrefix("cpk_abc")).contains(full);
        assertThat(store.apiKeys().findByPrefix("cpk_def")).contains(sparse);
    }

    @Test
    void unknownKeysAreEmpty() {
        store.apiKeys().insert(key("k1", T0));
        assertThat(store.apiKeys().findByHash("nope")).isEmpty();
        assertThat(store.apiKeys().findByPrefix("nope")).isEmpty();
        assertThat(store.apiKeys().findByHash("k1-prefix")).as("a prefix is not a hash").isEmpty();
        assertThat(store.apiKeys().findByHash(null)).isEmpty();
    }

    @Test
    void listIsInCreationOrderThenInsertOrder() {
        store.apiKeys().insert(key("c", T0.plusMillis(30)));
        store.apiKeys().insert(key("a", T0.plusMillis(10)));
        store.apiKeys().insert(key("b2", T0.plusMillis(20)));
        store.apiKeys().insert(key("b1", T0.plusMillis(20)));   // same millisecond, inserted later

        assertThat(store.apiKeys().list()).extracting(StoredKey::id).containsExactly("a", "b2", "b1", "c");
    }

    @Test
    void revokeIsTrueOnceAndKeepsTheFirstTime() {
        store.apiKeys().insert(key("k1", T0));
        store.apiKeys().insert(key("k2", T0));
        Instant first = T0.plusSeconds(60);

        assertThat(store.apiKeys().revoke("k1-prefix", first)).isTrue();
        assertThat(store.apiKeys().revoke("k1-prefix", first.plusSeconds(60))).isFalse();
        assertThat(store.apiKeys().revoke("unknown", first)).isFalse();

        StoredKey revoked = store.apiKeys().findByHash("k1-hash").orElseThrow();
        assertThat(revoked.revokedAt()).isEqualTo(first);
        assertThat(revoked.revoked()).isTrue();
        assertThat(store.apiKeys().findByHash("k2-hash").orElseThrow().revokedAt())
                .as("other keys untouched").isNull();
        assertThat(store.apiKeys().count()).as("revoked keys are still counted").isEqualTo(2);
        assertThat(store.apiKeys().list()).hasSize(2);
    }

    @Test
    void countCountsKeys() {
        for (int i = 0; i < 7; i++) store.apiKeys().insert(key("k" + i, T0.plusMillis(i)));
        assertThat(store.apiKeys().count()).isEqualTo(7);
    }

    @Test
    void duplicateHashIsAStoreExceptionThatDoesNotQuoteTheHash() {
        String hash = "0f1e2d3c4b5a69788796a5b4c3d2e1f0secret";
        store.apiKeys().insert(new StoredKey("id-1", "p1", hash, "u", "t", "member", null, T0, null));
        StoredKey clash = new StoredKey("id-2", "p2", hash, "u", "t", "member", null, T0, null);

        assertThatThrownBy(() -> store.apiKeys().insert(clash))
                .isInstanceOfSatisfying(StoreException.class, e -> {
                    assertThat(e.reason()).isEqualTo(StoreException.Reason.DUPLICATE);
                    assertThat(e.getMessage()).startsWith("insert api key failed").doesNotContain(hash);
                    assertThat(e.getCause()).isInstanceOf(java.sql.SQLException.class);
                    assertThat(String.valueOf(e.getCause().getMessage())).doesNotContain(hash);
                });
        assertThat(store.apiKeys().count()).isEqualTo(1);
        assertThat(store.apiKeys().findByPrefix("p2")).isEmpty();
    }

    @Test
    void jdbiErrorsDoNotQuoteBoundValues() {
        String hash = "a1b2c3d4e5f60718293a4b5c6d7e8f90secret";
        store.apiKeys().insert(new StoredKey("id-1", "p1", hash, "u", "t", "member", null, T0, null));

        assertThatThrownBy(() -> store.jdbi().useHandle(h -> h.createUpdate(
                        "INSERT INTO api_keys (id, prefix, hash, role, created_at) VALUES (:id, :p, :h, 'member', 1)")
                .bind("id", "id-2").bind("p", "p2").bind("h", hash).execute()))
                .isInstanceOf(org.jdbi.v3.core.JdbiException.class)
                .hasMessageNotContaining(hash)
                .hasMessageNotContaining("id-2");
    }

    @Test
    void duplicatePrefixOrIdIsRejected() {
        store.apiKeys().insert(new StoredKey("id-1", "p1", "h1", null, null, "member", null, T0, null));

        assertThatThrownBy(() -> store.apiKeys().insert(
                new StoredKey("id-2", "p1", "h2", null, null, "member", null, T0, null)))
                .isInstanceOfSatisfying(StoreException.class,
                        e -> assertThat(e.reason()).isEqualTo(StoreException.Reason.DUPLICATE));
        assertThatThrownBy(() -> store.apiKeys().insert(
                new StoredKey("id-1", "p3", "h3", null, null, "member", null, T0, null)))
                .isInstanceOfSatisfying(StoreException.class,
                        e -> assertThat(e.reason()).isEqualTo(StoreException.Reason.DUPLICATE));
        assertThat(store.apiKeys().count()).isEqualTo(1);
    }

    @Test
    void roleMustBeAdminOrMember() {
        assertThatThrownBy(() -> new StoredKey("i", "p", "h", null, null, "owner", null, T0, null))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new StoredKey("i", "p", "h", null, null, null, null, T0, null))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(store.apiKeys().count()).isZero();
    }

    @Test
    void theDatabaseEnforcesTheRoleToo() {
        assertThatThrownBy(() -> store.write("raw insert", h -> h.execute(
                "INSERT INTO api_keys (id, prefix, hash, role, created_at) VALUES ('i', 'p', 'h', 'owner', 1)")))
                .isInstanceOfSatisfying(StoreException.class,
                        e -> assertThat(e.reason()).isEqualTo(StoreException.Reason.CONSTRAINT));
    }

    // ---- usage --------------------------------------------------------------------------------------------------

    @Test
    void usageRoundTripsEveryField() {
        UsageRecord full = new UsageRecord("req-full", Instant.parse("2025-05-06T07:08:09.321Z"), "acme", "research",
                "alice", "cpk_abc", "openai.chat", "gpt-x", "high", "azure-eu-1",
                1_001, 1_002, 1_003, 1_004, 1_005, true, true, 429, "rate_limited", 1_006, 1_007L);
        UsageRecord sparse = new UsageRecord("req-sparse", Instant.parse("2025-05-06T07:08:09.322Z"), null, null,
                null, null, null, null, null, null, 0, 0, 0, 0, 0, false, false, 200, null, 0, null);
        UsageRecord big = new UsageRecord("req-big", Instant.parse("2025-05-06T07:08:09.323Z"), "o", "t", "u",
                "k", "anthropic.messages", "m", "free", "d", Long.MAX_VALUE, Long.MAX_VALUE - 1, 3_000_000_000L,
                Integer.MAX_VALUE + 1L, 5, false, true, 599, "e", Long.MAX_VALUE - 2, 0L);
        store.usageLog().insertBatch(List.of(full, sparse, big));

        assertThat(store.usageLog().byRequestId("req-full")).contains(full);
        assertThat(store.usageLog().byRequestId("req-sparse")).contains(sparse);
        assertThat(store.usageLog().byRequestId("req-big")).contains(big);
        assertThat(store.usageLog().byRequestId("req-none")).isEmpty();
        assertThat(store.usageLog().recent(10)).containsExactly(big, sparse, full);
        assertThat(store.usageLog().count()).isEqualTo(3);
    }

    @Test
    void instantsKeepMillisecondsAndDropFinerDigits() {
        Instant withNanos = Instant.parse("2025-05-06T07:08:09.123456789Z");
        store.usageLog().insertBatch(List.of(usage("r1", withNanos)));
        store.apiKeys().insert(new StoredKey("i", "p", "h", null, null, "member", null, withNanos, withNanos));

        Instant millis = Instant.parse("2025-05-06T07:08:09.123Z");
        assertThat(store.usageLog().byRequestId("r1").orElseThrow().at()).isEqualTo(millis);
        StoredKey k = store.apiKeys().findByPrefix("p").orElseThrow();
        assertThat(k.createdAt()).isEqualTo(millis);
        assertThat(k.revokedAt()).isEqualTo(millis);
    }

    @Test
    void aBatchIsOneTransaction() {
        store.usageLog().insertBatch(List.of(usage("existing", T0)));

        assertThatThrownBy(() -> store.usageLog().insertBatch(
                List.of(usage("a", T0), usage("b", T0), usage("a", T0), usage("c", T0))))
                .isInstanceOfSatisfying(StoreException.class,
                        e -> assertThat(e.reason()).isEqualTo(StoreException.Reason.DUPLICATE));
        assertThatThrownBy(() -> store.usageLog().insertBatch(
                List.of(usage("d", T0), usage("e", T0), usage("existing", T0))))
                .isInstanceOf(StoreException.class);

        assertThat(store.usageLog().count()).as("nothing of a failed batch is kept").isEqualTo(1);
        assertThat(store.usageLog().byRequestId("a")).isEmpty();
        assertThat(store.usageLog().byRequestId("d")).isEmpty();
    }

    @Test
    void emptyBatchIsANoOp() {
        store.usageLog().insertBatch(List.of());
        assertThat(store.usageLog().count()).isZero();
    }

    @Test
    void recentIsNewestFirstAndLimited() {
        store.usageLog().insertBatch(List.of(usage("t1", T0.plusMillis(1)), usage("t3", T0.plusMillis(3))));
        store.usageLog().insertBatch(List.of(usage("t2", T0.plusMillis(2)), usage("t3-later", T0.plusMillis(3))));

        assertThat(store.usageLog().recent(10)).extracting(UsageRecord::requestId)
                .containsExactly("t3-later", "t3", "t2", "t1");
        assertThat(store.usageLog().recent(2)).extracting(UsageRecord::requestId)
                .containsExactly("t3-later", "t3");
        assertThat(store.usageLog().recent(0)).isEmpty();
    }

    // ---- concurrency & durability -------------------------------------------------------------------------------

    @Test
    @Timeout(120)
    void concurrentInsertsAllLand() throws Exception {
        int threads = 8;
        int perThread = 200;
        ExecutorService pool = Executors.newFixedThreadPool(threads + 1);
        CountDownLatch go = new CountDownLatch(1);
        try {
            List<Future<?>> writers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                writers.add(pool.submit(() -> {
                    go.await();
                    for (int i = 0; i < perThread; i++) {
                        store.usageLog().insertBatch(List.of(usage("w" + thread + "-" + i, T0.plusMillis(i))));
                        if (i % 20 == 0) store.apiKeys().insert(key("w" + thread + "-" + i, T0.plusMillis(i)));
                    }
                    return null;
                }));
            }
            Future<Integer> reader = pool.submit(() -> {   // reads keep going while the writers write
                go.await();
                int reads = 0;
                while (writers.stream().anyMatch(f -> !f.isDone())) {
                    store.usageLog().recent(5);
                    store.usageLog().count();
                    reads++;
                }
                return reads;
            });
            go.countDown();
            for (Future<?> f : writers) f.get(110, TimeUnit.SECONDS);
            assertThat(reader.get(10, TimeUnit.SECONDS)).isPositive();
        } finally {
            pool.shutdownNow();
        }

        assertThat(store.usageLog().count()).isEqualTo((long) threads * perThread);
        assertThat(store.apiKeys().count()).isEqualTo(threads * (perThread / 20));
        Set<String> ids = store.usageLog().recent(threads * perThread + 10).stream()
                .map(UsageRecord::requestId).collect(Collectors.toSet());
        Set<String> expected = new HashSet<>();
        for (int t = 0; t < threads; t++) for (int i = 0; i < perThread; i++) expected.add("w" + t + "-" + i);
        assertThat(ids).isEqualTo(expected);
    }

    @Test
    void dataSurvivesCloseAndReopen() {
        StoredKey k = key("k1", T0);
        UsageRecord u = usage("r1", T0);
        store.apiKeys().insert(k);
        store.apiKeys().revoke("k1-prefix", T0.plusSeconds(1));
        store.usageLog().insertBatch(List.of(u));
        store.close();

        store = open();
        assertThat(store.apiKeys().findByHash("k1-hash")).hasValueSatisfying(
                s -> assertThat(s.revokedAt()).isEqualTo(T0.plusSeconds(1)));
        assertThat(store.usageLog().byRequestId("r1")).contains(u);
        assertThat(store.usageLog().count()).isEqualTo(1);
    }

    @Test
    void aClosedStoreFailsWithStoreException() {
        store.close();
        assertThatThrownBy(() -> store.apiKeys().count())
                .isInstanceOfSatisfying(StoreException.class,
                        e -> assertThat(e.reason()).isEqualTo(StoreException.Reason.UNAVAILABLE))
                .hasMessage("count api keys failed: the store is closed");
        assertThatThrownBy(() -> store.usageLog().insertBatch(List.of(usage("r", T0))))
                .isInstanceOfSatisfying(StoreException.class,
                        e -> assertThat(e.reason()).isEqualTo(StoreException.Reason.UNAVAILABLE));
    }

    // ---- agent runs ---------------------------------------------------------------------------------------------

    @Test
    void aRestartingGatewayInterruptsOnlyRunsNoLiveGatewayOwns() {
        Sessions live = store.sessions();
        live.acceptRun(new Sessions.SessionRow("agent:a:main", "a", T0), run("r-live", T0), "gateway-1");
        try (Store other = open()) {
            Sessions restarted = other.sessions();
            // Its own runs are never orphans, however old their heartbeat.
            restarted.acceptRun(new Sessions.SessionRow("agent:a:other", "a", T0), run("r-own", T0), "gateway-2");
            List<Sessions.RunRow> cut = restarted.interruptOrphans("gateway-2", "cut off", T0.plusSeconds(5));
            if (store.postgres()) {
                // A peer that heart-beat 5 s ago is alive: its run keeps running.
                assertThat(cut).isEmpty();
                assertThat(live.run("r-live").orElseThrow().status()).isEqualTo("queued");
                live.heartbeat("gateway-1", T0.plusSeconds(50));
                assertThat(restarted.interruptOrphans("gateway-2", "cut off", T0.plus(Sessions.ORPHAN_AFTER).plusSeconds(10)))
                        .isEmpty();
                // Silent for longer than ORPHAN_AFTER: its gateway is gone.
                cut = restarted.interruptOrphans("gateway-2", "cut off",
                        T0.plusSeconds(50).plus(Sessions.ORPHAN_AFTER).plusSeconds(1));
            }
            // On SQLite one process writes the store, so any other owner has stopped.
            assertThat(cut).extracting(Sessions.RunRow::id).containsExactly("r-live");
            assertThat(live.run("r-live").orElseThrow()).satisfies(r -> {
                assertThat(r.status()).isEqualTo("interrupted");
                assertThat(r.reason()).isEqualTo("cut off");
            });
            assertThat(live.run("r-own").orElseThrow().status()).isEqualTo("queued");
        }
    }

    private static Sessions.RunRow run(String id, Instant at) {
        String session = id.equals("r-own") ? "agent:a:other" : "agent:a:main";
        return new Sessions.RunRow(id, session, "a", null, "queued", null, "hello", null, 0, 0, at, null, null);
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    static int appliedMigrations(Store s) {
        return s.jdbi().withHandle(h -> h.createQuery(
                "SELECT COUNT(*) FROM flyway_schema_history WHERE success = " + (s.postgres() ? "TRUE" : "1")
                        + " AND version IS NOT NULL").mapTo(Integer.class).one());
    }

    static StoredKey key(String name, Instant createdAt) {
        return new StoredKey(name, name + "-prefix", name + "-hash", "user-" + name, "team-" + name, "member",
                "key " + name, createdAt, null);
    }

    @Test
    void storedResponsesBelongToTheirKeyAndExpire() {
        ResponseRecords r = store.responseRecords();
        Instant now = Instant.ofEpochMilli(1_800_000_000_000L);
        ResponseRecords.StoredResponse a = new ResponseRecords.StoredResponse("resp_a", "cpk_one", null, "m", now,
                now.plusSeconds(60), "[{\"role\":\"user\",\"content\":\"hi\"}]", "{\"id\":\"resp_a\",\"output\":[]}");
        assertThat(r.insert(a)).isTrue();
        assertThat(r.insert(a)).as("the same id twice").isFalse();
        assertThat(r.insert(new ResponseRecords.StoredResponse("resp_b", "cpk_one", "resp_a", "m", now, now.plusSeconds(600),
                "[]", "{}"))).isTrue();

        assertThat(r.get("cpk_one", "resp_a", now)).contains(a);
        assertThat(r.get("cpk_two", "resp_a", now)).as("another key's response").isEmpty();
        assertThat(r.get("cpk_one", "resp_a", now.plusSeconds(60))).as("expired").isEmpty();
        assertThat(r.get("cpk_one", "resp_b", now).orElseThrow().previousId()).isEqualTo("resp_a");

        assertThat(r.delete("cpk_two", "resp_b")).isFalse();
        assertThat(r.deleteExpired(now.plusSeconds(61))).isEqualTo(1);
        assertThat(r.delete("cpk_one", "resp_b")).isTrue();
        assertThat(r.get("cpk_one", "resp_b", now)).isEmpty();
    }

    static UsageRecord usage(String requestId, Instant at) {
        return new UsageRecord(requestId, at, "org", "team", "user", "cpk_x", "openai.chat", "model", "mid",
                "dep", 10, 2, 1, 20, 3, false, true, 200, null, 12_345, 678L);
    }
}
