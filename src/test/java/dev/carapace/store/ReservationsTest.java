package dev.carapace.store;

import dev.carapace.ledger.book.LedgerBook;
import dev.carapace.store.LedgerTables.Charge;
import dev.carapace.store.LedgerTables.Reservation;
import dev.carapace.store.LedgerTables.WindowKey;
import dev.carapace.store.LedgerTables.WindowRow;
import dev.carapace.store.LedgerTables;
import dev.carapace.store.UsageLog.UsageRecord;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Both ways of deciding budgets behave alike: the database ({@link SqlReservations}: PostgreSQL, in-memory SQLite)
 * and this process's memory with the journal ({@code ledger.book.MemoryReservations}: a SQLite file).
 */
class ReservationsTest {

    static final Instant T0 = Instant.parse("2026-03-04T05:06:07Z");
    static final WindowKey TOTAL = new WindowKey("team:platform", 0, "*");
    static final WindowKey ULTRA = new WindowKey("team:platform", 0, "ultra");

    @TempDir Path dir;

    Store open(String kind) {
        return switch (kind) {
            case "sqlite-file" -> Store.open("jdbc:sqlite:" + dir.resolve("r.db"), null, null, 2);
            case "sqlite-memory" -> Store.open("jdbc:sqlite::memory:", null, null, 1);
            case "postgres" -> Store.open(TestPostgres.get().createDatabase(), TestPostgres.USER, null, 4);
            default -> throw new IllegalArgumentException(kind);
        };
    }

    static UsageRecord record(String requestId, long in, long out, long cost) {
        return new UsageRecord(requestId, T0, "acme", "platform", "alice", "cpk_x", "openai", "m", "ultra", null,
                in, 0, 0, out, 0, false, false, 200, null, 10, null, null, cost);
    }

    static Reservation reservation(String id, long nanos, long tokens, List<WindowKey> windows) {
        return new Reservation(id, T0, nanos, tokens, windows, record("req-" + id, 10, tokens - 10, nanos));
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite-file", "sqlite-memory", "postgres"})
    void holdsRefusesAndSettlesAlike(String kind) {
        try (Store store = open(kind)) {
            LedgerBook book = LedgerBook.of(store);
            List<Charge> charges = List.of(new Charge(TOTAL, 1_000L, 100L), new Charge(ULTRA, 700L, null));
            List<WindowKey> both = List.of(TOTAL, ULTRA);

            assertThat(book.reserve(reservation("a", 600, 30, both), "gw", charges)).isEmpty();
            assertThat(book.reserve(reservation("b", 401, 1, both), "gw", charges)).as("total first").contains(TOTAL);
            assertThat(book.reserve(reservation("c", 101, 1, both), "gw", charges)).as("then the tier's cap").contains(ULTRA);
            assertThat(book.reserve(reservation("d", 1, 71, both), "gw", charges)).as("tokens count too").contains(TOTAL);
            assertThat(book.window(TOTAL)).contains(new WindowRow(TOTAL, 0, 600, 0, 30));
            assertThat(book.window(ULTRA)).contains(new WindowRow(ULTRA, 0, 600, 0, 30));
            assertThat(book.openReservations()).extracting(o -> o.reservation().id()).containsExactly("a");

            List<WindowRow> after = book.settle("a", 250, 12, record("req-a", 5, 7, 250));
            assertThat(after).containsExactlyInAnyOrder(new WindowRow(TOTAL, 250, 0, 12, 0), new WindowRow(ULTRA, 250, 0, 12, 0));
            assertThat(book.settle("a", 250, 12, record("req-a", 5, 7, 250))).as("settling twice does nothing").isEmpty();
            assertThat(book.reconcile(reservation("a", 600, 30, both), record("req-a", 10, 20, 600))).isEmpty();

            assertThat(book.reserve(reservation("e", 450, 1, both), "gw", charges)).as("the room freed is usable").isEmpty();
            assertThat(book.reconcile(reservation("e", 450, 1, both), record("req-e", 1, 0, 450))).hasSize(2);
            assertThat(book.window(TOTAL)).contains(new WindowRow(TOTAL, 700, 0, 13, 0));
            assertThat(book.windows("team:platform")).containsExactly(new WindowRow(TOTAL, 700, 0, 13, 0),
                    new WindowRow(ULTRA, 700, 0, 13, 0));
            assertThat(book.openReservations()).isEmpty();
            assertThat(store.usageLog().count()).isEqualTo(2);
            assertThat(store.usageLog().byRequestId("req-a").orElseThrow().costNanos()).isEqualTo(250);
            LocalDate day = T0.atZone(ZoneOffset.UTC).toLocalDate();
            assertThat(book.spend("team", day, day, null)).singleElement()
                    .satisfies(s -> assertThat(s.costNanos()).isEqualTo(700));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite-file", "sqlite-memory", "postgres"})
    void concurrentReservationsNeverPassTheLimit(String kind) throws Exception {
        try (Store store = open(kind)) {
            LedgerBook book = LedgerBook.of(store);
            List<Charge> charges = List.of(new Charge(TOTAL, 1_050L, null));
            int threads = 16;
            int each = 10;
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            CountDownLatch go = new CountDownLatch(1);
            List<Future<List<String>>> held = new ArrayList<>();
            try {
                for (int t = 0; t < threads; t++) {
                    int thread = t;
                    held.add(pool.submit(() -> {
                        go.await();
                        List<String> mine = new ArrayList<>();
                        for (int i = 0; i < each; i++) {
                            String id = thread + "-" + i;
                            if (book.reserve(reservation(id, 100, 10, List.of(TOTAL)), "gw", charges).isEmpty()) mine.add(id);
                        }
                        return mine;
                    }));
                }
                go.countDown();
                List<String> accepted = new ArrayList<>();
                for (Future<List<String>> f : held) accepted.addAll(f.get(60, TimeUnit.SECONDS));
                assertThat(accepted).hasSize(10);
                assertThat(book.window(TOTAL)).contains(new WindowRow(TOTAL, 0, 1_000, 0, 100));

                List<Future<?>> settles = new ArrayList<>();
                for (String id : accepted) settles.add(pool.submit(() -> book.settle(id, 90, 9, record("req-" + id, 4, 5, 90))));
                for (Future<?> f : settles) f.get(60, TimeUnit.SECONDS);
            } finally {
                pool.shutdownNow();
            }
            assertThat(book.window(TOTAL)).contains(new WindowRow(TOTAL, 900, 0, 90, 0));
            assertThat(store.usageLog().count()).isEqualTo(10);
        }
    }

    /**
     * Issue 13: a call under no budget is recorded durably on its own, disputed nano-dollars included; a stream's
     * progress lands on its reservation while it is open, the last one wins, and one after the end changes nothing.
     */
    @ParameterizedTest
    @ValueSource(strings = {"sqlite-file", "sqlite-memory", "postgres"})
    void recordsAndProgressAlike(String kind) {
        try (Store store = open(kind)) {
            LedgerBook book = LedgerBook.of(store);
            UsageRecord r = record("req-free", 30, 100_000, 453_000);
            UsageRecord disputed = new UsageRecord(r.requestId(), r.at(), r.org(), r.team(), r.user(), r.keyPrefix(), r.api(),
                    r.model(), r.tier(), "up/m", r.inputTokens(), 0, 0, r.outputTokens(), 0, false, false, 200, null, 10, null,
                    null, r.costNanos(), null, null, 599_637_000);
            book.record(disputed);
            assertThat(store.usageLog().byRequestId("req-free")).contains(disputed);

            List<Charge> charges = List.of(new Charge(TOTAL, null, null));
            assertThat(book.reserve(reservation("p", 12_000_000, 2_051, List.of(TOTAL)), "gw", charges)).isEmpty();
            book.progress("p", new LedgerTables.Progress(51_000, 15, 1));
            book.progress("p", new LedgerTables.Progress(309_000, 15, 44));
            assertThat(book.openReservations()).singleElement()
                    .satisfies(o -> assertThat(o.progress()).isEqualTo(new LedgerTables.Progress(309_000, 15, 44)));
            assertThat(book.reconcile(reservation("p", 12_000_000, 2_051, List.of(TOTAL)), 309_000, 59,
                    record("req-p", 15, 44, 309_000))).hasSize(1);
            book.progress("p", new LedgerTables.Progress(999_000, 15, 140));   // after the end: nothing
            assertThat(book.window(TOTAL)).contains(new WindowRow(TOTAL, 309_000, 0, 59, 0));
            assertThat(store.usageLog().byRequestId("req-p").orElseThrow().costNanos()).isEqualTo(309_000);
            assertThat(book.openReservations()).isEmpty();
            assertThat(store.usageLog().count()).isEqualTo(2);
        }
    }
}
