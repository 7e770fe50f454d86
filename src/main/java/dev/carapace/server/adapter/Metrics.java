package dev.carapace.server.adapter;

import dev.carapace.gateway.Call;
import dev.carapace.gateway.CallFilter;
import dev.carapace.model.ApiException;
import dev.carapace.model.Deployment;
import dev.carapace.model.Usage;
import dev.carapace.model.WireApi;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Prometheus metrics: every HTTP request, and for model calls latency, time to first token, tokens by model,
 * tier and team, upstream errors and deployment cooldowns.
 */
public final class Metrics implements CallFilter {

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    // The meters of every request, by their tag values. Registering finds a meter by name and sorted tags, which
    // allocates and sorts on every call; these maps make the request path one lookup per meter.
    private final Map<HttpKey, Timer> http = new ConcurrentHashMap<>();
    private final Map<CallKey, CallMeters> calls = new ConcurrentHashMap<>();
    private final Map<String, Timer> ttft = new ConcurrentHashMap<>();
    private final Map<TokenKey, Counter> tokens = new ConcurrentHashMap<>();

    private record HttpKey(String route, int status) {}

    private record CallKey(WireApi api, String model, String tier, String team, int status, boolean stream) {}

    /**
     * A call's meters, found with one lookup: its count, its latency, and its token counters by direction (in
     * {@link #DIRECTIONS} order), each looked up in {@link #tokens} the first time that count moves.
     */
    private record CallMeters(Counter requests, Timer latency, Counter[] tokens) {}

    private static final String[] DIRECTIONS = {"input", "output", "cached_input", "reasoning"};

    private record TokenKey(String direction, String model, String tier, String team) {}

    public String scrape() { return registry.scrape(); }

    public PrometheusMeterRegistry registry() { return registry; }

    public void httpRequest(String route, int status, long nanos) {
        http.computeIfAbsent(new HttpKey(route, status), k -> Timer.builder("carapace.http.requests")
                        .description("HTTP requests by route and status")
                        .tags("route", k.route(), "status", Integer.toString(k.status()))
                        .register(registry))
                .record(nanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void completed(Call call) {
        String model = call.model() == null ? "none" : call.model().id();
        String tier = call.model() == null ? "none" : call.model().tier();
        String team = call.principal().team();
        CallMeters m = calls.computeIfAbsent(
                new CallKey(call.api(), model, tier, team, call.status(), call.request().stream()), this::callMeters);
        m.requests().increment();
        m.latency().record(System.nanoTime() - call.startNanos(), TimeUnit.NANOSECONDS);
        if (call.firstTokenNanos() != 0) {
            ttft.computeIfAbsent(model, k -> Timer.builder("carapace.model.ttft")
                            .description("Time to first streamed token")
                            .tags("model", k)
                            .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1))
                            .maximumExpectedValue(Duration.ofMinutes(2))
                            .register(registry))
                    .record(call.firstTokenNanos() - call.startNanos(), TimeUnit.NANOSECONDS);
        }
        privacy(call.screening());
        Usage u = call.usage();
        tokens(m, 0, u.inputTokens(), model, tier, team);
        tokens(m, 1, u.outputTokens(), model, tier, team);
        tokens(m, 2, u.cachedInputTokens(), model, tier, team);
        tokens(m, 3, u.reasoningTokens(), model, tier, team);
    }

    private CallMeters callMeters(CallKey k) {
        String api = k.api().name().toLowerCase(Locale.ROOT);
        return new CallMeters(
                Counter.builder("carapace.model.requests").description("Model calls by outcome")
                        .tags("api", api, "model", k.model(), "tier", k.tier(), "team", k.team(),
                                "status", Integer.toString(k.status()))
                        .register(registry),
                Timer.builder("carapace.model.latency").description("Model call duration, whole answer")
                        .tags("api", api, "model", k.model(), "stream", Boolean.toString(k.stream()))
                        .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1))
                        .maximumExpectedValue(Duration.ofMinutes(10))
                        .register(registry),
                new Counter[DIRECTIONS.length]);
    }

    /** What the privacy router did: calls by decision, findings by type and the action their class got. */
    private void privacy(Call.Screening s) {
        if (s == null) return;
        Counter.builder("carapace.privacy.decisions").description("Model calls by privacy decision")
                .tags("decision", s.decision()).register(registry).increment();
        for (Call.Screening.Count c : s.counts()) {
            Counter.builder("carapace.privacy.findings").description("Sensitive values found, by type and action taken")
                    .tags("type", c.type(), "action", c.action()).register(registry).increment(c.findings());
        }
    }

    private void tokens(CallMeters m, int direction, long n, String model, String tier, String team) {
        if (n == 0) return;   // no series for a count that never moved (a model without reasoning tokens, say)
        Counter c = m.tokens()[direction];
        if (c == null) {
            // Racing callers find the same counter in the map; whichever stores it here last stores that one.
            c = tokens.computeIfAbsent(new TokenKey(DIRECTIONS[direction], model, tier, team), k -> Counter.builder("carapace.tokens")
                    .description("Tokens by direction, model, tier and team")
                    .tags("direction", k.direction(), "model", k.model(), "tier", k.tier(), "team", k.team())
                    .register(registry));
            m.tokens()[direction] = c;
        }
        c.increment(n);
    }

    @Override
    public void attemptFailed(Call call, Deployment deployment, ApiException failure, boolean cooldown) {
        Counter.builder("carapace.upstream.errors").description("Failed upstream attempts")
                .tags("deployment", deployment.id(), "code", String.valueOf(failure.code()))
                .register(registry).increment();
        if (cooldown) {
            Counter.builder("carapace.deployment.cooldowns").description("Times a deployment entered cooldown")
                    .tags("deployment", deployment.id()).register(registry).increment();
        }
    }
}
