package dev.carapace.memory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongFunction;
import java.util.function.ToLongFunction;

/**
 * How a search's two rankings become one list: reciprocal-rank fusion of the keyword and the vector ranking (a chunk
 * scores {@code 1/(60 + rank)} in each list it is in, so agreeing lists count and neither list's raw scores need a
 * common scale), a recency weight, then maximal marginal relevance, which picks each next result by its score less its
 * likeness to those already picked, so five near-copies of one passage do not fill the five places.
 */
final class Ranking {

    /** The usual constant of reciprocal-rank fusion: how slowly a list's weight falls off with rank. */
    static final int RRF_K = 60;
    /** Relevance against diversity in MMR: 1 is relevance alone. */
    static final double MMR_LAMBDA = 0.7;
    /**
     * The recency weight of a note is {@code 0.5 + 0.5 * 2^(-age/halfLife)}: a new note counts fully, one a half-life
     * old three quarters, an old one never less than half, so an old durable fact still wins over a new passing one
     * that is less relevant.
     */
    static final double MIN_RECENCY = 0.5;

    private Ranking() {}

    /** A chunk with its fused, recency-weighted score. */
    record Scored(long chunkId, double score) {}

    /** The fused scores of every chunk in either list, best first. Each list holds chunk ids, best first. */
    static List<Scored> fuse(List<Long> keyword, List<Long> vector, ToLongFunction<Long> updatedAt, long now,
                             Duration halfLife) {
        Map<Long, Double> rrf = new LinkedHashMap<>();
        for (int i = 0; i < keyword.size(); i++) rrf.merge(keyword.get(i), 1.0 / (RRF_K + i + 1), Double::sum);
        for (int i = 0; i < vector.size(); i++) rrf.merge(vector.get(i), 1.0 / (RRF_K + i + 1), Double::sum);
        List<Scored> out = new ArrayList<>(rrf.size());
        double half = halfLife.toMillis();
        rrf.forEach((id, s) -> {
            long at = updatedAt.applyAsLong(id);
            double age = at == Long.MIN_VALUE ? 0 : Math.max(0, now - at);
            double recency = MIN_RECENCY + (1 - MIN_RECENCY) * Math.pow(2, -age / half);
            out.add(new Scored(id, s * recency));
        });
        out.sort((a, b) -> a.score() != b.score() ? Double.compare(b.score(), a.score()) : Long.compare(a.chunkId(), b.chunkId()));
        return out;
    }

    /**
     * The {@code k} candidates MMR picks, in the order picked. {@code vectorOf} gives a chunk's vector, or null
     * (then it is taken as unlike every other).
     */
    static List<Scored> diversify(List<Scored> candidates, int k, LongFunction<float[]> vectorOf) {
        if (candidates.size() <= 1) return candidates.subList(0, Math.min(k, candidates.size()));
        // Relevance rescaled to 0..1 over the candidates: fused scores are close together (1/61 and 1/65 differ by 6%),
        // and unscaled, any likeness would outweigh them, picking unrelated passages just for being different.
        double top = candidates.get(0).score();
        double bottom = candidates.get(candidates.size() - 1).score();
        double span = top - bottom;
        Map<Long, float[]> vectors = new HashMap<>();
        for (Scored c : candidates) vectors.put(c.chunkId(), vectorOf.apply(c.chunkId()));
        List<Scored> left = new ArrayList<>(candidates);
        List<Scored> picked = new ArrayList<>(k);
        while (picked.size() < k && !left.isEmpty()) {
            int best = 0;
            double bestValue = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < left.size(); i++) {
                Scored c = left.get(i);
                float[] v = vectors.get(c.chunkId());
                double likeness = 0;
                if (v != null) {
                    for (Scored p : picked) {
                        float[] w = vectors.get(p.chunkId());
                        if (w != null) likeness = Math.max(likeness, Vectors.dot(v, w));
                    }
                }
                double relevance = span <= 0 ? 1 : (c.score() - bottom) / span;
                double value = MMR_LAMBDA * relevance - (1 - MMR_LAMBDA) * likeness;
                if (value > bestValue) {
                    bestValue = value;
                    best = i;
                }
            }
            picked.add(left.remove(best));
        }
        return picked;
    }
}
