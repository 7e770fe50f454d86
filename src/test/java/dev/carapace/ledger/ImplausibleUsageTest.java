package dev.carapace.ledger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.carapace.model.Usage;
import dev.carapace.server.Carapace;
import dev.carapace.store.UsageLog.UsageRecord;
import dev.carapace.testing.ScriptedUpstream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Issue 13, item 10: an upstream reporting usage impossible for the request (100,000 completion tokens for
 * {@code max_tokens: 50}, a million prompt tokens for a two-line prompt). The record keeps what was reported, the
 * budget is charged at most the call's worst case with the rest recorded as disputed, operators get an alert, and
 * the subject can go on calling. A report just past {@code max_tokens} is charged as reported, without an alert.
 */
class ImplausibleUsageTest {

    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir Path dir;

    @Test
    void anImpossibleReportIsRecordedAndAlertedButChargesOnlyWhatWasPlausible() throws Exception {
        List<JsonNode> alerts = new CopyOnWriteArrayList<>();
        HttpServer hook = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        hook.createContext("/", ex -> {
            alerts.add(JSON.readTree(ex.getRequestBody().readAllBytes()));
            ex.sendResponseHeaders(204, -1);
            ex.close();
        });
        hook.start();
        try (ScriptedUpstream up = new ScriptedUpstream()) {
            up.respond(req -> {
                String body = ScriptedUpstream.body(req);
                if (body.contains("huge-output")) return ScriptedUpstream.openAiText("hi", 30, 100_000);
                if (body.contains("huge-prompt")) return ScriptedUpstream.openAiText("hi", 1_000_000, 10);
                if (body.contains("just-over")) return ScriptedUpstream.openAiText("hi", 30, 52);
                return ScriptedUpstream.openAiText("hi", 30, 20);
            });
            String yaml = LedgerTestKit.yaml(up.openAiBaseUrl(), "10s", "{input: 3, output: 6}",
                    "alerts:\n  webhooks: [\"http://127.0.0.1:" + hook.getAddress().getPort() + "/hook\"]");
            try (Carapace c = LedgerTestKit.start(yaml, dir.resolve("data"), Clock.systemUTC())) {
                LedgerTestKit.teamBudget(c, "platform", "0.05", "", null);   // 50,000,000 nano-USD
                String alice = LedgerTestKit.memberKey(c, "alice", "platform");
                String bob = LedgerTestKit.memberKey(c, "bob", "research");   // no budget
                long bound = PromptSize.promptBound(LedgerTestKit.parseOpenAi(
                        LedgerTestKit.chatBody("m-mid", false, ",\"max_tokens\":50,\"user\":\"huge-output\"")));
                long reservation = Pricing.worstCase(CrashRecoveryTest.MID, bound, 50);

                HttpResponse<String> huge = LedgerTestKit.post(c.port(), alice,
                        LedgerTestKit.chatBody("m-mid", false, ",\"max_tokens\":50,\"user\":\"huge-output\""));
                assertThat(huge.statusCode()).as(huge.body()).isEqualTo(200);
                String hugeId = huge.headers().firstValue("x-request-id").orElseThrow();
                long reported = Pricing.cost(CrashRecoveryTest.MID, Usage.of(30, 100_000));
                assertThat(reported).as("the report alone is 1,200% of the budget").isGreaterThan(12 * 50_000_000L - 1);

                UsageRecord rec = c.store().usageLog().byRequestId(hugeId).orElseThrow();
                assertThat(rec.outputTokens()).as("the record keeps what the upstream reported").isEqualTo(100_000);
                assertThat(rec.inputTokens()).isEqualTo(30);
                assertThat(rec.estimated()).isFalse();
                assertThat(rec.costNanos()).as("charged the call's worst case, what it reserved").isEqualTo(reservation);
                assertThat(rec.disputedNanos()).isEqualTo(reported - reservation);
                var window = LedgerTestKit.totalWindow(c.store(), "team:platform", Instant.now());
                assertThat(window.spentNanos()).isEqualTo(reservation);
                assertThat(window.spentTokens()).isEqualTo(bound + 50);

                await().atMost(Duration.ofSeconds(10)).until(() -> alerts.stream().anyMatch(a -> hugeId.equals(a.path("request_id").asText())));
                JsonNode alert = alerts.stream().filter(a -> hugeId.equals(a.path("request_id").asText())).findFirst().orElseThrow();
                assertThat(alert.path("type").asText()).isEqualTo("usage.implausible");
                assertThat(alert.path("reported_output_tokens").asLong()).isEqualTo(100_000);
                assertThat(alert.path("max_tokens").asInt()).isEqualTo(50);
                assertThat(alert.path("team").asText()).isEqualTo("platform");
                assertThat(alert.path("reason").asText()).contains("completion tokens 100000 for max_tokens 50");

                // not locked out: the next ordinary call is served and charged as reported
                HttpResponse<String> next = LedgerTestKit.post(c.port(), alice, LedgerTestKit.chatBody("m-mid", false, ",\"max_tokens\":50"));
                assertThat(next.statusCode()).as(next.body()).isEqualTo(200);

                // a prompt a million tokens long for two short lines: the same, for the prompt
                HttpResponse<String> prompt = LedgerTestKit.post(c.port(), alice,
                        LedgerTestKit.chatBody("m-mid", false, ",\"max_tokens\":50,\"user\":\"huge-prompt\""));
                assertThat(prompt.statusCode()).as(prompt.body()).isEqualTo(200);
                String promptId = prompt.headers().firstValue("x-request-id").orElseThrow();
                UsageRecord promptRec = c.store().usageLog().byRequestId(promptId).orElseThrow();
                assertThat(promptRec.inputTokens()).isEqualTo(1_000_000);
                assertThat(promptRec.costNanos()).isEqualTo(Pricing.worstCase(CrashRecoveryTest.MID,
                        PromptSize.promptBound(LedgerTestKit.parseOpenAi(LedgerTestKit.chatBody("m-mid", false, ",\"user\":\"huge-prompt\""))), 50));
                assertThat(promptRec.disputedNanos()).isPositive();
                await().atMost(Duration.ofSeconds(10)).until(() -> alerts.stream().anyMatch(a -> promptId.equals(a.path("request_id").asText())
                        && a.path("reason").asText().startsWith("prompt tokens 1000000")));

                // just past max_tokens (tokenizers overshoot a little): charged as reported, no alert
                HttpResponse<String> over = LedgerTestKit.post(c.port(), alice,
                        LedgerTestKit.chatBody("m-mid", false, ",\"max_tokens\":50,\"user\":\"just-over\""));
                assertThat(over.statusCode()).isEqualTo(200);
                String overId = over.headers().firstValue("x-request-id").orElseThrow();
                UsageRecord overRec = c.store().usageLog().byRequestId(overId).orElseThrow();
                assertThat(overRec.costNanos()).isEqualTo(Pricing.cost(CrashRecoveryTest.MID, Usage.of(30, 52)));
                assertThat(overRec.disputedNanos()).isZero();

                // a call under no budget: recorded as reported, the excess over its worst case disputed, alerted
                HttpResponse<String> unbudgeted = LedgerTestKit.post(c.port(), bob,
                        LedgerTestKit.chatBody("m-mid", false, ",\"max_tokens\":50,\"user\":\"huge-output\""));
                assertThat(unbudgeted.statusCode()).isEqualTo(200);
                String bobId = unbudgeted.headers().firstValue("x-request-id").orElseThrow();
                UsageRecord bobRec = c.store().usageLog().byRequestId(bobId).orElseThrow();
                assertThat(bobRec.outputTokens()).isEqualTo(100_000);
                assertThat(bobRec.costNanos() + bobRec.disputedNanos()).isEqualTo(reported);
                assertThat(bobRec.costNanos()).isEqualTo(Pricing.worstCase(CrashRecoveryTest.MID,
                        PromptSize.promptBound(LedgerTestKit.parseOpenAi(LedgerTestKit.chatBody("m-mid", false, ",\"user\":\"huge-output\""))), 50));
                await().atMost(Duration.ofSeconds(10)).until(() -> alerts.stream().anyMatch(a -> bobId.equals(a.path("request_id").asText())));

                Thread.sleep(300);
                assertThat(alerts).as("no alert for the plausible calls")
                        .noneMatch(a -> overId.equals(a.path("request_id").asText()));
                assertThat(alerts).filteredOn(a -> a.path("type").asText().equals("usage.implausible")).hasSize(3);
            }
        } finally {
            hook.stop(0);
        }
    }
}
