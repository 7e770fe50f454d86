package dev.carapace.schedule;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BackoffTest {

    @Test
    void doublesFromThirtySecondsUpToAnHourByDefault() {
        Backoff b = Backoff.DEFAULT;
        assertThat(b.delay(0)).isEqualTo(Duration.ZERO);
        assertThat(b.delay(1)).isEqualTo(Duration.ofSeconds(30));
        assertThat(b.delay(2)).isEqualTo(Duration.ofMinutes(1));
        assertThat(b.delay(3)).isEqualTo(Duration.ofMinutes(2));
        assertThat(b.delay(7)).isEqualTo(Duration.ofMinutes(32));
        assertThat(b.delay(8)).isEqualTo(Duration.ofHours(1)); // 64 minutes, capped
        assertThat(b.delay(9)).isEqualTo(Duration.ofHours(1));
    }

    @Test
    void manyFailuresDoNotOverflowTheDoubling() {
        assertThat(Backoff.DEFAULT.delay(64)).isEqualTo(Duration.ofHours(1));
        assertThat(Backoff.DEFAULT.delay(Integer.MAX_VALUE)).isEqualTo(Duration.ofHours(1));
        assertThat(new Backoff(Duration.ofSeconds(1), Duration.ofDays(365 * 1000)).delay(1000))
                .isEqualTo(Duration.ofDays(365 * 1000));
    }

    @Test
    void delayIsNotCappedEarlyWhenTheCapIsNotAPowerOfTwoOfTheBase() {
        Backoff b = new Backoff(Duration.ofSeconds(10), Duration.ofSeconds(45));
        assertThat(b.delay(3)).isEqualTo(Duration.ofSeconds(40));
        assertThat(b.delay(4)).isEqualTo(Duration.ofSeconds(45));
    }

    @Test
    void pausesAtTheFifthConsecutiveFailureByDefault() {
        assertThat(Backoff.shouldPause(4)).isFalse();
        assertThat(Backoff.shouldPause(5)).isTrue();
        assertThat(Backoff.shouldPause(2, 3)).isFalse();
        assertThat(Backoff.shouldPause(3, 3)).isTrue();
    }

    @Test
    void refusesABaseThatIsNotPositiveOrACapUnderIt() {
        assertThatThrownBy(() -> new Backoff(Duration.ZERO, Duration.ofHours(1))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Backoff(Duration.ofMinutes(2), Duration.ofMinutes(1))).isInstanceOf(IllegalArgumentException.class);
    }
}
