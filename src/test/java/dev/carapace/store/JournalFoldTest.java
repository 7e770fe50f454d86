package dev.carapace.store;

import dev.carapace.store.UsageLog.UsageRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Usage records are folded {@value JournalFold#ROWS} to a statement. A request id already stored (an entry folded
 * again) or repeated in a batch is skipped, and only what a statement really inserted joins the daily rollups, also
 * when the skipped ones sit on either side of a statement's edge.
 */
class JournalFoldTest {

    @TempDir Path dir;

    @Test
    void recordsAlreadyStoredAreSkippedAndCountedOnceWhereverTheyFallInTheBatch() {
        try (Store store = Store.open("jdbc:sqlite:" + dir.resolve("fold.db"), null, null, 2)) {
            Journal journal = store.journal();
            long spent = 0;
            for (int i = 0; i < 5; i++) {
                journal.append(JournalEntry.record(ReservationsTest.record("d" + i, 1, 1, 1_000 + i)));
                spent += 1_000 + i;
            }
            journal.foldAll();

            // 40 entries: the five already stored (with other costs) at statements' edges and inside them, one new
            // id twice, and 34 new ones
            List<Integer> storedAt = List.of(0, 15, 16, 31, 39);
            List<UsageRecord> batch = new ArrayList<>();
            int fresh = 0;
            for (int at = 0; at < 40; at++) {
                int d = storedAt.indexOf(at);
                if (d >= 0) {
                    batch.add(ReservationsTest.record("d" + d, 9, 9, 999_999));
                } else if (at == 20) {
                    batch.add(ReservationsTest.record("n7", 9, 9, 888_888));   // n7 again
                } else {
                    batch.add(ReservationsTest.record("n" + fresh, 1, 1, 10 + fresh));
                    spent += 10 + fresh;
                    fresh++;
                }
            }
            for (UsageRecord r : batch) journal.append(JournalEntry.record(r));
            journal.foldAll();

            assertThat(store.usageLog().count()).isEqualTo(5 + fresh);
            assertThat(store.usageLog().byRequestId("d3")).get().extracting(UsageRecord::costNanos).isEqualTo(1_003L);
            assertThat(store.usageLog().byRequestId("n7")).get().extracting(UsageRecord::costNanos).isEqualTo(17L);
            long rolledUp = store.jdbi().withHandle(h -> h.createQuery("SELECT SUM(cost_nanos) FROM spend_daily").mapTo(Long.class).one());
            long requests = store.jdbi().withHandle(h -> h.createQuery("SELECT SUM(requests) FROM spend_daily").mapTo(Long.class).one());
            assertThat(rolledUp).as("each record's cost once").isEqualTo(spent);
            assertThat(requests).isEqualTo(5 + fresh);
        }
    }

    @Test
    void aBatchOfAnyLengthIsStoredWhole() {
        try (Store store = Store.open("jdbc:sqlite:" + dir.resolve("lengths.db"), null, null, 2)) {
            Journal journal = store.journal();
            int total = 0;
            for (int length : List.of(1, JournalFold.ROWS - 1, JournalFold.ROWS, JournalFold.ROWS + 1, 3 * JournalFold.ROWS + 5)) {
                for (int i = 0; i < length; i++) journal.append(JournalEntry.record(ReservationsTest.record("l" + length + "-" + i, 1, 1, 1)));
                journal.foldAll();
                total += length;
                assertThat(store.usageLog().count()).isEqualTo(total);
                assertThat(store.usageLog().byRequestId("l" + length + "-" + (length - 1))).isPresent();
            }
        }
    }
}
