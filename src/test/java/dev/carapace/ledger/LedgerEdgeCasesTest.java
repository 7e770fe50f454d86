package dev.carapace.ledger;

import dev.carapace.ledger.book.LedgerBook;
import dev.carapace.model.Price;
import dev.carapace.server.Carapace;
import dev.carapace.store.LedgerTables;
import dev.carapace.store.Store;
import dev.carapace.store.UsageLog.UsageRecord;
import dev.carapace.testing.ScriptedUpstream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.math.BigDecimal;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Where the ledger's promises were found broken once: estimates, huge budgets, long calls. */
class LedgerEdgeCasesTest {

    static final Price MID = new Price(new BigDecimal("3"), new BigDecimal("6"), new BigDecimal("3"));

    @TempDir Path dir;

    /**
     * A server that streams one token per delta and reports no usage: our o200k count of 16 rare CJK characters is
     * far more than the 16 tokens the model made, but a call is never charged beyond what it reserved.
     */
    @Test
    void anEstimatedStreamNeverCostsMoreThanItsReservation() {
        try (ScriptedUpstream up = new ScriptedUpstream()) {
            List<String> deltas = new ArrayList<>();
            for (int i = 0; i < 16; i++) deltas.add("𠀀");
            up.respond(req -> ScriptedUpstream.sse(ScriptedUpstream.openAiTextStream(deltas, null, null), 0));
            try (Carapace c = LedgerTestKit.start(LedgerTestKit.yaml(up.openAiBaseUrl(), "5s", "{input: 3, output: 6}", ""),
                    dir.resolve("est"), Clock.systemUTC())) {
                String key = LedgerTestKit.memberKey(c, "alice", "platform");
                long worst = Pricing.worstCase(MID, 51, 16);
                LedgerTestKit.teamBudget(c, "platform", BigDecimal.valueOf(worst, 9).toPlainString(), "", null);
                HttpResponse<String> r = LedgerTestKit.post(c.port(), key, LedgerTestKit.chatBody("m-mid", true, ",\"max_tokens\":16"));
                assertThat(r.statusCode()).isEqualTo(200);
                LedgerTables.WindowRow w = LedgerTestKit.totalWindow(c.store(), "team:platform", Instant.now());
                assertThat(w.spentNanos()).as("limit " + worst).isPositive().isLessThanOrEqualTo(worst);
                assertThat(w.spentTokens()).isLessThanOrEqualTo(51 + 16);
                UsageRecord rec = c.store().usageLog().byRequestId(r.headers().firstValue("x-request-id").orElseThrow()).orElseThrow();
                assertThat(rec.estimated()).isTrue();
                assertThat(rec.outputTokens()).isLessThanOrEqualTo(16);
                assertThat(rec.costNanos()).isEqualTo(w.spentNanos());
                assertThat(LedgerTestKit.post(c.port(), key, LedgerTestKit.chatBody("m-mid", true, ",\"max_tokens\":16")).statusCode())
                        .isIn(200, 400);   // 400: a budget refusal in OpenAI's shape
                assertThat(LedgerTestKit.totalWindow(c.store(), "team:platform", Instant.now()).spentNanos()).isLessThanOrEqualTo(worst);
            }
        }
    }

    /** Percentages of budgets near the 1e9 USD maximum: spent * 100 must not overflow a long. */
    @Test
    void alertsFireOnTheLargestBudgets() {
        try (Store store = Store.open("jdbc:sqlite:" + dir.resolve("a.db"), null, null, 2)) {
            var scheduler = Executors.newSingleThreadScheduledExecutor();
            try {
                Alerts alerts = new Alerts(LedgerBook.of(store), List.of(), java.net.http.HttpClient.newHttpClient(), scheduler,
                        Clock.systemUTC(), Duration.ofMillis(100));
                long limit = Money.nanos(new BigDecimal("1000000000"));
                Budget b = new Budget(Budget.Scope.ORG, "acme", Period.MONTH, ZoneOffset.UTC, "USD", limit, null, List.of(50, 99), Map.of());
                long start = Period.MONTH.start(Instant.now(), ZoneOffset.UTC).toEpochMilli();
                LedgerTables.WindowKey k = new LedgerTables.WindowKey("org:acme", start, "*");
                alerts.spent(b, new LedgerTables.WindowRow(k, limit / 2, 0, 0, 0));
                assertThat(thresholdsMarked(store)).containsExactly(50);
                alerts.spent(b, new LedgerTables.WindowRow(k, limit - 1, 0, 0, 0));
                assertThat(thresholdsMarked(store)).containsExactly(50, 99);
                alerts.spent(b, new LedgerTables.WindowRow(k, limit, 0, 0, 0));
                assertThat(thresholdsMarked(store)).containsExactly(50, 99, 100);
            } finally {
                scheduler.shutdownNow();
            }
        }
    }

    static List<Integer> thresholdsMarked(Store store) {
        return store.jdbi().withHandle(h -> h.createQuery("SELECT threshold FROM budget_alerts ORDER BY threshold").mapTo(Integer.class).list());
    }

    static final class MutableClock extends Clock {
        volatile Instant now = Instant.now();

        @Override public ZoneId getZone() { return ZoneOffset.UTC; }
        @Override public Clock withZone(ZoneId zone) { return this; }
        @Override public Instant instant() { return now; }
    }

    /**
     * A call that outlives every reconcile threshold (a long stream) is the gateway's own, live call: the periodic
     * reconcile must leave it alone, and the call settles at its real usage.
     */
    @Test
    void aLongCallStillRunningIsNotReconciledAsInterrupted() throws Exception {
        MutableClock clock = new MutableClock();
        try (ScriptedUpstream up = new ScriptedUpstream()) {
            up.respond(req -> ScriptedUpstream.sse(ScriptedUpstream.openAiTextStream(List.of("a", "b", "c", "d"), 20, 4), 300));
            try (Carapace c = LedgerTestKit.start(LedgerTestKit.yaml(up.openAiBaseUrl(), "5s", "{input: 3, output: 6}", ""),
                    dir.resolve("long"), clock)) {
                String key = LedgerTestKit.memberKey(c, "alice", "platform");
                LedgerTestKit.teamBudget(c, "platform", "10", "", null);
                CompletableFuture<HttpResponse<String>> call = CompletableFuture.supplyAsync(
                        () -> LedgerTestKit.post(c.port(), key, LedgerTestKit.chatBody("m-mid", true, "")));
                await().atMost(Duration.ofSeconds(5)).until(() -> up.requestCount() == 1);
                clock.now = clock.now.plus(Duration.ofHours(2));
                assertThat(c.ledger().reconcile(Duration.ofMinutes(1))).as("nothing of a live gateway is an orphan").isZero();
                assertThat(c.ledger().reconcile(Duration.ZERO)).isZero();
                HttpResponse<String> r = call.get(10, TimeUnit.SECONDS);
                assertThat(r.statusCode()).isEqualTo(200);
                UsageRecord rec = c.store().usageLog().byRequestId(r.headers().firstValue("x-request-id").orElseThrow()).orElseThrow();
                assertThat(rec.status()).isEqualTo(200);
                assertThat(rec.errorCode()).isNull();
                assertThat(rec.outputTokens()).isEqualTo(4);
                assertThat(rec.costNanos()).isEqualTo(Pricing.cost(MID, dev.carapace.model.Usage.of(20, 4)));
                assertThat(LedgerTestKit.reservationStates(c.store())).isEqualTo(Map.of("settled", 1L));
            }
        }
    }
}
