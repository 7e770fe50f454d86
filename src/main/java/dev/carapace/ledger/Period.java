package dev.carapace.ledger;

import java.time.DayOfWeek;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.temporal.TemporalAdjusters;

/** How often a budget starts over: calendar day, ISO week (Monday) or month in the budget's time zone, or never. */
public enum Period {
    DAY, WEEK, MONTH, NONE;

    /** The start of the window holding {@code now}; the epoch for {@link #NONE}. */
    public Instant start(Instant now, ZoneId zone) {
        ZonedDateTime t = now.atZone(zone).toLocalDate().atStartOfDay(zone);
        return switch (this) {
            case DAY -> t.toInstant();
            case WEEK -> t.with(TemporalAdjusters.previousOrSame(DayOfWeek.MONDAY)).toLocalDate().atStartOfDay(zone).toInstant();
            case MONTH -> t.withDayOfMonth(1).toLocalDate().atStartOfDay(zone).toInstant();
            case NONE -> Instant.EPOCH;
        };
    }

    /** When the window holding {@code now} ends (the next reset), or null for {@link #NONE}. */
    public Instant reset(Instant now, ZoneId zone) {
        ZonedDateTime s = start(now, zone).atZone(zone);
        return switch (this) {
            case DAY -> s.toLocalDate().plusDays(1).atStartOfDay(zone).toInstant();
            case WEEK -> s.toLocalDate().plusWeeks(1).atStartOfDay(zone).toInstant();
            case MONTH -> s.toLocalDate().plusMonths(1).atStartOfDay(zone).toInstant();
            case NONE -> null;
        };
    }

    public String label() { return name().toLowerCase(); }
}
