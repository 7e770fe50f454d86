package dev.carapace.server;

import dev.carapace.gateway.Call;
import dev.carapace.gateway.CallFilter;
import dev.carapace.model.ApiException;
import dev.carapace.model.Deployment;
import dev.carapace.model.Usage;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.time.Duration;

/**
 * Prometheus metrics: every HTTP request, and for model calls latency, time to first token, tokens by model,
 * tier and team, upstream errors and deployment cooldowns.
 */
final class Metrics implements CallFilter {

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

    String scrape() { return registry.scrape(); }

    PrometheusMeterRegistry registry() { return registry; }

    void httpRequest(String route, int status, long nanos) {
        Timer.builder("carapace.http.requests").description("HTTP requests by route and status")
                .tags("route", route, "status", Integer.toString(status))
                .register(registry).record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    }

    @Override
    public void completed(Call call) {
        String api = call.api().name().toLowerCase();
        String model = call.model() == null ? "none" : call.model().id();
        String tier = call.model() == null ? "none" : call.model().tier();
        String team = call.principal().team();
        String status = Integer.toString(call.status());
        Counter.builder("carapace.model.requests").description("Model calls by outcome")
                .tags("api", api, "model", model, "tier", tier, "team", team, "status", status)
                .register(registry).increment();
        Timer.builder("carapace.model.latency").description("Model call duration, whole answer")
                .tags("api", api, "model", model, "stream", Boolean.toString(call.request().stream()))
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofMinutes(10))
                .register(registry).record(System.nanoTime() - call.startNanos(), java.util.concurrent.TimeUnit.NANOSECONDS);
        if (call.firstTokenNanos() != 0) {
            Timer.builder("carapace.model.ttft").description("Time to first streamed token")
                    .tags("model", model)
                    .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofMinutes(2))
                    .register(registry).record(call.firstTokenNanos() - call.startNanos(), java.util.concurrent.TimeUnit.NANOSECONDS);
        }
        privacy(call.screening());
        Usage u = call.usage();
        tokens("input", u.inputTokens(), model, tier, team);
        tokens("output", u.outputTokens(), model, tier, team);
        tokens("cached_input", u.cachedInputTokens(), model, tier, team);
        tokens("reasoning", u.reasoningTokens(), model, tier, team);
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

    private void tokens(String direction, long n, String model, String tier, String team) {
        if (n == 0) return;
        Counter.builder("carapace.tokens").description("Tokens by direction, model, tier and team")
                .tags("direction", direction, "model", model, "tier", tier, "team", team)
                .register(registry).increment(n);
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
