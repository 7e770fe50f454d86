package dev.carapace.store;

import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.mapper.RowMapper;

import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/** One row per request served (or refused): who, what, how many tokens, how it went. Append-only. */
public final class UsageLog {

    /**
     * One request's usage.
     *
     * @param requestId         unique per request
     * @param at                when the request arrived (stored to the millisecond)
     * @param keyPrefix         prefix of the API key used, may be null
     * @param api               the client-facing API (e.g. {@code openai.chat}), may be null
     * @param model             the model the client asked for, may be null
     * @param tier              the service tier, may be null
     * @param deployment        the deployment that served it, null if none did
     * @param estimated         token counts were estimated locally because the upstream did not report them
     * @param status            HTTP status returned to the client
     * @param errorCode         the error code returned, null on success
     * @param latencyMicros     time to the last byte
     * @param ttftMicros        time to the first token of a stream, null if none was sent
     * @param agent             the agent that made the call, null for direct API calls
     * @param costNanos         what it cost, in nano-USD, at the price in force when it was made
     * @param privacyDecision   what the privacy router did (allow, redact, private, block), null if none ran
     * @param privacyClasses    the classes of data it found, comma-separated (never values), null if none ran
     * @param disputedNanos     what the upstream's report would have cost beyond what was charged, when it reported
     *                          usage impossible for the request (the token fields keep the report); 0 otherwise
     */
    public record UsageRecord(String requestId, Instant at, String org, String team, String user, String keyPrefix,
                              String api, String model, String tier, String deployment,
                              long inputTokens, long cachedInputTokens, long cacheWriteTokens, long outputTokens,
                              long reasoningTokens, boolean estimated, boolean stream, int status, String errorCode,
                              long latencyMicros, Long ttftMicros, String agent, long costNanos,
                              String privacyDecision, String privacyClasses, long disputedNanos) {
        public UsageRecord {
            Objects.requireNonNull(requestId, "requestId");
            Objects.requireNonNull(at, "at");
        }

        /** A record with nothing disputed. */
        public UsageRecord(String requestId, Instant at, String org, String team, String user, String keyPrefix,
                           String api, String model, String tier, String deployment,
                           long inputTokens, long cachedInputTokens, long cacheWriteTokens, long outputTokens,
                           long reasoningTokens, boolean estimated, boolean stream, int status, String errorCode,
                           long latencyMicros, Long ttftMicros, String agent, long costNanos,
                           String privacyDecision, String privacyClasses) {
            this(requestId, at, org, team, user, keyPrefix, api, model, tier, deployment, inputTokens, cachedInputTokens,
                    cacheWriteTokens, outputTokens, reasoningTokens, estimated, stream, status, errorCode, latencyMicros,
                    ttftMicros, agent, costNanos, privacyDecision, privacyClasses, 0);
        }

        /** A record of a call no privacy router looked at. */
        public UsageRecord(String requestId, Instant at, String org, String team, String user, String keyPrefix,
                           String api, String model, String tier, String deployment,
                           long inputTokens, long cachedInputTokens, long cacheWriteTokens, long outputTokens,
                           long reasoningTokens, boolean estimated, boolean stream, int status, String errorCode,
                           long latencyMicros, Long ttftMicros, String agent, long costNanos) {
            this(requestId, at, org, team, user, keyPrefix, api, model, tier, deployment, inputTokens, cachedInputTokens,
                    cacheWriteTokens, outputTokens, reasoningTokens, estimated, stream, status, errorCode, latencyMicros,
                    ttftMicros, agent, costNanos, null, null);
        }

        /** A record without agent and cost. */
        public UsageRecord(String requestId, Instant at, String org, String team, String user, String keyPrefix,
                           String api, String model, String tier, String deployment,
                           long inputTokens, long cachedInputTokens, long cacheWriteTokens, long outputTokens,
                           long reasoningTokens, boolean estimated, boolean stream, int status, String errorCode,
                           long latencyMicros, Long ttftMicros) {
            this(requestId, at, org, team, user, keyPrefix, api, model, tier, deployment, inputTokens, cachedInputTokens,
                    cacheWriteTokens, outputTokens, reasoningTokens, estimated, stream, status, errorCode, latencyMicros,
                    ttftMicros, null, 0);
        }
    }

    static final String COLUMNS = "request_id, at, org, team, user_id, key_prefix, api, model, tier, "
            + "deployment, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, "
            + "estimated, stream, status, error_code, latency_micros, ttft_micros, agent, cost_nanos, privacy_decision, "
            + "privacy_classes, disputed_nanos";

    /** The values {@link #bind} binds for a record, in the order of {@link #COLUMNS}. */
    static final int FIELDS = 26;

    /** Positional, in the order of {@link #bind}. */
    static final String INSERT = insertOf(1);

    /** An insert of {@code rows} records, each bound by {@link #bind} from {@code 1 + i * FIELDS}. */
    static String insertOf(int rows) {
        String row = "(?" + ", ?".repeat(FIELDS - 1) + ")";
        StringBuilder sql = new StringBuilder("INSERT INTO usage_records (" + COLUMNS + ") VALUES ").append(row);
        for (int i = 1; i < rows; i++) sql.append(", ").append(row);
        return sql.toString();
    }

    /** Positional, in the order of {@link #bindRollup}. */
    static final String ROLLUP = "INSERT INTO spend_daily (day, org, team, user_id, agent, model, tier, requests, "
            + "input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, cost_nanos, unserved) "
            + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            + "ON CONFLICT (day, org, team, user_id, agent, model, tier) DO UPDATE SET "
            + "requests = spend_daily.requests + excluded.requests, "
            + "unserved = spend_daily.unserved + excluded.unserved, "
            + "input_tokens = spend_daily.input_tokens + excluded.input_tokens, "
            + "cached_input_tokens = spend_daily.cached_input_tokens + excluded.cached_input_tokens, "
            + "output_tokens = spend_daily.output_tokens + excluded.output_tokens, "
            + "reasoning_tokens = spend_daily.reasoning_tokens + excluded.reasoning_tokens, "
            + "cost_nanos = spend_daily.cost_nanos + excluded.cost_nanos";

    static final RowMapper<UsageRecord> MAPPER = (rs, ctx) -> new UsageRecord(
            rs.getString("request_id"),
            Instant.ofEpochMilli(rs.getLong("at")),
            rs.getString("org"),
            rs.getString("team"),
            rs.getString("user_id"),
            rs.getString("key_prefix"),
            rs.getString("api"),
            rs.getString("model"),
            rs.getString("tier"),
            rs.getString("deployment"),
            rs.getLong("input_tokens"),
            rs.getLong("cached_input_tokens"),
            rs.getLong("cache_write_tokens"),
            rs.getLong("output_tokens"),
            rs.getLong("reasoning_tokens"),
            rs.getBoolean("estimated"),
            rs.getBoolean("stream"),
            rs.getInt("status"),
            rs.getString("error_code"),
            rs.getLong("latency_micros"),
            Times.nullableLong(rs, "ttft_micros"),
            rs.getString("agent"),
            rs.getLong("cost_nanos"),
            rs.getString("privacy_decision"),
            rs.getString("privacy_classes"),
            rs.getLong("disputed_nanos"));

    private final Store store;

    UsageLog(Store store) { this.store = store; }

    /**
     * Inserts the records in one transaction: all of them land, or none does.
     *
     * @throws StoreException with reason {@link StoreException.Reason#DUPLICATE} if a request id is already
     *                        stored (or repeated in the batch); nothing of the batch is then stored
     */
    public void insertBatch(List<UsageRecord> records) {
        Objects.requireNonNull(records, "records");
        if (records.isEmpty()) return;
        Journal journal = store.journal();
        if (journal != null) {
            journal.insertRecords(records);   // on the writer connection, statements prepared once
            return;
        }
        store.write("insert usage records", h -> {
            insert(h, records);
            return null;
        });
    }

    /** Inserts records and adds them to the daily rollups, inside the caller's transaction. */
    static void insert(Handle h, List<UsageRecord> records) {
        try (PreparedStatement insert = h.getConnection().prepareStatement(INSERT);
             PreparedStatement rollup = h.getConnection().prepareStatement(ROLLUP)) {
            for (UsageRecord r : records) {
                bind(insert, 1, r);
                insert.addBatch();
            }
            insert.executeBatch();   // PostgreSQL makes one multi-row insert of it (reWriteBatchedInserts)
            for (var e : rollups(records).entrySet()) {
                bindRollup(rollup, e.getKey(), e.getValue());
                rollup.addBatch();
            }
            rollup.executeBatch();
        } catch (SQLException e) {
            throw StoreException.of("insert usage records", e);
        }
    }

    /** Binds a record to the {@value #FIELDS} parameters from {@code first} on, in the order of {@link #COLUMNS}. */
    static void bind(PreparedStatement ps, int first, UsageRecord r) throws SQLException {
        int i = first;
        ps.setString(i++, r.requestId());
        ps.setLong(i++, r.at().toEpochMilli());
        ps.setString(i++, r.org());
        ps.setString(i++, r.team());
        ps.setString(i++, r.user());
        ps.setString(i++, r.keyPrefix());
        ps.setString(i++, r.api());
        ps.setString(i++, r.model());
        ps.setString(i++, r.tier());
        ps.setString(i++, r.deployment());
        ps.setLong(i++, r.inputTokens());
        ps.setLong(i++, r.cachedInputTokens());
        ps.setLong(i++, r.cacheWriteTokens());
        ps.setLong(i++, r.outputTokens());
        ps.setLong(i++, r.reasoningTokens());
        ps.setBoolean(i++, r.estimated());
        ps.setBoolean(i++, r.stream());
        ps.setInt(i++, r.status());
        ps.setString(i++, r.errorCode());
        ps.setLong(i++, r.latencyMicros());
        if (r.ttftMicros() == null) ps.setNull(i++, Types.BIGINT); else ps.setLong(i++, r.ttftMicros());
        ps.setString(i++, r.agent());
        ps.setLong(i++, r.costNanos());
        ps.setString(i++, r.privacyDecision());
        ps.setString(i++, r.privacyClasses());
        ps.setLong(i, r.disputedNanos());
    }

    /** The rollup rows of some records, one per key: a multi-row upsert (which PostgreSQL makes of a batch) may not touch a row twice. */
    static Map<List<String>, long[]> rollups(List<UsageRecord> records) {
        Map<List<String>, long[]> sums = new LinkedHashMap<>();
        for (UsageRecord r : records) {
            List<String> key = List.of(r.at().atZone(ZoneOffset.UTC).toLocalDate().toString(), nz(r.org()), nz(r.team()),
                    nz(r.user()), nz(r.agent()), nz(r.model()), nz(r.tier()));
            long[] s = sums.computeIfAbsent(key, k -> new long[7]);
            // answered (a client that left mid-stream got part of an answer, and pays for it) or not
            if (r.status() == 200 || r.status() == 499) s[0]++;
            else s[6]++;
            s[1] += r.inputTokens();
            s[2] += r.cachedInputTokens();
            s[3] += r.outputTokens();
            s[4] += r.reasoningTokens();
            s[5] += r.costNanos();
        }
        return sums;
    }

    static void bindRollup(PreparedStatement ps, List<String> key, long[] sums) throws SQLException {
        for (int i = 0; i < key.size(); i++) ps.setString(i + 1, key.get(i));
        for (int i = 0; i < sums.length; i++) ps.setLong(key.size() + 1 + i, sums[i]);
    }

    private static String nz(String s) { return s == null ? "" : s; }

    /** The {@code limit} most recent records, newest first (same millisecond: last inserted first). */
    public List<UsageRecord> recent(int limit) {
        if (limit <= 0) return List.of();
        store.foldJournal();
        return store.read("read recent usage", h -> h.createQuery(
                        "SELECT " + COLUMNS + " FROM usage_records ORDER BY at DESC, seq DESC LIMIT :limit")
                .bind("limit", limit)
                .map(MAPPER)
                .list());
    }

    public Optional<UsageRecord> byRequestId(String requestId) {
        if (requestId == null) return Optional.empty();
        store.foldJournal();
        return store.read("find usage record", h -> h.createQuery(
                        "SELECT " + COLUMNS + " FROM usage_records WHERE request_id = :id")
                .bind("id", requestId)
                .map(MAPPER)
                .findOne());
    }

    public long count() {
        store.foldJournal();
        return store.read("count usage records",
                h -> h.createQuery("SELECT COUNT(*) FROM usage_records").mapTo(Long.class).one());
    }
}
