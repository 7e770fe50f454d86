-- Agent sessions, runs and transcripts (SQLite). Keep in step with ../postgresql/V3__agents.sql.
-- Times are epoch milliseconds. Transcript content is JSON text in the runtime's neutral shape.

-- A conversation with one agent; key like "agent:<id>:<name>".
CREATE TABLE agent_sessions (
    session_key TEXT    PRIMARY KEY,
    agent       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

-- One run: the loop started by a message (or a resume) on a session. input is the user message that started it,
-- kept here from the moment it is accepted so a queued message survives a restart before its run begins.
CREATE TABLE agent_runs (
    id            TEXT    PRIMARY KEY,
    session_key   TEXT    NOT NULL REFERENCES agent_sessions (session_key),
    agent         TEXT    NOT NULL,
    parent_run_id TEXT,
    status        TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled',
                                                     'interrupted', 'limit_exceeded')),
    reason        TEXT,
    input         TEXT,
    steps         INTEGER NOT NULL DEFAULT 0,
    tokens        INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    started_at    INTEGER,
    ended_at      INTEGER
) STRICT;
CREATE INDEX ix_agent_runs_session ON agent_runs (session_key, created_at);
CREATE INDEX ix_agent_runs_status ON agent_runs (status);

-- The transcript: entries of a session in order (seq from 1). role: user, assistant, tool, summary.
CREATE TABLE agent_transcript (
    session_key         TEXT    NOT NULL REFERENCES agent_sessions (session_key),
    seq                 INTEGER NOT NULL,
    run_id              TEXT,
    role                TEXT    NOT NULL CHECK (role IN ('user', 'assistant', 'tool', 'summary')),
    content             TEXT    NOT NULL,
    model               TEXT,
    input_tokens        INTEGER,
    output_tokens       INTEGER,
    cached_input_tokens INTEGER,
    created_at          INTEGER NOT NULL,
    PRIMARY KEY (session_key, seq)
) STRICT;
