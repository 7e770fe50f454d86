package dev.carapace.schedule;

import java.time.Duration;
import java.util.Objects;

/**
 * How long a failing job waits before its next attempt: {@code base * 2^(n-1)} after n consecutive failures, never
 * more than {@code cap}; and when to stop trying and pause the job for its owner ({@link #shouldPause}).
 *
 * @param base the wait after the first failure (default 30 s)
 * @param cap  the longest wait (default 1 h)
 */
public record Backoff(Duration base, Duration cap) {

    public static final Backoff DEFAULT = new Backoff(Duration.ofSeconds(30), Duration.ofHours(1));
    /** Consecutive failures after which a job is paused, unless its owner set another number. */
    public static final int DEFAULT_MAX_FAILURES = 5;

    public Backoff {
        Objects.requireNonNull(base, "base");
        Objects.requireNonNull(cap, "cap");
        if (base.isNegative() || base.isZero() || cap.compareTo(base) < 0) {
            throw new IllegalArgumentException("backoff needs 0 < base <= cap, got " + base + " and " + cap);
        }
    }

    /** The wait after {@code failures} consecutive failures; zero when there were none. */
    public Duration delay(int failures) {
        if (failures <= 0) return Duration.ZERO;
        // compare the doubling with cap / base rather than multiply: base * 2^n overflows long before n is absurd
        long ratio = cap.dividedBy(base);
        int doublings = failures - 1;
        if (doublings >= 62 || (1L << doublings) > ratio) return cap;
        return base.multipliedBy(1L << doublings);
    }

    /** True once {@code failures} consecutive failures reach {@code maxFailures}: pause the job and tell its owner. */
    public static boolean shouldPause(int failures, int maxFailures) {
        return failures >= maxFailures;
    }

    /** {@link #shouldPause(int, int)} with {@link #DEFAULT_MAX_FAILURES}. */
    public static boolean shouldPause(int failures) {
        return shouldPause(failures, DEFAULT_MAX_FAILURES);
    }
}
