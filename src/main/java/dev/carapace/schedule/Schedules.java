package dev.carapace.schedule;

import dev.carapace.text.Durations;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static dev.carapace.text.Excerpt.clip;

/**
 * Turns a {@link ScheduleSpec} a user wrote into a {@link Schedule}, or refuses it with an
 * {@link InvalidScheduleException} naming the field, what was wrong and what is expected. Nothing else escapes:
 * hostile text (huge, control characters, absurd numbers) gets the same kind of answer, quickly.
 */
public final class Schedules {

    /** An interval longer than this is a mistake; a yearly job is a cron ({@code 0 9 1 1 *}). */
    public static final Duration MAX_EVERY = Duration.ofDays(366);
    /** Jitter spreads a crowd over minutes; never more than this. */
    public static final Duration MAX_JITTER = Duration.ofHours(1);
    /** How many fire times of a cron are looked at for its shortest gap (for the minimum interval and the jitter). */
    private static final int SAMPLED_FIRES = 16;
    private static final int MAX_DURATION_CHARS = 64;
    private static final String DURATION_FORMS = "a duration like 30m, 1h, 2h30m, 90s or PT30M";

    private Schedules() {}

    /**
     * The schedule {@code spec} describes, as of {@code now}.
     *
     * @param minInterval the shortest interval allowed between two runs (an {@code every}, or the gaps of a cron)
     * @throws InvalidScheduleException for the first thing wrong with {@code spec}, including its jitter
     */
    public static Schedule parse(ScheduleSpec spec, Instant now, Duration minInterval) {
        Schedule schedule = read(spec, now, minInterval);
        jitter(spec, schedule, now);
        return schedule;
    }

    /**
     * A schedule stored earlier as its {@link Schedule#spec()}: read back equal, without the checks that depend on
     * when it was written (its {@code at} may have passed; the minimum interval may have changed since). A stored
     * job must be read this way, never through {@link #parse}, whose {@code at: 3d} means three days from now.
     *
     * @throws InvalidScheduleException when the text is not a schedule at all (a damaged store)
     */
    public static Schedule restore(ScheduleSpec spec) {
        return read(spec, null, null);
    }

    /** With {@code now} null, reads a stored spec: absolute times only, no checks against now or a minimum. */
    private static Schedule read(ScheduleSpec spec, Instant now, Duration minInterval) {
        if (spec == null) throw new InvalidScheduleException("schedule", "is missing; " + oneOf());
        List<String> given = new ArrayList<>();
        if (spec.cron() != null) given.add("cron");
        if (spec.at() != null) given.add("at");
        if (spec.every() != null) given.add("every");
        if (given.size() != 1) {
            throw new InvalidScheduleException("schedule", oneOf() + "; got " + (given.isEmpty() ? "none"
                    : String.join(" and ", given)));
        }
        if (spec.anchor() != null && spec.every() == null) {
            throw new InvalidScheduleException("schedule.anchor", "only an 'every' schedule has an anchor; this one "
                    + "is '" + given.get(0) + "'");
        }
        ZoneId zone = Zones.parse(spec.zone());
        if (now == null) return stored(spec, zone);
        if (spec.cron() != null) return cron(spec.cron(), zone, now, minInterval);
        if (spec.at() != null) return at(spec.at(), zone, now);
        return every(spec, zone, now, minInterval);
    }

    private static Schedule stored(ScheduleSpec spec, ZoneId zone) {
        if (spec.cron() != null) return new CronSchedule(CronExpression.parse(spec.cron()), zone);
        if (spec.at() != null) return new AtSchedule(PointInTime.absolute("schedule.at", spec.at(), zone));
        Duration interval = duration("schedule.every", spec.every());
        if (interval.isZero()) throw new InvalidScheduleException("schedule.every", "interval must not be 0s");
        if (spec.anchor() == null) {
            throw new InvalidScheduleException("schedule.anchor", "a stored 'every' needs its anchor");
        }
        return new EverySchedule(interval, PointInTime.absolute("schedule.anchor", spec.anchor(), zone));
    }

    /**
     * The jitter of {@code spec} (zero when absent), checked against the schedule it goes with: not negative, less than
     * {@link #MAX_JITTER}, and less than the schedule's interval (an {@code every}'s, or a cron's shortest gap between
     * its next {@value #SAMPLED_FIRES} fire times after {@code now}) so that runs never swap order.
     */
    public static Duration jitter(ScheduleSpec spec, Schedule schedule, Instant now) {
        if (spec.jitter() == null) return Duration.ZERO;
        Duration jitter = duration("schedule.jitter", spec.jitter());
        if (jitter.compareTo(MAX_JITTER) >= 0) {
            throw new InvalidScheduleException("schedule.jitter", Durations.format(jitter)
                    + " is too large; it must be less than an hour");
        }
        Optional<Duration> interval = switch (schedule) {
            case EverySchedule e -> Optional.of(e.interval());
            case CronSchedule c -> shortestGap(c, now);
            case AtSchedule a -> Optional.empty();
        };
        if (interval.isPresent() && jitter.compareTo(interval.get()) >= 0) {
            throw new InvalidScheduleException("schedule.jitter", Durations.format(jitter) + " must be less than the "
                    + "schedule's interval (" + Durations.format(interval.get()) + "), or runs would swap order");
        }
        return jitter;
    }

    private static String oneOf() {
        return "give exactly one of schedule.cron, schedule.at or schedule.every";
    }

    private static CronSchedule cron(String text, ZoneId zone, Instant now, Duration minInterval) {
        CronSchedule schedule = new CronSchedule(CronExpression.parse(text), zone);
        if (schedule.nextAfter(now).isEmpty()) {
            throw new InvalidScheduleException("schedule.cron", "'" + schedule.expression()
                    + "' never fires: no date matches its day and month fields (like 30 February)");
        }
        if (schedule.expression().fieldCount() == 5 && minInterval.compareTo(Duration.ofMinutes(1)) <= 0) {
            return schedule; // five fields fire a minute apart at the closest: no need to look (it costs 16 lookups)
        }
        Optional<Duration> gap = shortestGap(schedule, now);
        if (gap.isPresent() && gap.get().compareTo(minInterval) < 0) {
            throw new InvalidScheduleException("schedule.cron", "'" + schedule.expression() + "' fires "
                    + Durations.format(gap.get()) + " apart, more often than the minimum interval of "
                    + Durations.format(minInterval));
        }
        return schedule;
    }

    /** The shortest gap between the cron's next fire times after {@code now}; empty when it fires once at most. */
    private static Optional<Duration> shortestGap(CronSchedule schedule, Instant now) {
        Duration shortest = null;
        Optional<Instant> previous = schedule.nextAfter(now);
        for (int i = 1; i < SAMPLED_FIRES && previous.isPresent(); i++) {
            Optional<Instant> next = schedule.nextAfter(previous.get());
            if (next.isEmpty()) break;
            Duration gap = Duration.between(previous.get(), next.get());
            if (shortest == null || gap.compareTo(shortest) < 0) shortest = gap;
            previous = next;
        }
        return Optional.ofNullable(shortest);
    }

    private static AtSchedule at(String text, ZoneId zone, Instant now) {
        Instant at = PointInTime.parse("schedule.at", text, zone, now, true);
        if (!at.isAfter(now)) {
            throw new InvalidScheduleException("schedule.at", at + " is in the past (now is " + now + "); expected a "
                    + "future instant, or a duration from now like 3d");
        }
        return new AtSchedule(at);
    }

    private static EverySchedule every(ScheduleSpec spec, ZoneId zone, Instant now, Duration minInterval) {
        Duration interval = duration("schedule.every", spec.every());
        if (interval.isZero() || interval.compareTo(minInterval) < 0) {
            throw new InvalidScheduleException("schedule.every", "interval " + Durations.format(interval)
                    + " is under the minimum of " + Durations.format(minInterval));
        }
        if (interval.compareTo(MAX_EVERY) > 0) {
            throw new InvalidScheduleException("schedule.every", "interval " + Durations.format(interval)
                    + " is over the maximum of " + Durations.format(MAX_EVERY) + "; for a yearly job use a cron "
                    + "like '0 9 1 1 *'");
        }
        Instant anchor = spec.anchor() == null ? now
                : PointInTime.parse("schedule.anchor", spec.anchor(), zone, now, false);
        return new EverySchedule(interval, anchor);
    }

    /** A positive-or-zero duration, or an error on {@code field} saying which forms are read. */
    private static Duration duration(String field, String text) {
        Inputs.check(field, text, MAX_DURATION_CHARS);
        String t = text.strip();
        if (t.startsWith("-")) {
            throw new InvalidScheduleException(field, "'" + clip(t, 40) + "' is negative; expected " + DURATION_FORMS);
        }
        try {
            return Durations.parse(t).orElseThrow(() -> new InvalidScheduleException(field, "expected "
                    + DURATION_FORMS + "; got '" + Inputs.printable(clip(t, 40)) + "'"));
        } catch (ArithmeticException e) {
            throw new InvalidScheduleException(field, "'" + clip(t, 40) + "' is too long; expected " + DURATION_FORMS);
        }
    }
}
