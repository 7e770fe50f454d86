package dev.carapace.agent;

import dev.carapace.gateway.Gateway;
import dev.carapace.model.ModelSpec;
import dev.carapace.model.Portfolio;

import java.util.function.ToLongFunction;

/**
 * What the portfolio says about the size of a model's calls: its context window (for compaction) and its output
 * limit (for capping a run's last answers). For a tier, the smallest over its models, since any of them may answer.
 */
final class ModelLimits {

    private final Gateway gateway;

    ModelLimits(Gateway gateway) { this.gateway = gateway; }

    /** The model's context window in tokens; 0 when unknown. */
    long contextWindow(String model) {
        return smallest(model, ModelSpec::contextWindow);
    }

    /** The model's output limit in tokens; 0 when unknown. */
    long maxOutputTokens(String model) {
        return smallest(model, ModelSpec::maxOutputTokens);
    }

    /** For a model id or {@code tier:NAME}, the smallest positive value of {@code field} over its models; 0 if none. */
    private long smallest(String model, ToLongFunction<ModelSpec> field) {
        long min = 0;
        for (var e : gateway.portfolio().models()) {
            boolean match = model.startsWith(Portfolio.TIER_PREFIX)
                    ? e.tier().equals(model.substring(Portfolio.TIER_PREFIX.length()))
                    : e.id().equals(model);
            long v = match ? field.applyAsLong(e.spec()) : 0;
            if (v > 0 && (min == 0 || v < min)) min = v;
        }
        return min;
    }
}
