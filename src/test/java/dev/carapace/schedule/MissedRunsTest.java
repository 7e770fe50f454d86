package dev.carapace.schedule;

import dev.carapace.schedule.MissedRuns.Plan;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;

import static dev.carapace.schedule.FireTimesOf.instants;
import static dev.carapace.schedule.MissedRunPolicy.RUN_ALL;
import static dev.carapace.schedule.MissedRunPolicy.RUN_ONCE;
import static dev.carapace.schedule.MissedRunPolicy.SKIP;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class MissedRunsTest {

    private static final Duration GRACE = Duration.ofMinutes(1);
    /** Hourly at :00 from midnight; the gateway was down from before 10:00 until 13:30. */
    private static final Schedule HOURLY = new EverySchedule(Duration.ofHours(1), Instant.parse("2026-12-05T00:00:00Z"));
    private static final Instant DUE = Instant.parse("2026-12-05T10:00:00Z");
    private static final Instant BACK = Instant.parse("2026-12-05T13:30:00Z");
    private static final Optional<Instant> NEXT = Optional.of(Instant.parse("2026-12-05T14:00:00Z"));

    @Nested
    class OnTime {

        @Test
        void aRunPickedUpWithinGraceRunsForItsFireTime() {
            Instant now = DUE.plusSeconds(45);
            for (MissedRunPolicy policy : MissedRunPolicy.values()) {
                assertThat(MissedRuns.plan(policy, HOURLY, DUE, now, GRACE, 10)).isEqualTo(new Plan(List.of(DUE),
                        List.of(), 0, true, Optional.of(Instant.parse("2026-12-05T11:00:00Z"))));
            }
        }

        @Test
        void exactlyAtTheGraceIsStillOnTime() {
            assertThat(MissedRuns.plan(SKIP, HOURLY, DUE, DUE.plus(GRACE), GRACE, 10).run()).containsExactly(DUE);
        }

        @Test
        void fireTimesThatPassedBehindAnOnTimeRunAreRecordedAsMissedNotLost() {
            Schedule everyTenSeconds = new EverySchedule(Duration.ofSeconds(10), Instant.parse("2026-12-05T00:00:00Z"));
            Plan plan = MissedRuns.plan(RUN_ONCE, everyTenSeconds, DUE, DUE.plusSeconds(25), GRACE, 10);
            assertThat(plan.run()).containsExactly(DUE);
            assertThat(plan.missed()).isEqualTo(instants("2026-12-05T10:00:10Z", "2026-12-05T10:00:20Z"));
            assertThat(plan.missedCount()).isEqualTo(2);
            assertThat(plan.next()).contains(Instant.parse("2026-12-05T10:00:30Z"));
        }
    }

    @Nested
    class Late {

        @Test
        void runOnceRunsForTheLatestAndListsTheOthers() {
            assertThat(MissedRuns.plan(RUN_ONCE, HOURLY, DUE, BACK, GRACE, 10)).isEqualTo(new Plan(
                    instants("2026-12-05T13:00:00Z"),
                    instants("2026-12-05T10:00:00Z", "2026-12-05T11:00:00Z", "2026-12-05T12:00:00Z"), 3, true, NEXT));
        }

        @Test
        void runOnceOfASingleLateRunRunsIt() {
            Instant now = DUE.plus(Duration.ofMinutes(5));
            assertThat(MissedRuns.plan(RUN_ONCE, HOURLY, DUE, now, GRACE, 10)).isEqualTo(new Plan(List.of(DUE),
                    List.of(), 0, true, Optional.of(Instant.parse("2026-12-05T11:00:00Z"))));
        }

        @Test
        void runAllRunsThemOldestFirst() {
            assertThat(MissedRuns.plan(RUN_ALL, HOURLY, DUE, BACK, GRACE, 10)).isEqualTo(new Plan(
                    instants("2026-12-05T10:00:00Z", "2026-12-05T11:00:00Z", "2026-12-05T12:00:00Z",
                            "2026-12-05T13:00:00Z"), List.of(), 0, true, NEXT));
        }

        @Test
        void runAllStopsAtItsBoundAndListsTheRestAsMissed() {
            assertThat(MissedRuns.plan(RUN_ALL, HOURLY, DUE, BACK, GRACE, 2)).isEqualTo(new Plan(
                    instants("2026-12-05T10:00:00Z", "2026-12-05T11:00:00Z"),
                    instants("2026-12-05T12:00:00Z", "2026-12-05T13:00:00Z"), 2, true, NEXT));
        }

        @Test
        void skipRunsNoneAndListsAll() {
            assertThat(MissedRuns.plan(SKIP, HOURLY, DUE, BACK, GRACE, 10)).isEqualTo(new Plan(List.of(),
                    instants("2026-12-05T10:00:00Z", "2026-12-05T11:00:00Z", "2026-12-05T12:00:00Z",
                            "2026-12-05T13:00:00Z"), 4, true, NEXT));
        }

        @Test
        void aLateAtRunsOnceAndHasNoNext() {
            Schedule at = new AtSchedule(DUE);
            assertThat(MissedRuns.plan(RUN_ONCE, at, DUE, BACK, GRACE, 10))
                    .isEqualTo(new Plan(List.of(DUE), List.of(), 0, true, Optional.empty()));
            assertThat(MissedRuns.plan(SKIP, at, DUE, BACK, GRACE, 10))
                    .isEqualTo(new Plan(List.of(), List.of(DUE), 1, true, Optional.empty()));
        }

        @Test
        void aCronAcrossADaylightSavingChangeFindsItsLatestFireTime() {
            Schedule paris = new CronSchedule(CronExpression.parse("30 2 * * *"), java.time.ZoneId.of("Europe/Paris"));
            Instant due = Instant.parse("2026-03-27T01:30:00Z");
            Plan plan = MissedRuns.plan(RUN_ONCE, paris, due, Instant.parse("2026-03-30T12:00:00Z"), GRACE, 10);
            assertThat(plan.run()).isEqualTo(instants("2026-03-30T00:30:00Z"));
            assertThat(plan.missed()).isEqualTo(instants("2026-03-27T01:30:00Z", "2026-03-28T01:30:00Z",
                    "2026-03-29T01:30:00Z"));
        }
    }

    @Nested
    class Bounded {

        private final Instant yearLater = DUE.plus(Duration.ofDays(365));

        @Test
        void aOneSecondCronDownForAYearListsAHundredAndCountsToTheLimit() {
            Schedule everySecond = new CronSchedule(CronExpression.parse("* * * * * *"), ZoneOffset.UTC);
            long start = System.nanoTime();
            Plan once = MissedRuns.plan(RUN_ONCE, everySecond, DUE, yearLater, GRACE, 10);
            assertThat(once.run()).containsExactly(yearLater);
            assertThat(once.missed()).hasSize(MissedRuns.MISSED_KEPT).startsWith(DUE, DUE.plusSeconds(1));
            assertThat(once.missed().get(99)).isEqualTo(DUE.plusSeconds(99));
            assertThat(once.missedCountExact()).isFalse();
            assertThat(once.missedCount()).isGreaterThanOrEqualTo(FireTimes.COUNT_LIMIT - 1);
            assertThat(once.next()).contains(yearLater.plusSeconds(1));

            Plan all = MissedRuns.plan(RUN_ALL, everySecond, DUE, yearLater, GRACE, 5);
            assertThat(all.run()).hasSize(5).startsWith(DUE).endsWith(DUE.plusSeconds(4));
            assertThat(all.missed()).hasSize(MissedRuns.MISSED_KEPT).startsWith(DUE.plusSeconds(5));
            assertThat(all.missedCountExact()).isFalse();

            Plan skip = MissedRuns.plan(SKIP, everySecond, DUE, yearLater, GRACE, 5);
            assertThat(skip.run()).isEmpty();
            assertThat(skip.missed()).hasSize(MissedRuns.MISSED_KEPT);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
        }

        @Test
        void anEveryDownForAYearCountsExactly() {
            Schedule everySecond = new EverySchedule(Duration.ofSeconds(1), DUE);
            Plan skip = MissedRuns.plan(SKIP, everySecond, DUE, yearLater, GRACE, 5);
            assertThat(skip.missedCount()).isEqualTo(365L * 86_400 + 1);
            assertThat(skip.missedCountExact()).isTrue();
            assertThat(skip.missed()).hasSize(MissedRuns.MISSED_KEPT);
            Plan once = MissedRuns.plan(RUN_ONCE, everySecond, DUE, yearLater, GRACE, 5);
            assertThat(once.run()).containsExactly(yearLater);
            assertThat(once.missedCount()).isEqualTo(365L * 86_400);
        }

        @Test
        void anEveryWithMoreFireTimesThanALongCountsGivesALowerBoundNotANegativeCount() {
            // regression: 1 + a saturated count wrapped around to Long.MIN_VALUE
            Instant anchor = Instant.parse("1000-01-01T00:00:00Z");
            Plan skip = MissedRuns.plan(SKIP, new EverySchedule(Duration.ofNanos(1), anchor), anchor, DUE, GRACE, 5);
            assertThat(skip.missedCount()).isEqualTo(FireTimes.COUNT_LIMIT);
            assertThat(skip.missedCountExact()).isFalse();
        }

        @Test
        void aNegativeRunAllBoundIsAProgrammingError() {
            assertThatThrownBy(() -> MissedRuns.plan(RUN_ALL, HOURLY, DUE, BACK, GRACE, -1))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }
}
