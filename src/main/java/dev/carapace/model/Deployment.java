package dev.carapace.model;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A model's deployment on one provider, with the live health the router needs: requests in flight, consecutive
 * failures, and a cooldown during which it is skipped.
 */
public final class Deployment {

    private final String id;
    private final DeploymentSpec spec;
    private final Provider provider;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicInteger failures = new AtomicInteger();
    private volatile long coolUntilNanos;
    private volatile boolean cooling;

    public Deployment(DeploymentSpec spec, Provider provider) {
        this.spec = spec;
        this.provider = provider;
        this.id = spec.provider() + "/" + spec.upstreamModel();
    }

    /** {@code provider/upstream-model}: how logs, metrics and usage records name this deployment. */
    public String id() { return id; }

    public String upstreamModel() { return spec.upstreamModel(); }

    public Provider provider() { return provider; }

    public int inFlight() { return inFlight.get(); }

    public boolean coolingDown(long nowNanos) { return cooling && nowNanos - coolUntilNanos < 0; }

    /** Nanoseconds until the cooldown ends (0 when not cooling). */
    public long cooldownLeft(long nowNanos) { return coolingDown(nowNanos) ? coolUntilNanos - nowNanos : 0; }

    public void begin() { inFlight.incrementAndGet(); }

    public void end() { inFlight.decrementAndGet(); }

    public void succeeded() {
        failures.set(0);
        cooling = false;
    }

    /**
     * Counts a failure. An upstream's {@code retry-after} puts the deployment in cooldown for that long at once;
     * otherwise it cools down for the policy's period once failures reach the policy's threshold.
     *
     * @return true if this failure started a cooldown
     */
    boolean failed(Duration retryAfter, RoutingPolicy policy, long nowNanos) {
        Duration pause;
        if (retryAfter != null && !retryAfter.isZero()) {
            pause = retryAfter;
        } else if (failures.incrementAndGet() >= policy.failureThreshold()) {
            pause = policy.cooldown();
        } else {
            return false;
        }
        failures.set(0);
        coolUntilNanos = nowNanos + pause.toNanos();
        cooling = true;
        return true;
    }
}
