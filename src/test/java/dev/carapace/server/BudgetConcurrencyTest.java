package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.ledger.Budgets;
import dev.carapace.ledger.LedgerTestKit;
import dev.carapace.ledger.Pricing;
import dev.carapace.ledger.book.LedgerBook;
import dev.carapace.model.Price;
import dev.carapace.model.Usage;
import dev.carapace.store.LedgerTables;
import dev.carapace.store.UsageLog.UsageRecord;
import dev.carapace.testing.ScriptedUpstream;
import mockwebserver3.MockResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigDecimal;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.carapace.server.GatewayHarness.chat;
import static dev.carapace.server.GatewayHarness.json;
import static dev.carapace.testing.ScriptedUpstream.openAiText;
import static dev.carapace.testing.ScriptedUpstream.openAiTextStream;
import static dev.carapace.testing.ScriptedUpstream.sse;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The ledger's central promise, through the real gateway: however many calls race for a hard money budget, what
 * was spent never passes the limit, every refusal is a 400 budget_exceeded, every accepted call is charged
 * exactly its price, and no amount stays reserved once the calls are over.
 */
class BudgetConcurrencyTest {

    static final String BUDGET = "team:platform";
    /** m-solo's price (harness config): 3 USD/M input, 6 USD/M output. */
    static final Price PRICE = new Price(new BigDecimal("3"), new BigDecimal("6"), new BigDecimal("3"));
    /** Prompt bound of the harness chat body: 2 messages x 16 + "be brief" + "hello there". */
    static final long PROMPT_BOUND = 51;
    static final int MAX_OUTPUT = 4096;
    /** Worst case of one call without max_tokens: the whole prompt bound plus the model's max output. */
    static final long WORST = Pricing.worstCase(PRICE, PROMPT_BOUND, MAX_OUTPUT);
    /** Room for five worst cases and a half. */
    static final long LIMIT = 5 * WORST + WORST / 2;

    @TempDir Path data;
    GatewayHarness h;
    ExecutorService pool;

    @BeforeEach
    void start() throws Exception {
        h = new GatewayHarness(data);
        pool = Executors.newFixedThreadPool(50);
        assertThat(LedgerTestKit.promptBound(LedgerTestKit.parseOpenAi(chat("m-solo", false, "")))).isEqualTo(PROMPT_BOUND);
        h.carapace.ledger().budgets().set(new Budgets.Request("team", "platform", BigDecimal.valueOf(LIMIT, 9), null,
                "month", "UTC", "USD", "", null));
    }

    @AfterEach
    void stop() throws Exception {
        pool.shutdownNow();
        assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
        h.close();
    }

    UsageRecord record(HttpResponse<?> r) {
        assertThat(h.carapace.ledger().flush(5_000)).isTrue();
        return h.carapace.store().usageLog().byRequestId(r.headers().firstValue("x-request-id").orElseThrow()).orElseThrow();
    }

    LedgerTables.WindowRow window() { return LedgerTestKit.totalWindow(h.carapace.store(), BUDGET, Instant.now()); }

    /** Runs {@code n} tasks released at the same moment; returns their results in order. */
    <T> List<T> race(int n, Callable<T> task) throws Exception {
        CountDownLatch go = new CountDownLatch(1);
        List<Future<T>> futures = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            futures.add(pool.submit(() -> {
                go.await();
                return task.call();
            }));
        }
        go.countDown();
        List<T> out = new ArrayList<>();
        for (Future<T> f : futures) out.add(f.get(30, TimeUnit.SECONDS));
        return out;
    }

    static int maxTokensOf(mockwebserver3.RecordedRequest r) {
        return json(ScriptedUpstream.body(r)).path("max_tokens").asInt(-1);
    }

    /** Checks every refusal and returns the number of accepted calls. */
    static int checkRefusals(List<HttpResponse<String>> responses) {
        int accepted = 0;
        for (HttpResponse<String> r : responses) {
            if (r.statusCode() == 200) {
                accepted++;
                continue;
            }
            assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
            JsonNode error = json(r.body()).path("error");
            assertThat(error.path("code").asText()).isEqualTo("budget_exceeded");
            assertThat(error.path("message").asText()).contains("Budget team:platform would be exceeded");
            assertThat(r.headers().firstValue("retry-after")).as("no wait until the period resets").isEmpty();
        }
        return accepted;
    }

    /** Settled state: nothing reserved, spent within the limit and equal to what the records say. */
    List<UsageRecord> checkBooks() {
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            assertThat(window().reservedNanos()).isZero();
            assertThat(window().reservedTokens()).isZero();
        });
        assertThat(h.carapace.ledger().flush(5_000)).isTrue();
        LedgerTables.WindowRow w = window();
        assertThat(w.spentNanos()).as("spent never passes the hard limit").isLessThanOrEqualTo(LIMIT);
        assertThat(LedgerTestKit.sumCost(h.carapace.store(), "platform")).as("records add up to the window").isEqualTo(w.spentNanos());
        assertThat(LedgerTestKit.reservationStates(h.carapace.store())).doesNotContainKey("open");
        List<UsageRecord> records = LedgerTestKit.records(h.carapace.store(), "platform");
        long tokens = 0;
        for (UsageRecord rec : records) {
            Usage u = new Usage(rec.inputTokens(), rec.outputTokens(), rec.cachedInputTokens(), rec.cacheWriteTokens(),
                    rec.reasoningTokens(), rec.estimated());
            assertThat(rec.costNanos()).as("cost of " + rec.requestId()).isEqualTo(Pricing.cost(PRICE, u));
            if (rec.status() == 400) {
                assertThat(rec.errorCode()).isEqualTo("budget_exceeded");
                assertThat(rec.costNanos()).isZero();
            } else {
                tokens += rec.inputTokens() + rec.outputTokens();
            }
        }
        assertThat(w.spentTokens()).isEqualTo(tokens);
        return records;
    }

    @Test
    void concurrentNonStreamedCallsChargedAtTheirWorstCaseNeverOverspend() throws Exception {
        // Every answer costs exactly the worst case: the upstream reports the whole bound and all the output the
        // ledger allowed it (max_tokens, which the ledger must have set to the model's maximum).
        h.a.respond(req -> ScriptedUpstream.delayed(openAiText("ok", (int) PROMPT_BOUND, maxTokensOf(req)), 200));

        List<HttpResponse<String>> responses = race(40, () -> h.post("/v1/chat/completions", h.memberKey, chat("m-solo", false, "")));

        int accepted = checkRefusals(responses);
        assertThat(accepted).as("exactly floor(limit / worst case) calls fit").isEqualTo(5);
        assertThat(h.a.requestCount()).as("refused calls never reach the upstream").isEqualTo(5);
        for (int i = 0; i < 5; i++) assertThat(maxTokensOf(h.a.take())).isEqualTo(MAX_OUTPUT);
        List<UsageRecord> records = checkBooks();
        assertThat(window().spentNanos()).isEqualTo(5 * WORST);
        assertThat(records).filteredOn(r -> r.status() == 200).hasSize(5)
                .allSatisfy(r -> {
                    assertThat(r.costNanos()).isEqualTo(WORST);
                    assertThat(r.estimated()).isFalse();
                });
        assertThat(records).filteredOn(r -> r.status() == 400).hasSize(35);
    }

    @Test
    void concurrentNonStreamedCallsWithVaryingCostsNeverOverspend() throws Exception {
        // Cheaper answers free room for later calls: more get in, and the total still never passes the limit.
        h.a.respond(req -> ScriptedUpstream.delayed(openAiText("ok", 20 + ThreadLocalRandom.current().nextInt(32),
                1 + ThreadLocalRandom.current().nextInt(maxTokensOf(req))), 10 + ThreadLocalRandom.current().nextInt(60)));
        int accepted = 0;
        for (int round = 0; round < 2; round++) {
            accepted += checkRefusals(race(40, () -> h.post("/v1/chat/completions", h.memberKey, chat("m-solo", false, ""))));
        }
        assertThat(accepted).isGreaterThanOrEqualTo(5);
        List<UsageRecord> records = checkBooks();
        assertThat(records).filteredOn(r -> r.status() == 200).hasSize(accepted);
        assertThat(records).hasSize(80);
    }

    @Test
    void concurrentStreamedCallsNeverOverspend() throws Exception {
        List<String> deltas = List.of("one ", "two ", "three ", "four");
        h.a.respond(req -> sse(openAiTextStream(deltas, (int) PROMPT_BOUND, maxTokensOf(req)), 40));

        List<HttpResponse<String>> responses = race(40, () -> h.post("/v1/chat/completions", h.memberKey, chat("m-solo", true, "")));

        int accepted = checkRefusals(responses);
        assertThat(accepted).isEqualTo(5);
        for (HttpResponse<String> r : responses) {
            if (r.statusCode() == 200) assertThat(r.body()).contains("three").contains("[DONE]");
        }
        List<UsageRecord> records = checkBooks();
        assertThat(window().spentNanos()).isEqualTo(5 * WORST);
        assertThat(records).filteredOn(r -> r.status() == 200).hasSize(5)
                .allSatisfy(r -> {
                    assertThat(r.stream()).isTrue();
                    assertThat(r.estimated()).isFalse();
                    assertThat(r.costNanos()).isEqualTo(WORST);
                });
    }

    /** What a raw-socket streaming client saw. */
    record Seen(int status, String text) {}

    /** Sends a streamed chat over a raw socket; on 200, reads until the first SSE data and hangs up with a reset. */
    Seen streamThenHangUp(String body) throws IOException {
        byte[] payload = body.getBytes(StandardCharsets.UTF_8);
        try (Socket s = new Socket("127.0.0.1", h.carapace.port())) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write(("POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer " + h.memberKey
                    + "\r\ncontent-type: application/json\r\ncontent-length: " + payload.length + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.write(payload);
            out.flush();
            InputStream in = s.getInputStream();
            ByteArrayOutputStream seen = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            while (true) {
                int n = in.read(buf);
                if (n < 0) break;
                seen.write(buf, 0, n);
                String text = seen.toString(StandardCharsets.UTF_8);
                int status = text.length() >= 12 ? Integer.parseInt(text.substring(9, 12)) : 0;
                if (status == 200 && text.contains("data: ")) {
                    s.setSoLinger(true, 0);      // close with a reset, like a killed client
                    return new Seen(200, text);
                }
                if (status != 0 && status != 200 && text.contains("\r\n\r\n") && text.contains("}}")) return new Seen(status, text);
            }
            String text = seen.toString(StandardCharsets.UTF_8);
            return new Seen(text.length() >= 12 ? Integer.parseInt(text.substring(9, 12)) : 0, text);
        }
    }

    @Test
    void clientsThatHangUpMidStreamAreChargedForWhatWasGenerated() throws Exception {
        List<String> deltas = new ArrayList<>();
        for (int i = 0; i < 30; i++) deltas.add("word" + i + " ");
        // the usage chunk would come last, after 9 s: none of these clients gets that far, and each call holds its
        // reservation until the gateway notices the hang-up at its next write, 300 ms later
        h.a.respond(req -> sse(openAiTextStream(deltas, (int) PROMPT_BOUND, maxTokensOf(req)), 300));

        List<Seen> seen = race(30, () -> streamThenHangUp(chat("m-solo", true, "")));

        int accepted = 0;
        for (Seen s : seen) {
            if (s.status() == 200) {
                accepted++;
            } else {
                assertThat(s.status()).as(s.text()).isEqualTo(400);
                assertThat(s.text()).contains("budget_exceeded");
            }
        }
        assertThat(accepted).isBetween(5, 29);
        List<UsageRecord> records = checkBooks();
        assertThat(records).hasSize(30);
        assertThat(records).filteredOn(r -> r.status() != 400).hasSize(accepted)
                .allSatisfy(r -> {
                    assertThat(r.status()).isEqualTo(499);
                    assertThat(r.errorCode()).isEqualTo("client_disconnected");
                    assertThat(r.estimated()).isTrue();
                    assertThat(r.stream()).isTrue();
                    assertThat(r.inputTokens()).isPositive();
                    assertThat(r.costNanos()).isPositive().isLessThan(WORST);
                });
        assertThat(window().spentNanos()).isPositive();
    }

    @Test
    void reservationsAreReleasedWhenTheUpstreamFailsOrFailsOver() throws Exception {
        // every deployment answers 500: the caller gets an error, nothing is charged, nothing stays held
        h.a.respond(req -> ScriptedUpstream.json(500, "{\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}"));
        h.b.respond(req -> ScriptedUpstream.json(500, "{\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}"));
        HttpResponse<String> failed = h.post("/v1/chat/completions", h.memberKey, chat("m-mid", false, ""));
        assertThat(failed.statusCode()).isBetween(500, 599);
        assertThat(window().reservedNanos()).isZero();
        assertThat(window().spentNanos()).isZero();

        // a stream that breaks after some text: charged for the text, estimated, nothing stays held
        Thread.sleep(1_100);   // let the cooldowns pass
        h.a.respond(req -> ScriptedUpstream.sseThenDrop(List.of(
                "data: " + ScriptedUpstream.chunk("{\"role\":\"assistant\",\"content\":\"\"}", null) + "\n\n",
                "data: " + ScriptedUpstream.chunk("{\"content\":\"some partial answer\"}", null) + "\n\n")));
        HttpResponse<String> broken = h.post("/v1/chat/completions", h.memberKey, chat("m-solo", true, ""));
        assertThat(broken.statusCode()).isEqualTo(200);
        assertThat(window().reservedNanos()).isZero();
        long afterBroken = window().spentNanos();
        assertThat(afterBroken).isPositive();

        // failover: the first deployment fails, the second answers; only the answer is charged
        Thread.sleep(1_100);
        AtomicInteger calls = new AtomicInteger();
        java.util.function.Function<mockwebserver3.RecordedRequest, MockResponse> firstFails = req -> calls.incrementAndGet() == 1
                ? ScriptedUpstream.json(500, "{\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}")
                : openAiText("fine", 40, 10);
        h.a.respond(firstFails);
        h.b.respond(firstFails);
        HttpResponse<String> failover = h.post("/v1/chat/completions", h.memberKey, chat("m-mid", false, ""));
        assertThat(failover.statusCode()).isEqualTo(200);
        assertThat(calls.get()).isEqualTo(2);
        assertThat(window().spentNanos() - afterBroken).isEqualTo(Pricing.cost(PRICE, Usage.of(40, 10)));

        // a request refused before routing (a model that does not exist) reserves nothing
        HttpResponse<String> unknownModel = h.post("/v1/chat/completions", h.memberKey, chat("m-none", false, ""));
        assertThat(unknownModel.statusCode()).isEqualTo(404);
        checkBooks();
        assertThat(record(failed).costNanos()).isZero();
        assertThat(record(failed).status()).isEqualTo(failed.statusCode());
        assertThat(record(broken).estimated()).isTrue();
        assertThat(record(broken).costNanos()).isEqualTo(afterBroken);
        assertThat(record(failover).costNanos()).isEqualTo(Pricing.cost(PRICE, Usage.of(40, 10)));
        assertThat(record(unknownModel).status()).isEqualTo(404);
        assertThat(record(unknownModel).costNanos()).isZero();
    }

    @Test
    void budgetsOfOtherTeamsAreUntouched() throws Exception {
        h.a.respond(req -> openAiText("ok", 10, 10));
        // research has no budget: its calls are recorded (asynchronously) but never held against platform's
        for (int i = 0; i < 5; i++) {
            assertThat(h.post("/v1/chat/completions", h.researchKey, chat("m-solo", false, "")).statusCode()).isEqualTo(200);
        }
        assertThat(h.carapace.ledger().flush(5_000)).isTrue();
        assertThat(window().spentNanos()).isZero();
        assertThat(LedgerTestKit.sumCost(h.carapace.store(), "research")).isEqualTo(5 * Pricing.cost(PRICE, Usage.of(10, 10)));
        assertThat(LedgerBook.of(h.carapace.store()).windows("team:research")).isEmpty();
    }
}
