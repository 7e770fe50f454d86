package dev.carapace.schedule;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

import static org.assertj.core.api.Assertions.assertThat;

/** What {@link Schedules#parse} makes of the forms a user writes. */
class SchedulesTest {

    static final Instant NOW = Instant.parse("2026-12-05T10:00:00Z");
    static final Duration MIN = Duration.ofMinutes(1);

    private static Schedule parse(ScheduleSpec spec) {
        return Schedules.parse(spec, NOW, MIN);
    }

    @Test
    void aCronIsReadInItsZoneOrUtc() {
        Schedule paris = parse(ScheduleSpec.cron("0 9 * * 1-5", "Europe/Paris"));
        assertThat(paris).isEqualTo(new CronSchedule(CronExpression.parse("0 9 * * 1-5"), ZoneId.of("Europe/Paris")));
        assertThat(paris.nextAfter(NOW)).contains(Instant.parse("2026-12-07T08:00:00Z"));
        assertThat(paris.describe()).isEqualTo("at 09:00 every day between Monday and Friday (Europe/Paris)");
        Schedule utc = parse(ScheduleSpec.cron("0 0 9 * * *", null));
        assertThat(((CronSchedule) utc).zone()).isEqualTo(ZoneOffset.UTC);
        assertThat(utc.nextAfter(NOW)).contains(Instant.parse("2026-12-06T09:00:00Z"));
    }

    @ParameterizedTest
    @CsvSource(nullValues = "-", value = {
            "2026-12-08T09:00:00Z,      -,                2026-12-08T09:00:00Z",
            "2026-12-08T10:00:00+01:00, -,                2026-12-08T09:00:00Z",
            "2026-12-08T09:00,          Europe/Paris,     2026-12-08T08:00:00Z",
            "2026-12-08T09:00:30,       America/New_York, 2026-12-08T14:00:30Z",
            "2026-12-08T09:00,          -,                2026-12-08T09:00:00Z",
            "3d,                        -,                2026-12-08T10:00:00Z",
            "2h30m,                     -,                2026-12-05T12:30:00Z",
            "90s,                       -,                2026-12-05T10:01:30Z",
            "PT2H,                      -,                2026-12-05T12:00:00Z"})
    void anAtIsAnInstantALocalTimeInTheZoneOrADurationFromNow(String at, String zone, String expected) {
        Schedule s = parse(new ScheduleSpec(null, at, null, null, zone, null));
        assertThat(s).isEqualTo(new AtSchedule(Instant.parse(expected)));
        assertThat(s.describe()).isEqualTo("once at " + expected);
        assertThat(s.kind()).isEqualTo("at");
        assertThat(s.nextAfter(NOW)).contains(Instant.parse(expected));
        assertThat(s.nextAfter(Instant.parse(expected))).isEmpty();
    }

    @Test
    void aLocalAtInADaylightSavingGapFollowsTheCronRule() {
        // 02:30 on 29 March does not exist in Paris: it is 03:30 CEST, as for a cron
        Schedule s = Schedules.parse(new ScheduleSpec(null, "2027-03-28T02:30", null, null, "Europe/Paris", null),
                NOW, MIN);
        assertThat(s.nextAfter(NOW)).contains(Instant.parse("2027-03-28T01:30:00Z"));
    }

    @ParameterizedTest
    @CsvSource({"30m, PT30M", "1h, PT1H", "PT30M, PT30M", "2h30m, PT2H30M", "1d, PT24H"})
    void anEveryIsADurationAnchoredNowByDefault(String every, String interval) {
        Schedule s = parse(ScheduleSpec.every(every, null));
        assertThat(s).isEqualTo(new EverySchedule(Duration.parse(interval), NOW));
        assertThat(s.nextAfter(NOW)).contains(NOW.plus(Duration.parse(interval)));
    }

    @Test
    void anEveryTakesAnAnchorAsAnInstantOrALocalTime() {
        Schedule s = parse(ScheduleSpec.every("30m", "2026-12-05T10:00:00Z"));
        assertThat(s.describe()).isEqualTo("every 30 minutes from 2026-12-05T10:00:00Z");
        Schedule local = parse(ScheduleSpec.every("1h", "2026-12-01T08:15").withZone("Europe/Paris"));
        assertThat(local).isEqualTo(new EverySchedule(Duration.ofHours(1), Instant.parse("2026-12-01T07:15:00Z")));
        assertThat(local.nextAfter(NOW)).contains(Instant.parse("2026-12-05T10:15:00Z"));
        Schedule future = parse(ScheduleSpec.every("1h", "2027-01-01T00:00:00Z"));
        assertThat(future.nextAfter(NOW)).contains(Instant.parse("2027-01-01T00:00:00Z"));
    }

    @Test
    void jitterIsZeroWhenAbsentAndCheckedAgainstTheSchedule() {
        ScheduleSpec every = ScheduleSpec.every("30m", null);
        assertThat(Schedules.jitter(every, parse(every), NOW)).isEqualTo(Duration.ZERO);
        ScheduleSpec jittered = every.withJitter("5m");
        assertThat(Schedules.jitter(jittered, parse(jittered), NOW)).isEqualTo(Duration.ofMinutes(5));
        ScheduleSpec hourly = ScheduleSpec.cron("0 * * * *", "UTC").withJitter("59m");
        assertThat(Schedules.jitter(hourly, parse(hourly), NOW)).isEqualTo(Duration.ofMinutes(59));
        ScheduleSpec once = ScheduleSpec.at("3d").withJitter("10m");
        assertThat(Schedules.jitter(once, parse(once), NOW)).isEqualTo(Duration.ofMinutes(10));
    }

    @Test
    void aStoredScheduleIsRestoredEqualWhateverNowIs() {
        for (Schedule s : java.util.List.of(
                parse(ScheduleSpec.cron("0 9 * * 1-5", "Europe/Paris")),
                parse(ScheduleSpec.cron("30 */5 * * * *", null)),
                parse(ScheduleSpec.at("2h30m")),
                parse(new ScheduleSpec(null, "2026-12-08T09:00", null, null, "America/New_York", null)),
                parse(ScheduleSpec.every("90s", null)),
                new EverySchedule(Duration.ofMillis(1500), Instant.parse("2026-12-05T10:00:00.123456789Z")))) {
            assertThat(Schedules.restore(s.spec())).as(s.describe()).isEqualTo(s);
        }
    }

    @Test
    void restoringSkipsTheChecksThatDependOnWhenItWasWritten() {
        // an at that has passed and an interval under today's minimum are still the schedules that were stored
        assertThat(Schedules.restore(ScheduleSpec.at("2020-01-01T00:00:00Z")))
                .isEqualTo(new AtSchedule(Instant.parse("2020-01-01T00:00:00Z")));
        assertThat(Schedules.restore(ScheduleSpec.every("PT10S", "2020-01-01T00:00:00Z")))
                .isEqualTo(new EverySchedule(Duration.ofSeconds(10), Instant.parse("2020-01-01T00:00:00Z")));
    }

    @Test
    void restoringDamagedTextIsStillAnInvalidScheduleException() {
        assertThat(org.assertj.core.api.Assertions.catchThrowableOfType(InvalidScheduleException.class,
                () -> Schedules.restore(ScheduleSpec.at("3d"))).field()).isEqualTo("schedule.at");
        assertThat(org.assertj.core.api.Assertions.catchThrowableOfType(InvalidScheduleException.class,
                () -> Schedules.restore(ScheduleSpec.every("PT10S", null))).problem())
                .isEqualTo("a stored 'every' needs its anchor");
    }

    @Test
    void aFiveFieldCronIsHeldToAMinimumAboveAMinute() {
        assertThat(org.assertj.core.api.Assertions.catchThrowableOfType(InvalidScheduleException.class,
                () -> Schedules.parse(ScheduleSpec.cron("*/2 * * * *", null), NOW, Duration.ofMinutes(5))).problem())
                .isEqualTo("'*/2 * * * *' fires 2m apart, more often than the minimum interval of 5m");
        assertThat(Schedules.parse(ScheduleSpec.cron("*/5 * * * *", null), NOW, Duration.ofMinutes(5))).isNotNull();
    }

    @Test
    void surroundingSpacesAreNotPartOfTheValue() {
        assertThat(parse(new ScheduleSpec(null, null, " 30m ", null, " UTC ", null)))
                .isEqualTo(new EverySchedule(Duration.ofMinutes(30), NOW));
    }
}
