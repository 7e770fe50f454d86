package dev.carapace.model;

import java.math.BigDecimal;

/** USD per million tokens. {@code cachedInput} applies to input tokens served from the upstream's prompt cache. */
public record Price(BigDecimal input, BigDecimal output, BigDecimal cachedInput) {
    public static final Price FREE = new Price(BigDecimal.ZERO, BigDecimal.ZERO, BigDecimal.ZERO);
}
