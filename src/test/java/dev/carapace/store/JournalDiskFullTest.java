package dev.carapace.store;

import dev.carapace.ledger.book.LedgerBook;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The journal is copied into a mapping of its file, which is grown by writing zeros first: a full disk fails that
 * growth, with the call's entry not written, never a store into the mapping (which would be a fault, not an error).
 * On a small tmpfs (needs root to mount; CI runs as root).
 */
class JournalDiskFullTest {

    @TempDir Path dir;
    private Path mounted;

    @AfterEach
    void unmount() throws Exception {
        if (mounted != null) run("umount", "-l", mounted.toString());
    }

    @Test
    void aFullDiskFailsTheAppendThatNeedsMoreRoomAndNothingBefore() throws Exception {
        Path fs = Files.createDirectory(dir.resolve("small"));
        assumeTrue(run("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", fs.toString()) == 0,
                "mounting a tmpfs needs root");
        mounted = fs;
        Path db = fs.resolve("full.db");
        int written = 0;
        try (Store store = Store.open("jdbc:sqlite:" + db, null, null, 2)) {
            LedgerBook book = LedgerBook.of(store);
            try (JournalCrashTest.FoldHeld held = JournalCrashTest.FoldHeld.on(store)) {
                book.record(ReservationsTest.record("req-0", 1, 1, 1));   // the journal's first window is made
                written++;
                Path filler = fs.resolve("filler");
                fill(filler);
                StoreException failure = null;
                for (int i = 1; i < 20_000 && failure == null; i++) {
                    try {
                        book.record(ReservationsTest.record("req-" + i, 1, 1, 1));
                        written++;
                    } catch (StoreException e) {
                        failure = e;
                    }
                }
                assertThat(failure).as("the disk filled before 20,000 entries").isNotNull();
                assertThat(failure.reason()).isEqualTo(StoreException.Reason.UNAVAILABLE);
                assertThat(failure.getMessage()).contains("journal");
                assertThat(JournalCrashTest.entriesIn(Journal.pathFor(db))).as("every call that returned, and no other")
                        .isEqualTo(written);

                Files.delete(filler);   // room again (the file grows a mapped window, 1 MiB, at a time): the next call goes through
                book.record(ReservationsTest.record("req-after", 1, 1, 1));
                written++;
            }
        }
        try (Store store = Store.open("jdbc:sqlite:" + db, null, null, 2)) {
            assertThat(store.usageLog().count()).isEqualTo(written);
            assertThat(store.usageLog().byRequestId("req-after")).isPresent();
        }
    }

    /** Writes zeros until the file system is full. */
    private static void fill(Path filler) throws Exception {
        byte[] block = new byte[4096];
        try (var out = Files.newOutputStream(filler)) {
            while (true) out.write(block);
        } catch (java.io.IOException full) {
            // no space left
        }
    }

    private static int run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        return p.waitFor(30, TimeUnit.SECONDS) ? p.exitValue() : -1;
    }
}
