package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.ledger.Budgets;
import dev.carapace.ledger.Money;
import dev.carapace.ledger.Period;
import dev.carapace.ledger.Pricing;
import dev.carapace.model.Price;
import dev.carapace.model.Usage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.math.BigDecimal;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static dev.carapace.server.GatewayHarness.chat;
import static dev.carapace.testing.ScriptedUpstream.openAiText;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Budget alerts through the real gateway, POSTed to a local webhook. */
class BudgetAlertsTest {

    static final Price PRICE = new Price(new BigDecimal("3"), new BigDecimal("6"), new BigDecimal("3"));
    /** What every scripted answer costs: 50 prompt tokens, 1000 output tokens. */
    static final long CALL = Pricing.cost(PRICE, Usage.of(50, 1000));
    /** Each request asks for at most 1000 tokens, so it reserves the 51-token prompt bound + 1000 output. */
    static final String BODY = chat("m-solo", false, ",\"max_tokens\":1000");

    @TempDir Path data;
    GatewayHarness h;
    WebhookReceiver hook;
    final List<AutoCloseable> closing = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        if (h != null) h.close();
        for (AutoCloseable c : closing) c.close();
    }

    void start(String... webhookUrls) throws Exception {
        h = new GatewayHarness(data, "alerts:\n  webhooks: [" + String.join(", ", webhookUrls) + "]");
        h.a.respond(req -> openAiText("ok", 50, 1000));
    }

    void budget(long limitNanos, String soft) {
        h.carapace.ledger().budgets().set(new Budgets.Request("team", "platform", BigDecimal.valueOf(limitNanos, 9), null,
                "month", "UTC", "USD", soft, null));
    }

    HttpResponse<String> call() { return h.post("/v1/chat/completions", h.memberKey, BODY); }

    List<HttpResponse<String>> concurrently(int n) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<HttpResponse<String>>> fs = new ArrayList<>();
            for (int i = 0; i < n; i++) fs.add(pool.submit(() -> { go.await(); return call(); }));
            go.countDown();
            List<HttpResponse<String>> out = new ArrayList<>();
            for (var f : fs) out.add(f.get(20, TimeUnit.SECONDS));
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    static void checkEvent(JsonNode e, String type, int threshold, long limitNanos) {
        assertThat(e.path("type").asText()).isEqualTo(type);
        assertThat(e.path("budget").asText()).isEqualTo("team:platform");
        assertThat(e.path("threshold_percent").isInt()).isTrue();
        assertThat(e.path("threshold_percent").asInt()).isEqualTo(threshold);
        assertThat(e.path("limit").asText()).isEqualTo(Money.amount(limitNanos).toPlainString());
        assertThat(e.path("currency").asText()).isEqualTo("USD");
        assertThat(e.path("period").asText()).isEqualTo("month");
        Instant now = Instant.now();
        assertThat(e.path("resets_at").asText()).isEqualTo(Period.MONTH.reset(now, ZoneOffset.UTC).toString());
        assertThat(e.path("window_start").asText()).isEqualTo(Period.MONTH.start(now, ZoneOffset.UTC).toString());
        BigDecimal spent = new BigDecimal(e.path("spent").asText());
        BigDecimal limit = BigDecimal.valueOf(limitNanos, 9);
        if (type.equals("budget.soft_limit")) {
            assertThat(spent.multiply(BigDecimal.valueOf(100))).as("spent has reached the threshold")
                    .isGreaterThanOrEqualTo(limit.multiply(BigDecimal.valueOf(threshold)));
        }
        assertThat(spent).isLessThanOrEqualTo(limit);
        assertThat(e.path("at").asText()).isNotEmpty();
    }

    @Test
    void eachThresholdAlertsOncePerWindowAndARefusalAlertsTheHardLimit() throws Exception {
        hook = new WebhookReceiver();
        closing.add(hook);
        start(hook.url());
        // The 5th call reaches 50%, the 8th 80%; the 10th does not fit. (Not 10 calls: the 10th would be reserved at
        // its o200k estimate, 37 prompt tokens, and fit the last CALL, which the upstream's 50 tokens then fill.)
        long limit = 9 * CALL + CALL / 2;
        budget(limit, "50,80");

        for (int i = 0; i < 4; i++) assertThat(call().statusCode()).isEqualTo(200);   // 40%
        Thread.sleep(300);
        assertThat(hook.deliveries()).as("nothing crossed yet").isEmpty();

        // calls 5..8 at once: 50% and 80% are crossed while they race
        assertThat(concurrently(4)).allSatisfy(r -> assertThat(r.statusCode()).isEqualTo(200));
        await().atMost(Duration.ofSeconds(5)).until(() -> hook.deliveries().size() >= 2);
        assertThat(call().statusCode()).isEqualTo(200);                              // 9th: 90%, no threshold there
        Thread.sleep(300);
        List<WebhookReceiver.Delivery> soft = hook.deliveries();
        assertThat(soft).hasSize(2);
        assertThat(soft).extracting(d -> d.json().path("threshold_percent").asInt()).containsExactlyInAnyOrder(50, 80);
        for (var d : soft) checkEvent(d.json(), "budget.soft_limit", d.json().path("threshold_percent").asInt(), limit);

        // the 10th and many more are refused: one hard-limit alert
        List<HttpResponse<String>> refused = concurrently(20);
        assertThat(refused).allSatisfy(r -> assertThat(r.statusCode()).isEqualTo(400));
        for (int i = 0; i < 5; i++) assertThat(call().statusCode()).isEqualTo(400);
        await().atMost(Duration.ofSeconds(5)).until(() -> hook.deliveries().size() >= 3);
        Thread.sleep(500);
        List<WebhookReceiver.Delivery> all = hook.deliveries();
        assertThat(all).as("one POST per threshold, however many calls follow").hasSize(3);
        JsonNode hard = all.get(2).json();
        checkEvent(hard, "budget.hard_limit", 100, limit);
        assertThat(new BigDecimal(hard.path("spent").asText())).isEqualByComparingTo(BigDecimal.valueOf(9 * CALL, 9));
        assertThat(all).allSatisfy(d -> assertThat(d.answered()).isEqualTo(200));

        // a restarted gateway (its in-memory cache empty) does not repeat them either: the store remembers
        h.close();
        h = null;
        start(hook.url());
        assertThat(call().statusCode()).isEqualTo(400);
        Thread.sleep(300);
        assertThat(hook.deliveries()).hasSize(3);
    }

    @Test
    void aFailingWebhookIsRetriedUntilItTakesTheAlert() throws Exception {
        hook = new WebhookReceiver();
        closing.add(hook);
        hook.failNext(500, 500);
        start(hook.url());
        budget(2 * CALL, "50");

        long t0 = System.currentTimeMillis();
        assertThat(call().statusCode()).isEqualTo(200);   // 50% at once
        await().atMost(Duration.ofSeconds(8)).until(() -> hook.delivered().size() == 1);
        List<WebhookReceiver.Delivery> all = hook.deliveries();
        assertThat(all).extracting(WebhookReceiver.Delivery::answered).containsExactly(500, 500, 200);
        assertThat(all).extracting(WebhookReceiver.Delivery::body).containsOnly(all.get(0).body());
        checkEvent(all.get(2).json(), "budget.soft_limit", 50, 2 * CALL);
        // backoff: about 1 s, then about 2 s
        assertThat(all.get(1).atMillis() - all.get(0).atMillis()).isBetween(800L, 2_500L);
        assertThat(all.get(2).atMillis() - all.get(1).atMillis()).isBetween(1_600L, 4_000L);
        assertThat(all.get(0).atMillis() - t0).isLessThan(2_000L);
        Thread.sleep(300);
        assertThat(hook.deliveries()).as("no retry after success").hasSize(3);
    }

    @Test
    void deadWebhooksNeverSlowRequests() throws Exception {
        // one port that refuses connections, one server that accepts and never answers
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) { closedPort = s.getLocalPort(); }
        ServerSocket blackHole = new ServerSocket(0);
        List<Socket> held = new CopyOnWriteArrayList<>();
        Thread.ofVirtual().start(() -> {
            try {
                while (true) held.add(blackHole.accept());
            } catch (Exception closed) {
                // test over
            }
        });
        closing.add(blackHole);
        closing.add(() -> { for (Socket s : held) s.close(); });
        start("http://127.0.0.1:" + closedPort + "/hook", "http://127.0.0.1:" + blackHole.getLocalPort() + "/hook");
        budget(10 * CALL + 10_000, "10,20,30,40,50,60,70,80,90");   // every call crosses a threshold

        List<Long> millis = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            long t0 = System.nanoTime();
            assertThat(call().statusCode()).isEqualTo(200);
            millis.add((System.nanoTime() - t0) / 1_000_000);
        }
        HttpResponse<String> refused = call();
        assertThat(refused.statusCode()).isEqualTo(400);
        await().atMost(Duration.ofSeconds(5)).until(() -> held.size() >= 5);   // the alerts were really sent
        // a webhook that blocked a request would hold it for the 5 s connect or 10 s request timeout
        assertThat(millis).as("latencies in ms: " + millis).allSatisfy(ms -> assertThat(ms).isLessThan(2_000L));
        assertThat(millis.stream().sorted().toList().get(5)).as("median").isLessThan(500L);
    }
}
