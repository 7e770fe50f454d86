package dev.carapace.store;

import org.jdbi.v3.core.mapper.RowMapper;
import org.jdbi.v3.core.statement.PreparedBatch;

import java.time.Instant;
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
     */
    public record UsageRecord(String requestId, Instant at, String org, String team, String user, String keyPrefix,
                              String api, String model, String tier, String deployment,
                              long inputTokens, long cachedInputTokens, long cacheWriteTokens, long outputTokens,
                              long reasoningTokens, boolean estimated, boolean stream, int status, String errorCode,
                              long latencyMicros, Long ttftMicros) {
        public UsageRecord {
            Objects.requireNonNull(requestId, "requestId");
            Objects.requireNonNull(at, "at");
        }
    }

    private static final String COLUMNS = "request_id, at, org, team, user_id, key_prefix, api, model, tier, "
            + "deployment, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, "
            + "estimated, stream, status, error_code, latency_micros, ttft_micros";

    private static final String INSERT = "INSERT INTO usage_records (" + COLUMNS + ") VALUES (:requestId, :at, "
            + ":org, :team, :user, :keyPrefix, :api, :model, :tier, :deployment, :inputTokens, :cachedInputTokens, "
            + ":cacheWriteTokens, :outputTokens, :reasoningTokens, :estimated, :stream, :status, :errorCode, "
            + ":latencyMicros, :ttftMicros)";

    private static final RowMapper<UsageRecord> MAPPER = (rs, ctx) -> new UsageRecord(
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
            Times.nullableLong(rs, "ttft_micros"));

    private final Store store;

    UsageLog(Store store) { this.store = store; }

    /**
     * Inserts the records as one JDBC batch in one transaction: all of them land, or none does.
     *
     * @throws StoreException with reason {@link StoreException.Reason#DUPLICATE} if a request id is already
     *                        stored (or repeated in the batch); nothing of the batch is then stored
     */
    public void insertBatch(List<UsageRecord> records) {
        Objects.requireNonNull(records, "records");
        if (records.isEmpty()) return;
        store.write("insert usage records", h -> {
            PreparedBatch batch = h.prepareBatch(INSERT);
            for (UsageRecord r : records) {
                batch.bind("requestId", r.requestId())
                        .bind("at", r.at().toEpochMilli())
                        .bind("org", r.org())
                        .bind("team", r.team())
                        .bind("user", r.user())
                        .bind("keyPrefix", r.keyPrefix())
                        .bind("api", r.api())
                        .bind("model", r.model())
                        .bind("tier", r.tier())
                        .bind("deployment", r.deployment())
                        .bind("inputTokens", r.inputTokens())
                        .bind("cachedInputTokens", r.cachedInputTokens())
                        .bind("cacheWriteTokens", r.cacheWriteTokens())
                        .bind("outputTokens", r.outputTokens())
                        .bind("reasoningTokens", r.reasoningTokens())
                        .bind("estimated", r.estimated())
                        .bind("stream", r.stream())
                        .bind("status", r.status())
                        .bind("errorCode", r.errorCode())
                        .bind("latencyMicros", r.latencyMicros())
                        .bind("ttftMicros", r.ttftMicros())
                        .add();
            }
            batch.execute();
            return null;
        });
    }

    /** The {@code limit} most recent records, newest first (same millisecond: last inserted first). */
    public List<UsageRecord> recent(int limit) {
        if (limit <= 0) return List.of();
        return store.read("read recent usage", h -> h.createQuery(
                        "SELECT " + COLUMNS + " FROM usage_records ORDER BY at DESC, seq DESC LIMIT :limit")
                .bind("limit", limit)
                .map(MAPPER)
                .list());
    }

    public Optional<UsageRecord> byRequestId(String requestId) {
        if (requestId == null) return Optional.empty();
        return store.read("find usage record", h -> h.createQuery(
                        "SELECT " + COLUMNS + " FROM usage_records WHERE request_id = :id")
                .bind("id", requestId)
                .map(MAPPER)
                .findOne());
    }

    public long count() {
        return store.read("count usage records",
                h -> h.createQuery("SELECT COUNT(*) FROM usage_records").mapTo(Long.class).one());
    }
}
