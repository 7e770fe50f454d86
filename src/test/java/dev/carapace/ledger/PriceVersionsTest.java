package dev.carapace.ledger;

import dev.carapace.ledger.book.LedgerBook;
import dev.carapace.model.Price;
import dev.carapace.model.Usage;
import dev.carapace.server.Carapace;
import dev.carapace.store.LedgerTables.PriceRow;
import dev.carapace.store.UsageLog.UsageRecord;
import dev.carapace.testing.ScriptedUpstream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.math.BigDecimal;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** A price change applies from the restart that brings it; what was recorded keeps the price it was made at. */
class PriceVersionsTest {

    @TempDir Path data;

    static UsageRecord record(Carapace c, HttpResponse<?> r) {
        assertThat(c.ledger().flush(5_000)).isTrue();
        return c.store().usageLog().byRequestId(r.headers().firstValue("x-request-id").orElseThrow()).orElseThrow();
    }

    @Test
    void recordsKeepThePriceInForceWhenTheyWereMade() {
        Price oldPrice = new Price(new BigDecimal("3"), new BigDecimal("6"), new BigDecimal("0.3"));
        Price newPrice = new Price(new BigDecimal("2.5"), new BigDecimal("10"), new BigDecimal("0.25"));
        Usage usage = new Usage(1000, 200, 400, 0, 0, false);
        try (ScriptedUpstream up = new ScriptedUpstream()) {
            up.respond(req -> ScriptedUpstream.json(200, """
                    {"id":"c","object":"chat.completion","created":1,"model":"up-model",
                     "choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],
                     "usage":{"prompt_tokens":1000,"completion_tokens":200,"total_tokens":1200,
                              "prompt_tokens_details":{"cached_tokens":400}}}"""));
            String budgeted1, free1;
            Instant firstStart = Instant.now();
            try (Carapace c = LedgerTestKit.start(LedgerTestKit.yaml(up.openAiBaseUrl(), "5s", "{input: 3, output: 6, cached_input: 0.3}", ""),
                    data, Clock.systemUTC())) {
                LedgerTestKit.teamBudget(c, "platform", "100", "", null);
                // platform is under a budget (settled synchronously), research is not (recorded asynchronously)
                HttpResponse<String> a = LedgerTestKit.post(c.port(), LedgerTestKit.memberKey(c, "alice", "platform"),
                        LedgerTestKit.chatBody("m-mid", false, ""));
                HttpResponse<String> b = LedgerTestKit.post(c.port(), LedgerTestKit.memberKey(c, "rita", "research"),
                        LedgerTestKit.chatBody("m-mid", false, ""));
                assertThat(a.statusCode()).isEqualTo(200);
                assertThat(b.statusCode()).isEqualTo(200);
                assertThat(record(c, a).costNanos()).isEqualTo(Pricing.cost(oldPrice, usage)).isEqualTo(600 * 3_000 + 400 * 300 + 200 * 6_000);
                assertThat(record(c, b).costNanos()).isEqualTo(Pricing.cost(oldPrice, usage));
                budgeted1 = record(c, a).requestId();
                free1 = record(c, b).requestId();
            }
            // the same price again is not a new version
            try (Carapace c = LedgerTestKit.start(LedgerTestKit.yaml(up.openAiBaseUrl(), "5s", "{input: 3, output: 6, cached_input: 0.3}", ""),
                    data, Clock.systemUTC())) {
                assertThat(LedgerBook.of(c.store()).prices()).filteredOn(p -> p.model().equals("m-mid")).hasSize(1);
            }

            try (Carapace c = LedgerTestKit.start(LedgerTestKit.yaml(up.openAiBaseUrl(), "5s", "{input: 2.5, output: 10, cached_input: 0.25}", ""),
                    data, Clock.systemUTC())) {
                HttpResponse<String> a = LedgerTestKit.post(c.port(), LedgerTestKit.memberKey(c, "alice", "platform"),
                        LedgerTestKit.chatBody("m-mid", false, ""));
                HttpResponse<String> b = LedgerTestKit.post(c.port(), LedgerTestKit.memberKey(c, "rita", "research"),
                        LedgerTestKit.chatBody("m-mid", false, ""));
                assertThat(record(c, a).costNanos()).isEqualTo(Pricing.cost(newPrice, usage));
                assertThat(record(c, b).costNanos()).isEqualTo(Pricing.cost(newPrice, usage));
                assertThat(Pricing.cost(newPrice, usage)).isNotEqualTo(Pricing.cost(oldPrice, usage));
                // history is not rewritten
                assertThat(c.store().usageLog().byRequestId(budgeted1).orElseThrow().costNanos()).isEqualTo(Pricing.cost(oldPrice, usage));
                assertThat(c.store().usageLog().byRequestId(free1).orElseThrow().costNanos()).isEqualTo(Pricing.cost(oldPrice, usage));

                List<PriceRow> rows = LedgerBook.of(c.store()).prices().stream().filter(p -> p.model().equals("m-mid")).toList();
                assertThat(rows).hasSize(2);
                assertThat(rows.get(0).effectiveAt()).isAfterOrEqualTo(firstStart.minusMillis(1)).isBefore(rows.get(1).effectiveAt());
                assertThat(Map.of("in", new BigDecimal(rows.get(0).input()), "out", new BigDecimal(rows.get(0).output()),
                        "cached", new BigDecimal(rows.get(0).cachedInput())))
                        .allSatisfy((k, v) -> assertThat(v).isEqualByComparingTo(Map.of("in", "3", "out", "6", "cached", "0.3").get(k)));
                assertThat(new BigDecimal(rows.get(1).input())).isEqualByComparingTo("2.5");
                assertThat(new BigDecimal(rows.get(1).output())).isEqualByComparingTo("10");
                assertThat(new BigDecimal(rows.get(1).cachedInput())).isEqualByComparingTo("0.25");
                // other models keep their single version
                assertThat(LedgerBook.of(c.store()).prices()).filteredOn(p -> p.model().equals("m-ultra")).hasSize(1);
                // the spend of the budgeted team adds both calls at their own prices
                assertThat(LedgerTestKit.totalWindow(c.store(), "team:platform", Instant.now()).spentNanos())
                        .isEqualTo(Pricing.cost(oldPrice, usage) + Pricing.cost(newPrice, usage));
            }
        }
    }
}
