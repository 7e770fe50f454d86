package dev.carapace.model;

import java.util.List;

/**
 * A model of the portfolio, as clients address it.
 *
 * @param id              what clients send as {@code model}
 * @param tier            the service tier it belongs to
 * @param contextWindow   tokens of prompt plus output it accepts (for an embedding model: of input)
 * @param maxOutputTokens the most output tokens one call may ask for (also the default when a client sets none);
 *                        0 for an embedding model
 * @param speedTarget     output tokens per second one request should get (informs tier routing and SLO alerts)
 * @param deployments     where it runs, in order of preference
 * @param kind            chat or embedding: which endpoints the model serves
 * @param tokenizerFactor how many of this model's tokens one o200k token may be, for budget reservations (see
 *                        {@code Ledger}); 0 when the config sets none and the default of its providers' kind applies
 * @param aliases         other names clients may send for it: exact names, or prefixes ending in {@code *}
 *                        ({@code claude-*}) for a harness whose default model changes with its releases
 */
public record ModelSpec(String id, String tier, Price price, int contextWindow, int maxOutputTokens,
                        double speedTarget, PrivacyClass privacy, List<DeploymentSpec> deployments, ModelKind kind,
                        double tokenizerFactor, List<String> aliases) {
    public ModelSpec {
        deployments = List.copyOf(deployments);
        if (kind == null) kind = ModelKind.CHAT;
        aliases = aliases == null ? List.of() : List.copyOf(aliases);
    }

    /** A model no other name leads to. */
    public ModelSpec(String id, String tier, Price price, int contextWindow, int maxOutputTokens, double speedTarget,
                     PrivacyClass privacy, List<DeploymentSpec> deployments, ModelKind kind, double tokenizerFactor) {
        this(id, tier, price, contextWindow, maxOutputTokens, speedTarget, privacy, deployments, kind, tokenizerFactor,
                List.of());
    }

    /** A chat model with the default tokenizer factor. */
    public ModelSpec(String id, String tier, Price price, int contextWindow, int maxOutputTokens, double speedTarget,
                     PrivacyClass privacy, List<DeploymentSpec> deployments) {
        this(id, tier, price, contextWindow, maxOutputTokens, speedTarget, privacy, deployments, ModelKind.CHAT, 0);
    }
}
