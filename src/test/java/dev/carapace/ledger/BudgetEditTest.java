package dev.carapace.ledger;

import dev.carapace.ledger.book.LedgerBook;
import dev.carapace.model.ApiException;
import dev.carapace.store.LedgerTables;
import dev.carapace.store.Store;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Editing a budget never hands back what the current period already spent. */
class BudgetEditTest {

    @TempDir Path dir;

    @Test
    void changingPeriodOrTimeZoneCarriesTheCurrentSpend() {
        Instant now = Instant.parse("2026-11-22T10:00:00Z");
        Clock clock = Clock.fixed(now, ZoneOffset.UTC);
        try (Store store = Store.open("jdbc:sqlite:" + dir.resolve("b.db"), null, null, 2)) {
            LedgerBook book = LedgerBook.of(store);
            Budgets budgets = new Budgets(book, clock, "acme", Set.of("platform"), Set.of("mid"), (scope, name) -> true);
            budgets.set(new Budgets.Request("team", "platform", new BigDecimal("10"), null, "month", "UTC", null, null, null));
            LedgerTables.WindowKey month = new LedgerTables.WindowKey("team:platform",
                    Period.MONTH.start(now, ZoneOffset.UTC).toEpochMilli(), "*");
            spend(book, month, 6_000_000_000L);

            budgets.set(new Budgets.Request("team", "platform", new BigDecimal("10"), null, "day", "Pacific/Kiritimati", null, null, null));
            LedgerTables.WindowKey day = new LedgerTables.WindowKey("team:platform",
                    Period.DAY.start(now, ZoneId.of("Pacific/Kiritimati")).toEpochMilli(), "*");
            assertThat(book.window(day).orElseThrow().spentNanos()).isEqualTo(6_000_000_000L);

            budgets.set(new Budgets.Request("team", "platform", new BigDecimal("10"), null, "month", "UTC", null, null, null));
            assertThat(book.window(month).orElseThrow().spentNanos()).as("flipping back does not double it").isEqualTo(6_000_000_000L);

            budgets.set(new Budgets.Request("team", "platform", new BigDecimal("20"), null, "month", "UTC", null, null, null));
            assertThat(book.window(month).orElseThrow().spentNanos()).as("a new amount keeps the spend").isEqualTo(6_000_000_000L);
        }
    }

    /**
     * The CLI (another process; here another store on the same file) moves a budget to a new period and zone while the
     * gateway, which keeps windows in memory, has a call in flight. After its 2 s refresh the gateway agrees with the
     * tables: the call settles into the new window, and what is left there is exactly the limit minus all of it.
     */
    @Test
    void aBudgetMovedByAnotherProcessIsReadAgainByTheGateway() {
        Instant now = Instant.parse("2026-11-22T10:00:00Z");
        Clock clock = Clock.fixed(now, ZoneOffset.UTC);
        String url = "jdbc:sqlite:" + dir.resolve("m.db");
        LedgerTables.WindowKey month = new LedgerTables.WindowKey("team:platform", Period.MONTH.start(now, ZoneOffset.UTC).toEpochMilli(), "*");
        LedgerTables.WindowKey day = new LedgerTables.WindowKey("team:platform",
                Period.DAY.start(now, ZoneId.of("Pacific/Kiritimati")).toEpochMilli(), "*");
        try (Store gateway = Store.open(url, null, null, 2)) {
            LedgerBook book = LedgerBook.of(gateway);
            Budgets budgets = new Budgets(book, clock, "acme", Set.of("platform"), Set.of("mid"), (scope, name) -> true);
            budgets.set(new Budgets.Request("team", "platform", new BigDecimal("10"), null, "month", "UTC", null, null, null));
            spend(book, month, 6_000_000_000L);
            assertThat(book.reserve(reservation("held", 1_000_000_000L, month), "gw", charge(month))).isEmpty();
            book.openReservations();   // folds the journal, as the gateway's folder does within milliseconds

            try (Store cli = Store.open(url, null, null, 2)) {   // not the journal's owner: it edits the tables
                new Budgets(LedgerBook.of(cli), clock, "acme", Set.of("platform"), Set.of("mid"), (scope, name) -> true)
                        .set(new Budgets.Request("team", "platform", new BigDecimal("10"), null, "day", "Pacific/Kiritimati", null, null, null));
            }
            budgets.refresh();

            assertThat(book.window(day)).contains(new LedgerTables.WindowRow(day, 6_000_000_000L, 1_000_000_000L, 2, 1));
            assertThat(book.reserve(reservation("a", 100_000_000L, day), "gw", charge(day))).isEmpty();
            book.settle("held", 500_000_000L, 50, record("held", 500_000_000L));
            assertThat(book.window(day)).contains(new LedgerTables.WindowRow(day, 6_500_000_000L, 100_000_000L, 52, 1));
            assertThat(book.reserve(reservation("b", 3_400_000_000L, day), "gw", charge(day))).as("exactly the rest fits").isEmpty();
            assertThat(book.reserve(reservation("c", 1, day), "gw", charge(day))).contains(day);
        }
        try (Store reopened = Store.open(url, null, null, 2)) {
            assertThat(LedgerBook.of(reopened).window(day)).contains(new LedgerTables.WindowRow(day, 6_500_000_000L, 3_500_000_000L, 52, 2));
            assertThat(LedgerBook.of(reopened).window(month).orElseThrow().reservedNanos()).isZero();
        }
    }

    /**
     * Regression (an outside tester): a move copied the old window's whole spend into the new one, so a week's spend
     * became today's when the budget turned daily (and a day's was all a budget for good counted), and a window left
     * by a deleted budget of the same id was added on top when a period brought it back. A new or moved budget's
     * window is now set to what its subject's records hold in it.
     */
    @Test
    void aNewOrMovedWindowHoldsExactlyItsSubjectsRecordsInIt() {
        Instant now = Instant.parse("2026-11-22T10:00:00Z");   // a Sunday: the week began on the 16th
        Clock clock = Clock.fixed(now, ZoneOffset.UTC);
        try (Store store = Store.open("jdbc:sqlite:" + dir.resolve("s.db"), null, null, 2)) {
            LedgerBook book = LedgerBook.of(store);
            Budgets budgets = new Budgets(book, clock, "acme", Set.of("platform"), Set.of("mid"), (scope, name) -> true);
            record(book, "old", Instant.parse("2026-10-30T12:00:00Z"), 1_000);
            record(book, "monday", Instant.parse("2026-11-16T12:00:00Z"), 200);
            record(book, "today", Instant.parse("2026-11-22T09:00:00Z"), 30);
            budgets.set(new Budgets.Request("team", "platform", new BigDecimal("10"), null, "week", "UTC", null, null, null));
            assertThat(spent(book, Period.WEEK, now)).isEqualTo(230);
            budgets.set(new Budgets.Request("team", "platform", new BigDecimal("10"), null, "day", "UTC", null, null, null));
            assertThat(spent(book, Period.DAY, now)).as("a day holds today's calls, not the week's").isEqualTo(30);
            budgets.set(new Budgets.Request("team", "platform", new BigDecimal("10"), null, "none", "UTC", null, null, null));
            assertThat(spent(book, Period.NONE, now)).isEqualTo(1_230);
            budgets.set(new Budgets.Request("team", "platform", new BigDecimal("10"), null, "week", "UTC", null, null, null));
            assertThat(spent(book, Period.WEEK, now)).as("flipped back: counted once").isEqualTo(230);

            budgets.delete("team:platform");
            record(book, "unbudgeted", Instant.parse("2026-11-22T09:30:00Z"), 4);
            budgets.set(new Budgets.Request("team", "platform", new BigDecimal("10"), null, "none", "UTC", null, null, null));
            assertThat(spent(book, Period.NONE, now)).as("made again: the deleted budget's window is not added").isEqualTo(1_234);
        }
    }

    private static long spent(LedgerBook book, Period period, Instant now) {
        return book.window(new LedgerTables.WindowKey("team:platform", period.start(now, ZoneOffset.UTC).toEpochMilli(), "*"))
                .orElseThrow().spentNanos();
    }

    /** A call of team platform at {@code at} that cost {@code nanos}, under no budget. */
    private static void record(LedgerBook book, String id, Instant at, long nanos) {
        book.record(new dev.carapace.store.UsageLog.UsageRecord("req-" + id, at, "acme", "platform", "u", "k",
                "openai", "m", "mid", null, 1, 0, 0, 1, 0, false, false, 200, null, 1, null, null, nanos));
    }

    private static List<LedgerTables.Charge> charge(LedgerTables.WindowKey w) {
        return List.of(new LedgerTables.Charge(w, 10_000_000_000L, null));
    }

    private static LedgerTables.Reservation reservation(String id, long nanos, LedgerTables.WindowKey w) {
        return new LedgerTables.Reservation(id, Instant.now(), nanos, 1, List.of(w), record(id, nanos));
    }

    private static dev.carapace.store.UsageLog.UsageRecord record(String id, long nanos) {
        return new dev.carapace.store.UsageLog.UsageRecord("req-" + id, Instant.now(), "acme", "platform", "u", "k",
                "openai", "m", "mid", null, 1, 0, 0, 1, 0, false, false, 200, null, 1, null, null, nanos);
    }

    @Test
    void tierCapsNeedAtMostNineDecimals() {
        try (Store store = Store.open("jdbc:sqlite:" + dir.resolve("c.db"), null, null, 2)) {
            Budgets budgets = new Budgets(LedgerBook.of(store), Clock.systemUTC(), "acme", Set.of("platform"), Set.of("mid"), (scope, name) -> true);
            assertThatThrownBy(() -> budgets.set(new Budgets.Request("team", "platform", BigDecimal.ONE, null, null, null, null,
                    null, Map.of("mid", "0.0000000004"))))
                    .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.getMessage()).contains("tiers.mid", "9 decimals"));
            var nullRule = new java.util.HashMap<String, String>();
            nullRule.put("mid", null);
            assertThatThrownBy(() -> budgets.set(new Budgets.Request("team", "platform", BigDecimal.ONE, null, null, null, null,
                    null, nullRule))).isInstanceOf(ApiException.class);
            assertThat(LedgerBook.of(store).budgets()).isEmpty();
        }
    }

    private static void spend(LedgerBook book, LedgerTables.WindowKey w, long nanos) {
        var ctx = new dev.carapace.store.UsageLog.UsageRecord("r-" + nanos, Instant.now(), "acme", "platform", "u", "k",
                "openai", "m", "mid", null, 1, 0, 0, 1, 0, false, false, 200, null, 1, null, null, nanos);
        book.reserve(new LedgerTables.Reservation("res-" + nanos, Instant.now(), nanos, 2, java.util.List.of(w), ctx), "me",
                java.util.List.of(new LedgerTables.Charge(w, null, null)));
        book.settle("res-" + nanos, nanos, 2, ctx);
    }
}
