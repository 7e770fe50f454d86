package dev.carapace.memory;

import java.util.List;

/**
 * Turns text into vectors whose dot product says how alike two texts are in meaning. Implementations run in-process
 * and offline, return unit-length vectors (so the dot product is the cosine), and are safe to share between threads.
 */
public interface Embedder {

    /** Names the model: vectors of different models are never compared (the store keeps it with each chunk). */
    String id();

    /** The length of every vector. */
    int dimension();

    /** One unit-length vector per text, in order; a batch is cheaper than the same texts one by one. */
    List<float[]> embed(List<String> texts);

    /** The vector of one text. */
    default float[] embed(String text) { return embed(List.of(text)).get(0); }
}
