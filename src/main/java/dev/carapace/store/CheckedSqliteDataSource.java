package dev.carapace.store;

import org.sqlite.SQLiteDataSource;

import javax.sql.DataSource;
import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.logging.Logger;

/**
 * The SQLite data source the pool and the journal open connections through: once the file on disk is no longer the
 * one the store opened ({@link FileIntegrity}), it refuses to open another. A connection opened on a file renamed over
 * the database, or on one truncated in place, may delete the old database's WAL (SQLite removes the WAL of a file with
 * no pages) or build a wal-index of its own: POSIX locks never conflict within one process, so SQLite takes itself for
 * the file's first user and truncates the {@code -shm} file the store's open connections have mapped, and they die of
 * SIGBUS, the whole gateway with them. Refusing leaves the store unsound but the process alive to say so.
 */
final class CheckedSqliteDataSource implements DataSource {

    private final SQLiteDataSource sqlite;
    /** Set once the store has opened and migrated the file: the identity every new connection is checked against. */
    private volatile FileIntegrity integrity;

    CheckedSqliteDataSource(SQLiteDataSource sqlite) {
        this.sqlite = sqlite;
    }

    void watch(FileIntegrity integrity) {
        this.integrity = integrity;
    }

    @Override
    public Connection getConnection() throws SQLException {
        FileIntegrity f = integrity;
        String problem = f == null ? null : f.problem();
        if (problem != null) throw new SQLException("no new connection to the database: " + problem, "08001");
        return sqlite.getConnection();
    }

    @Override
    public Connection getConnection(String user, String password) throws SQLException {
        return getConnection();   // SQLite has no users
    }

    @Override
    public PrintWriter getLogWriter() throws SQLException { return sqlite.getLogWriter(); }

    @Override
    public void setLogWriter(PrintWriter out) throws SQLException { sqlite.setLogWriter(out); }

    @Override
    public void setLoginTimeout(int seconds) throws SQLException { sqlite.setLoginTimeout(seconds); }

    @Override
    public int getLoginTimeout() throws SQLException { return sqlite.getLoginTimeout(); }

    @Override
    public Logger getParentLogger() throws SQLFeatureNotSupportedException { return sqlite.getParentLogger(); }

    @Override
    public <T> T unwrap(Class<T> type) throws SQLException {
        if (type.isInstance(this)) return type.cast(this);
        throw new SQLException("not a wrapper of " + type.getName());
    }

    @Override
    public boolean isWrapperFor(Class<?> type) { return type.isInstance(this); }
}
