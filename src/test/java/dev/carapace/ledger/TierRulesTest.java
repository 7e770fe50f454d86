package dev.carapace.ledger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carapace.ledger.book.LedgerBook;
import dev.carapace.model.Price;
import dev.carapace.model.Usage;
import dev.carapace.server.Carapace;
import dev.carapace.store.LedgerTables;
import dev.carapace.store.UsageLog.UsageRecord;
import dev.carapace.testing.ScriptedUpstream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.math.BigDecimal;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Per-tier budget rules: a forbidden tier, a capped tier, and an exempt tier that keeps working when money runs out. */
class TierRulesTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final Price MID = new Price(new BigDecimal("3"), new BigDecimal("6"), new BigDecimal("3"));
    static final Price ULTRA = new Price(new BigDecimal("150"), new BigDecimal("150"), new BigDecimal("150"));

    @TempDir Path data;
    ScriptedUpstream up;
    Carapace carapace;
    String key;

    @BeforeEach
    void start() {
        up = new ScriptedUpstream();
        // every upstream answer uses the whole prompt bound (51) and all output allowed: the worst case
        up.respond(req -> {
            JsonNode body = json(ScriptedUpstream.body(req));
            return ScriptedUpstream.openAiText("ok", 51, body.path("max_tokens").asInt());
        });
        carapace = LedgerTestKit.start(LedgerTestKit.yaml(up.openAiBaseUrl(), "5s", "{input: 3, output: 6}", ""), data, Clock.systemUTC());
        key = LedgerTestKit.memberKey(carapace, "alice", "platform");
    }

    @AfterEach
    void stop() {
        carapace.close();
        up.close();
    }

    static JsonNode json(String s) {
        try {
            return JSON.readTree(s);
        } catch (Exception e) {
            throw new AssertionError(s, e);
        }
    }

    HttpResponse<String> call(String model) {
        return LedgerTestKit.post(carapace.port(), key, LedgerTestKit.chatBody(model, false, ""));
    }

    long window(String tier) {
        long start = Period.MONTH.start(Instant.now(), ZoneOffset.UTC).toEpochMilli();
        return LedgerBook.of(carapace.store()).window(new LedgerTables.WindowKey("team:platform", start, tier))
                .map(LedgerTables.WindowRow::spentNanos).orElse(0L);
    }

    UsageRecord record(HttpResponse<?> r) {
        assertThat(carapace.ledger().flush(5_000)).isTrue();
        return carapace.store().usageLog().byRequestId(r.headers().firstValue("x-request-id").orElseThrow()).orElseThrow();
    }

    @Test
    void aTierCappedAtZeroIsRefusedWhileOtherTiersWork() {
        LedgerTestKit.teamBudget(carapace, "platform", "10", "", Map.of("ultra", "0"));

        HttpResponse<String> ultra = call("m-ultra");
        assertThat(ultra.statusCode()).isEqualTo(400);
        JsonNode error = json(ultra.body()).path("error");
        assertThat(error.path("code").asText()).isEqualTo("budget_exceeded");
        assertThat(error.path("message").asText()).contains("does not allow tier 'ultra'");
        assertThat(up.requestCount()).isZero();
        assertThat(call("tier:ultra").statusCode()).isEqualTo(400);

        HttpResponse<String> mid = call("m-mid");
        assertThat(mid.statusCode()).isEqualTo(200);
        assertThat(window("*")).isEqualTo(Pricing.cost(MID, Usage.of(51, 4096)));
        assertThat(window("ultra")).isZero();
        assertThat(LedgerTestKit.totalWindow(carapace.store(), "team:platform", Instant.now()).reservedNanos()).isZero();
        assertThat(record(ultra).status()).as("the status the client got").isEqualTo(400);
        assertThat(record(ultra).costNanos()).isZero();
    }

    @Test
    void aCappedTierIsRefusedOnceItsCapWouldBePassed() {
        LedgerTestKit.teamBudget(carapace, "platform", "100", "", Map.of("ultra", "1"));
        long worst = Pricing.worstCase(ULTRA, 51, 4096);   // 0.62205 USD: one fits under the cap, two do not
        assertThat(worst).isEqualTo(622_050_000L);

        assertThat(call("m-ultra").statusCode()).isEqualTo(200);
        HttpResponse<String> second = call("m-ultra");
        assertThat(second.statusCode()).isEqualTo(400);
        assertThat(json(second.body()).path("error").path("message").asText())
                .contains("caps tier 'ultra' at USD 1.00").contains("0.62205 spent");
        assertThat(call("m-mid").statusCode()).isEqualTo(200);
        assertThat(window("ultra")).isEqualTo(worst);
        assertThat(window("*")).isEqualTo(worst + Pricing.worstCase(MID, 51, 4096));
    }

    @Test
    void anExemptTierKeepsWorkingWhenTheMoneyRunsOut() {
        long midWorst = Pricing.worstCase(MID, 51, 4096);
        LedgerTestKit.teamBudget(carapace, "platform", BigDecimal.valueOf(2 * midWorst, 9).toPlainString(), "",
                Map.of("free", "exempt"));

        assertThat(call("m-mid").statusCode()).isEqualTo(200);
        assertThat(call("m-mid").statusCode()).isEqualTo(200);
        HttpResponse<String> broke = call("m-mid");
        assertThat(broke.statusCode()).as("the money is spent").isEqualTo(400);
        LedgerTables.WindowRow before = LedgerTestKit.totalWindow(carapace.store(), "team:platform", Instant.now());
        assertThat(before.spentNanos()).isEqualTo(2 * midWorst);

        for (int i = 0; i < 3; i++) {
            HttpResponse<String> free = call("m-free");
            assertThat(free.statusCode()).as(free.body()).isEqualTo(200);
            UsageRecord rec = record(free);
            assertThat(rec.tier()).isEqualTo("free");
            assertThat(rec.costNanos()).isZero();
            assertThat(rec.outputTokens()).isEqualTo(2048);   // the free model's max output: max_tokens was set
        }
        assertThat(call("tier:free").statusCode()).isEqualTo(200);
        LedgerTables.WindowRow after = LedgerTestKit.totalWindow(carapace.store(), "team:platform", Instant.now());
        assertThat(after).as("exempt calls are not held against the budget, not even their tokens").isEqualTo(before);
        assertThat(call("m-mid").statusCode()).isEqualTo(400);
    }

    @Test
    void withoutAnExemptionAFreeModelIsStillCountedInTokens() {
        // a token budget limits the free tier like any other unless it is exempt
        carapace.ledger().budgets().set(new Budgets.Request("team", "platform", null, 3_000L, "month", "UTC", "USD", "", null));
        HttpResponse<String> r = call("m-free");
        assertThat(r.statusCode()).as("51 + 2048 tokens fit in 3000").isEqualTo(200);
        assertThat(LedgerTestKit.totalWindow(carapace.store(), "team:platform", Instant.now()).spentTokens()).isEqualTo(51 + 2048);
        HttpResponse<String> second = call("m-free");
        assertThat(second.statusCode()).isEqualTo(400);
        assertThat(json(second.body()).path("error").path("message").asText()).contains("2099 of 3000 tokens");
    }

    @Test
    void aZeroCapForbidsEvenAZeroPricedTier() {
        // worst case of a free model is 0, and 0 + 0 <= 0: the cap alone would let it through
        LedgerTestKit.teamBudget(carapace, "platform", "10", "", Map.of("free", "0"));
        HttpResponse<String> r = call("m-free");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
        assertThat(json(r.body()).path("error").path("message").asText()).contains("does not allow tier 'free'");
        assertThat(up.requestCount()).isZero();
        assertThat(call("m-mid").statusCode()).isEqualTo(200);
    }

    @Test
    void aForbiddenTierIsReportedAsForbiddenEvenWhenItsWorstCaseIsLargerThanTheBudget() {
        // m-ultra's worst case (0.62 USD) does not fit in 0.50 either; the answer must still name the real reason,
        // and must not fire the budget's once-per-window hard-limit alert while nothing is spent
        LedgerTestKit.teamBudget(carapace, "platform", "0.5", "50", Map.of("ultra", "0"));
        HttpResponse<String> r = call("m-ultra");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(json(r.body()).path("error").path("message").asText()).contains("does not allow tier 'ultra'");
        long alerts = carapace.store().jdbi().withHandle(h -> h.createQuery("SELECT COUNT(*) FROM budget_alerts").mapTo(Long.class).one());
        assertThat(alerts).isZero();
    }
}
