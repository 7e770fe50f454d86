package dev.carapace.store;

/**
 * The one embedded PostgreSQL of the test JVM ({@link TestPostgres}), for tests outside this package that need a
 * real server: each call to {@link #createDatabase} gives a new, empty database on it.
 */
public final class PostgresForTests {

    /** The database user; the server trusts local connections, so any password is accepted. */
    public static final String USER = TestPostgres.USER;

    private PostgresForTests() {}

    /** The JDBC URL of a fresh, empty database. */
    public static String createDatabase() {
        return TestPostgres.get().createDatabase();
    }
}
