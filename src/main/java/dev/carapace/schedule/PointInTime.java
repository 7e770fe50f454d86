package dev.carapace.schedule;

import dev.carapace.text.Durations;

import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.format.DateTimeParseException;
import java.util.Optional;

import static dev.carapace.text.Excerpt.clip;

/**
 * An instant as a schedule writes it ({@code at}, {@code anchor}): ISO with an offset ({@code 2026-12-08T09:00:00Z},
 * {@code 2026-12-08T10:00:00+01:00}), a local date-time read in the schedule's zone ({@code 2026-12-08T09:00}; a time
 * the clocks skip keeps its distance into the gap, one they repeat is the first), or, where allowed, a duration from
 * now ({@code 3d}).
 */
final class PointInTime {

    private static final int MAX_CHARS = 64;
    /** Further than this from now is a mistake rather than a plan. */
    static final Duration HORIZON = Duration.ofDays(100 * 366);

    private PointInTime() {}

    /** An instant written {@code now}: any form, at most {@link #HORIZON} away (a duration only when {@code fromNow}). */
    static Instant parse(String field, String text, ZoneId zone, Instant now, boolean fromNow) {
        Instant instant = read(field, text, zone, fromNow ? now : null);
        Duration away = Duration.between(now, instant).abs();
        if (away.compareTo(HORIZON) > 0) {
            throw new InvalidScheduleException(field, instant + " is more than 100 years from now (" + now + ")");
        }
        return instant;
    }

    /** An instant stored earlier: ISO or local, whenever it is. */
    static Instant absolute(String field, String text, ZoneId zone) {
        return read(field, text, zone, null);
    }

    private static Instant read(String field, String text, ZoneId zone, Instant relativeTo) {
        Inputs.check(field, text, MAX_CHARS);
        String t = text.strip();
        Instant instant = relativeTo == null ? null : later(field, t, relativeTo).orElse(null);
        if (instant != null) return instant;
        return dateTime(t, zone).orElseThrow(() -> new InvalidScheduleException(field,
                "expected " + forms(field, relativeTo != null) + "; got '" + Inputs.printable(clip(t, 40)) + "'"));
    }

    private static String forms(String field, boolean fromNow) {
        String zoneField = field.substring(0, field.indexOf('.') + 1) + "zone";
        return "an ISO instant (2026-12-08T09:00:00Z), a local date-time read in " + zoneField + " (2026-12-08T09:00)"
                + (fromNow ? " or a duration from now (3d, 2h30m, 90s, PT2H)" : "");
    }

    private static Optional<Instant> later(String field, String t, Instant now) {
        Optional<Duration> d;
        try {
            d = Durations.parse(t);
        } catch (ArithmeticException e) {
            d = Optional.of(HORIZON.plusDays(1));
        }
        if (d.isPresent() && d.get().compareTo(HORIZON) > 0) {
            throw new InvalidScheduleException(field, "'" + clip(t, 40) + "' from now is more than 100 years away");
        }
        return d.map(now::plus);
    }

    private static Optional<Instant> dateTime(String t, ZoneId zone) {
        try {
            return Optional.of(OffsetDateTime.parse(t).toInstant());
        } catch (DateTimeParseException notWithOffset) {
            try {
                return Optional.of(ZonedDateTime.of(LocalDateTime.parse(t), zone).toInstant());
            } catch (DateTimeException notLocal) {
                return Optional.empty();
            }
        }
    }
}
