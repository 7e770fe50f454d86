package dev.carapace.ledger;

import dev.carapace.gateway.Call;
import dev.carapace.gateway.CallFilter;
import dev.carapace.gateway.Operation;
import dev.carapace.identity.Principal;
import dev.carapace.ledger.book.LedgerBook;
import dev.carapace.model.ApiException;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.ModelSpec;
import dev.carapace.model.Price;
import dev.carapace.model.StreamEvent;
import dev.carapace.model.TokenCounter;
import dev.carapace.model.Usage;
import dev.carapace.store.LedgerTables.Charge;
import dev.carapace.store.LedgerTables.Reservation;
import dev.carapace.store.LedgerTables.WindowKey;
import dev.carapace.store.LedgerTables.WindowRow;
import dev.carapace.store.LedgerTables;
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
 * call is refused if any budget's limit would be passed, counting what calls in flight hold. The prompt's bound is
 * its UTF-8 bytes (no byte-level tokenizer makes more tokens), up to four times its tokens; a call that bound would
 * refuse is tried again at its o200k count times the model's tokenizer factor ({@link PromptSize#promptEstimate}), which is
 * near the prompt's real tokens but an estimate: a tokenizer unlike o200k may exceed it, by the difference that
 * concurrent calls near a limit can then overspend. Counting (a {@code count_tokens} call) reserves nothing;
 * embeddings reserve their inputs and no output. A call that set no
 * {@code max_tokens} is given the model's maximum, so the upstream cannot produce more than was reserved: that,
 * plus the store's atomic check-and-hold, is why concurrent calls never overspend. The reservation is durable before
 * the upstream call. When the call ends ({@link #completed}), the reservation is replaced by the real cost and the
 * spend record is written, both at once and durably, before the response completes. A call under no budget is
 * journaled as started too, with a reservation that holds nothing, and ended with its record before its response
 * completes (on a SQLite file, each is one journal append): a crash loses neither a served call nor one in flight.
 *
 * <p>While a budgeted stream runs, its progress (the tokens streamed so far, by our count, and their cost) is made
 * durable at its first output and then every {@value #PROGRESS_MILLIS} ms of streaming (or {@value #PROGRESS_CHARS}
 * characters), so a call cut off by a crash is charged about what it streamed ({@link #reconcile}), not its whole
 * reservation.
 *
 * <p>An upstream report that is impossible for the request (output past {@code max_tokens} by more than a margin,
 * a prompt far past its upper bound: see {@link #implausible}) is recorded as reported, but the budget is charged
 * at most the call's worst case (what a budgeted call reserved); the difference goes into the record's
 * {@code disputed_nanos}, and operators are alerted ({@link Alerts#implausibleUsage}). One bad report thus never
 * locks a subject out, nor goes unnoticed.
 */
public final class Ledger implements CallFilter, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Ledger.class);
    /** How many characters of counted texts {@link TokenCounts} keeps: 8M chars, at most 16 MB of strings. */
    private static final long COUNTED_CHARS = 8_000_000;
    /**
     * How often a budgeted stream's progress is made durable: every this many ms of streaming, or every
     * {@value #PROGRESS_CHARS} characters of output, whichever comes first. The time bounds what a crash leaves
     * uncharged of a steady stream; the characters bound it for a burst (a thread that was kept off the CPU reads
     * many frames at once and passes them on within a millisecond).
     */
    static final long PROGRESS_MILLIS = 200;
    static final int PROGRESS_CHARS = 128;
    /**
     * As {@link #PROGRESS_MILLIS} and {@link #PROGRESS_CHARS}, for a stream under no budget: its estimate only goes
     * into its record, not a budget, and thousands of long streams at once should not each write five notes a second.
     */
    static final long UNBUDGETED_PROGRESS_MILLIS = 1_000;
    static final int UNBUDGETED_PROGRESS_CHARS = 1024;

    private final LedgerBook book;
    private final Budgets budgets;
    private final Alerts alerts;
    private final PriceBook prices;
    private final Clock clock;
    /** This gateway, as the owner of its reservations. */
    private final String instance = UUID.randomUUID().toString();
    private final AtomicLong reservations = new AtomicLong();
    /** Counts of the long texts of recent estimates: a harness resends most of its prompt every turn. */
    private final TokenCounts counts = new TokenCounts(COUNTED_CHARS);
    /** What each model's calls used: a call a crash cuts off is charged at that, not at its reservation. */
    private final UsageCalibration calibration = new UsageCalibration();

    public Ledger(LedgerBook book, Budgets budgets, Alerts alerts, PriceBook prices, Clock clock) {
        this.book = book;
        this.budgets = budgets;
        this.alerts = alerts;
        this.prices = prices;
        this.clock = clock;
    }

    public Budgets budgets() { return budgets; }

    /**
     * A call's reservation (with no windows for a call under no budget), and what its stream has produced so far.
     * Confined to the call's thread.
     */
    private static final class Held {
        final Reservation reservation;
        final List<Budget> budgets;
        /** {@link Budgets#version} when {@link #budgets} were read: the call's budgets are those unless it moved. */
        final long budgetsVersion;
        final Price price;
        final long promptBound;
        final int maxOutput;
        /** Streamed text not yet counted (null until a stream's first output); at most one interval's worth. */
        StringBuilder uncounted;
        long outputTokens;
        /** Characters of output relayed unread (a stream under no budget is not decoded), and how many were noted. */
        long unreadChars;
        long unreadNoted;
        long promptTokens = -1;
        long lastProgress;

        Held(Reservation reservation, List<Budget> budgets, long budgetsVersion, Price price, long promptBound,
             int maxOutput, long startNanos) {
            this.reservation = reservation;
            this.budgetsVersion = budgetsVersion;
            this.budgets = budgets;
            this.price = price;
            this.promptBound = promptBound;
            this.maxOutput = maxOutput;
            this.lastProgress = startNanos;
        }
    }

    @Override
    public void routed(Call call) {
        // Counting a prompt's tokens costs the caller nothing: it is answered without an upstream's tokens.
        if (call.operation() == Operation.COUNT_TOKENS) return;
        long budgetsVersion = budgets.version();   // before the path: a change after it is seen at the call's end
        List<Budget> path = budgets.path(call.principal());
        ModelSpec model = call.model().spec();
        Instant now = clock.instant();
        Price price = prices.at(model, now);
        ChatRequest req = call.request();
        boolean units = call.operation().meteredInUnits();
        boolean noOutput = units || call.operation() == Operation.EMBEDDINGS;
        int maxOutput = noOutput ? 0 : req.maxTokens() != null ? req.maxTokens() : model.maxOutputTokens();
        int framing = noOutput ? 0 : PromptSize.MESSAGE_TOKENS;
        long bound = units ? unitBound(call) : PromptSize.promptBound(req, framing);
        if (path.isEmpty()) {
            // Nothing to hold, but the call is journaled as started all the same: a crash before it ends leaves its
            // record to the next start, at its estimate, as a budgeted call's reservation does. The request is left
            // as the client sent it, and its stream unread (progress counts the characters relayed).
            Reservation r = reservation(call, model, guess(model, bound, units), calibration.output(model.id(), maxOutput),
                    Pricing.worstCase(price, bound, maxOutput), bound + maxOutput, List.of(), now);
            book.reserve(r, instance, List.of());
            call.note(Held.class, new Held(r, List.of(), budgetsVersion, price, bound, maxOutput, call.startNanos()));
            return;
        }
        if (!noOutput && req.maxTokens() == null) call.request(req.withMaxTokens(maxOutput));
        long prompt = bound;
        long tokens = prompt + maxOutput;
        long nanos = Pricing.worstCase(price, prompt, maxOutput);

        for (Budget b : path) {
            Budget.TierRule rule = b.tiers().get(model.tier());
            if (rule != null && rule.capNanos() != null && rule.capNanos() == 0) {
                // A cap of 0 forbids the tier outright, even its zero-priced models.
                throw refusal(path, new WindowKey(b.id(), b.period().start(now, b.zone()).toEpochMilli(), model.tier()), nanos, tokens, now);
            }
        }
        List<Charge> charges = charges(path, model.tier(), now);
        if (charges.isEmpty()) return;
        long outputGuess = calibration.output(model.id(), maxOutput);
        Reservation r = reservation(call, model, guess(model, bound, units), outputGuess, nanos, tokens, charges, now);
        WindowKey refused = book.reserve(r, instance, charges).orElse(null);
        // Seconds and characters are known, not bounded from bytes: no tokenizer can bring them closer.
        if (refused != null && !units && fitsWithoutPrompt(path, refused, price, maxOutput)) {
            // The byte bound is cheap but up to four times the prompt's tokens. Only a call it would refuse pays for
            // the tokenizer (about 2.5 ms per 60 KB: see BENCHMARKS.md), and is tried again at the tokenizer's estimate;
            // not one that its output alone would not fit, so that a spent budget costs no tokenizing.
            PromptSize.PromptEstimate estimate = PromptSize.promptEstimate(req, framing,
                    PromptSize.tokenizerFactor(call.model()), counts::count);
            if (estimate.tokens() < bound) {
                prompt = estimate.tokens();
                tokens = prompt + maxOutput;
                nanos = Pricing.worstCase(price, prompt, maxOutput);
                r = reservation(call, model, prompt, outputGuess, nanos, tokens, charges, now);
                refused = book.reserve(r, instance, charges).orElse(null);
            }
        }
        if (refused != null) throw refusal(path, refused, nanos, tokens, now);
        call.note(Held.class, new Held(r, path, budgetsVersion, price, bound, maxOutput, call.startNanos()));
        call.readOutput();   // onEvent counts a stream's output as it comes
    }

    /** What a call of a model of {@code tier} at {@code at} counts on: each budget's total window and tier cap. */
    private static List<Charge> charges(List<Budget> path, String tier, Instant at) {
        List<Charge> charges = new ArrayList<>();
        for (Budget b : path) {
            Budget.TierRule rule = b.tiers().get(tier);
            long start = b.period().start(at, b.zone()).toEpochMilli();
            if (rule == null || !rule.exempt()) charges.add(new Charge(new WindowKey(b.id(), start, "*"), b.limitNanos(), b.limitTokens()));
            if (rule != null && rule.capNanos() != null) charges.add(new Charge(new WindowKey(b.id(), start, tier), rule.capNanos(), null));
        }
        return charges;
    }

    /**
     * The windows a call's charge counts on when the budgets changed while it was in flight (an admin's edit): those
     * of the budgets in force now, at the call's start. A budget made then starts from what its subject had spent,
     * calls in flight not included: they count on it when they end. One moved to a new period or zone counts in its
     * new window (set from the records, the call's hold moved there), not in the window the call held.
     */
    private List<WindowKey> chargedOn(Call call, Held held, List<Budget> now) {
        if (call.model() == null) return held.reservation.windows();
        return charges(now, call.model().spec().tier(), held.reservation.createdAt()).stream().map(Charge::window).toList();
    }

    /** Whether the window that refused a call has room for its output at least (what it reserves without a prompt). */
    private boolean fitsWithoutPrompt(List<Budget> path, WindowKey refused, Price price, int maxOutput) {
        Budget b = path.stream().filter(x -> x.id().equals(refused.budgetId())).findFirst().orElse(null);
        if (b == null) return true;
        WindowRow w = book.window(refused).orElse(new WindowRow(refused, 0, 0, 0, 0));
        long nanos = Pricing.worstCase(price, 0, maxOutput);
        Long limitNanos = refused.tier().equals("*") ? b.limitNanos()
                : b.tiers().get(refused.tier()) == null ? null : b.tiers().get(refused.tier()).capNanos();
        if (limitNanos != null && w.spentNanos() + w.reservedNanos() + nanos > limitNanos) return false;
        Long limitTokens = refused.tier().equals("*") ? b.limitTokens() : null;
        return limitTokens == null || w.spentTokens() + w.reservedTokens() + maxOutput <= limitTokens;
    }

    /**
     * A reservation of {@code nanos} and {@code tokens} on the windows of {@code charges}; its record says what a crash
     * before the call's answer charges for it: {@code promptGuess} and {@code outputGuess} tokens.
     */
    private Reservation reservation(Call call, ModelSpec model, long promptGuess, long outputGuess, long nanos, long tokens,
                                    List<Charge> charges, Instant now) {
        List<WindowKey> windows = charges.isEmpty() ? List.of() : charges.stream().map(Charge::window).toList();
        return new Reservation(reservationId(), now, nanos, tokens, windows,
                record(call, model.id(), model.tier(), promptGuess, outputGuess, nanos, now));
    }

    /** A prompt's tokens as the model's calls have run against their bounds; seconds and characters are known. */
    private long guess(ModelSpec model, long bound, boolean units) {
        return units ? bound : calibration.prompt(model.id(), bound);
    }

    /** Counts a stream's output, and makes its progress durable at the intervals of {@link #PROGRESS_MILLIS}. */
    @Override
    public StreamEvent onEvent(Call call, StreamEvent event) {
        Held held = call.note(Held.class);
        if (held == null) return event;
        String text = switch (event) {
            case StreamEvent.TextDelta t -> t.text();
            case StreamEvent.ToolCallStarted t -> t.name();
            case StreamEvent.ToolCallDelta d -> d.argumentsDelta();
            case StreamEvent.ReasoningDelta r -> r.text();
            default -> null;
        };
        int unread = event instanceof StreamEvent.Frame f && !f.decoded() ? f.unreadChars() : 0;
        if (text == null && unread == 0) return event;
        boolean first = held.uncounted == null;
        if (first) held.uncounted = new StringBuilder(256);
        if (text != null) held.uncounted.append(text);
        held.unreadChars += unread;
        long now = System.nanoTime();
        // The first output is noted at once: a crash before it charges the prompt alone, after it what was streamed.
        boolean budgeted = !held.budgets.isEmpty();
        if (first || now - held.lastProgress >= (budgeted ? PROGRESS_MILLIS : UNBUDGETED_PROGRESS_MILLIS) * 1_000_000
                || held.uncounted.length() + held.unreadChars - held.unreadNoted >= (budgeted ? PROGRESS_CHARS : UNBUDGETED_PROGRESS_CHARS)) {
            progress(call, held, now);
        }
        return event;
    }

    private void progress(Call call, Held held, long now) {
        held.lastProgress = now;
        // Counted a slice at a time: a token split across two slices counts twice at most, once per interval.
        held.outputTokens += TokenCounter.count(held.uncounted.toString());
        held.uncounted.setLength(0);
        held.unreadNoted = held.unreadChars;
        if (held.promptTokens < 0) {
            // Long texts a harness resends every turn are counted once (the first output waits for this count). A
            // call under no budget is not worth the wait: the guess its reservation made stands.
            held.promptTokens = held.budgets.isEmpty() ? held.reservation.context().inputTokens() : PromptSize.promptEstimate(call.request(),
                    PromptSize.MESSAGE_TOKENS, PromptSize.tokenizerFactor(call.model()), counts::count).tokens();
        }
        long in = Math.min(held.promptTokens, held.promptBound);
        // Characters relayed unread count at about four to a token, as the stream's own estimate counts them.
        long out = Math.min(held.outputTokens + (held.unreadChars + 3) / 4, held.maxOutput);
        long nanos = Math.min(Pricing.cost(held.price, new Usage(in, out, 0, 0, 0, true)), held.reservation.nanos());
        try {
            book.progress(held.reservation.id(), new LedgerTables.Progress(nanos, in, out));
        } catch (RuntimeException e) {
            // The stream goes on: without this entry a crash charges the previous one, or the reservation.
            log.warn("recording the progress of call {} failed", call.id(), e);
        }
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
        long disputed = 0;
        String implausible = u.estimated() || price == null ? null : implausible(call, held, u);
        if (implausible != null) {
            long bound = held != null ? held.promptBound : promptBound(call);
            int maxOutput = held != null ? held.maxOutput : maxOutput(call);
            long plausible = held != null ? held.reservation.nanos() : Pricing.worstCase(price, bound, maxOutput);
            if (cost > plausible) {
                disputed = cost - plausible;
                cost = plausible;
            }
            if (alerts != null) alerts.implausibleUsage(call.id(), call.principal(), call.model().id(),
                    call.deployment() == null ? null : call.deployment().id(), implausible, u, maxOutput, bound, cost, disputed);
        }
        if (held != null && !u.estimated() && implausible == null && call.status() == 200
                && !call.operation().meteredInUnits()) {
            calibration.observe(call.model().id(), held.promptBound, u.inputTokens(), held.maxOutput > 0, u.outputTokens());
        }
        UsageRecord rec = record(call, cost, disputed);
        if (held == null) {
            book.record(rec);   // durable before the response completes: a crash must not lose a served call
            return;
        }
        long tokens = u.inputTokens() + u.outputTokens();
        if (u.estimated() || implausible != null) tokens = Math.min(tokens, held.reservation.tokens());
        List<Budget> path;
        List<WindowRow> after;
        do {   // again if the budgets change as it is charged: it counts on those in force when it is
            long version = budgets.version();
            path = version == held.budgetsVersion ? held.budgets : budgets.path(call.principal());
            List<WindowKey> chargedOn = version == held.budgetsVersion ? null : chargedOn(call, held, path);
            after = book.settle(held.reservation.id(), cost, tokens, rec, chargedOn, () -> budgets.version() == version);
        } while (after == null);
        if (!held.budgets.isEmpty() && cost > held.reservation.nanos()) {
            log.warn("call {} cost {} nano-USD, more than the {} reserved", call.id(), cost, held.reservation.nanos());
        }
        for (WindowRow w : after) {
            if (!w.key().tier().equals("*")) continue;
            for (Budget b : path) if (b.id().equals(w.key().budgetId())) alerts.spent(b, w);
        }
    }

    /**
     * Why an upstream's usage report is impossible for the call, or null if it is not: more output than the
     * request allowed ({@code max_tokens}, or the model's maximum) past a margin of 10% or 16 tokens (tokenizers and
     * stop sequences overshoot a little, never tenfold), or a prompt more than twice its upper bound plus 1,024
     * tokens (the bound counts UTF-8 bytes, which no byte-level tokenizer exceeds; the slack covers a provider's own
     * framing, such as a tool-use system prompt).
     */
    private String implausible(Call call, Held held, Usage u) {
        int maxOutput = held != null ? held.maxOutput : maxOutput(call);
        if (u.outputTokens() > maxOutput + Math.max(16, maxOutput / 10)) {
            return "completion tokens " + u.outputTokens() + " for max_tokens " + maxOutput;
        }
        // Below 1,024 no prompt can be implausible: the bound is only worked out past it (it walks the prompt).
        if (u.inputTokens() <= 1024) return null;
        long bound = held != null ? held.promptBound : promptBound(call);
        if (u.inputTokens() > 2 * bound + 1024) return "prompt tokens " + u.inputTokens() + " for a prompt of at most " + bound;
        return null;
    }

    /** The most a call's input can be: its seconds or characters for audio, else its prompt's token bound. */
    private static long promptBound(Call call) {
        return call.operation().meteredInUnits() ? unitBound(call) : PromptSize.promptBound(call.request());
    }

    /**
     * The most units (seconds of audio, characters) an audio call can use: what the gateway worked out from the
     * request, at most the model's own limit (its {@code context_window}: the longest audio it takes, the longest
     * input it speaks), past which its upstream refuses the call.
     */
    private static long unitBound(Call call) {
        long asked = Math.max(0, call.unitBound());
        return Math.min(asked, call.model().spec().contextWindow());
    }

    private static int maxOutput(Call call) {
        if (call.operation().meteredInUnits() || call.operation() == Operation.EMBEDDINGS) return 0;
        Integer max = call.request().maxTokens();
        return max != null ? max : call.model().spec().maxOutputTokens();
    }

    /**
     * Settles, at their estimate, the reservations of gateways that died: those owned by another gateway that has
     * not sent a heartbeat for {@code staleAfter}. A stream that recorded progress is charged that (what it had
     * streamed by its last progress, by our count); a stream cut off before its first output, its prompt and no
     * output; any other call its prompt and an output as long as the model's recent answers (at most its
     * {@code max_tokens}): its own output is unknown until its answer comes whole. Prompts are counted as the model's
     * recent calls ran against their bounds ({@link UsageCalibration}; the bound itself for a model with none yet),
     * and no charge exceeds the reservation. Their records are marked estimated, with error code
     * {@code interrupted}. With a store only this gateway writes to (SQLite), any other owner is dead: pass zero.
     *
     * @return how many were reconciled
     */
    public int reconcile(Duration staleAfter) {
        Instant cutoff = clock.instant().minus(staleAfter);
        int n = 0;
        for (LedgerTables.OpenReservation open : book.openReservations()) {
            if (open.owner().equals(instance) || open.heartbeatAt().isAfter(cutoff)) continue;
            Reservation r = open.reservation();
            UsageRecord c = r.context();
            LedgerTables.Progress p = open.progress();
            if (p == null) p = estimate(c, c.inputTokens(), c.stream() ? 0 : c.outputTokens());
            long nanos = p == null ? r.nanos() : Math.min(p.nanos(), r.nanos());
            long in = p == null ? c.inputTokens() : p.inputTokens();
            long out = p == null ? c.outputTokens() : p.outputTokens();
            long tokens = p == null ? r.tokens() : Math.min(in + out, r.tokens());
            UsageRecord rec = new UsageRecord(c.requestId(), c.at(), c.org(), c.team(), c.user(), c.keyPrefix(), c.api(),
                    c.model(), c.tier(), null, in, 0, 0, out, 0, true, c.stream(), 0,
                    "interrupted", 0, null, c.agent(), nanos);
            if (!book.reconcile(r, nanos, tokens, rec).isEmpty()) n++;
        }
        if (n > 0) log.warn("reconciled {} reservations left open by a gateway that stopped, charged at their estimate", n);
        return n;
    }

    /** {@code in} and {@code out} tokens of a reserved call at the price then in force, or null if unknown. */
    private LedgerTables.Progress estimate(UsageRecord reserved, long in, long out) {
        Price price = prices.at(reserved.model(), reserved.at());
        if (price == null) return null;
        return new LedgerTables.Progress(Pricing.cost(price, Usage.of(in, out)), in, out);
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

    /**
     * Every record is durable when its call completes, so there is nothing to wait for; kept for callers that
     * waited when records of calls under no budget were written in the background.
     */
    public boolean flush(long timeoutMillis) { return true; }

    @Override
    public void close() {
        // nothing of its own to release: the store is closed by its owner
    }

    /**
     * The refusal a person reads in their harness: what was exceeded, what this call would have reserved, when it
     * resets and who can raise it. No retry hint: a client told to wait until the period resets sleeps until then
     * (Codex does), and nothing but an admin can make the call pass sooner. The status each API answers it with is
     * chosen by its format ({@link dev.carapace.model.WireFormat#status}).
     */
    private ApiException refusal(List<Budget> path, WindowKey k, long nanos, long tokens, Instant now) {
        Budget b = path.stream().filter(x -> x.id().equals(k.budgetId())).findFirst().orElseThrow();
        WindowRow w = book.window(k).orElse(new WindowRow(k, 0, 0, 0, 0));
        if (k.tier().equals("*")) alerts.refused(b, w);
        Instant reset = b.period().reset(now, b.zone());
        String when = reset == null ? "It does not reset (period: none)." : "It resets at " + reset + ".";
        String reserve = "this call would reserve up to " + b.currency() + " " + Money.format(nanos) + " (" + tokens + " tokens)";
        String what;
        if (!k.tier().equals("*")) {
            long cap = b.tiers().get(k.tier()).capNanos();
            what = cap == 0 ? "Budget " + b.id() + " does not allow tier '" + k.tier() + "'."
                    : "Budget " + b.id() + " caps tier '" + k.tier() + "' at " + b.currency() + " " + Money.format(cap)
                      + " per " + b.period().label() + "; " + Money.format(w.spentNanos()) + " spent, "
                      + Money.format(w.reservedNanos()) + " held by calls in flight, and " + reserve + ".";
        } else if (b.limitNanos() != null && w.spentNanos() + w.reservedNanos() + nanos > b.limitNanos()) {
            what = "Budget " + b.id() + " would be exceeded: " + b.currency() + " " + Money.format(w.spentNanos()) + " of "
                    + Money.format(b.limitNanos()) + " spent this " + b.period().label() + ", " + Money.format(w.reservedNanos())
                    + " held by calls in flight, and " + reserve + ".";
        } else {
            what = "Budget " + b.id() + " would be exceeded: " + w.spentTokens() + " of " + b.limitTokens() + " tokens spent this "
                    + b.period().label() + ", " + w.reservedTokens() + " held by calls in flight, and " + reserve + ".";
        }
        return new ApiException(ApiException.Kind.RATE_LIMITED, "Usage limit reached. " + what + " " + when
                + " An admin can raise it: carapace budget set, or PUT /api/budgets/" + b.id() + ".", null,
                ApiException.BUDGET_EXCEEDED, null, false);
    }

    /** The record of a finished call, stamped with when the request arrived (by this ledger's clock). */
    private UsageRecord record(Call call, long cost, long disputed) {
        Usage u = call.usage();
        var model = call.model();
        long now = System.nanoTime();
        return base(call, model == null ? call.request().model() : model.id(), model == null ? null : model.tier(),
                call.deployment() == null ? null : call.deployment().id(), u, call.status(), call.errorCode(),
                (now - call.startNanos()) / 1000,
                call.firstTokenNanos() == 0 ? null : (call.firstTokenNanos() - call.startNanos()) / 1000, cost,
                clock.instant().minusNanos(now - call.startNanos()), disputed);
    }

    private static UsageRecord record(Call call, String model, String tier, long prompt, long output, long nanos, Instant at) {
        return base(call, model, tier, null, new Usage(prompt, output, 0, 0, 0, true), 0, null, 0, null, nanos, at, 0);
    }

    private static UsageRecord base(Call call, String model, String tier, String deployment, Usage u, int status,
                                    String error, long latencyMicros, Long ttftMicros, long cost, Instant at, long disputed) {
        Principal p = call.principal();
        return new UsageRecord(call.id(), at, p.org(), p.team(), p.user(), p.keyPrefix(),
                call.api().name().toLowerCase(), model, tier, deployment, u.inputTokens(), u.cachedInputTokens(),
                u.cacheWriteTokens(), u.outputTokens(), u.reasoningTokens(), u.estimated(), call.request().stream(),
                status, error, latencyMicros, ttftMicros, p.agent(), cost,
                call.screening() == null ? null : call.screening().decision(),
                call.screening() == null ? null : String.join(",", call.screening().classes()), disputed);
    }
}
