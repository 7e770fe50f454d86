package dev.carapace.schedule;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;

import static dev.carapace.schedule.FireTimesOf.after;
import static dev.carapace.schedule.FireTimesOf.instants;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class EveryScheduleTest {

    private static final Duration HALF_HOUR = Duration.ofMinutes(30);

    @Test
    void anAnchorInTheFutureIsTheFirstFireTime() {
        EverySchedule s = new EverySchedule(HALF_HOUR, Instant.parse("2026-12-05T12:00:00Z"));
        assertThat(after(s, Instant.parse("2026-12-05T10:07:00Z"), 3)).isEqualTo(instants(
                "2026-12-05T12:00:00Z", "2026-12-05T12:30:00Z", "2026-12-05T13:00:00Z"));
    }

    @Test
    void anAnchorInThePastSetsThePhase() {
        EverySchedule s = new EverySchedule(HALF_HOUR, Instant.parse("2020-01-01T00:10:00Z"));
        assertThat(after(s, Instant.parse("2026-12-05T10:07:00Z"), 2)).isEqualTo(instants(
                "2026-12-05T10:10:00Z", "2026-12-05T10:40:00Z"));
    }

    @Test
    void aFireTimeIsNotNextAfterItselfNorIsTheAnchor() {
        Instant anchor = Instant.parse("2026-12-05T10:00:00Z");
        EverySchedule s = new EverySchedule(HALF_HOUR, anchor);
        assertThat(s.nextAfter(anchor)).contains(Instant.parse("2026-12-05T10:30:00Z"));
        assertThat(s.nextAfter(Instant.parse("2026-12-05T10:30:00Z"))).contains(Instant.parse("2026-12-05T11:00:00Z"));
        assertThat(s.nextAfter(anchor.minusNanos(1))).contains(anchor);
    }

    @Test
    void realTimeIgnoresDaylightSaving() {
        // Paris falls back at 01:00Z on 25 October: still one run per real hour
        EverySchedule s = new EverySchedule(Duration.ofHours(1), Instant.parse("2026-10-24T00:00:00Z"));
        assertThat(after(s, Instant.parse("2026-10-25T00:30:00Z"), 3)).isEqualTo(instants(
                "2026-10-25T01:00:00Z", "2026-10-25T02:00:00Z", "2026-10-25T03:00:00Z"));
    }

    @Test
    void subSecondIntervalsAndAnchorsStayExact() {
        EverySchedule s = new EverySchedule(Duration.ofMillis(250), Instant.parse("2026-12-05T10:00:00.100Z"));
        assertThat(s.nextAfter(Instant.parse("2026-12-05T10:00:01Z"))).contains(Instant.parse("2026-12-05T10:00:01.100Z"));
    }

    @Test
    void countsFireTimesInAStretchWithoutListingThem() {
        EverySchedule s = new EverySchedule(Duration.ofSeconds(1), Instant.parse("2025-12-05T00:00:00Z"));
        // a year of seconds, both ends included
        assertThat(s.countBetween(Instant.parse("2025-12-05T00:00:00Z"), Instant.parse("2026-12-05T00:00:00Z")))
                .isEqualTo(365L * 86_400 + 1);
        assertThat(s.countBetween(Instant.parse("2025-12-05T00:00:00.5Z"), Instant.parse("2025-12-05T00:00:03Z")))
                .isEqualTo(3);
        assertThat(s.countBetween(Instant.parse("2025-12-04T00:00:00Z"), Instant.parse("2025-12-04T12:00:00Z")))
                .isZero();
    }

    @Test
    void theEndOfTimeHasNoNextFireTime() {
        EverySchedule s = new EverySchedule(Duration.ofDays(366), Instant.parse("2026-12-05T00:00:00Z"));
        assertThat(s.nextAfter(Instant.MAX.minusSeconds(10))).isEmpty();
    }

    @Test
    void moreStepsThanALongCountsIsNoNextFireTimeNotAnException() {
        // regression: a nanosecond interval a millennium after its anchor overflowed the step count
        EverySchedule s = new EverySchedule(Duration.ofNanos(1), Instant.parse("1000-01-01T00:00:00Z"));
        assertThat(s.nextAfter(Instant.parse("2026-12-05T00:00:00Z"))).isEmpty();
        assertThat(s.countBetween(Instant.parse("1000-01-01T00:00:00Z"), Instant.parse("2026-12-05T00:00:00Z")))
                .isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void describesItselfInWords() {
        Instant anchor = Instant.parse("2026-12-05T10:00:00Z");
        assertThat(new EverySchedule(HALF_HOUR, anchor).describe()).isEqualTo("every 30 minutes from 2026-12-05T10:00:00Z");
        assertThat(new EverySchedule(Duration.ofHours(1), anchor).describe()).isEqualTo("every hour from 2026-12-05T10:00:00Z");
        assertThat(new EverySchedule(Duration.parse("PT2H30M"), anchor).describe()).startsWith("every 2 hours 30 minutes from");
        assertThat(new EverySchedule(Duration.ofDays(1), anchor).describe()).startsWith("every day from");
        assertThat(new EverySchedule(Duration.ofSeconds(90), anchor).describe()).startsWith("every 1 minute 30 seconds from");
        assertThat(new EverySchedule(HALF_HOUR, anchor).kind()).isEqualTo("every");
    }

    @Test
    void aZeroIntervalIsRefused() {
        assertThatThrownBy(() -> new EverySchedule(Duration.ZERO, Instant.EPOCH)).isInstanceOf(IllegalArgumentException.class);
    }
}
