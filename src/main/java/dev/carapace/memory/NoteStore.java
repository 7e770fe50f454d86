package dev.carapace.memory;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Where notes, their chunks and vectors are kept, and the keyword index over the chunks: memory's view of the store,
 * which the composition root adapts. Every method is safe to call from several threads and several gateways.
 */
public interface NoteStore {

    /** A note; {@code body} is null in listings. */
    record Note(Scope scope, String path, String body, int bytes, String author, Instant createdAt, Instant updatedAt,
                int chunks) {}

    /** A chunk of a note with its vector, as float32s little-endian. */
    record EmbeddedChunk(Chunker.Chunk chunk, byte[] vector) {}

    /** A note to write; {@code contentHash} identifies {@code body}, {@code model} the vectors' embedder. */
    record NoteWrite(Scope scope, String path, String body, int bytes, String contentHash, String author, Instant at,
                     String model, List<EmbeddedChunk> chunks) {}

    /** What a write did. */
    enum Outcome { CREATED, REPLACED, UNCHANGED, OVER_CAP }

    /** The outcome and the scope's bytes after it (before it, when over the cap). */
    record PutResult(Outcome outcome, long scopeBytes) {}

    /** A stored chunk's vector (float32s, little-endian) and when its note was last written. */
    record StoredVector(long chunkId, long updatedAtMillis, byte[] vector) {}

    /** Every vector of a scope's chunks made by one model, and the scope's {@link #version} they were read at. */
    record ScopeVectors(long version, List<StoredVector> vectors) {}

    /** A chunk's text and where it comes from. */
    record Passage(long chunkId, Scope scope, String path, int ordinal, String text, Instant updatedAt) {}

    Optional<Note> find(Scope scope, String path);

    /** The scope's notes by path, without bodies. */
    List<Note> list(Scope scope);

    /** Writes the note and replaces its chunks at once, unless unchanged or the scope would exceed {@code maxScopeBytes}. */
    PutResult put(NoteWrite note, long maxScopeBytes);

    /** False when there was no such note. */
    boolean delete(Scope scope, String path);

    /** Counted up by every write to the scope, on any gateway. */
    long version(Scope scope);

    /** The bytes the scope's notes hold. */
    long bytes(Scope scope);

    ScopeVectors vectors(Scope scope, String model);

    /** The ids of the chunks of {@code scopes} matching the words of {@code query} (plain text, never syntax), best first. */
    List<Long> keyword(List<Scope> scopes, String query, int limit);

    /** The chunks with these ids, in no particular order (those deleted meanwhile are missing). */
    List<Passage> passages(List<Long> chunkIds);
}
