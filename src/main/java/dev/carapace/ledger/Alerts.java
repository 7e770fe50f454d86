package dev.carapace.ledger;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.ledger.book.LedgerBook;
import dev.carapace.store.LedgerTables;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Budget alerts: when spend crosses a soft threshold, or reaches (or is refused at) the hard limit, once per
 * budget, window and threshold — across gateways too, since the store decides who sends. Each alert is logged
 * and POSTed as JSON to every configured webhook, retried with exponential backoff on a background scheduler;
 * nothing here ever blocks a request for the network.
 */
public final class Alerts {

    private static final Logger log = LoggerFactory.getLogger(Alerts.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    static final int MAX_ATTEMPTS = 8;

    private final LedgerBook book;
    private final List<URI> webhooks;
    private final HttpClient http;
    private final ScheduledExecutorService scheduler;
    private final Clock clock;
    private final Duration firstRetry;
    /** Alerts this process already knows were sent: spares the store a write per call above a threshold. */
    private final Set<String> sent = ConcurrentHashMap.newKeySet();

    public Alerts(LedgerBook book, List<URI> webhooks, HttpClient http, ScheduledExecutorService scheduler, Clock clock,
                  Duration firstRetry) {
        this.book = book;
        this.webhooks = List.copyOf(webhooks);
        this.http = http;
        this.scheduler = scheduler;
        this.clock = clock;
        this.firstRetry = firstRetry;
    }

    /** After a charge: alerts for every threshold the window's spend has reached. */
    void spent(Budget b, LedgerTables.WindowRow w) {
        int percent = Math.max(percent(w.spentNanos(), b.limitNanos()), percent(w.spentTokens(), b.limitTokens()));
        if (percent < 0) return;
        for (int threshold : b.softPercents()) {
            if (percent >= threshold) once(b, w.key().windowStart(), threshold, w, "soft_limit");
        }
        if (percent >= 100) once(b, w.key().windowStart(), 100, w, "hard_limit");
    }

    /**
     * A request was refused by this budget's limit. That is the hard-limit alert only once the budget is really
     * used up (spend at its highest soft threshold, or 90%): a refusal because calls in flight hold the rest, or
     * because one call's worst case is larger than what is left, must not use up the once-per-window alert.
     */
    void refused(Budget b, LedgerTables.WindowRow w) {
        int percent = Math.max(percent(w.spentNanos(), b.limitNanos()), percent(w.spentTokens(), b.limitTokens()));
        int usedUp = b.softPercents().isEmpty() ? 90 : b.softPercents().get(b.softPercents().size() - 1);
        if (percent >= usedUp) once(b, w.key().windowStart(), 100, w, "hard_limit");
    }

    /**
     * An upstream reported usage impossible for the call (see {@code Ledger#implausible}): logged and sent to the
     * webhooks every time, since each one is money the provider may bill and the budget was not charged.
     */
    void implausibleUsage(String requestId, dev.carapace.identity.Principal who, String model, String deployment,
                          String why, dev.carapace.model.Usage reported, int maxOutput, long promptBound, long charged,
                          long disputed) {
        ObjectNode event = JSON.createObjectNode()
                .put("type", "usage.implausible")
                .put("request_id", requestId)
                .put("team", who.team())
                .put("user", who.user())
                .put("model", model)
                .put("deployment", deployment)
                .put("reason", why)
                .put("reported_input_tokens", reported.inputTokens())
                .put("reported_output_tokens", reported.outputTokens())
                .put("max_tokens", maxOutput)
                .put("prompt_bound_tokens", promptBound)
                .put("charged", Money.amount(charged).toPlainString())
                .put("disputed", Money.amount(disputed).toPlainString())
                .put("at", clock.instant().toString());
        log.warn("usage alert: deployment {} reported {} (request {}, team {}); charged {}, disputed {} (not charged)",
                deployment, why, requestId, who.team(), Money.format(charged), Money.format(disputed));
        post(event);
    }

    /**
     * A scheduled job was paused after failing again and again (or its schedule could not be read): logged and sent
     * to the webhooks with its owner, who pays for it and must decide what to do.
     */
    public void jobPaused(String jobId, String ownerUser, String ownerTeam, String reason) {
        ObjectNode event = JSON.createObjectNode()
                .put("type", "job.paused")
                .put("job", jobId)
                .put("owner_user", ownerUser)
                .put("owner_team", ownerTeam)
                .put("reason", reason)
                .put("at", clock.instant().toString());
        post(event);
    }

    private static int percent(long spent, Long limit) {
        if (limit == null) return -1;
        if (limit == 0) return 100;
        long pct = spent <= Long.MAX_VALUE / 100 ? spent * 100 / limit
                : java.math.BigInteger.valueOf(spent).multiply(java.math.BigInteger.valueOf(100))
                        .divide(java.math.BigInteger.valueOf(limit)).min(java.math.BigInteger.valueOf(100)).longValue();
        return (int) Math.min(100, pct);
    }

    private void once(Budget b, long windowStart, int threshold, LedgerTables.WindowRow w, String kind) {
        String key = b.id() + "|" + windowStart + "|" + threshold;
        if (sent.contains(key)) return;
        Instant now = clock.instant();
        if (!book.markAlert(b.id(), windowStart, threshold, now)) {
            sent.add(key);
            return;
        }
        sent.add(key);
        ObjectNode event = JSON.createObjectNode()
                .put("type", "budget." + kind)
                .put("budget", b.id())
                .put("threshold_percent", threshold)
                .put("period", b.period().label())
                .put("window_start", Instant.ofEpochMilli(windowStart).toString())
                .put("resets_at", b.period().reset(now, b.zone()) == null ? null : b.period().reset(now, b.zone()).toString())
                .put("currency", b.currency())
                .put("spent", Money.amount(w.spentNanos()).toPlainString())
                .put("limit", b.limitNanos() == null ? null : Money.amount(b.limitNanos()).toPlainString())
                .put("spent_tokens", w.spentTokens())
                .put("limit_tokens", b.limitTokens())
                .put("at", now.toString());
        log.warn("budget alert {} {}% ({}): spent {} {} of {}", b.id(), threshold, kind, b.currency(),
                Money.format(w.spentNanos()), b.limitNanos() == null ? "-" : Money.format(b.limitNanos()));
        post(event);
    }

    /** Sends {@code event} to every webhook, each in the background with its retries. */
    private void post(ObjectNode event) {
        byte[] body;
        try {
            body = JSON.writeValueAsBytes(event);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        for (URI hook : webhooks) deliver(hook, body, 1, firstRetry);
    }

    private void deliver(URI hook, byte[] body, int attempt, Duration backoff) {
        HttpRequest req = HttpRequest.newBuilder(hook).timeout(Duration.ofSeconds(10))
                .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
        http.sendAsync(req, HttpResponse.BodyHandlers.discarding()).whenComplete((res, err) -> {
            if (err == null && res.statusCode() / 100 == 2) return;
            String why = err != null ? err.getClass().getSimpleName() : "status " + res.statusCode();
            if (attempt >= MAX_ATTEMPTS) {
                log.error("budget alert to {} failed {} times ({}); giving up", hook.getHost(), attempt, why);
                return;
            }
            log.warn("budget alert to {} failed ({}); retry {} in {} ms", hook.getHost(), why, attempt + 1, backoff.toMillis());
            scheduler.schedule(() -> deliver(hook, body, attempt + 1, backoff.multipliedBy(2)), backoff.toMillis(), TimeUnit.MILLISECONDS);
        });
    }
}
