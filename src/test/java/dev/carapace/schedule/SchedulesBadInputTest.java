package dev.carapace.schedule;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static dev.carapace.schedule.SchedulesTest.MIN;
import static dev.carapace.schedule.SchedulesTest.NOW;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/** Every way a schedule can be wrong gets an {@link InvalidScheduleException} naming its field; nothing else. */
class SchedulesBadInputTest {

    private static InvalidScheduleException refused(ScheduleSpec spec) {
        Throwable t = catchThrowable(() -> Schedules.parse(spec, NOW, MIN));
        assertThat(t).isInstanceOf(InvalidScheduleException.class);
        InvalidScheduleException e = (InvalidScheduleException) t;
        assertThat(e.getMessage()).isEqualTo(e.field() + ": " + e.problem());
        return e;
    }

    private static void assertRefused(ScheduleSpec spec, String field, String message) {
        InvalidScheduleException e = refused(spec);
        assertThat(e.field()).isEqualTo(field);
        assertThat(e.problem()).isEqualTo(message);
    }

    @Test
    void noneOfCronAtEvery() {
        assertRefused(new ScheduleSpec(null, null, null, null, "UTC", null), "schedule",
                "give exactly one of schedule.cron, schedule.at or schedule.every; got none");
        assertRefused(null, "schedule", "is missing; give exactly one of schedule.cron, schedule.at or schedule.every");
    }

    @Test
    void twoOfCronAtEvery() {
        assertRefused(new ScheduleSpec("0 * * * *", null, "30m", null, null, null), "schedule",
                "give exactly one of schedule.cron, schedule.at or schedule.every; got cron and every");
        assertRefused(new ScheduleSpec("0 * * * *", "3d", "30m", null, null, null), "schedule",
                "give exactly one of schedule.cron, schedule.at or schedule.every; got cron and at and every");
    }

    @Test
    void anEmptyField() {
        assertRefused(ScheduleSpec.cron("  ", null), "schedule.cron", "is empty");
    }

    @Test
    void anInvalidCronNamesTheField() {
        assertRefused(ScheduleSpec.cron("0 25 * * *", null), "schedule.cron", "the hour field '25' is invalid (Value 25 "
                + "not in range [0, 23]) in '0 25 * * *'; expected minute hour day-of-month month day-of-week");
    }

    @Test
    void aCronThatNeverFires() {
        assertRefused(ScheduleSpec.cron("0 0 30 2 *", null), "schedule.cron",
                "'0 0 30 2 *' never fires: no date matches its day and month fields (like 30 February)");
        assertThat(refused(ScheduleSpec.cron("0 0 9 ? * ?", null)).problem()).contains("never fires");
    }

    @Test
    void aCronFasterThanTheMinimumInterval() {
        assertRefused(ScheduleSpec.cron("*/10 * * * * *", null), "schedule.cron",
                "'*/10 * * * * *' fires 10s apart, more often than the minimum interval of 1m");
        // a burst: seconds 0-5 of every minute
        assertThat(refused(ScheduleSpec.cron("0-5 * * * * *", null)).problem()).contains("fires 1s apart");
    }

    @Test
    void anUnknownZoneSuggestsTheFormat() {
        assertRefused(ScheduleSpec.cron("0 9 * * *", "Mars/Olympus"), "schedule.zone",
                "unknown time zone 'Mars/Olympus'; expected an IANA zone like 'Europe/Paris', 'America/New_York' or 'UTC'");
        assertRefused(ScheduleSpec.cron("0 9 * * *", "europe/paris"), "schedule.zone",
                "unknown time zone 'europe/paris'; expected an IANA zone like 'Europe/Paris', 'America/New_York' or "
                        + "'UTC'; did you mean 'Europe/Paris'?");
    }

    @Test
    void anAtInThePastNamesItAndNow() {
        assertRefused(ScheduleSpec.at("2026-01-01T00:00:00Z"), "schedule.at", "2026-01-01T00:00:00Z is in the past "
                + "(now is 2026-12-05T10:00:00Z); expected a future instant, or a duration from now like 3d");
        assertThat(refused(ScheduleSpec.at("0s")).problem()).startsWith("2026-12-05T10:00:00Z is in the past");
    }

    @Test
    void anAtThatIsNoInstant() {
        assertRefused(ScheduleSpec.at("next tuesday"), "schedule.at", "expected an ISO instant (2026-12-08T09:00:00Z), "
                + "a local date-time read in schedule.zone (2026-12-08T09:00) or a duration from now (3d, 2h30m, 90s, "
                + "PT2H); got 'next tuesday'");
        assertThat(refused(ScheduleSpec.at("2026-02-30T09:00")).field()).isEqualTo("schedule.at");
        assertThat(refused(ScheduleSpec.at("-3d")).problem()).startsWith("expected an ISO instant");
    }

    @Test
    void anAtCenturiesAway() {
        assertRefused(ScheduleSpec.at("10000000000d"), "schedule.at", "'10000000000d' from now is more than 100 years away");
        assertRefused(ScheduleSpec.at("99999999999999999999d"), "schedule.at",
                "'99999999999999999999d' from now is more than 100 years away");
        assertRefused(ScheduleSpec.at("2200-01-01T00:00:00Z"), "schedule.at",
                "2200-01-01T00:00:00Z is more than 100 years from now (2026-12-05T10:00:00Z)");
        assertThat(refused(ScheduleSpec.at("+999999999-12-31T23:59:59Z")).problem()).contains("more than 100 years");
    }

    @Test
    void anIntervalUnderTheMinimumNamesBoth() {
        assertRefused(ScheduleSpec.every("30s", null), "schedule.every", "interval 30s is under the minimum of 1m");
        assertRefused(ScheduleSpec.every("0s", null), "schedule.every", "interval 0s is under the minimum of 1m");
    }

    @Test
    void anAbsurdInterval() {
        assertRefused(ScheduleSpec.every("10000000000d", null), "schedule.every", "interval 10000000000d is over the "
                + "maximum of 366d; for a yearly job use a cron like '0 9 1 1 *'");
        assertRefused(ScheduleSpec.every("99999999999999999999d", null), "schedule.every",
                "'99999999999999999999d' is too long; expected a duration like 30m, 1h, 2h30m, 90s or PT30M");
    }

    @ParameterizedTest
    @ValueSource(strings = {"30", "half an hour", "1.5h", "30 minutes", "PT", "1h1h"})
    void anIntervalThatIsNoDuration(String every) {
        assertRefused(ScheduleSpec.every(every, null), "schedule.every",
                "expected a duration like 30m, 1h, 2h30m, 90s or PT30M; got '" + every + "'");
    }

    @Test
    void aNegativeInterval() {
        assertRefused(ScheduleSpec.every("-30m", null), "schedule.every",
                "'-30m' is negative; expected a duration like 30m, 1h, 2h30m, 90s or PT30M");
    }

    @Test
    void anAnchorWithoutEvery() {
        assertRefused(new ScheduleSpec("0 * * * *", null, null, "2026-12-05T10:00:00Z", null, null), "schedule.anchor",
                "only an 'every' schedule has an anchor; this one is 'cron'");
        assertThat(refused(ScheduleSpec.every("30m", "soon")).problem()).isEqualTo("expected an ISO instant "
                + "(2026-12-08T09:00:00Z), a local date-time read in schedule.zone (2026-12-08T09:00); got 'soon'");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "30m | -5m | '-5m' is negative; expected a duration like 30m, 1h, 2h30m, 90s or PT30M",
            "30m | 30m | 30m must be less than the schedule's interval (30m), or runs would swap order",
            "2h  | 1h  | 1h is too large; it must be less than an hour",
            "2h  | 90m | 1h30m is too large; it must be less than an hour",
            "30m | soon| expected a duration like 30m, 1h, 2h30m, 90s or PT30M; got 'soon'"})
    void aBadJitter(String every, String jitter, String message) {
        assertRefused(ScheduleSpec.every(every, null).withJitter(jitter), "schedule.jitter", message);
    }

    @Test
    void aJitterNotUnderTheGapOfACron() {
        assertRefused(ScheduleSpec.cron("*/5 * * * *", null).withJitter("5m"), "schedule.jitter",
                "5m must be less than the schedule's interval (5m), or runs would swap order");
    }

    @Test
    void controlCharactersAreRefusedWhereTheyAre() {
        assertRefused(ScheduleSpec.cron("0 9 * * *\u0000", null), "schedule.cron",
                "contains a control character (U+0000) at position 10; expected printable text");
        assertRefused(ScheduleSpec.cron("0 9 * * *", "Europe/Paris\n"), "schedule.zone",
                "contains a control character (U+000A) at position 13; expected printable text");
        assertThat(refused(ScheduleSpec.every("30m\u001b[2J", null)).problem()).contains("U+001B");
    }

    @Test
    void hugeTextIsRefusedByItsLengthWithAShortMessage() {
        String huge = "1".repeat(1_000_000);
        for (ScheduleSpec spec : List.of(ScheduleSpec.cron(huge, null), ScheduleSpec.at(huge),
                ScheduleSpec.every(huge, null), ScheduleSpec.cron("0 * * * *", huge),
                ScheduleSpec.every("1h", null).withJitter(huge), ScheduleSpec.every("1h", huge))) {
            InvalidScheduleException e = refused(spec);
            assertThat(e.problem()).contains("characters long; at most");
            assertThat(e.getMessage().length()).isLessThan(200);
        }
    }

    @Test
    void hostileTextOnlyEverGetsAnInvalidScheduleExceptionAndQuickly() {
        Random random = new Random(16);
        String alphabet = "0123456789*/,-?LW#@ \tMONFRIJANPTHSmsdh:+Z.abc\u0000\u00e9\ud83d\ude00";
        List<String> samples = new ArrayList<>(List.of("*/*/*/* * * * *", "0-99999999999 * * * *",
                "0 0 " + "1,".repeat(60) + "1 * *", "* * * * * * * * * * *", "9223372036854775807 * * * *",
                "0 0 */2147483648 * *", "P9999999999999999999D", "PT0.0000000001S", "1d1h1m1s1ms1", "1" + "0".repeat(63) + "s"));
        for (int i = 0; i < 3000; i++) {
            StringBuilder s = new StringBuilder();
            int length = random.nextInt(40);
            for (int j = 0; j < length; j++) s.append(alphabet.charAt(random.nextInt(alphabet.length())));
            samples.add(s.toString());
        }
        long start = System.nanoTime();
        for (String text : samples) {
            for (ScheduleSpec spec : List.of(ScheduleSpec.cron(text, null), ScheduleSpec.at(text),
                    ScheduleSpec.every(text, null), ScheduleSpec.cron("0 * * * *", text),
                    ScheduleSpec.every("1h", text), ScheduleSpec.every("1h", null).withJitter(text))) {
                try {
                    Schedules.parse(spec, NOW, MIN);
                } catch (InvalidScheduleException expected) {
                    assertThat(expected.field()).startsWith("schedule");
                }
            }
        }
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(20));
    }

    @Test
    void theMessageNeverCarriesControlCharactersFromCronUtils() {
        // cron-utils echoes the characters it could not read; a message is one printable line
        InvalidScheduleException e = refused(ScheduleSpec.cron("0 0 9 * \u00e9", null));
        assertThat(e.getMessage()).doesNotContainPattern("\\p{Cntrl}");
        assertThat(e.problem()).startsWith("the day-of-week field");
    }
}
