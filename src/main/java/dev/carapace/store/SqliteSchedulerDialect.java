package dev.carapace.store;

import com.github.kagkarlsson.scheduler.jdbc.DefaultJdbcCustomization;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;

/**
 * How db-scheduler talks to SQLite, which its version 16.7.1 does not know (its auto-detection falls back to ANSI
 * SQL). SQLite has no {@code FETCH FIRST n ROWS ONLY}, so the due query ends in {@code LIMIT n}; it has no timestamp
 * type, so instants are bound and read as epoch milliseconds, the store's format everywhere, instead of through
 * {@code setTimestamp}, whose text or number form depends on driver settings; and task data is bound as bytes. There
 * is no {@code SELECT ... FOR UPDATE SKIP LOCKED} either, so {@link DueRuns} polls with fetch-and-lock-on-execute:
 * a gateway takes an execution with an {@code UPDATE ... WHERE version = ?}, which SQLite runs one writer at a time.
 */
final class SqliteSchedulerDialect extends DefaultJdbcCustomization {

    SqliteSchedulerDialect() {
        super(true);
    }

    @Override
    public String getName() { return "SQLite (Carapace)"; }

    @Override
    public void setInstant(PreparedStatement p, int index, Instant value) throws SQLException {
        if (value == null) {
            p.setNull(index, Types.BIGINT);
        } else {
            p.setLong(index, value.toEpochMilli());
        }
    }

    @Override
    public Instant getInstant(ResultSet rs, String columnName) throws SQLException {
        return Times.nullableInstant(rs, columnName);
    }

    @Override
    public void setTaskData(PreparedStatement p, int index, byte[] value) throws SQLException {
        if (value == null) {
            p.setNull(index, Types.BLOB);
        } else {
            p.setBytes(index, value);
        }
    }

    @Override
    public String getQueryLimitPart(int limit) { return " LIMIT " + limit; }
}
