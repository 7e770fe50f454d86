package dev.carapace.memory;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The ranking after retrieval: reciprocal-rank fusion rewards agreement between the lists, recency weighs by the
 * half-life (and never below half), and MMR passes over a near-copy of a passage already picked.
 */
class RankingTest {

    static final long NOW = 1_000_000_000_000L;
    static final Duration HALF_LIFE = Duration.ofDays(30);

    @Test
    void aChunkBothListsFindOutranksOnesOnlyOneFinds() {
        List<Ranking.Scored> fused = Ranking.fuse(List.of(1L, 2L, 3L), List.of(4L, 3L, 5L), id -> NOW, NOW, HALF_LIFE);
        assertThat(fused.get(0).chunkId()).isEqualTo(3L);
        assertThat(fused.get(0).score()).isCloseTo(1.0 / 63 + 1.0 / 62, within(1e-12));
        assertThat(fused).extracting(Ranking.Scored::chunkId).containsExactly(3L, 1L, 4L, 2L, 5L);
    }

    @Test
    void recencyWeighsByTheHalfLifeAndNeverBelowHalf() {
        long day = Duration.ofDays(1).toMillis();
        Map<Long, Long> written = Map.of(1L, NOW - 300 * day, 2L, NOW - 30 * day, 3L, NOW);
        // the same rank in one list each: only their age tells them apart
        List<Ranking.Scored> fused = Ranking.fuse(List.of(1L), List.of(2L), written::get, NOW, HALF_LIFE);
        List<Ranking.Scored> fresh = Ranking.fuse(List.of(3L), List.of(), written::get, NOW, HALF_LIFE);
        double full = fresh.get(0).score();
        assertThat(full).isCloseTo(1.0 / 61, within(1e-12));
        assertThat(fused).extracting(Ranking.Scored::chunkId).containsExactly(2L, 1L);
        assertThat(fused.get(0).score() / full).isCloseTo(0.75, within(1e-9));      // one half-life: half the bonus
        assertThat(fused.get(1).score() / full).isCloseTo(0.5, within(0.001));      // ten: about the floor
        assertThat(fused.get(1).score() / full).isGreaterThanOrEqualTo(Ranking.MIN_RECENCY);
    }

    @Test
    void mmrPassesOverANearCopyOfWhatItPicked() {
        float[] a = Vectors.normalized(new float[]{1, 0, 0});
        float[] nearA = Vectors.normalized(new float[]{1, 0.05f, 0});
        float[] b = Vectors.normalized(new float[]{0, 1, 0});
        float[] c = Vectors.normalized(new float[]{0, 0, 1});
        Map<Long, float[]> v = Map.of(1L, a, 2L, nearA, 3L, b, 4L, c);
        List<Ranking.Scored> candidates = List.of(new Ranking.Scored(1, 0.032), new Ranking.Scored(2, 0.031),
                new Ranking.Scored(3, 0.030), new Ranking.Scored(4, 0.016));
        assertThat(Ranking.diversify(candidates, 2, v::get)).extracting(Ranking.Scored::chunkId).containsExactly(1L, 3L);
        assertThat(Ranking.diversify(candidates, 4, v::get)).extracting(Ranking.Scored::chunkId).hasSize(4).startsWith(1L, 3L);
        // without vectors nothing is alike: the order is the fused one
        assertThat(Ranking.diversify(candidates, 3, id -> null)).extracting(Ranking.Scored::chunkId).containsExactly(1L, 2L, 3L);
    }
}
