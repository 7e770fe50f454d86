package dev.carapace.schedule;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * What to do when the scheduler picks up a due run: run it, or, when it comes late (after downtime), apply the job's
 * {@link MissedRunPolicy} to every fire time that passed while nothing ran. The runs not made are returned as missed,
 * for the job's history: never dropped silently.
 *
 * <p>Bounded: the plan lists the oldest {@value #MISSED_KEPT} missed fire times and counts the rest (exactly for an
 * {@code every}; for a cron up to {@value FireTimes#COUNT_LIMIT}, then as a lower bound), so a 1-second cron that was
 * down for a year costs a few milliseconds and a few kilobytes.
 */
public final class MissedRuns {

    /** How many missed fire times a plan lists; {@link Plan#missedCount} counts them all. */
    public static final int MISSED_KEPT = 100;

    private MissedRuns() {}

    /**
     * The plan for a run the scheduler picked up at {@code now}.
     *
     * @param due       the fire time it picked up (without jitter)
     * @param grace     how late a run may start and still be on time
     * @param maxRunAll how many runs {@link MissedRunPolicy#RUN_ALL} makes at most
     */
    public static Plan plan(MissedRunPolicy policy, Schedule s, Instant due, Instant now, Duration grace,
                            int maxRunAll) {
        if (maxRunAll < 0) throw new IllegalArgumentException("maxRunAll must not be negative: " + maxRunAll);
        Optional<Instant> next = s.nextAfter(now.isAfter(due) ? now : due);
        if (Duration.between(due, now).compareTo(grace) <= 0) {
            // on time; fire times after due but already past (a schedule faster than the scheduler's lag) cannot
            // all start now, and are recorded rather than lost
            Optional<Instant> second = s.nextAfter(due).filter(t -> !t.isAfter(now));
            if (second.isEmpty()) return new Plan(List.of(due), List.of(), 0, true, next);
            FireTimes.Listing extra = FireTimes.from(s, second.get(), now, MISSED_KEPT);
            return new Plan(List.of(due), extra.first(), extra.count(), extra.exact(), next);
        }
        return switch (policy) {
            case SKIP -> {
                FireTimes.Listing all = FireTimes.from(s, due, now, MISSED_KEPT);
                yield new Plan(List.of(), all.first(), all.count(), all.exact(), next);
            }
            case RUN_ALL -> {
                FireTimes.Listing all = FireTimes.from(s, due, now, maxRunAll + MISSED_KEPT);
                int runs = (int) Math.min(maxRunAll, all.first().size());
                List<Instant> missed = all.first().subList(runs, all.first().size());
                yield new Plan(List.copyOf(all.first().subList(0, runs)), List.copyOf(missed),
                        all.count() - runs, all.exact(), next);
            }
            case RUN_ONCE -> {
                Instant last = FireTimes.last(s, due, now);
                FireTimes.Listing all = FireTimes.from(s, due, now, MISSED_KEPT + 1);
                List<Instant> missed = all.first().stream().filter(t -> !t.equals(last)).limit(MISSED_KEPT).toList();
                yield new Plan(List.of(last), missed, all.count() - 1, all.exact(), next);
            }
        };
    }

    /**
     * A plan: the fire times to run now (each run stands for its fire time), the ones missed, and when the schedule
     * fires next.
     *
     * @param run              fire times to run now, oldest first
     * @param missed           the oldest {@link #MISSED_KEPT} missed fire times, oldest first
     * @param missedCount      how many were missed in all
     * @param missedCountExact false when {@code missedCount} is a lower bound (a cron with more than
     *                         {@value FireTimes#COUNT_LIMIT} fire times in the downtime)
     * @param next             the schedule's first fire time after now; empty when it has none left
     */
    public record Plan(List<Instant> run, List<Instant> missed, long missedCount, boolean missedCountExact,
                       Optional<Instant> next) {
        public Plan {
            run = List.copyOf(run);
            missed = List.copyOf(missed);
        }
    }
}
