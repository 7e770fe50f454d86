package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.ledger.BudgetSync;
import dev.carapace.ledger.LedgerTestKit;
import dev.carapace.ledger.Money;
import dev.carapace.ledger.book.LedgerBook;
import dev.carapace.server.cli.Main;
import dev.carapace.store.LedgerTables;
import dev.carapace.store.PostgresForTests;
import dev.carapace.store.Store;
import dev.carapace.store.UsageLog.UsageRecord;
import dev.carapace.testing.ScriptedUpstream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static dev.carapace.server.GatewayHarness.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two rough edges of issue 14, with a running gateway and the CLI on one store, as an operator meets them:
 * a budget created mid-period started from 0 whatever its subject had spent ("29,267 tokens spent, budget show said
 * 0"), and a budget set from the CLI bound the running gateway only up to 2 s later. Every call's tokens are
 * scripted: 9,000 prompt and 756 completion tokens, 9,756 a call.
 */
class BudgetBindingTest {

    static final int PROMPT = 9_000;
    static final int COMPLETION = 756;

    @TempDir Path dir;

    record Result(int code, String out, String err) {}

    Result cli(Path config, Path data, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        List<String> all = new ArrayList<>(Arrays.asList(args));
        all.addAll(List.of("--config", config.toString(), "--data", data.toString()));
        int code = Main.run(all.toArray(String[]::new), new PrintWriter(out, true), new PrintWriter(err, true));
        Result r = new Result(code, out.toString(), err.toString());
        assertThat(r.code()).as("%s: %s", all, r.err()).isZero();
        return r;
    }

    static long spentTokens(Store store) {
        return store.jdbi().withHandle(h -> h.createQuery("SELECT COALESCE(SUM(input_tokens + output_tokens), 0) FROM usage_records "
                + "WHERE team = 'platform'").mapTo(Long.class).one());
    }

    @Test
    void aBudgetCreatedMidPeriodIgnoredWhatItsSubjectHadSpentAndBudgetSetTookUpTo2sToBind() throws Exception {
        try (ScriptedUpstream up = new ScriptedUpstream()) {
            up.respond(r -> ScriptedUpstream.openAiText("ok", PROMPT, COMPLETION));
            String yaml = LedgerTestKit.yaml(up.openAiBaseUrl(), "10s", "{input: 3, output: 6}", "");
            Path config = Files.writeString(dir.resolve("carapace.yaml"), yaml);
            Path data = dir.resolve("data");
            try (Carapace gw = LedgerTestKit.start(yaml, data, Clock.systemUTC())) {
                String key = LedgerTestKit.memberKey(gw, "alice", "platform");
                for (int i = 0; i < 3; i++) {
                    assertThat(LedgerTestKit.post(gw.port(), key, LedgerTestKit.chatBody("m-mid", false, "")).statusCode()).isEqualTo(200);
                }
                long spent = spentTokens(gw.store());
                assertThat(spent).isEqualTo(3L * (PROMPT + COMPLETION));
                long cost = LedgerTestKit.sumCost(gw.store(), "platform");

                // created mid-month from the CLI while the gateway serves: it starts with what the team spent
                Result set = cli(config, data, "budget", "set", "--team", "platform", "--tokens", "100000");
                assertThat(set.out()).contains("spent      USD " + Money.format(cost) + ", " + spent + " tokens")
                        .contains("binding    binds now (the running gateway has applied it)");
                JsonNode shown = json(cli(config, data, "budget", "show", "team:platform", "--json").out());
                assertThat(shown.at("/current/spent_tokens").asLong()).isEqualTo(spent);
                assertThat(LedgerTestKit.totalWindow(gw.store(), "team:platform", Instant.now()).spentTokens()).isEqualTo(spent);

                // a call needs its prompt bound plus 4,096 tokens: under a limit just above what was spent, it is refused
                // at once, not 2 s later; raised again, the very next call passes
                cli(config, data, "budget", "set", "--team", "platform", "--tokens", String.valueOf(spent + 1_000));
                HttpResponse<String> refused = LedgerTestKit.post(gw.port(), key, LedgerTestKit.chatBody("m-mid", false, ""));
                assertThat(refused.statusCode()).as(refused.body()).isEqualTo(400);
                assertThat(json(refused.body()).at("/error/code").asText()).isEqualTo("budget_exceeded");
                assertThat(json(refused.body()).at("/error/message").asText()).contains(spent + " of " + (spent + 1_000) + " tokens");

                JsonNode raised = json(cli(config, data, "budget", "set", "--team", "platform", "--tokens", "1000000", "--json").out());
                assertThat(raised.at("/binding/binds_now").asBoolean()).isTrue();
                assertThat(raised.at("/binding/running_gateways").asInt()).isEqualTo(1);
                assertThat(LedgerTestKit.post(gw.port(), key, LedgerTestKit.chatBody("m-mid", false, "")).statusCode()).isEqualTo(200);

                // deleted from the CLI: the gateway stops holding calls to it at once
                cli(config, data, "budget", "set", "--team", "platform", "--tokens", "1");
                assertThat(LedgerTestKit.post(gw.port(), key, LedgerTestKit.chatBody("m-mid", false, "")).statusCode()).isEqualTo(400);
                assertThat(cli(config, data, "budget", "delete", "team:platform").out())
                        .contains("deleted team:platform; no call is held to it any more");
                assertThat(LedgerTestKit.post(gw.port(), key, LedgerTestKit.chatBody("m-mid", false, "")).statusCode()).isEqualTo(200);
            }
            // no gateway: the CLI does not wait, and says when the budget will bind
            long before = System.nanoTime();
            Result alone = cli(config, data, "budget", "set", "--team", "research", "--amount", "5");
            assertThat(alone.out()).contains("binding    no running gateway saw it yet; it binds when one starts");
            assertThat((System.nanoTime() - before) / 1_000_000).isLessThan(BudgetSync.ACK_WAIT.toMillis() + 2_000);
        }
    }

    @Test
    void aUserBudgetCreatedOverTheApiCountsWhatTheUserSpentThisPeriodInMoneyAndTokensPerTier() throws Exception {
        try (ScriptedUpstream up = new ScriptedUpstream()) {
            up.respond(r -> ScriptedUpstream.openAiText("ok", PROMPT, COMPLETION));
            String yaml = LedgerTestKit.yaml(up.openAiBaseUrl(), "10s", "{input: 3, output: 6}", "");
            try (Carapace gw = LedgerTestKit.start(yaml, dir.resolve("data"), Clock.systemUTC())) {
                String alice = LedgerTestKit.memberKey(gw, "alice", "platform");
                String bob = LedgerTestKit.memberKey(gw, "bob", "platform");
                String admin = gw.keyAdmin().create("root", "platform", dev.carapace.identity.Principal.Role.ADMIN, null).secret();
                LedgerTestKit.post(gw.port(), alice, LedgerTestKit.chatBody("m-mid", false, ""));
                LedgerTestKit.post(gw.port(), alice, LedgerTestKit.chatBody("m-ultra", false, ""));
                LedgerTestKit.post(gw.port(), alice, LedgerTestKit.chatBody("m-free", false, ""));
                LedgerTestKit.post(gw.port(), bob, LedgerTestKit.chatBody("m-mid", false, ""));
                List<UsageRecord> mine = LedgerTestKit.records(gw.store(), "platform").stream()
                        .filter(r -> "alice".equals(r.user())).toList();
                assertThat(mine).hasSize(3);
                long ultra = mine.stream().filter(r -> "ultra".equals(r.tier())).mapToLong(UsageRecord::costNanos).sum();
                long notFree = mine.stream().filter(r -> !"free".equals(r.tier())).mapToLong(UsageRecord::costNanos).sum();
                assertThat(ultra).isPositive();

                HttpResponse<String> put = LedgerTestKit.HTTP.send(HttpRequest.newBuilder(
                                URI.create("http://127.0.0.1:" + gw.port() + "/api/budgets/user:alice"))
                        .header("authorization", "Bearer " + admin).header("content-type", "application/json")
                        .PUT(HttpRequest.BodyPublishers.ofString("{\"amount\": \"100\", \"tiers\": {\"free\": \"exempt\", \"ultra\": \"50\"}}"))
                        .build(), HttpResponse.BodyHandlers.ofString());
                assertThat(put.statusCode()).as(put.body()).isEqualTo(200);
                JsonNode current = json(put.body()).path("current");
                // free is exempt: its tokens are not counted; bob's calls are not alice's
                assertThat(current.path("spent").asText()).isEqualTo(Money.amount(notFree).toPlainString());
                assertThat(current.path("spent_tokens").asLong()).isEqualTo(2L * (PROMPT + COMPLETION));
                long start = dev.carapace.ledger.Period.MONTH.start(Instant.now(), java.time.ZoneOffset.UTC).toEpochMilli();
                assertThat(LedgerBook.of(gw.store()).window(new LedgerTables.WindowKey("user:alice", start, "ultra"))
                        .orElseThrow().spentNanos()).isEqualTo(ultra);
            }
        }
    }

    /** The same on a PostgreSQL store shared by two gateways: one creates the budget, the other binds it at once. */
    @Test
    void onPostgresABudgetCreatedOnOneGatewayCountsPastSpendAndBindsTheOtherAtOnce() throws Exception {
        String url = PostgresForTests.createDatabase();
        String store = "store: {url: \"" + url + "\", user_env: PG_USER, pool_size: 4}";
        Map<String, String> env = Map.of("UP_KEY", "secret-up", "PG_USER", PostgresForTests.USER);
        try (ScriptedUpstream up = new ScriptedUpstream()) {
            up.respond(r -> ScriptedUpstream.openAiText("ok", PROMPT, COMPLETION));
            String yaml = LedgerTestKit.yaml(up.openAiBaseUrl(), "10s", "{input: 3, output: 6}", store);
            try (Carapace one = LedgerTestKit.start(yaml, dir.resolve("one"), env, Clock.systemUTC());
                 Carapace two = LedgerTestKit.start(yaml, dir.resolve("two"), env, Clock.systemUTC())) {
                assertThat(one.store().postgres()).isTrue();
                String key = LedgerTestKit.memberKey(one, "alice", "platform");
                assertThat(LedgerTestKit.post(one.port(), key, LedgerTestKit.chatBody("m-mid", false, "")).statusCode()).isEqualTo(200);
                assertThat(LedgerTestKit.post(two.port(), key, LedgerTestKit.chatBody("m-mid", false, "")).statusCode()).isEqualTo(200);
                long spent = 2L * (PROMPT + COMPLETION);

                one.ledger().budgets().set(new dev.carapace.ledger.Budgets.Request("team", "platform", null, spent + 1_000,
                        "month", "UTC", "USD", "", null));
                BudgetSync.Binding b = BudgetSync.await(LedgerBook.of(one.store()), Clock.systemUTC());
                assertThat(b.running()).isEqualTo(2);
                assertThat(b.complete()).isTrue();
                assertThat(LedgerTestKit.totalWindow(two.store(), "team:platform", Instant.now()).spentTokens()).isEqualTo(spent);
                // the other gateway refuses the next call by the new budget, with no refresh of its own called
                HttpResponse<String> refused = LedgerTestKit.post(two.port(), key, LedgerTestKit.chatBody("m-mid", false, ""));
                assertThat(refused.statusCode()).as(refused.body()).isEqualTo(400);
            }
        }
    }
}
