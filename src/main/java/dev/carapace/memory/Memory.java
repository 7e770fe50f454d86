package dev.carapace.memory;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static dev.carapace.text.Excerpt.clip;

/**
 * Agents' memory: writing notes (checked, screened by the privacy policy, chunked, embedded, stored with their
 * chunks at once), searching them (hybrid: keyword and vector rankings fused, then weighted by recency and made
 * diverse, see {@link Ranking}), listing and removing them. Which scopes a caller may touch is decided before it
 * calls here ({@link MemoryScopes} for agents; the API and CLI for people); this class trusts the scopes it is given.
 */
public final class Memory {

    /** How a write treats a note that exists: replaced by the text, or the text added at its end. */
    public enum Mode { REPLACE, APPEND }

    /** Which rankings a search uses; {@link #HYBRID} is the product, the others are there to measure it. */
    public enum Strategy { HYBRID, KEYWORD, VECTOR }

    /** Who writes: the agent (for its write rate and its privacy policy) and its team; either may be null. */
    public record Writer(String agent, String team) {}

    /** What a write did. {@code redacted} lists what the privacy policy replaced before storing. */
    public record Written(Scope scope, String path, NoteStore.Outcome outcome, int chunks, int bytes, long scopeBytes,
                          List<WriteScreen.Found> redacted) {}

    /** One search result: a passage of a note. */
    public record Hit(Scope scope, String path, String snippet, double score, Instant updatedAt) {}

    public static final int MAX_K = 20;
    public static final int MAX_QUERY_CHARS = 1_000;
    /** A snippet's length at most: a search answer stays small in the model's context. */
    public static final int SNIPPET_CHARS = 600;

    private final NoteStore store;
    private final Embedder embedder;
    private final WriteScreen screen;
    private final MemoryLimits limits;
    private final Clock clock;
    private final Chunker chunker = new Chunker();
    private final VectorCache vectors;
    private final WriteRate rate;

    public Memory(NoteStore store, Embedder embedder, WriteScreen screen, MemoryLimits limits, Clock clock) {
        this.store = store;
        this.embedder = embedder;
        this.screen = screen;
        this.limits = limits;
        this.clock = clock;
        this.vectors = new VectorCache(store, embedder);
        this.rate = new WriteRate(limits.writesPerMinute(), clock);
    }

    public MemoryLimits limits() { return limits; }

    /** Today's journal note, {@code journal/YYYY-MM-DD.md} (UTC): where a write without a path goes. */
    public String journalPath() {
        return "journal/" + java.time.LocalDate.ofInstant(clock.instant(), java.time.ZoneOffset.UTC) + ".md";
    }

    /**
     * Writes {@code text} to the note at {@code path} of {@code scope}.
     *
     * @throws MemoryException when the path or text is unusable, the writer writes too fast, the privacy policy
     *                         refuses a value in the text, or the note or the scope would be over its cap
     */
    public Written write(Scope scope, String path, String text, Mode mode, Writer writer) {
        String p = NotePaths.check(path);
        if (text == null || text.isBlank()) throw invalid("text: the note's markdown is required");
        int textBytes = utf8(text);
        if (textBytes > limits.maxNoteBytes()) {
            throw new MemoryException(MemoryException.Reason.TOO_LARGE, "text: " + textBytes + " bytes; a note holds at"
                    + " most " + limits.maxNoteBytes() + " bytes: split it into several notes");
        }
        String who = writer.agent() != null ? "agent:" + writer.agent() : "scope:" + scope;
        if (!rate.tryTake(who)) {
            throw new MemoryException(MemoryException.Reason.RATE, "too many memory writes: at most "
                    + limits.writesPerMinute() + " a minute; try again in " + rate.secondsToWait(who) + " s, or write"
                    + " fewer, larger notes");
        }
        WriteScreen.Screened screened = screen.screen(writer.team(), writer.agent(), text);
        if (!screened.refused().isEmpty()) {
            throw new MemoryException(MemoryException.Reason.PRIVACY, "not stored: " + describe(screened.refused())
                    + "; the privacy policy does not let memory keep these. Remove them (say where the value is kept"
                    + " instead) and write again.");
        }
        Optional<NoteStore.Note> existing = store.find(scope, p);
        String body = mode == Mode.APPEND && existing.isPresent()
                ? existing.get().body().stripTrailing() + "\n\n" + screened.text() : screened.text();
        int bytes = utf8(body);
        if (bytes > limits.maxNoteBytes()) {
            throw new MemoryException(MemoryException.Reason.TOO_LARGE, "note '" + p + "' would be " + bytes
                    + " bytes with this text; a note holds at most " + limits.maxNoteBytes() + " bytes: start a new note");
        }
        String hash = sha256(body);
        if (existing.isPresent() && existing.get().body().equals(body)) {
            return new Written(scope, p, NoteStore.Outcome.UNCHANGED, existing.get().chunks(), bytes,
                    store.bytes(scope), screened.redacted());
        }
        long held = store.bytes(scope);
        long after = held - existing.map(NoteStore.Note::bytes).orElse(0) + bytes;
        if (after > limits.maxScopeBytes() && after > held) throw overCap(scope, held);   // before the embedding work
        List<Chunker.Chunk> chunks = chunker.chunks(body);
        List<float[]> vs = embedder.embed(chunks.stream().map(Chunker.Chunk::text).toList());
        List<NoteStore.EmbeddedChunk> embedded = new ArrayList<>(chunks.size());
        for (int i = 0; i < chunks.size(); i++) embedded.add(new NoteStore.EmbeddedChunk(chunks.get(i), Vectors.toBytes(vs.get(i))));
        NoteStore.PutResult r = store.put(new NoteStore.NoteWrite(scope, p, body, bytes, hash, writer.agent(),
                clock.instant(), embedder.id(), embedded), limits.maxScopeBytes());
        if (r.outcome() == NoteStore.Outcome.OVER_CAP) throw overCap(scope, r.scopeBytes());
        vectors.invalidate(scope);
        return new Written(scope, p, r.outcome(), chunks.size(), bytes, r.scopeBytes(), screened.redacted());
    }

    /** The best {@code k} passages of {@code scopes} for {@code query}, hybrid. */
    public List<Hit> search(List<Scope> scopes, String query, int k) {
        return search(scopes, query, k, Strategy.HYBRID);
    }

    /**
     * The best {@code k} passages of {@code scopes} for {@code query} by {@code strategy}.
     *
     * @throws MemoryException when the query is blank or too long, or k is not 1 to {@value #MAX_K}
     */
    public List<Hit> search(List<Scope> scopes, String query, int k, Strategy strategy) {
        if (query == null || query.isBlank()) throw invalid("query: what to look for is required");
        if (query.length() > MAX_QUERY_CHARS) throw invalid("query: at most " + MAX_QUERY_CHARS + " characters");
        if (k < 1 || k > MAX_K) throw invalid("k: from 1 to " + MAX_K + "; got " + k);
        if (scopes.isEmpty()) return List.of();
        int pool = Math.max(50, k * 5);
        List<Long> keyword = strategy == Strategy.VECTOR ? List.of() : store.keyword(scopes, query, pool);
        List<VectorCache.Entry> entries = new ArrayList<>(scopes.size());
        for (Scope s : scopes) entries.add(vectors.entry(s));
        List<Long> nearest = new ArrayList<>();
        // An empty memory never loads the model (a few hundred MB once loaded) for a query that can find nothing.
        if (strategy != Strategy.KEYWORD && entries.stream().anyMatch(e -> e.size() > 0)) {
            float[] q = embedder.embed(query);
            List<VectorCache.Hit> hits = new ArrayList<>();
            for (VectorCache.Entry e : entries) hits.addAll(VectorCache.nearest(e, q, pool));
            hits.sort((a, b) -> Double.compare(b.score(), a.score()));
            for (VectorCache.Hit h : hits.subList(0, Math.min(pool, hits.size()))) nearest.add(h.chunkId());
        }
        List<Ranking.Scored> fused = Ranking.fuse(keyword, nearest, id -> updatedAt(entries, id),
                clock.millis(), limits.halfLife());
        List<Ranking.Scored> picked = Ranking.diversify(fused.subList(0, Math.min(fused.size(), k * 4)), k,
                id -> vectorOf(entries, id));
        Map<Long, NoteStore.Passage> passages = new HashMap<>();
        for (NoteStore.Passage ps : store.passages(picked.stream().map(Ranking.Scored::chunkId).toList())) {
            passages.put(ps.chunkId(), ps);
        }
        List<Hit> out = new ArrayList<>(picked.size());
        for (Ranking.Scored s : picked) {
            NoteStore.Passage ps = passages.get(s.chunkId());
            if (ps == null) continue;   // removed since it was ranked
            out.add(new Hit(ps.scope(), ps.path(), clip(ps.text(), SNIPPET_CHARS), s.score(), ps.updatedAt()));
        }
        return out;
    }

    /** The scope's notes by path, without their bodies. */
    public List<NoteStore.Note> list(Scope scope) {
        return store.list(scope);
    }

    /** One note with its body. */
    public NoteStore.Note read(Scope scope, String path) {
        String p = NotePaths.check(path);
        return store.find(scope, p).orElseThrow(() -> new MemoryException(MemoryException.Reason.NOT_FOUND,
                "no note '" + p + "' in memory " + scope));
    }

    /** Removes a note. */
    public void remove(Scope scope, String path) {
        String p = NotePaths.check(path);
        if (!store.delete(scope, p)) {
            throw new MemoryException(MemoryException.Reason.NOT_FOUND, "no note '" + p + "' in memory " + scope);
        }
        vectors.invalidate(scope);
    }

    private static long updatedAt(List<VectorCache.Entry> entries, long id) {
        for (VectorCache.Entry e : entries) {
            long at = e.updatedAt(id);
            if (at != Long.MIN_VALUE) return at;
        }
        return Long.MIN_VALUE;
    }

    private static float[] vectorOf(List<VectorCache.Entry> entries, long id) {
        for (VectorCache.Entry e : entries) {
            float[] v = e.vector(id);
            if (v != null) return v;
        }
        return null;
    }

    /** "line 3: a card number (card, pii), line 5: ..." with no value. */
    static String describe(List<WriteScreen.Found> found) {
        StringBuilder sb = new StringBuilder();
        for (WriteScreen.Found f : found) {
            if (!sb.isEmpty()) sb.append(", ");
            sb.append("line ").append(f.line()).append(" holds ").append(kind(f.type())).append(" (").append(f.type())
                    .append(", class ").append(f.dataClass()).append(')');
        }
        return sb.toString();
    }

    private static String kind(String type) {
        return switch (type) {
            case "card" -> "a card number";
            case "iban" -> "a bank account number";
            case "ssn" -> "a social security number";
            case "email" -> "an e-mail address";
            case "phone" -> "a phone number";
            case "private_key" -> "a private key";
            case "credential" -> "a password or secret";
            case "jwt" -> "a token";
            default -> type.endsWith("_key") || type.endsWith("_token") ? "an API key or token" : "a value of type " + type;
        };
    }

    private MemoryException overCap(Scope scope, long held) {
        return new MemoryException(MemoryException.Reason.TOO_LARGE, "memory " + scope + " holds " + held
                + " bytes; with this note it would pass its cap of " + limits.maxScopeBytes()
                + " bytes: remove notes it no longer needs first");
    }

    private static MemoryException invalid(String message) {
        return new MemoryException(MemoryException.Reason.INVALID, message);
    }

    private static int utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }

    private static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }
}
