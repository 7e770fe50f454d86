package dev.carapace.store;

import org.jdbi.v3.core.mapper.RowMapper;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * The responses {@code POST /v1/responses} served with {@code store: true}, each the property of the API key that
 * asked for it: every read and delete names the key, so another key's response is simply not there.
 */
public final class ResponseRecords {

    /**
     * One stored response.
     *
     * @param inputItems the client's own new input items of that turn, as JSON
     * @param response   the response object the client was shown, as JSON
     */
    public record StoredResponse(String id, String keyPrefix, String previousId, String model, Instant createdAt,
                                 Instant expiresAt, String inputItems, String response) {
        public StoredResponse {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(keyPrefix, "keyPrefix");
            Objects.requireNonNull(model, "model");
            Objects.requireNonNull(inputItems, "inputItems");
            Objects.requireNonNull(response, "response");
        }
    }

    private static final String COLUMNS = "id, key_prefix, previous_id, model, created_at, expires_at, input_items, response";
    private static final RowMapper<StoredResponse> ROW = (rs, ctx) -> new StoredResponse(rs.getString("id"),
            rs.getString("key_prefix"), rs.getString("previous_id"), rs.getString("model"),
            Instant.ofEpochMilli(rs.getLong("created_at")), Instant.ofEpochMilli(rs.getLong("expires_at")),
            rs.getString("input_items"), rs.getString("response"));

    private final Store store;

    ResponseRecords(Store store) { this.store = store; }

    /** Keeps a response; false if one with its id is already kept (an upstream's id seen twice). */
    public boolean insert(StoredResponse r) {
        return store.write("store response", h -> h.createUpdate("INSERT INTO responses (" + COLUMNS + ") VALUES (:id, :key,"
                        + " :previous, :model, :created, :expires, :input, :response) ON CONFLICT (id) DO NOTHING")
                .bind("id", r.id()).bind("key", r.keyPrefix()).bind("previous", r.previousId()).bind("model", r.model())
                .bind("created", r.createdAt().toEpochMilli()).bind("expires", r.expiresAt().toEpochMilli())
                .bind("input", r.inputItems()).bind("response", r.response())
                .execute()) == 1;
    }

    /** The response {@code id} of this key, unless it expired by {@code now}. */
    public Optional<StoredResponse> get(String keyPrefix, String id, Instant now) {
        return store.read("read response", h -> h.createQuery("SELECT " + COLUMNS + " FROM responses WHERE id = :id"
                        + " AND key_prefix = :key AND expires_at > :now")
                .bind("id", id).bind("key", keyPrefix).bind("now", now.toEpochMilli())
                .map(ROW).findOne());
    }

    /** Deletes the response {@code id} of this key; false if this key has none by that id. */
    public boolean delete(String keyPrefix, String id) {
        return store.write("delete response", h -> h.createUpdate("DELETE FROM responses WHERE id = :id AND key_prefix = :key")
                .bind("id", id).bind("key", keyPrefix).execute()) == 1;
    }

    /** Deletes the responses that expired by {@code now}; returns how many. */
    public int deleteExpired(Instant now) {
        return store.write("expire responses", h -> h.createUpdate("DELETE FROM responses WHERE expires_at <= :now")
                .bind("now", now.toEpochMilli()).execute());
    }
}
