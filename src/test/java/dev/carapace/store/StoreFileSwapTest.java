package dev.carapace.store;

import com.zaxxer.hikari.HikariDataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A SQLite file renamed over the database of a running store: the store opens no new connection on the new file. One
 * opened there deleted the old database's WAL or truncated the {@code -shm} file the open connections have mapped,
 * and the gateway died of SIGBUS in the ledger's journal thread (seen once in a full test run, in StoreReplacedTest).
 * The store runs in a child process, so a crash is this test's failure and not the whole run's.
 */
class StoreFileSwapTest {

    @TempDir Path dir;

    /** Opens a store on {@code args[0]}, swaps the file, asks for a new connection, then uses an old one. */
    public static final class Child {
        public static void main(String[] args) throws Exception {
            Path db = Path.of(args[0]);
            Store store = Store.open("jdbc:sqlite:" + db, null, null, 4);
            HikariDataSource pool = (HikariDataSource) store.dataSource();
            try (Connection held = pool.getConnection(); Statement s = held.createStatement()) {
                s.execute("CREATE TABLE swap_probe (x INTEGER)");
                s.execute("INSERT INTO swap_probe VALUES (1)");
                Path planted = Files.write(db.resolveSibling("planted"), "21 bytes of not-sqlite".substring(0, 21)
                        .getBytes(StandardCharsets.US_ASCII));
                Files.move(planted, db, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                // the pool's own way to a new connection, without its wait for one
                try (Connection fresh = pool.getDataSource().getConnection(); Statement f = fresh.createStatement()) {
                    f.executeQuery("SELECT count(*) FROM sqlite_master").close();
                    System.out.println("OPENED a connection on the swapped file");
                } catch (SQLException e) {
                    System.out.println("REFUSED " + e.getMessage());
                }
                s.execute("INSERT INTO swap_probe VALUES (2)");
                try (ResultSet r = s.executeQuery("SELECT count(*) FROM swap_probe")) {
                    r.next();
                    System.out.println("SURVIVED with " + r.getInt(1) + " rows");
                }
            }
            System.out.flush();
            Runtime.getRuntime().halt(0);
        }
    }

    @Test
    void aFileRenamedOverTheDatabaseGetsNoNewConnectionAndTheOldOnesLive() throws Exception {
        Process child = ChildProcesses.start(Child.class, dir.resolve("carapace.db").toString());
        String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(child.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(out).as(out).contains("REFUSED no new connection to the database: the database file was replaced "
                + "by another file").contains("SURVIVED with 2 rows").doesNotContain("OPENED");
        assertThat(child.exitValue()).as(out).isZero();
    }
}
