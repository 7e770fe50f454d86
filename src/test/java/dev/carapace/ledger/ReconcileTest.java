package dev.carapace.ledger;

import dev.carapace.ledger.book.LedgerBook;
import dev.carapace.store.LedgerTables.Charge;
import dev.carapace.store.LedgerTables.Reservation;
import dev.carapace.store.LedgerTables.WindowKey;
import dev.carapace.store.Store;
import dev.carapace.store.UsageLog.UsageRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** Only reservations of gateways that stopped beating are reconciled, exactly once. */
class ReconcileTest {

    @TempDir Path dir;

    @Test
    void onlyOrphansOfSilentGatewaysAreSettledAndOnlyOnce() {
        Instant t0 = Instant.parse("2026-11-22T10:00:00Z");
        try (Store store = Store.open("jdbc:sqlite:" + dir.resolve("r.db"), null, null, 2)) {
            LedgerBook book = LedgerBook.of(store);
            WindowKey w = new WindowKey("team:platform", 0, "*");
            UsageRecord ctx = new UsageRecord("req-1", t0, "acme", "platform", "alice", "cpk_x", "openai", "m", "mid",
                    null, 100, 0, 0, 50, 0, true, false, 0, null, 0, null, null, 900);
            book.reserve(new Reservation("res-alive", t0, 900, 150, List.of(w), ctx), "gateway-a", List.of(new Charge(w, 10_000L, null)));
            UsageRecord ctx2 = new UsageRecord("req-2", t0, "acme", "platform", "alice", "cpk_x", "openai", "m", "mid",
                    null, 100, 0, 0, 50, 0, true, false, 0, null, 0, null, null, 700);
            book.reserve(new Reservation("res-dead", t0, 700, 150, List.of(w), ctx2), "gateway-b", List.of(new Charge(w, 10_000L, null)));
            book.heartbeat("gateway-a", t0.plus(Duration.ofMinutes(5)));   // a is alive, b went silent at t0

            Clock at = Clock.fixed(t0.plus(Duration.ofMinutes(5)).plusSeconds(10), ZoneOffset.UTC);
            Budgets budgets = new Budgets(book, at, "acme", Set.of("platform"), Set.of("mid"), (scope, name) -> true);
            // no price recorded for "m": an orphan is charged its reservation, what it held
            try (Ledger other = new Ledger(book, budgets, null, new PriceBook(book, List.of(), at), at)) {
                assertThat(other.reconcile(Duration.ofMinutes(1))).isEqualTo(1);
                assertThat(other.reconcile(Duration.ofMinutes(1))).as("a second pass changes nothing").isZero();
            }
            var window = book.window(w).orElseThrow();
            assertThat(window.spentNanos()).as("the dead gateway's estimate is charged").isEqualTo(700);
            assertThat(window.reservedNanos()).as("the live gateway's hold stays").isEqualTo(900);
            UsageRecord rec = store.usageLog().byRequestId("req-2").orElseThrow();
            assertThat(rec.estimated()).isTrue();
            assertThat(rec.errorCode()).isEqualTo("interrupted");
            assertThat(rec.costNanos()).isEqualTo(700);
            assertThat(store.usageLog().byRequestId("req-1")).isEmpty();
            assertThat(book.openReservations()).extracting(o -> o.reservation().id()).containsExactly("res-alive");
        }
    }
}
