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

    @Test
    void anythingElseNamesTheAcceptedForms() {
        assertThatThrownBy(() -> GuardJson.time("yesterday", NOW, "since"))
                .hasMessageStartingWith("since: expected an ISO instant").hasMessageContaining("got 'yesterday'");
    }
}
