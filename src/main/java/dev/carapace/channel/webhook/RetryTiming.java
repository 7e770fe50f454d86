package dev.carapace.channel.webhook;

import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.random.RandomGenerator;

/**
 * When a failed delivery is tried again: exponential back-off from {@code first}, doubled each attempt up to
 * {@code max}, with jitter (a random point in the upper half, so receivers that failed together are not hit together
 * again); a receiver's {@code Retry-After} (seconds or an HTTP date) wins when it asks for longer, up to {@code max}.
 */
public record RetryTiming(Duration first, Duration max) {

    public static final RetryTiming DEFAULT = new RetryTiming(Duration.ofSeconds(5), Duration.ofHours(1));

    /** The wait after failed attempt number {@code attempt} (1 for the first). */
    public Duration delay(int attempt, String retryAfter, Instant now, RandomGenerator random) {
        long capMillis = max.toMillis();
        long base = first.toMillis() << Math.min(attempt - 1, 30);
        if (base <= 0 || base > capMillis) base = capMillis;
        long jittered = base / 2 + random.nextLong(base / 2 + 1);
        Duration asked = retryAfter(retryAfter, now);
        long wait = asked == null ? jittered : Math.max(jittered, Math.min(asked.toMillis(), capMillis));
        return Duration.ofMillis(wait);
    }

    /** A {@code Retry-After} value as a wait from {@code now}; null when absent or not one. */
    static Duration retryAfter(String value, Instant now) {
        if (value == null) return null;
        String v = value.trim();
        if (v.matches("\\d{1,9}")) return Duration.ofSeconds(Long.parseLong(v));
        try {
            Instant at = ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
            return at.isAfter(now) ? Duration.between(now, at) : Duration.ZERO;
        } catch (DateTimeParseException e) {
            return null;
        }
    }
}
