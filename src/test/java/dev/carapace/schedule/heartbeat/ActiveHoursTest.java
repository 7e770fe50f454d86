package dev.carapace.schedule.heartbeat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ActiveHoursTest {

    private static Instant at(String iso) {
        return Instant.parse(iso);
    }

    @Test
    void readsTheCanonicalFormAndWritesItBack() {
        ActiveHours hours = ActiveHours.parse("08:00-20:00 Europe/Paris");
        assertThat(hours.startMinute()).isEqualTo(8 * 60);
        assertThat(hours.endMinute()).isEqualTo(20 * 60);
        assertThat(hours.zone()).isEqualTo(ZoneId.of("Europe/Paris"));
        assertThat(hours.toString()).isEqualTo("08:00-20:00 Europe/Paris");
        assertThat(ActiveHours.parse(hours.toString())).isEqualTo(hours);
        assertThat(ActiveHours.parse("  8:30 - 17:45   +02:00 ").toString()).isEqualTo("08:30-17:45 +02:00");
    }

    @Test
    void theStartIsInsideAndTheEndIsNot() {
        ActiveHours hours = ActiveHours.parse("08:00-20:00 UTC");
        assertThat(hours.contains(at("2026-12-05T07:59:59Z"))).isFalse();
        assertThat(hours.contains(at("2026-12-05T08:00:00Z"))).isTrue();
        assertThat(hours.contains(at("2026-12-05T19:59:59Z"))).isTrue();
        assertThat(hours.contains(at("2026-12-05T20:00:00Z"))).isFalse();
    }

    @Test
    void aWindowInAZoneIsJudgedOnThatZonesWallClock() {
        ActiveHours paris = ActiveHours.parse("08:00-20:00 Europe/Paris"); // UTC+1 in December
        assertThat(paris.contains(at("2026-12-05T07:30:00Z"))).isTrue();   // 08:30 in Paris
        assertThat(paris.contains(at("2026-12-05T19:30:00Z"))).isFalse();  // 20:30 in Paris
    }

    @Test
    void aWindowAcrossMidnightCoversTheLateEveningAndTheEarlyMorning() {
        ActiveHours night = ActiveHours.parse("22:00-06:00 UTC");
        assertThat(night.contains(at("2026-12-05T21:59:00Z"))).isFalse();
        assertThat(night.contains(at("2026-12-05T22:00:00Z"))).isTrue();
        assertThat(night.contains(at("2026-12-05T23:59:59Z"))).isTrue();
        assertThat(night.contains(at("2026-12-06T00:00:00Z"))).isTrue();
        assertThat(night.contains(at("2026-12-06T05:59:59Z"))).isTrue();
        assertThat(night.contains(at("2026-12-06T06:00:00Z"))).isFalse();
        assertThat(night.contains(at("2026-12-06T12:00:00Z"))).isFalse();
        // the next start from noon is tonight at 22:00, from 06:00 too
        assertThat(night.nextStart(at("2026-12-06T12:00:00Z"))).isEqualTo(at("2026-12-06T22:00:00Z"));
        assertThat(night.nextStart(at("2026-12-06T06:00:00Z"))).isEqualTo(at("2026-12-06T22:00:00Z"));
    }

    @Test
    void twentyFourHundredEndsTheDayAndMidnightToTwentyFourIsAllDay() {
        ActiveHours evening = ActiveHours.parse("20:00-24:00 UTC");
        assertThat(evening.contains(at("2026-12-05T23:59:59Z"))).isTrue();
        assertThat(evening.contains(at("2026-12-06T00:00:00Z"))).isFalse();
        assertThat(ActiveHours.parse("20:00-00:00 UTC").contains(at("2026-12-05T23:59:59Z"))).isTrue();
        ActiveHours allDay = ActiveHours.parse("00:00-24:00 Europe/Paris");
        for (int h = 0; h < 48; h++) {
            Instant t = at("2026-12-05T00:17:00Z").plus(Duration.ofMinutes(30L * h));
            assertThat(allDay.contains(t)).isTrue();
            assertThat(allDay.nextStart(t)).isEqualTo(t);
        }
    }

    @Test
    void nextStartIsNowInsideTheWindowElseTheNextOpening() {
        ActiveHours hours = ActiveHours.parse("08:00-20:00 UTC");
        assertThat(hours.nextStart(at("2026-12-05T10:00:00Z"))).isEqualTo(at("2026-12-05T10:00:00Z"));
        assertThat(hours.nextStart(at("2026-12-05T03:00:00Z"))).isEqualTo(at("2026-12-05T08:00:00Z"));
        assertThat(hours.nextStart(at("2026-12-05T20:00:00Z"))).isEqualTo(at("2026-12-06T08:00:00Z"));
    }

    @Test
    void onTheSpringForwardDayTheWindowFollowsTheWallClock() {
        // Europe/Paris, 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00 UTC)
        ActiveHours hours = ActiveHours.parse("08:00-20:00 Europe/Paris");
        assertThat(hours.nextStart(at("2026-03-29T00:00:00Z"))).isEqualTo(at("2026-03-29T06:00:00Z")); // 08:00 CEST
        assertThat(hours.nextStart(at("2026-03-28T00:00:00Z"))).isEqualTo(at("2026-03-28T07:00:00Z")); // 08:00 CET
        ActiveHours early = ActiveHours.parse("01:00-03:00 Europe/Paris");  // one real hour that day
        assertThat(early.contains(at("2026-03-29T00:30:00Z"))).isTrue();    // 01:30 CET
        assertThat(early.contains(at("2026-03-29T01:00:00Z"))).isFalse();   // 03:00 CEST
    }

    @Test
    void nextStartInsideTheSkippedHourIsWhenTheClocksJump() {
        // 02:30 does not exist on 2026-03-29 in Paris; the window is open from the jump (03:00 CEST = 01:00 UTC),
        // not from 03:30 CEST as plain zone resolution would say
        ActiveHours hours = ActiveHours.parse("02:30-04:00 Europe/Paris");
        assertThat(hours.nextStart(at("2026-03-28T23:30:00Z"))).isEqualTo(at("2026-03-29T01:00:00Z"));
        assertThat(hours.contains(at("2026-03-29T01:00:00Z"))).isTrue();
    }

    @Test
    void aWindowWhollyInsideTheSkippedHourIsEmptyThatDay() {
        ActiveHours hours = ActiveHours.parse("02:15-02:45 Europe/Paris");
        assertThat(hours.nextStart(at("2026-03-28T23:30:00Z"))).isEqualTo(at("2026-03-30T00:15:00Z")); // 02:15 CEST
    }

    @Test
    void onTheFallBackDayTheRepeatedHourIsInsideTwice() {
        // Europe/Paris, 2026-10-25: 03:00 CEST falls back to 02:00 CET (01:00 UTC); 02:00-03:00 happens twice
        ActiveHours hours = ActiveHours.parse("02:00-03:00 Europe/Paris");
        assertThat(hours.contains(at("2026-10-25T00:30:00Z"))).isTrue();   // 02:30 CEST
        assertThat(hours.contains(at("2026-10-25T01:30:00Z"))).isTrue();   // 02:30 CET
        assertThat(hours.contains(at("2026-10-25T02:00:00Z"))).isFalse();  // 03:00 CET
        assertThat(hours.nextStart(at("2026-10-24T23:00:00Z"))).isEqualTo(at("2026-10-25T00:00:00Z")); // first 02:00
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "''                          | empty; expected HH:MM-HH:MM ZONE",
            "8-20 UTC                    | is not of the form HH:MM-HH:MM ZONE",
            "08:00-20:00                 | has no time zone; add one, e.g. '08:00-20:00 Europe/Paris'",
            "08:00-20:00 Mars/Olympus    | unknown time zone 'Mars/Olympus'",
            "25:00-26:00 UTC             | '25:00' is not a time of day",
            "08:60-09:00 UTC             | '08:60' is not a time of day",
            "24:00-08:00 UTC             | '24:00' is not a time of day; expected 00:00 to 23:59",
            "08:00-08:00 UTC             | starts and ends at 08:00; for the whole day write '00:00-24:00 UTC'",
            "00:00-00:00 Europe/Paris    | for the whole day write '00:00-24:00 Europe/Paris'",
            "08:00-20:00 UTC extra       | is not of the form",
    })
    void badFormsAreRefusedNamingTheField(String text, String expected) {
        assertThatThrownBy(() -> ActiveHours.parse(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("heartbeat.active_hours: ")
                .hasMessageContaining(expected);
    }

    @Test
    void aHugeValueIsQuotedClipped() {
        String huge = "x".repeat(100_000);
        assertThatThrownBy(() -> ActiveHours.parse(huge))
                .hasMessageStartingWith("heartbeat.active_hours: 'xxx")
                .satisfies(e -> assertThat(e.getMessage().length()).isLessThan(200));
    }
}
