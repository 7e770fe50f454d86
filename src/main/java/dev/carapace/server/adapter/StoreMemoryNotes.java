package dev.carapace.server.adapter;

import dev.carapace.memory.NoteStore;
import dev.carapace.memory.Scope;
import dev.carapace.store.MemoryNotes;

import java.util.List;
import java.util.Optional;

/** Memory's notes in the store ({@code memory_notes}, {@code memory_chunks}, {@code memory_scopes}): types translated. */
public final class StoreMemoryNotes implements NoteStore {

    private final MemoryNotes notes;

    public StoreMemoryNotes(MemoryNotes notes) {
        this.notes = notes;
    }

    @Override
    public Optional<Note> find(Scope scope, String path) {
        return notes.find(toStore(scope), path).map(StoreMemoryNotes::note);
    }

    @Override
    public List<Note> list(Scope scope) {
        return notes.list(toStore(scope)).stream().map(StoreMemoryNotes::note).toList();
    }

    @Override
    public PutResult put(NoteWrite w, long maxScopeBytes) {
        List<MemoryNotes.NewChunk> chunks = w.chunks().stream().map(c -> new MemoryNotes.NewChunk(c.chunk().text(),
                c.chunk().start(), c.chunk().end(), c.vector())).toList();
        MemoryNotes.PutResult r = notes.put(new MemoryNotes.NoteWrite(toStore(w.scope()), w.path(), w.body(), w.bytes(),
                w.contentHash(), w.author(), w.at(), w.model(), chunks), maxScopeBytes);
        return new PutResult(Outcome.valueOf(r.outcome().name()), r.scopeBytes());
    }

    @Override
    public boolean delete(Scope scope, String path) {
        return notes.delete(toStore(scope), path);
    }

    @Override
    public long version(Scope scope) {
        return notes.version(toStore(scope));
    }

    @Override
    public long bytes(Scope scope) {
        return notes.scopeBytes(toStore(scope));
    }

    @Override
    public ScopeVectors vectors(Scope scope, String model) {
        MemoryNotes.Versioned<List<MemoryNotes.ChunkVector>> v = notes.vectors(toStore(scope), model);
        return new ScopeVectors(v.version(), v.value().stream()
                .map(c -> new StoredVector(c.chunkId(), c.updatedAtMillis(), c.embedding())).toList());
    }

    @Override
    public List<Long> keyword(List<Scope> scopes, String query, int limit) {
        return notes.keyword(scopes.stream().map(StoreMemoryNotes::toStore).toList(), query, limit).stream()
                .map(MemoryNotes.KeywordHit::chunkId).toList();
    }

    @Override
    public List<Passage> passages(List<Long> chunkIds) {
        return notes.chunks(chunkIds).stream().map(c -> new Passage(c.chunkId(), fromStore(c.scope()), c.path(),
                c.ordinal(), c.text(), c.updatedAt())).toList();
    }

    private static MemoryNotes.Scope toStore(Scope s) {
        return new MemoryNotes.Scope(s.kind().label(), s.name());
    }

    private static Scope fromStore(MemoryNotes.Scope s) {
        return s.kind().equals("agent") ? Scope.agent(s.name()) : Scope.team(s.name());
    }

    private static Note note(MemoryNotes.NoteRow r) {
        return new Note(fromStore(r.scope()), r.path(), r.body(), r.bytes(), r.author(), r.createdAt(), r.updatedAt(),
                r.chunks());
    }
}
