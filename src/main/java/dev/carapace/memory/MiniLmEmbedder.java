package dev.carapace.memory;

import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.onnx.allminilml6v2.AllMiniLmL6V2EmbeddingModel;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * all-MiniLM-L6-v2 (384 dimensions), the ONNX model that ships inside langchain4j's jar, run by ONNX Runtime in this
 * process: nothing is downloaded and no text leaves the machine. Loaded on the first embedding (about a second and
 * 100 MB), once; a gateway whose agents never use memory never loads it.
 *
 * <p>The tokenizer's library (DJL) would otherwise look up cloud metadata on a link-local address when it loads; it
 * is told it is offline before it loads ({@code ai.djl.offline}, {@code OPT_OUT_TRACKING}), unless the operator set
 * those properties otherwise.
 */
public final class MiniLmEmbedder implements Embedder {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(MiniLmEmbedder.class);

    public static final String ID = "all-minilm-l6-v2";
    private static final int DIMENSION = 384;

    private final ExecutorService pool;
    private volatile AllMiniLmL6V2EmbeddingModel model;

    /** @param threads how many texts of a batch are embedded at once (each embedding is itself single-batch) */
    public MiniLmEmbedder(int threads) {
        this.pool = Executors.newFixedThreadPool(Math.max(1, threads),
                Thread.ofPlatform().daemon().name("carapace-embed-", 0).factory());
    }

    /** One thread per processor. */
    public MiniLmEmbedder() {
        this(Runtime.getRuntime().availableProcessors());
    }

    @Override
    public String id() { return ID; }

    @Override
    public int dimension() { return DIMENSION; }

    @Override
    public List<float[]> embed(List<String> texts) {
        if (texts.isEmpty()) return List.of();
        List<TextSegment> segments = new ArrayList<>(texts.size());
        for (String t : texts) segments.add(TextSegment.from(visible(t) ? t : "."));
        List<Embedding> out = model().embedAll(segments).content();
        List<float[]> vectors = new ArrayList<>(out.size());
        for (Embedding e : out) vectors.add(Vectors.normalized(e.vector()));
        return vectors;
    }

    /**
     * Whether {@code text} has something to embed: a character that is not a space, control or format character. The
     * library refuses text it finds blank by a test of its own, which String#isBlank does not match (a NUL, a zero-width
     * space).
     */
    static boolean visible(String text) {
        return text.codePoints().anyMatch(c -> switch (Character.getType(c)) {
            case Character.CONTROL, Character.FORMAT, Character.SPACE_SEPARATOR, Character.LINE_SEPARATOR,
                 Character.PARAGRAPH_SEPARATOR, Character.UNASSIGNED, Character.SURROGATE -> false;
            default -> true;
        });
    }

    /**
     * Loads the model now, in the background, rather than on the first memory call: at start the heap is still free,
     * while a first load under load can run out of it. A failure here is logged and said again by every call.
     */
    public void loadSoon() {
        pool.execute(() -> {
            try {
                model();
            } catch (MemoryException e) {
                log.error(e.getMessage());
            }
        });
    }

    private AllMiniLmL6V2EmbeddingModel model() {
        AllMiniLmL6V2EmbeddingModel m = model;
        if (m != null) return m;
        synchronized (this) {
            if (model == null) {
                if (System.getProperty("ai.djl.offline") == null) System.setProperty("ai.djl.offline", "true");
                if (System.getProperty("OPT_OUT_TRACKING") == null) System.setProperty("OPT_OUT_TRACKING", "true");
                try {
                    model = new AllMiniLmL6V2EmbeddingModel(pool);
                } catch (OutOfMemoryError | LinkageError e) {
                    // The model loads in a class initialiser: once that fails, the class stays unusable in this JVM.
                    throw new MemoryException(MemoryException.Reason.UNAVAILABLE, "memory is unavailable: the embedding "
                            + "model could not be loaded (" + e + "); give Carapace more heap (CARAPACE_JAVA_OPTS=-Xmx512m)"
                            + " and restart it");
                }
            }
            return model;
        }
    }
}
