package dev.carapace.ledger;

import dev.carapace.config.CarapaceConfig;
import dev.carapace.config.ConfigLoader;
import dev.carapace.identity.Principal;
import dev.carapace.ledger.book.LedgerBook;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.openai.OpenAiFormat;
import dev.carapace.server.Carapace;
import dev.carapace.store.LedgerTables;
import dev.carapace.store.Store;
import dev.carapace.store.UsageLog.UsageRecord;

import java.io.IOException;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * Shared helpers of the ledger tests: a small config with OpenAI-kind upstreams, starting a gateway on it, and
 * reading what the ledger stored. Public so the gateway-level tests in {@code dev.carapace.server} can use the
 * package-private parts of the ledger through it.
 */
public final class LedgerTestKit {

    public static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    private LedgerTestKit() {}

    /** {@link Ledger#promptBound} for tests outside this package. */
    public static long promptBound(ChatRequest request) { return PromptSize.promptBound(request); }

    /** What {@link Ledger} reserves for a chat prompt that its byte bound would have refused, at {@code factor}. */
    public static long promptEstimate(ChatRequest request, double factor) {
        return PromptSize.promptEstimate(request, 16, factor).tokens();
    }

    /** As {@link #promptEstimate}, counting long texts through one cache of counts, as a gateway's ledger does. */
    public static java.util.function.ToLongFunction<ChatRequest> cachedPromptEstimate(double factor) {
        TokenCounts counts = new TokenCounts(8_000_000);
        return r -> PromptSize.promptEstimate(r, 16, factor, counts::count).tokens();
    }

    /** The neutral request an OpenAI chat body parses into. */
    public static ChatRequest parseOpenAi(String body) {
        return new OpenAiFormat().parseRequest(body.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * A config: provider {@code up} (OpenAI kind) at {@code upstreamBaseUrl}; models {@code m-mid} (mid, 3/6 USD per
     * M, max output 4096), {@code m-free} (free, price 0), {@code m-ultra} (ultra, 150/150), {@code m-high}
     * (high, {@code highPrice}); teams platform and research. {@code extra} is appended at top level.
     */
    public static String yaml(String upstreamBaseUrl, String readTimeout, String midPrice, String extra) {
        return """
                org: acme
                providers:
                  up: {kind: openai, base_url: %s, api_key_env: UP_KEY, read_timeout: %s}
                models:
                  m-mid:
                    tier: mid
                    context_window: 128000
                    max_output_tokens: 4096
                    price: %s
                    deployments: [{provider: up, model: up-model}]
                  m-free:
                    tier: free
                    context_window: 32000
                    max_output_tokens: 2048
                    price: {input: 0, output: 0}
                    deployments: [{provider: up, model: up-free}]
                  m-ultra:
                    tier: ultra
                    context_window: 128000
                    max_output_tokens: 4096
                    price: {input: 150, output: 150}
                    deployments: [{provider: up, model: up-ultra}]
                teams:
                  platform: {}
                  research: {}
                routing:
                  max_attempts: 1
                  failure_threshold: 100
                  cooldown: 0s
                %s
                """.formatted(upstreamBaseUrl, readTimeout, midPrice, extra);
    }

    public static Carapace start(String yaml, Path dataDir, Clock clock) {
        return start(yaml, dataDir, Map.of("UP_KEY", "secret-up"), clock);
    }

    public static Carapace start(String yaml, Path dataDir, Map<String, String> env, Clock clock) {
        CarapaceConfig config;
        try {
            config = ConfigLoader.load(yaml, "ledger-test.yaml");
        } catch (Exception e) {
            throw new AssertionError("test config does not load", e);
        }
        Function<String, String> lookup = env::get;
        return Carapace.start(config, dataDir, lookup, clock, 0);
    }

    public static String memberKey(Carapace c, String user, String team) {
        return c.keyAdmin().create(user, team, Principal.Role.MEMBER, null).secret();
    }

    public static Budget teamBudget(Carapace c, String team, String amount, String soft, Map<String, String> tiers) {
        return c.ledger().budgets().set(new Budgets.Request("team", team, amount == null ? null : new BigDecimal(amount),
                null, "month", "UTC", "USD", soft, tiers));
    }

    public static String chatBody(String model, boolean stream, String extra) {
        return """
                {"model":"%s","stream":%s,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello there"}]%s}
                """.formatted(model, stream, extra);
    }

    public static HttpResponse<String> post(int port, String key, String body) {
        HttpRequest r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
                .header("content-type", "application/json").header("authorization", "Bearer " + key)
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
        try {
            return HTTP.send(r, HttpResponse.BodyHandlers.ofString());
        } catch (IOException | InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    /** The budget's total ({@code *}) window of the month holding {@code now} (budgets here are monthly, UTC). */
    public static LedgerTables.WindowRow totalWindow(Store store, String budgetId, Instant now) {
        long start = Period.MONTH.start(now, ZoneOffset.UTC).toEpochMilli();
        Optional<LedgerTables.WindowRow> w = LedgerBook.of(store).window(new LedgerTables.WindowKey(budgetId, start, "*"));
        return w.orElse(new LedgerTables.WindowRow(new LedgerTables.WindowKey(budgetId, start, "*"), 0, 0, 0, 0));
    }

    /** Every usage record of a team, oldest first. */
    public static List<UsageRecord> records(Store store, String team) {
        return store.jdbi().withHandle(h -> h.createQuery("SELECT request_id FROM usage_records WHERE team = :t ORDER BY seq")
                        .bind("t", team).mapTo(String.class).list())
                .stream().map(id -> store.usageLog().byRequestId(id).orElseThrow()).toList();
    }

    public static long sumCost(Store store, String team) {
        return store.jdbi().withHandle(h -> h.createQuery("SELECT COALESCE(SUM(cost_nanos), 0) FROM usage_records WHERE team = :t")
                .bind("t", team).mapTo(Long.class).one());
    }

    /** (state, count) of the reservations table. */
    public static Map<String, Long> reservationStates(Store store) {
        return store.jdbi().withHandle(h -> h.createQuery("SELECT state, COUNT(*) AS n FROM reservations GROUP BY state")
                .reduceRows(new java.util.TreeMap<String, Long>(), (m, row) -> {
                    m.put(row.getColumn("state", String.class), row.getColumn("n", Long.class));
                    return m;
                }));
    }
}
