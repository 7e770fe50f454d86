package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.ledger.Period;
import dev.carapace.ledger.book.LedgerBook;
import dev.carapace.store.LedgerTables.BudgetRow;
import dev.carapace.store.UsageLog.UsageRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;

import static dev.carapace.server.GatewayHarness.chat;
import static dev.carapace.server.GatewayHarness.json;
import static dev.carapace.testing.ScriptedUpstream.openAiText;
import static org.assertj.core.api.Assertions.assertThat;

/** {@code /api/budgets} and {@code /api/spend} on a real gateway, and a budget refusing a real call. */
class BudgetApiTest {

    @TempDir Path data;
    @TempDir Path workspaces;
    GatewayHarness h;

    @BeforeEach
    void start() throws Exception { h = new GatewayHarness(data); }

    @AfterEach
    void stop() { h.close(); }

    HttpResponse<String> put(String path, String key, String body) {
        return h.send(HttpRequest.newBuilder(URI.create(h.url(path))).header("authorization", "Bearer " + key)
                .header("content-type", "application/json").PUT(HttpRequest.BodyPublishers.ofString(body)).build());
    }

    HttpResponse<String> delete(String path, String key) {
        return h.send(HttpRequest.newBuilder(URI.create(h.url(path))).header("authorization", "Bearer " + key).DELETE().build());
    }

    JsonNode okJson(HttpResponse<String> r) {
        assertThat(r.statusCode()).as("status; body: %s", r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type")).hasValue("application/json");
        return json(r.body());
    }

    List<BudgetRow> stored() {
        return LedgerBook.of(h.carapace.store()).budgets();
    }

    List<String> ids(HttpResponse<String> list) {
        return okJson(list).get("data").findValuesAsText("id");
    }

    /**
     * Regression (an outside tester): a budget made while its subject had calls in flight never counted them. Its
     * window started from the records written so far, and the calls, reserved before it existed, were charged only
     * to the windows they held: the subject could spend what it had in flight again, for good. A call now counts on
     * the budgets in force when it ends; each window equals its subject's records.
     */
    @Test
    void aBudgetMadeOrMovedWhileItsSubjectsCallsAreInFlightCountsThem() throws Exception {
        okJson(put("/api/budgets/team:platform", h.adminKey, "{\"amount\": 1000, \"period\": \"month\"}"));
        h.a.enqueue(openAiText("before", 100, 10));
        assertThat(h.post("/v1/chat/completions", h.memberKey, chat("m-solo", false, "")).statusCode()).isEqualTo(200);

        var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();
        List<java.util.concurrent.Future<HttpResponse<String>>> inFlight = new java.util.ArrayList<>();
        for (int i = 0; i < 4; i++) {
            h.a.enqueue(dev.carapace.testing.ScriptedUpstream.delayed(openAiText("slow " + i, 1000 + i, 500 + i), 1500));
            inFlight.add(pool.submit(() -> h.post("/v1/chat/completions", h.memberKey, chat("m-solo", false, ""))));
        }
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> h.a.requestCount() == 5);
        // alice had no budget of her own; the team's moves to a week while the four are in flight
        okJson(put("/api/budgets/user:alice", h.adminKey, "{\"amount\": 1000, \"period\": \"month\"}"));
        okJson(put("/api/budgets/team:platform", h.adminKey, "{\"amount\": 1000, \"period\": \"week\"}"));
        for (var f : inFlight) assertThat(f.get(20, java.util.concurrent.TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        pool.close();

        assertThat(h.carapace.ledger().flush(5000)).isTrue();
        Instant now = Instant.now();
        long[] spent = records("user_id = 'alice'");
        assertThat(spent[1]).as("five calls' tokens").isEqualTo(110 + 4 * 1500 + 2 * (0 + 1 + 2 + 3));
        assertThat(window("user:alice", Period.MONTH.start(now, ZoneOffset.UTC).toEpochMilli())).containsExactly(spent);
        assertThat(window("team:platform", Period.WEEK.start(now, ZoneOffset.UTC).toEpochMilli())).containsExactly(spent);
    }

    /**
     * Regression (an outside tester): a call ending in the very moment its budget was made was in neither the records
     * the new window started from nor charged to it (one to nine calls lost in each of four runs): it read the budgets
     * before the change and was charged after the records were read. Fast calls run here while budgets are made,
     * moved, deleted and made again; after, each window equals its subject's records, to the nano.
     */
    @Test
    void callsEndingWhileBudgetsChangeCountOnceEachOnTheBudgetsInForce() throws Exception {
        h.a.respond(req -> openAiText("ok", 10, 5));
        var stop = new java.util.concurrent.atomic.AtomicBoolean();
        var calls = new java.util.concurrent.atomic.AtomicInteger();
        var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();
        List<java.util.concurrent.Future<?>> clients = new java.util.ArrayList<>();
        for (int c = 0; c < 6; c++) {
            clients.add(pool.submit(() -> {
                while (!stop.get()) {
                    assertThat(h.post("/v1/chat/completions", h.memberKey, chat("m-solo", false, "")).statusCode()).isEqualTo(200);
                    calls.incrementAndGet();
                }
                return null;
            }));
        }
        for (String edit : List.of("user:alice month", "team:platform month", "user:alice week", "team:platform day",
                "-user:alice", "user:alice none", "team:platform week")) {
            Thread.sleep(150);
            if (edit.startsWith("-")) {
                assertThat(delete("/api/budgets/" + edit.substring(1), h.adminKey).statusCode()).isEqualTo(200);
            } else {
                String[] e = edit.split(" ");
                okJson(put("/api/budgets/" + e[0], h.adminKey, "{\"amount\": 1000, \"period\": \"" + e[1] + "\"}"));
            }
        }
        Thread.sleep(150);
        stop.set(true);
        for (var f : clients) f.get(20, java.util.concurrent.TimeUnit.SECONDS);
        pool.close();
        assertThat(calls.get()).as("calls made while the budgets changed").isGreaterThan(50);

        assertThat(h.carapace.ledger().flush(5000)).isTrue();
        Instant now = Instant.now();
        assertThat(window("user:alice", 0)).containsExactly(records("user_id = 'alice'"));
        long week = Period.WEEK.start(now, ZoneOffset.UTC).toEpochMilli();
        assertThat(window("team:platform", week)).containsExactly(records("team = 'platform' AND at >= " + week));
    }

    /** Spent nanos and tokens of a budget's window, as the tables hold it. */
    private long[] window(String budget, long start) {
        var w = LedgerBook.of(h.carapace.store()).windows(budget).stream()
                .filter(r -> r.key().windowStart() == start && r.key().tier().equals("*")).findFirst().orElseThrow();
        assertThat(w.reservedNanos()).as("nothing left held on %s", budget).isZero();
        return new long[] {w.spentNanos(), w.spentTokens()};
    }

    /** What the usage records where {@code where} charge, nanos and tokens. */
    private long[] records(String where) {
        return h.carapace.store().jdbi().withHandle(x -> x.createQuery("SELECT COALESCE(SUM(cost_nanos), 0), "
                + "COALESCE(SUM(input_tokens + output_tokens), 0) FROM usage_records WHERE " + where)
                .map((rs, ctx) -> new long[] {rs.getLong(1), rs.getLong(2)}).one());
    }

    @Test
    void adminCreatesReadsReplacesAndDeletes() {
        JsonNode b = okJson(put("/api/budgets/team:platform", h.adminKey, """
                {"amount": "500.00", "tokens": 2000000, "period": "week", "time_zone": "Europe/Paris", "currency": "EUR",
                 "soft": [50, 80], "tiers": {"ultra": "0", "free": "exempt", "high": 12.5}}"""));
        Instant now = Instant.now();
        ZoneId paris = ZoneId.of("Europe/Paris");
        assertThat(b.get("id").asText()).isEqualTo("team:platform");
        assertThat(b.get("scope").asText()).isEqualTo("team");
        assertThat(b.get("subject").asText()).isEqualTo("platform");
        assertThat(b.get("period").asText()).isEqualTo("week");
        assertThat(b.get("time_zone").asText()).isEqualTo("Europe/Paris");
        assertThat(b.get("currency").asText()).isEqualTo("EUR");
        assertThat(b.get("amount").asText()).isEqualTo("500");
        assertThat(b.get("tokens").asLong()).isEqualTo(2_000_000);
        assertThat(b.get("soft").toString()).isEqualTo("[50,80]");
        assertThat(b.get("tiers").toString()).isEqualTo("{\"free\":\"exempt\",\"high\":\"12.5\",\"ultra\":\"0\"}");
        assertThat(b.at("/current/window_start").asText()).isEqualTo(Period.WEEK.start(now, paris).toString());
        assertThat(b.at("/current/resets_at").asText()).isEqualTo(Period.WEEK.reset(now, paris).toString());
        assertThat(b.at("/current/spent").asText()).isEqualTo("0");
        assertThat(b.at("/current/reserved").asText()).isEqualTo("0");
        assertThat(b.at("/current/spent_tokens").asLong()).isZero();
        assertThat(b.at("/current/reserved_tokens").asLong()).isZero();
        assertThat(b.at("/current/percent").decimalValue()).isZero();

        assertThat(okJson(h.get("/api/budgets/team:platform", h.adminKey))).isEqualTo(b);
        assertThat(ids(h.get("/api/budgets", h.adminKey))).containsExactly("team:platform");
        assertThat(stored()).singleElement().satisfies(row -> {
            assertThat(row.limitNanos()).isEqualTo(500_000_000_000L);
            assertThat(row.period()).isEqualTo("week");
        });

        // PUT replaces: what is not given takes its default; a number amount stays exact
        JsonNode replaced = okJson(put("/api/budgets/team:platform", h.adminKey, "{\"amount\": 0.1, \"soft\": \"60,70\"}"));
        assertThat(replaced.get("amount").asText()).isEqualTo("0.1");
        assertThat(replaced.get("tokens").isNull()).isTrue();
        assertThat(replaced.get("period").asText()).isEqualTo("month");
        assertThat(replaced.get("time_zone").asText()).isEqualTo("UTC");
        assertThat(replaced.get("soft").toString()).isEqualTo("[60,70]");
        assertThat(replaced.get("tiers").size()).isZero();
        assertThat(stored()).singleElement().extracting(BudgetRow::limitNanos).isEqualTo(100_000_000L);

        okJson(put("/api/budgets/org:acme", h.adminKey, "{\"tokens\": 5}"));
        okJson(put("/api/budgets/user:alice", h.adminKey, "{\"amount\": \"3\"}"));
        assertThat(ids(h.get("/api/budgets", h.adminKey))).containsExactly("org:acme", "team:platform", "user:alice");

        JsonNode deleted = okJson(delete("/api/budgets/team:platform", h.adminKey));
        assertThat(deleted.get("id").asText()).isEqualTo("team:platform");
        assertThat(deleted.get("deleted").asBoolean()).isTrue();
        assertThat(stored()).extracting(BudgetRow::id).containsExactly("org:acme", "user:alice");

        HttpResponse<String> gone = h.get("/api/budgets/team:platform", h.adminKey);
        assertThat(gone.statusCode()).isEqualTo(404);
        assertThat(json(gone.body()).at("/error/code").asText()).isEqualTo("budget_not_found");
        HttpResponse<String> again = delete("/api/budgets/team:platform", h.adminKey);
        assertThat(again.statusCode()).isEqualTo(404);
        assertThat(json(again.body()).at("/error/param").asText()).isEqualTo("id");
    }

    @Test
    void membersSeeOnlyTheBudgetsOnTheirOwnPath() throws Exception {
        h.close();
        Path ws = java.nio.file.Files.createDirectories(workspaces.resolve("nightly"));
        h = new GatewayHarness(data, """
                agents:
                  nightly: {workspace: %s, model: m-solo, tools: [read], owner: {user: root}}
                """.formatted(ws));
        HttpResponse<String> withQuery = h.get("/api/budgets?scope=team", h.memberKey);
        assertThat(withQuery.statusCode()).as("a filter it does not have is refused, not ignored").isEqualTo(400);
        assertThat(withQuery.body()).contains("scope: unknown parameter");
        for (String id : List.of("org:acme", "team:platform", "team:research", "user:alice", "user:rita", "user:root", "agent:nightly")) {
            okJson(put("/api/budgets/" + id, h.adminKey, "{\"amount\": \"10\"}"));
        }
        assertThat(ids(h.get("/api/budgets", h.adminKey))).hasSize(7);
        assertThat(ids(h.get("/api/budgets", h.memberKey))).containsExactly("org:acme", "team:platform", "user:alice");
        assertThat(ids(h.get("/api/budgets", h.researchKey))).containsExactly("org:acme", "team:research", "user:rita");

        assertThat(okJson(h.get("/api/budgets/team:platform", h.memberKey)).get("amount").asText()).isEqualTo("10");
        assertThat(okJson(h.get("/api/budgets/user:alice", h.memberKey)).get("id").asText()).isEqualTo("user:alice");

        // another team's budget looks exactly like one that does not exist
        HttpResponse<String> hidden = h.get("/api/budgets/team:research", h.memberKey);
        HttpResponse<String> nowhere = h.get("/api/budgets/team:nowhere", h.memberKey);
        assertThat(hidden.statusCode()).isEqualTo(404);
        assertThat(nowhere.statusCode()).isEqualTo(404);
        assertThat(json(hidden.body()).get("error").toString().replace("team:research", "X"))
                .isEqualTo(json(nowhere.body()).get("error").toString().replace("team:nowhere", "X"));
        assertThat(h.get("/api/budgets/user:root", h.memberKey).statusCode()).isEqualTo(404);
        assertThat(h.get("/api/budgets/agent:nightly", h.memberKey).statusCode()).isEqualTo(404);

        // members may not change budgets, not even their own
        List<BudgetRow> before = stored();
        HttpResponse<String> put = put("/api/budgets/user:alice", h.memberKey, "{\"amount\": \"1000000\"}");
        assertThat(put.statusCode()).isEqualTo(403);
        assertThat(json(put.body()).at("/error/code").asText()).isEqualTo("admin_required");
        HttpResponse<String> del = delete("/api/budgets/team:platform", h.memberKey);
        assertThat(del.statusCode()).isEqualTo(403);
        assertThat(json(del.body()).at("/error/code").asText()).isEqualTo("admin_required");
        assertThat(stored()).isEqualTo(before);

        assertThat(h.get("/api/budgets", null).statusCode()).isEqualTo(401);
        assertThat(h.get("/api/budgets", "cpk_not_a_key").statusCode()).isEqualTo(401);
    }

    @ParameterizedTest(name = "{0} {1} -> {2}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            team:platform | {"amount": "-1"}                                      | amount
            team:platform | {"amount": "lots"}                                    | amount
            team:platform | {"amount": true}                                      | amount
            team:platform | {"amount": "1000000000.01"}                           | amount
            team:platform | {"amount": "0.0000000001"}                            | amount
            team:platform | {}                                                    | amount
            team:platform | {"tokens": 1.5}                                       | tokens
            team:platform | {"tokens": -3}                                        | tokens
            team:platform | {"amount": 5, "period": "year"}                       | period
            team:platform | {"amount": 5, "period": 7}                            | period
            team:platform | {"amount": 5, "time_zone": "Mars/Olympus"}            | time_zone
            team:platform | {"amount": 5, "currency": "usd"}                      | currency
            team:platform | {"amount": 5, "soft": [90, 50]}                       | soft
            team:platform | {"amount": 5, "soft": [50, "x"]}                      | soft
            team:platform | {"amount": 5, "soft": "50,100"}                       | soft
            team:platform | {"amount": 5, "soft": {}}                             | soft
            team:platform | {"amount": 5, "tiers": {"mega": "1"}}                 | tiers
            team:platform | {"amount": 5, "tiers": {"ultra": "x"}}                | tiers
            team:platform | {"amount": 5, "tiers": {"ultra": null}}               | tiers
            team:platform | {"amount": 5, "tiers": {"ultra": "-1"}}               | tiers
            team:platform | {"amount": 5, "tiers": ["ultra"]}                     | tiers
            team:platform | {"amount": 1e999999999}                               | amount
            team:platform | {"amount": "1e-999999999"}                            | amount
            team:platform | {"amount": 5, "tiers": {"ultra": 1e999999999}}        | tiers
            team:platform | {"amount": 5, "tiers": {"ultra": 1e-999999999}}       | tiers
            team:platform | {"amount": 5, "colour": "red"}                        | colour
            team:platform | {"amount": 5, "scope": "team"}                        | scope
            team:platform | {"amount": 5, "subject": "research"}                  | subject
            team:marketing | {"amount": 5}                                        | id
            planet:mars   | {"amount": 5}                                         | id
            platform      | {"amount": 5}                                         | id
            team:         | {"amount": 5}                                         | id
            user:mallory  | {"amount": 5}                                         | id
            org:globex    | {"amount": 5}                                         | id
            agent:a b     | {"amount": 5}                                         | id
            """)
    void invalidPutsNameTheFieldAndChangeNothing(String id, String body, String param) {
        okJson(put("/api/budgets/team:platform", h.adminKey, "{\"amount\": \"100\", \"tiers\": {\"ultra\": \"0\"}}"));
        List<BudgetRow> before = stored();

        HttpResponse<String> r = put("/api/budgets/" + URLEncoder.encode(id, StandardCharsets.UTF_8).replace("%3A", ":"), h.adminKey, body);

        assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
        JsonNode error = json(r.body()).get("error");
        assertThat(error.get("param").asText()).isEqualTo(param);
        assertThat(error.get("type").asText()).isEqualTo("invalid_request_error");
        assertThat(error.get("message").asText()).contains(param);
        assertThat(stored()).isEqualTo(before);
        assertThat(h.carapace.ledger().budgets().list()).hasSize(1);
    }

    /**
     * Regression (found from outside): a member got 404 for the budget of an agent their runs are held to, and of a
     * job they manage; another team's stay hidden.
     */
    /** Regression: a budget for an agent or job that does not exist was accepted (and so limited nothing). */
    @Test
    void aBudgetForAnAgentOrJobThatDoesNotExistIsRefusedAndNothingIsStored() {
        for (String id : List.of("agent:nosuch", "job:nosuch")) {
            HttpResponse<String> r = put("/api/budgets/" + id, h.adminKey, "{\"amount\": \"10\"}");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
            assertThat(json(r.body()).at("/error/param").asText()).isEqualTo("id");
            assertThat(json(r.body()).at("/error/message").asText()).contains("no " + id.substring(0, id.indexOf(':')) + " 'nosuch'");
        }
        assertThat(stored()).isEmpty();
    }

    @Test
    void membersAlsoSeeTheBudgetsOfTheAgentsTheyUseAndTheJobsTheyManage() throws Exception {
        h.close();
        Path ws = java.nio.file.Files.createDirectories(workspaces.resolve("helper"));
        Path lab = java.nio.file.Files.createDirectories(workspaces.resolve("lab"));
        h = new GatewayHarness(data, """
                agents:
                  helper: {workspace: %s, model: m-solo, tools: [read], owner: {team: platform}}
                  lab: {workspace: %s, model: m-solo, tools: [read], owner: {team: research}}
                """.formatted(ws, lab));
        for (String id : List.of("agent:helper", "agent:lab")) okJson(put("/api/budgets/" + id, h.adminKey, "{\"amount\": \"5\"}"));
        HttpResponse<String> job = h.post("/api/jobs", h.memberKey, "{\"id\":\"alices\",\"agent\":\"helper\",\"message\":\"m\","
                + "\"schedule\":{\"every\":\"1h\"},\"budget\":{\"amount\":\"2\",\"period\":\"day\"}}");
        assertThat(job.statusCode()).as(job.body()).isEqualTo(201);

        assertThat(ids(h.get("/api/budgets", h.memberKey))).contains("agent:helper", "job:alices").doesNotContain("agent:lab");
        assertThat(h.get("/api/budgets/agent:helper", h.memberKey).statusCode()).isEqualTo(200);
        assertThat(h.get("/api/budgets/job:alices", h.memberKey).statusCode()).isEqualTo(200);
        assertThat(h.get("/api/budgets/agent:lab", h.memberKey).statusCode()).isEqualTo(404);
        assertThat(ids(h.get("/api/budgets", h.researchKey))).contains("agent:lab").doesNotContain("agent:helper", "job:alices");
        assertThat(h.get("/api/budgets/job:alices", h.researchKey).statusCode()).isEqualTo(404);
    }

    @Test
    void unreadableBodiesChangeNothing() {
        for (String body : List.of("not json", "[1,2]", "")) {
            HttpResponse<String> r = put("/api/budgets/team:platform", h.adminKey, body);
            assertThat(r.statusCode()).as(body).isEqualTo(400);
            assertThat(json(r.body()).at("/error/message").asText()).startsWith("Request body");
        }
        assertThat(stored()).isEmpty();
    }

    @Test
    void spendShowsAdminsEverythingAndMembersTheirOwn() {
        Instant now = Instant.now();
        h.carapace.store().usageLog().insertBatch(List.of(
                usage("s1", now, "platform", "alice", "m-mid", 2_000_000_000L),
                usage("s2", now, "platform", "alice", "m-claude", 500_000_000L),
                usage("s3", now, "platform", "root", "m-mid", 7_000_000_000L),
                usage("s4", now, "research", "rita", "m-mid", 1_000_000_000L)));

        JsonNode all = okJson(h.get("/api/spend?by=user", h.adminKey));
        assertThat(all.get("data").findValuesAsText("user")).containsExactly("root", "alice", "rita");
        assertThat(all.get("user").isNull()).isTrue();
        assertThat(all.at("/total/cost_usd").asText()).isEqualTo("10.5");
        assertThat(okJson(h.get("/api/spend?by=team", h.adminKey)).get("data").findValuesAsText("team"))
                .containsExactly("platform", "research");

        JsonNode mine = okJson(h.get("/api/spend?by=user", h.memberKey));
        assertThat(mine.get("user").asText()).isEqualTo("alice");
        assertThat(mine.get("data").findValuesAsText("user")).containsExactly("alice");
        assertThat(mine.at("/data/0/cost_usd").asText()).isEqualTo("2.5");
        assertThat(mine.at("/data/0/requests").asLong()).isEqualTo(2);
        JsonNode myTeam = okJson(h.get("/api/spend?by=team", h.memberKey));
        assertThat(myTeam.get("data").findValuesAsText("team")).containsExactly("platform");
        assertThat(myTeam.at("/data/0/cost_usd").asText()).isEqualTo("2.5");   // not root's 7 USD
        JsonNode myModels = okJson(h.get("/api/spend?by=model", h.memberKey));
        assertThat(myModels.get("data").findValuesAsText("model")).containsExactly("m-mid", "m-claude");
        JsonNode rita = okJson(h.get("/api/spend?by=team", h.researchKey));
        assertThat(rita.get("data").findValuesAsText("team")).containsExactly("research");

        LocalDate today = LocalDate.now(ZoneOffset.UTC);
        assertThat(mine.get("since").asText()).isEqualTo(today.withDayOfMonth(1).toString());
        assertThat(mine.get("until").asText()).isEqualTo(today.toString());
        JsonNode past = okJson(h.get("/api/spend?by=team&since=2020-01-01&until=2020-12-31", h.adminKey));
        assertThat(past.get("data").size()).isZero();
        assertThat(past.at("/total/cost_usd").asText()).isEqualTo("0");
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', textBlock = """
            /api/spend                                         | by
            /api/spend?by=planet                               | by
            /api/spend?by=team&since=2026-13-01                | since
            /api/spend?by=team&until=tomorrow                  | until
            /api/spend?by=team&since=2026-11-30&until=2026-11-01 | since
            /api/spend?by=team&user=rita                       | user
            """)
    void badSpendQueriesNameTheParameter(String path, String param) {
        HttpResponse<String> r = h.get(path, h.memberKey);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
        assertThat(json(r.body()).at("/error/param").asText()).isEqualTo(param);
        assertThat(json(r.body()).at("/error/message").asText()).startsWith(param);
    }

    @Test
    void aSpentBudgetRefusesTheCallUntilItResets() {
        JsonNode b = okJson(put("/api/budgets/team:platform", h.adminKey, "{\"amount\": \"0.000050\"}"));
        assertThat(b.get("amount").asText()).isEqualTo("0.00005");

        // m-solo at 3/6 USD per M: the prompt plus 4096 output tokens may cost about 0.025 USD, far more than 0.00005
        HttpResponse<String> refused = h.post("/v1/chat/completions", h.memberKey, chat("m-solo", false, ""));
        Instant now = Instant.now();
        // OpenAI's shape: a 400, the one status Codex shows at once (it hides a 429's body and retries the others)
        assertThat(refused.statusCode()).isEqualTo(400);
        assertThat(refused.headers().firstValue("x-should-retry")).hasValue("false");
        JsonNode error = json(refused.body()).get("error");
        assertThat(error.get("code").asText()).isEqualTo("budget_exceeded");
        assertThat(error.get("type").asText()).isEqualTo("rate_limit_error");
        assertThat(error.get("message").asText()).startsWith("Usage limit reached. ")
                .contains("Budget team:platform would be exceeded")
                .contains("USD 0.00 of 0.00005 spent this month")
                .containsPattern("this call would reserve up to USD 0\\.0\\d+ \\(\\d+ tokens\\)")
                .contains("It resets at " + Period.MONTH.reset(now, ZoneOffset.UTC) + ".")
                .contains("An admin can raise it: carapace budget set, or PUT /api/budgets/team:platform.");
        // No hint to wait: a client that obeys one would sleep until the period resets instead of showing this.
        assertThat(refused.headers().firstValue("retry-after")).isEmpty();
        assertThat(refused.headers().firstValue("retry-after-ms")).isEmpty();
        assertThat(h.a.requestCount()).isZero();

        // Anthropic's shape: a 429 that says not to retry (what Claude Code shows at once; a 400 it sends again)
        HttpResponse<String> anthropic = h.post("/v1/messages", h.memberKey, GatewayHarness.messages("m-claude", false, ""));
        assertThat(anthropic.statusCode()).as(anthropic.body()).isEqualTo(429);
        assertThat(anthropic.headers().firstValue("x-should-retry")).hasValue("false");
        assertThat(anthropic.headers().firstValue("retry-after")).isEmpty();
        assertThat(json(anthropic.body()).at("/error/type").asText()).isEqualTo("rate_limit_error");
        assertThat(json(anthropic.body()).at("/error/message").asText()).startsWith("Usage limit reached. Budget team:platform");
        assertThat(h.claude.requestCount()).isZero();

        // nothing was spent or left held by the refused call
        JsonNode current = okJson(h.get("/api/budgets/team:platform", h.memberKey)).get("current");
        assertThat(current.get("spent").asText()).isEqualTo("0");
        assertThat(current.get("reserved").asText()).isEqualTo("0");

        // another team is not held to it
        h.a.enqueue(openAiText("Hi!", 12, 3));
        assertThat(h.post("/v1/chat/completions", h.researchKey, chat("m-solo", false, "")).statusCode()).isEqualTo(200);

        // with the budget gone the call goes through
        okJson(delete("/api/budgets/team:platform", h.adminKey));
        h.a.enqueue(openAiText("Hi!", 12, 3));
        assertThat(h.post("/v1/chat/completions", h.memberKey, chat("m-solo", false, "")).statusCode()).isEqualTo(200);
    }

    /** The record said 429 (the error kind's status) for a refusal an OpenAI client got as a 400. */
    @Test
    void aRefusalWasRecordedWithAnotherStatusThanTheClientGot() {
        okJson(put("/api/budgets/team:platform", h.adminKey, "{\"amount\": \"0.000050\"}"));
        String openAi = h.post("/v1/chat/completions", h.memberKey, chat("m-solo", false, ""))
                .headers().firstValue("x-request-id").orElseThrow();
        String anthropic = h.post("/v1/messages", h.memberKey, GatewayHarness.messages("m-claude", false, ""))
                .headers().firstValue("x-request-id").orElseThrow();

        List<UsageRecord> records = h.carapace.store().usageLog().recent(10);
        assertThat(records).filteredOn(r -> r.requestId().equals(openAi)).singleElement()
                .satisfies(r -> assertThat(r.status()).isEqualTo(400))
                .satisfies(r -> assertThat(r.errorCode()).isEqualTo("budget_exceeded"));
        assertThat(records).filteredOn(r -> r.requestId().equals(anthropic)).singleElement()
                .satisfies(r -> assertThat(r.status()).isEqualTo(429));
    }

    @Test
    void aCallChargesTheBudgetItPassed() {
        okJson(put("/api/budgets/team:platform", h.adminKey, "{\"amount\": \"1\", \"tokens\": 100000}"));
        h.a.enqueue(openAiText("Hi!", 1000, 500));
        HttpResponse<String> r = h.post("/v1/chat/completions", h.memberKey, chat("m-solo", false, ",\"max_tokens\":1000"));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);

        // 1000 in at 3 USD/M + 500 out at 6 USD/M = 0.006 USD, 1500 tokens
        JsonNode current = okJson(h.get("/api/budgets/team:platform", h.memberKey)).get("current");
        assertThat(current.get("spent").asText()).isEqualTo("0.006");
        assertThat(current.get("spent_tokens").asLong()).isEqualTo(1500);
        assertThat(current.get("reserved").asText()).isEqualTo("0");
        assertThat(current.get("percent").decimalValue()).isEqualByComparingTo("1.5");   // tokens 1.5% > money 0.6%
    }

    static UsageRecord usage(String id, Instant at, String team, String user, String model, long cost) {
        return new UsageRecord(id, at, "acme", team, user, "cpk_test", "openai", model, "mid", "a/up-model", 100, 0, 0,
                10, 0, false, false, 200, null, 1000, null, null, cost);
    }

    @Test
    void concurrentEditsEachApplyWholeAndKeepTheSpend() throws Exception {
        okJson(put("/api/budgets/team:platform", h.adminKey, "{\"amount\": \"100\"}"));
        h.a.enqueue(openAiText("Hi!", 1000, 500));
        assertThat(h.post("/v1/chat/completions", h.memberKey, chat("m-solo", false, "")).statusCode()).isEqualTo(200);
        String spent = okJson(h.get("/api/budgets/team:platform", h.adminKey)).at("/current/spent").asText();
        assertThat(new java.math.BigDecimal(spent)).isPositive();

        // 8 editors x 10 edits, each a whole budget whose fields all derive from one number: a mix of two edits
        // would show as an amount whose token limit or soft thresholds do not match it
        int editors = 8, edits = 10;
        List<Thread> threads = new java.util.ArrayList<>();
        java.util.concurrent.ConcurrentLinkedQueue<String> failures = new java.util.concurrent.ConcurrentLinkedQueue<>();
        for (int t = 0; t < editors; t++) {
            int editor = t;
            threads.add(Thread.ofVirtual().start(() -> {
                for (int e = 0; e < edits; e++) {
                    int n = 100 + editor * edits + e;
                    HttpResponse<String> r = put("/api/budgets/team:platform", h.adminKey,
                            "{\"amount\": %d, \"tokens\": %d, \"soft\": [%d], \"period\": \"%s\"}"
                                    .formatted(n, n * 1000, n % 99 + 1, n % 2 == 0 ? "month" : "week"));
                    if (r.statusCode() != 200) failures.add(r.statusCode() + " " + r.body());
                }
            }));
        }
        for (Thread t : threads) t.join();
        assertThat(failures).isEmpty();

        JsonNode b = okJson(h.get("/api/budgets/team:platform", h.adminKey));
        int n = b.get("amount").asInt();
        assertThat(n).isBetween(100, 100 + editors * edits - 1);
        assertThat(b.get("tokens").asLong()).isEqualTo(n * 1000L);
        assertThat(b.get("soft").toString()).isEqualTo("[" + (n % 99 + 1) + "]");
        assertThat(b.get("period").asText()).isEqualTo(n % 2 == 0 ? "month" : "week");
        assertThat(b.at("/current/spent").asText()).as("the spend survives every edit and period switch").isEqualTo(spent);
        assertThat(stored()).singleElement().satisfies(row -> assertThat(row.limitNanos()).isEqualTo(n * 1_000_000_000L));
    }
}
