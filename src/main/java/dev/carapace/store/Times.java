package dev.carapace.store;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;

/** Instants are stored as epoch milliseconds in a BIGINT column on every database. */
final class Times {

    private Times() {}

    static Long nullableMillis(Instant t) { return t == null ? null : t.toEpochMilli(); }

    static Instant nullableInstant(ResultSet rs, String column) throws SQLException {
        long v = rs.getLong(column);
        return rs.wasNull() ? null : Instant.ofEpochMilli(v);
    }

    static Long nullableLong(ResultSet rs, String column) throws SQLException {
        long v = rs.getLong(column);
        return rs.wasNull() ? null : v;
    }
}
