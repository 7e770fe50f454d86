package dev.carapace.store;

import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.mapper.RowMapper;
import org.jdbi.v3.core.statement.PreparedBatch;
import org.jdbi.v3.core.statement.SqlStatement;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Agents' memory (issue 17): markdown notes in a scope (an agent's own, or a team's), their chunks with embeddings,
 * and keyword search over the chunks (SQLite FTS5, or PostgreSQL full text). The store keeps embeddings as the bytes
 * it is given and never reads them; which scopes a caller may see is decided before it gets here.
 *
 * <p>A keyword query is the user's text, never query syntax: {@link #keyword} keeps only the runs of letters and
 * digits of each word and quotes them as phrases, so {@code "}, {@code NEAR}, {@code *}, {@code -} or {@code :} can
 * neither fail the query nor change what it means.
 */
public final class MemoryNotes {

    /** A scope: {@code kind} is {@code agent} or {@code team}, {@code name} the agent's id or the team's name. */
    public record Scope(String kind, String name) {
        public Scope {
            if (!kind.equals("agent") && !kind.equals("team")) throw new IllegalArgumentException("scope kind: agent or team");
            Objects.requireNonNull(name, "name");
        }
    }

    /** A note as stored. {@code body} is null in listings. */
    public record NoteRow(long id, Scope scope, String path, String body, int bytes, String contentHash, String author,
                          Instant createdAt, Instant updatedAt, int chunks) {}

    /** A chunk to store: its place in the note's body and its embedding's bytes. */
    public record NewChunk(String text, int start, int end, byte[] embedding) {}

    /** A chunk's embedding, with what ranking needs of its note. */
    public record ChunkVector(long chunkId, long noteId, long updatedAtMillis, byte[] embedding) {}

    /** A chunk's text and where it comes from. */
    public record ChunkText(long chunkId, Scope scope, String path, int ordinal, String text, Instant updatedAt) {}

    /** A keyword match: the chunk and its place in the ranking (0 is the best). */
    public record KeywordHit(long chunkId, int rank) {}

    /** What a {@link #put} did. */
    public enum PutOutcome { CREATED, REPLACED, UNCHANGED, OVER_CAP }

    /** The outcome, and the scope's bytes after it (before it, for {@link PutOutcome#OVER_CAP}). */
    public record PutResult(PutOutcome outcome, long scopeBytes) {}

    /** At most this many phrases of a query go to the index; the rest of a very long query is ignored. */
    public static final int MAX_QUERY_PHRASES = 32;

    /** A phrase found in this many chunks or more is too common to rank by: see {@link #keyword}. */
    public static final int COMMON_PHRASE_MATCHES = 1_000;

    /**
     * English words too common to say what a query is about, dropped from queries (a phrase of several words keeps
     * them): PostgreSQL's english configuration drops them anyway, and FTS5, which has no such list, would otherwise
     * rank every note with a "how" or "the" as a match.
     */
    static final java.util.Set<String> STOPWORDS = java.util.Set.of("a", "about", "above", "after", "again", "all",
            "am", "an", "and", "any", "are", "as", "at", "be", "because", "been", "before", "being", "below", "between",
            "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for",
            "from", "further", "get", "had", "has", "have", "having", "he", "her", "here", "hers", "him", "his", "how",
            "i", "if", "in", "into", "is", "it", "its", "just", "me", "more", "most", "my", "no", "nor", "not", "now",
            "of", "off", "on", "once", "only", "or", "other", "our", "out", "over", "own", "same", "she", "should", "so",
            "some", "such", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "those",
            "through", "to", "too", "under", "until", "up", "very", "was", "we", "were", "what", "when", "where",
            "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your");

    private static final String NOTE_COLUMNS = "n.id, n.scope_kind, n.scope_name, n.path, n.bytes, n.content_hash, "
            + "n.author, n.created_at, n.updated_at";

    private static final RowMapper<NoteRow> NOTE = (rs, ctx) -> new NoteRow(rs.getLong("id"),
            new Scope(rs.getString("scope_kind"), rs.getString("scope_name")), rs.getString("path"),
            hasColumn(rs, "body") ? rs.getString("body") : null, rs.getInt("bytes"), rs.getString("content_hash"),
            rs.getString("author"), Instant.ofEpochMilli(rs.getLong("created_at")),
            Instant.ofEpochMilli(rs.getLong("updated_at")), rs.getInt("chunks"));

    private final Store store;

    MemoryNotes(Store store) { this.store = store; }

    /** The note at {@code path} in {@code scope}, with its body. */
    public Optional<NoteRow> find(Scope scope, String path) {
        return store.read("find memory note", h -> h.createQuery("SELECT " + NOTE_COLUMNS + ", n.body, "
                        + "(SELECT COUNT(*) FROM memory_chunks c WHERE c.note_id = n.id) AS chunks FROM memory_notes n "
                        + "WHERE n.scope_kind = :kind AND n.scope_name = :name AND n.path = :path")
                .bind("kind", scope.kind()).bind("name", scope.name()).bind("path", path).map(NOTE).findOne());
    }

    /** The notes of a scope, by path, without their bodies. */
    public List<NoteRow> list(Scope scope) {
        return store.read("list memory notes", h -> h.createQuery("SELECT " + NOTE_COLUMNS + ", "
                        + "(SELECT COUNT(*) FROM memory_chunks c WHERE c.note_id = n.id) AS chunks FROM memory_notes n "
                        + "WHERE n.scope_kind = :kind AND n.scope_name = :name ORDER BY n.path")
                .bind("kind", scope.kind()).bind("name", scope.name()).map(NOTE).list());
    }

    /**
     * A note to write. {@code bytes} is the body's size in UTF-8, as the scope's cap counts it; {@code contentHash}
     * identifies the body (a write of the same hash changes nothing); {@code model} names the embedding model of the
     * chunks' vectors.
     */
    public record NoteWrite(Scope scope, String path, String body, int bytes, String contentHash, String author,
                            Instant at, String model, List<NewChunk> chunks) {
        public NoteWrite {
            Objects.requireNonNull(scope, "scope");
            Objects.requireNonNull(path, "path");
            Objects.requireNonNull(body, "body");
            Objects.requireNonNull(contentHash, "contentHash");
            Objects.requireNonNull(at, "at");
            Objects.requireNonNull(model, "model");
            chunks = List.copyOf(chunks);
        }
    }

    /**
     * Writes a note and replaces its chunks, in one transaction, unless its text is unchanged (the same
     * {@code contentHash} as the stored note's: nothing is written) or the scope would then hold more than
     * {@code maxScopeBytes} (nothing is written either; a write that shrinks the scope is always let through).
     * Counts the scope's version up on every write.
     */
    public PutResult put(NoteWrite w, long maxScopeBytes) {
        Scope scope = w.scope();
        return store.write("write memory note", h -> {
            Optional<NoteRow> old = h.createQuery("SELECT " + NOTE_COLUMNS + ", 0 AS chunks FROM memory_notes n "
                            + "WHERE n.scope_kind = :kind AND n.scope_name = :name AND n.path = :path")
                    .bind("kind", scope.kind()).bind("name", scope.name()).bind("path", w.path()).map(NOTE).findOne();
            long scopeBytes = scopeBytes(h, scope);
            if (old.isPresent() && old.get().contentHash().equals(w.contentHash())) {
                return new PutResult(PutOutcome.UNCHANGED, scopeBytes);
            }
            long after = scopeBytes - old.map(NoteRow::bytes).orElse(0) + w.bytes();
            if (after > maxScopeBytes && after > scopeBytes) return new PutResult(PutOutcome.OVER_CAP, scopeBytes);
            long id;
            if (old.isPresent()) {
                id = old.get().id();
                h.createUpdate("DELETE FROM memory_chunks WHERE note_id = :id").bind("id", id).execute();
                h.createUpdate("UPDATE memory_notes SET body = :body, bytes = :bytes, content_hash = :hash, "
                                + "author = :author, updated_at = :at WHERE id = :id")
                        .bind("body", w.body()).bind("bytes", w.bytes()).bind("hash", w.contentHash())
                        .bind("author", w.author()).bind("at", w.at().toEpochMilli()).bind("id", id).execute();
            } else {
                h.createUpdate("INSERT INTO memory_notes (scope_kind, scope_name, path, body, bytes, content_hash, "
                                + "author, created_at, updated_at) VALUES (:kind, :name, :path, :body, :bytes, :hash, "
                                + ":author, :at, :at)")
                        .bind("kind", scope.kind()).bind("name", scope.name()).bind("path", w.path())
                        .bind("body", w.body()).bind("bytes", w.bytes()).bind("hash", w.contentHash())
                        .bind("author", w.author()).bind("at", w.at().toEpochMilli()).execute();
                id = h.createQuery("SELECT id FROM memory_notes WHERE scope_kind = :kind AND scope_name = :name "
                                + "AND path = :path")
                        .bind("kind", scope.kind()).bind("name", scope.name()).bind("path", w.path())
                        .mapTo(Long.class).one();
            }
            insertChunks(h, id, w.chunks(), w.model());
            bump(h, scope, after);
            return new PutResult(old.isPresent() ? PutOutcome.REPLACED : PutOutcome.CREATED, after);
        });
    }

    private static void insertChunks(Handle h, long noteId, List<NewChunk> chunks, String model) {
        if (chunks.isEmpty()) return;
        PreparedBatch batch = h.prepareBatch("INSERT INTO memory_chunks (note_id, ordinal, text, start_offset, "
                + "end_offset, embedding, model) VALUES (:note, :ordinal, :text, :start, :end, :embedding, :model)");
        for (int i = 0; i < chunks.size(); i++) {
            NewChunk c = chunks.get(i);
            batch.bind("note", noteId).bind("ordinal", i).bind("text", c.text()).bind("start", c.start())
                    .bind("end", c.end()).bind("embedding", c.embedding()).bind("model", model).add();
        }
        batch.execute();
    }

    /** Deletes a note and its chunks. Returns false when there was none. */
    public boolean delete(Scope scope, String path) {
        return store.write("delete memory note", h -> {
            Optional<NoteRow> note = h.createQuery("SELECT " + NOTE_COLUMNS + ", 0 AS chunks FROM memory_notes n "
                            + "WHERE n.scope_kind = :kind AND n.scope_name = :name AND n.path = :path")
                    .bind("kind", scope.kind()).bind("name", scope.name()).bind("path", path).map(NOTE).findOne();
            if (note.isEmpty()) return false;
            // the chunks first and by statement: their delete trigger keeps the FTS5 index in step
            h.createUpdate("DELETE FROM memory_chunks WHERE note_id = :id").bind("id", note.get().id()).execute();
            h.createUpdate("DELETE FROM memory_notes WHERE id = :id").bind("id", note.get().id()).execute();
            bump(h, scope, scopeBytes(h, scope) - note.get().bytes());
            return true;
        });
    }

    /** How many times the scope was written: a cache of its vectors read at another version is stale. */
    public long version(Scope scope) {
        return store.read("read memory version", h -> h.createQuery("SELECT version FROM memory_scopes "
                        + "WHERE scope_kind = :kind AND scope_name = :name")
                .bind("kind", scope.kind()).bind("name", scope.name()).mapTo(Long.class).findOne().orElse(0L));
    }

    /** The bytes the scope's notes hold. */
    public long scopeBytes(Scope scope) {
        return store.read("read memory size", h -> scopeBytes(h, scope));
    }

    /** The embeddings of every chunk of the scope made by {@code model}, read at {@link #version}'s value. */
    public Versioned<List<ChunkVector>> vectors(Scope scope, String model) {
        return store.read("read memory vectors", h -> {
            long version = h.createQuery("SELECT version FROM memory_scopes WHERE scope_kind = :kind "
                            + "AND scope_name = :name")
                    .bind("kind", scope.kind()).bind("name", scope.name()).mapTo(Long.class).findOne().orElse(0L);
            List<ChunkVector> rows = h.createQuery("SELECT c.id, c.note_id, n.updated_at, c.embedding "
                            + "FROM memory_chunks c JOIN memory_notes n ON n.id = c.note_id "
                            + "WHERE n.scope_kind = :kind AND n.scope_name = :name AND c.model = :model")
                    .bind("kind", scope.kind()).bind("name", scope.name()).bind("model", model)
                    .map((rs, ctx) -> new ChunkVector(rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getBytes(4)))
                    .list();
            return new Versioned<>(version, rows);
        });
    }

    /** A value and the scope version it was read at. */
    public record Versioned<T>(long version, T value) {}

    /**
     * The chunks of {@code scopes} that match the words of {@code query}, best first, at most {@code limit}. Each
     * word of the query (split on white space) is a phrase of its letter-and-digit runs ({@code ERR_4711} is the
     * phrase "err 4711"); a chunk matching any phrase matches, ranked by BM25 (SQLite) or cover density (PostgreSQL).
     * A query with no letters or digits matches nothing.
     *
     * <p>Ranking every chunk that holds a common word is what makes a search slow in a large memory (at 100,000
     * chunks, a fifth of a second on SQLite and most of one on PostgreSQL), and a common word says little about what
     * the query is about. So a phrase found in {@link #COMMON_PHRASE_MATCHES} chunks or more of the scopes (counted up
     * to there and no further) is left out, and when every phrase is common the chunks holding all of them match
     * instead. A memory smaller than that is searched with every phrase.
     */
    public List<KeywordHit> keyword(List<Scope> scopes, String query, int limit) {
        List<List<String>> phrases = phrases(query);
        if (phrases.isEmpty() || scopes.isEmpty()) return List.of();
        return store.read("search memory by keyword", h -> {
            StringBuilder where = new StringBuilder();
            for (int i = 0; i < scopes.size(); i++) {
                where.append(i == 0 ? "(" : " OR ").append("(n.scope_kind = :k").append(i)
                        .append(" AND n.scope_name = :n").append(i).append(")");
            }
            where.append(")");
            String match = match(h, phrases, scopes, where.toString());
            String sql = store.postgres()
                    // the query in the WHERE clause itself, a constant the planner can take to the GIN index: as a
                    // row of the FROM clause it was joined to every chunk, a scan of the table (a minute at 100,000)
                    ? "SELECT c.id FROM memory_chunks c JOIN memory_notes n ON n.id = c.note_id "
                    + "WHERE c.tsv @@ to_tsquery('english', :q) AND " + where
                    + " ORDER BY ts_rank_cd(c.tsv, to_tsquery('english', :q)) DESC, c.id LIMIT :limit"
                    : "SELECT c.id FROM memory_chunks_fts f JOIN memory_chunks c ON c.id = f.rowid "
                    + "JOIN memory_notes n ON n.id = c.note_id WHERE memory_chunks_fts MATCH :q AND " + where
                    + " ORDER BY bm25(memory_chunks_fts), c.id LIMIT :limit";
            var q = h.createQuery(sql).bind("q", match).bind("limit", limit);
            bindScopes(q, scopes);
            List<Long> ids = q.mapTo(Long.class).list();
            List<KeywordHit> hits = new ArrayList<>(ids.size());
            for (int i = 0; i < ids.size(); i++) hits.add(new KeywordHit(ids.get(i), i));
            return hits;
        });
    }

    /** The index query for {@code phrases}: any of the rare ones, or all of them when none is rare. */
    private String match(Handle h, List<List<String>> phrases, List<Scope> scopes, String inScopes) {
        List<List<String>> rare = new ArrayList<>();
        for (List<String> p : phrases) if (matches(h, p, scopes, inScopes) < COMMON_PHRASE_MATCHES) rare.add(p);
        if (store.postgres()) return rare.isEmpty() ? tsquery(phrases, " & ") : tsquery(rare, " | ");
        return rare.isEmpty() ? fts5(phrases, " AND ") : fts5(rare, " OR ");
    }

    /**
     * How many chunks of the scopes hold the phrase, counted up to {@link #COMMON_PHRASE_MATCHES} and no further, and
     * without ranking: a word common in other scopes may be what sets a chunk apart in these.
     */
    private int matches(Handle h, List<String> phrase, List<Scope> scopes, String inScopes) {
        String sql = store.postgres()
                ? "SELECT COUNT(*) FROM (SELECT 1 FROM memory_chunks c JOIN memory_notes n ON n.id = c.note_id "
                + "WHERE c.tsv @@ to_tsquery('english', :q) AND " + inScopes + " LIMIT :cap) m"
                : "SELECT COUNT(*) FROM (SELECT 1 FROM memory_chunks_fts f JOIN memory_chunks c ON c.id = f.rowid "
                + "JOIN memory_notes n ON n.id = c.note_id WHERE memory_chunks_fts MATCH :q AND " + inScopes
                + " LIMIT :cap) m";
        List<List<String>> one = List.of(phrase);
        var q = h.createQuery(sql).bind("q", store.postgres() ? tsquery(one) : fts5(one)).bind("cap", COMMON_PHRASE_MATCHES);
        bindScopes(q, scopes);
        return q.mapTo(Integer.class).one();
    }

    /** The chunks with these ids that exist, with their notes' scope, path and time; in no particular order. */
    public List<ChunkText> chunks(List<Long> ids) {
        if (ids.isEmpty()) return List.of();
        return store.read("read memory chunks", h -> h.createQuery("SELECT c.id, n.scope_kind, n.scope_name, n.path, "
                        + "c.ordinal, c.text, n.updated_at FROM memory_chunks c JOIN memory_notes n ON n.id = c.note_id "
                        + "WHERE c.id IN (<ids>)")
                .bindList("ids", ids)
                .map((rs, ctx) -> new ChunkText(rs.getLong(1), new Scope(rs.getString(2), rs.getString(3)),
                        rs.getString(4), rs.getInt(5), rs.getString(6), Instant.ofEpochMilli(rs.getLong(7))))
                .list());
    }

    /** Each white-space separated word's runs of letters and digits, lower-cased; words without any are dropped. */
    static List<List<String>> phrases(String query) {
        List<List<String>> out = new ArrayList<>();
        if (query == null) return out;
        for (String word : query.strip().split("\\s+")) {
            List<String> runs = new ArrayList<>();
            int i = 0;
            while (i < word.length()) {
                int cp = word.codePointAt(i);
                if (!Character.isLetterOrDigit(cp)) {
                    i += Character.charCount(cp);
                    continue;
                }
                int start = i;
                while (i < word.length() && Character.isLetterOrDigit(word.codePointAt(i))) {
                    i += Character.charCount(word.codePointAt(i));
                }
                runs.add(word.substring(start, i).toLowerCase(java.util.Locale.ROOT));
            }
            if (runs.size() == 1 && STOPWORDS.contains(runs.get(0))) continue;
            if (!runs.isEmpty()) out.add(runs);
            if (out.size() == MAX_QUERY_PHRASES) break;
        }
        return out;
    }

    /** Any of the phrases, for FTS5. */
    static String fts5(List<List<String>> phrases) { return fts5(phrases, " OR "); }

    /**
     * {@code "a b" OR "c"} (with {@code operator} " OR " or " AND "): every phrase quoted, so nothing in it is FTS5
     * syntax (its runs hold no quote).
     */
    static String fts5(List<List<String>> phrases, String operator) {
        StringBuilder sb = new StringBuilder();
        for (List<String> p : phrases) {
            if (!sb.isEmpty()) sb.append(operator);
            sb.append('"').append(String.join(" ", p)).append('"');
        }
        return sb.toString();
    }

    /** Any of the phrases, as a tsquery. */
    static String tsquery(List<List<String>> phrases) { return tsquery(phrases, " | "); }

    /**
     * {@code a <-> b | c} (with {@code operator} " | " or " & "): runs of letters and digits only, so nothing in it is
     * tsquery syntax.
     */
    static String tsquery(List<List<String>> phrases, String operator) {
        StringBuilder sb = new StringBuilder();
        for (List<String> p : phrases) {
            if (!sb.isEmpty()) sb.append(operator);
            sb.append(p.size() == 1 ? p.get(0) : "(" + String.join(" <-> ", p) + ")");
        }
        return sb.toString();
    }

    private static void bindScopes(SqlStatement<?> q, List<Scope> scopes) {
        for (int i = 0; i < scopes.size(); i++) q.bind("k" + i, scopes.get(i).kind()).bind("n" + i, scopes.get(i).name());
    }

    private static long scopeBytes(Handle h, Scope scope) {
        return h.createQuery("SELECT bytes FROM memory_scopes WHERE scope_kind = :kind AND scope_name = :name")
                .bind("kind", scope.kind()).bind("name", scope.name()).mapTo(Long.class).findOne().orElse(0L);
    }

    private static void bump(Handle h, Scope scope, long bytes) {
        h.createUpdate("INSERT INTO memory_scopes (scope_kind, scope_name, version, bytes) VALUES (:kind, :name, 1, "
                        + ":bytes) ON CONFLICT (scope_kind, scope_name) DO UPDATE SET version = memory_scopes.version + 1, "
                        + "bytes = excluded.bytes")
                .bind("kind", scope.kind()).bind("name", scope.name()).bind("bytes", bytes).execute();
    }

    private static boolean hasColumn(java.sql.ResultSet rs, String name) throws java.sql.SQLException {
        var md = rs.getMetaData();
        for (int i = 1; i <= md.getColumnCount(); i++) if (md.getColumnLabel(i).equalsIgnoreCase(name)) return true;
        return false;
    }
}
