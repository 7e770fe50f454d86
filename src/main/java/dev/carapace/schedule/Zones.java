package dev.carapace.schedule;

import java.time.DateTimeException;
import java.time.ZoneId;
import java.time.ZoneOffset;

import static dev.carapace.text.Excerpt.clip;

/** The {@code zone} of a schedule: an IANA zone or a fixed offset, with a suggestion when only the case is wrong. */
final class Zones {

    static final String FIELD = "schedule.zone";
    private static final int MAX_CHARS = 64;

    private Zones() {}

    /** UTC when {@code text} is null. */
    static ZoneId parse(String text) {
        if (text == null) return ZoneOffset.UTC;
        Inputs.check(FIELD, text, MAX_CHARS);
        String t = text.strip();
        try {
            return ZoneId.of(t);
        } catch (DateTimeException e) {
            String hint = ZoneId.getAvailableZoneIds().stream().filter(id -> id.equalsIgnoreCase(t)).findFirst()
                    .map(id -> "; did you mean '" + id + "'?").orElse("");
            throw new InvalidScheduleException(FIELD, "unknown time zone '" + Inputs.printable(clip(t, 40))
                    + "'; expected an IANA zone like 'Europe/Paris', 'America/New_York' or 'UTC'" + hint);
        }
    }
}
