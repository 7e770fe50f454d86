package dev.carapace.memory;

/**
 * The one real all-MiniLM-L6-v2 the test JVM loads (about a second and 100 MB): every test that embeds shares it.
 */
public final class TestEmbedder {

    private static MiniLmEmbedder model;

    private TestEmbedder() {}

    public static synchronized Embedder shared() {
        if (model == null) model = new MiniLmEmbedder();
        return model;
    }
}
