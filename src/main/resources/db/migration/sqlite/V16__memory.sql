-- Issue 17. Agents' memory (SQLite): markdown notes per agent or per team, cut into overlapping chunks, each chunk
-- with its embedding (float32s, little-endian) and in an FTS5 index for keyword search. Keep in step with
-- ../postgresql/V16__memory.sql. Times are epoch milliseconds, like every other table.

-- One note: its scope (an agent's own memory, or its team's) and its path in it are unique together. content_hash is
-- the SHA-256 of body, so a write of the same text changes nothing.
CREATE TABLE memory_notes (
    id           INTEGER PRIMARY KEY,
    scope_kind   TEXT    NOT NULL CHECK (scope_kind IN ('agent', 'team')),
    scope_name   TEXT    NOT NULL,
    path         TEXT    NOT NULL,
    body         TEXT    NOT NULL,
    bytes        INTEGER NOT NULL,
    content_hash TEXT    NOT NULL,
    author       TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (scope_kind, scope_name, path)
) STRICT;

-- A note's chunks, in order; start_offset/end_offset are UTF-16 offsets into the note's body. model names the
-- embedding model, so vectors of another model are never compared with this one's.
CREATE TABLE memory_chunks (
    id           INTEGER PRIMARY KEY,
    note_id      INTEGER NOT NULL REFERENCES memory_notes (id) ON DELETE CASCADE,
    ordinal      INTEGER NOT NULL,
    text         TEXT    NOT NULL,
    start_offset INTEGER NOT NULL,
    end_offset   INTEGER NOT NULL,
    embedding    BLOB    NOT NULL,
    model        TEXT    NOT NULL,
    UNIQUE (note_id, ordinal)
) STRICT;

-- Keyword search: an external-content FTS5 index over the chunks' text, kept in step by the triggers below
-- (porter stemming, so "deploys" finds "deployment"; diacritics folded).
CREATE VIRTUAL TABLE memory_chunks_fts USING fts5(
    text, content = 'memory_chunks', content_rowid = 'id', tokenize = 'porter unicode61 remove_diacritics 2');
CREATE TRIGGER memory_chunks_ai AFTER INSERT ON memory_chunks BEGIN
    INSERT INTO memory_chunks_fts (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER memory_chunks_ad AFTER DELETE ON memory_chunks BEGIN
    INSERT INTO memory_chunks_fts (memory_chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER memory_chunks_au AFTER UPDATE ON memory_chunks BEGIN
    INSERT INTO memory_chunks_fts (memory_chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO memory_chunks_fts (rowid, text) VALUES (new.id, new.text);
END;

-- Per scope: a version counted up by every write (a gateway's cache of the scope's vectors is stale when it differs,
-- whichever gateway wrote) and the bytes its notes hold (the scope's cap is checked in the same transaction).
CREATE TABLE memory_scopes (
    scope_kind TEXT    NOT NULL CHECK (scope_kind IN ('agent', 'team')),
    scope_name TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    bytes      INTEGER NOT NULL,
    PRIMARY KEY (scope_kind, scope_name)
) STRICT;
