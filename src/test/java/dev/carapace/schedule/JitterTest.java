package dev.carapace.schedule;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class JitterTest {

    private static final Duration FIVE_MINUTES = Duration.ofMinutes(5);

    @Test
    void theSameIdGetsTheSameOffsetEveryTime() {
        assertThat(Jitter.offset("job-42", FIVE_MINUTES)).isEqualTo(Jitter.offset("job-42", FIVE_MINUTES));
    }

    @Test
    void theOffsetIsAFixedFunctionOfTheIdAcrossRestartsAndGateways() {
        // pinned: a change here would move every job's runs after an upgrade
        assertThat(Jitter.offset("job-42", FIVE_MINUTES)).isEqualTo(Jitter.offset(new String("job-42"), FIVE_MINUTES));
        assertThat(Jitter.offset("job-42", Duration.ofHours(1)).toMillis() % FIVE_MINUTES.toMillis())
                .isEqualTo(Jitter.offset("job-42", FIVE_MINUTES).toMillis() % FIVE_MINUTES.toMillis());
    }

    @Test
    void offsetsStayInRangeAndSpreadOverIt() {
        int[] buckets = new int[10];
        Set<Duration> distinct = new HashSet<>();
        IntStream.range(0, 10_000).forEach(i -> {
            Duration d = Jitter.offset("job-" + i, FIVE_MINUTES);
            assertThat(d).isBetween(Duration.ZERO, FIVE_MINUTES.minusMillis(1));
            buckets[(int) (d.toMillis() * 10 / FIVE_MINUTES.toMillis())]++;
            distinct.add(d);
        });
        // each tenth of the range gets about a thousand of the ten thousand ids
        for (int count : buckets) assertThat(count).isBetween(850, 1150);
        assertThat(distinct.size()).isGreaterThan(9_000);
    }

    @Test
    void noRoomMeansNoJitter() {
        assertThat(Jitter.offset("job-1", Duration.ZERO)).isEqualTo(Duration.ZERO);
        assertThat(Jitter.offset("job-1", Duration.ofNanos(999))).isEqualTo(Duration.ZERO);
        assertThat(Jitter.offset("job-1", Duration.ofMillis(1))).isEqualTo(Duration.ZERO);
    }

    @Test
    void aNegativeMaximumIsAProgrammingError() {
        assertThatThrownBy(() -> Jitter.offset("job-1", Duration.ofSeconds(-1))).isInstanceOf(IllegalArgumentException.class);
    }
}
