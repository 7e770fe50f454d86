package dev.carapace.schedule;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;

import static dev.carapace.schedule.FireTimesOf.after;
import static dev.carapace.schedule.FireTimesOf.between;
import static dev.carapace.schedule.FireTimesOf.instants;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The daylight-saving rule of {@link CronSchedule}, both ways, in two zones. Paris: 2026-03-29 02:00 CET jumps to
 * 03:00 CEST (01:00Z); 2026-10-25 03:00 CEST falls back to 02:00 CET (01:00Z). New York: 2026-03-08 02:00 EST jumps to
 * 03:00 EDT (07:00Z); 2026-11-01 02:00 EDT falls back to 01:00 EST (06:00Z).
 */
class CronScheduleDstTest {

    private static final ZoneId PARIS = ZoneId.of("Europe/Paris");
    private static final ZoneId NEW_YORK = ZoneId.of("America/New_York");

    private static CronSchedule cron(String expression, ZoneId zone) {
        return new CronSchedule(CronExpression.parse(expression), zone);
    }

    @Nested
    class SpringForward {

        @Test
        void aTimeOfDayInTheParisGapFiresOnceKeepingItsDistanceIntoTheGap() {
            // 02:30 does not exist on 29 March: it fires at 03:30 CEST, then at 02:30 CEST the next day
            assertThat(after(cron("30 2 * * *", PARIS), Instant.parse("2026-03-27T12:00:00Z"), 4)).isEqualTo(instants(
                    "2026-03-28T01:30:00Z", "2026-03-29T01:30:00Z", "2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z"));
        }

        @Test
        void aTimeOfDayInTheNewYorkGapFiresOnceKeepingItsDistanceIntoTheGap() {
            assertThat(after(cron("30 2 * * *", NEW_YORK), Instant.parse("2026-03-06T12:00:00Z"), 3)).isEqualTo(instants(
                    "2026-03-07T07:30:00Z", "2026-03-08T07:30:00Z", "2026-03-09T06:30:00Z"));
        }

        @Test
        void theGapRunIsWhatZonedDateTimeOfGives() {
            Instant expected = java.time.ZonedDateTime.of(2026, 3, 29, 2, 30, 0, 0, PARIS).toInstant();
            assertThat(cron("30 2 * * *", PARIS).nextAfter(Instant.parse("2026-03-29T00:00:00Z"))).contains(expected);
        }

        @Test
        void anHourlyCronFiresInEveryRealHourAcrossTheParisGap() {
            List<Instant> fires = between(cron("0 * * * *", PARIS),
                    Instant.parse("2026-03-28T22:30:00Z"), Instant.parse("2026-03-29T03:30:00Z"));
            // 00:00 CET, 01:00 CET, then 03:00 CEST (02:00 does not exist), 04:00, 05:00 CEST: one per real hour
            assertThat(fires).isEqualTo(instants("2026-03-28T23:00:00Z", "2026-03-29T00:00:00Z",
                    "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z", "2026-03-29T03:00:00Z"));
        }

        @Test
        void aQuarterHourlyCronFiresEveryRealQuarterAcrossTheNewYorkGap() {
            List<Instant> fires = between(cron("*/15 * * * *", NEW_YORK),
                    Instant.parse("2026-03-08T06:30:00Z"), Instant.parse("2026-03-08T08:00:00Z"));
            assertThat(fires).hasSize(6);
            for (int i = 1; i < fires.size(); i++) {
                assertThat(Duration.between(fires.get(i - 1), fires.get(i))).isEqualTo(Duration.ofMinutes(15));
            }
        }

        @Test
        void timesOfDayAroundTheGapKeepTheirOrderAndDoNotCollide() {
            // 02:45 lands at 03:45 CEST, after the real 03:15; 03:15 fires once, not twice
            List<Instant> fires = between(cron("15,45 2,3 * * *", PARIS),
                    Instant.parse("2026-03-29T00:00:00Z"), Instant.parse("2026-03-29T03:00:00Z"));
            assertThat(fires).isEqualTo(instants("2026-03-29T01:15:00Z", "2026-03-29T01:45:00Z"));
        }

        @Test
        void aSixFieldTimeOfDayInTheGapFiresOnce() {
            assertThat(between(cron("30 30 2 * * *", PARIS),
                    Instant.parse("2026-03-28T12:00:00Z"), Instant.parse("2026-03-29T12:00:00Z")))
                    .isEqualTo(instants("2026-03-29T01:30:30Z"));
        }

        @Test
        void askingFromInsideTheFirstHourAfterTheGapDoesNotFireTheShiftedRunAgain() {
            CronSchedule s = cron("30 2 * * *", PARIS);
            assertThat(s.nextAfter(Instant.parse("2026-03-29T01:30:00Z"))).contains(Instant.parse("2026-03-30T00:30:00Z"));
            assertThat(s.nextAfter(Instant.parse("2026-03-29T01:10:00Z"))).contains(Instant.parse("2026-03-29T01:30:00Z"));
        }
    }

    @Nested
    class FallBack {

        @Test
        void aTimeOfDayInTheRepeatedParisHourFiresOnceAtItsFirstOccurrence() {
            assertThat(after(cron("30 2 * * *", PARIS), Instant.parse("2026-10-24T12:00:00Z"), 3)).isEqualTo(instants(
                    "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z", "2026-10-27T01:30:00Z"));
        }

        @Test
        void aTimeOfDayInTheRepeatedNewYorkHourFiresOnceAtItsFirstOccurrence() {
            assertThat(after(cron("30 1 * * *", NEW_YORK), Instant.parse("2026-10-31T12:00:00Z"), 3)).isEqualTo(instants(
                    "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z", "2026-11-03T06:30:00Z"));
        }

        @Test
        void askingFromInsideTheRepeatedHourDoesNotFireTheSecondOccurrence() {
            // now is 02:10 CET, the second 02:10: 02:30 already fired at its first occurrence (00:30Z)
            assertThat(cron("30 2 * * *", PARIS).nextAfter(Instant.parse("2026-10-25T01:10:00Z")))
                    .contains(Instant.parse("2026-10-26T01:30:00Z"));
        }

        @Test
        void anHourlyCronFiresInEveryRealHourAcrossTheParisFallBackAndNeverTwiceInOne() {
            List<Instant> fires = between(cron("0 * * * *", PARIS),
                    Instant.parse("2026-10-24T22:30:00Z"), Instant.parse("2026-10-25T03:30:00Z"));
            // 01:00 CEST, 02:00 CEST, 02:00 CET, 03:00 CET, 04:00 CET
            assertThat(fires).isEqualTo(instants("2026-10-24T23:00:00Z", "2026-10-25T00:00:00Z",
                    "2026-10-25T01:00:00Z", "2026-10-25T02:00:00Z", "2026-10-25T03:00:00Z"));
        }

        @Test
        void anHourlyCronFiresInEveryRealHourAcrossTheNewYorkFallBack() {
            List<Instant> fires = between(cron("0 * * * *", NEW_YORK),
                    Instant.parse("2026-11-01T03:30:00Z"), Instant.parse("2026-11-01T08:30:00Z"));
            assertThat(fires).isEqualTo(instants("2026-11-01T04:00:00Z", "2026-11-01T05:00:00Z",
                    "2026-11-01T06:00:00Z", "2026-11-01T07:00:00Z", "2026-11-01T08:00:00Z"));
        }

        @Test
        void aRhythmWithinTheRepeatedHourFiresInBothPasses() {
            // every 20 minutes during 02:xx: the hour happens twice, and so do its three runs
            List<Instant> fires = between(cron("*/20 2 * * *", PARIS),
                    Instant.parse("2026-10-24T23:00:00Z"), Instant.parse("2026-10-25T03:00:00Z"));
            assertThat(fires).isEqualTo(instants("2026-10-25T00:00:00Z", "2026-10-25T00:20:00Z", "2026-10-25T00:40:00Z",
                    "2026-10-25T01:00:00Z", "2026-10-25T01:20:00Z", "2026-10-25T01:40:00Z"));
        }

        @Test
        void aSixFieldTimeOfDayInTheRepeatedHourFiresOnce() {
            assertThat(between(cron("15 30 1 * * *", NEW_YORK),
                    Instant.parse("2026-11-01T00:00:00Z"), Instant.parse("2026-11-01T12:00:00Z")))
                    .isEqualTo(instants("2026-11-01T05:30:15Z"));
        }
    }

    @Test
    void nextAfterAnyInstantIsTheFirstListedFireTimeAfterIt() {
        // the missed-run bisection relies on nextAfter being the next element of one fixed set of fire times
        java.util.Random random = new java.util.Random(16);
        for (String expression : List.of("30 2 * * *", "0 * * * *", "*/20 2 * * *", "15,45 1-3 * * *", "0 30 2 * * *")) {
            for (ZoneId zone : List.of(PARIS, NEW_YORK)) {
                for (String day : List.of("2026-03-07T00:00:00Z", "2026-03-28T00:00:00Z", "2026-10-24T00:00:00Z",
                        "2026-10-31T00:00:00Z")) {
                    CronSchedule s = cron(expression, zone);
                    Instant start = Instant.parse(day);
                    Instant end = start.plus(Duration.ofDays(3));
                    List<Instant> listed = between(s, start, end);
                    assertThat(listed).isSorted().doesNotHaveDuplicates();
                    for (int i = 0; i < 200; i++) {
                        Instant t = start.plusSeconds(random.nextLong(Duration.ofDays(2).toSeconds()))
                                .plusNanos(random.nextInt(3) * 500_000_000L);
                        Instant expected = listed.stream().filter(f -> f.isAfter(t)).findFirst().orElseThrow();
                        assertThat(s.nextAfter(t)).as("%s in %s after %s", expression, zone, t).contains(expected);
                    }
                }
            }
        }
    }

    @Test
    void cronUtilsOwnZoneHandlingDropsTheSpringForwardRunWhichIsWhyItIsNeverAskedAboutAZone() {
        // if an upgrade changes this, CronSchedule's rule still holds; this only records why it exists
        var cronUtils = com.cronutils.model.time.ExecutionTime.forCron(new com.cronutils.parser.CronParser(
                com.cronutils.model.definition.CronDefinitionBuilder.instanceDefinitionFor(
                        com.cronutils.model.CronType.UNIX)).parse("30 2 * * *"));
        var next = cronUtils.nextExecution(java.time.ZonedDateTime.of(2026, 3, 28, 23, 30, 0, 0, PARIS));
        assertThat(next.map(z -> z.toInstant())).contains(Instant.parse("2026-03-30T00:30:00Z"));
        assertThat(cron("30 2 * * *", PARIS).nextAfter(Instant.parse("2026-03-28T22:30:00Z")))
                .contains(Instant.parse("2026-03-29T01:30:00Z"));
    }

    @Test
    void aDailyCronKeepsItsWallTimeOnBothSidesOfEachChange() {
        // 09:00 Paris is 08:00Z in winter and 07:00Z in summer
        CronSchedule s = cron("0 9 * * *", PARIS);
        assertThat(s.nextAfter(Instant.parse("2026-03-28T12:00:00Z"))).contains(Instant.parse("2026-03-29T07:00:00Z"));
        assertThat(s.nextAfter(Instant.parse("2026-03-27T12:00:00Z"))).contains(Instant.parse("2026-03-28T08:00:00Z"));
        assertThat(s.nextAfter(Instant.parse("2026-10-24T12:00:00Z"))).contains(Instant.parse("2026-10-25T08:00:00Z"));
    }

    @Test
    void aFixedOffsetZoneHasNoTransitionsToHandle() {
        CronSchedule s = cron("0 9 * * *", ZoneId.of("+05:30"));
        assertThat(s.nextAfter(Instant.parse("2026-12-05T00:00:00Z"))).contains(Instant.parse("2026-12-05T03:30:00Z"));
    }

    @Test
    void aYearlyCronCrossesSeveralTransitions() {
        assertThat(cron("0 0 1 1 *", PARIS).nextAfter(Instant.parse("2026-02-01T00:00:00Z")))
                .contains(Instant.parse("2026-12-31T23:00:00Z"));
        // 29 February on a Monday (six fields: both day fields must match): 2044, dozens of offset changes away
        assertThat(cron("0 0 0 29 2 MON", PARIS).nextAfter(Instant.parse("2026-12-05T00:00:00Z")))
                .contains(Instant.parse("2044-02-28T23:00:00Z"));
    }
}
