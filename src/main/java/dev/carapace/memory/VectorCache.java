package dev.carapace.memory;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Each scope's chunk vectors, held in memory as one flat float array so a search is a brute-force scan (100,000
 * chunks of 384 floats take about 150 MB and a few milliseconds). A scope's entry is read again when the store's
 * version of it differs from the one cached, which any gateway's write changes, so no gateway answers from a stale
 * cache; a write on this gateway drops it at once.
 */
final class VectorCache {

    /**
     * A scope's vectors, row {@code i} of {@code matrix} (from {@code i * dimension}) being chunk {@code chunkIds[i]}'s,
     * and where each chunk id is among them.
     */
    record Entry(long version, long[] chunkIds, long[] updatedAtMillis, float[] matrix, int dimension,
                 Map<Long, Integer> index) {
        int size() { return chunkIds.length; }

        /** The vector of a chunk, or null when it is not in this scope. */
        float[] vector(long chunkId) {
            Integer i = index.get(chunkId);
            if (i == null) return null;
            float[] v = new float[dimension];
            System.arraycopy(matrix, i * dimension, v, 0, dimension);
            return v;
        }

        long updatedAt(long chunkId) {
            Integer i = index.get(chunkId);
            return i == null ? Long.MIN_VALUE : updatedAtMillis[i];
        }
    }

    /** A chunk and its cosine with the query. */
    record Hit(long chunkId, double score) {}

    private final NoteStore store;
    private final Embedder embedder;
    private final Map<Scope, Entry> entries = new ConcurrentHashMap<>();

    VectorCache(NoteStore store, Embedder embedder) {
        this.store = store;
        this.embedder = embedder;
    }

    /** The scope's vectors as the store has them now. */
    Entry entry(Scope scope) {
        long version = store.version(scope);
        Entry e = entries.get(scope);
        if (e != null && e.version() == version) return e;
        NoteStore.ScopeVectors read = store.vectors(scope, embedder.id());
        int d = embedder.dimension();
        List<NoteStore.StoredVector> rows = read.vectors();
        long[] ids = new long[rows.size()];
        long[] at = new long[rows.size()];
        float[] matrix = new float[rows.size() * d];
        Map<Long, Integer> index = new HashMap<>(rows.size() * 2);
        int n = 0;
        for (NoteStore.StoredVector r : rows) {
            if (!Vectors.fromBytes(r.vector(), matrix, n * d, d)) continue;   // not this model's shape: never compared
            ids[n] = r.chunkId();
            at[n] = r.updatedAtMillis();
            index.put(r.chunkId(), n);
            n++;
        }
        Entry fresh = new Entry(read.version(), java.util.Arrays.copyOf(ids, n), java.util.Arrays.copyOf(at, n),
                n == rows.size() ? matrix : java.util.Arrays.copyOf(matrix, n * d), d, index);
        entries.put(scope, fresh);
        return fresh;
    }

    void invalidate(Scope scope) {
        entries.remove(scope);
    }

    /** The {@code n} chunks of the entry most like {@code query}, best first. */
    static java.util.List<Hit> nearest(Entry entry, float[] query, int n) {
        Entry v = entry;
        int d = v.dimension();
        float[] m = v.matrix();
        PriorityQueue<Hit> best = new PriorityQueue<>((a, b) -> Double.compare(a.score(), b.score()));
        for (int i = 0; i < v.size(); i++) {
            double s = Vectors.dot(query, m, i * d);
            if (best.size() < n) {
                best.add(new Hit(v.chunkIds()[i], s));
            } else if (s > best.peek().score()) {
                best.poll();
                best.add(new Hit(v.chunkIds()[i], s));
            }
        }
        java.util.List<Hit> out = new java.util.ArrayList<>(best);
        out.sort((a, b) -> Double.compare(b.score(), a.score()));
        return out;
    }
}
