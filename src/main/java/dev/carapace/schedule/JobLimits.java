package dev.carapace.schedule;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.List;

/**
 * How far one run of a job may go; a run that reaches one ends with a status that says which.
 *
 * @param tools         the agent's tools a run may use; empty by default (a job names what it needs, it does not
 *                      inherit the agent's whole toolbox)
 * @param maxWall       wall-clock time per run
 * @param maxModelCalls model calls per run
 * @param maxTokens     input + output tokens per run
 * @param maxCost       what a run's model calls may cost, in USD at the ledger's prices, or null for no limit; checked
 *                      as each call is charged, so the call that reaches it completes and the run ends after it
 */
public record JobLimits(List<String> tools, Duration maxWall, int maxModelCalls, long maxTokens, BigDecimal maxCost) {

    public static final JobLimits DEFAULT = new JobLimits(List.of(), Duration.ofMinutes(10), 8, 50_000, null);

    /** Without a money limit per run. */
    public JobLimits(List<String> tools, Duration maxWall, int maxModelCalls, long maxTokens) {
        this(tools, maxWall, maxModelCalls, maxTokens, null);
    }

    /** {@link #maxCost} in nano-USD, the ledger's unit; {@link Long#MAX_VALUE} for none. */
    public long maxCostNanos() {
        return maxCost == null ? Long.MAX_VALUE : maxCost.movePointRight(9).setScale(0, java.math.RoundingMode.CEILING).longValueExact();
    }

    public JobLimits {
        tools = List.copyOf(tools);
    }
}
