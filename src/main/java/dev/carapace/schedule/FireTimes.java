package dev.carapace.schedule;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The fire times of a schedule over a stretch, bounded however long the stretch: a 1-second cron down for a year
 * must not list or even count 31 million of them.
 */
final class FireTimes {

    /** Beyond this many fire times a count stops and says it is a lower bound (an {@code every} counts exactly). */
    static final int COUNT_LIMIT = 10_000;

    private FireTimes() {}

    /**
     * The fire times in {@code [first, to]}, taking {@code first} as one (it is the time the scheduler picked up):
     * the first {@code keep} of them, and how many there are.
     */
    static Listing from(Schedule s, Instant first, Instant to, int keep) {
        List<Instant> kept = new ArrayList<>();
        long count = 0;
        Optional<Instant> t = Optional.of(first);
        while (t.isPresent() && !t.get().isAfter(to) && count < COUNT_LIMIT) {
            if (kept.size() < keep) kept.add(t.get());
            count++;
            t = s.nextAfter(t.get());
        }
        boolean more = t.isPresent() && !t.get().isAfter(to);
        if (more && s instanceof EverySchedule every) {
            long after = every.countBetween(first.plusNanos(1), to);
            if (after < Long.MAX_VALUE) return new Listing(kept, 1 + after, true);
        }
        return new Listing(kept, count, !more);
    }

    /**
     * The last fire time in {@code [first, to]} ({@code first} counting as one), found by bisection over
     * {@code nextAfter} (which only grows with its argument): a few dozen calls whatever the stretch.
     */
    static Instant last(Schedule s, Instant first, Instant to) {
        Instant lo = first;
        Instant hi = to;
        if (!firesBy(s, lo, to)) return first;
        // invariant: the next fire time after lo is at or before to; after hi it is not
        while (Duration.between(lo, hi).compareTo(Duration.ofNanos(1)) > 0) {
            Instant mid = lo.plus(Duration.between(lo, hi).dividedBy(2));
            if (firesBy(s, mid, to)) lo = mid;
            else hi = mid;
        }
        return s.nextAfter(lo).orElseThrow();
    }

    private static boolean firesBy(Schedule s, Instant after, Instant to) {
        return s.nextAfter(after).map(next -> !next.isAfter(to)).orElse(false);
    }

    /**
     * @param first      the earliest fire times, oldest first
     * @param count      how many there are; a lower bound when not {@code exact}
     * @param exact      false when counting stopped at {@link #COUNT_LIMIT}
     */
    record Listing(List<Instant> first, long count, boolean exact) {}
}
