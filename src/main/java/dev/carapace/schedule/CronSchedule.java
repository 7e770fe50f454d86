package dev.carapace.schedule;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.zone.ZoneOffsetTransition;
import java.time.zone.ZoneRules;
import java.util.Objects;
import java.util.Optional;

/**
 * A cron expression read on the wall clock of a time zone, with this daylight-saving rule (tested in Europe/Paris
 * and America/New_York, both ways):
 * <ul>
 *   <li><b>A time of day</b> (no {@code *} or step in its second, minute and hour fields, like {@code 30 2 * * *}):
 *       when the clocks go forward and the time does not exist, it fires once, at the instant that keeps its distance
 *       into the gap (02:30 becomes 03:30 where 02:00 jumps to 03:00, which is what {@code ZonedDateTime.of} gives);
 *       when the clocks go back and the time happens twice, it fires once, at the first.</li>
 *   <li><b>A rhythm</b> ({@code *} or a step in one of those fields, like {@code 0 * * * *} or {@code *&#47;15 9-17 * * *}):
 *       it follows the wall clock as it is: times that do not exist do not fire, and in the repeated hour it fires
 *       again. An hourly cron thus fires once in every real hour across both changes, never twice in one hour and
 *       never skipping one.</li>
 * </ul>
 * This is the line Vixie cron draws ("jobs specified with wildcards are run based on the new time immediately"; fixed
 * times are neither lost in a gap nor repeated), except that a skipped time of day keeps its distance into the gap
 * rather than running at the change. Nothing is left to cron-utils' own zone handling, which silently drops the
 * 02:30 run on the day the clocks go forward: it is only ever asked about a fixed offset.
 */
public record CronSchedule(CronExpression expression, ZoneId zone) implements Schedule {

    /** How many offset changes a search crosses before giving up: more than a century of daylight saving. */
    private static final int MAX_SEGMENTS = 256;

    public CronSchedule {
        Objects.requireNonNull(expression, "expression");
        Objects.requireNonNull(zone, "zone");
    }

    /**
     * Walks the zone's stretches of constant offset from {@code t}: in each, cron-utils finds the next match at that
     * fixed offset, and the rule above decides about the stretch's first hour when it began with a change.
     */
    @Override
    public Optional<Instant> nextAfter(Instant t) {
        ZoneRules rules = zone.getRules();
        if (rules.isFixedOffset()) return expression.nextAfter(t, rules.getOffset(t));
        // the change at or before t begins t's stretch (a change on t itself counts: its offset is t's)
        ZoneOffsetTransition since = rules.previousTransition(t.plusNanos(1));
        ZoneOffsetTransition until = rules.nextTransition(t);
        Instant from = t;
        for (int i = 0; i < MAX_SEGMENTS; i++) {
            ZoneOffset offset = rules.getOffset(from.plusNanos(1));
            Optional<Instant> plain = expression.nextAfter(from, offset);
            if (plain.isEmpty()) return Optional.empty(); // no wall time ever matches again
            Optional<Instant> found = firstInStretch(since, offset, from, plain.get(),
                    until == null ? Instant.MAX : until.getInstant());
            if (found.isPresent() || until == null) return found;
            since = until;
            from = until.getInstant().minusNanos(1);
            until = rules.nextTransition(until.getInstant());
        }
        return Optional.empty();
    }

    /** The first fire time after {@code from} and before {@code end}, in a stretch that began with {@code since}. */
    private Optional<Instant> firstInStretch(ZoneOffsetTransition since, ZoneOffset offset, Instant from,
                                             Instant plain, Instant end) {
        Instant best = plain;
        if (since != null && !expression.isRhythm()) {
            Instant changed = since.getInstant();
            Duration shift = since.getDuration().abs();
            if (since.isOverlap() && best.isBefore(changed.plus(shift))) {
                // the repeated hour: its wall times already fired at their first occurrence, before the change
                best = expression.nextAfter(changed.plus(shift).minusNanos(1), offset).orElse(Instant.MAX);
            }
            if (since.isGap() && from.isBefore(changed.plus(shift))) {
                // wall times in the gap, read at the old offset, land in the first hour after the change, as far into
                // it as they were into the gap
                Optional<Instant> skipped = expression.nextAfter(from, since.getOffsetBefore())
                        .filter(s -> s.isBefore(changed.plus(shift)));
                if (skipped.isPresent() && skipped.get().isBefore(best)) best = skipped.get();
            }
        }
        return best.isBefore(end) ? Optional.of(best) : Optional.empty();
    }

    @Override
    public String describe() {
        return expression.describe() + " (" + zone.getId() + ")";
    }

    @Override
    public ScheduleSpec spec() {
        return ScheduleSpec.cron(expression.text(), zone.getId());
    }

    @Override
    public String kind() {
        return "cron";
    }
}
