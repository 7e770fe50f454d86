package dev.carapace.memory;

import java.time.Clock;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Writes per minute per writer, as a token bucket: a burst of {@code perMinute} writes, then one every
 * {@code 60/perMinute} seconds. Kept per gateway, in memory: it stops a runaway loop, not a determined cluster.
 */
final class WriteRate {

    private static final class Bucket {
        double tokens;
        long at;
    }

    private final int perMinute;
    private final Clock clock;
    private final Map<String, Bucket> buckets = new ConcurrentHashMap<>();

    WriteRate(int perMinute, Clock clock) {
        this.perMinute = perMinute;
        this.clock = clock;
    }

    /** Takes one write for {@code writer}; false (nothing taken) when it has none left this minute. */
    boolean tryTake(String writer) {
        Bucket b = buckets.computeIfAbsent(writer, w -> {
            Bucket fresh = new Bucket();
            fresh.tokens = perMinute;
            fresh.at = clock.millis();
            return fresh;
        });
        synchronized (b) {
            long now = clock.millis();
            b.tokens = Math.min(perMinute, b.tokens + Math.max(0, now - b.at) * perMinute / 60_000.0);
            b.at = now;
            if (b.tokens < 1) return false;
            b.tokens -= 1;
            return true;
        }
    }

    /** Seconds until {@code writer} may write again (at least 1). */
    long secondsToWait(String writer) {
        Bucket b = buckets.get(writer);
        if (b == null) return 1;
        synchronized (b) {
            return Math.max(1, (long) Math.ceil((1 - b.tokens) * 60.0 / perMinute));
        }
    }
}
