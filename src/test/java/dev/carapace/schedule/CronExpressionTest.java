package dev.carapace.schedule;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

import static dev.carapace.schedule.FireTimesOf.after;
import static dev.carapace.schedule.FireTimesOf.instants;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Cron syntax and matching as cron-utils does it, checked rather than trusted. */
class CronExpressionTest {

    private static final Instant SATURDAY = Instant.parse("2026-12-05T10:00:00Z");

    private static CronSchedule utc(String expression) {
        return new CronSchedule(CronExpression.parse(expression), ZoneOffset.UTC);
    }

    @Test
    void fiveFieldsAreMinuteHourDayMonthWeekday() {
        assertThat(after(utc("0 9 * * 1-5"), SATURDAY, 3)).isEqualTo(instants(
                "2026-12-07T09:00:00Z", "2026-12-08T09:00:00Z", "2026-12-09T09:00:00Z"));
        assertThat(CronExpression.parse("0 9 * * 1-5").fieldCount()).isEqualTo(5);
    }

    @Test
    void sixFieldsPutSecondsFirst() {
        assertThat(after(utc("*/10 * * * * *"), SATURDAY, 3)).isEqualTo(instants(
                "2026-12-05T10:00:10Z", "2026-12-05T10:00:20Z", "2026-12-05T10:00:30Z"));
        assertThat(after(utc("30 0 9 * * MON-FRI"), SATURDAY, 1)).isEqualTo(instants("2026-12-07T09:00:30Z"));
        assertThat(after(utc("0 0 9 ? * MON"), SATURDAY, 1)).isEqualTo(instants("2026-12-07T09:00:00Z"));
        assertThat(CronExpression.parse("0 0 9 * * *").fieldCount()).isEqualTo(6);
    }

    @Test
    void sundayIsZeroOrSevenAndNamesWork() {
        Instant sunday = Instant.parse("2026-12-06T04:05:00Z");
        assertThat(utc("5 4 * * 0").nextAfter(SATURDAY)).contains(sunday);
        assertThat(utc("5 4 * * 7").nextAfter(SATURDAY)).contains(sunday);
        assertThat(utc("5 4 * * sun").nextAfter(SATURDAY)).contains(sunday);
    }

    @Test
    void unixDayFieldsBothRestrictedMeanEitherAsInVixieCron() {
        // Friday 11 December, then Sunday 13 December
        assertThat(after(utc("0 0 13 * 5"), SATURDAY, 2)).isEqualTo(instants(
                "2026-12-11T00:00:00Z", "2026-12-13T00:00:00Z"));
    }

    @Test
    void nanosecondsOfTheQuestionAreNotCarriedIntoTheFireTime() {
        // regression: cron-utils answers 10:00:00.0000005 with 10:00:01.0000005
        assertThat(utc("* * * * * *").nextAfter(Instant.parse("2026-12-05T10:00:00.000000500Z")))
                .contains(Instant.parse("2026-12-05T10:00:01Z"));
        assertThat(utc("0 * * * *").nextAfter(Instant.parse("2026-12-05T10:59:59.999Z")))
                .contains(Instant.parse("2026-12-05T11:00:00Z"));
    }

    @Test
    void aFireTimeItselfIsNotNextAfterItself() {
        assertThat(utc("0 * * * *").nextAfter(Instant.parse("2026-12-05T11:00:00Z")))
                .contains(Instant.parse("2026-12-05T12:00:00Z"));
    }

    @Test
    void extraSpacesAndTabsBetweenFieldsAreOneSeparator() {
        assertThat(CronExpression.parse("  0\t9  *  * 1-5 ").text()).isEqualTo("0 9 * * 1-5");
        assertThat(CronExpression.parse("0 9 * * 1-5")).isEqualTo(CronExpression.parse(" 0  9 * * 1-5"));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "0 9 * * 1-5 | Europe/Paris | at 09:00 every day between Monday and Friday (Europe/Paris)",
            "*/15 * * * * | UTC | every 15 minutes (UTC)",
            "0 * * * * | America/New_York | every hour (America/New_York)",
            "30 2 * * * | Z | at 02:30 (Z)",
            "0 0 9 * * MON-FRI | Europe/Paris | at 09:00 every day between Monday and Friday (Europe/Paris)",
            "*/10 * * * * * | UTC | every 10 seconds (UTC)"})
    void describesInEnglishWithTheZone(String expression, String zone, String words) {
        CronSchedule s = new CronSchedule(CronExpression.parse(expression), ZoneId.of(zone));
        assertThat(s.describe()).isEqualTo(words);
        assertThat(s.kind()).isEqualTo("cron");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "61 * * * *      | the minute field '61' is invalid (Value 61 not in range [0, 59])",
            "0 25 * * *      | the hour field '25' is invalid (Value 25 not in range [0, 23])",
            "0 0 32 * *      | the day-of-month field '32' is invalid",
            "0 0 * 13 *      | the month field '13' is invalid",
            "0 0 * * 8       | the day-of-week field '8' is invalid",
            "0 9 * * MON-FOO | the day-of-week field 'MON-FOO' is invalid",
            "*/0 * * * *     | the minute field '*/0' is invalid",
            "1-2-3 * * * *   | the minute field '1-2-3' is invalid",
            "60 0 9 * * *    | the second field '60' is invalid",
            "0 0 L * *       | the day-of-month field 'L' is invalid"})
    void namesTheFieldThatIsWrong(String expression, String problem) {
        assertThatThrownBy(() -> CronExpression.parse(expression))
                .isInstanceOfSatisfying(InvalidScheduleException.class, e -> {
                    assertThat(e.field()).isEqualTo("schedule.cron");
                    assertThat(e.problem()).startsWith(problem).contains("in '" + expression.strip() + "'")
                            .contains("expected ");
                });
    }

    @Test
    void theWrongNumberOfFieldsSaysBothForms() {
        assertThatThrownBy(() -> CronExpression.parse("* * * *"))
                .isInstanceOf(InvalidScheduleException.class)
                .hasMessage("schedule.cron: expected 5 fields (minute hour day-of-month month day-of-week, like "
                        + "'0 9 * * 1-5') or 6 with seconds first (like '0 0 9 * * MON-FRI'); got 4 in '* * * *'");
        assertThatThrownBy(() -> CronExpression.parse("0 0 9 * * * 2026"))
                .hasMessageContaining("got 7 in '0 0 9 * * * 2026'");
    }

    @Test
    void nicknamesAreRefusedWithTheFieldsToWrite() {
        assertThatThrownBy(() -> CronExpression.parse("@hourly"))
                .hasMessageStartingWith("schedule.cron: nicknames like '@hourly' are not supported; write the fields, "
                        + "like '0 * * * *'");
    }
}
