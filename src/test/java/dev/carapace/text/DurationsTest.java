package dev.carapace.text;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DurationsTest {

    @ParameterizedTest
    @CsvSource({
            "250ms, PT0.25S", "5s, PT5S", "90s, PT1M30S", "30m, PT30M", "1h, PT1H", "2h30m, PT2H30M",
            "3d, PT72H", "'1d 2h 3m 4s 5ms', PT26H3M4.005S", "' 5 s ', PT5S", "PT2H, PT2H", "pt30m, PT30M",
            "P1DT12H, PT36H", "0s, PT0S"})
    void readsCompactAndIsoDurations(String text, String iso) {
        assertThat(Durations.parse(text)).contains(Duration.parse(iso));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "30", "1.5s", "m", "5x", "30m2h", "1h1h", "-5m", "-PT5M", "PT-5M", "5 m s",
            "2026-12-08", "1h30", "1H", "ms5"})
    void refusesWhatIsNotADuration(String text) {
        assertThat(Durations.parse(text)).isEmpty();
    }

    @Test
    void refusesNullAndOverlongTextWithoutReadingIt() {
        assertThat(Durations.parse(null)).isEmpty();
        assertThat(Durations.parse("1".repeat(100_000) + "s")).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"99999999999999999999s", "9999999999999999d", "PT99999999999999999999H"})
    void aWellFormedDurationTooLongForDurationIsAnArithmeticError(String text) {
        assertThatThrownBy(() -> Durations.parse(text)).isInstanceOf(ArithmeticException.class);
    }

    @ParameterizedTest
    @CsvSource({"PT2H30M, 2h30m", "PT1M30S, 1m30s", "PT0.25S, 250ms", "PT0S, 0s", "PT72H, 3d", "PT-5M, -5m"})
    void formatsTheWayItReads(String iso, String text) {
        assertThat(Durations.format(Duration.parse(iso))).isEqualTo(text);
        if (!text.startsWith("-")) assertThat(Durations.parse(text)).contains(Duration.parse(iso));
    }

    @Test
    void splitsIntoUnitsLargestFirst() {
        assertThat(Durations.parts(Duration.parse("P1DT0H0M5S"))).isEqualTo(List.of(
                new Durations.Part(1, Durations.Unit.DAY), new Durations.Part(5, Durations.Unit.SECOND)));
    }
}
