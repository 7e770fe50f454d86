package dev.carapace.store;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link Store#fileProblem()} on a real SQLite file: silent while SQLite itself grows and checkpoints the file,
 * speaking up when the path is swapped for a symlink or deleted.
 */
class FileIntegrityTest {

    @TempDir
    Path dir;

    @Test
    void aFileSqliteGrowsAndCheckpointsItselfIsSound() throws Exception {
        Path db = dir.resolve("carapace.db");
        try (Store store = Store.open("jdbc:sqlite:" + db, null, null, 2)) {
            assertThat(store.fileProblem()).isNull();
            // enough writes for WAL checkpoints into the main file (it grows, pages are rewritten in place)
            store.jdbi().useHandle(h -> {
                h.execute("CREATE TABLE filler (v TEXT)");
                for (int i = 0; i < 300; i++) h.execute("INSERT INTO filler VALUES (?)", "x".repeat(4000));
                h.execute("PRAGMA wal_checkpoint(TRUNCATE)");
            });
            assertThat(Files.size(db)).isGreaterThan(1_000_000);
            assertThat(store.fileProblem()).isNull();
        }
    }

    @Test
    void aSymlinkSwappedInOrADeletedFileIsAProblem() throws Exception {
        Path db = dir.resolve("carapace.db");
        try (Store store = Store.open("jdbc:sqlite:" + db, null, null, 2)) {
            Path copy = Files.copy(db, dir.resolve("copy.db"));
            Path link = Files.createSymbolicLink(dir.resolve("link"), copy);
            Files.move(link, db, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            assertThat(store.fileProblem()).isEqualTo("the database file was replaced by a symlink under the running gateway");

            Files.delete(db);
            assertThat(store.fileProblem()).isEqualTo("the database file was deleted or moved away under the running gateway");
        }
    }

    @Test
    void storesWithoutAFileHaveNothingToCheck() {
        try (Store store = Store.open("jdbc:sqlite::memory:", null, null, 1)) {
            assertThat(store.fileProblem()).isNull();
        }
    }
}
