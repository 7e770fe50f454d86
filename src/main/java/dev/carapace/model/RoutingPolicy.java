package dev.carapace.model;

import java.time.Duration;

/**
 * How the router treats failing deployments.
 *
 * @param maxAttempts       upstream attempts per request (first try plus failovers), all before the first byte
 *                          reaches the client
 * @param failureThreshold  consecutive failures that put a deployment into cooldown
 * @param cooldown          how long a deployment is skipped after that (an upstream {@code retry-after} overrides)
 */
public record RoutingPolicy(int maxAttempts, int failureThreshold, Duration cooldown) {
    public static final RoutingPolicy DEFAULT = new RoutingPolicy(3, 1, Duration.ofSeconds(30));
}
