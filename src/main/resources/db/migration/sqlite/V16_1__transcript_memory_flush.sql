-- The transcript also records memory flushes (role memory_flush: what an agent saved before a compaction, or why it
-- could not). SQLite cannot alter a CHECK constraint, so the table is rebuilt with the same columns.
CREATE TABLE agent_transcript_v16_1 (
    session_key         TEXT    NOT NULL REFERENCES agent_sessions (session_key),
    seq                 INTEGER NOT NULL,
    run_id              TEXT,
    role                TEXT    NOT NULL CHECK (role IN ('user', 'assistant', 'tool', 'summary', 'memory_flush')),
    content             TEXT    NOT NULL,
    model               TEXT,
    input_tokens        INTEGER,
    output_tokens       INTEGER,
    cached_input_tokens INTEGER,
    created_at          INTEGER NOT NULL,
    PRIMARY KEY (session_key, seq)
) STRICT;
INSERT INTO agent_transcript_v16_1 (session_key, seq, run_id, role, content, model, input_tokens, output_tokens,
                                    cached_input_tokens, created_at)
SELECT session_key, seq, run_id, role, content, model, input_tokens, output_tokens, cached_input_tokens, created_at
FROM agent_transcript;
DROP TABLE agent_transcript;
ALTER TABLE agent_transcript_v16_1 RENAME TO agent_transcript;
