package dev.carapace.schedule.heartbeat;

import dev.carapace.text.Excerpt;

import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The hours of the day a heartbeat may beat, on the wall clock of one time zone, written
 * {@code "08:00-20:00 Europe/Paris"}.
 *
 * <ul>
 *   <li>The start is inclusive, the end exclusive; {@code 24:00} may end a window at midnight
 *       ({@code "00:00-24:00 UTC"} is the whole day).</li>
 *   <li>A start after the end crosses midnight: {@code "22:00-06:00 UTC"} runs from 22:00 to 06:00 the next
 *       morning. A start equal to the end is refused: it could mean an empty window or a whole day.</li>
 *   <li>The zone is required, an IANA name ({@code Europe/Paris}), {@code UTC} or an offset ({@code +01:00}): a
 *       window without one would silently be off by the server's offset for most users. It is also the zone in
 *       which the checklist's dates are read; {@code "00:00-24:00 Europe/Paris"} sets a zone without restricting
 *       the hours.</li>
 *   <li>On daylight-saving days the window follows the wall clock, so it is an hour shorter or longer in real
 *       time; a start the clocks skip opens the window when they jump ({@link WallClock}), and a window that lies
 *       wholly inside the skipped hour is empty that day.</li>
 * </ul>
 *
 * @param startMinute minutes after local midnight, 0 to 1439
 * @param endMinute   minutes after local midnight, 0 to 1440 (1440 is "24:00")
 */
public record ActiveHours(int startMinute, int endMinute, ZoneId zone) {

    /** The config key the messages name. */
    public static final String FIELD = "heartbeat.active_hours";

    private static final String EXAMPLE = "'08:00-20:00 Europe/Paris'";
    private static final Pattern FORM =
            Pattern.compile("\\s*(\\d{1,2}):(\\d{2})\\s*-\\s*(\\d{1,2}):(\\d{2})(?:\\s+(\\S+))?\\s*");
    private static final int DAY = 24 * 60;

    public ActiveHours {
        if (startMinute < 0 || startMinute >= DAY) throw new IllegalArgumentException(FIELD + ": start out of range");
        if (endMinute < 0 || endMinute > DAY) throw new IllegalArgumentException(FIELD + ": end out of range");
        if (startMinute == endMinute % DAY && !(startMinute == 0 && endMinute == DAY)) {
            throw new IllegalArgumentException(FIELD + ": the window starts and ends at " + hhmm(startMinute)
                    + "; for the whole day write '00:00-24:00 " + (zone == null ? "UTC" : zone.getId()) + "'");
        }
        if (zone == null) throw new IllegalArgumentException(FIELD + ": no time zone; expected e.g. " + EXAMPLE);
    }

    /** Reads {@code "HH:MM-HH:MM ZONE"}; errors name {@link #FIELD}. */
    public static ActiveHours parse(String text) {
        return parse(text, FIELD);
    }

    /** Reads {@code "HH:MM-HH:MM ZONE"}; errors name {@code field}. */
    public static ActiveHours parse(String text, String field) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException(field + ": empty; expected HH:MM-HH:MM ZONE, e.g. " + EXAMPLE);
        }
        String shown = "'" + Excerpt.clip(text.strip(), 60) + "'";
        Matcher m = FORM.matcher(text);
        if (!m.matches()) {
            throw new IllegalArgumentException(field + ": " + shown + " is not of the form HH:MM-HH:MM ZONE, e.g. "
                    + EXAMPLE);
        }
        int start = minute(m.group(1), m.group(2), false, field);
        int end = minute(m.group(3), m.group(4), true, field);
        if (m.group(5) == null) {
            throw new IllegalArgumentException(field + ": " + shown + " has no time zone; add one, e.g. '"
                    + hhmm(start) + "-" + hhmm(end) + " Europe/Paris' or '" + hhmm(start) + "-" + hhmm(end) + " UTC'");
        }
        ZoneId zone;
        try {
            zone = ZoneId.of(m.group(5));
        } catch (DateTimeException e) {
            throw new IllegalArgumentException(field + ": unknown time zone '" + Excerpt.clip(m.group(5), 40)
                    + "'; expected an IANA name such as Europe/Paris, or UTC, or an offset such as +01:00");
        }
        return new ActiveHours(start, end, zone);
    }

    private static int minute(String hours, String minutes, boolean isEnd, String field) {
        int h = Integer.parseInt(hours);
        int m = Integer.parseInt(minutes);
        if (isEnd && h == 24 && m == 0) return DAY;
        if (h > 23 || m > 59) {
            throw new IllegalArgumentException(field + ": '" + hours + ":" + minutes + "' is not a time of day; "
                    + "expected 00:00 to 23:59" + (isEnd ? ", or 24:00 for the end of the day" : ""));
        }
        return h * 60 + m;
    }

    /** Whether {@code instant}'s wall time in {@link #zone} is inside the window. */
    public boolean contains(Instant instant) {
        int second = instant.atZone(zone).toLocalTime().toSecondOfDay();
        int start = startMinute * 60;
        int end = endMinute * 60;
        return start < end ? second >= start && second < end : second >= start || second < end;
    }

    /** {@code now} when inside the window, else the first instant after it that is: where a skipped beat resumes. */
    public Instant nextStart(Instant now) {
        if (contains(now)) return now;
        LocalDate today = now.atZone(zone).toLocalDate();
        for (int day = 0; day <= 3; day++) {
            Instant start = WallClock.firstInstant(today.plusDays(day).atTime(startMinute / 60, startMinute % 60), zone);
            if (start.isAfter(now) && contains(start)) return start;
        }
        // Unreachable for real zones (no day loses more than its skipped hour); a safe answer if one ever did.
        return now.plusSeconds(DAY * 60L);
    }

    /** The canonical form, which {@link #parse} reads back. */
    @Override
    public String toString() {
        return hhmm(startMinute) + "-" + hhmm(endMinute) + " " + zone.getId();
    }

    private static String hhmm(int minute) {
        return String.format("%02d:%02d", minute / 60, minute % 60);
    }
}
