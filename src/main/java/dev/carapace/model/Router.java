package dev.carapace.model;

import java.util.List;

/**
 * Chooses the deployment for each attempt of a request.
 *
 * <p>Without an affinity key, deployments are tried in the order the config lists them ("in order of
 * preference"): the first one that is neither cooling down nor already tried for this request. The later ones are
 * failovers, not load-sharing peers: an operator lists a backup second because it is slower, dearer or further
 * away, and a call must not land there while the first one is healthy.
 *
 * <p>With an affinity key (a session or end-user id), rendezvous hashing picks the same healthy deployment every
 * time, on every gateway replica, without shared state — so the upstream's prefix cache is reused. That choice may
 * be any healthy deployment, not the first listed: sessions are spread over them. A failover goes to the key's
 * next-highest score among the untried ones, as stable per key. Deployments in cooldown are skipped either way.
 */
public final class Router {

    /** The {@link ApiException#code} of a call abandoned because its own thread was interrupted. */
    public static final String INTERRUPTED = "interrupted";

    private final RoutingPolicy policy;

    public Router(RoutingPolicy policy) {
        this.policy = policy;
    }

    public RoutingPolicy policy() { return policy; }

    /** The deployment to try next, or null when every untried deployment is cooling down or tried. */
    public Deployment choose(Portfolio.Entry model, String affinityKey, List<Deployment> tried, long nowNanos) {
        List<Deployment> all = model.deployments();
        if (affinityKey != null) {
            long keyHash = mix(affinityKey.hashCode());
            Deployment best = null;
            long bestScore = 0;
            for (Deployment d : all) {
                if (tried.contains(d) || d.coolingDown(nowNanos)) continue;
                long score = mix(keyHash ^ d.id().hashCode());
                if (best == null || Long.compareUnsigned(score, bestScore) > 0) {
                    best = d;
                    bestScore = score;
                }
            }
            return best;
        }
        for (Deployment d : all) {
            if (!tried.contains(d) && !d.coolingDown(nowNanos)) return d;
        }
        return null;
    }

    /** Shortest time until one of the model's deployments leaves cooldown (0 if one is available). */
    public long shortestCooldown(Portfolio.Entry model, long nowNanos) {
        long min = Long.MAX_VALUE;
        for (Deployment d : model.deployments()) min = Math.min(min, d.cooldownLeft(nowNanos));
        return min == Long.MAX_VALUE ? 0 : min;
    }

    /**
     * Records a failed attempt; true if it put the deployment into cooldown. A {@link #local} failure is not the
     * deployment's and is not counted.
     */
    public boolean failed(Deployment d, ApiException failure, long nowNanos) {
        if (local(failure)) return false;
        return d.failed(failure.retryAfter(), policy, nowNanos);
    }

    public void succeeded(Deployment d) { d.succeeded(); }

    /**
     * Failures that say something about the deployment rather than the request: unreachable, overloaded,
     * rate-limited, timed out, misconfigured (its key or model rejected), or too small for the request (413).
     * Another deployment may do better. {@link UpstreamStatus} decides it for an upstream's status.
     */
    public static boolean worthFailover(ApiException e) {
        return !local(e) && e.failover();
    }

    /**
     * Failures of Carapace itself, not of the deployment: its caller gave up (a cancelled agent run), or it had no
     * upstream connection (its cap, {@code server.max_upstream_connections}) or file descriptor left to open one.
     * They never count against a deployment's health, and another deployment would fare no better: no failover.
     */
    public static boolean local(ApiException e) {
        String code = e.code();
        return e.kind() == ApiException.Kind.UNAVAILABLE && (INTERRUPTED.equals(code)
                || Provider.CONNECTIONS_EXHAUSTED.equals(code) || Provider.OUT_OF_DESCRIPTORS.equals(code));
    }

    /** A 64-bit finalizer (splitmix64) so neighbouring hash codes spread over the whole range. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}
