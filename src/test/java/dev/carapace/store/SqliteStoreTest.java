package dev.carapace.store;

import dev.carapace.store.ApiKeys.StoredKey;
import org.jdbi.v3.core.Handle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SqliteStoreTest extends StoreContractTest {

    @TempDir
    Path dir;

    private Path dbFile() { return dir.resolve("nested/data/carapace.db"); }

    @Override
    protected String newDatabaseUrl() { return "jdbc:sqlite:" + dbFile(); }

    @Override
    protected String user() { return null; }

    @Override
    protected String password() { return null; }

    @Override
    protected boolean expectPostgres() { return false; }

    @Test
    void createsTheMissingParentDirectoriesAndTheFile() {
        assertThat(dbFile()).isRegularFile();
    }

    @Test
    void everyPooledConnectionIsConfigured() {
        List<Handle> handles = new ArrayList<>();
        try {
            for (int i = 0; i < 4; i++) handles.add(store.jdbi().open());   // the whole pool at once
            for (Handle h : handles) {
                assertThat(pragma(h, "journal_mode")).isEqualTo("wal");
                assertThat(pragma(h, "synchronous")).isEqualTo("1");        // NORMAL
                assertThat(pragma(h, "busy_timeout")).isEqualTo("5000");
                assertThat(pragma(h, "foreign_keys")).isEqualTo("1");
            }
        } finally {
            handles.forEach(Handle::close);
        }
    }

    private static String pragma(Handle h, String name) {
        return h.createQuery("PRAGMA " + name).mapTo(String.class).one();
    }

    @Test
    void fileUrlsWork() {
        Path other = dir.resolve("via-uri/c.db");
        try (Store s = Store.open("jdbc:sqlite:file:" + other + "?cache=private", null, null, 2)) {
            s.apiKeys().insert(key("k", T0));
        }
        assertThat(other).isRegularFile();
        try (Store s = Store.open("jdbc:sqlite:" + other, null, null, 2)) {
            assertThat(s.apiKeys().count()).isEqualTo(1);
        }
    }

    @Test
    void inMemoryDatabaseIsOneDatabaseForThePool() throws Exception {
        try (Store mem = Store.open("jdbc:sqlite::memory:", null, null, 8)) {
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<?>> work = new ArrayList<>();
                for (int t = 0; t < 4; t++) {
                    int thread = t;
                    work.add(pool.submit(() -> {
                        for (int i = 0; i < 25; i++) {
                            mem.apiKeys().insert(key("m" + thread + "-" + i, T0));
                            mem.apiKeys().count();
                        }
                        return null;
                    }));
                }
                for (Future<?> f : work) f.get(60, TimeUnit.SECONDS);
            } finally {
                pool.shutdownNow();
            }
            assertThat(mem.apiKeys().count()).isEqualTo(100);

            // A second connection would be a second, empty database: while one handle is out, others wait for it.
            CountDownLatch held = new CountDownLatch(1);
            Thread holder = new Thread(() -> {
                try (Handle h = mem.jdbi().open()) {
                    held.countDown();
                    Thread.sleep(300);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            holder.start();
            assertThat(held.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(mem.apiKeys().count()).isEqualTo(100);
            holder.join();
        }
    }

    @Test
    void aPathThatCannotBeADirectoryFails() throws Exception {
        Path file = Files.writeString(dir.resolve("plain-file"), "x");
        assertThatThrownBy(() -> Store.open("jdbc:sqlite:" + file.resolve("sub/c.db"), null, null, 2))
                .isInstanceOfSatisfying(StoreException.class,
                        e -> assertThat(e.reason()).isEqualTo(StoreException.Reason.UNAVAILABLE));
    }

    @Test
    void otherDatabasesAreRefusedWithoutQuotingCredentials() {
        assertThatThrownBy(() -> Store.open("jdbc:mysql://db:3306/x?user=root&password=hunter2", "u", "pw", 2))
                .isInstanceOf(StoreException.class)
                .hasMessageContaining("jdbc:mysql://db:3306/x")
                .hasMessageNotContaining("hunter2")
                .hasMessageNotContaining("root");
    }

    /** Another process holding the write lock makes us wait (busy_timeout), not fail. */
    @Test
    void aWriterInAnotherConnectionIsWaitedFor() throws Exception {
        CountDownLatch locked = new CountDownLatch(1);
        Thread holder = new Thread(() -> {
            try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dbFile());
                 Statement s = c.createStatement()) {
                s.execute("PRAGMA busy_timeout = 5000");
                s.execute("BEGIN IMMEDIATE");
                s.execute("INSERT INTO api_keys (id, prefix, hash, role, created_at) "
                        + "VALUES ('outside', 'outside', 'outside', 'member', 1)");
                locked.countDown();
                Thread.sleep(700);
                s.execute("COMMIT");
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        holder.start();
        assertThat(locked.await(10, TimeUnit.SECONDS)).isTrue();
        long t0 = System.nanoTime();
        store.apiKeys().insert(key("inside", T0));
        long waitedMs = (System.nanoTime() - t0) / 1_000_000;
        holder.join();

        assertThat(waitedMs).as("the insert had to wait for the other writer").isGreaterThanOrEqualTo(300);
        assertThat(store.apiKeys().list()).extracting(StoredKey::id).containsExactlyInAnyOrder("outside", "inside");
    }
}
