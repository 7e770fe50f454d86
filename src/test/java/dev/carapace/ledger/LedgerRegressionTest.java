package dev.carapace.ledger;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carapace.config.ConfigLoader;
import dev.carapace.identity.Principal;
import dev.carapace.server.Carapace;
import dev.carapace.testing.ScriptedUpstream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.math.BigDecimal;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Regressions for ledger bugs found by probing: each test failed before its fix. */
class LedgerRegressionTest {

    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir Path dir;

    static Carapace downgradeGateway(ScriptedUpstream up, Path data) throws Exception {
        var config = ConfigLoader.load("""
                org: acme
                providers:
                  up: {kind: openai, base_url: %s}
                models:
                  big: {tier: ultra, context_window: 100000, max_output_tokens: 8192, price: {input: 150, output: 150}, deployments: [{provider: up}]}
                  mid: {tier: mid, context_window: 100000, max_output_tokens: 4096, price: {input: 3, output: 6}, deployments: [{provider: up}]}
                teams:
                  frugal: {downgrade_to: mid}
                """.formatted(up.openAiBaseUrl()), "t.yaml");
        return Carapace.start(config, data, Map.<String, String>of()::get, Clock.systemUTC(), 0);
    }

    /**
     * Downgrade: the ledger's first pass (for the refused model) writes that model's max_output_tokens into the
     * request; the second pass (for the downgrade model) then takes it as the client's max_tokens.
     */
    @Test
    void aDowngradedCallGetsTheDowngradeModelsOutputLimit() throws Exception {
        try (ScriptedUpstream up = new ScriptedUpstream()) {
            up.respond(req -> ScriptedUpstream.openAiText("ok", 10, 5));
            try (Carapace c = downgradeGateway(up, dir.resolve("a"))) {
                String key = c.keyAdmin().create("fay", "frugal", Principal.Role.MEMBER, null).secret();
                c.ledger().budgets().set(new Budgets.Request("team", "frugal", new BigDecimal("0.30"), null, "month", null, null, null, null));
                String body = "{\"model\":\"big\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}";
                HttpResponse<String> r = LedgerTestKit.post(c.port(), key, body);
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                assertThat(r.headers().firstValue("x-carapace-downgraded-from")).hasValue("big");
                int sent = JSON.readTree(ScriptedUpstream.body(up.take())).path("max_tokens").asInt();
                assertThat(sent).as("max_tokens sent to the 4096-token model").isLessThanOrEqualTo(4096);
            }
        }
    }

    /** Same bug, seen as a refusal: the downgrade fits the budget at 4096 output tokens, not at the 8192 it is held to. */
    @Test
    void aDowngradeThatFitsTheBudgetIsNotRefused() throws Exception {
        try (ScriptedUpstream up = new ScriptedUpstream()) {
            up.respond(req -> ScriptedUpstream.openAiText("ok", 10, 5));
            try (Carapace c = downgradeGateway(up, dir.resolve("b"))) {
                String key = c.keyAdmin().create("fay", "frugal", Principal.Role.MEMBER, null).secret();
                // "hello" (5 bytes) + 16 framing = a 21-token prompt bound; mid's worst case at 4096 output tokens:
                long fits = Pricing.worstCase(new dev.carapace.model.Price(BigDecimal.valueOf(3), BigDecimal.valueOf(6),
                        BigDecimal.valueOf(3)), 21, 4096);
                c.ledger().budgets().set(new Budgets.Request("team", "frugal", BigDecimal.valueOf(fits, 9), null, "month",
                        null, null, null, null));
                String body = "{\"model\":\"big\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}";
                HttpResponse<String> r = LedgerTestKit.post(c.port(), key, body);
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            }
        }
    }

    /**
     * Two gateways on one SQLite file (a second `serve` on the same data dir, or a start-new-then-stop-old restart)
     * would let the new one's startup reconcile take the running one's live reservations for orphans. So a SQLite
     * store has one gateway: the second is refused, and the live call ends normally.
     */
    @Test
    void aSecondGatewayOnTheSameSqliteFileIsRefusedAndLiveCallsEndNormally() throws Exception {
        try (ScriptedUpstream up = new ScriptedUpstream()) {
            up.respond(req -> ScriptedUpstream.sse(ScriptedUpstream.openAiTextStream(java.util.List.of("a", "b", "c"), 20, 3), 400));
            String yaml = LedgerTestKit.yaml(up.openAiBaseUrl(), "5s", "{input: 3, output: 6}", "");
            Path data = dir.resolve("shared");
            try (Carapace old = LedgerTestKit.start(yaml, data, Clock.systemUTC())) {
                String key = LedgerTestKit.memberKey(old, "alice", "platform");
                LedgerTestKit.teamBudget(old, "platform", "10", "", null);
                var call = java.util.concurrent.CompletableFuture.supplyAsync(
                        () -> LedgerTestKit.post(old.port(), key, LedgerTestKit.chatBody("m-mid", true, "")));
                org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5)).until(() -> up.requestCount() == 1);
                org.assertj.core.api.Assertions.assertThatThrownBy(() -> LedgerTestKit.start(yaml, data, Clock.systemUTC()))
                        .isInstanceOf(IllegalStateException.class).hasMessageContaining("already serving");
                HttpResponse<String> r = call.get(10, java.util.concurrent.TimeUnit.SECONDS);
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(old.ledger().flush(5000)).isTrue();
                var rec = old.store().usageLog().byRequestId(r.headers().firstValue("x-request-id").orElseThrow()).orElseThrow();
                assertThat(rec.status()).as(rec.toString()).isEqualTo(200);
                assertThat(rec.estimated()).isFalse();
            }
            try (Carapace after = LedgerTestKit.start(yaml, data, Clock.systemUTC())) {
                assertThat(after.port()).as("the lock goes with the gateway that held it").isPositive();
            }
        }
    }

    /**
     * Editing a budget's time zone (or period) while calls are in flight: the spend of the current window is carried
     * into the new window, but what the in-flight calls hold is not, and they later settle into the old window. New
     * calls then get the held room a second time, and the period's real spend passes the limit.
     */
    @Test
    void editingABudgetsZoneWithCallsInFlightNeverOverspends() throws Exception {
        dev.carapace.model.Price mid = new dev.carapace.model.Price(BigDecimal.valueOf(3), BigDecimal.valueOf(6), BigDecimal.valueOf(3));
        long worst = Pricing.worstCase(mid, 51, 4096);
        try (ScriptedUpstream up = new ScriptedUpstream()) {
            // every call costs its worst case; the first one takes ~2 s
            java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();
            up.respond(req -> {
                int max = LedgerTestKit.parseOpenAi(ScriptedUpstream.body(req)).maxTokens();
                var answer = ScriptedUpstream.openAiText("ok", 51, max);
                return n.incrementAndGet() == 1 ? ScriptedUpstream.delayed(answer, 2_000) : answer;
            });
            try (Carapace c = LedgerTestKit.start(LedgerTestKit.yaml(up.openAiBaseUrl(), "10s", "{input: 3, output: 6}", ""),
                    dir.resolve("edit"), Clock.systemUTC())) {
                String key = LedgerTestKit.memberKey(c, "alice", "platform");
                long limit = 2 * worst + worst / 2;   // room for two calls
                c.ledger().budgets().set(new Budgets.Request("team", "platform", BigDecimal.valueOf(limit, 9), null, "month", "UTC",
                        "USD", "", null));
                var slow = java.util.concurrent.CompletableFuture.supplyAsync(
                        () -> LedgerTestKit.post(c.port(), key, LedgerTestKit.chatBody("m-mid", false, "")));
                org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5)).until(() -> up.requestCount() == 1);
                // an admin moves the budget to another time zone while that call is in flight
                c.ledger().budgets().set(new Budgets.Request("team", "platform", BigDecimal.valueOf(limit, 9), null, "month",
                        "Pacific/Kiritimati", "USD", "", null));
                int accepted = 0;
                for (int i = 0; i < 4; i++) {
                    if (LedgerTestKit.post(c.port(), key, LedgerTestKit.chatBody("m-mid", false, "")).statusCode() == 200) accepted++;
                }
                assertThat(slow.get(10, java.util.concurrent.TimeUnit.SECONDS).statusCode()).isEqualTo(200);
                long spentThisPeriod = LedgerTestKit.sumCost(c.store(), "platform");
                assertThat(spentThisPeriod).as("accepted after the edit: " + accepted + "; limit " + limit).isLessThanOrEqualTo(limit);
            }
        }
    }
}
