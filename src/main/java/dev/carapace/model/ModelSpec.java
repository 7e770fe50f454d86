package dev.carapace.model;

import java.util.List;

/**
 * A model of the portfolio, as clients address it.
 *
 * @param id              what clients send as {@code model}
 * @param tier            the service tier it belongs to
 * @param contextWindow   tokens of prompt plus output it accepts
 * @param maxOutputTokens the most output tokens one call may ask for (also the default when a client sets none)
 * @param speedTarget     output tokens per second one request should get (informs tier routing and SLO alerts)
 * @param deployments     where it runs, in order of preference
 */
public record ModelSpec(String id, String tier, Price price, int contextWindow, int maxOutputTokens,
                        double speedTarget, PrivacyClass privacy, List<DeploymentSpec> deployments) {
    public ModelSpec {
        deployments = List.copyOf(deployments);
    }
}
