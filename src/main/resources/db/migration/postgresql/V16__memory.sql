-- Issue 17. Agents' memory (PostgreSQL): markdown notes per agent or per team, cut into overlapping chunks, each chunk
-- with its embedding (float32s, little-endian) and a tsvector with a GIN index for keyword search. Keep in step with
-- ../sqlite/V16__memory.sql. Times are epoch milliseconds, like every other table.

-- One note: its scope (an agent's own memory, or its team's) and its path in it are unique together. content_hash is
-- the SHA-256 of body, so a write of the same text changes nothing.
CREATE TABLE memory_notes (
    id           BIGSERIAL PRIMARY KEY,
    scope_kind   TEXT      NOT NULL CHECK (scope_kind IN ('agent', 'team')),
    scope_name   TEXT      NOT NULL,
    path         TEXT      NOT NULL,
    body         TEXT      NOT NULL,
    bytes        INTEGER   NOT NULL,
    content_hash TEXT      NOT NULL,
    author       TEXT,
    created_at   BIGINT    NOT NULL,
    updated_at   BIGINT    NOT NULL,
    UNIQUE (scope_kind, scope_name, path)
);

-- A note's chunks, in order; start_offset/end_offset are UTF-16 offsets into the note's body. model names the
-- embedding model, so vectors of another model are never compared with this one's. tsv is the keyword index's
-- document (english stemming, so "deploys" finds "deployment"), computed by the database from the text with the
-- punctuation inside identifiers made spaces: PostgreSQL's parser reads "INC-3052" as the word "inc" and the number
-- "-3052", "a/b.c" as one file name; split like FTS5 splits them, "INC-3052" is the words "inc" "3052", which the
-- store's query (the runs of letters and digits of each word, adjacent) finds.
CREATE TABLE memory_chunks (
    id           BIGSERIAL PRIMARY KEY,
    note_id      BIGINT    NOT NULL REFERENCES memory_notes (id) ON DELETE CASCADE,
    ordinal      INTEGER   NOT NULL,
    text         TEXT      NOT NULL,
    start_offset INTEGER   NOT NULL,
    end_offset   INTEGER   NOT NULL,
    embedding    BYTEA     NOT NULL,
    model        TEXT      NOT NULL,
    tsv          TSVECTOR  GENERATED ALWAYS AS
                     (to_tsvector('english', regexp_replace(text, '[-_/.:@#+=~|\\]+', ' ', 'g'))) STORED,
    UNIQUE (note_id, ordinal)
);
CREATE INDEX ix_memory_chunks_tsv ON memory_chunks USING GIN (tsv);
-- A search loads a scope's vectors in one read; kept in the row (1.5 KB of random floats, which do not compress), they
-- are read with it instead of one TOAST lookup each.
ALTER TABLE memory_chunks ALTER COLUMN embedding SET STORAGE PLAIN;

-- Per scope: a version counted up by every write (a gateway's cache of the scope's vectors is stale when it differs,
-- whichever gateway wrote) and the bytes its notes hold (the scope's cap is checked in the same transaction).
CREATE TABLE memory_scopes (
    scope_kind TEXT    NOT NULL CHECK (scope_kind IN ('agent', 'team')),
    scope_name TEXT    NOT NULL,
    version    BIGINT  NOT NULL,
    bytes      BIGINT  NOT NULL,
    PRIMARY KEY (scope_kind, scope_name)
);
