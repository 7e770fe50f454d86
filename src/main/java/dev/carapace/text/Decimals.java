package dev.carapace.text;

import java.math.BigDecimal;

/**
 * Decimals a client wrote (amounts, a temperature), read so that no short input becomes a huge one. A decimal is
 * digits and an exponent, so {@code 1e-999999999} is 12 characters, and written out in full
 * ({@link BigDecimal#toPlainString}, or any exact arithmetic to a fixed scale) a billion digits: an out-of-memory
 * error from one request. Every decimal from a client goes through here before anything else is done with it.
 */
public final class Decimals {

    /** Digits before plus after the point, written out: far more than any amount or setting needs. */
    static final int MAX_PLAIN_DIGITS = 40;

    private Decimals() {}

    /** {@code d} if written out it has at most {@value #MAX_PLAIN_DIGITS} digits; otherwise null. */
    public static BigDecimal bounded(BigDecimal d) {
        if (d == null) return null;
        int scale = d.scale(), integerDigits = d.precision() - scale;
        return scale > MAX_PLAIN_DIGITS || integerDigits > MAX_PLAIN_DIGITS ? null : d;
    }

    /** {@code text} as a decimal, if it is one and {@link #bounded}; otherwise null. */
    public static BigDecimal parse(String text) {
        if (text == null || text.length() > 2 * MAX_PLAIN_DIGITS) return null;
        try {
            return bounded(new BigDecimal(text));
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
