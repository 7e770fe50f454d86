package dev.carapace.store;

import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.mapper.RowMapper;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/** The API keys: only their prefix (for display and lookup by an admin) and a hash of the secret are stored. */
public final class ApiKeys {

    public static final String ROLE_ADMIN = "admin";
    public static final String ROLE_MEMBER = "member";

    /**
     * One stored key.
     *
     * @param id        stable identifier
     * @param prefix    the key's public start, unique; shown in listings and usage records
     * @param hash      hash of the whole key, unique; what an incoming key is looked up by
     * @param user      user the key belongs to, may be null
     * @param team      team the key belongs to, may be null
     * @param role      {@value #ROLE_ADMIN} or {@value #ROLE_MEMBER}
     * @param name      free-form label, may be null
     * @param createdAt creation time (stored to the millisecond)
     * @param revokedAt revocation time, or null while the key is active
     */
    public record StoredKey(String id, String prefix, String hash, String user, String team, String role, String name,
                            Instant createdAt, Instant revokedAt) {
        public StoredKey {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(prefix, "prefix");
            Objects.requireNonNull(hash, "hash");
            Objects.requireNonNull(createdAt, "createdAt");
            if (!ROLE_ADMIN.equals(role) && !ROLE_MEMBER.equals(role)) {
                throw new IllegalArgumentException("role must be admin or member: " + role);
            }
        }

        public boolean revoked() { return revokedAt != null; }
    }

    private static final String COLUMNS =
            "id, prefix, hash, user_id, team, role, name, created_at, revoked_at";

    private static final RowMapper<StoredKey> MAPPER = (rs, ctx) -> new StoredKey(
            rs.getString("id"),
            rs.getString("prefix"),
            rs.getString("hash"),
            rs.getString("user_id"),
            rs.getString("team"),
            rs.getString("role"),
            rs.getString("name"),
            Instant.ofEpochMilli(rs.getLong("created_at")),
            Times.nullableInstant(rs, "revoked_at"));

    private final Store store;

    ApiKeys(Store store) { this.store = store; }

    /**
     * Stores a new key.
     *
     * @throws StoreException with reason {@link StoreException.Reason#DUPLICATE} if the id, prefix or hash is
     *                        already taken
     */
    public void insert(StoredKey k) {
        Objects.requireNonNull(k, "key");
        store.write("insert api key", h -> h.createUpdate(
                        "INSERT INTO api_keys (" + COLUMNS + ") VALUES "
                                + "(:id, :prefix, :hash, :user, :team, :role, :name, :createdAt, :revokedAt)")
                .bind("id", k.id())
                .bind("prefix", k.prefix())
                .bind("hash", k.hash())
                .bind("user", k.user())
                .bind("team", k.team())
                .bind("role", k.role())
                .bind("name", k.name())
                .bind("createdAt", k.createdAt().toEpochMilli())
                .bind("revokedAt", Times.nullableMillis(k.revokedAt()))
                .execute());
    }

    /** The key with this hash, revoked or not: the caller decides what a revoked key means. */
    public Optional<StoredKey> findByHash(String hash) {
        return findOne("find api key by hash", "hash", hash);
    }

    /** The key with this prefix, revoked or not. */
    public Optional<StoredKey> findByPrefix(String prefix) {
        return findOne("find api key by prefix", "prefix", prefix);
    }

    private Optional<StoredKey> findOne(String operation, String column, String value) {
        if (value == null) return Optional.empty();
        return store.read(operation, h -> h.createQuery(
                        "SELECT " + COLUMNS + " FROM api_keys WHERE " + column + " = :v")
                .bind("v", value)
                .map(MAPPER)
                .findOne());
    }

    /** All keys, revoked ones included, oldest first (keys created in the same millisecond: in insert order). */
    public List<StoredKey> list() {
        return store.read("list api keys", h -> h.createQuery(
                        "SELECT " + COLUMNS + " FROM api_keys ORDER BY created_at, seq")
                .map(MAPPER)
                .list());
    }

    /**
     * Revokes the key with this prefix.
     *
     * @return true if it was active and is now revoked; false if it was already revoked (its revocation time is
     *         kept) or no key has this prefix
     */
    public boolean revoke(String prefix, Instant at) {
        Objects.requireNonNull(prefix, "prefix");
        Objects.requireNonNull(at, "at");
        int rows = store.write("revoke api key", h -> h.createUpdate(
                        "UPDATE api_keys SET revoked_at = :at WHERE prefix = :prefix AND revoked_at IS NULL")
                .bind("at", at.toEpochMilli())
                .bind("prefix", prefix)
                .execute());
        return rows > 0;
    }

    /** The number of keys, revoked ones included. */
    public int count() {
        return store.read("count api keys", ApiKeys::countRows);
    }

    private static int countRows(Handle h) {
        return h.createQuery("SELECT COUNT(*) FROM api_keys").mapTo(Integer.class).one();
    }
}
