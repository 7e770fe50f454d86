package dev.carapace.ledger;

import dev.carapace.gateway.Call;
import dev.carapace.gateway.CallFilter;
import dev.carapace.identity.Principal;
import dev.carapace.model.ApiException;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.Message;
import dev.carapace.model.ModelSpec;
import dev.carapace.model.Part;
import dev.carapace.model.Price;
import dev.carapace.model.Tool;
import dev.carapace.model.ToolCall;
import dev.carapace.model.Usage;
import dev.carapace.store.LedgerBook;
import dev.carapace.store.LedgerBook.Charge;
import dev.carapace.store.LedgerBook.Reservation;
import dev.carapace.store.LedgerBook.WindowKey;
import dev.carapace.store.LedgerBook.WindowRow;
import dev.carapace.store.UsageLog;
import dev.carapace.store.UsageLog.UsageRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Meters every call and enforces budgets, as a stage of the gateway pipeline.
 *
 * <p>When a call's model is known ({@link #routed}), the worst case is reserved on every budget on the caller's
 * path — an upper bound of the prompt's tokens plus the most output it may produce, at the model's price — and the
 * call is refused if any budget's limit would be passed, counting what calls in flight hold. A call that set no
 * {@code max_tokens} is given the model's maximum, so the upstream cannot produce more than was reserved: that,
 * plus the store's atomic check-and-hold, is why concurrent calls never overspend. The reservation is durable before
 * the upstream call. When the call ends ({@link #completed}), the reservation is replaced by the real cost and the
 * spend record is written, both at once and durably, before the response completes. Calls under no budget are
 * recorded asynchronously.
 */
public final class Ledger implements CallFilter, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Ledger.class);
    /** Upper bound of the tokens one image can cost in a prompt. */
    private static final int IMAGE_TOKENS = 2_000;
    /** Framing tokens a chat format adds per message, generously. */
    private static final int MESSAGE_TOKENS = 16;

    private final LedgerBook book;
    private final Budgets budgets;
    private final Alerts alerts;
    private final PriceBook prices;
    private final Clock clock;
    private final RecordWriter writer;
    /** This gateway, as the owner of its reservations. */
    private final String instance = UUID.randomUUID().toString();
    private final AtomicLong reservations = new AtomicLong();

    public Ledger(LedgerBook book, UsageLog usageLog, Budgets budgets, Alerts alerts, PriceBook prices, Clock clock) {
        this.book = book;
        this.budgets = budgets;
        this.alerts = alerts;
        this.prices = prices;
        this.clock = clock;
        this.writer = new RecordWriter(usageLog);
    }

    public Budgets budgets() { return budgets; }

    private record Held(Reservation reservation, List<Budget> budgets, Price price) {}

    @Override
    public void routed(Call call) {
        List<Budget> path = budgets.path(call.principal());
        if (path.isEmpty()) return;
        ModelSpec model = call.model().spec();
        Instant now = clock.instant();
        Price price = prices.at(model, now);
        ChatRequest req = call.request();
        int maxOutput = req.maxTokens() != null ? req.maxTokens() : model.maxOutputTokens();
        if (req.maxTokens() == null) call.request(req.withMaxTokens(maxOutput));
        long prompt = promptBound(req);
        long tokens = prompt + maxOutput;
        long nanos = Pricing.worstCase(price, prompt, maxOutput);

        for (Budget b : path) {
            Budget.TierRule rule = b.tiers().get(model.tier());
            if (rule != null && rule.capNanos() != null && rule.capNanos() == 0) {
                // A cap of 0 forbids the tier outright, even its zero-priced models.
                throw refusal(path, new WindowKey(b.id(), b.period().start(now, b.zone()).toEpochMilli(), model.tier()), nanos, now);
            }
        }
        List<Charge> charges = new ArrayList<>();
        for (Budget b : path) {
            Budget.TierRule rule = b.tiers().get(model.tier());
            long start = b.period().start(now, b.zone()).toEpochMilli();
            if (rule == null || !rule.exempt()) charges.add(new Charge(new WindowKey(b.id(), start, "*"), b.limitNanos(), b.limitTokens()));
            if (rule != null && rule.capNanos() != null) charges.add(new Charge(new WindowKey(b.id(), start, model.tier()), rule.capNanos(), null));
        }
        if (charges.isEmpty()) return;
        Reservation r = new Reservation(reservationId(), now, nanos, tokens,
                charges.stream().map(Charge::window).toList(), record(call, model.id(), model.tier(), prompt, maxOutput, nanos, now));
        WindowKey refused = book.reserve(r, instance, charges).orElse(null);
        if (refused != null) throw refusal(path, refused, nanos, now);
        call.note(Held.class, new Held(r, path, price));
    }

    @Override
    public void completed(Call call) {
        Held held = call.note(Held.class);
        Usage u = call.usage();
        Price price = held != null ? held.price : call.model() == null ? null : prices.at(call.model().spec(), clock.instant());
        long cost = price == null ? 0 : Pricing.cost(price, u);
        if (held != null && u.estimated()) {
            // Our own count can exceed the upstream's token for token (rare scripts); the upstream was held to
            // what was reserved, so an estimate is never charged beyond it.
            cost = Math.min(cost, held.reservation.nanos());
        }
        UsageRecord rec = record(call, cost);
        if (held == null) {
            writer.add(rec);
            return;
        }
        long tokens = u.inputTokens() + u.outputTokens();
        if (u.estimated()) tokens = Math.min(tokens, held.reservation.tokens());
        List<WindowRow> after = book.settle(held.reservation.id(), cost, tokens, rec);
        if (cost > held.reservation.nanos()) {
            log.warn("call {} cost {} nano-USD, more than the {} reserved", call.id(), cost, held.reservation.nanos());
        }
        for (WindowRow w : after) {
            if (!w.key().tier().equals("*")) continue;
            for (Budget b : held.budgets) if (b.id().equals(w.key().budgetId())) alerts.spent(b, w);
        }
    }

    /**
     * Settles, at their estimate, the reservations of gateways that died: those owned by another gateway that has
     * not sent a heartbeat for {@code staleAfter}. Their records are marked estimated, with error code
     * {@code interrupted}. With a store only this gateway writes to (SQLite), any other owner is dead: pass zero.
     *
     * @return how many were reconciled
     */
    public int reconcile(Duration staleAfter) {
        Instant cutoff = clock.instant().minus(staleAfter);
        int n = 0;
        for (LedgerBook.OpenReservation open : book.openReservations()) {
            if (open.owner().equals(instance) || open.heartbeatAt().isAfter(cutoff)) continue;
            Reservation r = open.reservation();
            UsageRecord c = r.context();
            UsageRecord rec = new UsageRecord(c.requestId(), c.at(), c.org(), c.team(), c.user(), c.keyPrefix(), c.api(),
                    c.model(), c.tier(), null, c.inputTokens(), 0, 0, c.outputTokens(), 0, true, c.stream(), 0,
                    "interrupted", 0, null, c.agent(), r.nanos());
            if (!book.reconcile(r, rec).isEmpty()) n++;
        }
        if (n > 0) log.warn("reconciled {} reservations left open by a gateway that stopped, charged at their estimate", n);
        return n;
    }

    /**
     * A new reservation id: this gateway's, then a counter of fixed width, so ids follow their creation order and
     * each one lands next to the previous one in the reservations index (random ids touch a random page each).
     */
    private String reservationId() {
        String n = Long.toHexString(reservations.incrementAndGet());
        return instance + "-" + "000000000000".substring(Math.min(12, n.length())) + n;
    }

    /** Keeps this gateway's open reservations from being taken for orphans by other gateways. */
    public void heartbeat() { book.heartbeat(instance, clock.instant()); }

    /** Waits until queued records are written; false on timeout. */
    public boolean flush(long timeoutMillis) { return writer.flush(timeoutMillis); }

    @Override
    public void close() { writer.close(); }

    private ApiException refusal(List<Budget> path, WindowKey k, long nanos, Instant now) {
        Budget b = path.stream().filter(x -> x.id().equals(k.budgetId())).findFirst().orElseThrow();
        WindowRow w = book.window(k).orElse(new WindowRow(k, 0, 0, 0, 0));
        if (k.tier().equals("*")) alerts.refused(b, w);
        Instant reset = b.period().reset(now, b.zone());
        String when = reset == null ? "It does not reset (period: none)." : "It resets at " + reset + ".";
        String what;
        if (!k.tier().equals("*")) {
            long cap = b.tiers().get(k.tier()).capNanos();
            what = cap == 0 ? "Budget " + b.id() + " does not allow tier '" + k.tier() + "'."
                    : "Budget " + b.id() + " caps tier '" + k.tier() + "' at " + b.currency() + " " + Money.format(cap)
                      + " per " + b.period().label() + "; " + Money.format(w.spentNanos()) + " spent, "
                      + Money.format(w.reservedNanos()) + " held by calls in flight, this call may cost up to " + Money.format(nanos) + ".";
        } else if (b.limitNanos() != null && w.spentNanos() + w.reservedNanos() + nanos > b.limitNanos()) {
            what = "Budget " + b.id() + " would be exceeded: " + b.currency() + " " + Money.format(w.spentNanos()) + " of "
                    + Money.format(b.limitNanos()) + " spent this " + b.period().label() + ", " + Money.format(w.reservedNanos())
                    + " held by calls in flight, and this call may cost up to " + Money.format(nanos) + ".";
        } else {
            what = "Budget " + b.id() + " would be exceeded: " + w.spentTokens() + " of " + b.limitTokens() + " tokens spent this "
                    + b.period().label() + ", " + w.reservedTokens() + " held by calls in flight.";
        }
        return new ApiException(ApiException.Kind.RATE_LIMITED, what + " " + when, null, "budget_exceeded",
                reset == null ? null : Duration.between(now, reset), false);
    }

    /** An upper bound of a prompt's tokens: byte-level tokenizers never make more tokens than UTF-8 bytes. */
    static long promptBound(ChatRequest req) {
        long n = 0;
        for (Message m : req.messages()) {
            n += MESSAGE_TOKENS;
            for (Part p : m.content()) n += p instanceof Part.Text t ? utf8Length(t.text()) : IMAGE_TOKENS;
            for (ToolCall c : m.toolCalls()) n += utf8Length(c.name()) + utf8Length(c.arguments()) + MESSAGE_TOKENS;
        }
        for (Tool t : req.tools()) {
            n += MESSAGE_TOKENS + utf8Length(t.name()) + utf8Length(t.description())
                    + (t.parameters() == null ? 0 : utf8Length(t.parameters().toString()));
        }
        // Pass-through parameters can be prompt too (a response_format schema is).
        if (!req.passthrough().isEmpty()) n += utf8Length(req.passthrough().fields().toString());
        return n;
    }

    private static long utf8Length(String s) {
        if (s == null) return 0;
        long n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) n++;
            else if (c < 0x800) n += 2;
            else if (Character.isHighSurrogate(c)) { n += 4; i++; }
            else n += 3;
        }
        return n;
    }

    /** The record of a finished call, stamped with when the request arrived (by this ledger's clock). */
    private UsageRecord record(Call call, long cost) {
        Usage u = call.usage();
        var model = call.model();
        long now = System.nanoTime();
        return base(call, model == null ? call.request().model() : model.id(), model == null ? null : model.tier(),
                call.deployment() == null ? null : call.deployment().id(), u, call.status(), call.errorCode(),
                (now - call.startNanos()) / 1000,
                call.firstTokenNanos() == 0 ? null : (call.firstTokenNanos() - call.startNanos()) / 1000, cost,
                clock.instant().minusNanos(now - call.startNanos()));
    }

    private static UsageRecord record(Call call, String model, String tier, long prompt, long output, long nanos, Instant at) {
        return base(call, model, tier, null, new Usage(prompt, output, 0, 0, 0, true), 0, null, 0, null, nanos, at);
    }

    private static UsageRecord base(Call call, String model, String tier, String deployment, Usage u, int status,
                                    String error, long latencyMicros, Long ttftMicros, long cost, Instant at) {
        Principal p = call.principal();
        return new UsageRecord(call.id(), at, p.org(), p.team(), p.user(), p.keyPrefix(),
                call.api().name().toLowerCase(), model, tier, deployment, u.inputTokens(), u.cachedInputTokens(),
                u.cacheWriteTokens(), u.outputTokens(), u.reasoningTokens(), u.estimated(), call.request().stream(),
                status, error, latencyMicros, ttftMicros, p.agent(), cost,
                call.screening() == null ? null : call.screening().decision(),
                call.screening() == null ? null : String.join(",", call.screening().classes()));
    }
}
