package dev.carapace.server.json;

import org.junit.jupiter.api.Test;

import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The times an operator types for audit searches: instants, dates and ages, read by the shared duration parser. */
class GuardJsonTimeTest {

    private static final Instant NOW = Instant.parse("2026-11-23T10:00:00Z");

    @Test
    void readsAnInstantADateOrAnAge() {
        assertThat(GuardJson.time("2026-11-23T09:00:30Z", NOW, "since")).isEqualTo(Instant.parse("2026-11-23T09:00:30Z"));
        assertThat(GuardJson.time("2026-11-20", NOW, "since")).isEqualTo(Instant.parse("2026-11-20T00:00:00Z"));
        assertThat(GuardJson.time("15m", NOW, "since")).isEqualTo(Instant.parse("2026-11-23T09:45:00Z"));
        assertThat(GuardJson.time("7d", NOW, "since")).isEqualTo(Instant.parse("2026-11-16T10:00:00Z"));
        assertThat(GuardJson.time("1h30m", NOW, "since")).isEqualTo(Instant.parse("2026-11-23T08:30:00Z"));
        assertThat(GuardJson.time(null, NOW, "since")).isNull();
    }

    @Test
    void anAgeBeyondTheStartOfTimeIsAClearErrorNotACrash() {
        assertThatThrownBy(() -> GuardJson.time("99999999999999999d", NOW, "since"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("since: age '99999999999999999d' reaches before the start of time");
        assertThatThrownBy(() -> GuardJson.time("9999999999999d", NOW, "until"))
                .hasMessageStartingWith("until: age");
    }

    /** Regression: instants Instant can hold but epoch milliseconds cannot made the audit search a 500 (long overflow). */
    @Test
    void anInstantOutsideTheYearsOneTo9999IsAClearError() {
        for (String t : new String[] {"-999999999-01-01T00:00:00Z", "+999999999-12-31T00:00:00Z", "-292275055-05-16T16:47:04.191Z",
                "+10000-01-01T00:00:00Z", "0000-12-31T23:59:59Z", "1000000000d"}) {
            assertThatThrownBy(() -> GuardJson.time(t, NOW, "since")).as(t).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("since: ");
        }
        assertThat(GuardJson.time("0001-01-01", NOW, "since")).isEqualTo(Instant.parse("0001-01-01T00:00:00Z"));
        assertThat(GuardJson.time("9999-12-31T23:59:59Z", NOW, "until")).isEqualTo(Instant.parse("9999-12-31T23:59:59Z"));
    }

    @Test
    void anythingElseNamesTheAcceptedForms() {
        assertThatThrownBy(() -> GuardJson.time("yesterday", NOW, "since"))
                .hasMessageStartingWith("since: expected an ISO instant").hasMessageContaining("got 'yesterday'");
    }
}
