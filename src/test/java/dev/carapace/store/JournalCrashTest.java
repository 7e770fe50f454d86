package dev.carapace.store;

import dev.carapace.store.LedgerBook.Charge;
import dev.carapace.store.LedgerBook.Reservation;
import dev.carapace.store.LedgerBook.WindowKey;
import dev.carapace.store.LedgerBook.WindowRow;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A process killed (SIGKILL) with decisions in the journal not yet folded into the tables, and a torn write at its
 * end: the next store to open the file folds each of them exactly once, and the books balance.
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
            LedgerBook book = store.ledgerBook();
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
                    System.out.println("HOLDING " + left + " " + made);
                    System.out.flush();
                    try {
                        Thread.sleep(Long.MAX_VALUE);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
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
        assertThat(Files.size(journal)).isPositive();
        // and a write torn by the crash: bytes that are no entry
        Files.write(journal, new byte[] {0, 0, 1, 0, 42, 42, 42, 42, 7}, StandardOpenOption.APPEND);

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
                assertThat(store.ledgerBook().window(WINDOW)).contains(expected);
                assertThat(store.usageLog().count()).isEqualTo(settled);
                assertThat(store.ledgerBook().openReservations()).hasSize((int) open);
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
}
