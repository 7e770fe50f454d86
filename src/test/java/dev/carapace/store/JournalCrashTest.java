package dev.carapace.store;

import dev.carapace.ledger.book.LedgerBook;
import dev.carapace.store.LedgerTables.Charge;
import dev.carapace.store.LedgerTables.Reservation;
import dev.carapace.store.LedgerTables.WindowKey;
import dev.carapace.store.LedgerTables.WindowRow;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A process killed (SIGKILL) with decisions in the journal not yet folded into the tables, and a torn write at its
 * end: the next store to open the file folds each of them exactly once, and the books balance. And the torn bytes
 * are cut off even when the journal cannot be emptied yet, so the entries written after them survive the next crash;
 * and a call the folder's backlog stops is stopped before its entry is written.
 */
class JournalCrashTest {

    static final WindowKey WINDOW = new WindowKey("team:platform", 0, "*");
    static final int CALLS = 300;

    @TempDir Path dir;

    /**
     * {@code JournalCrashTest$Child DB}: makes calls, then holds the store's write lock, which the fold needs, while
     * some entries are still unfolded (making one more call at a time until that is so), prints
     * {@code HOLDING <entries unfolded> <calls>} and waits to be killed.
     */
    public static final class Child {
        public static void main(String[] args) throws Exception {
            Store store = Store.open("jdbc:sqlite:" + args[0], null, null, 2);
            LedgerBook book = LedgerBook.of(store);
            List<Charge> charges = List.of(new Charge(WINDOW, null, null));
            int calls = 0;
            long appended = 0;
            while (true) {
                for (int n = calls == 0 ? CALLS : 1; n > 0; n--, calls++) {
                    int i = calls;
                    Reservation r = ReservationsTest.reservation("r" + i, 100 + i, 10, List.of(WINDOW));
                    if (book.reserve(r, "child", charges).isPresent()) throw new IllegalStateException("refused");
                    appended++;
                    // every third call is still in flight when the process dies
                    if (i % 3 != 0) {
                        book.settle(r.id(), 50 + i, 7, ReservationsTest.record("req-r" + i, 3, 4, 50 + i));
                        appended++;
                    }
                }
                int made = calls;
                long entries = appended;
                store.write("hold", h -> {
                    long left = entries - h.createQuery("SELECT folded_seq FROM ledger_journal").mapTo(Long.class).one();
                    if (left == 0) return null;
                    ChildProcesses.sayAndBlock("HOLDING " + left + " " + made);
                    return null;
                });
            }
        }
    }

    @Test
    void entriesOfAKilledProcessAreFoldedOnceByTheNextOpen() throws Exception {
        Path db = dir.resolve("crash.db");
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(javaBin, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                Child.class.getName(), db.toString()).redirectErrorStream(true).start();
        long left;
        int calls;
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            StringBuilder seen = new StringBuilder();
            while ((line = out.readLine()) != null && !line.startsWith("HOLDING ")) seen.append(line).append('\n');
            assertThat(line).as("the child's output:\n" + seen).isNotNull();
            String[] holding = line.split(" ");
            left = Long.parseLong(holding[1]);
            calls = Integer.parseInt(holding[2]);
        } finally {
            child.destroyForcibly();
            assertThat(child.waitFor(10, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(left).as("entries not folded at the kill").isPositive();
        Path journal = Journal.pathFor(db);
        assertThat(framesEnd(journal)).isPositive();
        tornWriteAtEnd(journal);

        long spent = 0, held = 0, settled = 0, open = 0;
        assertThat(calls).isGreaterThanOrEqualTo(CALLS);
        for (int i = 0; i < calls; i++) {
            if (i % 3 == 0) {
                held += 100 + i;
                open++;
            } else {
                spent += 50 + i;
                settled++;
            }
        }
        WindowRow expected = new WindowRow(WINDOW, spent, held, 7 * settled, 10 * open);
        for (int start = 0; start < 2; start++) {   // and a second open changes nothing
            try (Store store = Store.open("jdbc:sqlite:" + db, null, null, 2)) {
                assertThat(LedgerBook.of(store).window(WINDOW)).contains(expected);
                assertThat(store.usageLog().count()).isEqualTo(settled);
                assertThat(LedgerBook.of(store).openReservations()).hasSize((int) open);
                long folded = store.jdbi().withHandle(h -> h.createQuery("SELECT folded_seq FROM ledger_journal").mapTo(Long.class).one());
                assertThat(folded).isEqualTo(calls + settled);
                assertThat(Files.size(journal)).as("emptied once folded").isZero();
                Map<String, Long> states = store.jdbi().withHandle(h -> h.createQuery(
                        "SELECT state, COUNT(*) AS n FROM reservations GROUP BY state").reduceRows(new TreeMap<String, Long>(), (m, row) -> {
                            m.put(row.getColumn("state", String.class), row.getColumn("n", Long.class));
                            return m;
                        }));
                assertThat(states).isEqualTo(Map.of("open", open, "settled", settled));
                long rolledUp = store.jdbi().withHandle(h -> h.createQuery("SELECT SUM(cost_nanos) FROM spend_daily").mapTo(Long.class).one());
                assertThat(rolledUp).isEqualTo(spent);
            }
        }
    }

    /**
     * Makes {@code n} calls from {@code first}, each reserved and settled, while the fold is held: their entries are
     * in the journal only. Then copies the database, its WAL and the journal as a crash would leave them, and lets
     * the fold go.
     */
    static void callsThenCrashCopy(Store store, Path db, int first, int n, Path to) throws Exception {
        LedgerBook book = LedgerBook.of(store);
        try (FoldHeld held = FoldHeld.on(store)) {
            List<Charge> charges = List.of(new Charge(WINDOW, null, null));
            for (int i = first; i < first + n; i++) {
                Reservation r = ReservationsTest.reservation("r" + i, 100 + i, 10, List.of(WINDOW));
                assertThat(book.reserve(r, "test", charges)).isEmpty();
                book.settle(r.id(), 50 + i, 7, ReservationsTest.record("req-r" + i, 3, 4, 50 + i));
            }
            for (String suffix : List.of("", "-wal")) {
                Path f = db.resolveSibling(db.getFileName() + suffix);
                if (Files.exists(f)) Files.copy(f, to.resolveSibling(to.getFileName() + suffix));
            }
            Files.copy(Journal.pathFor(db), Journal.pathFor(to));
        }
    }

    /** Holds the store's write lock, which the fold needs, from another thread until closed. */
    record FoldHeld(Thread holder, java.util.concurrent.CountDownLatch release) implements AutoCloseable {
        static FoldHeld on(Store store) throws InterruptedException {
            var holding = new java.util.concurrent.CountDownLatch(1);
            var release = new java.util.concurrent.CountDownLatch(1);
            Thread holder = Thread.ofVirtual().start(() -> store.write("hold the fold", h -> {
                holding.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return null;
            }));
            assertThat(holding.await(10, TimeUnit.SECONDS)).isTrue();
            return new FoldHeld(holder, release);
        }

        @Override
        public void close() throws InterruptedException {
            release.countDown();
            holder.join();
        }
    }

    static WindowRow settledWindow(int calls) {
        long spent = 0;
        for (int i = 0; i < calls; i++) spent += 50 + i;
        return new WindowRow(WINDOW, spent, 0, 7L * calls, 0);
    }

    @Test
    void aTornTailIsCutOffEvenWhenTheJournalCannotBeEmptiedSoLaterEntriesReplay() throws Exception {
        Path first = dir.resolve("first.db"), second = dir.resolve("second.db"), third = dir.resolve("third.db");
        try (Store a = Store.open("jdbc:sqlite:" + first, null, null, 2)) {
            callsThenCrashCopy(a, first, 0, 20, second);
        }
        Path journal = Journal.pathFor(second);
        long intact = framesEnd(journal);
        assertThat(intact).as("20 calls' entries, unfolded at the crash").isPositive();
        tornWriteAtEnd(journal);

        // A reader holding an old snapshot stops the checkpoint short, so opening cannot empty the journal: it may
        // only cut the torn bytes off. Entries appended after them would otherwise never be replayed.
        try (var reader = java.sql.DriverManager.getConnection("jdbc:sqlite:" + second)) {
            reader.setAutoCommit(false);
            try (var st = reader.createStatement(); var rs = st.executeQuery("SELECT COUNT(*) FROM reservations")) {
                assertThat(rs.next()).isTrue();
            }
            try (Store b = Store.open("jdbc:sqlite:" + second, null, null, 2)) {
                assertThat(LedgerBook.of(b).window(WINDOW)).contains(settledWindow(20));
                assertThat(Files.size(journal)).as("kept (not synced yet), without the torn bytes").isEqualTo(intact);
                callsThenCrashCopy(b, second, 20, 10, third);
            }
            reader.rollback();
        }

        try (Store c = Store.open("jdbc:sqlite:" + third, null, null, 2)) {
            assertThat(LedgerBook.of(c).window(WINDOW)).as("the 10 calls made after the cut are replayed")
                    .contains(settledWindow(30));
            assertThat(c.usageLog().count()).isEqualTo(30);
            assertThat(LedgerBook.of(c).openReservations()).isEmpty();
        }
    }

    /**
     * Many callers appending at once: every entry is in the journal intact, and replays once. The usage records of
     * calls under no budget are appended outside the book's lock, so they share writes (one caller writes the frames
     * queued behind it): none may be lost, written twice or torn by that.
     */
    @Test
    void entriesAppendedAtOnceByManyCallersReplayEachOnce() throws Exception {
        Path first = dir.resolve("first.db"), copy = dir.resolve("copy.db");
        int callers = 32, each = 25;
        try (Store a = Store.open("jdbc:sqlite:" + first, null, null, 2)) {
            LedgerBook book = LedgerBook.of(a);
            try (FoldHeld held = FoldHeld.on(a)) {
                List<Charge> charges = List.of(new Charge(WINDOW, null, null));
                List<Thread> threads = new java.util.ArrayList<>();
                var start = new java.util.concurrent.CountDownLatch(1);
                for (int t = 0; t < callers; t++) {
                    int base = t * each;
                    threads.add(Thread.ofVirtual().start(() -> {
                        try {
                            start.await();
                        } catch (InterruptedException e) {
                            throw new AssertionError(e);
                        }
                        for (int i = base; i < base + each; i++) {
                            Reservation r = ReservationsTest.reservation("r" + i, 100 + i, 10, List.of(WINDOW));
                            assertThat(book.reserve(r, "test", charges)).isEmpty();
                            book.settle(r.id(), 50 + i, 7, ReservationsTest.record("req-r" + i, 3, 4, 50 + i));
                            book.record(ReservationsTest.record("req-u" + i, 1, 1, 1));
                        }
                    }));
                }
                start.countDown();
                for (Thread t : threads) t.join();
                assertThat(entriesIn(Journal.pathFor(first))).as("every entry, intact, none folded yet")
                        .isEqualTo(3L * callers * each);
                for (String suffix : List.of("", "-wal")) {
                    Path f = first.resolveSibling(first.getFileName() + suffix);
                    if (Files.exists(f)) Files.copy(f, copy.resolveSibling(copy.getFileName() + suffix));
                }
                Files.copy(Journal.pathFor(first), Journal.pathFor(copy));
            }
            assertThat(LedgerBook.of(a).window(WINDOW)).contains(settledWindow(callers * each));
        }
        try (Store b = Store.open("jdbc:sqlite:" + copy, null, null, 2)) {
            assertThat(LedgerBook.of(b).window(WINDOW)).as("replayed from the journal alone").contains(settledWindow(callers * each));
            assertThat(b.usageLog().count()).isEqualTo(2L * callers * each);
            for (int i = 0; i < callers * each; i += 97) assertThat(b.usageLog().byRequestId("req-u" + i)).isPresent();
            assertThat(LedgerBook.of(b).openReservations()).isEmpty();
        }
    }

    /**
     * The file is mapped a window at a time: entries written across several windows (and across their edges) while
     * nothing is folded are all in it, intact, and replay once; and a clean close leaves no zeros behind them.
     */
    @Test
    void entriesAcrossManyMappedWindowsReplayEachOnce() throws Exception {
        Path first = dir.resolve("first.db"), copy = dir.resolve("copy.db");
        int records = 12_000;
        try (Store a = Store.open("jdbc:sqlite:" + first, null, null, 2)) {
            LedgerBook book = LedgerBook.of(a);
            try (FoldHeld held = FoldHeld.on(a)) {
                for (int i = 0; i < records; i++) book.record(ReservationsTest.record("req-w" + i, 1, 1, i));
                Path journal = Journal.pathFor(first);
                assertThat(framesEnd(journal)).as("more than two windows of frames").isGreaterThan(2L * JournalFile.WINDOW);
                assertThat(entriesIn(journal)).isEqualTo(records);
                for (String suffix : List.of("", "-wal")) {
                    Path f = first.resolveSibling(first.getFileName() + suffix);
                    if (Files.exists(f)) Files.copy(f, copy.resolveSibling(copy.getFileName() + suffix));
                }
                Files.copy(journal, Journal.pathFor(copy));
            }
        }
        try (Store b = Store.open("jdbc:sqlite:" + copy, null, null, 2)) {
            assertThat(b.usageLog().count()).isEqualTo(records);
            for (int i = 0; i < records; i += 499) {
                assertThat(b.usageLog().byRequestId("req-w" + i)).get().extracting(UsageLog.UsageRecord::costNanos)
                        .isEqualTo((long) i);
            }
        }
        assertThat(Files.size(Journal.pathFor(copy))).as("closed: emptied, no zeros left").isZero();
    }

    /**
     * Regression: under calls that never paused, the journal was never emptied (that waits for a moment when all of
     * it is synced into the tables) and grew without end, and a start after a crash read all of it into the heap.
     * Past {@link Journal#COMPACT_BYTES} it is now rewritten with what is not yet synced, and a compacted file
     * replays every entry it holds.
     */
    @Test
    void aJournalUnderUnbrokenCallsStaysBoundedAndWhatACompactedOneHoldsReplays() throws Exception {
        Path first = dir.resolve("busy.db"), copy = dir.resolve("busy-copy.db");
        Path journal = Journal.pathFor(first);
        int records = 0, afterwards = 500;
        long largest = 0, through = 0;
        try (Store a = Store.open("jdbc:sqlite:" + first, null, null, 2)) {
            LedgerBook book = LedgerBook.of(a);
            // about 300 bytes a record: five times the compaction size goes through the file, never pausing
            while (through < 5 * Journal.COMPACT_BYTES) {
                book.record(ReservationsTest.record("req-b" + records, 1, 1, records));
                records++;
                if (records % 500 == 0) {
                    long size = framesEnd(journal);
                    largest = Math.max(largest, size);
                    through += 500L * 300;
                    assertThat(startsWithASoundFrame(journal)).as("a compacted file starts at a frame").isTrue();
                }
            }
            assertThat(largest).as("bounded under unbroken calls").isLessThan(Journal.COMPACT_BYTES + (8 << 20));
            try (FoldHeld held = FoldHeld.on(a)) {
                Thread.sleep(300);   // a checkpoint the folder had begun ends before the copy
                for (int i = 0; i < afterwards; i++) book.record(ReservationsTest.record("req-b" + (records + i), 1, 1, i));
                for (String suffix : List.of("", "-wal")) {
                    Path f = first.resolveSibling(first.getFileName() + suffix);
                    if (Files.exists(f)) Files.copy(f, copy.resolveSibling(copy.getFileName() + suffix));
                }
                Files.copy(journal, Journal.pathFor(copy));
            }
        }
        assertThat(entriesIn(Journal.pathFor(copy))).as("compacted: not every entry is still in the file")
                .isLessThan(records + afterwards).isGreaterThanOrEqualTo(afterwards);
        try (Store b = Store.open("jdbc:sqlite:" + copy, null, null, 2)) {
            assertThat(b.usageLog().count()).isEqualTo(records + afterwards);
            assertThat(b.usageLog().byRequestId("req-b" + (records + afterwards - 1))).isPresent();
        }
    }

    /**
     * Regression: a start mapped the whole journal in one mapping (before that, read it whole into the heap), so a
     * journal past 2 GiB (one left by a version that never compacted it) kept the store from opening. Read a buffer
     * at a time, its entries fold and the zeros after them are cut off.
     */
    @Test
    void aJournalPastTwoGibibytesStillOpensAndFolds() throws Exception {
        Path first = dir.resolve("huge.db"), copy = dir.resolve("huge-copy.db");
        try (Store a = Store.open("jdbc:sqlite:" + first, null, null, 2)) {
            callsThenCrashCopy(a, first, 0, 50, copy);
        }
        try (var f = java.nio.channels.FileChannel.open(Journal.pathFor(copy), StandardOpenOption.WRITE)) {
            f.truncate(framesEnd(Journal.pathFor(copy)));
            f.write(java.nio.ByteBuffer.wrap(new byte[] {0}), (2L << 30) + 4096);   // sparse: zeros to past 2 GiB
        }
        assertThat(Files.size(Journal.pathFor(copy))).isGreaterThan(2L << 30);
        try (Store b = Store.open("jdbc:sqlite:" + copy, null, null, 2)) {
            assertThat(LedgerBook.of(b).window(WINDOW)).contains(settledWindow(50));
        }
        assertThat(Files.size(Journal.pathFor(copy))).as("folded, then emptied").isZero();
    }

    /**
     * Regression: an open that failed after taking the journal (its database could not be reached, say) closed it
     * as if it had read nothing from it, and so cut it to nothing: the entries it held, charges not yet in the
     * tables, were gone. It is left as it was, for the next open.
     */
    @Test
    void anOpenThatFailsLeavesTheJournalAsItWas() throws Exception {
        Path first = dir.resolve("keep.db"), copy = dir.resolve("keep-copy.db");
        try (Store a = Store.open("jdbc:sqlite:" + first, null, null, 2)) {
            callsThenCrashCopy(a, first, 0, 20, copy);
        }
        byte[] before = Files.readAllBytes(Journal.pathFor(copy));
        assertThat(entriesIn(Journal.pathFor(copy))).isEqualTo(40);
        javax.sql.DataSource unreachable = new org.sqlite.SQLiteDataSource() {
            @Override
            public java.sql.Connection getConnection() throws java.sql.SQLException {
                throw new java.sql.SQLException("unable to open database file");
            }
        };
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Journal.open(Journal.pathFor(copy), unreachable,
                new java.util.concurrent.locks.ReentrantLock())).isInstanceOf(StoreException.class);
        assertThat(Files.readAllBytes(Journal.pathFor(copy))).as("untouched").isEqualTo(before);
        try (Store b = Store.open("jdbc:sqlite:" + copy, null, null, 2)) {
            assertThat(LedgerBook.of(b).window(WINDOW)).contains(settledWindow(20));
        }
    }

    /**
     * Another process cuts the journal file short under the gateway's mapping: the call whose entry no longer fits
     * fails (a store past the end is a fault, reported, not a crash), the next goes on from the file's new end, and
     * every call that returned is in the tables and replays from what the file still holds.
     */
    @Test
    void aJournalCutShortByAnotherProcessFailsOneCallAndTheNextGoOn() throws Exception {
        Path db = dir.resolve("cut.db");
        try (Store store = Store.open("jdbc:sqlite:" + db, null, null, 2)) {
            LedgerBook book = LedgerBook.of(store);
            try (FoldHeld held = FoldHeld.on(store)) {
                for (int i = 0; i < 10; i++) book.record(ReservationsTest.record("req-a" + i, 1, 1, 1));
                try (var f = java.nio.channels.FileChannel.open(Journal.pathFor(db), StandardOpenOption.WRITE)) {
                    f.truncate(0);
                }
                org.assertj.core.api.Assertions.assertThatThrownBy(() -> book.record(ReservationsTest.record("req-cut", 1, 1, 1)))
                        .isInstanceOfSatisfying(StoreException.class, e -> assertThat(e.getMessage()).contains("journal"));
                for (int i = 0; i < 10; i++) book.record(ReservationsTest.record("req-b" + i, 1, 1, 1));
                assertThat(entriesIn(Journal.pathFor(db))).as("the file holds what came after the cut").isEqualTo(10);
            }
            assertThat(store.usageLog().count()).as("every call that returned, folded from memory").isEqualTo(20);
            assertThat(store.usageLog().byRequestId("req-cut")).isEmpty();
        }
    }

    /** Entries in a journal file: length, CRC-32C, payload, one after another, then zeros up to the file's end. */
    static long entriesIn(Path journal) throws Exception {
        java.nio.ByteBuffer all = java.nio.ByteBuffer.wrap(Files.readAllBytes(journal));
        long n = 0;
        while (all.remaining() >= 8) {
            int length = all.getInt();
            all.getInt();
            if (length == 0) break;
            all.position(all.position() + length);
            n++;
        }
        return n;
    }

    /** Empty, or its first frame passes its check: a file compacted from the middle of a frame fails it. */
    static boolean startsWithASoundFrame(Path journal) throws Exception {
        java.nio.ByteBuffer all = settledRead(journal);
        if (all.remaining() < 8) return true;
        int length = all.getInt(), crc = all.getInt();
        if (length == 0) return true;
        if (length < 0 || length > all.remaining()) return false;
        java.util.zip.CRC32C check = new java.util.zip.CRC32C();
        check.update(all.array(), 8, length);
        return (int) check.getValue() == crc;
    }

    /** Where a journal file's frames end (the zeros it is grown with follow). */
    static long framesEnd(Path journal) throws Exception {
        return frameWalk(settledRead(journal));
    }

    /**
     * The file's bytes, read again when the read ends inside a frame: the folder may empty the file while it is read
     * (once everything is folded), and the read then stops where the file did. A file whose frames are cut short on
     * every read fails.
     */
    static java.nio.ByteBuffer settledRead(Path journal) throws Exception {
        for (int read = 0; read < 20; read++) {
            java.nio.ByteBuffer all = java.nio.ByteBuffer.wrap(Files.readAllBytes(journal));
            int end = frameWalk(all);
            boolean zeros = true;   // what follows is the zeros the file was grown with, not a frame cut short
            for (int i = end; i < all.limit() && i < end + 8; i++) zeros &= all.get(i) == 0;
            if (zeros) return all;
        }
        throw new AssertionError(journal + " ends inside a frame on every read");
    }

    /** Walks whole frames from the start; returns where the first one that is not whole (or a zero head) begins. */
    private static int frameWalk(java.nio.ByteBuffer all) {
        int at = 0;
        while (all.limit() - at >= 8) {
            int length = all.getInt(at);
            if (length <= 0 || length > all.limit() - at - 8) break;
            at += 8 + length;
        }
        return at;
    }

    /** A write torn by a crash, where the next frame would have gone: a head whose payload is not what it says. */
    static void tornWriteAtEnd(Path journal) throws Exception {
        try (var f = java.nio.channels.FileChannel.open(journal, StandardOpenOption.WRITE)) {
            f.write(java.nio.ByteBuffer.wrap(new byte[] {0, 0, 1, 0, 42, 42, 42, 42, 7}), framesEnd(journal));
        }
    }

    @Test
    void aFolderTooFarBehindStopsTheCallBeforeItsEntryIsWritten() throws Exception {
        Path db = dir.resolve("behind.db");
        try (Store store = Store.open("jdbc:sqlite:" + db, null, null, 2)) {
            LedgerBook book = LedgerBook.of(store);
            List<Charge> charges = List.of(new Charge(WINDOW, null, null));
            FoldHeld held = FoldHeld.on(store);
            long folded = store.jdbi().withHandle(h -> h.createQuery("SELECT folded_seq FROM ledger_journal")
                    .mapTo(Long.class).one());

            // Reservations only: one entry each. The folder cannot fold while the write lock is held.
            var made = new java.util.concurrent.atomic.AtomicInteger();
            Thread caller = Thread.ofVirtual().start(() -> {
                for (int i = 0; i < Journal.MAX_UNFOLDED + 10; i++) {
                    Reservation r = ReservationsTest.reservation("r" + i, 1, 1, List.of(WINDOW));
                    if (book.reserve(r, "test", charges).isPresent()) throw new IllegalStateException("refused");
                    made.incrementAndGet();
                }
            });
            try {
                await().atMost(Duration.ofSeconds(30)).until(() -> caller.getState() == Thread.State.WAITING
                        && made.get() == Journal.MAX_UNFOLDED + 1);
                Thread.sleep(200);   // it stays stopped
                assertThat(made.get()).isEqualTo((int) Journal.MAX_UNFOLDED + 1);
                assertThat(entriesIn(Journal.pathFor(db)) - folded)
                        .as("every call that returned is in the file, and the stopped call is not")
                        .isEqualTo(made.get());
            } finally {
                held.close();
            }
            assertThat(caller.join(Duration.ofSeconds(30))).isTrue();
            assertThat(made.get()).isEqualTo((int) Journal.MAX_UNFOLDED + 10);
            assertThat(book.openReservations()).hasSize((int) Journal.MAX_UNFOLDED + 10);
        }
    }
}
