package dev.carapace.schedule;

import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * Fires at {@code anchor + k * interval} for every k &ge; 0: nothing before the anchor, and the phase is the anchor's
 * (an anchor at 10:00 with 30 minutes fires at :00 and :30 whenever it is asked). The interval is real time, so
 * daylight-saving changes do not move it.
 */
public record EverySchedule(Duration interval, Instant anchor) implements Schedule {

    public EverySchedule {
        Objects.requireNonNull(interval, "interval");
        Objects.requireNonNull(anchor, "anchor");
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("interval must be positive, got " + interval);
        }
    }

    @Override
    public Optional<Instant> nextAfter(Instant t) {
        if (t.isBefore(anchor)) return Optional.of(anchor);
        try {
            long k = Duration.between(anchor, t).dividedBy(interval) + 1;
            return Optional.of(anchor.plus(interval.multipliedBy(k)));
        } catch (ArithmeticException | DateTimeException e) {
            return Optional.empty(); // past the end of time, or more steps than a long counts: no next one
        }
    }

    /** How many fire times lie in {@code [from, to]}, without listing them; {@code Long.MAX_VALUE} past a long. */
    public long countBetween(Instant from, Instant to) {
        if (to.isBefore(from) || to.isBefore(anchor)) return 0;
        Instant start = from.isAfter(anchor) ? from : anchor;
        try {
            // fire times with k in [ceil((start - anchor) / interval), floor((to - anchor) / interval)]
            long first = Duration.between(anchor, start).dividedBy(interval);
            if (anchor.plus(interval.multipliedBy(first)).isBefore(start)) first++;
            long last = Duration.between(anchor, to).dividedBy(interval);
            return Math.max(0, last - first + 1);
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
    }

    @Override
    public String describe() {
        return "every " + DurationWords.of(interval) + " from " + anchor;
    }

    @Override
    public ScheduleSpec spec() {
        return ScheduleSpec.every(interval.toString(), anchor.toString());
    }

    @Override
    public String kind() {
        return "every";
    }
}
