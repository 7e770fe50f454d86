package dev.carapace.ledger;

import dev.carapace.ledger.book.LedgerBook;
import dev.carapace.model.Price;
import dev.carapace.server.Carapace;
import dev.carapace.store.LedgerTables;
import dev.carapace.store.PostgresForTests;
import dev.carapace.store.UsageLog.UsageRecord;
import dev.carapace.testing.ScriptedUpstream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.math.BigDecimal;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Two gateways on one PostgreSQL share a budget: together they never overspend it. */
class SharedPostgresBudgetTest {

    static final Price MID = new Price(new BigDecimal("3"), new BigDecimal("6"), new BigDecimal("3"));
    static final long WORST = Pricing.worstCase(MID, 51, 4096);

    @TempDir Path dir;

    @Test
    void twoGatewaysNeverOverspendOneBudget() throws Exception {
        String url = PostgresForTests.createDatabase();
        String store = "store: {url: \"" + url + "\", user_env: PG_USER, pool_size: 8}";
        Map<String, String> env = Map.of("UP_KEY", "secret-up", "PG_USER", PostgresForTests.USER);
        try (ScriptedUpstream up = new ScriptedUpstream()) {
            // every answer costs its worst case: the whole prompt bound and all the output allowed
            up.respond(req -> ScriptedUpstream.delayed(ScriptedUpstream.openAiText("ok", 51,
                    LedgerTestKit.parseOpenAi(ScriptedUpstream.body(req)).maxTokens()), 50 + ThreadLocalRandom.current().nextInt(100)));
            String yaml = LedgerTestKit.yaml(up.openAiBaseUrl(), "10s", "{input: 3, output: 6}", store);
            try (Carapace one = LedgerTestKit.start(yaml, dir.resolve("one"), env, Clock.systemUTC());
                 Carapace two = LedgerTestKit.start(yaml, dir.resolve("two"), env, Clock.systemUTC())) {
                assertThat(one.store().postgres()).isTrue();
                String key = LedgerTestKit.memberKey(one, "alice", "platform");
                long limit = 7 * WORST + WORST / 3;
                one.ledger().budgets().set(new Budgets.Request("team", "platform", BigDecimal.valueOf(limit, 9), null, "month",
                        "UTC", "USD", "", null));
                two.ledger().budgets().refresh();
                assertThat(two.ledger().budgets().get("team:platform").limitNanos()).isEqualTo(limit);

                int n = 48;
                ExecutorService pool = Executors.newFixedThreadPool(n);
                List<Future<HttpResponse<String>>> futures = new ArrayList<>();
                CountDownLatch go = new CountDownLatch(1);
                for (int i = 0; i < n; i++) {
                    Carapace target = i % 2 == 0 ? one : two;
                    futures.add(pool.submit(() -> {
                        go.await();
                        return LedgerTestKit.post(target.port(), key, LedgerTestKit.chatBody("m-mid", false, ""));
                    }));
                }
                go.countDown();
                int[] accepted = new int[2];
                int[] refused = new int[2];
                for (int i = 0; i < n; i++) {
                    HttpResponse<String> r = futures.get(i).get(60, TimeUnit.SECONDS);
                    if (r.statusCode() == 200) {
                        accepted[i % 2]++;
                    } else {
                        assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
                        assertThat(r.body()).contains("budget_exceeded");
                        refused[i % 2]++;
                    }
                }
                pool.shutdown();

                assertThat(accepted[0] + accepted[1]).as("exactly floor(limit / worst case) calls fit, across both").isEqualTo(7);
                assertThat(refused[0]).as("refusals on gateway one").isPositive();
                assertThat(refused[1]).as("refusals on gateway two").isPositive();
                assertThat(up.requestCount()).isEqualTo(7);

                LedgerTables.WindowRow w = LedgerTestKit.totalWindow(one.store(), "team:platform", Instant.now());
                assertThat(w.spentNanos()).isLessThanOrEqualTo(limit).isEqualTo(7 * WORST);
                assertThat(w.reservedNanos()).isZero();
                assertThat(w.reservedTokens()).isZero();
                assertThat(one.ledger().flush(5_000)).isTrue();
                assertThat(two.ledger().flush(5_000)).isTrue();
                assertThat(LedgerTestKit.sumCost(one.store(), "platform")).isEqualTo(w.spentNanos());
                List<UsageRecord> records = LedgerTestKit.records(two.store(), "platform");
                assertThat(records).hasSize(n);
                assertThat(records).filteredOn(r -> r.status() == 200).hasSize(7).allSatisfy(r -> assertThat(r.costNanos()).isEqualTo(WORST));
                assertThat(LedgerTestKit.reservationStates(one.store())).isEqualTo(Map.of("settled", 7L));
            }
        }
    }
}
