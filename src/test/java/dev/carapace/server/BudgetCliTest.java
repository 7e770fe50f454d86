package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.config.CarapaceConfig;
import dev.carapace.config.ConfigLoader;
import dev.carapace.ledger.Period;
import dev.carapace.ledger.book.LedgerBook;
import dev.carapace.server.cli.Main;
import dev.carapace.store.LedgerTables.BudgetRow;
import dev.carapace.store.LedgerTables.Charge;
import dev.carapace.store.LedgerTables.Reservation;
import dev.carapace.store.LedgerTables.WindowKey;
import dev.carapace.store.Store;
import dev.carapace.store.UsageLog.UsageRecord;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static dev.carapace.server.GatewayHarness.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/** The {@code budget} and {@code spend} commands, run through {@link Main#run} against a real store and the example config. */
class BudgetCliTest {

    static final Path CONFIG = Path.of("carapace.example.yaml").toAbsolutePath();

    @TempDir Path data;

    record Result(int code, String out, String err) {}

    Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        List<String> all = new ArrayList<>(Arrays.asList(args));
        all.addAll(List.of("--config", CONFIG.toString(), "--data", data.toString()));
        int code = Main.run(all.toArray(String[]::new), new PrintWriter(out, true), new PrintWriter(err, true));
        return new Result(code, out.toString(), err.toString());
    }

    Result ok(String... args) {
        Result r = run(args);
        assertThat(r.code()).as("exit code of %s; stderr: %s", List.of(args), r.err()).isZero();
        assertThat(r.err()).isEmpty();
        return r;
    }

    Store openStore() throws Exception {
        CarapaceConfig config = ConfigLoader.load(CONFIG);
        return Carapace.openStore(config, data, name -> null);
    }

    List<BudgetRow> storedBudgets() throws Exception {
        try (Store store = openStore()) {
            return LedgerBook.of(store).budgets();
        }
    }

    @BeforeEach
    void aUserWithAKey() {
        ok("keys", "create", "--user", "alice", "--team", "platform");
    }

    @Test
    void setShowListDelete() throws Exception {
        Result set = ok("budget", "set", "--team", "platform", "--amount", "500", "--tz", "Europe/Paris",
                "--soft", "50,80,95", "--tier", "ultra=0", "--tier", "free=exempt", "--tier", "high=25.5", "--json");
        JsonNode b = json(set.out());
        ZoneId paris = ZoneId.of("Europe/Paris");
        Instant now = Instant.now();
        assertThat(b.get("id").asText()).isEqualTo("team:platform");
        assertThat(b.get("scope").asText()).isEqualTo("team");
        assertThat(b.get("subject").asText()).isEqualTo("platform");
        assertThat(b.get("period").asText()).isEqualTo("month");
        assertThat(b.get("time_zone").asText()).isEqualTo("Europe/Paris");
        assertThat(b.get("currency").asText()).isEqualTo("USD");
        assertThat(b.get("amount").isTextual()).isTrue();
        assertThat(b.get("amount").asText()).isEqualTo("500");
        assertThat(b.get("tokens").isNull()).isTrue();
        assertThat(b.get("soft").toString()).isEqualTo("[50,80,95]");
        assertThat(b.get("tiers").toString()).isEqualTo("{\"free\":\"exempt\",\"high\":\"25.5\",\"ultra\":\"0\"}");
        JsonNode current = b.get("current");
        assertThat(current.get("window_start").asText()).isEqualTo(Period.MONTH.start(now, paris).toString());
        assertThat(current.get("resets_at").asText()).isEqualTo(Period.MONTH.reset(now, paris).toString());
        assertThat(current.get("spent").asText()).isEqualTo("0");
        assertThat(current.get("reserved").asText()).isEqualTo("0");
        assertThat(current.get("spent_tokens").isIntegralNumber()).isTrue();
        assertThat(current.get("percent").decimalValue()).isZero();

        Result show = ok("budget", "show", "team:platform");
        assertThat(show.out()).contains("team:platform").contains("USD 500.00 per month").contains("50%, 80%, 95%")
                .contains("free exempt").contains("high capped at 25.50").contains("ultra forbidden")
                .contains("resets " + Period.MONTH.reset(now, paris).atZone(paris).toLocalDate() + " 00:00 Europe/Paris");

        ok("budget", "set", "--user", "alice", "--tokens", "200000", "--period", "day", "--soft", "");
        ok("budget", "set", "--org", "--amount", "10000.25", "--period", "none");
        JsonNode list = json(ok("budget", "list", "--json").out());
        assertThat(list.isArray()).isTrue();
        assertThat(list.findValuesAsText("id")).containsExactly("org:acme", "team:platform", "user:alice");
        JsonNode alice = list.get(2);
        assertThat(alice.get("amount").isNull()).isTrue();
        assertThat(alice.get("tokens").asLong()).isEqualTo(200000);
        assertThat(alice.get("soft").size()).isZero();
        JsonNode org = list.get(0);
        assertThat(org.get("amount").asText()).isEqualTo("10000.25");
        assertThat(org.at("/current/resets_at").isNull()).isTrue();
        assertThat(org.at("/current/window_start").asText()).isEqualTo("1970-01-01T00:00:00Z");

        String table = ok("budget", "list").out();
        assertThat(table.lines().toList()).hasSize(4);
        assertThat(table.lines().filter(l -> l.startsWith("user:alice")).findFirst().orElseThrow())
                .contains("day").contains("200000").contains("UTC");
        assertThat(table.lines().filter(l -> l.startsWith("org:acme")).findFirst().orElseThrow())
                .contains("USD 10000.25").contains("never");

        // set replaces the whole budget
        JsonNode replaced = json(ok("budget", "set", "--team", "platform", "--tokens", "1000", "--json").out());
        assertThat(replaced.get("amount").isNull()).isTrue();
        assertThat(replaced.get("tiers").size()).isZero();
        assertThat(replaced.get("time_zone").asText()).isEqualTo("UTC");

        assertThat(ok("budget", "delete", "team:platform").out().strip()).isEqualTo("deleted team:platform; no gateway is running");
        assertThat(storedBudgets()).extracting(BudgetRow::id).containsExactly("org:acme", "user:alice");
        Result gone = run("budget", "show", "team:platform");
        assertThat(gone.code()).isEqualTo(1);
        assertThat(gone.err().strip()).isEqualTo("error: No budget 'team:platform'. Budgets are named SCOPE:NAME, e.g. team:platform.");
        Result again = run("budget", "delete", "team:platform");
        assertThat(again.code()).isEqualTo(1);
        assertThat(again.err()).contains("no budget 'team:platform'");
    }

    @Test
    void showCountsWhatTheCurrentWindowSpentAndHolds() throws Exception {
        ok("budget", "set", "--team", "platform", "--amount", "10", "--tokens", "100000");
        Instant now = Instant.now();
        WindowKey window = new WindowKey("team:platform", Period.MONTH.start(now, ZoneOffset.UTC).toEpochMilli(), "*");
        WindowKey lastMonth = new WindowKey("team:platform",
                Period.MONTH.start(Period.MONTH.start(now, ZoneOffset.UTC).minusSeconds(1), ZoneOffset.UTC).toEpochMilli(), "*");
        try (Store store = openStore()) {
            LedgerBook book = LedgerBook.of(store);
            // one call settled at 2.5 USD and 30000 tokens, one still in flight holding 1 USD and 5000 tokens
            book.reserve(reservation("r1", 1_000_000_000L, 5000, window), "cli-test", List.of(new Charge(window, 10_000_000_000L, 100_000L)));
            book.settle("r1", 2_500_000_000L, 30_000, record("req-1", now, 2_500_000_000L));
            book.reserve(reservation("r2", 1_000_000_000L, 5000, window), "cli-test", List.of(new Charge(window, 10_000_000_000L, 100_000L)));
            // an older window does not count
            book.reserve(reservation("r3", 7_000_000_000L, 0, lastMonth), "cli-test", List.of(new Charge(lastMonth, null, null)));
            book.settle("r3", 7_000_000_000L, 0, record("req-3", now, 7_000_000_000L));
        }

        JsonNode current = json(ok("budget", "show", "team:platform", "--json").out()).get("current");
        assertThat(current.get("spent").asText()).isEqualTo("2.5");
        assertThat(current.get("reserved").asText()).isEqualTo("1");
        assertThat(current.get("spent_tokens").asLong()).isEqualTo(30_000);
        assertThat(current.get("reserved_tokens").asLong()).isEqualTo(5_000);
        assertThat(current.get("percent").decimalValue()).isEqualByComparingTo("30");   // tokens 30% > money 25%

        String text = ok("budget", "show", "team:platform").out();
        assertThat(text).contains("USD 2.50, 30000 tokens (30.00% used)").contains("USD 1.00, 5000 tokens (held by calls in flight)");
    }

    static Reservation reservation(String id, long nanos, long tokens, WindowKey window) {
        return new Reservation(id, Instant.now(), nanos, tokens, List.of(window), record("ctx-" + id, Instant.now(), nanos));
    }

    static UsageRecord record(String requestId, Instant at, long cost) {
        return usage(requestId, at, "platform", "alice", "m-mid", "mid", 1000, 200, cost);
    }

    static UsageRecord usage(String requestId, Instant at, String team, String user, String model, String tier,
                             long in, long out, long cost) {
        return new UsageRecord(requestId, at, "acme", team, user, "cpk_test", "openai", model, tier, "a/up", in, 10, 0,
                out, 5, false, false, 200, null, 1000, null, null, cost);
    }

    /** A call that got no answer (a refusal or an invalid request): a usage record with no tokens and no cost. */
    static UsageRecord refused(String requestId, Instant at, String team, String user, int status) {
        return new UsageRecord(requestId, at, "acme", team, user, "cpk_test", "openai", "gpt-4o-mini", "mid", null, 0, 0, 0,
                0, 0, false, false, status, "budget_exceeded", 1000, null, null, 0);
    }

    static Stream<org.junit.jupiter.params.provider.Arguments> badInput() {
        return Stream.of(
                arguments(List.of("budget", "set", "--scope", "planet", "--amount", "5"), 2, "Unknown options"),
                arguments(List.of("budget", "set", "--amount", "5"), 2, "Missing required argument"),
                arguments(List.of("budget", "set", "--team", "platform", "--user", "alice", "--amount", "5"), 2, "mutually exclusive"),
                arguments(List.of("budget", "set", "--team", "platform", "--amount", "-5"), 1, "--amount: expected 0 to"),
                arguments(List.of("budget", "set", "--team", "platform", "--amount", "five"), 2, "--amount: expected a decimal"),
                arguments(List.of("budget", "set", "--team", "platform", "--amount", "0.0000000001"), 1, "--amount: at most 9 decimals"),
                arguments(List.of("budget", "set", "--team", "platform", "--tokens", "-1"), 1, "--tokens: expected 0 to"),
                arguments(List.of("budget", "set", "--team", "platform"), 1, "a budget needs a money limit"),
                arguments(List.of("budget", "set", "--team", "platform", "--amount", "5", "--period", "year"), 1, "--period: expected day, week, month or none; got 'year'"),
                arguments(List.of("budget", "set", "--team", "platform", "--amount", "5", "--tz", "Mars/Olympus"), 1, "--tz: 'Mars/Olympus' is not a time zone"),
                arguments(List.of("budget", "set", "--team", "platform", "--amount", "5", "--currency", "dollars"), 1, "--currency: expected a 3-letter code"),
                arguments(List.of("budget", "set", "--team", "marketing", "--amount", "5"), 1, "--team: unknown team 'marketing' (teams: interns, platform, research)"),
                arguments(List.of("budget", "set", "--user", "mallory", "--amount", "5"), 1, "--user: unknown user 'mallory'"),
                arguments(List.of("budget", "set", "--team", "platform", "--amount", "5", "--soft", "90,50"), 1, "--soft: percentages must be ascending"),
                arguments(List.of("budget", "set", "--team", "platform", "--amount", "5", "--tier", "mega=1"), 1, "--tier: unknown tier 'mega'"),
                arguments(List.of("budget", "set", "--team", "platform", "--amount", "5", "--tier", "ultra=lots"), 1, "--tier ultra: expected an amount"),
                arguments(List.of("budget", "set", "--team", "platform", "--amount", "5", "--tier", "ultra"), 2, "KEY=VALUE"),
                arguments(List.of("budget", "show", "team:marketing"), 1, "No budget 'team:marketing'"),
                arguments(List.of("budget", "delete", "user:mallory"), 1, "no budget 'user:mallory'"),
                arguments(List.of("spend", "--by", "planet"), 2, "--by: expected team, user, agent, model or tier; got 'planet'"),
                arguments(List.of("spend"), 2, "Missing required option: '--by"),
                arguments(List.of("spend", "--by", "team", "--since", "2026-02-30"), 2, "--since: expected a date YYYY-MM-DD; got '2026-02-30'"),
                arguments(List.of("spend", "--by", "team", "--until", "yesterday"), 2, "--until: expected a date YYYY-MM-DD; got 'yesterday'"),
                arguments(List.of("spend", "--by", "team", "--since", "2026-11-30", "--until", "2026-11-01"), 2, "--since 2026-11-30 is after --until 2026-11-01"),
                arguments(List.of("spend", "--by", "team", "--json", "--csv"), 2, "--json and --csv cannot be used together"));
    }

    @ParameterizedTest
    @MethodSource("badInput")
    void badInputIsOneLineOnStderrAndChangesNothing(List<String> args, int code, String message) throws Exception {
        ok("budget", "set", "--team", "platform", "--amount", "100", "--tier", "ultra=0");
        List<BudgetRow> before = storedBudgets();
        assertThat(before).hasSize(1);

        Result r = run(args.toArray(String[]::new));

        assertThat(r.code()).isEqualTo(code);
        assertThat(r.out()).isEmpty();
        assertThat(r.err().lines().toList()).hasSize(1);
        assertThat(r.err()).startsWith("error: ").contains(message);
        assertThat(storedBudgets()).isEqualTo(before);
    }

    @Test
    void everyCommandHasHelp() {
        for (List<String> command : List.of(List.of("budget"), List.of("budget", "set"), List.of("budget", "show"),
                List.of("budget", "list"), List.of("budget", "delete"), List.of("spend"))) {
            List<String> args = new ArrayList<>(command);
            args.add("--help");
            Result r = run(args.toArray(String[]::new));
            assertThat(r.code()).as("%s --help", command).isZero();
            assertThat(r.out()).startsWith("Usage: carapace " + String.join(" ", command));
        }
    }

    @Test
    void spendReportsAsTableJsonAndCsv() throws Exception {
        Instant now = Instant.now();
        LocalDate today = LocalDate.now(ZoneOffset.UTC);
        Instant lastMonth = today.withDayOfMonth(1).minusDays(1).atTime(12, 0).toInstant(ZoneOffset.UTC);
        try (Store store = openStore()) {
            store.usageLog().insertBatch(List.of(
                    usage("u1", now, "platform", "alice", "gpt-4o-mini", "mid", 1000, 100, 1_234_567_890L),
                    usage("u2", now, "platform", "alice", "gpt-4o-mini", "mid", 500, 50, 1L),
                    usage("u3", now, "research", "o'neil, \"jr\"", "claude-opus-4-1", "ultra", 10, 20, 500_000_000L),
                    usage("u4", lastMonth, "research", "rita", "gpt-4.1", "high", 7, 7, 9_000_000_000L),
                    // refused by a budget and invalid: no answer, counted apart from the requests (0 tokens, 0 cost)
                    refused("u5", now, "platform", "alice", 429), refused("u6", now, "platform", "alice", 400)));
        }

        String csv = ok("spend", "--by", "team", "--csv").out();
        assertThat(csv).endsWith("\r\n");
        assertThat(csv.split("\r\n")).containsExactly(
                "team,requests,unserved,input_tokens,cached_input_tokens,output_tokens,reasoning_tokens,cost_usd",
                "platform,2,2,1500,20,150,10,1.234567891",
                "research,1,0,10,10,20,5,0.5");

        String byUser = ok("spend", "--by", "user", "--csv").out();
        assertThat(byUser.split("\r\n")).contains("\"o'neil, \"\"jr\"\"\",1,0,10,10,20,5,0.5");

        JsonNode report = json(ok("spend", "--by", "model", "--json").out());
        assertThat(report.get("by").asText()).isEqualTo("model");
        assertThat(report.get("since").asText()).isEqualTo(today.withDayOfMonth(1).toString());
        assertThat(report.get("until").asText()).isEqualTo(today.toString());
        assertThat(report.get("data").findValuesAsText("model")).containsExactly("gpt-4o-mini", "claude-opus-4-1");
        JsonNode first = report.get("data").get(0);
        assertThat(first.get("cost_usd").asText()).isEqualTo("1.234567891");
        assertThat(first.get("input_tokens").isIntegralNumber()).isTrue();
        assertThat(first.get("input_tokens").asLong()).isEqualTo(1500);
        assertThat(first.get("requests").asLong()).isEqualTo(2);
        assertThat(report.at("/total/cost_usd").asText()).isEqualTo("1.734567891");
        assertThat(report.at("/total/requests").asLong()).isEqualTo(3);
        assertThat(report.at("/total/unserved").asLong()).isEqualTo(2);

        // last month's record only when the range reaches it
        JsonNode wide = json(ok("spend", "--by", "tier", "--since", lastMonth.atZone(ZoneOffset.UTC).toLocalDate().toString(),
                "--until", today.toString(), "--json").out());
        assertThat(wide.get("data").findValuesAsText("tier")).containsExactly("high", "mid", "ultra");
        assertThat(wide.at("/total/cost_usd").asText()).isEqualTo("10.734567891");

        String table = ok("spend", "--by", "team").out();
        assertThat(table.lines().filter(l -> l.startsWith("platform")).findFirst().orElseThrow())
                .containsPattern("platform +2 +2 +1500").endsWith("1.234567891");
        assertThat(table.lines().filter(l -> l.startsWith("TOTAL")).findFirst().orElseThrow()).endsWith("1.734567891");

        // an empty range: just the header
        assertThat(ok("spend", "--by", "team", "--csv", "--since", "2020-01-01", "--until", "2020-01-31").out())
                .isEqualTo("team,requests,unserved,input_tokens,cached_input_tokens,output_tokens,reasoning_tokens,cost_usd\r\n");
    }
}
