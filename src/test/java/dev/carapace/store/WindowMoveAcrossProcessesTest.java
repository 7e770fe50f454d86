package dev.carapace.store;

import dev.carapace.ledger.Budgets;
import dev.carapace.ledger.Period;
import dev.carapace.ledger.book.LedgerBook;
import dev.carapace.store.LedgerTables.Charge;
import dev.carapace.store.LedgerTables.Reservation;
import dev.carapace.store.LedgerTables.WindowKey;
import dev.carapace.store.LedgerTables.WindowRow;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A budget moved to a new period by another process (the CLI) while the gateway, the journal's owner, had decisions
 * it had not yet folded into the tables.
 */
class WindowMoveAcrossProcessesTest {

    @TempDir Path dir;

    /**
     * Regression (an outside tester): the CLI moved the window's figures to the new period's window, but it cannot
     * fold the gateway's journal: what the gateway folded after (a call's charge, another's hold) landed on the old
     * window, and the new one was short of it for good ($0.58 under load). The gateway now moves the window again
     * once it has folded, and only what came since moves.
     */
    @Test
    void whatTheGatewayFoldsAfterTheCliMovedTheWindowReachesTheNewOne() throws Exception {
        Instant now = Instant.parse("2026-11-22T10:00:00Z");
        Clock clock = Clock.fixed(now, ZoneOffset.UTC);
        String url = "jdbc:sqlite:" + dir.resolve("m.db");
        WindowKey month = new WindowKey("team:platform", Period.MONTH.start(now, ZoneOffset.UTC).toEpochMilli(), "*");
        WindowKey week = new WindowKey("team:platform", Period.WEEK.start(now, ZoneOffset.UTC).toEpochMilli(), "*");
        try (Store gateway = Store.open(url, null, null, 2)) {
            LedgerBook book = LedgerBook.of(gateway);
            Budgets budgets = budgets(book, clock);
            budgets.set(new Budgets.Request("team", "platform", new BigDecimal("10"), null, "month", "UTC", null, null, null));
            charge(book, "before", month, 6_000_000_000L);
            book.openReservations();   // folded

            try (Store cli = Store.open(url, null, null, 2)) {
                assertThat(cli.journalHeldElsewhere()).isTrue();
                gateway.writeLock().lock();   // the gateway's fold waits; the file is not locked
                try {
                    // in the gateway's journal only: a call that ended, and one in flight
                    charge(book, "late", month, 500_000_000L);
                    assertThat(book.reserve(reservation("flight", 1_000_000_000L, month), "gw",
                            List.of(new Charge(month, 10_000_000_000L, null)))).isEmpty();
                    budgets(LedgerBook.of(cli), clock).set(
                            new Budgets.Request("team", "platform", new BigDecimal("10"), null, "week", "UTC", null, null, null));
                } finally {
                    gateway.writeLock().unlock();
                }
            }
            budgets.refresh();   // as the gateway's budget check does within 50 ms

            assertThat(book.window(week)).contains(new WindowRow(week, 6_500_000_000L, 1_000_000_000L, 4, 1));
            assertThat(book.window(month).orElseThrow().reservedNanos()).as("no hold left on the old window").isZero();
            book.settle("flight", 200_000_000L, 2, record("flight", 200_000_000L));
            assertThat(book.window(week)).contains(new WindowRow(week, 6_700_000_000L, 0, 6, 0));
        }
        try (Store reopened = Store.open(url, null, null, 2)) {
            LedgerBook book = LedgerBook.of(reopened);
            assertThat(book.window(week)).contains(new WindowRow(week, 6_700_000_000L, 0, 6, 0));
        }
    }

    private static Budgets budgets(LedgerBook book, Clock clock) {
        return new Budgets(book, clock, "acme", Set.of("platform"), Set.of("mid"), (scope, name) -> true);
    }

    private static void charge(LedgerBook book, String id, WindowKey w, long nanos) {
        assertThat(book.reserve(reservation(id, nanos, w), "gw", List.of(new Charge(w, null, null)))).isEmpty();
        book.settle(id, nanos, 2, record(id, nanos));   // the record's 1 input and 1 output token
    }

    private static Reservation reservation(String id, long nanos, WindowKey w) {
        return new Reservation(id, Instant.now(), nanos, 1, List.of(w), record(id, nanos));
    }

    private static UsageLog.UsageRecord record(String id, long nanos) {
        return new UsageLog.UsageRecord("req-" + id, Instant.now(), "acme", "platform", "u", "k",
                "openai", "m", "mid", null, 1, 0, 0, 1, 0, false, false, 200, null, 1, null, null, nanos);
    }
}
