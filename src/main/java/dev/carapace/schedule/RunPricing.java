package dev.carapace.schedule;

import dev.carapace.model.Usage;

/** What a model call cost, by the ledger's prices, for the cost of a job's run (an adapter in the server). */
public interface RunPricing {
    long costNanos(String model, Usage usage);
}
