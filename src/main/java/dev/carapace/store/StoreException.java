package dev.carapace.store;

import org.postgresql.util.PSQLException;
import org.sqlite.SQLiteErrorCode;
import org.sqlite.SQLiteException;

import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;

/**
 * A database operation failed. The message names the operation and the error class (SQLState or SQLite result
 * code) only: never a bound value, a password, or a JDBC URL with credentials. The cause, when present, is the
 * driver's {@link SQLException} when there is one (not Jdbi's statement wrapper, whose text could list bound
 * values); PostgreSQL
 * connections are opened with {@code logServerErrorDetail=false} so its text holds no row values either.
 */
public final class StoreException extends RuntimeException {

    /** What kind of failure it was, for callers that react differently (e.g. retry a key on a collision). */
    public enum Reason {
        /** A unique or primary-key constraint was violated. */
        DUPLICATE,
        /** Another integrity constraint (not-null, check, foreign key) was violated. */
        CONSTRAINT,
        /** The database could not be reached, the pool timed out, or SQLite stayed busy/locked. */
        UNAVAILABLE,
        /** The schema could not be migrated. */
        MIGRATION,
        /** Anything else. */
        OTHER
    }

    private final Reason reason;

    public StoreException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public Reason reason() { return reason; }

    /** Wraps a failure of {@code operation}, classifying the first {@link SQLException} in the cause chain. */
    static StoreException of(String operation, Throwable failure) {
        SQLException sql = sqlCause(failure);
        Reason reason = classify(sql);
        StringBuilder msg = new StringBuilder(operation).append(" failed: ").append(describe(reason));
        String code = code(sql);
        if (code != null) msg.append(" (").append(code).append(')');
        return new StoreException(reason, msg.toString(), sql != null ? sql : failure);
    }

    static SQLException sqlCause(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof SQLException s) return s;
            if (c.getCause() == c) break;
        }
        return null;
    }

    static Reason classify(SQLException e) {
        if (e == null) return Reason.OTHER;
        if (e instanceof SQLiteException se) {
            SQLiteErrorCode rc = se.getResultCode();
            if (rc == SQLiteErrorCode.SQLITE_CONSTRAINT_UNIQUE || rc == SQLiteErrorCode.SQLITE_CONSTRAINT_PRIMARYKEY) {
                return Reason.DUPLICATE;
            }
            int primary = rc.code & 0xff;
            if (primary == SQLiteErrorCode.SQLITE_CONSTRAINT.code) return Reason.CONSTRAINT;
            if (primary == SQLiteErrorCode.SQLITE_BUSY.code || primary == SQLiteErrorCode.SQLITE_LOCKED.code
                    || primary == SQLiteErrorCode.SQLITE_CANTOPEN.code) {
                return Reason.UNAVAILABLE;
            }
            return Reason.OTHER;
        }
        if (e instanceof SQLTransientConnectionException) return Reason.UNAVAILABLE;
        String state = e.getSQLState();
        if (state == null) return Reason.OTHER;
        if (state.equals("23505")) return Reason.DUPLICATE;
        if (state.startsWith("23")) return Reason.CONSTRAINT;
        if (state.startsWith("08") || state.startsWith("57P") || state.equals("53300")) return Reason.UNAVAILABLE;
        return Reason.OTHER;
    }

    private static String describe(Reason r) {
        return switch (r) {
            case DUPLICATE -> "duplicate value";
            case CONSTRAINT -> "constraint violated";
            case UNAVAILABLE -> "database unavailable";
            case MIGRATION -> "schema migration failed";
            case OTHER -> "database error";
        };
    }

    /** An error class that is safe to show: SQLState, SQLite result code name, and PG constraint name. */
    private static String code(SQLException e) {
        if (e == null) return null;
        if (e instanceof SQLiteException se) return se.getResultCode().name();
        StringBuilder b = new StringBuilder();
        if (e.getSQLState() != null) b.append("SQLState ").append(e.getSQLState());
        if (e instanceof PSQLException pe && pe.getServerErrorMessage() != null
                && pe.getServerErrorMessage().getConstraint() != null) {
            if (!b.isEmpty()) b.append(", ");
            b.append("constraint ").append(pe.getServerErrorMessage().getConstraint());
        }
        return b.isEmpty() ? null : b.toString();
    }
}
