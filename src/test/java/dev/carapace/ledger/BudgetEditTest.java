package dev.carapace.ledger;

import dev.carapace.model.ApiException;
import dev.carapace.store.LedgerBook;
import dev.carapace.store.Store;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
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
            LedgerBook book = store.ledgerBook();
            Budgets budgets = new Budgets(book, clock, "acme", Set.of("platform"), Set.of("mid"), u -> true);
            budgets.set(new Budgets.Request("team", "platform", new BigDecimal("10"), null, "month", "UTC", null, null, null));
            LedgerBook.WindowKey month = new LedgerBook.WindowKey("team:platform",
                    Period.MONTH.start(now, ZoneOffset.UTC).toEpochMilli(), "*");
            spend(book, month, 6_000_000_000L);

            budgets.set(new Budgets.Request("team", "platform", new BigDecimal("10"), null, "day", "Pacific/Kiritimati", null, null, null));
            LedgerBook.WindowKey day = new LedgerBook.WindowKey("team:platform",
                    Period.DAY.start(now, ZoneId.of("Pacific/Kiritimati")).toEpochMilli(), "*");
            assertThat(book.window(day).orElseThrow().spentNanos()).isEqualTo(6_000_000_000L);

            budgets.set(new Budgets.Request("team", "platform", new BigDecimal("10"), null, "month", "UTC", null, null, null));
            assertThat(book.window(month).orElseThrow().spentNanos()).as("flipping back does not double it").isEqualTo(6_000_000_000L);

            budgets.set(new Budgets.Request("team", "platform", new BigDecimal("20"), null, "month", "UTC", null, null, null));
            assertThat(book.window(month).orElseThrow().spentNanos()).as("a new amount keeps the spend").isEqualTo(6_000_000_000L);
        }
    }

    @Test
    void tierCapsNeedAtMostNineDecimals() {
        try (Store store = Store.open("jdbc:sqlite:" + dir.resolve("c.db"), null, null, 2)) {
            Budgets budgets = new Budgets(store.ledgerBook(), Clock.systemUTC(), "acme", Set.of("platform"), Set.of("mid"), u -> true);
            assertThatThrownBy(() -> budgets.set(new Budgets.Request("team", "platform", BigDecimal.ONE, null, null, null, null,
                    null, Map.of("mid", "0.0000000004"))))
                    .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.getMessage()).contains("tiers.mid", "9 decimals"));
            var nullRule = new java.util.HashMap<String, String>();
            nullRule.put("mid", null);
            assertThatThrownBy(() -> budgets.set(new Budgets.Request("team", "platform", BigDecimal.ONE, null, null, null, null,
                    null, nullRule))).isInstanceOf(ApiException.class);
            assertThat(store.ledgerBook().budgets()).isEmpty();
        }
    }

    private static void spend(LedgerBook book, LedgerBook.WindowKey w, long nanos) {
        var ctx = new dev.carapace.store.UsageLog.UsageRecord("r-" + nanos, Instant.now(), "acme", "platform", "u", "k",
                "openai", "m", "mid", null, 1, 0, 0, 1, 0, false, false, 200, null, 1, null, null, nanos);
        book.reserve(new LedgerBook.Reservation("res-" + nanos, Instant.now(), nanos, 2, java.util.List.of(w), ctx), "me",
                java.util.List.of(new LedgerBook.Charge(w, null, null)));
        book.settle("res-" + nanos, nanos, 2, ctx);
    }
}
