package dev.carapace.memory.bench;

import dev.carapace.memory.Embedder;
import dev.carapace.memory.Memory;
import dev.carapace.memory.MemoryLimits;
import dev.carapace.memory.MiniLmEmbedder;
import dev.carapace.memory.RecallSet;
import dev.carapace.memory.Scope;
import dev.carapace.memory.WriteScreen;
import dev.carapace.server.adapter.StoreMemoryNotes;
import dev.carapace.store.MemoryNotes;
import dev.carapace.store.PostgresForTests;
import dev.carapace.store.Store;
import org.HdrHistogram.Histogram;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Memory's benchmark (issue 17), run by {@code bench/memory}, never by the test suite: embedding throughput, indexing
 * throughput (chunking, embedding and storing, through {@link Memory#write}), {@code memory_search} latency p50/p99
 * over a scope of 100,000 chunks on SQLite or PostgreSQL, and recall@5 on the labeled set.
 *
 * <p>The 100,000-chunk corpus is synthetic: {@code DISTINCT} different texts are embedded for real, then reused
 * round-robin, each copy with a reference number of its own so keyword search still tells them apart. Embedding all
 * 100,000 would take about half an hour on 2 cores and measure the model again, not the search.
 *
 * <p>Arguments: {@code sqlite|postgres} [chunks] [distinct] [queries].
 */
public final class MemoryBenchmark {

    private static final String[] WORDS = ("deploy rollback canary cluster replica database snapshot backup restore "
            + "queue worker latency timeout retry billing invoice customer contract pricing cache index migration schema "
            + "certificate rotation pager incident outage capacity traffic region failover ledger budget token secret "
            + "vault audit policy sandbox egress proxy memory compaction session agent schedule heartbeat webhook "
            + "report dashboard metric alert threshold storage bucket archive retention compliance review approval "
            + "release branch merge build pipeline test staging production customer support ticket escalation").split(" ");

    /**
     * Words of the synthetic text: the topic words above and 5,000 made-up ones, drawn with Zipf's law (the n-th most
     * common word about 1/n as often as the first), as words are in real notes. A flat draw over a hundred words would
     * make every query word match half the corpus, which no real memory does.
     */
    private static final String[] VOCABULARY = vocabulary();
    private static final double[] CUMULATIVE = zipf(VOCABULARY.length);

    private static String[] vocabulary() {
        String[] syllables = "ka lo mi ne ru sa te vo zi pa do re fi gu hal ber tin mor ves qua".split(" ");
        Random r = new Random(5);
        String[] out = new String[WORDS.length + 5_000];
        System.arraycopy(WORDS, 0, out, 0, WORDS.length);
        for (int i = WORDS.length; i < out.length; i++) {
            StringBuilder w = new StringBuilder();
            int n = 2 + r.nextInt(3);
            for (int j = 0; j < n; j++) w.append(syllables[r.nextInt(syllables.length)]);
            out[i] = w.toString();
        }
        return out;
    }

    private static double[] zipf(int n) {
        double[] c = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) c[i] = sum += 1.0 / (i + 1);
        for (int i = 0; i < n; i++) c[i] /= sum;
        return c;
    }

    private static String word(Random random) {
        int i = java.util.Arrays.binarySearch(CUMULATIVE, random.nextDouble());
        return VOCABULARY[Math.min(VOCABULARY.length - 1, i < 0 ? -i - 1 : i)];
    }

    public static void main(String[] args) throws Exception {
        String db = args.length > 0 ? args[0] : "sqlite";
        int chunks = args.length > 1 ? Integer.parseInt(args[1]) : 100_000;
        int distinct = args.length > 2 ? Integer.parseInt(args[2]) : 2_000;
        int queries = args.length > 3 ? Integer.parseInt(args[3]) : 300;
        Random random = new Random(17);
        Embedder model = new MiniLmEmbedder();
        model.embed("warm up");

        // 1. embedding throughput: the distinct texts, in batches of 64
        List<String> texts = new ArrayList<>(distinct);
        for (int i = 0; i < distinct; i++) texts.add(paragraph(random, 70 + random.nextInt(50)));
        List<float[]> vectors = new ArrayList<>(distinct);
        long t0 = System.nanoTime();
        for (int i = 0; i < distinct; i += 64) vectors.addAll(model.embed(texts.subList(i, Math.min(distinct, i + 64))));
        double embedSeconds = (System.nanoTime() - t0) / 1e9;
        int avgChars = (int) texts.stream().mapToInt(String::length).average().orElse(0);
        print("embedding: %d chunks of ~%d chars in %.1f s = %.0f chunks/s", distinct, avgChars, embedSeconds,
                distinct / embedSeconds);

        Path dir = Files.createTempDirectory("carapace-memory-bench");
        try (Store store = db.equals("postgres")
                ? Store.open(PostgresForTests.createDatabase(), PostgresForTests.USER, "", 8)
                : Store.open("jdbc:sqlite:" + dir.resolve("memory.db"), null, null, 4)) {
            MemoryLimits limits = new MemoryLimits(64 * 1024, Long.MAX_VALUE / 2, 1_000_000, Duration.ofDays(30));
            Memory memory = new Memory(new StoreMemoryNotes(store.memoryNotes()), model, WriteScreen.NONE, limits,
                    Clock.systemUTC());

            // 2. indexing throughput through Memory.write: notes of 3 to 6 paragraphs
            Scope indexed = Scope.agent("indexing");
            int notes = Math.max(20, distinct / 20);
            int indexedChunks = 0;
            t0 = System.nanoTime();
            for (int n = 0; n < notes; n++) {
                StringBuilder body = new StringBuilder("# Note " + n + "\n\n");
                int paragraphs = 3 + random.nextInt(4);
                for (int p = 0; p < paragraphs; p++) body.append(paragraph(random, 60 + random.nextInt(60))).append("\n\n");
                indexedChunks += memory.write(indexed, "notes/" + n + ".md", body.toString(), Memory.Mode.REPLACE,
                        new Memory.Writer(null, null)).chunks();
            }
            double indexSeconds = (System.nanoTime() - t0) / 1e9;
            print("indexing (%s, chunk + embed + store): %d notes, %d chunks in %.1f s = %.0f chunks/s",
                    db, notes, indexedChunks, indexSeconds, indexedChunks / indexSeconds);

            // 3. the big scope: chunks in notes of 10, the distinct texts' real vectors reused
            Scope big = Scope.agent("big");
            MemoryNotes.Scope bigRow = new MemoryNotes.Scope("agent", "big");
            t0 = System.nanoTime();
            int perNote = 10;
            for (int n = 0; n * perNote < chunks; n++) {
                List<MemoryNotes.NewChunk> cs = new ArrayList<>(perNote);
                StringBuilder body = new StringBuilder();
                for (int c = 0; c < perNote && n * perNote + c < chunks; c++) {
                    int i = n * perNote + c;
                    String text = texts.get(i % distinct) + " ref-" + i;
                    int start = body.length();
                    body.append(text).append("\n\n");
                    cs.add(new MemoryNotes.NewChunk(text, start, start + text.length(), bytes(vectors.get(i % distinct))));
                }
                store.memoryNotes().put(new MemoryNotes.NoteWrite(bigRow, "bulk/" + n + ".md", body.toString(),
                        body.length(), "h" + n, null, Instant.now().minus(Duration.ofHours(random.nextInt(2_000))),
                        model.id(), cs), Long.MAX_VALUE / 2);
            }
            print("filled %s with %d chunks in %.1f s (store writes only)", db, chunks, (System.nanoTime() - t0) / 1e9);

            // the query's embedding, which every hybrid or vector search pays first
            Histogram qe = new Histogram(60_000_000L, 3);
            for (int q = 0; q < 100; q++) {
                String query = paragraph(random, 2 + random.nextInt(5));
                long s0 = System.nanoTime();
                model.embed(query);
                qe.recordValue((System.nanoTime() - s0) / 1_000);
            }
            print("query embedding alone: p50 %.1f ms, p99 %.1f ms", qe.getValueAtPercentile(50) / 1e3,
                    qe.getValueAtPercentile(99) / 1e3);

            // 4. search latency: the first search loads the scope's vectors; then queries of 2-6 words, some with a ref
            if (db.equals("postgres")) {
                // what autovacuum does within a minute of a bulk load: without statistics the planner takes the fresh
                // tables for empty and scans them
                t0 = System.nanoTime();
                store.jdbi().useHandle(h -> h.execute("ANALYZE"));
                print("ANALYZE after the fill: %.0f ms", (System.nanoTime() - t0) / 1e6);
            }
            t0 = System.nanoTime();
            memory.search(List.of(big), "warm the cache", 5, Memory.Strategy.VECTOR);
            print("first search (loads %d vectors into memory): %.0f ms", chunks, (System.nanoTime() - t0) / 1e6);
            for (Memory.Strategy s : Memory.Strategy.values()) {
                Histogram h = new Histogram(60_000_000L, 3);
                for (int q = 0; q < queries; q++) {
                    String query = q % 4 == 0 ? "ref-" + random.nextInt(chunks) + " " + word(random)
                            : paragraph(random, 2 + random.nextInt(5));
                    long s0 = System.nanoTime();
                    memory.search(List.of(big), query, 5, s);
                    h.recordValue((System.nanoTime() - s0) / 1_000);
                }
                print("memory_search %s, %d chunks, %s, k=5: p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d queries)", s, chunks,
                        db, h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(99) / 1e3, h.getMaxValue() / 1e3, queries);
            }

            // 5. recall@5 on the labeled set, in a scope of its own
            RecallSet set = RecallSet.load();
            Scope labeled = Scope.agent("labeled");
            set.writeInto(memory, labeled);
            Map<Memory.Strategy, Map<String, Double>> r = set.recall(memory, List.of(labeled), 5);
            r.forEach((s, v) -> print("recall@5 %s: all %.2f, paraphrase %.2f, identifier %.2f", s, v.get("all"),
                    v.get("paraphrase"), v.get("identifier")));
        } finally {
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        System.exit(0);
    }

    private static String paragraph(Random random, int words) {
        StringBuilder sb = new StringBuilder();
        for (int w = 0; w < words; w++) {
            if (w > 0) sb.append(w % 12 == 0 ? ". " : " ");
            sb.append(word(random));
        }
        return sb.append('.').toString();
    }

    private static byte[] bytes(float[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) b.putFloat(f);
        return b.array();
    }

    private static void print(String format, Object... args) {
        System.out.println(String.format(java.util.Locale.ROOT, format, args));
    }
}
