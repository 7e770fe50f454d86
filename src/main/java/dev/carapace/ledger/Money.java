package dev.carapace.ledger;

import java.math.BigDecimal;
import java.math.RoundingMode;

/** Money is a {@code long} of nano-USD (1e-9): exact sums, and room for 9.2 billion dollars. */
public final class Money {

    private static final BigDecimal NANOS_PER_UNIT = BigDecimal.valueOf(1_000_000_000L);
    /** Largest amount a budget may be set to: 1 billion. */
    public static final BigDecimal MAX = BigDecimal.valueOf(1_000_000_000L);

    private Money() {}

    public static long nanos(BigDecimal amount) {
        return amount.multiply(NANOS_PER_UNIT).setScale(0, RoundingMode.HALF_UP).longValueExact();
    }

    public static BigDecimal amount(long nanos) {
        return BigDecimal.valueOf(nanos).divide(NANOS_PER_UNIT).stripTrailingZeros();
    }

    /** For people: two decimals, more only when a fraction of a cent matters ("0.0042"). */
    public static String format(long nanos) {
        BigDecimal a = amount(nanos);
        return a.scale() <= 2 ? a.setScale(2, RoundingMode.UNNECESSARY).toPlainString() : a.toPlainString();
    }
}
