package dev.carapace.schedule;

/**
 * A schedule as a user writes it, in YAML, JSON or on the command line, before anything is checked: exactly one of
 * {@code cron}, {@code at} or {@code every}, and the settings that go with them. {@link Schedules#parse} turns it into
 * a {@link Schedule} or says which field is wrong.
 *
 * @param cron   a 5-field (Unix) or 6-field (seconds first) cron expression, read in {@code zone}
 * @param at     an ISO instant ({@code 2026-12-08T09:00:00Z}), a local date-time read in {@code zone}
 *               ({@code 2026-12-08T09:00}), or a duration from now ({@code 3d}, {@code 2h30m}, {@code PT2H})
 * @param every  an interval ({@code 30m}, {@code 1h}, {@code PT30M})
 * @param anchor for {@code every}: when the first run is and what the phase is; an ISO instant or a local date-time in
 *               {@code zone}; now when absent
 * @param zone   an IANA time zone ({@code Europe/Paris}); UTC when absent
 * @param jitter a random-looking but fixed delay up to this much, per job, to spread crowds ({@code 5m})
 */
public record ScheduleSpec(String cron, String at, String every, String anchor, String zone, String jitter) {

    public static ScheduleSpec cron(String cron, String zone) {
        return new ScheduleSpec(cron, null, null, null, zone, null);
    }

    public static ScheduleSpec at(String at) {
        return new ScheduleSpec(null, at, null, null, null, null);
    }

    public static ScheduleSpec every(String every, String anchor) {
        return new ScheduleSpec(null, null, every, anchor, null, null);
    }

    /** This spec with {@code jitter} set. */
    public ScheduleSpec withJitter(String jitter) {
        return new ScheduleSpec(cron, at, every, anchor, zone, jitter);
    }

    /** This spec with {@code zone} set. */
    public ScheduleSpec withZone(String zone) {
        return new ScheduleSpec(cron, at, every, anchor, zone, jitter);
    }
}
