package dev.carapace.schedule;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import java.util.Optional;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Expressions built from real cron syntax at random, most of them valid: whatever parses must describe itself, find
 * fire times strictly later than asked across daylight-saving changes, and survive a store round trip; whatever does
 * not parse is an {@link InvalidScheduleException} naming a field.
 */
class CronFuzzTest {

    private static final List<String> TOKENS = List.of("*", "*/5", "*/15", "0", "1", "2", "3", "5", "7", "12", "13",
            "23", "29", "30", "31", "59", "1-5", "0-23/2", "1,15", "2-3", "MON", "MON-FRI", "SUN", "JAN", "FEB", "?",
            "L", "60", "*/0", "5-1", "1-2-3", ",", "-", "/5");
    private static final List<ZoneId> ZONES = List.of(ZoneId.of("Europe/Paris"), ZoneId.of("America/New_York"),
            ZoneId.of("Australia/Lord_Howe"), ZoneId.of("UTC"));
    private static final List<Instant> ASKED = List.of(Instant.parse("2026-03-29T00:30:00Z"),
            Instant.parse("2026-10-25T00:45:00Z"), Instant.parse("2026-11-01T05:30:00Z"),
            Instant.parse("2026-04-04T14:45:00Z"), Instant.parse("2026-12-05T10:00:00.5Z"));

    @Test
    void everyRandomExpressionEitherWorksThroughOrNamesItsField() {
        Random random = new Random(16);
        int parsed = 0;
        long start = System.nanoTime();
        for (int i = 0; i < 1500; i++) {
            int fields = random.nextBoolean() ? 5 : 6;
            StringBuilder text = new StringBuilder();
            for (int f = 0; f < fields; f++) {
                if (f > 0) text.append(' ');
                text.append(random.nextInt(3) == 0 ? TOKENS.get(random.nextInt(TOKENS.size())) : "*");
            }
            ZoneId zone = ZONES.get(random.nextInt(ZONES.size()));
            Schedule s;
            try {
                s = Schedules.parse(ScheduleSpec.cron(text.toString(), zone.getId()), ASKED.get(4), Duration.ofSeconds(1));
            } catch (InvalidScheduleException e) {
                assertThat(e.field()).isEqualTo("schedule.cron");
                continue;
            }
            parsed++;
            assertThat(s.describe()).as(text.toString()).isNotBlank().endsWith("(" + zone.getId() + ")");
            assertThat(Schedules.restore(s.spec())).isEqualTo(s);
            for (Instant t : ASKED) {
                Optional<Instant> next = s.nextAfter(t);
                next.ifPresent(n -> assertThat(n).as("%s in %s after %s", text, zone, t).isAfter(t));
                next.ifPresent(n -> assertThat(n.getNano()).isZero());
            }
        }
        assertThat(parsed).as("the fuzz must exercise valid expressions too").isGreaterThan(300);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(30));
    }
}
