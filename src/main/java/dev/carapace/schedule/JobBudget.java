package dev.carapace.schedule;

import java.math.BigDecimal;

/**
 * A job's spending limit per period, kept by the ledger as the budget {@code job:ID}: a run that would pass it is
 * refused by the gateway like any call over budget, and ends {@code budget_exhausted}.
 *
 * @param amount money per period (USD), or null
 * @param tokens tokens per period, or null
 * @param period {@code day}, {@code week} or {@code month}
 */
public record JobBudget(BigDecimal amount, Long tokens, String period) {}
