package dev.carapace.ledger;

import dev.carapace.model.Price;
import dev.carapace.model.Usage;

import java.math.BigDecimal;
import java.math.RoundingMode;

/** What tokens cost. Prices are USD per million tokens, so one token costs {@code price * 1000} nano-USD. */
public final class Pricing {

    private static final BigDecimal NANOS_PER_TOKEN_PER_PRICE_UNIT = BigDecimal.valueOf(1000);

    private Pricing() {}

    /**
     * The cost of a call: uncached input at the input price, cached input at the cached price (cache writes at
     * the input price), output (reasoning included) at the output price. Rounded half-up to the nano-dollar once,
     * at the end.
     */
    public static long cost(Price p, Usage u) {
        long cached = Math.min(u.cachedInputTokens(), u.inputTokens());
        BigDecimal total = p.input().multiply(BigDecimal.valueOf(u.inputTokens() - cached))
                .add(p.cachedInput().multiply(BigDecimal.valueOf(cached)))
                .add(p.output().multiply(BigDecimal.valueOf(u.outputTokens())));
        return total.multiply(NANOS_PER_TOKEN_PER_PRICE_UNIT).setScale(0, RoundingMode.HALF_UP).longValueExact();
    }

    /** The most a call can cost: every prompt token uncached and every allowed output token used. */
    public static long worstCase(Price p, long promptTokens, long maxOutputTokens) {
        return cost(p, new Usage(promptTokens, maxOutputTokens, 0, 0, 0, false));
    }
}
